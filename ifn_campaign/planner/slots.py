"""Slot calendars: a campaign's weekly local times expanded into UTC slots for a time window.

Holiday and blackout decisions use the slot's LOCAL date: a 00:30 WIB slot on Tuesday is Monday
17:30 UTC, and a holiday on Tuesday is what applies to it. Blackout dates are always skipped and
never moved onto. With `holidays = "move"` a slot on a holiday goes to the next working day
(Monday to Friday, not a holiday, not blackout) at the same local time, unless that is after the
campaign ends or a slot of the same channel and account is already there.

Each original slot is decided on its own, then the results are filtered to [start, end), so
consecutive windows give the same slots as one long window: a slot moved from before `start` into
the window appears in it, and a skip is reported in the window holding the original time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache

import holidays as holidays_lib

from ifn_campaign.channels.channel import Channel
from ifn_campaign.planner.campaign import Campaign, HolidayRule

__all__ = ["SkippedSlot", "Slot", "SlotCalendar", "campaign_slots", "holiday_names", "next_slots"]

UTC = dt.UTC
_ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, order=True)
class Slot:
    """One post time of one campaign on one channel and account."""

    at: dt.datetime  # aware, UTC; the sort key
    channel: Channel
    account: str
    campaign: str
    template: str
    local: dt.datetime  # aware, in the campaign's timezone
    moved_from: dt.date | None = None  # the original local date when moved off a holiday


@dataclass(frozen=True)
class SkippedSlot:
    """A slot that was not kept, with the reason in Indonesian and English for staff."""

    local: dt.datetime
    channel: Channel
    account: str
    reason_id: str
    reason_en: str


@dataclass
class SlotCalendar:
    slots: list[Slot] = field(default_factory=list)
    skipped: list[SkippedSlot] = field(default_factory=list)


@lru_cache(maxsize=256)
def _year_holidays(year: int, categories: tuple[str, ...]) -> dict[dt.date, tuple[str, str]]:
    """Indonesian holidays of one year: date -> (Indonesian name, English name)."""
    if not categories:
        return {}
    names_id = holidays_lib.country_holidays("ID", years=year, categories=categories, language="id")
    names_en = holidays_lib.country_holidays(
        "ID", years=year, categories=categories, language="en_US"
    )
    return {day: (name, names_en.get(day, name)) for day, name in names_id.items()}


def holiday_names(day: dt.date, categories: tuple[str, ...]) -> tuple[str, str] | None:
    """(Indonesian, English) names of the holidays on a date, or None on an ordinary day."""
    return _year_holidays(day.year, tuple(sorted(categories))).get(day)


class _Days:
    """Holiday, blackout and next-working-day answers for one campaign, memoised per call."""

    def __init__(self, campaign: Campaign) -> None:
        self.campaign = campaign
        self.categories = tuple(sorted(campaign.holiday_categories))
        self.use_holidays = campaign.holidays is not HolidayRule.IGNORE
        self._blackout: dict[dt.date, bool] = {}
        self._next: dict[dt.date, dt.date] = {}

    def holiday(self, day: dt.date) -> tuple[str, str] | None:
        return holiday_names(day, self.categories) if self.use_holidays else None

    def blackout(self, day: dt.date) -> bool:
        known = self._blackout.get(day)
        if known is None:
            known = self._blackout[day] = self.campaign.is_blackout(day)
        return known

    def working(self, day: dt.date) -> bool:
        return day.weekday() < 5 and not self.blackout(day) and self.holiday(day) is None

    def next_working(self, day: dt.date) -> dt.date:
        """The first working day after `day`."""
        found = self._next.get(day)
        if found is None:
            found = day + _ONE_DAY
            while not self.working(found):
                found += _ONE_DAY
            self._next[day] = found
        return found

    def last_working_before(self, day: dt.date, floor: dt.date) -> dt.date:
        """The latest working day before `day` (not before `floor`): no slot from an earlier
        date can be moved to `day` or later, since it would stop there first."""
        found = day - _ONE_DAY
        while found > floor and not self.working(found):
            found -= _ONE_DAY
        return max(found, floor)


def _aware(moment: dt.datetime, name: str) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (e.g. UTC), got {moment!r}")
    return moment.astimezone(UTC)


def _at(day: dt.date, time: dt.time, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """(UTC, local) of a wall-clock time; a time in a DST gap becomes the real one after it."""
    at = dt.datetime.combine(day, time, tzinfo=zone).astimezone(UTC)
    return at, at.astimezone(zone)


def campaign_slots(campaign: Campaign, start: dt.datetime, end: dt.datetime) -> SlotCalendar:
    """Every slot of the campaign with start <= at < end, sorted by (at, channel, account), and
    the slots skipped in that window with their reasons."""
    start, end = _aware(start, "start"), _aware(end, "end")
    calendar = SlotCalendar()
    if end <= start:
        return calendar
    zone = campaign.zone
    days = _Days(campaign)
    first = max(campaign.start, start.astimezone(zone).date())
    last = end.astimezone(zone).date()
    if campaign.end is not None:
        last = min(last, campaign.end)
    if first > last:
        return calendar
    if campaign.holidays is HolidayRule.MOVE:
        first = days.last_working_before(first, campaign.start)

    by_weekday: list[list[tuple[Channel, str, str, dt.time]]] = [[] for _ in range(7)]
    regular: set[tuple[Channel, str, int, dt.time]] = set()
    for plan in campaign.channels:
        template = plan.template or campaign.template
        for rule in plan.slots:
            for weekday in rule.days:
                by_weekday[weekday].append((plan.channel, plan.account, template, rule.time))
                regular.add((plan.channel, plan.account, weekday, rule.time))

    taken: set[tuple[Channel, str, dt.datetime]] = set()  # where moved slots already landed
    emitted: set[tuple[Channel, str, dt.datetime]] = set()
    day = first
    while day <= last:
        todo = by_weekday[day.weekday()]
        if not todo:
            day += _ONE_DAY
            continue
        blackout = days.blackout(day)
        holiday = None if blackout else days.holiday(day)
        for channel, account, template, time in todo:
            at, local = _at(day, time, zone)
            if not blackout and holiday is None:
                if (channel, account, at) in emitted:  # two wall-clock times in one DST gap
                    reason = ("dipindah ke slot yang sudah ada", "moved onto an existing slot")
                    calendar.skipped.append(SkippedSlot(local, channel, account, *reason))
                elif start <= at < end:
                    emitted.add((channel, account, at))
                    slot = Slot(at, channel, account, campaign.name, template, local)
                    calendar.slots.append(slot)
                continue
            if blackout:
                reason = ("tanggal blackout", "blackout date")
            else:
                assert holiday is not None
                name_id, name_en = holiday
                reason = (f"hari libur: {name_id}", f"holiday: {name_en}")
            if campaign.holidays is HolidayRule.MOVE and not blackout:
                target = days.next_working(day)
                moved_at, moved_local = _at(target, time, zone)
                if campaign.end is not None and target > campaign.end:
                    reason = (
                        f"{reason[0]}; tidak ada hari kerja sebelum kampanye berakhir",
                        f"{reason[1]}; no working day left before the campaign ends",
                    )
                elif (
                    (channel, account, target.weekday(), time) in regular
                    or (channel, account, moved_at) in taken
                    or (channel, account, moved_at) in emitted
                ):
                    reason = ("dipindah ke slot yang sudah ada", "moved onto an existing slot")
                else:
                    taken.add((channel, account, moved_at))
                    if start <= moved_at < end:
                        emitted.add((channel, account, moved_at))
                        slot = Slot(
                            moved_at, channel, account, campaign.name, template, moved_local, day
                        )
                        calendar.slots.append(slot)
                    continue
            if start <= at < end:
                calendar.skipped.append(SkippedSlot(local, channel, account, *reason))
        day += _ONE_DAY

    calendar.slots.sort(key=lambda s: (s.at, s.channel, s.account))
    calendar.skipped.sort(key=lambda s: (s.local.astimezone(UTC), s.channel, s.account))
    return calendar


def next_slots(
    campaign: Campaign, now: dt.datetime, count: int = 10, *, weeks: int = 8
) -> SlotCalendar:
    """The campaign's next `count` slots after `now` (from its first day when it starts later),
    looking at most `weeks` ahead, and the slots skipped up to the last one shown (all those in
    the window when fewer are found): what staff check after editing a campaign file."""
    now = _aware(now, "now")
    opening = dt.datetime.combine(campaign.start, dt.time(), campaign.zone).astimezone(UTC)
    start = max(now, opening)
    found = campaign_slots(campaign, start, start + dt.timedelta(weeks=weeks))
    slots = [slot for slot in found.slots if slot.at > now][:count]
    if len(slots) == count:
        last = slots[-1].local.astimezone(UTC)
        skipped = [s for s in found.skipped if s.local.astimezone(UTC) <= last]
    else:
        skipped = found.skipped
    return SlotCalendar(slots=slots, skipped=skipped)
