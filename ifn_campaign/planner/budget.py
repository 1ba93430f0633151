"""How many posts an account can take: Instagram's rolling 24 hours, YouTube's Pacific-time day.

A plan must never put more on an account than the platform accepts, whichever campaign the posts
belong to, so the budget is kept per account and fed every live post on it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ifn_campaign.channels.channel import Channel
from ifn_campaign.config import Settings

DAY = timedelta(hours=24)
PACIFIC = ZoneInfo("America/Los_Angeles")


@dataclass(frozen=True)
class Limit:
    """`count` posts per rolling 24 hours, or per calendar day in `day_zone` when that is set."""

    count: int
    day_zone: ZoneInfo | None = None

    def describe(self) -> tuple[str, str]:
        if self.day_zone is not None:
            return (
                f"{self.count} per hari (waktu Pasifik)",
                f"{self.count} per day (Pacific time)",
            )
        return (f"{self.count} per 24 jam", f"{self.count} per rolling 24 hours")


def limits_from(settings: Settings) -> dict[str, Limit | None]:
    """Per channel; None means no cap."""
    fb = settings.facebook.posts_per_24h
    return {
        Channel.INSTAGRAM: Limit(settings.instagram.posts_per_24h),
        Channel.FACEBOOK: Limit(fb) if fb > 0 else None,
        Channel.YOUTUBE: Limit(settings.youtube.uploads_per_day, PACIFIC),
    }


@dataclass
class AccountBudget:
    """The posts already on one account of one channel, and whether one more fits at a time."""

    limit: Limit | None
    times: list[datetime] = field(default_factory=list)
    per_day: dict[object, int] = field(default_factory=dict)

    def add(self, at: datetime) -> None:
        insort(self.times, at)
        if self.limit is not None and self.limit.day_zone is not None:
            day = at.astimezone(self.limit.day_zone).date()
            self.per_day[day] = self.per_day.get(day, 0) + 1

    def remove(self, at: datetime) -> None:
        i = bisect_left(self.times, at)
        if i < len(self.times) and self.times[i] == at:
            del self.times[i]
            if self.limit is not None and self.limit.day_zone is not None:
                self.per_day[at.astimezone(self.limit.day_zone).date()] -= 1

    def fits(self, at: datetime) -> bool:
        limit = self.limit
        if limit is None:
            return True
        if limit.day_zone is not None:
            return self.per_day.get(at.astimezone(limit.day_zone).date(), 0) < limit.count
        # Every 24-hour window holding `at` must keep room: windows that start at `at` or at an
        # earlier post no more than 24 h before it are the only ones whose count can peak.
        lo = bisect_left(self.times, at - DAY + timedelta(microseconds=1))
        starts = [at, *self.times[lo : bisect_right(self.times, at)]]
        for start in starts:
            a = bisect_left(self.times, start)
            b = bisect_left(self.times, start + DAY)
            inside = b - a + (1 if start <= at < start + DAY else 0)
            if inside > limit.count:
                return False
        return True


class Budgets:
    """Every account's budget, keyed by (channel, account)."""

    def __init__(self, limits: dict[str, Limit | None]) -> None:
        self.limits = limits
        self._accounts: dict[tuple[str, str], AccountBudget] = {}

    def account(self, channel: str, account: str) -> AccountBudget:
        key = (channel, account)
        if key not in self._accounts:
            self._accounts[key] = AccountBudget(self.limits.get(channel))
        return self._accounts[key]

    def load(self, posts: Iterable[tuple[str, str, datetime]]) -> None:
        for channel, account, at in posts:
            self.account(channel, account).add(at)
