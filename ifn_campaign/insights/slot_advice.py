"""Slot advice: which weekday and hour reach most people on one account, from its own history.

Every published post of the account in the last `insights.advice_weeks` weeks counts with a
comparable reading: its reach at the 7-day mark (`preferred_mark`), else its latest reading after
that mark (a post first read at 28 days after the reader was down). A post read only earlier is
too young to compare and is left out (`Advice.left_out`). A late reading (taken more than its
tolerance after its mark: `insights.lateness`) is no figure at its mark and is not compared; a
post with nothing but late readings from the mark on is left out and counted apart
(`Advice.late`), so staff see the history the worker's downtime cost.

Raw reach favours whatever the account did lately when it grows, so each post's reach is divided
by the median reach of the account's other posts within two weeks either side of it
(`TREND_WINDOW`): 1.0 is the account's usual at that time. A weekday and hour (local time of the
slot) gets the median of its posts' ratios as its index (a median, so one post that went viral
does not carry a slot), and only where it has at least `insights.advice_min_posts` posts: below
that the table says how many it has and what it needs, never an index.

The advice names the weakest of the campaign's current slots that has enough posts and the best
alternative that has enough posts and is not one of its current weekday+hours (ties: more posts
first); the planner's `replace_weakest_slot` swaps them when the alternative's index is at least
`REPLACE_MARGIN` times the weakest's. Pure functions on plain data (`comparable`, `trend_ratios`,
`slot_table`, `advise`) with one thin query on top (`account_advice`).
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import median
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.channels.channel import Channel
from ifn_campaign.config import InsightsSettings, mark_delta
from ifn_campaign.insights.figures import reach_by_mark
from ifn_campaign.models import Post, PostState
from ifn_campaign.planner.campaign import ChannelPlan

__all__ = [
    "DAYS_EN",
    "DAYS_ID",
    "PREFERRED_MARK",
    "REPLACE_MARGIN",
    "TREND_WINDOW",
    "Advice",
    "CurrentSlot",
    "History",
    "PostReach",
    "SlotStat",
    "account_advice",
    "account_history",
    "advise",
    "comparable",
    "preferred_mark",
    "slot_label",
    "slot_table",
    "trend_ratios",
    "weekly_slots",
]

PREFERRED_MARK = "7d"  # reach has mostly settled a week after a post went live
TREND_WINDOW = dt.timedelta(weeks=2)  # each side of a post: "the account's usual" at its time
REPLACE_MARGIN = 1.10  # the alternative must reach at least 10% more than the weakest slot
DAYS_ID = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def slot_label(weekday: int, time: dt.time, language: str = "en") -> str:
    """'Tuesday 19:00' / 'Selasa 19.00': a weekly slot as the plan's reasons name it."""
    if language == "id":
        return f"{DAYS_ID[weekday]} {time:%H.%M}"
    return f"{DAYS_EN[weekday]} {time:%H:%M}"


@dataclass(frozen=True)
class PostReach:
    """One post of the account's history: when its slot was (UTC) and its comparable reach."""

    post_id: int
    at: dt.datetime
    reach: int
    mark: str

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError(f"post {self.post_id}: its slot time must be timezone-aware")
        if self.reach < 0:
            raise ValueError(f"post {self.post_id}: reach {self.reach} is below zero")


@dataclass(frozen=True)
class SlotStat:
    """One weekday and hour of the history. `index` is None below the posts advice needs."""

    weekday: int  # 0 is Monday
    hour: int
    posts: int
    time: dt.time  # the local time most of its posts went out at (19:00, 18:30)
    index: float | None

    @property
    def enough(self) -> bool:
        return self.index is not None

    def label(self, language: str = "en") -> str:
        return slot_label(self.weekday, self.time, language)


@dataclass(frozen=True)
class CurrentSlot:
    """One of the campaign's weekly slots and what the history says of its weekday and hour."""

    weekday: int
    time: dt.time
    stat: SlotStat | None  # None: no post of the history at that weekday and hour

    @property
    def posts(self) -> int:
        return 0 if self.stat is None else self.stat.posts

    @property
    def index(self) -> float | None:
        return None if self.stat is None else self.stat.index

    def label(self, language: str = "en") -> str:
        return slot_label(self.weekday, self.time, language)


@dataclass(frozen=True)
class Advice:
    """What one account's history says about a campaign's slots on it."""

    min_posts: int
    mark: str  # the preferred mark the posts were compared at
    slots: tuple[SlotStat, ...]  # those with an index first, best first; then the thin ones
    current: tuple[CurrentSlot, ...] = ()
    weakest: CurrentSlot | None = None
    alternative: SlotStat | None = None
    marks: Mapping[str, int] = field(default_factory=dict)  # posts compared at each mark
    left_out: int = 0  # published posts with no comparable reading (too young, not read)
    late: int = 0  # published posts whose readings from the mark on were all late

    @property
    def posts(self) -> int:
        return sum(self.marks.values())

    @property
    def shown(self) -> tuple[SlotStat, ...]:
        """The weekday+hours with enough posts to say something, best first."""
        return tuple(s for s in self.slots if s.enough)

    @property
    def thin_current(self) -> tuple[CurrentSlot, ...]:
        """Current slots the history cannot judge yet (fewer posts than `min_posts`)."""
        return tuple(c for c in self.current if c.index is None)

    def replaces(self, margin: float = REPLACE_MARGIN) -> bool:
        """Whether the alternative is clearly better than the weakest current slot."""
        if self.weakest is None or self.alternative is None:
            return False
        weak, alt = self.weakest.index, self.alternative.index
        assert weak is not None and alt is not None
        return alt > weak and alt >= weak * margin

    def reason(self, language: str = "en") -> str:
        """'Tuesday 19:00 replaces Sunday 21:00: reach index 1.32 vs 0.61 over 9 and 6 posts'."""
        weak, alt = self.weakest, self.alternative
        if weak is None or alt is None:
            raise ValueError("no weakest slot and alternative to compare")
        if language == "id":
            return (
                f"{alt.label('id')} menggantikan {weak.label('id')}: indeks jangkauan "
                f"{_number(alt.index, 'id')} vs {_number(weak.index, 'id')} dari {alt.posts} dan "
                f"{weak.posts} pos"
            )
        return (
            f"{alt.label()} replaces {weak.label()}: reach index {_number(alt.index)} vs "
            f"{_number(weak.index)} over {alt.posts} and {weak.posts} posts"
        )

    def thin_notes(self) -> list[str]:
        """One line per current slot without enough history: '3 posts on Tuesdays 19:00, needs
        4'."""
        return [
            f"{c.posts} post{'' if c.posts == 1 else 's'} on {DAYS_EN[c.weekday]}s "
            f"{c.time:%H:%M}, needs {self.min_posts}"
            for c in self.thin_current
        ]


def _number(value: float | None, language: str = "en") -> str:
    text = f"{value or 0:.2f}"
    return text.replace(".", ",") if language == "id" else text


def preferred_mark(read_after: Sequence[str]) -> str:
    """The mark posts are compared at: 7d when it is read, else the latest mark read."""
    if PREFERRED_MARK in read_after:
        return PREFERRED_MARK
    return max(read_after, key=mark_delta)


def _delta(mark: str) -> dt.timedelta | None:
    try:
        return mark_delta(mark)
    except ValueError:  # a mark no settings would name: not comparable with anything
        return None


def comparable(by_mark: Mapping[str, int], mark: str) -> tuple[str, int] | None:
    """A post's reach at `mark`, else at its latest mark after it; None when it was read only
    earlier (too young: a 1-day reach is not a 7-day reach)."""
    if mark in by_mark:
        return mark, by_mark[mark]
    floor = mark_delta(mark)
    later = [(d, m) for m in by_mark if (d := _delta(m)) is not None and d > floor]
    if not later:
        return None
    _, latest = max(later)
    return latest, by_mark[latest]


def trend_ratios(
    posts: Iterable[PostReach], window: dt.timedelta = TREND_WINDOW
) -> list[tuple[PostReach, float]]:
    """Each post's reach over the account's usual at its time: the median reach of its
    neighbours, the other posts within `window` either side of it, in slot order.

    The post itself is left out of its own usual: with weekly slots, two weeks either side hold
    four posts of every weekly slot besides its own, so no slot weighs more in its own baseline
    (with the post counted, a slot of two would be judged against itself and every index would be
    1.0). A post with no neighbour, or whose neighbours reached nobody, has no usual to compare
    with and is left out."""
    ordered = sorted(posts, key=lambda p: (p.at, p.post_id))
    times = [p.at for p in ordered]
    ratios = []
    for i, post in enumerate(ordered):
        low, high = bisect_left(times, post.at - window), bisect_right(times, post.at + window)
        near = [p.reach for p in ordered[low:i]] + [p.reach for p in ordered[i + 1 : high]]
        if not near:
            continue
        usual = median(near)
        if usual > 0:
            ratios.append((post, post.reach / usual))
    return ratios


def slot_table(
    ratios: Iterable[tuple[PostReach, float]], zone: ZoneInfo, min_posts: int
) -> list[SlotStat]:
    """Per weekday and hour (local time in `zone`): how many posts and, where there are at least
    `min_posts`, the median ratio (2 decimals). Ranked: indexed slots best first (ties: more
    posts, then earlier in the week), then the thin ones by posts."""
    if min_posts < 1:
        raise ValueError(f"min_posts must be at least 1, got {min_posts}")
    buckets: dict[tuple[int, int], list[tuple[dt.time, float]]] = {}
    for post, ratio in ratios:
        local = post.at.astimezone(zone)
        buckets.setdefault((local.weekday(), local.hour), []).append(
            (local.time().replace(second=0, microsecond=0, tzinfo=None), ratio)
        )
    stats = []
    for (weekday, hour), found in buckets.items():
        times = Counter(t for t, _ in found)
        usual_time = min(times, key=lambda t: (-times[t], t))
        index = round(median(r for _, r in found), 2) if len(found) >= min_posts else None
        stats.append(SlotStat(weekday, hour, len(found), usual_time, index))
    return sorted(stats, key=_rank)


def _rank(stat: SlotStat) -> tuple[int, float, int, int, int]:
    if stat.index is None:
        return (1, 0.0, -stat.posts, stat.weekday, stat.hour)
    return (0, -stat.index, -stat.posts, stat.weekday, stat.hour)


def advise(
    posts: Iterable[PostReach],
    current: Iterable[tuple[int, dt.time]],
    zone: ZoneInfo,
    min_posts: int,
    *,
    mark: str = PREFERRED_MARK,
    left_out: int = 0,
    late: int = 0,
) -> Advice:
    """The advice for one account and the campaign's `current` (weekday, local time) slots on
    it: the table, the weakest current slot with enough posts (ties: more posts, then earlier)
    and the best alternative with enough posts outside the current weekday+hours."""
    posts = list(posts)
    table = slot_table(trend_ratios(posts), zone, min_posts)
    by_key = {(s.weekday, s.hour): s for s in table}
    slots = tuple(
        CurrentSlot(day, time, by_key.get((day, time.hour))) for day, time in sorted(set(current))
    )
    judged = [c for c in slots if c.index is not None]
    weakest = min(judged, key=lambda c: (c.index, -c.posts, c.weekday, c.time), default=None)
    taken = {(c.weekday, c.time.hour) for c in slots}
    alternative = next((s for s in table if s.enough and (s.weekday, s.hour) not in taken), None)
    return Advice(
        min_posts=min_posts,
        mark=mark,
        slots=tuple(table),
        current=slots,
        weakest=weakest,
        alternative=alternative,
        marks=dict(sorted(Counter(p.mark for p in posts).items())),
        left_out=left_out,
        late=late,
    )


@dataclass(frozen=True)
class History:
    """An account's posts with a comparable reading, how many had none (`left_out`: too young
    or not read; `late`: read only late from the mark on) and the mark compared at."""

    posts: list[PostReach]
    left_out: int
    mark: str
    late: int = 0


def account_history(
    session: Session,
    channel: Channel | str,
    account: str,
    now: dt.datetime,
    insights: InsightsSettings,
) -> History:
    """The account's published posts of the last `advice_weeks` weeks with a comparable
    on-time reading, how many had none, and the mark compared at."""
    mark = preferred_mark(insights.read_after)
    since = now - dt.timedelta(weeks=insights.advice_weeks)
    rows = session.execute(
        select(Post.id, Post.slot_at).where(
            Post.channel == Channel(channel).value,
            Post.account == account,
            Post.state == PostState.PUBLISHED,
            Post.slot_at >= since,
            Post.slot_at <= now,
        )
    ).all()
    read = reach_by_mark(session, (post_id for post_id, _ in rows), on_time=insights)
    posts, missing = [], []
    for post_id, at in rows:
        found = comparable(read.get(post_id, {}), mark)
        if found is None or found[1] < 0:  # a negative count is no figure
            missing.append(post_id)
            continue
        posts.append(PostReach(post_id, at, found[1], found[0]))
    every = reach_by_mark(session, missing)  # late readings included: which were only late
    late = sum(1 for post_id in missing if _usable(comparable(every.get(post_id, {}), mark)))
    return History(posts, len(missing) - late, mark, late)


def _usable(found: tuple[str, int] | None) -> bool:
    return found is not None and found[1] >= 0


def account_advice(
    session: Session,
    channel: Channel | str,
    account: str,
    current: Iterable[tuple[int, dt.time]],
    zone: ZoneInfo,
    now: dt.datetime,
    insights: InsightsSettings,
) -> Advice:
    """`advise` on the account's own history (`account_history`)."""
    h = account_history(session, channel, account, now, insights)
    return advise(
        h.posts,
        current,
        zone,
        insights.advice_min_posts,
        mark=h.mark,
        left_out=h.left_out,
        late=h.late,
    )


def weekly_slots(plan: ChannelPlan) -> list[tuple[int, dt.time]]:
    """(weekday, local time) of every day of one channel's slot rules."""
    return [(day, rule.time) for rule in plan.slots for day in rule.days]
