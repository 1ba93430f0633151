"""Slot advice on plain data: comparable readings, the trend normalisation (a growing account
does not make its recent slots look better), the posts a slot needs, ties, and no history."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ifn_campaign.insights.slot_advice import (
    REPLACE_MARGIN,
    PostReach,
    advise,
    comparable,
    preferred_mark,
    slot_table,
    trend_ratios,
)

WIB = ZoneInfo("Asia/Jakarta")
MONDAY = dt.date(2026, 6, 1)
TUE, SUN = 1, 6
T19, T21 = dt.time(19, 0), dt.time(21, 0)


def at(week: int, weekday: int, time: dt.time) -> dt.datetime:
    day = MONDAY + dt.timedelta(weeks=week, days=weekday)
    return dt.datetime.combine(day, time, WIB).astimezone(dt.UTC)


def history(
    weeks: range, slots: dict[tuple[int, dt.time], float], growth: float = 0.0
) -> list[PostReach]:
    """Weekly posts at `slots` (weekday, time) -> slot factor, on an account whose reach grows
    by `growth` a week."""
    posts = []
    for week in weeks:
        for (day, time), factor in slots.items():
            reach = round(1000 * factor * math.exp(growth * week))
            posts.append(PostReach(len(posts) + 1, at(week, day, time), reach, "7d"))
    return posts


def test_preferred_mark_is_7d_else_the_latest() -> None:
    assert preferred_mark(["1h", "1d", "7d", "28d"]) == "7d"
    assert preferred_mark(["1h", "1d"]) == "1d"
    assert preferred_mark(["2d", "28d"]) == "28d"


def test_comparable_takes_7d_else_a_later_mark_never_an_earlier_one() -> None:
    assert comparable({"1h": 5, "1d": 50, "7d": 90, "28d": 99}, "7d") == ("7d", 90)
    assert comparable({"1h": 5, "28d": 99, "14d": 95}, "7d") == ("28d", 99)
    assert comparable({"1h": 5, "1d": 50}, "7d") is None  # too young to compare
    assert comparable({}, "7d") is None
    assert comparable({"weird": 7, "1d": 3}, "7d") is None  # a mark no settings name is skipped


def test_a_growing_account_does_not_make_its_recent_slots_look_better() -> None:
    # Sunday 21:00 for the first 13 weeks, then Tuesday 19:00: the account tripled meanwhile,
    # both slots reach the same share of its audience
    early = history(range(13), {(SUN, T21): 1.0}, growth=0.09)
    late = history(range(13, 26), {(TUE, T19): 1.0}, growth=0.09)
    posts = [PostReach(i, p.at, p.reach, p.mark) for i, p in enumerate(early + late, 1)]
    raw_sun = sorted(p.reach for p in early)[6]
    raw_tue = sorted(p.reach for p in late)[6]
    assert raw_tue > 2.5 * raw_sun  # raw reach says Tuesday is far better
    table = {(s.weekday, s.hour): s for s in slot_table(trend_ratios(posts), WIB, 4)}
    sun, tue = table[(SUN, 21)], table[(TUE, 19)]
    assert sun.posts == tue.posts == 13
    assert sun.index is not None and tue.index is not None
    assert 0.9 <= sun.index <= 1.1 and 0.9 <= tue.index <= 1.1
    advice = advise(posts, [(SUN, T21)], WIB, 4)
    assert advice.weakest is not None and advice.alternative is not None
    assert not advice.replaces()  # no clear gain once the growth is taken out


@settings(max_examples=60, deadline=None)
@given(
    growth=st.floats(min_value=-0.03, max_value=0.08),
    strong=st.floats(min_value=1.3, max_value=3.0),
    weeks=st.integers(min_value=6, max_value=26),
)
def test_the_better_slot_wins_whatever_the_trend(growth: float, strong: float, weeks: int) -> None:
    posts = history(range(weeks), {(TUE, T19): strong, (SUN, T21): 1.0}, growth=growth)
    advice = advise(posts, [(TUE, T19), (SUN, T21)], WIB, 4)
    table = {(s.weekday, s.hour): s for s in advice.slots}
    tue, sun = table[(TUE, 19)].index, table[(SUN, 21)].index
    assert tue is not None and sun is not None
    assert tue > sun
    # the index compares slots as the factors do, within 10% even when the account grows
    # sevenfold over the half-year (8% a week)
    assert tue / sun == pytest.approx(strong, rel=0.1)
    assert advice.weakest is not None and (advice.weakest.weekday, advice.weakest.time) == (
        SUN,
        T21,
    )
    assert advice.alternative is None  # every slot with history is already a current one


def test_a_slot_below_the_minimum_has_no_index_and_says_what_it_needs() -> None:
    posts = history(range(3), {(TUE, T19): 1.0}) + [
        PostReach(100 + w, at(w, SUN, T21), 900, "7d") for w in range(6)
    ]
    advice = advise(posts, [(TUE, T19), (SUN, T21)], WIB, 4)
    tue = next(s for s in advice.slots if s.weekday == TUE)
    assert tue.posts == 3 and tue.index is None and not tue.enough
    assert [s.weekday for s in advice.shown] == [SUN]
    assert advice.thin_notes() == ["3 posts on Tuesdays 19:00, needs 4"]
    assert advice.weakest is not None and advice.weakest.weekday == SUN


def test_no_history_says_nothing() -> None:
    advice = advise([], [(TUE, T19)], WIB, 4)
    assert advice.slots == () and advice.shown == () and advice.posts == 0
    assert advice.weakest is None and advice.alternative is None and not advice.replaces()
    assert advice.thin_notes() == ["0 posts on Tuesdays 19:00, needs 4"]
    with pytest.raises(ValueError, match="no weakest"):
        advice.reason()


def test_a_neighbourhood_that_reached_nobody_is_left_out() -> None:
    posts = [PostReach(w + 1, at(w, TUE, T19), 0, "7d") for w in range(8)]
    assert trend_ratios(posts) == []
    assert advise(posts, [(TUE, T19)], WIB, 4).slots == ()


def test_ties_go_to_more_posts_and_the_weakest_needs_enough_posts() -> None:
    # the current slots: Sunday 21:00 (weak, 6 posts) and Monday 08:00 (weaker, only 2 posts);
    # two alternatives reach alike: Tuesday 19:00 over 5 posts, Wednesday 19:00 over 8
    weeks = range(8)
    posts: list[PostReach] = []

    def add(day: int, time: dt.time, reach: int, count: int) -> None:
        for w in list(weeks)[:count]:
            posts.append(PostReach(len(posts) + 1, at(w, day, time), reach, "7d"))

    add(SUN, T21, 500, 6)
    add(0, dt.time(8, 0), 100, 2)
    add(TUE, T19, 1500, 5)
    add(2, T19, 1500, 8)
    advice = advise(posts, [(SUN, T21), (0, dt.time(8, 0))], WIB, 4)
    assert advice.weakest is not None and advice.weakest.weekday == SUN  # Monday is too thin
    assert advice.alternative is not None
    assert (advice.alternative.weekday, advice.alternative.posts) == (2, 8)
    tue = next(s for s in advice.slots if s.weekday == TUE)
    assert tue.index == advice.alternative.index  # a true tie, broken by posts
    assert advice.replaces()
    assert advice.reason() == (
        f"Wednesday 19:00 replaces Sunday 21:00: reach index {advice.alternative.index:.2f} vs "
        f"{advice.weakest.index:.2f} over 8 and 6 posts"
    )
    assert advice.reason("id").startswith("Rabu 19.00 menggantikan Minggu 21.00: indeks jangkauan")


def test_the_margin_is_ten_percent() -> None:
    assert pytest.approx(1.10) == REPLACE_MARGIN
    weeks = range(10)
    for gain, replaces in ((1.05, False), (1.25, True)):
        posts = history(weeks, {(SUN, T21): 1.0, (TUE, T19): gain})
        advice = advise(posts, [(SUN, T21)], WIB, 4)
        assert advice.alternative is not None and advice.alternative.weekday == TUE
        assert advice.replaces() is replaces


def test_the_usual_time_of_an_hour_and_local_weekdays() -> None:
    # 18:30 WIB on Wednesday is 11:30 UTC; a 00:30 WIB Tuesday slot is Monday in UTC
    posts = [PostReach(w + 1, at(w, 2, dt.time(18, 30)), 1000, "7d") for w in range(5)]
    posts += [PostReach(50 + w, at(w, TUE, dt.time(0, 30)), 1000, "7d") for w in range(4)]
    table = {(s.weekday, s.hour): s for s in advise(posts, [], WIB, 4).slots}
    assert table[(2, 18)].time == dt.time(18, 30) and table[(2, 18)].label() == "Wednesday 18:30"
    assert table[(TUE, 0)].posts == 4 and table[(TUE, 0)].label("id") == "Selasa 00.30"


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        PostReach(1, dt.datetime(2026, 1, 1), 5, "7d")
    with pytest.raises(ValueError, match="below zero"):
        PostReach(1, dt.datetime(2026, 1, 1, tzinfo=dt.UTC), -5, "7d")
    with pytest.raises(ValueError, match="min_posts"):
        slot_table([], WIB, 0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=26 * 7 * 24 - 1),
            st.integers(min_value=0, max_value=10**7),
        ),
        max_size=60,
    ),
    st.integers(min_value=2, max_value=6),
)
def test_any_history_gives_a_consistent_table(raw: list[tuple[int, int]], min_posts: int) -> None:
    start = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    posts = [
        PostReach(i, start + dt.timedelta(hours=h), reach, "7d") for i, (h, reach) in enumerate(raw)
    ]
    advice = advise(posts, [(TUE, T19), (SUN, T21)], WIB, min_posts)
    assert sum(s.posts for s in advice.slots) <= len(posts)
    for stat in advice.slots:
        assert stat.enough == (stat.posts >= min_posts)
        assert stat.index is None or stat.index >= 0
    indexed = [s.index for s in advice.shown]
    assert indexed == sorted(indexed, reverse=True)  # type: ignore[type-var]
    if advice.alternative is not None:
        assert advice.alternative.enough
        assert (advice.alternative.weekday, advice.alternative.hour) not in {(TUE, 19), (SUN, 21)}
    if advice.weakest is not None:
        assert advice.weakest.index is not None
    if advice.replaces():
        assert advice.alternative is not None and advice.weakest is not None
        assert advice.alternative.index >= advice.weakest.index * REPLACE_MARGIN  # type: ignore[operator]
