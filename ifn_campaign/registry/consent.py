"""When a member's consent is in force: the one rule every stage asks (planner, pins, compose,
captions, the publisher's last check, the withdrawal sweep, the ledger and the CLI).

Consent counts from `granted_at` on, never before: a registry record whose `granted_at` lies in
the future (a typo, or consent agreed for a later date) is stored and shown ("consent starts on
...") but promotes nobody until then. A withdrawal counts at once, whatever date it carries
(consent first). Callers pass the time from their injected clock; nothing here reads the wall
clock, so a test or a late run decides for the moment it means.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_

from ifn_campaign.models import Member, MemberStatus

__all__ = [
    "ConsentState",
    "MemberConsent",
    "allowed_fields",
    "consent_at",
    "consents_to",
    "describe",
    "in_force_clause",
    "listed",
    "not_yet_clause",
    "promotable",
    "starts_on",
]

JAKARTA = ZoneInfo("Asia/Jakarta")


class ConsentState(StrEnum):
    IN_FORCE = "in force"
    NOT_GRANTED = "not granted"
    NOT_YET = "not yet"  # granted_at lies after the time asked about
    WITHDRAWN = "withdrawn"


class MemberConsent(Protocol):
    """A `Member` or a query row with its consent columns (and status)."""

    @property
    def consent_granted_at(self) -> datetime | None: ...

    @property
    def consent_withdrawn_at(self) -> datetime | None: ...


def consent_at(member: MemberConsent, at: datetime) -> ConsentState:
    """The member's consent as it stands at `at`."""
    if member.consent_withdrawn_at is not None:
        return ConsentState.WITHDRAWN
    granted = member.consent_granted_at
    if granted is None:
        return ConsentState.NOT_GRANTED
    return ConsentState.IN_FORCE if granted <= at else ConsentState.NOT_YET


def listed(value: Any) -> frozenset[str]:
    """The names a consent list of a stored row holds (`consent_channels`,
    `consent_fields_allowed`), read strictly: only a JSON list's text items count. Anything else
    a hand edit or an old row left there (null, a string, a map, a number) allows nothing: a
    string would otherwise allow its substrings ("email" in "no-email") and a map its keys
    ({"email": false})."""
    if not isinstance(value, list | tuple | set | frozenset):
        return frozenset()
    return frozenset(item for item in value if isinstance(item, str))


def allowed_fields(member: Any) -> frozenset[str]:
    """The personal fields the member allowed to be used (`consent.fields_allowed`)."""
    return listed(member.consent_fields_allowed)


def consents_to(member: Any, channel: str, at: datetime) -> bool:
    """Consent in force at `at` and given for `channel` (status is not consent: see
    `promotable`)."""
    return consent_at(member, at) is ConsentState.IN_FORCE and channel in listed(
        member.consent_channels
    )


def promotable(member: Any, at: datetime, channel: str | None = None) -> bool:
    """Active, with consent in force at `at` (for `channel`, when given)."""
    if member.status != MemberStatus.ACTIVE:
        return False
    if channel is None:
        return consent_at(member, at) is ConsentState.IN_FORCE
    return consents_to(member, channel, at)


def in_force_clause(at: datetime) -> ColumnElement[bool]:
    """`consent_at(...) is IN_FORCE` as SQL, for set-based queries over many members."""
    return and_(
        Member.consent_granted_at.is_not(None),  # type: ignore[union-attr]
        Member.consent_granted_at <= at,  # type: ignore[operator]
        Member.consent_withdrawn_at.is_(None),  # type: ignore[union-attr]
    )


def not_yet_clause(at: datetime) -> ColumnElement[bool]:
    """`consent_at(...) is NOT_YET` as SQL: granted for a time after `at`, not withdrawn."""
    return and_(
        Member.consent_withdrawn_at.is_(None),  # type: ignore[union-attr]
        Member.consent_granted_at.is_not(None),  # type: ignore[union-attr]
        Member.consent_granted_at > at,  # type: ignore[operator]
    )


_STARTS = {"en": "consent starts on", "id": "persetujuan berlaku mulai"}


def starts_on(granted_at: datetime, zone: ZoneInfo = JAKARTA, lang: str = "en") -> str:
    """'consent starts on 2099-01-01 07:00 WIB' in the display zone (or in Indonesian)."""
    return f"{_STARTS[lang]} {_when(granted_at, zone)}"


def describe(member: MemberConsent, at: datetime, zone: ZoneInfo = JAKARTA) -> str:
    """The member's consent in one line for staff, times in the display zone."""
    state = consent_at(member, at)
    if state is ConsentState.WITHDRAWN:
        assert member.consent_withdrawn_at is not None
        return f"withdrawn on {_when(member.consent_withdrawn_at, zone)}"
    if state is ConsentState.NOT_GRANTED:
        return "not granted"
    assert member.consent_granted_at is not None
    if state is ConsentState.NOT_YET:
        return f"{starts_on(member.consent_granted_at, zone)} (not promotable until then)"
    return f"granted on {_when(member.consent_granted_at, zone)}"


def _when(moment: datetime, zone: ZoneInfo) -> str:
    try:
        local = moment.astimezone(zone)
    except OverflowError:  # an absurd stored date (9999-12-31 23:59 UTC): said as stored
        local = moment
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or zone.key}"
