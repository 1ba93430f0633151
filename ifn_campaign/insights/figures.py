"""The figures stored for published posts, as everything that uses them reads them: the latest
reading of each post, and its reach.

Reach is the one figure comparable across channels (`REACH_METRIC`): people who saw an Instagram
post (`reach`), a Facebook post's unique media viewers (`post_total_media_view_unique`, Meta's
replacement for the retired `post_impressions_unique`), and a YouTube video's views (YouTube
gives no unique reach). A post with no reading yet has no reach: callers say "not read yet"
rather than count it as zero.

A late reading (`insights.lateness`) is the platform's count when it was taken, not at its mark:
the latest reading is used late or not (it is the latest count there is, and the latest
readings of different posts are already of different ages), and shown late wherever it is shown
(`Figures.late_by`); comparisons of posts at one age leave it out (`reach_by_mark(on_time=...)`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Subquery, and_, func, select
from sqlalchemy.orm import Session

from ifn_campaign.channels.channel import Channel
from ifn_campaign.config import InsightsSettings
from ifn_campaign.insights.lateness import late_by
from ifn_campaign.models import Feature, InsightMetric, InsightReading, ReadingState

__all__ = [
    "MAIN_METRICS",
    "REACH_METRIC",
    "FeatureReach",
    "Figures",
    "Reading",
    "latest_figures",
    "latest_reach",
    "latest_reach_rows",
    "main_figures",
    "member_reach",
    "post_readings",
    "reach_by_mark",
]

REACH_METRIC: dict[Channel, str] = {
    Channel.INSTAGRAM: "reach",
    Channel.FACEBOOK: "post_total_media_view_unique",
    Channel.YOUTUBE: "views",
}

# what staff see of a reading besides reach (`history`, the console's member page), in this order
MAIN_METRICS: dict[Channel, tuple[str, ...]] = {
    Channel.INSTAGRAM: ("likes", "comments", "shares", "saved", "views"),
    Channel.FACEBOOK: ("reactions", "comments", "shares"),
    Channel.YOUTUBE: ("likes", "comments"),
}

_CHUNK = 500  # ids per IN (...): well inside SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True)
class Figures:
    """A post's latest reading: at which mark, when, its reach and every figure it had."""

    post_id: int
    mark: str
    read_at: datetime
    reach: int | None
    metrics: dict[str, int] = field(default_factory=dict)
    due_at: datetime | None = None  # when its mark came; None: lateness unknown

    def late_by(self, insights: InsightsSettings) -> timedelta | None:
        """How long after its mark this reading was taken, when that makes it late."""
        if self.due_at is None:
            return None
        return late_by(self.mark, self.due_at, self.read_at, insights)


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    unique = sorted(set(ids))
    for start in range(0, len(unique), _CHUNK):
        yield unique[start : start + _CHUNK]


def _latest_readings(session: Session, post_ids: Iterable[int]) -> dict[int, InsightReading]:
    found: dict[int, InsightReading] = {}
    for chunk in _chunks(post_ids):
        # the state is checked here, not in SQL: with `state = 'read'` there SQLite searched
        # ix_insight_reading_due (state, ...) through every read reading for each chunk (65 ms
        # for one member's 8 posts among 27,000 readings) instead of the post_id index (2 ms)
        rows = session.scalars(
            select(InsightReading)
            .where(InsightReading.post_id.in_(chunk))  # type: ignore[attr-defined]
            .order_by(InsightReading.post_id, InsightReading.due_at.desc())  # type: ignore[attr-defined]
        )
        for row in rows:
            if row.state == ReadingState.READ:
                found.setdefault(row.post_id, row)  # the first per post is its latest mark
    return found


def latest_figures(session: Session, post_ids: Iterable[int]) -> dict[int, Figures]:
    """The latest stored reading of each post that has one (later marks win)."""
    readings = _latest_readings(session, post_ids)
    metrics: dict[int, dict[str, int]] = {}
    for chunk in _chunks(r.id for r in readings.values() if r.id is not None):
        for row in session.scalars(
            select(InsightMetric).where(InsightMetric.reading_id.in_(chunk))  # type: ignore[attr-defined]
        ):
            metrics.setdefault(row.reading_id, {})[row.metric] = row.value
    return {
        post_id: Figures(
            post_id=post_id,
            mark=r.mark,
            read_at=r.read_at or r.due_at,
            reach=r.reach,
            metrics=dict(sorted(metrics.get(r.id or 0, {}).items())),
            due_at=r.due_at,
        )
        for post_id, r in readings.items()
    }


def latest_reach(session: Session, post_ids: Iterable[int]) -> dict[int, int]:
    """Each post's reach at its latest reading; posts with no reading (or no reach) left out."""
    return {
        post_id: r.reach
        for post_id, r in _latest_readings(session, post_ids).items()
        if r.reach is not None
    }


def latest_reach_rows() -> Subquery:
    """Each post's latest read reading as SQL rows (post_id, mark, reach; reach NULL where that
    reading has none): the rule of `latest_reach` for a query that joins it to the features in
    the database rather than passing their ids (the ledger's groups, the planner's members):
    `latest_reach` of 15,000 features read twice each took 1.6 s on SQLite and 2.2 s on
    PostgreSQL (an ORM object per reading); the ledger's three breakdowns with this joined,
    0.37 s and 0.30 s in all."""
    latest = (
        select(InsightReading.post_id, func.max(InsightReading.due_at).label("due_at"))
        .where(InsightReading.state == ReadingState.READ)
        .group_by(InsightReading.post_id)
        .subquery()
    )
    return (
        select(InsightReading.post_id, InsightReading.mark, InsightReading.reach)
        .join(
            latest,
            and_(
                InsightReading.post_id == latest.c.post_id,
                InsightReading.due_at == latest.c.due_at,
            ),
        )
        .where(InsightReading.state == ReadingState.READ)
        .subquery("latest_reach")
    )


def reach_by_mark(
    session: Session, post_ids: Iterable[int], *, on_time: InsightsSettings | None = None
) -> dict[int, dict[str, int]]:
    """Every reach read of each post, by mark ({"1d": 410, "7d": 1234}): posts compared with
    each other must be compared at the same age (slot advice uses the 7-day mark), which the
    latest reading alone cannot give. Posts with no reach read are left out. With `on_time`
    (the insights settings), late readings are left out too: a 7d reading taken on day 12 is
    no 7-day figure."""
    found: dict[int, dict[str, int]] = {}
    for chunk in _chunks(post_ids):
        # the state is checked here, not in SQL, as in `_latest_readings`: the post_id index
        rows = session.execute(
            select(
                InsightReading.post_id,
                InsightReading.mark,
                InsightReading.state,
                InsightReading.reach,
                InsightReading.due_at,
                InsightReading.read_at,
            ).where(InsightReading.post_id.in_(chunk))  # type: ignore[attr-defined]
        )
        for post_id, mark, state, reach, due_at, read_at in rows:
            if state != ReadingState.READ or reach is None:
                continue
            if on_time is not None and late_by(mark, due_at, read_at, on_time) is not None:
                continue
            found.setdefault(post_id, {})[mark] = reach
    return found


def main_figures(channel: str, figures: Figures) -> list[tuple[str, int]]:
    """The channel's main figures of a reading besides reach (`MAIN_METRICS`), in that order,
    only those the platform gave (a Facebook post nobody shared has no `shares`)."""
    names = MAIN_METRICS.get(Channel(channel), ()) if channel in set(Channel) else ()
    return [(name, figures.metrics[name]) for name in names if name in figures.metrics]


@dataclass(frozen=True)
class FeatureReach:
    """One of a member's features with the reach of its latest reading, and where and when it
    went out: fair-by-reach rotation ranks members by these and weighs the slot it fills by the
    account's earlier features at the same weekday and hour."""

    post_id: int
    at: datetime  # went live (the ledger's featured_at)
    channel: str
    account: str
    reach: int


def member_reach(
    session: Session, member_ids: Iterable[str] | None = None
) -> dict[str, list[FeatureReach]]:
    """Each member's features in the ledger (every campaign and channel) that have a reach
    read, oldest first, each at its latest reading: the rule of `latest_reach` (the latest read
    mark wins; no reach there, left out), done in one query because the planner reads every
    member's features at every plan (20,000 features read 4 times: `latest_reach` 12 s on
    SQLite, this 2 s). All members when `member_ids` is None; members with nothing read are left
    out: not read yet is not zero."""
    latest = latest_reach_rows()
    query = (
        select(
            Feature.member_id,
            Feature.post_id,
            Feature.featured_at,
            Feature.channel,
            Feature.account,
            latest.c.reach,
        )
        .join(latest, latest.c.post_id == Feature.post_id)
        .where(latest.c.reach.is_not(None))
    )
    if member_ids is None:
        rows = list(session.execute(query))
    else:
        ids = sorted(set(member_ids))
        rows = []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            rows += session.execute(query.where(Feature.member_id.in_(chunk)))  # type: ignore[attr-defined]
    found: dict[str, list[FeatureReach]] = {}
    for row in sorted(rows, key=lambda row: (row.featured_at, row.post_id)):
        found.setdefault(row.member_id, []).append(
            FeatureReach(
                row.post_id, row.featured_at, Channel(row.channel).value, row.account, row.reach
            )
        )
    return found


@dataclass(frozen=True)
class Reading:
    """One reading of a post in its time series, whatever became of it (`state`), with every
    figure it had (none unless read)."""

    mark: str
    due_at: datetime
    state: str
    read_at: datetime | None
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    reach: int | None
    metrics: dict[str, int] = field(default_factory=dict)

    def late_by(self, insights: InsightsSettings) -> timedelta | None:
        """How long after its mark this reading was taken, when that makes it late."""
        return late_by(self.mark, self.due_at, self.read_at, insights)


def post_readings(session: Session, post_id: int) -> list[Reading]:
    """Every reading of one post, in the order of its marks: its figures over time
    (`ifn-campaign insights show`)."""
    rows = list(
        session.scalars(
            select(InsightReading)
            .where(InsightReading.post_id == post_id)
            .order_by(InsightReading.due_at, InsightReading.id)
        )
    )
    metrics: dict[int, dict[str, int]] = {}
    for chunk in _chunks(r.id for r in rows if r.id is not None):
        for row in session.scalars(
            select(InsightMetric).where(InsightMetric.reading_id.in_(chunk))  # type: ignore[attr-defined]
        ):
            metrics.setdefault(row.reading_id, {})[row.metric] = row.value
    return [
        Reading(
            r.mark,
            r.due_at,
            r.state,
            r.read_at,
            r.attempts,
            r.next_attempt_at,
            r.last_error,
            r.reach,
            dict(sorted(metrics.get(r.id or 0, {}).items())),
        )
        for r in rows
    ]
