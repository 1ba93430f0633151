"""Which readings are due: for every post live on its platform, each mark of
`insights.read_after` whose time has come and that has no reading yet, and readings waiting to be
tried again whose time has come.

A reading is due at `published_at + mark`. When the system was down long enough that a later
mark is due too, only the latest due mark is read: a "+1 hour" figure taken three days after the
post went live would lie, so the earlier marks are recorded as `missed` instead (`Due.missed`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings, mark_delta
from ifn_campaign.models import InsightReading, Post, PostState, ReadingState

__all__ = ["FINAL", "Due", "Live", "due_readings", "mark_after"]

FINAL = frozenset({ReadingState.READ, ReadingState.GONE, ReadingState.MISSED, ReadingState.FAILED})
"""Reading states that are never tried again."""


@cache
def mark_after(mark: str) -> timedelta:
    """`mark_delta`, parsed once per mark: a run works out tens of thousands of due times."""
    return mark_delta(mark)


@dataclass(frozen=True)
class Live:
    """What reading a post needs of it, copied out of the session (a run commits per batch:
    ORM rows would be loaded again after each commit)."""

    id: int
    channel: str
    account: str
    remote_id: str
    published_at: datetime


@dataclass(frozen=True)
class Due:
    """One reading to take now: `post` at `mark` (due at `due_at`); `missed` the earlier marks
    of the post to record as missed."""

    post: Live
    mark: str
    due_at: datetime
    missed: tuple[str, ...] = field(default=())

    @property
    def key(self) -> tuple[str, str]:
        """The (channel, account) whose client reads it."""
        return self.post.channel, self.post.account


def due_readings(
    session: Session,
    settings: Settings,
    now: datetime,
    *,
    limit: int | None = None,
    skip: Collection[tuple[str, str]] = (),
    post_ids: Collection[int] | None = None,
) -> list[Due]:
    """The readings due at `now`, oldest due first, at most `limit` (default
    `insights.max_readings`); posts of the (channel, account) pairs in `skip` (blocked, out of
    quota) are left for a later run without taking a place under the limit. `post_ids`: only
    these posts (the demo reads what its own sandboxes hold)."""
    marks = settings.insights.read_after
    cap = settings.insights.max_readings if limit is None else limit
    if cap <= 0 or not marks:
        return []
    first, last = mark_after(marks[0]), marks[-1]
    # a post is done once its last mark, or any mark as gone, is settled for good
    settled = exists().where(
        InsightReading.post_id == Post.id,
        (InsightReading.state == ReadingState.GONE)
        | and_(InsightReading.mark == last, InsightReading.state.in_(FINAL)),  # type: ignore[attr-defined]
    )
    rows = session.execute(
        select(Post.id, Post.channel, Post.account, Post.remote_id, Post.published_at)
        .where(
            Post.state == PostState.PUBLISHED,
            Post.published_at.is_not(None),  # type: ignore[union-attr]
            Post.published_at <= now - first,  # type: ignore[operator]
            Post.remote_id.is_not(None),  # type: ignore[union-attr]
            Post.remote_gone_at.is_(None),  # type: ignore[union-attr]
            ~settled,
        )
        .order_by(Post.published_at, Post.id)
    ).all()
    skipped = set(skip)
    only = None if post_ids is None else set(post_ids)
    posts = [
        Live(row.id, str(row.channel), row.account, row.remote_id, row.published_at)
        for row in rows
        if (str(row.channel), row.account) not in skipped and (only is None or row.id in only)
    ]
    readings: dict[int, dict[str, InsightReading]] = {}
    ids = [p.id for p in posts]
    for start in range(0, len(ids), 500):
        for row in session.scalars(
            select(InsightReading).where(InsightReading.post_id.in_(ids[start : start + 500]))  # type: ignore[attr-defined]
        ):
            readings.setdefault(row.post_id, {})[row.mark] = row
    found: list[Due] = []
    for post in posts:
        due = _due_of(post, marks, readings.get(post.id, {}), now)
        if due is not None:
            found.append(due)
    found.sort(key=lambda d: (d.due_at, d.post.id))
    return found[:cap]


def _due_of(
    post: Live, marks: list[str], stored: dict[str, InsightReading], now: datetime
) -> Due | None:
    """The one reading of `post` to take now, if any (its latest due mark)."""
    due_marks = [m for m in marks if post.published_at + mark_after(m) <= now]
    if not due_marks:
        return None
    latest = due_marks[-1]
    if _settled_after(stored, mark_after(latest)):
        return None
    row = stored.get(latest)
    if row is not None and (
        row.state in FINAL or (row.next_attempt_at is not None and row.next_attempt_at > now)
    ):
        return None
    missed = tuple(
        m for m in due_marks[:-1] if m not in stored or stored[m].state == ReadingState.RETRY
    ) + _dropped_retries(stored, marks, mark_after(latest))
    return Due(post, latest, post.published_at + mark_after(latest), missed)


def _dropped_retries(
    stored: dict[str, InsightReading], marks: list[str], before: timedelta
) -> tuple[str, ...]:
    """Readings waiting to be tried again whose mark was taken out of `read_after` since: never
    asked again, so recorded missed with the post's next reading rather than left waiting."""
    dropped = []
    for mark, row in stored.items():
        if mark in marks or row.state != ReadingState.RETRY:
            continue
        try:
            if mark_after(mark) < before:
                dropped.append(mark)
        except ValueError:
            continue
    return tuple(sorted(dropped, key=mark_after))


def _settled_after(stored: dict[str, InsightReading], after: timedelta) -> bool:
    """Whether a reading of a mark later than `after` is settled: only when `read_after`
    changed since (a mark added before one already read, or the later one taken out), and a
    figure for the earlier mark read now would be late; it is left to be recorded missed when
    the next mark is read. A stored mark that is no reading time is no later mark."""
    for mark, row in stored.items():
        if row.state not in FINAL:
            continue
        try:
            if mark_after(mark) > after:
                return True
        except ValueError:
            continue
    return False
