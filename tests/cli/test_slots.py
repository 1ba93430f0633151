"""`ifn-campaign slots advise` and the plan's word on `replace_weakest_slot`, end to end: the
table with counts, the weakest slot and its alternative, plain words when history is short, and
the campaign file left as staff wrote it."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.cli import base
from ifn_campaign.cli.app import main
from ifn_sandbox.sample import store_generated_members
from tests.support.slot_history import add_history, weekly

CAMPAIGN = """
name = "mingguan"
title = "Sorotan Mingguan"
start = 2026-01-01
holidays = "ignore"
cooldown_days = 0
replace_weakest_slot = {on}

[[channels]]
channel = "instagram"
[[channels.slots]]
days = ["selasa"]
time = "19:00"
[[channels.slots]]
days = ["minggu"]
time = "21:00"
"""
NOW = dt.datetime.now(dt.UTC)
FIRST = (NOW - dt.timedelta(weeks=13)).date()


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    for key in list(os.environ):
        if key.startswith("IFN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(base.out, "width", 250)
    url = f"sqlite:///{tmp_path / 'ifn.db'}"
    monkeypatch.setenv("IFN_DATABASE__URL", url)
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    (campaigns / "mingguan.toml").write_text(CAMPAIGN.format(on="false"), encoding="utf-8")
    monkeypatch.setenv("IFN_PLANNER__CAMPAIGNS_DIR", str(campaigns))
    engine = store.make_engine(url)
    store.upgrade(engine)
    with Session(engine) as session:
        store_generated_members(session, 6, now=NOW - dt.timedelta(days=200))
        session.commit()
    engine.dispose()
    yield tmp_path


def history(tmp_path: Path, weeks: int = 12) -> None:
    engine = store.make_engine(f"sqlite:///{tmp_path / 'ifn.db'}")
    with Session(engine) as session:
        for day, time, reach in ((1, "19:00", 1000), (6, "21:00", 500), (2, "19:00", 2000)):
            add_history(session, weekly(FIRST, weeks, day, time), lambda at, r=reach: r)
        add_history(session, weekly(FIRST, 2, 4, "12:00"), lambda at: 3000)  # too few to judge
    engine.dispose()


def run(*args: str, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(list(args))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return " ".join(captured.out.replace("│", " ").split())  # table cells as words


def test_advice_table_weakest_and_alternative(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history(cli)
    printed = run("slots", "advise", "--channel", "instagram", capsys=capsys)
    assert "Slot advice: instagram/bpipi, reach at 7d, last 26 weeks" in printed
    assert "slot (WIB)" in printed
    assert "1 Wednesday 19:00 2.00 12" in printed
    assert "2 Tuesday 19:00 1.00 12 a current slot" in printed
    assert "3 Sunday 21:00 0.50 12 a current slot" in printed
    assert "fewer than 4 posts, no index: Friday 12:00 (2)" in printed
    assert "posts compared: 38 at 7d" in printed
    assert "campaign mingguan: weakest slot Sunday 21:00: reach index 0.50 over 12 posts" in printed
    assert (
        "campaign mingguan: Wednesday 19:00 replaces Sunday 21:00: reach index 2.00 vs 0.50 "
        "over 12 and 12 posts if the campaign sets replace_weakest_slot = true"
    ) in printed


def test_short_history_is_said_plainly(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    history(cli, weeks=3)
    printed = run(
        "slots", "advise", "--channel", "instagram", "--campaign", "mingguan", capsys=capsys
    )
    assert "campaign mingguan: not enough history: 3 posts on Tuesdays 19:00, needs 4" in printed
    assert "campaign mingguan: not enough history: 3 posts on Sundays 21:00, needs 4" in printed
    assert "campaign mingguan: no current slot has enough history to judge" in printed


def test_no_history_at_all(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    printed = run("slots", "advise", "--channel", "youtube", "--account", "lain", capsys=capsys)
    assert (
        "no published post of youtube/lain has a reading at 7d or later in the last 26 weeks: "
        "no advice yet"
    ) in printed


def test_a_bad_channel_is_one_error_line(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["slots", "advise", "--channel", "tiktok"]) == 1
    assert (
        "unknown channel 'tiktok'; valid: instagram, facebook, youtube" in capsys.readouterr().err
    )


@pytest.mark.slow
def test_plan_says_which_slot_it_replaced_and_leaves_the_file_alone(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history(cli)
    path = cli / "campaigns" / "mingguan.toml"
    path.write_text(CAMPAIGN.format(on="true"), encoding="utf-8")
    before = path.read_bytes()
    printed = run("plan", "--campaign", "mingguan", "--weeks", "2", "--english", capsys=capsys)
    assert (
        "weekly slot instagram/bpipi: Wednesday 19:00 replaces Sunday 21:00: reach index 2.00 "
        "vs 0.50 over 12 and 12 posts"
    ) in printed
    assert " Wed " in printed and " Sun " not in printed
    assert path.read_bytes() == before
    indonesian = run("plan", "--campaign", "mingguan", "--weeks", "2", "--dry-run", capsys=capsys)
    assert "Rabu 19.00 menggantikan Minggu 21.00: indeks jangkauan 2,00 vs 0,50" in indonesian


def test_a_hostile_account_name_is_shown_not_obeyed(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["slots", "advise", "--channel", "instagram", "--account", "[red]x\x1b[31m\u202e"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "\x1b" not in captured.out and "\u202e" not in captured.out
    assert "instagram/[red]x\\x1b[31m\\u202e has a reading" in " ".join(captured.out.split())
