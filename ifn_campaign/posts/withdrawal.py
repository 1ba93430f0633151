"""Consent withdrawal: what is still queued is cancelled, what is out is listed for takedown.

`cancel_disallowed` is called by the sync inside the same transaction that stores a member's new
record (and by the end of a full sync for members that vanished), so a withdrawal is never stored
without its cancellations: the law gives 3x24 hours, we take one sync run. A queued post stays
only while its member is active, has consent in force (granted by now, not withdrawn) and still
consents to the post's channel. A post being published right now (`publishing`) is left to the
publisher, which checks consent again before any remote call; it is listed so staff can watch
it. Published posts whose channel consent is gone get a takedown request: Instagram has no delete
API, so staff take them down by hand and say so with `ifn-campaign takedowns done POST_ID`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ifn_campaign.errors import LedgerError
from ifn_campaign.models import QUEUED_STATES, Feature, Member, MemberStatus, Post, PostState
from ifn_campaign.posts.lifecycle import record
from ifn_campaign.registry.consent import ConsentState, consent_at, starts_on

__all__ = [
    "CancelledPost",
    "InFlightPost",
    "Takedown",
    "WithdrawalReport",
    "cancel_disallowed",
    "mark_taken_down",
    "takedowns",
]

# Members per round of queries: one sync page at most, well under every database's bind limit.
CHUNK = 500
# failed, needs_reauth and missed posts wait for staff, and may still hold an old scheduled copy
# (`replaces_remote_id`): a withdrawal cancels them too, so `take_down` deletes that copy
_QUEUED = sorted({*QUEUED_STATES, PostState.FAILED, PostState.NEEDS_REAUTH, PostState.MISSED})
_STATUS_REASONS = {
    MemberStatus.SUSPENDED: "anggota tidak aktif (suspended) / member no longer active (suspended)",
    MemberStatus.DELETED: (
        "anggota dihapus dari registri (deleted) / member deleted from the registry (deleted)"
    ),
    MemberStatus.MISSING: (
        "anggota tidak ada lagi di registri (missing) / member no longer in the registry (missing)"
    ),
}
WITHDRAWN = "persetujuan ditarik / consent withdrawn"
NOT_GRANTED = "persetujuan belum diberikan / consent not granted"


def channel_withdrawn(channel: str) -> str:
    return f"persetujuan untuk kanal {channel} dicabut / consent for {channel} withdrawn"


@dataclass(frozen=True)
class CancelledPost:
    post_id: int
    member_id: str
    channel: str
    account: str
    slot_at: datetime
    reason: str


@dataclass(frozen=True)
class InFlightPost:
    """Being published while consent went away: the publisher's last check decides."""

    post_id: int
    member_id: str
    channel: str
    account: str
    slot_at: datetime
    reason: str


@dataclass(frozen=True)
class Takedown:
    """A published post whose member no longer consents to its channel."""

    post_id: int
    member_id: str
    channel: str
    account: str
    permalink: str | None
    requested_at: datetime
    taken_down_at: datetime | None = None
    business_name: str | None = None


@dataclass
class WithdrawalReport:
    """What one `cancel_disallowed` call (or a whole sync, see `extend`) did."""

    cancelled: list[CancelledPost] = field(default_factory=list)
    takedowns: list[Takedown] = field(default_factory=list)
    in_flight: list[InFlightPost] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.cancelled or self.takedowns or self.in_flight)

    def extend(self, other: WithdrawalReport) -> None:
        self.cancelled += other.cancelled
        self.takedowns += other.takedowns
        self.in_flight += other.in_flight

    def summary(self) -> str:
        """One plain line (no member data) for the CLI and the sync markdown; '' if nothing."""
        return summary_line(len(self.cancelled), len(self.takedowns), len(self.in_flight))


def summary_line(cancelled: int, takedowns: int, in_flight: int) -> str:
    parts = []
    if cancelled:
        parts.append(f"cancelled {_n(cancelled, 'queued post')} after consent withdrawals")
    if takedowns:
        parts.append(
            f"{_n(takedowns, 'published post')} to take down: see `ifn-campaign takedowns`"
        )
    if in_flight:
        parts.append(
            f"{_n(in_flight, 'post')} being published lost consent "
            "(the publisher checks consent before the call)"
        )
    return "; ".join(parts)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def consent_refusal(member: Any, channel: str, at: datetime) -> tuple[str, bool] | None:
    """Why `member` may not appear on `channel` at `at` (None: allowed), and whether their
    consent for it is missing (which also takes published posts down; a suspension alone does
    not). Consent granted for a later date counts as not granted yet
    (`ifn_campaign.registry.consent`)."""
    state = consent_at(member, at)
    consent = None
    if state is ConsentState.WITHDRAWN:
        consent = WITHDRAWN
    elif state is ConsentState.NOT_GRANTED:
        consent = NOT_GRANTED
    elif state is ConsentState.NOT_YET:
        granted = member.consent_granted_at
        consent = f"{starts_on(granted, lang='id')} / {starts_on(granted)}"
    elif channel not in (member.consent_channels or []):
        consent = channel_withdrawn(channel)
    if member.status != MemberStatus.ACTIVE and consent != WITHDRAWN:
        status = _STATUS_REASONS.get(
            member.status, f"anggota {member.status} / member {member.status}"
        )
        return status, consent is not None
    return None if consent is None else (consent, True)


def cancel_disallowed(
    session: Session, member_ids: Iterable[str], now: datetime, *, actor: str = "sync"
) -> WithdrawalReport:
    """Cancel every queued post of these members that their current record no longer allows;
    request the takedown of published posts whose channel consent is gone; list posts in flight.

    Runs in the caller's transaction (it flushes, never commits). A constant number of statements
    per 500 members; a second call with nothing new changes nothing and reports nothing. `actor`
    names who cancelled in the posts' history (a withdrawal on the member page: "member page").
    """
    report = WithdrawalReport()
    ids = list(dict.fromkeys(member_ids))
    for chunk in _chunks(ids):
        _cancel_chunk(session, chunk, now, report, actor)
    return report


def _cancel_chunk(
    session: Session, ids: Sequence[str], now: datetime, report: WithdrawalReport, actor: str
) -> None:
    members = {
        row.id: row
        for row in session.execute(
            select(
                Member.id,
                Member.status,
                Member.consent_granted_at,
                Member.consent_withdrawn_at,
                Member.consent_channels,
            ).where(Member.id.in_(ids))
        )
    }
    rows = session.execute(
        select(
            Post.id,
            Post.member_id,
            Post.channel,
            Post.account,
            Post.slot_at,
            Post.state,
            Feature.permalink,
        )
        .outerjoin(Feature, Feature.post_id == Post.id)
        .where(
            Post.member_id.in_(ids),
            or_(
                Post.state.in_([*_QUEUED, PostState.PUBLISHING]),
                (Post.state == PostState.PUBLISHED) & Post.takedown_requested_at.is_(None),
            ),
        )
        .order_by(Post.slot_at, Post.id)
    ).all()
    by_reason: dict[str, list[Any]] = {}
    published: list[Any] = []
    for row in rows:
        refusal = consent_refusal(members[row.member_id], row.channel, now)
        if refusal is None:
            continue
        reason, consent_gone = refusal
        if row.state == PostState.PUBLISHED:
            if consent_gone:
                published.append(row)
        elif row.state == PostState.PUBLISHING:
            report.in_flight.append(
                InFlightPost(row.id, row.member_id, row.channel, row.account, row.slot_at, reason)
            )
        else:
            by_reason.setdefault(reason, []).append(row)
    events: list[tuple[int, str | None, str, str | None]] = []
    for reason, group in by_reason.items():
        # the state guard keeps a post that moved on meanwhile (e.g. to publishing) untouched
        done = set(
            session.scalars(
                update(Post)
                .where(Post.id.in_([r.id for r in group]), Post.state.in_(_QUEUED))
                .values(
                    state=PostState.CANCELLED,
                    state_changed_at=now,
                    cancel_reason=reason,
                    version=Post.version + 1,
                )
                .returning(Post.id)
            )
        )
        report.cancelled += [
            CancelledPost(r.id, r.member_id, r.channel, r.account, r.slot_at, reason)
            for r in group
            if r.id in done
        ]
        events += [(r.id, r.state, PostState.CANCELLED, reason) for r in group if r.id in done]
    record(session, events, actor=actor, now=now)  # one statement for every reason group
    if published:
        done = set(
            session.scalars(
                update(Post)
                .where(
                    Post.id.in_([r.id for r in published]),
                    Post.state == PostState.PUBLISHED,
                    Post.takedown_requested_at.is_(None),
                )
                .values(takedown_requested_at=now)
                .returning(Post.id)
            )
        )
        report.takedowns += [
            Takedown(r.id, r.member_id, r.channel, r.account, r.permalink, now)
            for r in published
            if r.id in done
        ]


def takedowns(session: Session, *, include_done: bool = False) -> list[Takedown]:
    """Published posts with a takedown request, oldest request first; `include_done` adds the
    ones staff have marked as taken down."""
    query = (
        select(Post, Feature.permalink, Member.business_name)
        .join(Member, Member.id == Post.member_id)
        .outerjoin(Feature, Feature.post_id == Post.id)
        .where(Post.takedown_requested_at.is_not(None))
        .order_by(Post.takedown_requested_at, Post.id)
    )
    if not include_done:
        query = query.where(Post.taken_down_at.is_(None))
    found = []
    for post, permalink, name in session.execute(query):
        assert post.id is not None and post.takedown_requested_at is not None
        found.append(
            Takedown(
                post.id,
                post.member_id,
                post.channel,
                post.account,
                permalink,
                post.takedown_requested_at,
                post.taken_down_at,
                name,
            )
        )
    return found


def mark_taken_down(session: Session, post_id: int, now: datetime) -> tuple[Post, bool]:
    """Staff took a post down by hand: record when. Returns the post and whether this call
    recorded it (False: it was already marked). Flushes, never commits."""
    post = session.get(Post, post_id)
    if post is None:
        raise LedgerError(f"no post {post_id} stored: see `ifn-campaign takedowns` for the ids")
    if post.takedown_requested_at is None:
        raise LedgerError(
            f"post {post_id} has no takedown request (state {post.state}); "
            "only posts listed by `ifn-campaign takedowns` can be marked"
        )
    if post.taken_down_at is not None:
        return post, False
    post.taken_down_at = now
    session.flush()
    return post, True
