"""`ifn-campaign insights read` and `insights show` against the platform sandboxes, configured
by IFN_* variables only as staff run them: what was read and why not, a post's time series in
WIB, one-line errors for ids that are not posts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from ifn_campaign.cli import base
from ifn_campaign.cli.app import main
from ifn_campaign.models import Post, utcnow
from tests.support.insight_sandboxes import Sandboxed, sandboxed


@pytest.fixture
def cli_world(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Sandboxed, list[int]]]:
    """Two Facebook posts and a video that went live two hours ago (the sandboxes' clock moved
    on as much), and the CLI pointed at that database and those sandboxes."""
    with sandboxed(sqlite_engine, tmp_path) as world:
        posts = world.publish("facebook", 2) + world.publish("youtube")
        world.advance(timedelta(hours=2))
        with Session(world.engine) as session:
            session.execute(
                update(Post).values(published_at=utcnow() - timedelta(hours=2, minutes=1))
            )
            session.commit()
        for key in [k for k in os.environ if k.startswith("IFN_") and "SECRET" not in k]:
            monkeypatch.delenv(key)
        (tmp_path / "none.toml").write_text("")
        env = world.platforms.environ(world.settings)
        env |= {
            "IFN_CONFIG": str(tmp_path / "none.toml"),
            "IFN_DATABASE__URL": str(world.settings.database.url),
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr(base.out, "_width", 250)
        yield world, posts


def _error(capsys: pytest.CaptureFixture[str], code: int, needle: str) -> None:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0 and "Traceback" not in err
    assert any(needle in line for line in lines), err


def test_read_then_show(
    cli_world: tuple[Sandboxed, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    _world, posts = cli_world
    assert main(["insights", "show", str(posts[0])]) == 0
    before = capsys.readouterr().out
    assert f"post {posts[0]}: facebook bpipi, published, live" in before
    assert "WIB" in before and before.count("│ due ") == 1  # +1h is due, the rest to come
    assert before.count("│ to come ") == 3

    assert main(["insights", "read"]) == 0
    text = capsys.readouterr().out
    for post in posts[:2]:
        assert f"post {post} facebook 1h: read reach " in text
    assert f"post {posts[2]} youtube 1h: read reach " in text
    assert "3 read, 0 to retry" in text and "YouTube units: 1" in text

    assert main(["insights", "read"]) == 0
    assert "nothing due" in capsys.readouterr().out

    assert main(["insights", "show", str(posts[0])]) == 0
    shown = capsys.readouterr().out
    row = next(line for line in shown.splitlines() if line.strip("│ ").startswith("1h"))
    assert "read" in row and "late" not in row
    figures = {line.strip("│ ").split()[0] for line in shown.splitlines() if "│" in line}
    assert {"post_total_media_view_unique", "reactions"} <= figures  # a row each
    assert shown.count("│ to come ") == 3  # 1d, 7d, 28d


def test_bad_ids(
    cli_world: tuple[Sandboxed, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    _error(capsys, main(["insights", "show", "987654"]), "no post 987654")
    _error(capsys, main(["insights", "show", "99999999999999999999"]), "POST_ID")
    _error(capsys, main(["insights", "show", "0"]), "POST_ID")
    _error(capsys, main(["insights", "show", "abc"]), "POST_ID")
    _error(capsys, main(["insights", "read", "--limit", "0"]), "--limit")


def _late_seventh_day(world: Sandboxed, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 1h readings in, then the worker down until day 12: the 7d reading taken 5 days late
    (the CLI's clock moved on with the sandboxes')."""
    assert main(["insights", "read"]) == 0
    world.advance(timedelta(days=12))
    later = utcnow() + timedelta(days=12)
    monkeypatch.setattr("ifn_campaign.insights.reader.utcnow", lambda: later)
    monkeypatch.setattr("ifn_campaign.cli.insights.utcnow", lambda: later)
    assert main(["insights", "read"]) == 0


@pytest.mark.parametrize("width", [80, 120])
def test_show_fits_the_terminal_and_says_a_late_reading(
    cli_world: tuple[Sandboxed, list[int]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    width: int,
) -> None:
    world, posts = cli_world
    _late_seventh_day(world, monkeypatch)
    capsys.readouterr()
    monkeypatch.setattr(base.out, "_width", width)
    assert main(["insights", "show", str(posts[0])]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines[1:]), text  # the first line soft-wraps
    # Facebook's long metric names whole, each on its own row, one column per mark read
    for name in ("post_total_media_view_unique", "post_total_media_view", "reactions"):
        assert any(line.strip("│ ").startswith(name) for line in lines), text
    assert "7d late" in text
    late = next(line for line in lines if line.strip("│ ").startswith("7d"))
    assert "read late" in late and "taken 5d" in late
    on_time = next(line for line in lines if line.strip("│ ").startswith("1h "))
    assert "late" not in on_time and " read " in on_time
    assert ("┃ due (WIB)" in text) == (width >= 100)  # at 80 the due time gives way first
    assert ("due (WIB) not shown; --wide shows all" in text) == (width < 100)
