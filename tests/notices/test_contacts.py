"""Where a member may be told: consent, strict addresses and numbers, unsubscribes, refused
addresses, language and withdrawal; hostile values are skipped with a reason, never a crash."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ifn_campaign.models import (
    Member,
    MemberPreference,
    MemberWithdrawal,
    NoticeContact,
    NoticeMedium,
)
from ifn_campaign.notices.contacts import (
    ContactRefused,
    Recipient,
    email_address,
    load_contacts,
    whatsapp_number,
)
from tests.support.ledger import add_member
from tests.support.notice_outbox import NOW, settings_for

# --- e-mail addresses ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("info@sepatu.co.id", "info@sepatu.co.id"),
        ("  Info.Penjualan@Sepatu.CO.ID ", "Info.Penjualan@sepatu.co.id"),
        ("a+b@contoh-sepatu.com", "a+b@contoh-sepatu.com"),
    ],
)
def test_a_plain_address_is_taken_with_its_domain_in_lower_case(value: str, address: str) -> None:
    assert email_address(value) == address


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("info@sepatu.co.id\r\nBcc: semua@bpipi.id", "control character"),
        ("info@sepatu.co.id\nSubject: x", "control character"),
        ("info@sepatu.co.id\x00", "control character"),
        ('"Toko Sepatu" <info@sepatu.co.id>', "not a bare e-mail address"),
        ("Toko <info@sepatu.co.id>", "not a bare e-mail address"),
        ("a@sepatu.co.id, b@sepatu.co.id", "not a bare e-mail address"),
        ("a@sepatu.co.id;b@sepatu.co.id", "not a bare e-mail address"),
        ("info sepatu.co.id", "not a bare e-mail address"),
        ("info.sepatu.co.id", "not an e-mail address"),
        ("info@localhost", "not an e-mail address"),
        ("info@[127.0.0.1]", "not an e-mail address"),
        ("info@sepatu.test", "not an e-mail address"),
        ("info@sepatü.id", "not in plain ASCII"),
        ("pénjualan@sepatu.id", "not in plain ASCII"),
        ("a" * 250 + "@sepatu.co.id", "too long"),
        ("", "no e-mail address"),
        ("   ", "no e-mail address"),
    ],
)
def test_hostile_or_unusable_addresses_are_refused_with_a_reason(value: str, reason: str) -> None:
    with pytest.raises(ContactRefused, match=reason):
        email_address(value)


@pytest.mark.parametrize("value", [None, 42, ["a@b.co"], {"email": "a@b.co"}])
def test_a_value_that_is_no_text_is_no_address(value: object) -> None:
    with pytest.raises(ContactRefused, match="no e-mail address"):
        email_address(value)


@given(st.text(max_size=400))
def test_any_text_is_refused_or_one_bare_address(value: str) -> None:
    try:
        address = email_address(value)
    except ContactRefused as exc:
        assert "\n" not in str(exc) and "\r" not in str(exc)  # a reason is one line
        return
    assert address.isascii() and len(address) <= 254
    assert address.count("@") == 1
    assert not any(c.isspace() or ord(c) < 0x20 for c in address)
    assert parseaddr(address) == ("", address)


@given(st.from_regex(r"[a-z0-9.]{1,20}@[a-z0-9-]{1,20}\.[a-z]{2,6}", fullmatch=True))
def test_ordinary_addresses_come_back_as_given(value: str) -> None:
    try:
        assert email_address(value) == value
    except ContactRefused as exc:  # dots at the ends, '..', a hyphen at a label's edge
        assert "not an e-mail address" in str(exc)


# --- WhatsApp numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "081234567890",
        "0812-3456-7890",
        "+62 812 3456 7890",
        "(0812) 3456.7890",
        "6281234567890",
        "0062 812 3456 7890",  # the international prefix as digits (was 62006281234567890)
        "+62 (0) 812-3456-7890",
    ],
)
def test_an_indonesian_number_becomes_international_digits(value: str) -> None:
    assert whatsapp_number(value) == "6281234567890"


def test_a_foreign_number_keeps_its_country_code() -> None:
    assert whatsapp_number("+65 6123 4567") == "6561234567"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("0812\r\n34567890", "not a phone number"),
        ("0812-3456-7890; rm -rf /", "not a phone number"),
        ("whatsapp://token@x/0812", "not a phone number"),
        ("０８１２３４５６７８９０", "not a phone number"),  # full-width digits
        ("0812", "not a possible phone number"),
        # the right length, in no numbering plan: they were sent to as 62081234, 6281234567890123
        ("081234", "not a valid phone number"),
        ("+6281234567890123", "not a valid phone number"),
        ("0000 0000 0000", "not a"),
        ("1" * 40, "too long"),
        ("", "no WhatsApp number"),
    ],
)
def test_hostile_or_unusable_numbers_are_refused(value: str, reason: str) -> None:
    with pytest.raises(ContactRefused, match=reason):
        whatsapp_number(value)


@given(st.one_of(st.text(max_size=60), st.none(), st.integers()))
def test_any_value_is_refused_or_digits_only(value: object) -> None:
    try:
        number = whatsapp_number(value)
    except ContactRefused:
        return
    assert number.isascii() and number.isdigit() and 7 <= len(number) <= 17


# --- who is told where -----------------------------------------------------------------------


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """An empty database (the members are the test's own)."""
    with Session(engine) as s:
        yield s


def _member(session: Session, member_id: str, **kw: object) -> Member:
    values: dict[str, object] = {
        "contact": {"email": f"{member_id}@sepatu.co.id", "whatsapp": "081234567890"},
        "consent_fields_allowed": ["email", "whatsapp"],
    }
    values.update(kw)
    add_member(session, member_id, **values)
    member = session.get(Member, member_id)
    assert member is not None
    return member


def test_recipients_follow_consent_unsubscribes_and_refusals(
    session: Session, tmp_path: Path, db_url: str
) -> None:
    settings = settings_for(db_url, tmp_path, notices={"apprise_url_secret": "apprise-url"})
    ok = _member(session, "ifn-ok")
    no_mail = _member(session, "ifn-nomail", consent_fields_allowed=["whatsapp"])
    left = _member(session, "ifn-left")
    refused = _member(session, "ifn-refused")
    moved = _member(session, "ifn-moved", contact={"email": "baru@sepatu.co.id"})
    session.add_all(
        [
            NoticeContact(member_id="ifn-left", medium="apprise", unsubscribed_at=NOW),
            NoticeContact(
                member_id="ifn-refused",
                medium="email",
                refused_address="IFN-REFUSED@sepatu.co.id",
                refused_reason="550 5.1.1 user unknown",
            ),
            NoticeContact(
                member_id="ifn-moved",
                medium="email",
                refused_address="lama@sepatu.co.id",
                refused_reason="550 5.1.1 user unknown",
            ),
            MemberPreference(member_id="ifn-ok", language="en", updated_at=NOW),
            MemberPreference(member_id="ifn-left", language="xx", updated_at=NOW),
        ]
    )
    session.flush()
    contacts = load_contacts(
        session, settings, ["ifn-ok", "ifn-nomail", "ifn-left", "ifn-refused", "ifn-moved"]
    )
    assert contacts.media() == [NoticeMedium.EMAIL, NoticeMedium.APPRISE]
    email, apprise = NoticeMedium.EMAIL, NoticeMedium.APPRISE
    assert contacts.recipient(ok, email) == Recipient("ifn-ok", email, "ifn-ok@sepatu.co.id", "en")
    assert contacts.recipient(ok, apprise) == Recipient("ifn-ok", apprise, "6281234567890", "en")
    assert contacts.recipient(no_mail, email) == "no e-mail allowed"
    assert isinstance(contacts.recipient(no_mail, apprise), Recipient)
    assert contacts.recipient(left, apprise) == "unsubscribed from WhatsApp"
    assert contacts.recipient(left, email) == Recipient(
        "ifn-left",
        email,
        "ifn-left@sepatu.co.id",
        "id",  # an unknown language: Indonesian
    )
    assert contacts.recipient(refused, email) == (
        "e-mail address refused by the server (550 5.1.1 user unknown)"
    )
    assert contacts.recipient(moved, email) == Recipient(
        "ifn-moved", email, "baru@sepatu.co.id", "id"
    )


def test_without_an_apprise_url_only_e_mail(session: Session, tmp_path: Path, db_url: str) -> None:
    contacts = load_contacts(session, settings_for(db_url, tmp_path), [])
    assert contacts.media() == [NoticeMedium.EMAIL]


def test_a_withdrawal_on_the_page_holds_until_the_registry_grants_consent_again(
    session: Session, tmp_path: Path, db_url: str
) -> None:
    settings = settings_for(db_url, tmp_path)
    member = _member(session, "ifn-0001")
    assert member.consent_granted_at is not None
    contacts = load_contacts(session, settings, ["ifn-0001"])
    assert not contacts.withdrawn(member, NOW)
    session.add(MemberWithdrawal(member_id="ifn-0001", at=NOW, source="member page"))
    session.flush()
    contacts = load_contacts(session, settings, ["ifn-0001"])
    assert contacts.withdrawn(member, NOW)
    member.consent_granted_at = NOW + timedelta(hours=1)  # granted again, after it
    assert contacts.withdrawn(member, NOW)  # not in force yet at NOW
    assert not contacts.withdrawn(member, NOW + timedelta(hours=2))


@pytest.mark.parametrize(
    "change",
    [
        {"status": "suspended"},
        {"status": "deleted"},
        {"consent_withdrawn_at": datetime(2026, 11, 1, tzinfo=UTC)},
        {"consent_granted_at": None},
    ],
)
def test_a_member_not_promoted_counts_as_withdrawn(
    session: Session, tmp_path: Path, db_url: str, change: dict[str, object]
) -> None:
    member = _member(session, "ifn-0001", **change)
    contacts = load_contacts(session, settings_for(db_url, tmp_path), ["ifn-0001"])
    assert contacts.withdrawn(member, NOW)


def test_many_members_load_in_chunks(session: Session, tmp_path: Path, db_url: str) -> None:
    ids = [f"ifn-{n:04}" for n in range(1203)]
    for member_id in ids:
        add_member(session, member_id)
    session.add_all(
        MemberPreference(member_id=i, language="en", updated_at=NOW) for i in ids[::100]
    )
    session.flush()
    contacts = load_contacts(session, settings_for(db_url, tmp_path), ids)
    assert sorted(contacts.languages) == ids[::100]
