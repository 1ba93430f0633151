"""Issue 14: the CLI never prints a traceback. An unexpected exception in any command is one
`error:` line and exit status 1; the traceback goes to the rotating log file, with secrets
blanked in both."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.cli.app import main

TOKEN = "tok-3f9a1c77e2"  # fake: must never be written anywhere
DB_PASSWORD = "pw-88c1d0b4"
CLIENT_SECRET = "cs-5e21aa90"


def _corrupt_member(db: Path) -> None:
    """A member row whose JSON column is not JSON: reading it fails deep inside SQLAlchemy."""
    engine = store.make_engine(f"sqlite:///{db}")
    store.upgrade(engine)
    engine.dispose()
    with sqlite3.connect(db) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(member)")]
        values: dict[str, object] = dict.fromkeys(columns)
        values |= {c: "[]" for c in ("categories", "materials", "export_markets")}
        values |= {c: "[]" for c in ("certifications", "photos", "consent_channels")}
        values |= {"consent_fields_allowed": "[]", "contact": "{}", "socials": "{}"}
        values |= {"id": "ifn-0001", "source": "registry", "business_name": "Sepatu Jaya"}
        values |= {"actor_types": "{not json", "description_id": "Sepatu.", "status": "active"}
        values |= {"content_hash": "h", "raw_hash": "h"}
        for column in ("updated_at", "first_seen_at", "last_seen_at", "last_changed_at"):
            values[column] = "2024-05-01 03:00:00.000000"
        marks = ", ".join("?" * len(values))
        conn.execute(
            f"INSERT INTO member ({', '.join(values)}) VALUES ({marks})", list(values.values())
        )


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IFN_")}
    env["IFN_DATABASE__URL"] = f"sqlite:///{tmp_path / 'ifn.db'}"
    env["IFN_REGISTRY__TOKEN"] = TOKEN
    env["IFN_SECRET_YT_CLIENT"] = CLIENT_SECRET
    return env


def _one_error_line(stderr: str) -> str:
    """The one `error:` line, last (a sync's progress line may stand above it)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert [line for line in lines if line.startswith("error:")] == lines[-1:], stderr
    assert "Traceback" not in stderr and 'File "' not in stderr, stderr
    return lines[-1]


def test_an_unexpected_error_in_a_real_process_is_one_line_and_logged(tmp_path: Path) -> None:
    _corrupt_member(tmp_path / "ifn.db")
    done = subprocess.run(
        [sys.executable, "-m", "ifn_campaign.cli.app", "members"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    line = _one_error_line(done.stderr)
    assert "JSONDecodeError" in line and "var/log/ifn-campaign.log" in line
    log = (tmp_path / "var" / "log" / "ifn-campaign.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "JSONDecodeError" in log and "`ifn-campaign members`" in log
    assert TOKEN not in log and CLIENT_SECRET not in log


@pytest.mark.parametrize(
    "command",
    [
        ["members"],
        ["member", "ifn-0001"],
        ["quarantine", "--all"],
        ["sync"],
        ["captions", "show", "ifn-0001"],
    ],
)
def test_any_command_turns_an_unexpected_error_into_one_line(
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A failure deep in a dependency whose message carries every kind of secret."""
    for key, value in _env(tmp_path).items():
        monkeypatch.setenv(key, value)
    for key in [k for k in os.environ if k.startswith("IFN_") and k not in _env(tmp_path)]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("IFN_LOG__FILE", str(tmp_path / "logs" / "cli.log"))
    monkeypatch.setenv("IFN_REGISTRY__BASE_URL", "http://127.0.0.1:9")
    store.upgrade(store.make_engine(f"sqlite:///{tmp_path / 'ifn.db'}"))
    leak = (
        f"token {TOKEN}, client {CLIENT_SECRET}, postgresql://ifn:{DB_PASSWORD}@db/ifn,"
        f" Authorization: Bearer {TOKEN}x, https://graph.example/x?access_token=EAAB123&a=1\n"
        "second line"
    )

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(leak)

    monkeypatch.setattr(Session, "__enter__", broken)
    monkeypatch.setattr(Session, "execute", broken)
    assert main(command) == 1
    captured = capsys.readouterr()
    line = _one_error_line(captured.err)
    assert "unexpected RuntimeError" in line and "second line" in line
    log = (tmp_path / "logs" / "cli.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "RuntimeError" in log
    for secret in (TOKEN, CLIENT_SECRET, DB_PASSWORD, "EAAB123"):
        assert secret not in line and secret not in log and secret not in captured.out


def test_the_log_file_rotates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in [k for k in os.environ if k.startswith("IFN_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("IFN_DATABASE__URL", f"sqlite:///{tmp_path / 'ifn.db'}")
    monkeypatch.setenv("IFN_LOG__FILE", str(tmp_path / "cli.log"))
    monkeypatch.setenv("IFN_LOG__MAX_BYTES", "10000")
    monkeypatch.setenv("IFN_LOG__BACKUPS", "2")
    store.upgrade(store.make_engine(f"sqlite:///{tmp_path / 'ifn.db'}"))

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("x" * 3000)

    monkeypatch.setattr(Session, "__enter__", broken)
    for _ in range(12):
        assert main(["members"]) == 1
    capsys.readouterr()
    kept = sorted(p.name for p in tmp_path.glob("cli.log*"))
    assert kept == ["cli.log", "cli.log.1", "cli.log.2"]
    assert all(p.stat().st_size <= 10_000 for p in tmp_path.glob("cli.log*"))


def test_an_unwritable_log_still_gives_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key in [k for k in os.environ if k.startswith("IFN_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("IFN_DATABASE__URL", f"sqlite:///{tmp_path / 'ifn.db'}")
    (tmp_path / "file").write_text("not a directory")
    monkeypatch.setenv("IFN_LOG__FILE", str(tmp_path / "file" / "cli.log"))
    store.upgrade(store.make_engine(f"sqlite:///{tmp_path / 'ifn.db'}"))

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Session, "__enter__", broken)
    assert main(["members"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "boom" in line and "cannot be written" in line


def test_a_secret_read_from_anywhere_is_blanked_in_the_log(tmp_path: Path) -> None:
    """An account token from a Prefect Secret block lives in no environment variable: the log
    still blanks it, because every secret read is remembered (here read from a mapping that is
    not the process environment, as a block's value is)."""
    from ifn_campaign.cli.logfile import log_unexpected
    from ifn_campaign.config import LogSettings, Settings
    from ifn_campaign.secrets import secret

    token = "EAAG-block-token-8f2c1d"  # a made-up value
    assert secret("ig-bpipi", environ={"IFN_SECRET_IG_BPIPI": token}) == token
    log = tmp_path / "ifn.log"
    settings = Settings(log=LogSettings(file=log))
    try:
        raise RuntimeError(f"Graph refused access_token {token} for the page")
    except RuntimeError as exc:
        log_unexpected(exc, settings, "publish")
    written = log.read_text(encoding="utf-8")
    assert "Graph refused" in written and token not in written


def test_a_failed_migration_is_one_line_that_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`db upgrade` on a database that already holds another application's `member` table: the
    database's own error (SQLAlchemy adds the whole CREATE TABLE and a link, 40 lines) is cut
    to its first line, with the next step."""
    for key in [k for k in os.environ if k.startswith("IFN_")]:
        monkeypatch.delenv(key)
    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE member (id INTEGER)")
    monkeypatch.setenv("IFN_DATABASE__URL", f"sqlite:///{db}")
    monkeypatch.setenv("IFN_LOG__FILE", str(tmp_path / "cli.log"))
    assert main(["db", "upgrade"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "table member already exists" in line
    assert "CREATE TABLE" not in line and "sqlalche.me" not in line
    assert "ifn-campaign db upgrade" in line


def test_an_error_with_several_lines_is_printed_on_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An expected error whose message carries another program's text over several lines
    (Prefect's HTTP errors, an encoder's output) is still one `error:` line."""
    from ifn_campaign.errors import OrchestrationError

    for key in [k for k in os.environ if k.startswith("IFN_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("IFN_DATABASE__URL", f"sqlite:///{tmp_path / 'ifn.db'}")
    store.upgrade(store.make_engine(f"sqlite:///{tmp_path / 'ifn.db'}"))

    def refused(*_args: object, **_kwargs: object) -> None:
        raise OrchestrationError(
            "Prefect server http://127.0.0.1:4200/api refused the registration: "
            "PrefectHTTPStatusError: Client error '422 Unprocessable Entity'\n"
            "Response: {'detail': 'bad'}\nFor more information check: https://x/422"
        )

    monkeypatch.setattr(Session, "__enter__", refused)
    assert main(["members"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "422 Unprocessable Entity' Response: {'detail': 'bad'} For more" in line


@pytest.mark.parametrize(
    "command,mistake",
    [
        (["member"], "Missing argument 'MEMBER_ID'"),
        (["membrs"], "No such command 'membrs'"),
        (["plan", "--weeks", "x"], "Invalid value for '--weeks'"),
    ],
)
def test_a_command_line_typed_wrong_gets_its_usage_and_status_2(
    command: list[str], mistake: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The one exception to `error:` lines (docs/reference/commands.md): Click's usage panel,
    status 2, before anything runs."""
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "Usage: ifn-campaign" in err and "--help' for help." in err
    assert mistake in " ".join(err.replace("│", " ").split())
    assert "Traceback" not in err
