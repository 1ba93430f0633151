"""Slot calendars: weekly local times to UTC, holidays and blackout decided on the local date."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ifn_campaign.channels.channel import Channel
from ifn_campaign.planner.campaign import Campaign, default_campaigns_dir, load_campaign
from ifn_campaign.planner.slots import Slot, SlotCalendar, campaign_slots, holiday_names

UTC = dt.UTC
WIB = ZoneInfo("Asia/Jakarta")
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def wib(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=WIB)  # type: ignore[misc]


def make(*channels: dict[str, Any], **fields: Any) -> Campaign:
    """A campaign from the same data a TOML file holds."""
    data: dict[str, Any] = {
        "name": "uji",
        "title": "Uji",
        "start": dt.date(2026, 1, 1),
        "holidays": "ignore",
        "channels": list(channels),
    }
    data.update(fields)
    return Campaign.model_validate(data, context={"source": "toml"})


def plan(channel: str, days: list[str], at: str, **extra: Any) -> dict[str, Any]:
    return {"channel": channel, "slots": [{"days": days, "time": at}], **extra}


def locals_(calendar: SlotCalendar) -> list[dt.datetime]:
    return [s.local.replace(tzinfo=None) for s in calendar.slots]


def skipped(calendar: SlotCalendar) -> list[tuple[dt.datetime, str, str]]:
    return [(s.local.replace(tzinfo=None), s.reason_id, s.reason_en) for s in calendar.skipped]


# -- expansion and time zones -----------------------------------------------------------------


def test_weekly_expansion() -> None:
    campaign = make(
        plan("instagram", ["selasa", "kamis"], "19:00"),
        plan("facebook", ["rabu"], "18:30"),
        start=dt.date(2026, 12, 1),
    )
    calendar = campaign_slots(campaign, utc(2026, 12, 1), utc(2026, 12, 15))
    assert [(s.local.date().day, s.channel) for s in calendar.slots] == [
        (1, Channel.INSTAGRAM),
        (2, Channel.FACEBOOK),
        (3, Channel.INSTAGRAM),
        (8, Channel.INSTAGRAM),
        (9, Channel.FACEBOOK),
        (10, Channel.INSTAGRAM),
        # Tuesday 15th 19:00 WIB is 12:00 UTC, after the window's end
    ]
    assert calendar.skipped == []
    assert {s.campaign for s in calendar.slots} == {"uji"}
    assert {s.account for s in calendar.slots} == {"bpipi"}


def test_wib_is_stored_as_utc() -> None:
    campaign = make(plan("instagram", ["tue"], "19:00"))
    [slot] = campaign_slots(campaign, utc(2026, 12, 1), utc(2026, 12, 2)).slots
    assert slot.at == utc(2026, 12, 1, 12, 0)
    assert slot.at.utcoffset() == dt.timedelta(0)
    assert slot.local == wib(2026, 12, 1, 19, 0)
    assert slot.local.tzinfo == WIB
    assert slot.moved_from is None


def test_other_time_zones() -> None:
    wit = make(plan("instagram", ["tue"], "19:00"), timezone="Asia/Jayapura")
    [slot] = campaign_slots(wit, utc(2026, 12, 1), utc(2026, 12, 2)).slots
    assert slot.at == utc(2026, 12, 1, 10, 0)
    # zoneinfo, not a fixed offset: the same wall-clock time moves in UTC across DST
    ams = make(plan("facebook", ["mon"], "19:00"), timezone="Europe/Amsterdam")
    ats = [s.at for s in campaign_slots(ams, utc(2026, 3, 23), utc(2026, 4, 1)).slots]
    assert ats == [utc(2026, 3, 23, 18, 0), utc(2026, 3, 30, 17, 0)]


def test_two_times_in_one_dst_gap_make_one_slot() -> None:
    # 2026-03-29 02:00 in Amsterdam jumps to 03:00: 02:30 does not exist and becomes 03:30
    rules = [{"days": ["sun"], "time": "02:30"}, {"days": ["sun"], "time": "03:30"}]
    ams = make({"channel": "instagram", "slots": rules}, timezone="Europe/Amsterdam")
    calendar = campaign_slots(ams, utc(2026, 3, 28), utc(2026, 3, 30))
    assert [s.at for s in calendar.slots] == [utc(2026, 3, 29, 1, 30)]
    assert [s.reason_en for s in calendar.skipped] == ["moved onto an existing slot"]


def test_the_window_is_any_aware_timezone_and_half_open() -> None:
    campaign = make(plan("instagram", ["tue"], "19:00"))
    at = wib(2026, 12, 1, 19, 0)
    assert len(campaign_slots(campaign, at, at + dt.timedelta(minutes=1)).slots) == 1
    assert campaign_slots(campaign, at - dt.timedelta(minutes=1), at).slots == []
    assert campaign_slots(campaign, at, at).slots == []
    assert campaign_slots(campaign, at, at - dt.timedelta(days=1)).slots == []


def test_naive_datetimes_are_refused() -> None:
    campaign = make(plan("instagram", ["tue"], "19:00"))
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        campaign_slots(campaign, dt.datetime(2026, 12, 1), utc(2026, 12, 2))
    with pytest.raises(ValueError, match="end must be timezone-aware"):
        campaign_slots(campaign, utc(2026, 12, 1), dt.datetime(2026, 12, 2))


# -- the midnight edge: holidays and blackout use the LOCAL date ------------------------------


def test_half_past_midnight_wib_is_the_previous_day_in_utc() -> None:
    campaign = make(plan("instagram", ["selasa"], "00:30"), holidays="skip")
    # 2026-08-17 (Monday) is Independence Day; the Tuesday 00:30 slot is Monday 17:30 UTC
    calendar = campaign_slots(campaign, utc(2026, 8, 17), utc(2026, 8, 18))
    [slot] = calendar.slots
    assert slot.at == utc(2026, 8, 17, 17, 30)
    assert slot.local == wib(2026, 8, 18, 0, 30)
    assert calendar.skipped == []


def test_a_holiday_on_the_local_day_applies_to_a_midnight_slot() -> None:
    campaign = make(plan("instagram", ["selasa"], "00:30"), holidays="skip")
    # 2026-08-25 (Tuesday) is Maulid Nabi Muhammad; its 00:30 slot is Monday 17:30 UTC
    calendar = campaign_slots(campaign, utc(2026, 8, 24), utc(2026, 8, 25))
    assert calendar.slots == []
    assert skipped(calendar) == [
        (
            dt.datetime(2026, 8, 25, 0, 30),
            "hari libur: Maulid Nabi Muhammad",
            "holiday: Prophet's Birthday",
        )
    ]


def test_a_blackout_on_the_local_day_applies_to_a_midnight_slot() -> None:
    on_tuesday = make(plan("instagram", ["tue"], "00:30"), blackout=[dt.date(2026, 12, 8)])
    on_monday = make(plan("instagram", ["tue"], "00:30"), blackout=[dt.date(2026, 12, 7)])
    window = (utc(2026, 12, 7), utc(2026, 12, 8))
    assert campaign_slots(on_tuesday, *window).slots == []
    assert skipped(campaign_slots(on_tuesday, *window)) == [
        (dt.datetime(2026, 12, 8, 0, 30), "tanggal blackout", "blackout date")
    ]
    assert locals_(campaign_slots(on_monday, *window)) == [dt.datetime(2026, 12, 8, 0, 30)]


# -- holiday rules on real 2026 dates ---------------------------------------------------------

CHRISTMAS_WEEK = (utc(2026, 12, 21), utc(2026, 12, 31))  # Mon 21st to Wed 30th, WIB


def test_skip_a_holiday() -> None:
    campaign = make(plan("youtube", ["jumat"], "17:00"), holidays="skip")
    calendar = campaign_slots(campaign, *CHRISTMAS_WEEK)
    assert calendar.slots == []
    assert skipped(calendar) == [
        (dt.datetime(2026, 12, 25, 17, 0), "hari libur: Hari Raya Natal", "holiday: Christmas Day")
    ]
    assert calendar.skipped[0].channel is Channel.YOUTUBE
    assert calendar.skipped[0].account == "bpipi"
    assert calendar.skipped[0].local.tzinfo == WIB


def test_move_a_holiday_to_the_next_working_day() -> None:
    campaign = make(plan("youtube", ["jumat"], "17:00"), holidays="move")
    calendar = campaign_slots(campaign, *CHRISTMAS_WEEK)
    [slot] = calendar.slots
    assert slot.local == wib(2026, 12, 28, 17, 0)  # Monday, after the weekend
    assert slot.at == utc(2026, 12, 28, 10, 0)
    assert slot.moved_from == dt.date(2026, 12, 25)
    assert calendar.skipped == []


def test_ignore_a_holiday() -> None:
    campaign = make(plan("youtube", ["jumat"], "17:00"), holidays="ignore")
    assert locals_(campaign_slots(campaign, *CHRISTMAS_WEEK)) == [dt.datetime(2026, 12, 25, 17, 0)]


def test_cuti_bersama_counts_only_with_the_government_category() -> None:
    thursday = plan("instagram", ["kamis"], "19:00")
    with_leave = make(thursday, holidays="skip")
    public_only = make(thursday, holidays="skip", holiday_categories=["public"])
    assert skipped(campaign_slots(with_leave, *CHRISTMAS_WEEK)) == [
        (
            dt.datetime(2026, 12, 24, 19, 0),
            "hari libur: Cuti Bersama Hari Raya Natal",
            "holiday: Christmas Joint Holiday",
        )
    ]
    assert locals_(campaign_slots(public_only, *CHRISTMAS_WEEK)) == [dt.datetime(2026, 12, 24, 19)]


def test_move_skips_over_following_holidays_and_the_weekend() -> None:
    # Thursday 24th (cuti bersama) -> not Friday 25th (Natal) -> Monday 28th
    campaign = make(plan("instagram", ["kamis"], "19:00"), holidays="move")
    [slot] = campaign_slots(campaign, *CHRISTMAS_WEEK).slots
    assert (slot.local, slot.moved_from) == (wib(2026, 12, 28, 19, 0), dt.date(2026, 12, 24))


def test_independence_day_moves_a_monday_slot_to_tuesday() -> None:
    campaign = make(plan("facebook", ["senin"], "18:30"), holidays="move")
    [slot] = campaign_slots(campaign, utc(2026, 8, 16), utc(2026, 8, 22)).slots
    assert slot.local == wib(2026, 8, 18, 18, 30)
    assert slot.moved_from == dt.date(2026, 8, 17)


def test_a_weekend_slot_stays_on_the_weekend() -> None:
    campaign = make(plan("instagram", ["sabtu"], "10:00"), holidays="move")
    assert locals_(campaign_slots(campaign, utc(2026, 12, 1), utc(2026, 12, 8))) == [
        dt.datetime(2026, 12, 5, 10, 0)
    ]


def test_a_move_past_the_campaign_end_is_skipped() -> None:
    campaign = make(
        plan("instagram", ["kamis"], "19:00"), holidays="move", end=dt.date(2026, 12, 27)
    )
    calendar = campaign_slots(campaign, *CHRISTMAS_WEEK)
    assert calendar.slots == []
    assert skipped(calendar) == [
        (
            dt.datetime(2026, 12, 24, 19, 0),
            "hari libur: Cuti Bersama Hari Raya Natal; "
            "tidak ada hari kerja sebelum kampanye berakhir",
            "holiday: Christmas Joint Holiday; no working day left before the campaign ends",
        )
    ]


def test_a_move_onto_an_existing_slot_is_dropped() -> None:
    campaign = make(plan("youtube", ["senin", "jumat"], "17:00"), holidays="move")
    calendar = campaign_slots(campaign, *CHRISTMAS_WEEK)
    assert locals_(calendar) == [dt.datetime(2026, 12, 21, 17), dt.datetime(2026, 12, 28, 17)]
    assert all(s.moved_from is None for s in calendar.slots)
    assert skipped(calendar) == [
        (
            dt.datetime(2026, 12, 25, 17),
            "dipindah ke slot yang sudah ada",
            "moved onto an existing slot",
        )
    ]


def test_two_moves_onto_the_same_day_keep_the_first() -> None:
    campaign = make(plan("instagram", ["kamis", "jumat"], "19:00"), holidays="move")
    calendar = campaign_slots(campaign, *CHRISTMAS_WEEK)
    assert [(s.local.date(), s.moved_from) for s in calendar.slots] == [
        (dt.date(2026, 12, 28), dt.date(2026, 12, 24))
    ]
    assert [s.local.date() for s in calendar.skipped] == [dt.date(2026, 12, 25)]
    assert calendar.skipped[0].reason_en == "moved onto an existing slot"


def test_a_move_onto_another_channels_time_is_kept() -> None:
    campaign = make(
        plan("youtube", ["jumat"], "17:00"),
        plan("facebook", ["senin"], "17:00"),
        holidays="move",
    )
    calendar = campaign_slots(campaign, utc(2026, 12, 28), utc(2026, 12, 29))
    assert [(s.channel, s.local) for s in calendar.slots] == [
        (Channel.FACEBOOK, wib(2026, 12, 28, 17)),
        (Channel.YOUTUBE, wib(2026, 12, 28, 17)),
    ]


# -- blackout -------------------------------------------------------------------------------


def test_blackout_dates_and_ranges_are_skipped() -> None:
    campaign = make(
        plan("instagram", ALL_DAYS, "12:12"),
        blackout=[dt.date(2026, 12, 3), {"from": dt.date(2026, 12, 5), "to": dt.date(2026, 12, 7)}],
    )
    calendar = campaign_slots(campaign, utc(2026, 12, 1), utc(2026, 12, 10))
    assert [s.local.day for s in calendar.slots] == [1, 2, 4, 8, 9]
    assert [(s.local.day, s.reason_id, s.reason_en) for s in calendar.skipped] == [
        (day, "tanggal blackout", "blackout date") for day in (3, 5, 6, 7)
    ]


def test_blackout_wins_over_a_holiday_and_is_never_moved() -> None:
    campaign = make(
        plan("youtube", ["jumat"], "17:00"), holidays="move", blackout=[dt.date(2026, 12, 25)]
    )
    calendar = campaign_slots(campaign, *CHRISTMAS_WEEK)
    assert calendar.slots == []
    assert [s.reason_en for s in calendar.skipped] == ["blackout date"]


def test_a_move_never_lands_on_a_blackout_date() -> None:
    campaign = make(
        plan("youtube", ["jumat"], "17:00"),
        holidays="move",
        blackout=[{"from": dt.date(2026, 12, 28), "to": dt.date(2026, 12, 29)}],
    )
    [slot] = campaign_slots(campaign, *CHRISTMAS_WEEK).slots
    assert (slot.local, slot.moved_from) == (wib(2026, 12, 30, 17), dt.date(2026, 12, 25))


def test_blackout_applies_with_holidays_ignored() -> None:
    campaign = make(
        plan("youtube", ["jumat"], "17:00"), holidays="ignore", blackout=[dt.date(2026, 12, 25)]
    )
    assert campaign_slots(campaign, *CHRISTMAS_WEEK).slots == []


# -- clipping -------------------------------------------------------------------------------


def test_clipped_to_the_campaign_dates() -> None:
    campaign = make(
        plan("instagram", ALL_DAYS, "19:00"),
        start=dt.date(2026, 12, 3),
        end=dt.date(2026, 12, 5),
    )
    calendar = campaign_slots(campaign, utc(2026, 11, 1), utc(2027, 1, 1))
    assert [s.local.day for s in calendar.slots] == [3, 4, 5]


def test_campaign_dates_are_local_dates() -> None:
    campaign = make(
        plan("instagram", ALL_DAYS, "00:30"),
        start=dt.date(2026, 12, 3),
        end=dt.date(2026, 12, 5),
    )
    calendar = campaign_slots(campaign, utc(2026, 11, 1), utc(2027, 1, 1))
    assert [s.at for s in calendar.slots] == [
        utc(2026, 12, 2, 17, 30),  # the start date's 00:30 WIB, still the 2nd in UTC
        utc(2026, 12, 3, 17, 30),
        utc(2026, 12, 4, 17, 30),
    ]


def test_an_open_ended_campaign_runs_to_the_window_end() -> None:
    campaign = make(plan("instagram", ["tue"], "19:00"), start=dt.date(2026, 12, 1))
    calendar = campaign_slots(campaign, utc(2026, 1, 1), utc(2027, 12, 1))
    tuesdays = [dt.date(2026, 12, 1) + dt.timedelta(weeks=n) for n in range(60)]
    assert len(calendar.slots) == len([d for d in tuesdays if d < dt.date(2027, 12, 1)]) == 53
    assert calendar.slots[0].local == wib(2026, 12, 1, 19)
    assert calendar.slots[-1].local == wib(2027, 11, 30, 19)


def test_a_slot_moved_in_from_before_the_window_is_in_it() -> None:
    campaign = make(plan("instagram", ["kamis"], "19:00"), holidays="move")
    calendar = campaign_slots(campaign, utc(2026, 12, 26), utc(2026, 12, 31))
    [slot] = calendar.slots
    assert (slot.local, slot.moved_from) == (wib(2026, 12, 28, 19), dt.date(2026, 12, 24))
    assert calendar.skipped == []  # the original time is not in this window
    before = campaign_slots(campaign, utc(2026, 12, 21), utc(2026, 12, 26))
    assert before.slots == [] and before.skipped == []


def test_a_move_is_not_taken_from_before_the_campaign_start() -> None:
    campaign = make(
        plan("instagram", ["kamis"], "19:00"), holidays="move", start=dt.date(2026, 12, 26)
    )
    assert campaign_slots(campaign, *CHRISTMAS_WEEK).slots == []


# -- order -----------------------------------------------------------------------------------


def test_sorted_by_time_channel_account() -> None:
    campaign = make(
        plan("instagram", ["tue"], "19:00", account="bpipi"),
        plan("instagram", ["tue"], "19:00", account="ifn-official"),
        plan("facebook", ["tue"], "19:00", account="ifn-official"),
        plan("youtube", ["tue"], "17:00", template="sorotan-logo"),
        template="sorotan",
    )
    calendar = campaign_slots(campaign, utc(2026, 12, 1), utc(2026, 12, 2))
    assert [(s.at.hour, s.channel.value, s.account, s.template) for s in calendar.slots] == [
        (10, "youtube", "bpipi", "sorotan-logo"),
        (12, "facebook", "ifn-official", "sorotan"),
        (12, "instagram", "bpipi", "sorotan"),
        (12, "instagram", "ifn-official", "sorotan"),
    ]
    assert calendar.slots == sorted(calendar.slots)


# -- the shipped campaigns ------------------------------------------------------------------


def test_ramadan_2027_begins_before_midnight_utc_and_respects_lebaran() -> None:
    campaign = load_campaign(default_campaigns_dir() / "ramadan-2027.toml")
    calendar = campaign_slots(campaign, utc(2027, 1, 1), utc(2027, 4, 1))
    first = calendar.slots[0]
    assert (first.at, first.local) == (utc(2027, 2, 7, 17, 30), wib(2027, 2, 8, 0, 30))
    dates = {s.local.date() for s in calendar.slots}
    assert max(dates) == dt.date(2027, 3, 4)  # blackout 5-7 March, Nyepi 8th, cuti bersama 9th
    assert {s.reason_en for s in calendar.skipped} == {
        "blackout date",
        "holiday: Day of Silence",
        "holiday: Eid al-Fitr Joint Holiday",
    }
    youtube = [s for s in calendar.slots if s.channel is Channel.YOUTUBE]
    assert youtube and {s.template for s in youtube} == {"sorotan-logo"}


def test_sorotan_and_harbolnas_share_the_account_in_december(tmp_path: Path) -> None:
    sorotan = load_campaign(default_campaigns_dir() / "sorotan-anggota.toml")
    harbolnas = load_campaign(default_campaigns_dir() / "harbolnas-1212.toml")
    window = (utc(2026, 11, 30), utc(2027, 1, 1))
    h = campaign_slots(harbolnas, *window).slots
    s = campaign_slots(sorotan, *window).slots
    assert len(h) == 24 and h[0].local == wib(2026, 12, 1, 12, 12)
    assert h[-1].local == wib(2026, 12, 12, 20, 0)
    moved = {(x.channel, x.moved_from, x.local.date()) for x in s if x.moved_from}
    assert moved == {
        (Channel.INSTAGRAM, dt.date(2026, 12, 24), dt.date(2026, 12, 28)),
        (Channel.YOUTUBE, dt.date(2026, 12, 25), dt.date(2026, 12, 28)),
    }


# -- speed -----------------------------------------------------------------------------------


def test_a_year_of_thousands_of_slots_keeps_every_rule() -> None:
    """Three slots a day on three channels for a year, with holidays moved and a blackout: the
    rules hold at scale (how fast is bench/plan_bench.py's business, not a unit test's)."""
    times = ("08:00", "12:00", "19:00")
    busy = [
        {"channel": c, "slots": [{"days": ALL_DAYS, "time": t} for t in times]}
        for c in ("instagram", "facebook", "youtube")
    ]
    campaign = make(
        *busy, holidays="move", blackout=[{"from": dt.date(2027, 3, 5), "to": dt.date(2027, 3, 14)}]
    )
    calendar = campaign_slots(campaign, utc(2027, 1, 1), utc(2028, 1, 1))
    assert len(calendar.slots) > 3000
    keys = [(slot.channel, slot.at) for slot in calendar.slots]
    assert len(keys) == len(set(keys))
    assert [slot.at for slot in calendar.slots] == sorted(slot.at for slot in calendar.slots)
    blacked_out = [
        s for s in calendar.slots if dt.date(2027, 3, 5) <= s.local.date() <= dt.date(2027, 3, 14)
    ]
    assert blacked_out == []


# -- properties ------------------------------------------------------------------------------

_days = st.lists(st.sampled_from(ALL_DAYS), min_size=1, max_size=7, unique=True)
_times = st.times().map(lambda t: f"{t:%H:%M}")
_dates = st.dates(dt.date(2026, 1, 1), dt.date(2027, 12, 31))


@st.composite
def campaigns(draw: st.DrawFn) -> Campaign:
    channels = []
    for channel in draw(
        st.lists(
            st.sampled_from(["instagram", "facebook", "youtube"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    ):
        rules = draw(
            st.lists(st.tuples(_days, _times), min_size=1, max_size=3, unique_by=lambda r: r[1])
        )
        channels.append({"channel": channel, "slots": [{"days": d, "time": t} for d, t in rules]})
    start = draw(_dates)
    end = draw(st.none() | st.integers(0, 120).map(lambda n: start + dt.timedelta(days=n)))
    blackout: list[Any] = []
    for first in draw(st.lists(_dates, max_size=4)):
        length = draw(st.integers(0, 6))
        blackout.append(
            first if length == 0 else {"from": first, "to": first + dt.timedelta(days=length)}
        )
    return make(
        *channels,
        start=start,
        end=end,
        blackout=blackout,
        holidays=draw(st.sampled_from(["skip", "move", "ignore"])),
        holiday_categories=draw(st.sampled_from([["public", "government"], ["public"], []])),
        timezone=draw(st.sampled_from(["Asia/Jakarta", "Asia/Jayapura", "Europe/Amsterdam"])),
    )


_moments = st.datetimes(dt.datetime(2025, 12, 1), dt.datetime(2028, 1, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(campaign=campaigns(), start=_moments, length=st.integers(0, 24 * 200))
def test_every_slot_is_allowed_in_range_and_unique(
    campaign: Campaign, start: dt.datetime, length: int
) -> None:
    end = start + dt.timedelta(hours=length)
    calendar = campaign_slots(campaign, start, end)
    zone = ZoneInfo(campaign.timezone)
    keys = [(s.at, s.channel, s.account) for s in calendar.slots]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    for slot in calendar.slots:
        day = slot.local.date()
        assert start <= slot.at < end
        assert slot.at.utcoffset() == dt.timedelta(0)
        assert slot.local.astimezone(UTC) == slot.at and slot.local.tzinfo == zone
        assert campaign.start <= day and (campaign.end is None or day <= campaign.end)
        assert not campaign.is_blackout(day)
        if campaign.holidays != "ignore":
            assert holiday_names(day, tuple(campaign.holiday_categories)) is None
        if slot.moved_from is not None:
            assert campaign.holidays == "move"
            assert campaign.start <= slot.moved_from < day and day.weekday() < 5
    for skip in calendar.skipped:
        assert start <= skip.local.astimezone(UTC) < end


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(campaign=campaigns(), start=_moments, cuts=st.lists(st.integers(1, 24 * 90), max_size=4))
def test_consecutive_windows_add_up_to_one(
    campaign: Campaign, start: dt.datetime, cuts: list[int]
) -> None:
    bounds = [start]
    for hours in cuts:
        bounds.append(bounds[-1] + dt.timedelta(hours=hours))
    bounds.append(bounds[-1] + dt.timedelta(days=30))
    pieces: list[Slot] = []
    skips = []
    for a, b in pairwise(bounds):
        window = campaign_slots(campaign, a, b)
        pieces += window.slots
        skips += window.skipped
    whole = campaign_slots(campaign, bounds[0], bounds[-1])
    assert pieces == whole.slots
    assert skips == whole.skipped
