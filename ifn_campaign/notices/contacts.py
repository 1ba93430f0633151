"""Where a member may be told about their features, and in which language.

A member is contacted only on a contact detail they allowed (`consent.fields_allowed`: "email",
"whatsapp"), only on a medium they have not unsubscribed from, and never again at an address the
server refused for good (a new address from the registry is tried). The registry's values are
checked again here, strictly, because a hand edit or an older sync may have stored anything: a
value that could become more than one address in a mail header (CR/LF, a display name, a list)
or a number that is no number is skipped with a reason, never sent and never a crash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.models import (
    Member,
    MemberPreference,
    MemberWithdrawal,
    NoticeContact,
    NoticeMedium,
)
from ifn_campaign.registry.consent import allowed_fields, promotable
from ifn_campaign.registry.record import stored_map

__all__ = [
    "LANGUAGES",
    "MEDIUM_NAMES",
    "ContactRefused",
    "Contacts",
    "Recipient",
    "email_address",
    "load_contacts",
    "sending_media",
    "whatsapp_number",
]

LANGUAGES = ("id", "en")  # the languages notices are written in; Indonesian first
MEDIUM_NAMES = {NoticeMedium.EMAIL: "e-mail", NoticeMedium.APPRISE: "WhatsApp"}
# the consent field that allows each medium (the registry's `consent.fields_allowed`)
CONSENT_FIELD = {NoticeMedium.EMAIL: "email", NoticeMedium.APPRISE: "whatsapp"}
MAX_EMAIL = 254  # RFC 5321's longest forward path, less the angle brackets
MAX_NUMBER_TEXT = 32  # "+62 812-3456-7890" and its spellings fit; longer is not a number
CHUNK = 500  # members per IN (...) query: well under every database's bind limit


class ContactRefused(ValueError):
    """A contact value we will not send to; the message says why, without echoing it whole."""


def _shown(value: str) -> str:
    """A hostile value as a reason may quote it: printable, at most 40 characters."""
    cut = value[:40].encode("unicode_escape").decode("ascii")
    return repr(cut) + ("..." if len(value) > 40 else "")


def email_address(value: Any) -> str:
    """The plain address `value` holds (normalised: the domain in lower case), or
    ContactRefused. Only a bare ASCII `local@domain.tld`: no display name, no list, no line
    break, no internationalised domain (our SMTP path does not promise SMTPUTF8)."""
    if not isinstance(value, str) or not value.strip():
        raise ContactRefused("no e-mail address")
    text = value.strip()
    if len(text) > MAX_EMAIL:
        raise ContactRefused(f"e-mail address too long ({len(text)} characters)")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ContactRefused(f"e-mail address with a control character: {_shown(text)}")
    if not text.isascii():
        raise ContactRefused(f"e-mail address not in plain ASCII: {_shown(text)}")
    if any(c in text for c in ' <>,;()"\\'):
        raise ContactRefused(f"not a bare e-mail address: {_shown(text)}")
    try:
        checked = validate_email(
            text,
            check_deliverability=False,
            allow_smtputf8=False,
            allow_display_name=False,
            allow_domain_literal=False,
            allow_quoted_local=False,
        )
    except EmailNotValidError as exc:
        raise ContactRefused(f"not an e-mail address: {_shown(text)} ({exc})") from None
    return str(checked.normalized)


def whatsapp_number(value: Any) -> str:
    """The international number `value` holds, as digits only ("6281234567890"; an Indonesian
    "0812..." gets its 62), or ContactRefused."""
    if not isinstance(value, str) or not value.strip():
        raise ContactRefused("no WhatsApp number")
    text = value.strip()
    if len(text) > MAX_NUMBER_TEXT:
        raise ContactRefused(f"WhatsApp number too long ({len(text)} characters)")
    if any(not (c.isascii() and (c.isdigit() or c in "+-(). ")) for c in text):
        raise ContactRefused(f"not a phone number: {_shown(text)}")
    # "0062 812 ..." is how many write +62; read against Indonesia, "00" would stay in the
    # number (6200628...), a number no one has
    dialled = "+" + text[2:] if text.startswith("00") else text
    try:
        number = phonenumbers.parse(dialled, "ID")
    except phonenumbers.NumberParseException:
        raise ContactRefused(f"not a phone number: {_shown(text)}") from None
    if not phonenumbers.is_possible_number(number):
        raise ContactRefused(f"not a possible phone number: {_shown(text)}")
    if not phonenumbers.is_valid_number(number):
        # the right length but in no numbering plan ("081234" became 62081234): a message to it
        # reaches no one, or someone else
        raise ContactRefused(f"not a valid phone number: {_shown(text)}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def _address(medium: NoticeMedium, value: Any) -> str:
    return email_address(value) if medium is NoticeMedium.EMAIL else whatsapp_number(value)


@dataclass(frozen=True)
class Recipient:
    """One member on one medium: the address a notice goes to, in the member's language."""

    member_id: str
    medium: NoticeMedium
    address: str
    language: str


def sending_media(settings: Settings) -> list[NoticeMedium]:
    """The media this deployment sends on: e-mail always (it waits in the outbox while no
    SMTP server is set), Apprise only with a URL."""
    if settings.notices.apprise_url_secret:
        return [NoticeMedium.EMAIL, NoticeMedium.APPRISE]
    return [NoticeMedium.EMAIL]


@dataclass
class Contacts:
    """What the notices know of a set of members: their unsubscribes and refused addresses,
    their language, and whether they withdrew on their page; loaded once for a whole run."""

    settings: Settings
    contacts: Mapping[tuple[str, str], NoticeContact]
    languages: Mapping[str, str]
    withdrawn_on_page: Mapping[str, datetime]

    def media(self) -> list[NoticeMedium]:
        """The media this deployment sends on (`sending_media`)."""
        return sending_media(self.settings)

    def language(self, member_id: str) -> str:
        return self.languages.get(member_id, "id")

    def withdrawn(self, member: Member, now: datetime) -> bool:
        """No promotion for this member now: not active, consent not in force, or withdrawn on
        their page after the registry last granted it."""
        if not promotable(member, now):
            return True
        at = self.withdrawn_on_page.get(member.id)
        granted = member.consent_granted_at
        return at is not None and (granted is None or at >= granted)

    def recipient(self, member: Member, medium: NoticeMedium) -> Recipient | str:
        """Where to tell `member` on `medium`, or why not (a reason for the run's report)."""
        name = MEDIUM_NAMES[medium]
        if CONSENT_FIELD[medium] not in allowed_fields(member):
            return f"no {name} allowed"
        contact = self.contacts.get((member.id, medium.value))
        if contact is not None and contact.unsubscribed_at is not None:
            return f"unsubscribed from {name}"
        raw = stored_map(member.contact).get(CONSENT_FIELD[medium])
        try:
            address = _address(medium, raw)
        except ContactRefused as exc:
            return str(exc)
        if contact is not None and contact.refused_address is not None:
            refused = contact.refused_address.strip()
            same = (
                refused.casefold() == address.casefold()
                if medium is NoticeMedium.EMAIL
                else refused.lstrip("+") == address
            )
            if same:
                return f"{name} address refused by the server ({contact.refused_reason or '?'})"
        return Recipient(member.id, medium, address, self.language(member.id))


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def load_contacts(session: Session, settings: Settings, member_ids: Iterable[str]) -> Contacts:
    """The notices' knowledge of these members, in three queries per 500 members."""
    contacts: dict[tuple[str, str], NoticeContact] = {}
    languages: dict[str, str] = {}
    withdrawn: dict[str, datetime] = {}
    for chunk in _chunks(member_ids):
        for contact in session.scalars(
            select(NoticeContact).where(NoticeContact.member_id.in_(chunk))  # type: ignore[attr-defined]
        ):
            contacts[(contact.member_id, contact.medium)] = contact
        for member_id, language in session.execute(
            select(MemberPreference.member_id, MemberPreference.language).where(
                MemberPreference.member_id.in_(chunk)  # type: ignore[attr-defined]
            )
        ):
            if language in LANGUAGES:
                languages[member_id] = language
        for member_id, at in session.execute(
            select(MemberWithdrawal.member_id, MemberWithdrawal.at).where(
                MemberWithdrawal.member_id.in_(chunk)  # type: ignore[attr-defined]
            )
        ):
            if member_id not in withdrawn or at > withdrawn[member_id]:
                withdrawn[member_id] = at
    return Contacts(settings, contacts, languages, withdrawn)
