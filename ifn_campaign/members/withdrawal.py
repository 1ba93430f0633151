"""A member withdraws promotion consent outside the registry (on their own page).

`withdraw` does in the caller's transaction what a withdrawal from the registry does in a sync
page's (`ifn_campaign.posts.withdrawal.cancel_disallowed`): every queued post of the member is
cancelled, published posts get a takedown request, posts being published are listed. It also
records a `MemberWithdrawal` (when, from where, which answer) that staff export for the
registry's owner, and drops the member's pending notices: nobody is told about a feature that
will not happen, or sent another message after saying "don't feature me".

The registry stays the source of truth, but a sync does not bring this consent back: it holds
until the registry sends consent granted after it (`ifn_campaign.registry.sync`,
docs/explanation/consent.md).

Idempotent: while a withdrawal from the page holds (no consent granted in the registry since),
a second call records nothing more and changes nothing (its sweep finds nothing left to
cancel). After the member re-consents in the registry, a new call is a new withdrawal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from ifn_campaign.errors import InvalidValueError, LedgerError
from ifn_campaign.models import Member, MemberWithdrawal, Notice, NoticeState
from ifn_campaign.posts.withdrawal import WithdrawalReport, cancel_disallowed

__all__ = [
    "MEMBER_PAGE",
    "NOTICE_DROPPED",
    "WithdrawalRow",
    "export_table",
    "holding_withdrawal_at",
    "mark_reported",
    "withdraw",
    "withdrawals",
]

MEMBER_PAGE = "member page"  # the source of a withdrawal made with "Jangan tampilkan saya lagi"
# why a pending notice was not sent, as staff read it on the member's page in the console
NOTICE_DROPPED = (
    "tidak dikirim: anggota menarik persetujuan / not sent: the member withdrew consent"
)
_SOURCE_CHARS = 32  # MemberWithdrawal.source


def holding_withdrawal_at(session: Session, member: Member) -> datetime | None:
    """When the member's latest withdrawal outside the registry was made, if it still holds
    (no consent granted in the registry at or after it); else None."""
    latest = session.scalar(
        select(func.max(MemberWithdrawal.at)).where(MemberWithdrawal.member_id == member.id)
    )
    if latest is None:
        return None
    granted = member.consent_granted_at
    return latest if granted is None or granted <= latest else None


def withdraw(
    session: Session, member_id: str, *, source: str, answer_id: int | None, now: datetime
) -> WithdrawalReport:
    """Withdraw `member_id`'s promotion consent as of `now`: record it, cancel what is queued,
    request takedowns, drop pending notices. Flushes, never commits: the caller commits it with
    the member's answer, so a crash leaves all of it or none.

    The member's row is locked first (PostgreSQL: FOR UPDATE), so a sync storing the member's
    record at the same time either waits for this or is waited for (see `registry.sync`).
    """
    if now.tzinfo is None:
        raise InvalidValueError("withdraw: `now` must be an aware time (UTC)")
    source = source.strip()
    if not source or len(source) > _SOURCE_CHARS or not source.isprintable():
        raise InvalidValueError(
            f"withdraw: source must be 1 to {_SOURCE_CHARS} printable characters "
            f"(e.g. {MEMBER_PAGE!r})"
        )
    member = session.get(Member, member_id, with_for_update=True, populate_existing=True)
    if member is None:
        raise LedgerError(f"withdraw: no member {member_id!r} stored; nothing was changed")
    if holding_withdrawal_at(session, member) is None:
        session.add(
            MemberWithdrawal(member_id=member_id, at=now, source=source, answer_id=answer_id)
        )
    if member.consent_withdrawn_at is None:  # withdrawn in the registry already: kept as is
        member.consent_withdrawn_at = now
    session.flush()
    report = cancel_disallowed(session, [member_id], now, actor=source)
    # pending, or claimed by a sender that has not yet recorded the end of the message: its
    # step (a compare-and-set on `sending`) then fails and the message is never ended
    session.execute(
        update(Notice)
        .where(
            Notice.member_id == member_id,
            or_(
                Notice.state == NoticeState.PENDING,
                (Notice.state == NoticeState.SENDING) & Notice.step.is_(None),
            ),
        )
        .values(
            state=NoticeState.DROPPED,
            claimed_by=None,
            claimed_at=None,
            state_changed_at=now,
            last_error=NOTICE_DROPPED,
        )
    )
    session.flush()
    return report


# --- the list for the registry's owner ------------------------------------------------------


@dataclass(frozen=True)
class WithdrawalRow:
    """One withdrawal as staff export it for the registry's owner."""

    id: int
    member_id: str
    business_name: str
    at: datetime
    source: str
    reported_at: datetime | None


def withdrawals(session: Session, *, unreported_only: bool = False) -> list[WithdrawalRow]:
    """Every withdrawal made outside the registry, oldest first (or only those not yet
    reported): one query."""
    query = (
        select(
            MemberWithdrawal.id,
            MemberWithdrawal.member_id,
            Member.business_name,
            MemberWithdrawal.at,
            MemberWithdrawal.source,
            MemberWithdrawal.reported_at,
        )
        .join(Member, Member.id == MemberWithdrawal.member_id)
        .order_by(MemberWithdrawal.at, MemberWithdrawal.id)
    )
    if unreported_only:
        query = query.where(MemberWithdrawal.reported_at.is_(None))
    return [WithdrawalRow(*row) for row in session.execute(query)]


def mark_reported(session: Session, ids: Sequence[int], now: datetime) -> int:
    """Record that these withdrawals went to the registry's owner (those already reported keep
    their first date): how many this call marked. Only the ids staff exported, never "all
    unreported", so one made after the export is not marked unseen. Flushes, never commits."""
    marked = 0
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), 500):
        result = session.execute(
            update(MemberWithdrawal)
            .where(
                MemberWithdrawal.id.in_(wanted[start : start + 500]),
                MemberWithdrawal.reported_at.is_(None),
            )
            .values(reported_at=now)
        )
        marked += int(result.rowcount or 0)  # type: ignore[attr-defined]
    session.flush()
    return marked


def export_table(
    rows: Sequence[WithdrawalRow], zone: ZoneInfo
) -> tuple[list[str], list[list[str]]]:
    """The export's header and cells, the same from the CLI and the console: times as ISO 8601
    in the display zone (WIB) and in UTC."""
    label = "WIB" if zone.key == "Asia/Jakarta" else zone.key
    header = [
        "withdrawal",
        "member_id",
        "member",
        f"withdrawn ({label})",
        "withdrawn (UTC)",
        "source",
        "reported (UTC)",
    ]
    cells = [
        [
            str(row.id),
            row.member_id,
            row.business_name,
            row.at.astimezone(zone).isoformat(timespec="seconds"),
            _utc(row.at),
            row.source,
            "" if row.reported_at is None else _utc(row.reported_at),
        ]
        for row in rows
    ]
    return header, cells


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
