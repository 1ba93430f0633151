"""The CLI as staff use it: help everywhere, one-line errors, sync and import end to end."""

from __future__ import annotations

import mailbox
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from ifn_campaign.cli.app import app, main
from ifn_campaign.config import load_settings
from ifn_sandbox.http import Fault
from ifn_sandbox.registry import RegistrySandbox, generate_members
from tests.support.cli import point_cli_at
from tests.support.demo import DemoRun, demo_env


def _commands() -> list[list[str]]:
    root = typer.main.get_command(app)
    found: list[list[str]] = []

    def walk(cmd: Any, path: list[str]) -> None:
        found.append(path)
        if hasattr(cmd, "commands"):  # typer vendors its own click: duck-type the groups
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])

    walk(root, [])
    return found


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[RegistrySandbox]:
    with RegistrySandbox(members=generate_members(8, seed=3)) as sandbox:
        point_cli_at(sandbox, monkeypatch, tmp_path)
        yield sandbox


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "root")
def test_every_command_has_help(path: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*path, "--help"]) == 0
    text = capsys.readouterr().out
    assert "Usage:" in text and len(text.splitlines()) > 3


def test_sync_end_to_end(env: RegistrySandbox, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["sync"]) == 0
    out = capsys.readouterr().out
    assert "(full)" in out and "8" in out
    assert main(["sync"]) == 0
    assert "(incremental)" in capsys.readouterr().out
    assert main(["members"]) == 0
    assert "gen-000001" in capsys.readouterr().out
    assert main(["member", "gen-000002"]) == 0
    shown = capsys.readouterr().out
    assert "consent channels" in shown and "logo" in shown
    _one_line_error(capsys, main(["member", "nobody"]), "no member 'nobody' stored")
    assert main(["db", "status"]) == 0
    assert "up to date" in capsys.readouterr().out


def _one_line_error(capsys: pytest.CaptureFixture[str], code: int, *needles: str) -> None:
    _assert_error(code, capsys.readouterr().err, *needles)


def _assert_error(code: int, err: str, *needles: str) -> None:
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error:"), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[-1], lines[-1]


def test_unmigrated_database(env: RegistrySandbox, capsys: pytest.CaptureFixture[str]) -> None:
    _one_line_error(capsys, main(["sync"]), "ifn-campaign db upgrade")


def test_unreachable_registry(
    env: RegistrySandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("IFN_REGISTRY__BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("IFN_REGISTRY__RETRIES", "0")
    assert main(["db", "upgrade"]) == 0
    _one_line_error(capsys, main(["sync"]), "registry at http://127.0.0.1:9 failed")


def test_bad_config(
    env: RegistrySandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[registry]\npage_size = 0\n")
    _one_line_error(capsys, main(["--config", str(bad), "sync"]), "registry.page_size")


def test_import_csv(
    env: RegistrySandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "export.csv"
    csv_file.write_text(
        "\ufeffid;business_name;actor_types;categories;description_id;province;status;updated_at;logo_url\n"
        "csv-1;Sandal Ciomas Asri;producer|brand;sandals;Sandal jepit buatan tangan.;Jawa Barat;"
        "active;2026-03-01T08:00:00Z;\n"
        "csv-2;;brand;sneakers;Sepatu kets.;Jawa Timur;active;2026-03-01T08:00:00Z;\n",
        encoding="utf-8",
    )
    assert main(["db", "upgrade"]) == 0
    assert main(["import-csv", str(csv_file)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "(import)" in out and "csv-2" in out and "business_name" in out
    _one_line_error(capsys, main(["import-csv", str(tmp_path / "nope.csv")]), "cannot open")


@pytest.mark.slow
def test_console_script_demo_twice(demo_run: DemoRun, tmp_path: Path) -> None:
    """The README's main job through the installed entry point, run twice in a row: the first
    run is the session's (`demo_run`, which other modules read too), the second runs on a copy
    of its folder."""
    exe = Path(sys.executable).parent / "ifn-campaign"
    env = demo_env()
    first, home = demo_run, demo_run.home
    assert first.returncode == 0, first.stderr
    text = " ".join(first.stdout.split())
    assert "active members stored" in text
    planned = re.search(r"sorotan-demo: (\d+) planned", text)
    assert planned is not None and int(planned.group(1)) > 0  # the planner's stage ran
    n = int(planned.group(1))
    assert f"{n} posts composed ({n} approved by the demo campaign)" in text
    # the whole calendar went out on the sandboxes: Instagram at its slot, the rest natively
    sent = re.search(
        r"(\d+) published, (\d+) scheduled on the platform, 0 to retry, 0 failed", text
    )
    assert sent is not None and int(sent.group(1)) + int(sent.group(2)) == n, text[-3000:]
    assert f"reconcile: {sent.group(2)} scheduled posts went live, 0 problems" in text
    report = home / "var" / "demo" / "report" / "index.html"
    assert f"report: {report}" in text and report.stat().st_size > 0
    # natively scheduled posts count in the window at the time they went live, not reconcile's
    english = (report.parent / "index.en.html").read_text()
    assert f"features in this period: {n}" in " ".join(english.split())
    assert text.count("│ published │") == n  # the summary table: every post is out
    # its numbers explained, and the settings file that points the other commands at its data
    assert re.search(r"\d+ active: 66 members stored, \d+ of them not active", text)
    assert re.search(r"\d+ never featured: \d+ active members with consent in force", text)
    # the console: how to open it, and a demo user with a password new at each run
    opened = re.search(
        r"sign in as staf-demo with the password (\S+) \(new at each demo run\)", text
    )
    assert opened is not None, text[-2000:]
    assert "ifn-campaign console --demo" in text
    settings_file = home / "var" / "demo" / "ifn-campaign.toml"
    assert first.stdout.rstrip().splitlines()[-1] == f"export IFN_CONFIG={settings_file}"
    demo_settings = load_settings(settings_file)
    assert demo_settings.database.url == f"sqlite:///{home / 'var' / 'demo' / 'ifn-campaign.db'}"
    assert demo_settings.cards.cache_dir == home / "var" / "demo" / "cards"
    assert demo_settings.planner.campaigns_dir is not None
    assert (demo_settings.planner.campaigns_dir / "sorotan-demo.toml").is_file()
    elsewhere = tmp_path / "elsewhere"  # a newcomer's next command, from any folder
    elsewhere.mkdir()
    members = subprocess.run(
        [str(exe), "members", "--status", "active"],
        cwd=elsewhere,
        env={**env, "IFN_CONFIG": str(settings_file)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert members.returncode == 0, members.stderr
    listed = " ".join(members.stdout.split())
    assert "Members: the first 50 of 63 active (--limit N shows more)" in listed, listed
    assert "ifn-0001" in members.stdout
    assert list(elsewhere.iterdir()) == []  # no database or folder made where it ran
    again_home = tmp_path / "again"  # the shared run stays as it is for its other readers
    shutil.copytree(home, again_home)
    second = subprocess.run(
        [str(exe), "demo"], cwd=again_home, env=env, capture_output=True, text=True, timeout=300
    )
    assert second.returncode == 0, second.stderr
    again = " ".join(second.stdout.split())
    assert "(full)" in again
    assert " ".join(["unchanged", "│", "66"]) in again  # 72 sample members, 6 quarantined
    assert f"sorotan-demo: 0 planned, 0 pinned, 0 replaced, {n} kept" in again
    assert "0 published, 0 scheduled on the platform" in again
    assert f"nothing new to publish: {n} posts of the window went out in an earlier run" in again
    # member notices: the first run's are not sent again (the Maildir keeps both runs' mail)
    told = re.search(r"member notices: (\d+) e-mails? to", text)
    assert told is not None and int(told.group(1)) > 0
    assert f"no notice sent twice: {told.group(1)} went out in an earlier run" in again
    box = mailbox.Maildir(again_home / "var" / "demo" / "mail", create=False)
    message_ids = [message["Message-ID"] for message in box]
    assert len(message_ids) >= int(told.group(1))
    assert len(message_ids) == len(set(message_ids)), "a notice arrived twice"
    with sqlite3.connect(again_home / "var" / "demo" / "ifn-campaign.db") as db:
        states = db.execute(
            "SELECT state, taken_down_at FROM post WHERE campaign = 'sorotan-demo'"
        ).fetchall()
        waiting = db.execute(
            "SELECT channel, state FROM post WHERE campaign = 'pilihan-staf-demo'"
        ).fetchall()
    # the second run's fresh sandboxes hold none of them: not a reason to call them removed
    assert states == [("published", None)] * n
    # the staff-picks week after the window waits for review, made once, on every channel
    assert {state for _, state in waiting} == {"composed"}
    assert {channel for channel, _ in waiting} == {"instagram", "facebook", "youtube"}
    review = re.search(r"(\d+) posts of campaign pilihan-staf-demo .* wait for staff review", text)
    assert review is not None and int(review.group(1)) == len(waiting)
    assert (again_home / "var" / "demo" / "ifn-campaign.db").exists()


def test_token_never_printed(
    env: RegistrySandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a token the sync works; with a wrong one the error names the variable, not the value."""
    secret = "tok-live-5e6f7a8b9c"
    with RegistrySandbox(members=generate_members(4, seed=9), token=secret) as guarded:
        monkeypatch.setenv("IFN_REGISTRY__BASE_URL", guarded.url)
        monkeypatch.setenv("IFN_REGISTRY__TOKEN", secret)
        assert main(["db", "upgrade"]) == 0
        assert main(["sync", "--no-media"]) == 0
        captured = capsys.readouterr()
        assert secret not in captured.out + captured.err
        monkeypatch.setenv("IFN_REGISTRY__TOKEN", "tok-wrong-0000")
        code = main(["sync", "--no-media"])
        captured = capsys.readouterr()
        assert "tok-wrong" not in captured.out + captured.err
        _assert_error(code, captured.err, "HTTP 401", "IFN_REGISTRY__TOKEN")


def test_a_registry_echoing_the_token_never_gets_it_printed(
    env: RegistrySandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hostile registry's error message is printed (it says what went wrong), but a secret it
    echoes back is blanked, as it is for an unexpected error."""
    secret = "tok-live-echo-1234"
    with RegistrySandbox(members=generate_members(2, seed=9), token=secret) as guarded:
        monkeypatch.setenv("IFN_REGISTRY__BASE_URL", guarded.url)
        monkeypatch.setenv("IFN_REGISTRY__TOKEN", secret)
        assert main(["db", "upgrade"]) == 0
        echo = {"error": "bad_request", "message": f"you sent {secret}"}
        guarded.faults.add(Fault("/api/v1/members", "status", status=400, body=echo))
        code = main(["sync", "--no-media"])
        captured = capsys.readouterr()
    assert secret not in captured.out + captured.err
    _assert_error(code, captured.err, "[redacted]")


def test_sandbox_registry_command_serves_and_injects_faults(tmp_path: Path) -> None:
    """`ifn-campaign sandbox registry` as a process: the sample over HTTP, with a 429 first."""
    import socket
    import time

    import requests

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    fault = '{"path": "/api/v1/members", "kind": "status", "status": 429, "retry_after": 2}'
    exe = Path(sys.executable).parent / "ifn-campaign"
    proc = subprocess.Popen(
        [str(exe), "sandbox", "registry", "--port", str(port), "--fault", fault],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/api/v1/members?limit=500"
        for _ in range(600):  # the CLI's imports take seconds on a loaded machine
            try:
                first = requests.get(url, timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert first.status_code == 429 and first.headers["Retry-After"] == "2"
        page = requests.get(url, timeout=2).json()
        assert len(page["data"]) == 72 and page["next_cursor"] is None
    finally:
        proc.terminate()
        proc.wait(10)


def test_sync_shows_each_retry(
    env: RegistrySandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ifn_sandbox.http import Fault

    env.faults.add(Fault(path="/api/v1/members", kind="status", status=429, retry_after=0))
    assert main(["db", "upgrade"]) == 0
    assert main(["sync", "--no-media"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "registry: HTTP 429; retry 1/5 in 0.0 s" in err


def test_captions_show_and_lint(env: RegistrySandbox, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["sync", "--no-media"]) == 0
    capsys.readouterr()
    assert main(["captions", "show", "gen-000001", "-c", "instagram", "-c", "youtube"]) == 0
    shown = capsys.readouterr().out
    assert "#IndonesiaMelangkah" in shown and "tags:" in shown
    _one_line_error(capsys, main(["captions", "show", "gen-000001", "-c", "tiktok"]), "tiktok")
    assert main(["captions", "lint"]) == 0
    assert "caption templates checked" in capsys.readouterr().out
