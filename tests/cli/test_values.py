"""Every option or argument that takes a value from a closed set refuses anything else with
`error: unknown X 'v'; valid: a, b, c` and exit status 1 (a typo used to print Indonesian for
`--lang fr` or an empty table for `--status activ`). The last test keeps the list whole: a new
string option must be added here, validated or named as free text."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from ifn_campaign.cli.app import app, main
from ifn_sandbox.registry import RegistrySandbox, generate_members
from tests.support.cli import point_cli_at

CAMPAIGNS = Path(__file__).resolve().parents[2] / "templates" / "campaigns"
ON_FILE = "gone-campaign, harbolnas-1212, ramadan-2027, sorotan-anggota"
# (argv with the bad value, what, the value, the valid ones as listed)
CLOSED = [
    (
        ["members", "--status", "activ"],
        "member status",
        "activ",
        "active, suspended, deleted, missing",
    ),
    (["captions", "show", "gen-000001", "--lang", "fr"], "language", "fr", "id, en"),
    (
        ["notices", "list", "--state", "delivered"],
        "state",
        "delivered",
        "pending, sending, sent, failed, uncertain, dropped",
    ),
    (
        ["captions", "show", "gen-000001", "-c", "tiktok"],
        "channel",
        "tiktok",
        "instagram, facebook, youtube",
    ),
    (
        ["render", "--all", "--template", "poster"],
        "card template",
        "poster",
        "sorotan, sorotan-foto, sorotan-logo",
    ),
    (
        ["render", "--all", "-f", "billboard"],
        "card format",
        "billboard",
        "ig_portrait, ig_square, story, fb_feed, yt_thumbnail, shorts_frame",
    ),
    (
        ["sandbox", "registry", "--fault", '{"path": "/", "kind": "boom"}'],
        "fault kind",
        "boom",
        "slow, status, drop, truncate, drip, huge",
    ),
    (["users", "add", "ana", "--role", "boss"], "role", "boss", "viewer, editor, approver, admin"),
    (
        ["users", "add", "ana", "--role", "viewer", "--language", "fr"],
        "language",
        "fr",
        "id, en",
    ),
    (["users", "role", "ana", "--role", "boss"], "role", "boss", "viewer, editor, approver, admin"),
    (["review", "--campaign", "nope"], "campaign", "nope", ON_FILE),
    (["approve", "--all", "--campaign", "nope"], "campaign", "nope", ON_FILE),
    (["calendar", "--campaign", "nope"], "campaign", "nope", ON_FILE),
    (
        ["plan", "--campaign", "sorotan-anggota", "--campaign", "nope"],
        "campaign",
        "nope",
        ON_FILE.removeprefix("gone-campaign, "),
    ),
    (
        [
            "pin",
            "gen-000001",
            "--campaign",
            "nope",
            "--channel",
            "instagram",
            "--at",
            "2030-01-01 19:00",
        ],
        "campaign",
        "nope",
        ON_FILE.removeprefix("gone-campaign, "),
    ),
    (
        [
            "pin",
            "gen-000001",
            "--campaign",
            "sorotan-anggota",
            "--channel",
            "tiktok",
            "--at",
            "2030-01-01 19:00",
        ],
        "channel",
        "tiktok",
        "instagram, facebook, youtube",
    ),
    (
        ["unpin", "--campaign", "nope", "--channel", "instagram", "--at", "2030-01-01 19:00"],
        "campaign",
        "nope",
        ON_FILE.removeprefix("gone-campaign, "),
    ),
    (
        [
            "unpin",
            "--campaign",
            "sorotan-anggota",
            "--channel",
            "tiktok",
            "--at",
            "2030-01-01 19:00",
        ],
        "channel",
        "tiktok",
        "instagram, facebook, youtube",
    ),
    (
        ["exclude", "gen-000001", "--reason", "x", "--campaign", "nope"],
        "campaign",
        "nope",
        ON_FILE.removeprefix("gone-campaign, "),
    ),
    (["include", "gen-000001", "--campaign", "nope"], "campaign", "nope", ON_FILE),
    (["history", "gen-000001", "--lang", "fr"], "language", "fr", "en, id"),
    (["ledger", "never-featured", "--campaign", "nope"], "campaign", "nope", ON_FILE),
    (["ledger", "gap", "--campaign", "nope"], "campaign", "nope", ON_FILE),
    (["ledger", "by", "county"], "dimension", "county", "province, category, actor-type"),
    (["ledger", "by", "province", "--campaign", "nope"], "campaign", "nope", ON_FILE),
    (["report", "--lang", "fr"], "language", "fr", "id, en"),
    (
        ["slots", "advise", "--channel", "tiktok"],
        "channel",
        "tiktok",
        "instagram, facebook, youtube",
    ),
    (
        ["slots", "advise", "--channel", "instagram", "--campaign", "nope"],
        "campaign",
        "nope",
        "harbolnas-1212, ramadan-2027, sorotan-anggota",  # campaign files only: slots are theirs
    ),
    (
        ["accounts", "reauthorised", "tiktok", "bpipi"],
        "channel",
        "tiktok",
        "instagram, facebook, youtube",
    ),
]
# dates and times: refused with the format to write, the same one-line error and status
FORMATS = [
    (
        ["ledger", "by", "province", "--since", "2026/01/01"],
        "--since '2026/01/01': write a date as YYYY-MM-DD",
    ),
    (
        ["ledger", "by", "province", "--until", "1 Jan"],
        "--until '1 Jan': write a date as YYYY-MM-DD",
    ),
    (["calendar", "--from", "Jan 7"], "--from 'Jan 7': write a date as YYYY-MM-DD"),
    (["plan", "--from", "Jan 7"], "--from 'Jan 7': write a date as YYYY-MM-DD"),
    (
        ["exclude", "gen-000001", "--reason", "x", "--until", "soon"],
        "--until 'soon': write a date as YYYY-MM-DD",
    ),
    (["report", "--since", "last month"], "--since 'last month': write a date as YYYY-MM-DD"),
    (["report", "--month", "2026-13"], "month '2026-13': write it as YYYY-MM (e.g. 2026-11)"),
    (["move", "1", "--at", "tomorrow"], "--at 'tomorrow': write the time as 'YYYY-MM-DD HH:MM'"),
    (
        [
            "pin",
            "gen-000001",
            "--campaign",
            "sorotan-anggota",
            "--channel",
            "instagram",
            "--at",
            "noon",
        ],
        "--at 'noon': write the slot as 'YYYY-MM-DD HH:MM'",
    ),
]
# every other option or argument that takes text, and why it is free
FREE = {
    ("member", "member_id"): "a registry id, looked up",
    ("captions show", "member_id"): "a registry id, looked up",
    ("history", "member_id"): "a registry id, looked up",
    ("render", "member"): "registry ids, looked up",
    ("pin", "member_id"): "a registry id, looked up",
    ("exclude", "member_id"): "a registry id, looked up",
    ("include", "member_id"): "a registry id, looked up",
    ("members revoke-links", "member_id"): "a registry id, looked up",
    ("pin", "account"): "an account name, checked against the campaign's slots",
    ("unpin", "account"): "an account name, checked against the campaign's slots",
    ("accounts reauthorised", "account"): "an account name, looked up",
    ("slots advise", "account"): "an account name: one with no history says so",
    ("pin", "note"): "free text",
    ("exclude", "reason"): "free text",
    ("reject", "reason"): "free text",
    ("cancel", "reason"): "free text",
    ("edit-caption", "text"): "free text",
    ("edit-caption", "title"): "free text",
    ("sandbox registry", "host"): "an address",
    ("sandbox mail", "host"): "an address (the sandbox refuses anything but loopback)",
    ("deploy", "pool"): "a new or existing work pool name (pydantic checks its form)",
    ("console", "host"): "an address to listen on",
    ("users add", "name"): "a new user name, held to the user name rule by the library",
    ("users passwd", "name"): "a user name, looked up",
    ("users disable", "name"): "a user name, looked up",
    ("users role", "name"): "a user name, looked up",
}
for _cmd in (
    "approve",
    "reject",
    "cancel",
    "edit-caption",
    "move",
    "missed publish-now",
    "accounts reauthorised",
    "members revoke-links",
):
    FREE[(_cmd, "by")] = "your name for the log"
VALIDATED = {
    ("members", "status"),
    ("captions show", "channel"),
    ("captions show", "lang"),
    ("notices list", "state"),
    ("render", "template"),
    ("render", "card_format"),
    ("sandbox registry", "fault"),
    ("review", "campaign"),
    ("approve", "campaign"),
    ("calendar", "campaign"),
    ("plan", "campaign"),
    ("pin", "campaign"),
    ("pin", "channel_name"),
    ("unpin", "campaign"),
    ("unpin", "channel_name"),
    ("exclude", "campaign"),
    ("include", "campaign"),
    ("history", "lang"),
    ("ledger never-featured", "campaign"),
    ("ledger gap", "campaign"),
    ("ledger by", "dimension_name"),
    ("ledger by", "campaign"),
    ("accounts reauthorised", "channel"),
    ("users add", "role"),
    ("users add", "language"),
    ("users role", "role"),
    # formats
    ("ledger by", "since"),
    ("ledger by", "until"),
    ("calendar", "start"),
    ("plan", "start"),
    ("exclude", "until"),
    ("report", "since"),
    ("report", "until"),
    ("report", "month"),
    ("report", "lang"),
    ("slots advise", "channel_name"),
    ("slots advise", "campaign"),
    ("move", "at"),
    ("pin", "at"),
    ("unpin", "at"),
}


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Made once: a synced database and the campaigns on file, the bundled ones plus
    'gone-campaign', whose file is removed after an exclusion was stored for it."""
    folder = tmp_path_factory.mktemp("values")
    campaigns = folder / "campaigns"
    shutil.copytree(CAMPAIGNS, campaigns)
    text = (campaigns / "sorotan-anggota.toml").read_text(encoding="utf-8")
    (campaigns / "gone-campaign.toml").write_text(
        text.replace('name = "sorotan-anggota"', 'name = "gone-campaign"'), encoding="utf-8"
    )
    with (
        pytest.MonkeyPatch.context() as monkeypatch,
        RegistrySandbox(members=generate_members(3, seed=4)) as sandbox,
    ):
        point_cli_at(sandbox, monkeypatch, folder)
        monkeypatch.setenv("IFN_PLANNER__CAMPAIGNS_DIR", str(campaigns))
        assert main(["db", "upgrade"]) == 0
        assert main(["sync", "--no-media"]) == 0
        assert main(["exclude", "gen-000002", "--reason", "x", "--campaign", "gone-campaign"]) == 0
    (campaigns / "gone-campaign.toml").unlink()
    yield folder


@pytest.fixture
def cli(synced: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A copy of the synced database for each test (some tests write), CLI pointed at it."""
    for part in synced.glob("ifn.db*"):  # with its WAL, if the last writer left one
        shutil.copy(part, tmp_path / part.name)
    for key in list(os.environ):
        if key.startswith("IFN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IFN_DATABASE__URL", f"sqlite:///{tmp_path / 'ifn.db'}")
    monkeypatch.setenv("IFN_PLANNER__CAMPAIGNS_DIR", str(synced / "campaigns"))
    monkeypatch.setenv("IFN_CARDS__CACHE_DIR", str(tmp_path / "cards"))
    return tmp_path


def _error(capsys: pytest.CaptureFixture[str], code: int) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 1, err
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in err, err
    return " ".join(lines[0].split())


@pytest.mark.parametrize(
    ("argv", "what", "value", "valid"),
    CLOSED,
    ids=lambda a: " ".join(a) if isinstance(a, list) else None,
)
def test_an_unknown_value_is_refused_with_the_valid_ones(
    cli: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    what: str,
    value: str,
    valid: str,
) -> None:
    capsys.readouterr()
    line = _error(capsys, main(argv))
    assert line == f"error: unknown {what} {value!r}; valid: {valid}"


@pytest.mark.parametrize(
    ("argv", "message"), FORMATS, ids=lambda a: " ".join(a) if isinstance(a, list) else None
)
def test_a_badly_written_date_is_refused_with_the_format(
    cli: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    capsys.readouterr()
    assert message in _error(capsys, main(argv))


def test_valid_values_still_work(cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The checks let every valid value through, a stored campaign whose file is gone too."""
    for argv in (
        ["members", "--status", "active"],
        ["captions", "show", "gen-000001", "--lang", "en", "-c", "facebook", "--ignore-consent"],
        ["calendar", "--campaign", "gone-campaign"],
        ["review", "--campaign", "sorotan-anggota"],
        ["ledger", "by", "actor-type", "--since", "2026-01-01", "--campaign", "gone-campaign"],
        ["history", "gen-000001", "--lang", "id"],
        ["include", "gen-000002", "--campaign", "gone-campaign"],
    ):
        assert main(argv) == 0, (argv, capsys.readouterr().err)
    shown = capsys.readouterr().out
    assert "features by actor-type, 2026-01-01 to now, gone-campaign" in " ".join(shown.split())


def test_help_lists_a_static_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["members", "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert "STATUS" in shown and "active, suspended, deleted, missing" in shown


def _text_params() -> Iterator[tuple[str, str]]:
    """(command path, parameter name) of every option and argument that takes text."""

    def walk(cmd: Any, path: list[str]) -> Iterator[tuple[str, str]]:
        for param in getattr(cmd, "params", []):
            if param.type_descriptor.annotation in (str, list[str]):
                yield " ".join(path), param.name
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, [*path, name])

    yield from walk(typer.main.get_command(app), [])


def test_every_text_option_is_validated_or_free_text() -> None:
    found = set(_text_params())
    unaccounted = found - VALIDATED - set(FREE)
    assert not unaccounted, f"add these to CLOSED/FORMATS or FREE: {sorted(unaccounted)}"
    assert not (VALIDATED | set(FREE)) - found, "stale entries"
