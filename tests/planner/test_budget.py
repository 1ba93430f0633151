"""Account budgets: a post is let in only if no 24-hour window (or Pacific day) overflows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ifn_campaign.config import Settings
from ifn_campaign.planner.budget import PACIFIC, AccountBudget, Budgets, Limit, limits_from

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def worst_window(times: list[datetime]) -> int:
    """Brute force: the most posts in any 24-hour window (windows starting at a post suffice)."""
    return max((sum(s <= t < s + timedelta(hours=24) for t in times) for s in times), default=0)


@settings(max_examples=200, deadline=None)
@given(
    limit=st.integers(1, 4),
    minutes=st.lists(st.integers(0, 4 * 24 * 60), max_size=30),
)
def test_rolling_window_is_never_overfilled_and_never_refuses_needlessly(
    limit: int, minutes: list[int]
) -> None:
    budget = AccountBudget(Limit(limit))
    for m in minutes:
        at = T0 + timedelta(minutes=m)
        fits = budget.fits(at)
        assert fits == (worst_window([*budget.times, at]) <= limit)
        if fits:
            budget.add(at)
    assert worst_window(budget.times) <= limit


def test_pacific_day_and_removal() -> None:
    budget = AccountBudget(Limit(1, PACIFIC))
    friday_morning_wib = datetime(2026, 12, 4, 0, 0, tzinfo=UTC)  # Thu 16:00 in Los Angeles
    budget.add(friday_morning_wib)
    assert not budget.fits(friday_morning_wib + timedelta(hours=7))  # Thu 23:00 Pacific
    assert budget.fits(friday_morning_wib + timedelta(hours=8))  # Fri 00:00 Pacific
    budget.remove(friday_morning_wib)
    assert budget.fits(friday_morning_wib + timedelta(hours=7))


def test_limits_come_from_settings() -> None:
    limits = limits_from(Settings(instagram={"posts_per_24h": 25}, facebook={"posts_per_24h": 0}))
    assert limits["instagram"] == Limit(25)
    assert limits["facebook"] is None
    assert limits["youtube"] == Limit(100, PACIFIC)
    budgets = Budgets(limits)
    budgets.load([("facebook", "bpipi", T0)] * 500)
    assert budgets.account("facebook", "bpipi").fits(T0)  # no cap on Facebook by default
