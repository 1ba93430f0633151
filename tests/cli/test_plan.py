"""`ifn-campaign plan`, `calendar`, `campaigns`, `pin`/`unpin`, `exclude`/`include` end to end."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.cli import base
from ifn_campaign.cli.app import main
from ifn_campaign.config import load_settings
from ifn_campaign.errors import ConfigError
from ifn_campaign.models import Post, PostState
from ifn_sandbox.sample import store_generated_members

CAMPAIGN = """
name = "mingguan"
title = "Sorotan Mingguan"
start = 2030-01-01
holidays = "ignore"
cooldown_days = 0

[[channels]]
channel = "instagram"
[[channels.slots]]
days = ["selasa", "kamis"]
time = "19:00"
"""


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    for key in list(os.environ):
        if key.startswith("IFN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(base.out, "width", 250)  # whole table rows on one line each
    url = f"sqlite:///{tmp_path / 'ifn.db'}"
    monkeypatch.setenv("IFN_DATABASE__URL", url)
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    (campaigns / "mingguan.toml").write_text(CAMPAIGN, encoding="utf-8")
    monkeypatch.setenv("IFN_PLANNER__CAMPAIGNS_DIR", str(campaigns))
    engine = store.make_engine(url)
    store.upgrade(engine)
    with Session(engine) as session:
        store_generated_members(session, 6, now=datetime(2029, 12, 1, tzinfo=UTC))
        session.commit()
    engine.dispose()
    yield tmp_path


def posts(tmp_path: Path) -> list[Post]:
    engine = store.make_engine(f"sqlite:///{tmp_path / 'ifn.db'}")
    with Session(engine) as session:
        found = list(session.scalars(select(Post).order_by(Post.slot_at, Post.id)))
    engine.dispose()
    return found


def test_dry_run_shows_the_plan_and_writes_nothing(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["plan", "--campaign", "mingguan", "--from", "2030-01-07", "--weeks", "2", "--dry-run"]
    )
    printed = " ".join(capsys.readouterr().out.split())
    assert code == 0, printed
    assert "Tue 2030-01-08 19:00 WIB" in printed
    assert "belum pernah ditampilkan" in printed
    assert "mingguan: 4 planned, 0 pinned, 0 replaced, 0 kept, 0 gap; 0 cancelled" in printed
    assert "dry run" in printed
    assert posts(cli) == []


def test_plan_then_calendar_then_replan_keeps_everything(
    cli: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--campaign", "mingguan", "--from", "2030-01-07", "--weeks", "2"]) == 0
    assert len(posts(cli)) == 4
    capsys.readouterr()
    assert main(["calendar", "--from", "2030-01-07", "--weeks", "2", "--english"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "never featured in this campaign" in printed and "planned" in printed
    assert main(["plan", "--from", "2030-01-07", "--weeks", "2"]) == 0  # every campaign
    printed = " ".join(capsys.readouterr().out.split())
    assert "0 planned, 0 pinned, 0 replaced, 4 kept" in printed
    assert len(posts(cli)) == 4


def test_pin_exclude_include_unpin(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--campaign", "mingguan", "--from", "2030-01-07", "--weeks", "1"]) == 0
    first, _ = posts(cli)
    slot = "2030-01-10 19:00"  # Thursday's slot, held by someone else
    assert (
        main(
            [
                "pin",
                first.member_id,
                "--campaign",
                "mingguan",
                "--channel",
                "instagram",
                "--at",
                slot,
                "--note",
                "HUT",
            ]
        )
        == 0
    )
    assert main(["exclude", first.member_id, "--campaign", "mingguan", "--reason", "audit"]) == 0
    capsys.readouterr()
    # Excluded: the member loses Tuesday's post, and the pin for Thursday is refused.
    assert (
        main(
            ["plan", "--campaign", "mingguan", "--from", "2030-01-07", "--weeks", "1", "--english"]
        )
        == 0
    )
    printed = " ".join(capsys.readouterr().out.split())
    assert "1 replaced" in printed and "pin refused (excluded by staff: audit)" in printed
    live = [p for p in posts(cli) if p.state == PostState.PLANNED]
    assert first.member_id not in {p.member_id for p in live}
    assert main(["include", first.member_id]) == 0
    assert main(["plan", "--campaign", "mingguan", "--from", "2030-01-07", "--weeks", "1"]) == 0
    live = [p for p in posts(cli) if p.state == PostState.PLANNED]
    thursday = next(p for p in live if p.slot_at.day == 10)
    assert thursday.member_id == first.member_id and thursday.pinned
    assert thursday.reason_en == "pinned by staff: HUT"
    assert main(["unpin", "--campaign", "mingguan", "--channel", "instagram", "--at", slot]) == 0
    cancelled = [p for p in posts(cli) if p.state == PostState.CANCELLED]
    assert {p.cancel_reason for p in cancelled} >= {
        "dikecualikan staf: audit / excluded by staff: audit"
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plan", "--campaign", "nope"], "unknown campaign 'nope'; valid: mingguan"),
        (["plan", "--from", "7 Jan"], "--from '7 Jan': write a date as YYYY-MM-DD"),
        (
            [
                "pin",
                "gen-000001",
                "--campaign",
                "mingguan",
                "--channel",
                "instagram",
                "--at",
                "2030-01-08 18:00",
            ],
            "no instagram/bpipi slot at 2030-01-08 18:00; that day it has: 19:00 instagram/bpipi",
        ),
        (
            [
                "pin",
                "gen-000001",
                "--campaign",
                "mingguan",
                "--channel",
                "instagram",
                "--at",
                "8/1/2030",
            ],
            "write the slot as 'YYYY-MM-DD HH:MM'",
        ),
        (
            [
                "pin",
                "nobody",
                "--campaign",
                "mingguan",
                "--channel",
                "instagram",
                "--at",
                "2030-01-08 19:00",
            ],
            "no member 'nobody' stored",
        ),
        (
            [
                "unpin",
                "--campaign",
                "mingguan",
                "--channel",
                "instagram",
                "--at",
                "2030-01-08 19:00",
            ],
            "no pin on",
        ),
        (["include", "gen-000001"], "has no exclusion to lift"),
        (["plan", "--from", "9999-12-30"], "--from '9999-12-30': give a date between"),
        (["calendar", "--from", "0001-01-01"], "--from '0001-01-01': give a date between"),
        (
            ["exclude", "gen-000001", "--reason", "x", "--until", "2030-13-01"],
            "--until '2030-13-01': write a date as YYYY-MM-DD",
        ),
        (
            [
                "pin",
                "gen-000001",
                "--campaign",
                "mingguan",
                "--channel",
                "instagram",
                "--at",
                "9999-12-31 19:00",
            ],
            "give a date between",
        ),
        (["exclude", "gen-000001", "--reason", "x", "--campaign", "nope"], "unknown campaign"),
    ],
)
def test_errors_are_one_line(
    cli: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert err.startswith("error:") and message in err


def test_a_broken_campaign_file_is_named(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cli / "campaigns" / "rusak.toml").write_text('name = "rusak"\ntitle = 3\n', encoding="utf-8")
    assert main(["campaigns"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "rusak.toml" in err and "title" in err


def test_campaigns_lists_the_shipped_ones(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("IFN_PLANNER__CAMPAIGNS_DIR", raising=False)
    assert main(["campaigns"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    for name in ("sorotan-anggota", "harbolnas-1212", "ramadan-2027"):
        assert name in printed


def test_display_timezone_is_checked() -> None:
    with pytest.raises(ConfigError, match="unknown time zone"):
        load_settings(None, planner={"display_timezone": "Asia/Bandung"})
    with pytest.raises(ConfigError, match="unknown time zone"):
        load_settings(None, planner={"display_timezone": "Asia"})  # a directory of zones
