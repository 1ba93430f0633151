"""Every row id a command takes (POST_ID, ID of a notice, ...) is refused outside 1..2**31-1 by
the command line itself: a huge one reached the database driver and came back as an unexpected
OverflowError (SQLite) or a DataError (PostgreSQL's INTEGER)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from ifn_campaign.cli.app import app
from ifn_campaign.cli.base import ROW_ID_MAX


def _params(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from _params(sub, (*path, name))
    for param in getattr(command, "params", []):
        yield path, param


def _row_ids() -> list[tuple[tuple[str, ...], Any]]:
    """(command path, parameter) of every integer id argument: MEMBER_ID is text (a registry id)."""
    return [
        (path, param)
        for path, param in _params(typer.main.get_command(app))
        if (param.metavar or "").endswith("ID")
        and str(param.bare_type()) in ("int", "list[int]", "list[int] | None")
    ]


def test_the_commands_with_row_ids_are_found() -> None:
    found = {" ".join(path) for path, _ in _row_ids()}
    assert {"approve", "edit-caption", "move", "notices resolve", "takedowns done"} <= found


@pytest.mark.parametrize(
    "path, param", _row_ids(), ids=lambda v: " ".join(v) if isinstance(v, tuple) else v.name
)
def test_every_row_id_is_bounded(path: tuple[str, ...], param: Any) -> None:
    assert (param.min, param.max) == (1, ROW_ID_MAX), " ".join(path)


@pytest.mark.parametrize("value", [str(ROW_ID_MAX + 1), "99999999999999999999999", "0", "-1"])
def test_a_huge_or_negative_id_is_a_clear_error(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IFN_DATABASE__URL", f"sqlite:///{tmp_path / 'ifn.db'}")
    for args in (["approve", value], ["notices", "retry", value], ["takedowns", "done", value]):
        # "--" so "-1" is an argument, not an unknown option
        result = CliRunner().invoke(app, [*args[:-1], "--", value], env={"COLUMNS": "300"})
        assert result.exit_code == 2, (args, result.output)
        assert "Invalid value" in result.output, result.output
        assert "Traceback" not in result.output and "Overflow" not in result.output
