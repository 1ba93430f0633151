"""What staff read of the outbox: recent notices with their member, the notices that wait for
staff (uncertain, failed), and the contacts the notices no longer use (refused, unsubscribed).

One set of queries for `ifn-campaign notices list` and the console's notices page, so the two
always agree; what staff do about a notice is `delivery.resolve` and `delivery.retry`. Every
list is one statement however many rows it holds (the member's name comes in a join).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.models import Member, Notice, NoticeContact, NoticeMedium, NoticeState
from ifn_campaign.notices.delivery import waiting
from ifn_campaign.notices.outbox import TOO_LATE

__all__ = [
    "NEEDS_STAFF",
    "ContactRow",
    "NoticeFilter",
    "NoticeRow",
    "Overdue",
    "contacts_of_note",
    "needs_staff",
    "needs_staff_count",
    "overdue",
    "pending_media",
    "recent",
    "recent_count",
    "refused_contacts",
]

# uncertain first: a member may be waiting for a message that arrived or not, staff decide
NEEDS_STAFF = (NoticeState.UNCERTAIN, NoticeState.FAILED)
TOO_LATE_SHOWN = timedelta(days=7)  # notices dropped as too late are counted this far back


@dataclass(frozen=True)
class NoticeRow:
    """One notice and its member's business name (None: no such member row)."""

    notice: Notice
    business_name: str | None


@dataclass(frozen=True)
class ContactRow:
    """A contact the notices no longer use, and its member's business name."""

    contact: NoticeContact
    business_name: str | None


@dataclass(frozen=True)
class NoticeFilter:
    """Which notices a list shows: each field unset shows all."""

    state: str | None = None
    kind: str | None = None
    medium: str | None = None
    member_id: str | None = None

    def where(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        for column, value in (
            (Notice.state, self.state),
            (Notice.kind, self.kind),
            (Notice.medium, self.medium),
            (Notice.member_id, self.member_id),
        ):
            if value:
                found.append(column == value)  # type: ignore[arg-type]
        return found


def _with_member() -> Any:
    return select(Notice, Member.business_name).outerjoin(
        Member,
        Member.id == Notice.member_id,  # type: ignore[arg-type]
    )


def recent(
    session: Session, shown: NoticeFilter | None = None, *, offset: int = 0, limit: int = 50
) -> list[NoticeRow]:
    """The notices `shown` picks, newest first (by when they were queued)."""
    query = (
        _with_member()
        .where(*(shown or NoticeFilter()).where())
        .order_by(Notice.created_at.desc(), Notice.id.desc())  # type: ignore[union-attr]
        .offset(offset)
        .limit(limit)
    )
    return [NoticeRow(notice, name) for notice, name in session.execute(query)]


def recent_count(session: Session, shown: NoticeFilter | None = None) -> int:
    """How many notices `shown` picks (for the pages of the list)."""
    query = select(func.count()).select_from(Notice).where(*(shown or NoticeFilter()).where())
    return int(session.scalar(query) or 0)


def needs_staff(session: Session, *, limit: int = 100) -> list[NoticeRow]:
    """Uncertain notices (oldest cut-off first), then failed ones (newest failure first)."""
    rows: list[NoticeRow] = []
    for wanted, order in (
        (NoticeState.UNCERTAIN, Notice.state_changed_at.asc()),  # type: ignore[attr-defined]
        (NoticeState.FAILED, Notice.state_changed_at.desc()),  # type: ignore[attr-defined]
    ):
        query = (
            _with_member()
            .where(Notice.state == wanted)
            .order_by(order, Notice.id)
            .limit(max(limit - len(rows), 0))
        )
        rows += [NoticeRow(notice, name) for notice, name in session.execute(query)]
    return rows


def needs_staff_count(session: Session) -> int:
    """How many notices wait for staff (uncertain or failed)."""
    query = select(func.count()).select_from(Notice).where(Notice.state.in_(NEEDS_STAFF))  # type: ignore[attr-defined]
    return int(session.scalar(query) or 0)


def refused_contacts(session: Session) -> list[NoticeContact]:
    """Addresses the mail server refused for good: nothing goes there until the registry gives
    another."""
    query = (
        select(NoticeContact)
        .where(NoticeContact.refused_address.is_not(None))  # type: ignore[union-attr]
        .order_by(NoticeContact.member_id, NoticeContact.medium)
    )
    return list(session.scalars(query))


def contacts_of_note(session: Session, *, limit: int = 200) -> list[ContactRow]:
    """Refused addresses and unsubscribes, latest first, with the member's name."""
    latest = func.coalesce(NoticeContact.refused_at, NoticeContact.unsubscribed_at)
    query = (
        select(NoticeContact, Member.business_name)
        .outerjoin(Member, Member.id == NoticeContact.member_id)  # type: ignore[arg-type]
        .where(
            or_(
                NoticeContact.refused_address.is_not(None),  # type: ignore[union-attr]
                NoticeContact.unsubscribed_at.is_not(None),  # type: ignore[union-attr]
            )
        )
        .order_by(latest.desc(), NoticeContact.member_id, NoticeContact.medium)
        .limit(limit)
    )
    return [ContactRow(contact, name) for contact, name in session.execute(query)]


def pending_media(session: Session) -> set[str]:
    """The media of the notices now pending ("email", "apprise"): whose wait is worth saying."""
    query = select(Notice.medium).distinct().where(Notice.state == NoticeState.PENDING)
    return {str(medium) for medium in session.scalars(query)}


@dataclass(frozen=True)
class Overdue:
    """Notices still pending `notices.overdue_minutes` after they were queued (a mail server
    down or misconfigured, a post back in review): how many, since when, and the last reason
    one of them got; and how many were dropped in the last week because their moment passed."""

    count: int
    oldest: datetime | None
    reason: str | None
    too_late: int

    def line(self) -> str:
        """One line for the command line and the flow's summary (times in UTC there)."""
        parts = []
        if self.count:
            since = f" (the oldest queued {self.oldest:%Y-%m-%d %H:%M} UTC)" if self.oldest else ""
            parts.append(f"{self.count} member notice(s) waiting too long{since}")
            if self.reason:
                parts.append(f"last reason: {self.reason}")
        if self.too_late:
            parts.append(
                f"{self.too_late} dropped as too late in the last {TOO_LATE_SHOWN.days} days"
            )
        return "; ".join(parts)


def overdue(session: Session, settings: Settings, now: datetime) -> Overdue | None:
    """What waits too long (see `Overdue`), or None when nothing does. The reason is the last
    error of the one tried last (our own words and the server's, never a secret), else why
    the medium cannot send at all (`notices.smtp_host` unset)."""
    since = now - timedelta(minutes=settings.notices.overdue_minutes)
    late = (Notice.state == NoticeState.PENDING) & (Notice.created_at <= since)
    count, oldest = session.execute(
        select(func.count(), func.min(Notice.created_at)).where(late)
    ).one()
    too_late = int(
        session.scalar(
            select(func.count())
            .select_from(Notice)
            .where(
                Notice.state == NoticeState.DROPPED,
                Notice.last_error.like(f"{TOO_LATE}:%"),  # type: ignore[union-attr]
                Notice.state_changed_at >= now - TOO_LATE_SHOWN,
            )
        )
        or 0
    )
    if not count and not too_late:
        return None
    reason = session.scalar(
        select(Notice.last_error)
        .where(late, Notice.last_error.is_not(None))  # type: ignore[union-attr]
        .order_by(Notice.state_changed_at.desc(), Notice.id.desc())
        .limit(1)
    )
    if reason is None and count:
        media = set(
            session.scalars(select(Notice.medium).distinct().where(late))  # type: ignore[call-overload]
        )
        said = [
            why
            for why in waiting(settings)
            if ("e-mail" in why and NoticeMedium.EMAIL.value in media)
            or ("Apprise" in why and NoticeMedium.APPRISE.value in media)
            or "enabled" in why
        ]
        reason = "; ".join(said) or "not tried yet: is the notices flow running?"
    return Overdue(int(count), oldest, reason, too_late)
