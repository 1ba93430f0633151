"""Hardening of one record (issue 14): which values quarantine a record and which are stored with
a note. Invalid Unicode, non-canonical ids and types the contract does not allow quarantine;
removed characters, long text and malformed handles or contact details are stored (or left out)
with a note in `MemberRecord.notes`; media URLs are kept for the fetcher to refuse."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ifn_campaign.registry.media import url_refusal
from ifn_campaign.registry.record import MemberRecord, parse_record, record_id
from tests.support.records import BASE, FULL, TEXT_FIELDS, _inject, reasons, valid, with_changes

# Every string the contract has, nested ones included (list items by index 0).
ALL_TEXT = [*TEXT_FIELDS, "actor_types.0", "categories.0", "consent.channels.0", "updated_at"]
ALL_TEXT += ["consent.granted_at"]
RELAXED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- 1. lone surrogates ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ALL_TEXT)
@pytest.mark.parametrize("surrogate", ["\ud800", "\udfff", "\udc00"])
@pytest.mark.parametrize("placement", ["replace", "prefix", "suffix"])
def test_a_lone_surrogate_anywhere_quarantines_with_its_path(
    field: str, surrogate: str, placement: str
) -> None:
    raw = copy.deepcopy(FULL)
    _inject(raw, field, surrogate, placement)
    found = reasons(raw)
    assert any(r.startswith(f"{field}:") and "surrogate" in r for r in found), found
    for reason in found:  # every reason can be stored and printed
        reason.encode("utf-8")


@RELAXED
@given(
    field=st.sampled_from(ALL_TEXT),
    text=st.text(st.characters(codec=None, categories=["Cs", "Cc", "Cf", "L", "Zs"]), max_size=20),
)
def test_whatever_the_text_a_stored_record_hashes_and_encodes(field: str, text: str) -> None:
    raw = copy.deepcopy(FULL)
    _inject(raw, field, text, "suffix")
    parsed = parse_record(raw)
    if isinstance(parsed, MemberRecord):
        parsed.content_hash()
        json.dumps(parsed.profile(), default=str, ensure_ascii=False).encode("utf-8")
    else:
        assert parsed and all(r.encode("utf-8") for r in parsed)


# --- 5. ids are never rewritten -----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw_id",
    [
        " ifn-0001",
        "ifn-0001 ",
        "ifn-0001\n",
        "ifn\x000001",
        "ifn-0001\x00",
        "ifn-\u200b0001",
        "ifn-0001\ufeff",
        "\u202eifn-0001",
        "ifn-0001\t",
        "ifn-0001\ud800",
        "ｉｆｎ-0001",
    ],
)
def test_an_id_not_in_canonical_form_is_quarantined_never_changed(raw_id: str) -> None:
    found = reasons(with_changes(BASE, id=raw_id))
    assert any(r.startswith("id:") for r in found), found
    assert record_id(with_changes(BASE, id=raw_id)) is None  # never matched to another member


@RELAXED
@given(st.text(max_size=70))
def test_a_stored_id_is_exactly_the_registry_id(raw_id: str) -> None:
    parsed = parse_record(with_changes(BASE, id=raw_id))
    if isinstance(parsed, MemberRecord):
        assert parsed.id == raw_id
        assert record_id(with_changes(BASE, id=raw_id)) == raw_id
    else:
        assert record_id(with_changes(BASE, id=raw_id)) is None


# --- 6. strict types ----------------------------------------------------------------------------

INT_FIELDS = ["year_founded", "employees", "capacity_pairs_per_month"]
STRING_FIELDS = [
    "id",
    "business_name",
    "description_id",
    "description_en",
    "city",
    "province",
    "sentra",
    "owner_name",
    "status",
    "contact.email",
    "contact.phone",
    "contact.whatsapp",
    "contact.website",
    "socials.instagram",
    "socials.facebook",
    "socials.youtube",
    "socials.tiktok",
    "socials.marketplaces.0",
    "certifications.0.scheme",
    "certifications.0.number",
    "consent.text_version",
    "consent.channels.0",
    "consent.fields_allowed.0",
    "actor_types.0",
    "categories.0",
    "materials.0",
    "export_markets.0",
]
LIST_FIELDS = [
    "actor_types",
    "categories",
    "materials",
    "export_markets",
    "certifications",
    "socials.marketplaces",
    "consent.channels",
    "consent.fields_allowed",
]
OBJECT_FIELDS = ["contact", "socials", "consent", "certifications.0"]
# logo_url, photos and their parts are the pictures' problem, not the member's: see the media
# tests below.
TIME_FIELDS = ["updated_at", "consent.granted_at", "consent.withdrawn_at"]


def _quarantined_at(raw: dict[str, Any], field: str) -> None:
    found = reasons(raw)
    assert any(r.startswith(f"{field}:") or r.startswith(f"{field}.") for r in found), found


@pytest.mark.parametrize("field", INT_FIELDS)
@pytest.mark.parametrize("value", [True, False, 1998.0, 1998.5, "1998", " 1998", "1e3", None])
def test_an_integer_field_takes_only_an_integer(field: str, value: Any) -> None:
    raw = copy.deepcopy(FULL)
    raw[field] = value
    if value is None:  # missing and null are the same: not given
        assert getattr(valid(raw), field) is None
        return
    _quarantined_at(raw, field)


@pytest.mark.parametrize("field", STRING_FIELDS)
@pytest.mark.parametrize("value", [42, 4.2, True, ["x"], {"x": "y"}])
def test_a_string_field_takes_only_a_string(field: str, value: Any) -> None:
    raw = copy.deepcopy(FULL)
    _set(raw, field, value)
    _quarantined_at(raw, field)


@pytest.mark.parametrize("field", LIST_FIELDS)
@pytest.mark.parametrize("value", ["brand", 3, True, {"0": "brand"}])
def test_a_list_field_takes_only_a_list(field: str, value: Any) -> None:
    raw = copy.deepcopy(FULL)
    _set(raw, field, value)
    _quarantined_at(raw, field)


@pytest.mark.parametrize("field", OBJECT_FIELDS)
@pytest.mark.parametrize("value", [[], "", 0, False, "x", ["a", "b"]])
def test_an_object_field_takes_only_an_object(field: str, value: Any) -> None:
    raw = copy.deepcopy(FULL)
    _set(raw, field, value)
    _quarantined_at(raw, field)


@pytest.mark.parametrize("field", TIME_FIELDS)
@pytest.mark.parametrize("value", [1714532400, 1714532400.5, "1714532400", True, "20240501"])
def test_a_time_is_an_iso_8601_string_not_a_unix_number(field: str, value: Any) -> None:
    raw = copy.deepcopy(FULL)
    _set(raw, field, value)
    _quarantined_at(raw, field)


def _set(raw: dict[str, Any], path: str, value: Any) -> None:
    target: Any = raw
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[int(last) if last.isdigit() else last] = value


# --- 7. removed characters are noted --------------------------------------------------------------

NOTED_FIELDS = [
    "business_name",
    "description_id",
    "description_en",
    "city",
    "province",
    "sentra",
    "owner_name",
    "certifications.0.scheme",
    "certifications.0.number",
    "photos.0.alt",
    "photos.1.alt",
    "contact.email",
    "contact.phone",
    "socials.instagram",
    "consent.text_version",
    "materials.0",
    "actor_types.0",
    "status",
]


@pytest.mark.parametrize("field", NOTED_FIELDS)
@pytest.mark.parametrize(("bad", "code"), [("\x00", "U+0000"), ("\u202e", "U+202E")])
def test_a_removed_control_character_is_noted_with_the_field(
    field: str, bad: str, code: str
) -> None:
    raw = copy.deepcopy(FULL)
    raw["photos"][1]["alt"] = "Sandal"
    raw["business_name"] = "Kafe Sepatu Jaya"
    value = _get(raw, field)
    _set(raw, field, value[:1] + bad + value[1:])
    record = valid(raw)
    notes = [n for n in record.notes if n.startswith(f"{field}:")]
    assert len(notes) == 1 and code in notes[0] and "removed" in notes[0], record.notes


def test_a_clean_record_has_no_notes() -> None:
    assert valid(BASE).notes == []


def test_notes_are_part_of_the_profile_and_its_hash() -> None:
    clean, dirty = valid(BASE), valid(with_changes(BASE, business_name="Sepatu\x00 Jaya"))
    assert clean.business_name == dirty.business_name
    assert dirty.profile()["notes"] == dirty.notes and clean.profile()["notes"] is None
    # the stored notes must follow the registry: a fixed record is written again
    assert clean.content_hash() != dirty.content_hash()


def _get(raw: dict[str, Any], path: str) -> Any:
    target: Any = raw
    for part in path.split("."):
        target = target[int(part)] if part.isdigit() else target[part]
    return target


# --- 8. long text and malformed details are data ------------------------------------------------


def test_a_300_letter_word_in_the_name_is_stored_whole_with_a_note() -> None:
    word = "S" + "e" * 299
    record = valid(with_changes(BASE, business_name=word))
    assert record.business_name == word
    assert any(n.startswith("business_name:") and "300" in n for n in record.notes)


@pytest.mark.parametrize(
    ("field", "length"),
    [
        ("owner_name", 260),
        ("description_id", 6000),
        ("description_en", 6000),
        ("photos.0.alt", 1500),
        ("certifications.0.scheme", 300),
        ("certifications.0.number", 300),
    ],
)
def test_long_text_is_stored_whole_with_a_note(field: str, length: int) -> None:
    raw = copy.deepcopy(FULL)
    text = ("kata " * length)[:length].strip() + "x"
    _set(raw, field, text)
    record = valid(raw)
    assert _get(record.model_dump(mode="json"), field) == text
    assert any(n.startswith(f"{field}:") for n in record.notes), record.notes


@pytest.mark.parametrize("field", ["city", "province", "sentra"])
def test_a_place_longer_than_its_column_is_left_out_with_a_note(field: str) -> None:
    record = valid(with_changes(BASE, **{field: "Kota " + "a" * 150}))
    assert getattr(record, field) is None
    assert any(n.startswith(f"{field}:") and "left out" in n for n in record.notes)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("socials__instagram", "sepatu jaya"),
        ("socials__instagram", "sepatu\njaya"),
        ("socials__instagram", "https://www.instagram.com/p/Cxyz123/"),
        ("socials__instagram", "https://www.facebook.com/sepatujaya"),
        ("socials__facebook", "https://www.facebook.com/profile.php?id=100012345"),
        ("socials__youtube", "https://www.youtube.com/channel/UC1234567890"),
        ("socials__tiktok", "x" * 51),
        ("contact__email", "budi@"),
        ("contact__phone", "not a phone"),
        ("contact__whatsapp", "12"),
        ("contact__website", "file:///etc/passwd"),
        ("contact__website", "https://user@evil.example/"),
    ],
)
def test_a_malformed_handle_or_contact_is_left_out_with_a_note(path: str, value: str) -> None:
    record = valid(with_changes(BASE, **{path: value}))
    part, key = path.split("__")
    assert getattr(getattr(record, part), key) is None
    assert any(n.startswith(f"{part}.{key}:") and "left out" in n for n in record.notes)


def test_a_bad_marketplace_link_is_left_out_and_the_good_ones_kept() -> None:
    links = ["https://tokopedia.com/a", "javascript:alert(1)", "https://shopee.co.id/b"]
    record = valid(with_changes(BASE, socials__marketplaces=links))
    assert record.socials.marketplaces == [links[0], links[2]]
    assert any(n.startswith("socials.marketplaces.1:") for n in record.notes), record.notes


def test_more_than_ten_photos_keeps_the_first_ten_with_a_note() -> None:
    photos = [{"url": f"https://cdn.example.org/{i}.jpg"} for i in range(12)]
    record = valid(with_changes(BASE, photos=photos))
    assert [p.url for p in record.photos] == [p["url"] for p in photos[:10]]
    assert any(n.startswith("photos:") and "2" in n for n in record.notes), record.notes


def test_an_overlong_material_is_left_out_with_a_note() -> None:
    record = valid(with_changes(BASE, materials=["rubber", "m" * 70]))
    assert record.materials == ["rubber"]
    assert any(n.startswith("materials.1:") for n in record.notes), record.notes


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://x/logo.png",
        "//evil/logo.png",
        "logo.png",
        "https://user@evil.example/x.png",
        "https://cdn.example.org\\logo.png",
        "https://cdn.example.org/logo.png\r\nX-Injected: 1",
        "https://cdn.example.org/" + "a" * 10_000,
    ],
)
def test_a_bad_media_url_is_kept_for_the_fetcher_to_refuse(url: str) -> None:
    record = valid(with_changes(BASE, logo_url=url, photos=[{"url": url, "alt": "foto"}]))
    assert record.logo_url == url and record.photos[0].url == url


@pytest.mark.parametrize(
    ("photo", "note"),
    [
        ({"url": "", "alt": "foto"}, "photos.0.url: empty"),
        ({"url": "   ", "alt": "foto"}, "photos.0.url: empty"),
        ({"url": None, "alt": "foto"}, "photos.0.url: missing"),
        ({"alt": "foto"}, "photos.0.url: missing"),
        ({"url": 42}, "photos.0.url: expected a URL as text, got a number"),
        ({"url": ["https://cdn.example.org/1.jpg"]}, "photos.0.url: expected a URL as text"),
        ("https://cdn.example.org/1.jpg", "photos.0: expected an object"),
        (None, "photos.0: expected an object"),
        (7, "photos.0: expected an object"),
        (["https://cdn.example.org/1.jpg"], "photos.0: expected an object"),
    ],
)
def test_a_photo_without_a_usable_url_keeps_its_place_and_is_refused(photo: Any, note: str) -> None:
    """The same defect class as a bad URL: that picture is refused, the member is stored."""
    good = {"url": "https://cdn.example.org/2.jpg", "alt": "kedua"}
    record = valid(with_changes(BASE, photos=[photo, good]))
    assert [(p.url, p.alt) for p in record.photos][1] == ("https://cdn.example.org/2.jpg", "kedua")
    assert record.photos[0].url == ""
    assert url_refusal(record.photos[0].url) == ("invalid_url", "empty: no URL given")
    assert any(n.startswith(note) and "refused" in n for n in record.notes), record.notes


@pytest.mark.parametrize("alt", [5, True, ["foto"], {"id": "foto"}])
def test_an_alt_that_is_not_text_is_left_out_and_the_photo_kept(alt: Any) -> None:
    url = "https://cdn.example.org/1.jpg"
    record = valid(with_changes(BASE, photos=[{"url": url, "alt": alt}]))
    assert [(p.url, p.alt) for p in record.photos] == [(url, None)]
    assert any(n.startswith("photos.0.alt: expected text") for n in record.notes), record.notes


@pytest.mark.parametrize("logo", [42, True, ["https://x.org/l.png"], {"url": "https://x.org/l"}])
def test_a_logo_that_is_not_text_is_left_out_with_a_note(logo: Any) -> None:
    record = valid(with_changes(BASE, logo_url=logo))
    assert record.logo_url is None
    assert any(n.startswith("logo_url: expected a URL as text") for n in record.notes)


@pytest.mark.parametrize("photos", ["https://cdn.example.org/1.jpg", 3, True, {"url": "x"}])
def test_photos_that_are_not_a_list_are_left_out_with_a_note(photos: Any) -> None:
    record = valid(with_changes(BASE, photos=photos))
    assert record.photos == []
    assert any(n.startswith("photos: expected a list") for n in record.notes), record.notes


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": None}, "id"),
        ({"business_name": " "}, "business_name"),
        ({"description_id": "\x00"}, "description_id"),
        ({"actor_types": ["wholesaler"]}, "actor_types"),
        ({"status": "paused"}, "status"),
        ({"year_founded": 1700}, "year_founded"),
        ({"export_markets": ["ZZ"]}, "export_markets"),
        ({"consent": {"channels": ["tiktok"]}}, "consent.channels"),
        ({"consent": {"text_version": "v" * 65}}, "consent.text_version"),
        ({"consent": {"withdrawn_at": "yesterday"}}, "consent.withdrawn_at"),
    ],
)
def test_what_makes_a_record_unusable_still_quarantines(
    changes: dict[str, Any], field: str
) -> None:
    _quarantined_at(with_changes(BASE, **changes), field)
