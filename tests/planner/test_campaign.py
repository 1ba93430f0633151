"""Campaigns are validated data: every mistake is reported with its file and key path."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ifn_campaign.channels.channel import Channel
from ifn_campaign.errors import ConfigError
from ifn_campaign.planner.campaign import (
    DAY_NAMES,
    Campaign,
    ChannelPlan,
    DateRange,
    HolidayRule,
    SlotRule,
    default_campaigns_dir,
    load_campaign,
    load_campaigns,
)

BASE = """
name = "test"
title = "Uji Kampanye"
start = 2026-12-01

[[channels]]
channel = "instagram"

[[channels.slots]]
days = ["tue", "Kamis"]
time = "19:00"

[[channels]]
channel = "facebook"
account = "bpipi"
template = "sorotan-logo"

[[channels.slots]]
days = ["rabu"]
time = "18:30"
"""


def _write(tmp_path: Path, text: str, name: str = "test") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_campaign(path)
    return str(info.value)


def _fails(tmp_path: Path, text: str, key: str, words: str = "") -> str:
    path = _write(tmp_path, text)
    message = _error(path)
    assert message.startswith(f"{path}: "), message
    assert f"{path}: {key}: " in message or f"; {key}: " in message, message
    assert words.lower() in message.lower(), message
    return message


# -- the shipped campaigns --------------------------------------------------------------------


def test_the_shipped_campaigns_load() -> None:
    campaigns = load_campaigns(default_campaigns_dir())
    assert list(campaigns) == ["harbolnas-1212", "ramadan-2027", "sorotan-anggota"]

    sorotan = campaigns["sorotan-anggota"]
    assert sorotan.title == "Sorotan Anggota IFN"
    assert sorotan.start == dt.date(2026, 12, 1) and sorotan.end is None
    assert sorotan.holidays is HolidayRule.MOVE
    plans = {p.channel: p for p in sorotan.channels}
    assert plans[Channel.INSTAGRAM].slots == [SlotRule(days=[1, 3], time=dt.time(19, 0))]
    assert plans[Channel.FACEBOOK].slots == [SlotRule(days=[2], time=dt.time(18, 30))]
    assert plans[Channel.YOUTUBE].slots == [SlotRule(days=[4], time=dt.time(17, 0))]

    harbolnas = campaigns["harbolnas-1212"]
    assert (harbolnas.start, harbolnas.end) == (dt.date(2026, 12, 1), dt.date(2026, 12, 12))
    assert harbolnas.holidays is HolidayRule.IGNORE
    assert harbolnas.cooldown_days < sorotan.cooldown_days
    assert "Harbolnas" in harbolnas.hashtags

    ramadan = campaigns["ramadan-2027"]
    assert ramadan.holidays is HolidayRule.SKIP
    assert ramadan.blackout
    times = {rule.time for p in ramadan.channels for rule in p.slots}
    assert dt.time(0, 30) in times
    assert ramadan.template_for(Channel.YOUTUBE, "bpipi") == "sorotan-logo"
    assert ramadan.template_for(Channel.INSTAGRAM, "bpipi") == "sorotan"


def test_default_dir_is_the_repositorys() -> None:
    root = Path(__file__).resolve().parents[2]
    assert default_campaigns_dir() == root / "templates" / "campaigns"


# -- a valid file -----------------------------------------------------------------------------


def test_a_valid_file_gets_defaults(tmp_path: Path) -> None:
    campaign = load_campaign(_write(tmp_path, BASE))
    assert campaign.name == "test"
    assert campaign.timezone == "Asia/Jakarta"
    assert campaign.end is None
    assert campaign.template == "sorotan"
    assert campaign.cooldown_days == 90
    assert campaign.auto_approve is False
    assert campaign.language == "id"
    assert campaign.holidays is HolidayRule.MOVE
    assert campaign.holiday_categories == ["public", "government"]
    assert campaign.blackout == []
    assert campaign.diversity.max_in_a_row == {"category": 2, "province": 2, "actor_type": 3}
    assert campaign.diversity.max_per_week == {"category": 2, "province": 2, "actor_type": 0}
    assert campaign.channels[0].account == "bpipi"
    assert campaign.channels[0].slots[0].days == [1, 3]
    assert campaign.template_for(Channel.INSTAGRAM, "bpipi") == "sorotan"
    assert campaign.template_for(Channel.FACEBOOK, "bpipi") == "sorotan-logo"
    with pytest.raises(KeyError):
        campaign.template_for(Channel.YOUTUBE, "bpipi")


def test_blackout_dates_and_ranges(tmp_path: Path) -> None:
    text = BASE.replace(
        "start = 2026-12-01\n",
        "start = 2026-12-01\nblackout = [2026-12-10, { from = 2026-12-20, to = 2026-12-22 }]\n",
    )
    campaign = load_campaign(_write(tmp_path, text))
    assert campaign.blackout == [
        dt.date(2026, 12, 10),
        DateRange(start=dt.date(2026, 12, 20), end=dt.date(2026, 12, 22)),
    ]
    assert [d.day for d in _days(dt.date(2026, 12, 9), 15) if campaign.is_blackout(d)] == [
        10,
        20,
        21,
        22,
    ]


def _days(first: dt.date, count: int) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range(count)]


def test_partial_diversity_keeps_the_other_defaults(tmp_path: Path) -> None:
    text = BASE + "\n[diversity]\nmax_in_a_row = { category = 4 }\n"
    campaign = load_campaign(_write(tmp_path, text))
    assert campaign.diversity.max_in_a_row == {"category": 4, "province": 2, "actor_type": 3}


def test_toml_local_time_is_accepted(tmp_path: Path) -> None:
    campaign = load_campaign(_write(tmp_path, BASE.replace('"19:00"', "19:00:00")))
    assert campaign.channels[0].slots[0].time == dt.time(19, 0)


def test_python_construction_accepts_day_numbers() -> None:
    campaign = Campaign(
        name="x",
        title="X",
        start=dt.date(2026, 1, 1),
        channels=[ChannelPlan(channel=Channel.YOUTUBE, slots=[SlotRule(days=[4], time="17:00")])],
    )
    assert campaign.channels[0].slots[0].days == [4]
    assert Campaign.model_validate(campaign.model_dump()) == campaign


# -- every mistake names the file and the key -------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    assert _error(path) == f"{path}: campaign file not found"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "test.toml"
    path.write_bytes(BASE.replace("Uji", "Uji \xe9").encode("latin-1"))
    message = _error(path)
    assert message.startswith(f"{path}: not UTF-8")


def test_bad_toml(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, BASE + "\nseed = \n"))
    assert "not valid TOML" in message and "test.toml" in message


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        ('title = "Uji Kampanye"', 'titel = "Uji Kampanye"', "titel", "unknown key"),
        ('title = "Uji Kampanye"\n', "", "title", "missing"),
        ('time = "19:00"', 'time = "19:00"\nhour = 19', "channels[0].slots[0].hour", "unknown"),
        ('channel = "facebook"', 'channel = "tiktok"', "channels[1].channel", "instagram"),
        ('["rabu"]', '["rabu", "tues"]', "channels[1].slots[0].days[1]", "unknown day 'tues'"),
        ('["rabu"]', "[2]", "channels[1].slots[0].days[0]", "day name"),
        ('["rabu"]', '["rabu", "Wed"]', "channels[1].slots[0].days[1]", "twice"),
        ('["rabu"]', "[]", "channels[1].slots[0].days", "at least 1"),
        ('["rabu"]', '"rabu"', "channels[1].slots[0].days", "list"),
        ('time = "18:30"', 'time = "6.30pm"', "channels[1].slots[0].time", "HH:MM"),
        ('time = "18:30"', 'time = "24:00"', "channels[1].slots[0].time", "HH:MM"),
        ('time = "18:30"', 'time = "18:30:15"', "channels[1].slots[0].time", "HH:MM"),
        ('time = "18:30"', "time = 18:30:15", "channels[1].slots[0].time", "whole minutes"),
        ('time = "18:30"', "time = 1830", "channels[1].slots[0].time", "HH:MM"),
        ("start = 2026-12-01", "start = 2026-12-01\nend = 2026-11-30", "end", "before start"),
        ("start = 2026-12-01", 'start = 2026-12-01\nend = "31-12-2026"', "end", "date"),
        ("start = 2026-12-01", 'start = "kemarin"', "start", "date"),
        (
            "start = 2026-12-01",
            'start = 2026-12-01\ntimezone = "Asia/Bogor"',
            "timezone",
            "unknown",
        ),
        ("start = 2026-12-01", 'start = 2026-12-01\ntimezone = "../etc"', "timezone", "unknown"),
        ("start = 2026-12-01", 'start = 2026-12-01\ntimezone = "Asia"', "timezone", "unknown"),
        (
            "start = 2026-12-01",
            'start = 2026-12-01\ncooldown_days = "90"',
            "cooldown_days",
            "integer",
        ),
        ("start = 2026-12-01", "start = 2026-12-01\ncooldown_days = -1", "cooldown_days", "0"),
        ("start = 2026-12-01", 'start = 2026-12-01\nauto_approve = "ya"', "auto_approve", "bool"),
        ("start = 2026-12-01", 'start = 2026-12-01\nlanguage = "jv"', "language", "'id'"),
        ("start = 2026-12-01", 'start = 2026-12-01\nholidays = "later"', "holidays", "skip"),
        ("start = 2026-12-01", "start = 2026-12-01\nhashtags = 5", "hashtags", "list"),
        ("start = 2026-12-01", 'start = 2026-12-01\ntemplate = "../x"', "template", "pattern"),
        (
            "start = 2026-12-01",
            'start = 2026-12-01\nholiday_categories = ["public", "bank"]',
            "holiday_categories[1]",
            "unknown category 'bank'",
        ),
        (
            "start = 2026-12-01",
            'start = 2026-12-01\nblackout = ["besok"]',
            "blackout[0]",
            "date",
        ),
        (
            "start = 2026-12-01",
            "start = 2026-12-01\nblackout = [2026-12-24, { from = 2026-12-31, to = 2026-12-25 }]",
            "blackout[1].to",
            "before `from`",
        ),
        (
            "start = 2026-12-01",
            "start = 2026-12-01\nblackout = [{ from = 2026-12-31, until = 2027-01-02 }]",
            "blackout[0].until",
            "unknown key",
        ),
        (
            'channel = "instagram"',
            'channel = "instagram"\naccount = "BPIPI Resmi"',
            "channels[0].account",
            "pattern",
        ),
        ('channel = "facebook"', 'channel = "instagram"', "channels[1]", "listed twice"),
        (
            'days = ["rabu"]\ntime = "18:30"',
            'days = ["rabu"]\ntime = "18:30"\n\n[[channels.slots]]\ndays = ["wed"]\ntime = "18:30"',
            "channels[1].slots[1]",
            "wed 18:30",
        ),
    ],
)
def test_a_mistake_names_the_file_and_key(
    tmp_path: Path, old: str, new: str, key: str, words: str
) -> None:
    assert old in BASE
    _fails(tmp_path, BASE.replace(old, new, 1), key, words)


def test_empty_channels(tmp_path: Path) -> None:
    text = 'name = "test"\ntitle = "T"\nstart = 2026-12-01\nchannels = []\n'
    _fails(tmp_path, text, "channels", "at least 1")


def test_missing_channels(tmp_path: Path) -> None:
    text = 'name = "test"\ntitle = "T"\nstart = 2026-12-01\n'
    _fails(tmp_path, text, "channels", "missing")


def test_empty_slots(tmp_path: Path) -> None:
    text = 'name = "test"\ntitle = "T"\nstart = 2026-12-01\n'
    text += '[[channels]]\nchannel = "youtube"\nslots = []\n'
    _fails(tmp_path, text, "channels[0].slots", "at least 1")


def test_diversity_mistakes(tmp_path: Path) -> None:
    _fails(
        tmp_path,
        BASE + "\n[diversity]\nmax_in_a_row = { colour = 1 }\n",
        "diversity.max_in_a_row.colour",
        "unknown key",
    )
    _fails(
        tmp_path,
        BASE + "\n[diversity]\nmax_per_week = { category = -1 }\n",
        "diversity.max_per_week.category",
        "0",
    )
    _fails(
        tmp_path,
        BASE + "\n[diversity]\nmax_per_week = { category = 1.5 }\n",
        "diversity.max_per_week.category",
        "integer",
    )
    _fails(
        tmp_path, BASE + "\n[diversity]\nmax_per_day = {}\n", "diversity.max_per_day", "unknown key"
    )


def test_several_mistakes_are_reported_together(tmp_path: Path) -> None:
    text = BASE.replace('time = "19:00"', 'time = "7pm"').replace('["rabu"]', '["rebo"]')
    message = _fails(tmp_path, text, "channels[0].slots[0].time", "7pm")
    assert "channels[1].slots[0].days[0]: unknown day 'rebo'" in message


def test_name_must_equal_the_file_name(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE, name="other")
    message = _error(path)
    assert message.startswith(f"{path}: name: 'test' must equal the file name ('other')")


def test_name_must_be_a_slug(tmp_path: Path) -> None:
    _fails(tmp_path, BASE.replace('name = "test"', 'name = "Test Campaign"'), "name", "pattern")


# -- a directory of campaigns -----------------------------------------------------------------


def test_load_campaigns_sorted_by_name(tmp_path: Path) -> None:
    for name in ("zeta", "alpha", "mid-2027"):
        _write(tmp_path, BASE.replace('name = "test"', f'name = "{name}"'), name=name)
    (tmp_path / "README.md").write_text("not a campaign", encoding="utf-8")
    assert list(load_campaigns(tmp_path)) == ["alpha", "mid-2027", "zeta"]


def test_one_bad_file_names_itself(tmp_path: Path) -> None:
    for name in ("alpha", "beta"):
        _write(tmp_path, BASE.replace('name = "test"', f'name = "{name}"'), name=name)
    bad = _write(
        tmp_path,
        BASE.replace('name = "test"', 'name = "gamma"').replace("19:00", "19h"),
        name="gamma",
    )
    with pytest.raises(ConfigError) as info:
        load_campaigns(tmp_path)
    assert str(info.value).startswith(f"{bad}: channels[0].slots[0].time: ")


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="campaigns directory not found"):
        load_campaigns(tmp_path / "nope")


def test_a_copy_of_the_shipped_directory_loads(tmp_path: Path) -> None:
    target = tmp_path / "campaigns"
    shutil.copytree(default_campaigns_dir(), target)
    assert load_campaigns(target) == load_campaigns(default_campaigns_dir())


# -- properties -------------------------------------------------------------------------------


@given(
    names=st.lists(st.sampled_from(sorted(DAY_NAMES)), min_size=1, max_size=7),
    upper=st.booleans(),
)
def test_day_names_in_any_case(names: list[str], upper: bool) -> None:
    numbers = [DAY_NAMES[n] for n in names]
    written = [n.upper() if upper else n.title() for n in names]
    if len(set(numbers)) < len(numbers):
        with pytest.raises(ValueError, match="twice"):
            SlotRule.model_validate({"days": written, "time": "19:00"})
    else:
        rule = SlotRule.model_validate({"days": written, "time": "19:00"})
        assert rule.days == sorted(numbers)


@given(st.times())
def test_hh_mm_round_trips(time: dt.time) -> None:
    written = f"{time:%H:%M}"
    rule = SlotRule.model_validate({"days": ["senin"], "time": written})
    assert rule.time == time.replace(second=0, microsecond=0)


def test_indonesian_and_english_names_agree() -> None:
    pairs = [("senin", "mon"), ("selasa", "tue"), ("rabu", "wed"), ("kamis", "thu")]
    pairs += [("jumat", "fri"), ("sabtu", "sat"), ("minggu", "sun")]
    for number, (indonesian, english) in enumerate(pairs):
        assert DAY_NAMES[indonesian] == DAY_NAMES[english] == number
