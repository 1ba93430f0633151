"""`history`, `ledger ...` and `takedowns` as staff use them: tables, WIB times, one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.cli import base
from ifn_campaign.cli.app import main
from ifn_campaign.models import Post, PostState
from ifn_campaign.posts.withdrawal import cancel_disallowed
from ifn_sandbox.registry import RegistrySandbox
from tests.support.cli import point_cli_at
from tests.support.ledger import add_member, add_post


def _day(n: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, n, hour, tzinfo=UTC)


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, int]]:
    """The CLI's SQLite database with a few members, posts and features; the post ids by name."""
    with RegistrySandbox(members=[]) as sandbox:
        point_cli_at(sandbox, monkeypatch, tmp_path)
        monkeypatch.setattr(base.out, "_width", 250)  # a wide terminal: no wrapped cells
        assert main(["db", "upgrade"]) == 0
        engine = store.open_store(f"sqlite:///{tmp_path / 'ifn.db'}")
        with Session(engine) as s:
            add_member(s, "ifn-1", business_name="[bold]Sepatu[/] Jaya", province="Jawa Barat")
            add_member(s, "ifn-2", province="Jawa Timur", categories=["sandals"])
            add_member(s, "ifn-3", actor_types=["brand"], consent_withdrawn_at=_day(25))
            add_member(s, "ifn-4", first_seen_at=datetime(2024, 3, 1, tzinfo=UTC))
            ids = {
                "out": add_post(
                    s,
                    "ifn-1",
                    PostState.PUBLISHED,
                    slot_at=_day(3, 12),
                    featured_at=_day(3, 12),
                    permalink="https://ig/p/a1",
                ),
                "next": add_post(s, "ifn-1", PostState.APPROVED, "facebook", slot_at=_day(28)),
                "two": add_post(
                    s, "ifn-2", PostState.PUBLISHED, slot_at=_day(4), featured_at=_day(4)
                ),
                "three": add_post(
                    s,
                    "ifn-3",
                    PostState.PUBLISHED,
                    slot_at=_day(5),
                    featured_at=_day(5),
                    permalink="https://ig/p/c3",
                ),
                "three-queued": add_post(s, "ifn-3", slot_at=_day(29)),
            }
            s.commit()
            cancel_disallowed(s, ["ifn-3"], _day(26))
            s.commit()
        engine.dispose()
        yield ids


def _flat(text: str) -> str:
    return " ".join(text.split())


def _error(capsys: pytest.CaptureFixture[str], code: int, needle: str) -> None:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1 and lines[-1].startswith("error:") and "Traceback" not in err
    assert needle in lines[-1], lines[-1]


def test_history(cli_db: dict[str, int], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "ifn-1"]) == 0
    shown = _flat(capsys.readouterr().out)
    assert "History of ifn-1: 2 posts" in shown
    assert "slot (WIB)" in shown and "featured (WIB)" in shown
    # 12:00 UTC is 19:00 in Jakarta; the newest slot comes first
    assert shown.index("2026-11-28") < shown.index("2026-11-03 19:00")
    assert "approved" in shown and "published" in shown and "https://ig/p/a1" in shown
    assert "next in" in shown
    assert main(["history", "ifn-3", "--lang", "id"]) == 0
    shown = _flat(capsys.readouterr().out)
    assert "giliran" in shown and "cancelled: persetujuan ditarik" in shown
    assert "takedown requested 2026-11-26" in shown
    _error(capsys, main(["history", "nobody"]), "no member 'nobody' stored")


def test_never_featured_and_gap(cli_db: dict[str, int], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger", "never-featured"]) == 0
    shown = _flat(capsys.readouterr().out)
    assert "1 member never featured" in shown and "ifn-4" in shown and "never" in shown
    assert "ifn-1" not in shown and "ifn-3" not in shown
    assert main(["ledger", "never-featured", "--campaign", "ramadan-2027", "--limit", "2"]) == 0
    shown = _flat(capsys.readouterr().out)
    assert "3 members never featured in ramadan-2027 (first 2)" in shown
    assert main(["ledger", "gap", "--limit", "3"]) == 0
    shown = _flat(capsys.readouterr().out)
    assert "Fairness gap:" in shown
    # the longest waiter first: ifn-4 since its consent (2025-01-10), then ifn-1 and ifn-2
    assert shown.index("ifn-4") < shown.index("ifn-1") < shown.index("ifn-2")
    assert "[bold]Sepatu[/] Jaya" in shown  # member text printed as text, not markup


def test_features_by(cli_db: dict[str, int], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger", "by", "province"]) == 0
    shown = _flat(capsys.readouterr().out)
    assert "3 features by province, the start to now" in shown
    assert "Jawa Barat │ 2" in shown and "Jawa Timur │ 1" in shown
    assert main(["ledger", "by", "category", "--since", "2026-11-04"]) == 0
    shown = _flat(capsys.readouterr().out)
    assert "Sepatu kulit / Leather shoes │ 1" in shown and "Sandal & selop" in shown
    # --until counts the whole named day in WIB: 2026-11-04 10:00 UTC is 17:00 WIB that day
    assert main(["ledger", "by", "actor-type", "--until", "2026-11-04"]) == 0
    shown = _flat(capsys.readouterr().out)
    assert "2 features by actor-type, the start to 2026-11-04" in shown
    assert "Produsen / Producer │ 2" in shown
    assert main(["ledger", "by", "city"]) == 1  # unknown dimension (tests/cli/test_values.py)


def test_takedowns(cli_db: dict[str, int], capsys: pytest.CaptureFixture[str]) -> None:
    three = cli_db["three"]
    assert main(["takedowns"]) == 0
    shown = _flat(capsys.readouterr().out)
    assert "1 published post to take down" in shown
    assert str(three) in shown and "https://ig/p/c3" in shown and "2026-11-26 17:00" in shown
    assert main(["takedowns", "done", str(three)]) == 0
    assert f"post {three} marked as taken down at" in capsys.readouterr().out
    assert main(["takedowns", "done", str(three)]) == 0
    assert "already marked" in capsys.readouterr().out
    assert main(["takedowns"]) == 0
    assert "0 published posts to take down" in _flat(capsys.readouterr().out)
    assert main(["takedowns", "--all"]) == 0
    assert "https://ig/p/c3" in _flat(capsys.readouterr().out)
    _error(capsys, main(["takedowns", "done", "999"]), "no post 999 stored")
    _error(capsys, main(["takedowns", "done", str(cli_db["next"])]), "has no takedown request")
    engine = store.open_store("sqlite:///ifn.db")  # the CLI runs in tmp_path
    with Session(engine) as s:
        post = s.scalars(select(Post).where(Post.id == three)).one()
        assert post.taken_down_at is not None and post.state == "published"
    engine.dispose()
