"""The report's evidence of reach: how far the period's posts went, per channel and week, how
features and reach divide across provinces, categories and actor types against the membership,
which slots reached most and least, what failed and what was done about it, and who was featured
for the first time.

Reach is read only through `ifn_campaign.insights.figures` (each post's latest reading); a post
with no reading yet has no reach (None, shown as "not read yet"), never 0, and is left out of
sums, means and shares (each table says how many were not read yet).

`collect_reach` reads the database; everything else here is arithmetic on what it read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from ifn_campaign.insights.figures import latest_reach
from ifn_campaign.models import Feature, Member, Post, PostEvent, PostState
from ifn_campaign.posts import ledger
from ifn_campaign.posts.ledger import DIMENSIONS, Dimension

__all__ = [
    "NEEDS_STAFF_STATES",
    "SLOTS_SHOWN",
    "ChannelReach",
    "FailureStory",
    "FirstFeature",
    "GroupReach",
    "PostReach",
    "ReachCount",
    "ReachSummary",
    "SlotReach",
    "WeekReach",
    "collect_reach",
]

NEEDS_STAFF_STATES = frozenset({PostState.FAILED, PostState.NEEDS_REAUTH, PostState.MISSED})
SLOTS_SHOWN = 3  # best and worst slots shown per channel


@dataclass(frozen=True)
class PostReach:
    """A post that went out in the period and its reach at its latest reading (None: not read
    yet)."""

    post_id: int
    member_id: str
    business_name: str
    channel: str
    account: str
    slot_at: datetime
    published_at: datetime
    permalink: str | None
    reach: int | None


@dataclass(frozen=True)
class ReachCount:
    """Posts that went out, how many of them have a reading, and their summed reach."""

    posts: int
    read: int
    reach: int

    @property
    def unread(self) -> int:
        return self.posts - self.read

    @property
    def mean(self) -> float | None:
        return self.reach / self.read if self.read else None


def _count(posts: Iterable[PostReach]) -> dict[str, int]:
    """The fields of a ReachCount for `posts`: unread ones count as posts, never as reach."""
    found = list(posts)
    read = [p.reach for p in found if p.reach is not None]
    return {"posts": len(found), "read": len(read), "reach": sum(read)}


@dataclass(frozen=True, kw_only=True)
class ChannelReach(ReachCount):
    """The posts that went out on one channel."""

    channel: str


@dataclass(frozen=True, kw_only=True)
class WeekReach(ReachCount):
    """Posts that went out in one week (Monday to Sunday in the display zone, clipped to the
    period): `start` and `end` are its first and last day inside the period."""

    start: date
    end: date


@dataclass(frozen=True)
class GroupReach:
    """One group of a dimension: its features and their reach in the period against its share of
    the membership. Shares are fractions of all (0 when there is nothing to share)."""

    value: str | None
    label: str
    features: int
    feature_share: float
    reach: int
    reach_share: float
    unread: int
    members: int
    member_share: float


@dataclass(frozen=True)
class SlotReach:
    """A channel's weekday and hour (display zone) with the posts read there and their mean
    reach. `weekday` is 0 for Monday."""

    channel: str
    weekday: int
    hour: int
    posts: int
    mean_reach: float


@dataclass(frozen=True)
class FailureStory:
    """A post of the period that failed (or needed re-authorisation, or missed its slot): the
    first such event and everything that happened to it after (state, when, who)."""

    post_id: int
    member_id: str
    business_name: str
    channel: str
    account: str
    slot_at: datetime
    failed_at: datetime
    failed_as: str
    what_happened: str | None
    then: list[tuple[str, datetime, str]]
    state: str
    error_action: str | None

    @property
    def resolved(self) -> bool:
        return self.state not in NEEDS_STAFF_STATES


@dataclass(frozen=True)
class FirstFeature:
    """A member whose first feature ever went out in the period."""

    member_id: str
    business_name: str
    province: str | None
    channel: str
    featured_at: datetime
    reach: int | None


@dataclass(frozen=True)
class ReachSummary:
    """Everything the report says about reach for one period (see the module's docstring)."""

    posts: list[PostReach] = field(default_factory=list)
    by_channel: list[ChannelReach] = field(default_factory=list)
    by_week: list[WeekReach] = field(default_factory=list)
    fairness: dict[Dimension, list[GroupReach]] = field(default_factory=dict)
    best_slots: list[SlotReach] = field(default_factory=list)
    worst_slots: list[SlotReach] = field(default_factory=list)
    failures: list[FailureStory] = field(default_factory=list)
    first_time: list[FirstFeature] = field(default_factory=list)

    @property
    def read(self) -> int:
        return sum(1 for p in self.posts if p.reach is not None)

    @property
    def total(self) -> int:
        return sum(p.reach for p in self.posts if p.reach is not None)


def collect_reach(
    session: Session, *, since: datetime, until: datetime, as_of: datetime, zone: ZoneInfo
) -> ReachSummary:
    """Read the period [since, until)'s reach evidence (reads only). Posts count by their slot
    (as the rest of the report); features, their shares and first features by when they went
    out (as the ledger counts them); the membership is as of `as_of`."""
    rows = session.execute(
        select(Post, Member.business_name, Feature.permalink)
        .join(Member, Member.id == Post.member_id)
        .outerjoin(Feature, Feature.post_id == Post.id)
        .where(
            Post.slot_at >= since,
            Post.slot_at < until,
            Post.state == PostState.PUBLISHED,
        )
        .order_by(Post.slot_at, Post.channel, Post.id)
    ).all()
    reach = latest_reach(session, (p.id for p, _, _ in rows if p.id is not None))
    posts = [
        PostReach(
            post_id=p.id or 0,
            member_id=p.member_id,
            business_name=name,
            channel=p.channel,
            account=p.account,
            slot_at=p.slot_at,
            published_at=p.published_at or p.slot_at,
            permalink=p.permalink or link,
            reach=reach.get(p.id or 0),
        )
        for p, name, link in rows
    ]
    return ReachSummary(
        posts=posts,
        by_channel=_by_channel(posts),
        by_week=_by_week(posts, since, until, zone),
        fairness=_fairness(session, since, until, as_of),
        best_slots=_slots(posts, zone, best=True),
        worst_slots=_slots(posts, zone, best=False),
        failures=_failures(session, since, until),
        first_time=_first_time(session, since, until),
    )


def _by_channel(posts: Sequence[PostReach]) -> list[ChannelReach]:
    channels = sorted({p.channel for p in posts})
    found = [
        ChannelReach(channel=c, **_count(p for p in posts if p.channel == c)) for c in channels
    ]
    return sorted(found, key=lambda c: (-c.reach, -c.posts, c.channel))


def _by_week(
    posts: Sequence[PostReach], since: datetime, until: datetime, zone: ZoneInfo
) -> list[WeekReach]:
    """Every week of the period, in order, with or without posts (a week with none is news)."""
    first = since.astimezone(zone).date()
    last = (until.astimezone(zone) - timedelta(microseconds=1)).date()
    weeks: dict[date, list[PostReach]] = {}
    monday = first - timedelta(days=first.weekday())
    while monday <= last:
        weeks[monday] = []
        monday += timedelta(days=7)
    for p in posts:
        local = p.slot_at.astimezone(zone).date()
        weeks[local - timedelta(days=local.weekday())].append(p)
    return [
        WeekReach(
            start=max(monday, first), end=min(monday + timedelta(days=6), last), **_count(found)
        )
        for monday, found in weeks.items()
    ]


def _primary(values: object) -> str | None:
    """The first listed value, as the ledger counts a member (`ledger._group`)."""
    if isinstance(values, list) and values and isinstance(values[0], str):
        return values[0]
    return None


def _fairness(
    session: Session, since: datetime, until: datetime, as_of: datetime
) -> dict[Dimension, list[GroupReach]]:
    """The ledger's shares of features and of membership per group, with the reach of the
    group's features beside them."""
    shares = ledger.shares_by_all(session, as_of, since, until)
    features = session.execute(
        select(Feature.post_id, Member.province, Member.categories, Member.actor_types)
        .join(Member, Member.id == Feature.member_id)
        .where(Feature.featured_at >= since, Feature.featured_at < until)
    ).all()
    reach = latest_reach(session, (f.post_id for f in features))
    summed: dict[Dimension, dict[str | None, list[int]]] = {
        d: defaultdict(lambda: [0, 0]) for d in DIMENSIONS
    }
    for post_id, province, categories, actor_types in features:
        values = {
            "province": province,
            "category": _primary(categories),
            "actor_type": _primary(actor_types),
        }
        for dimension in DIMENSIONS:
            row = summed[dimension][values[dimension]]
            if post_id in reach:
                row[0] += reach[post_id]
            else:
                row[1] += 1
    total = sum(reach.values())
    return {
        d: [
            GroupReach(
                value=s.value,
                label=s.label,
                features=s.features,
                feature_share=s.feature_share,
                reach=summed[d].get(s.value, [0, 0])[0],
                reach_share=summed[d].get(s.value, [0, 0])[0] / total if total else 0.0,
                unread=summed[d].get(s.value, [0, 0])[1],
                members=s.members,
                member_share=s.member_share,
            )
            for s in shares[d]
        ]
        for d in DIMENSIONS
    }


def _slots(posts: Iterable[PostReach], zone: ZoneInfo, *, best: bool) -> list[SlotReach]:
    """Per channel, the SLOTS_SHOWN weekday-hours with the highest (or lowest) mean reach among
    posts read; a channel with few slots never shows one slot as both best and worst."""
    read: dict[tuple[str, int, int], list[int]] = defaultdict(list)
    for p in posts:
        if p.reach is not None:
            local = p.slot_at.astimezone(zone)
            read[(p.channel, local.weekday(), local.hour)].append(p.reach)
    per_channel: dict[str, list[SlotReach]] = defaultdict(list)
    for (channel, weekday, hour), values in read.items():
        per_channel[channel].append(
            SlotReach(channel, weekday, hour, len(values), sum(values) / len(values))
        )
    shown = []
    for channel in sorted(per_channel):
        ranked = sorted(
            per_channel[channel], key=lambda s: (-s.mean_reach, -s.posts, s.weekday, s.hour)
        )
        half = (len(ranked) + 1) // 2 if best else len(ranked) // 2
        if best:
            shown += ranked[: min(SLOTS_SHOWN, half)]
        else:
            shown += list(reversed(ranked))[: min(SLOTS_SHOWN, half)]
    return shown


def _failures(session: Session, since: datetime, until: datetime) -> list[FailureStory]:
    """Posts of the period that ever failed, needed re-authorisation or missed their slot, each
    with its first such event and what happened to it after, in order."""
    failing = aliased(PostEvent)
    rows = session.execute(
        select(Post, Member.business_name)
        .join(Member, Member.id == Post.member_id)
        .where(
            Post.slot_at >= since,
            Post.slot_at < until,
            exists().where(
                failing.post_id == Post.id,
                failing.to_state.in_(NEEDS_STAFF_STATES),  # type: ignore[attr-defined]
            ),
        )
        .order_by(Post.slot_at, Post.id)
    ).all()
    ids = [p.id for p, _ in rows if p.id is not None]
    events: dict[int, list[PostEvent]] = defaultdict(list)
    if ids:
        for event in session.scalars(
            select(PostEvent)
            .where(PostEvent.post_id.in_(ids))  # type: ignore[attr-defined]
            .order_by(PostEvent.at, PostEvent.id)  # type: ignore[arg-type]
        ):
            events[event.post_id].append(event)
    stories = []
    for post, name in rows:
        chain = events[post.id or 0]
        first = next(i for i, e in enumerate(chain) if e.to_state in NEEDS_STAFF_STATES)
        failed = chain[first]
        stuck = post.state in NEEDS_STAFF_STATES
        stories.append(
            FailureStory(
                post_id=post.id or 0,
                member_id=post.member_id,
                business_name=name,
                channel=post.channel,
                account=post.account,
                slot_at=post.slot_at,
                failed_at=failed.at,
                failed_as=failed.to_state,
                what_happened=failed.note or post.last_error,
                then=[(e.to_state, e.at, e.actor) for e in chain[first + 1 :]],
                state=post.state,
                error_action=(post.error_action or "approve it again, or cancel it")
                if stuck
                else None,
            )
        )
    return stories


def _first_time(session: Session, since: datetime, until: datetime) -> list[FirstFeature]:
    """Members featured in the period and never before it: their first feature, in order."""
    earlier = aliased(Feature)
    rows = session.execute(
        select(Feature, Member.business_name, Member.province)
        .join(Member, Member.id == Feature.member_id)
        .where(
            Feature.featured_at >= since,
            Feature.featured_at < until,
            ~exists().where(earlier.member_id == Feature.member_id, earlier.featured_at < since),
        )
        .order_by(Feature.featured_at, Feature.id)
    ).all()
    firsts: dict[str, tuple[Feature, str, str | None]] = {}
    for feature, name, province in rows:
        firsts.setdefault(feature.member_id, (feature, name, province))
    reach = latest_reach(session, (f.post_id for f, _, _ in firsts.values()))
    return [
        FirstFeature(
            member_id=f.member_id,
            business_name=name,
            province=province,
            channel=f.channel,
            featured_at=f.featured_at,
            reach=reach.get(f.post_id),
        )
        for f, name, province in firsts.values()
    ]
