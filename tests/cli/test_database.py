"""Commands against a database that is not there, or not migrated: a clear error naming what to
run, and no file left behind (only `db upgrade` and the demo create a database)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from ifn_campaign.cli.app import main

READ_ONLY = [
    ["members"],
    ["members", "--status", "active"],
    ["member", "ifn-0001"],
    ["quarantine"],
    ["captions", "show", "ifn-0001"],
    ["review"],
    ["calendar"],
    ["history", "ifn-0001"],
    ["ledger", "never-featured"],
    ["ledger", "gap"],
    ["ledger", "by", "province"],
    ["takedowns"],
    ["report"],
    ["db", "status"],
    ["missed"],
    ["status"],
]
# commands that write, but only into a database `db upgrade` made: they must not make one either
WRITING = [
    ["sync", "--no-media"],
    ["plan", "--dry-run"],
    ["compose"],
    ["publish"],
    ["reconcile"],
    ["approve", "--all"],
    ["exclude", "ifn-0001", "--reason", "test"],
]


@pytest.fixture
def missing_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Settings naming a SQLite file (in a folder) that does not exist."""
    for key in list(os.environ):
        if key.startswith("IFN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "data" / "ifn.db"
    monkeypatch.setenv("IFN_DATABASE__URL", f"sqlite:///{db}")
    monkeypatch.setenv("IFN_REGISTRY__BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("IFN_REGISTRY__RETRIES", "0")
    return db


def _last_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error:"), err
    assert "Traceback" not in err
    return " ".join(lines[-1].split())


@pytest.mark.parametrize("args", READ_ONLY + WRITING, ids=" ".join)
def test_a_missing_database_is_an_error_and_stays_missing(
    args: list[str], missing_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(args)
    line = _last_error(capsys.readouterr().err)
    assert code == 1
    assert f"no database at {missing_db}" in line
    assert "ifn-campaign db upgrade" in line
    assert not missing_db.exists() and not missing_db.parent.exists()
    assert not list(missing_db.parent.parent.glob("data*"))


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_an_unmigrated_database_says_to_run_db_upgrade(
    args: list[str], missing_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing_db.parent.mkdir()
    sqlite3.connect(missing_db).close()  # an empty file, as older versions left behind
    code = main(args)
    captured = capsys.readouterr()
    if args == ["db", "status"]:  # the one command whose answer this is
        assert code == 0 and "revision none" in captured.out and "db upgrade" in captured.out
        return
    line = _last_error(captured.err)
    assert (
        code == 1 and "has no ifn-campaign tables" in line and "`ifn-campaign db upgrade`" in line
    )
    with sqlite3.connect(missing_db) as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == []


def test_db_upgrade_creates_it_and_then_commands_work(
    missing_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0
    assert missing_db.is_file()
    assert main(["db", "status"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert main(["members"]) == 0
    assert "Members (0 stored)" in capsys.readouterr().out


def test_the_demo_settings_are_named_when_the_demo_ran(
    missing_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = Path("var/demo/ifn-campaign.toml")
    demo.parent.mkdir(parents=True)
    demo.write_text("")
    assert main(["members"]) == 1
    line = _last_error(capsys.readouterr().err)
    assert f"export IFN_CONFIG={demo.absolute()}" in line
