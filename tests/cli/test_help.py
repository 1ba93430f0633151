"""`--help` as staff read it at 80 columns: the commands grouped by what staff do, one line each,
no Python type labels, no sentence broken where a docstring line happened to end."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer

from ifn_campaign.cli import base
from ifn_campaign.cli.app import app, main

ROOT = typer.main.get_command(app)
TYPE_LABEL = re.compile(r"<[A-Za-z%][^<>\s]*>")  # <bool>, <list[int]>, <%Y-%m-%d>, <path>...


def _paths(command: Any = ROOT, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in getattr(command, "commands", {}).items():
        found += _paths(sub, (*path, name))
    return found


def _help(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    """`ifn-campaign ARGS --help` as printed on an 80-column terminal."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("TERM", "dumb")  # no colour codes between the words
    assert main([*args, "--help"]) == 0
    return capsys.readouterr().out


def _panels(text: str) -> dict[str, list[str]]:
    """The root help's command panels: title -> the command names listed, in order."""
    panels: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if title := re.match(r"╭─ (.+?) ─", line):
            current = panels.setdefault(title.group(1), [])
        elif line.startswith("╰"):
            current = None
        elif current is not None and (row := re.match(r"│ (\S+)\s{2,}", line)):
            current.append(row.group(1))
    return panels


def test_every_command_is_listed_once_under_a_staff_panel(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    panels = _panels(_help([], monkeypatch, capsys))
    assert list(panels) == ["Options", *base.PANELS]
    listed = [name for title in base.PANELS for name in panels[title]]
    assert sorted(listed) == sorted(ROOT.commands)  # type: ignore[attr-defined]
    assert "Commands" not in panels  # typer's catch-all: a command that names no panel
    for title in base.PANELS:  # in the order staff use them
        assert panels[title] == [n for n in base.ORDER[title] if n in panels[title]]


@pytest.mark.parametrize("name", sorted(ROOT.commands))  # type: ignore[attr-defined]
def test_every_command_names_a_known_panel(name: str) -> None:
    """A new command cannot be forgotten: without rich_help_panel it has no place in --help."""
    command = ROOT.commands[name]  # type: ignore[attr-defined]
    assert command.rich_help_panel in base.PANELS, f"{name}: rich_help_panel=<one of PANELS>"
    assert name in base.ORDER[command.rich_help_panel], f"{name}: add it to base.ORDER"


def test_root_help_lists_each_command_on_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help([], monkeypatch, capsys)
    in_commands = False
    for line in text.splitlines():
        assert len(line) <= 80
        if title := re.match(r"╭─ (.+?) ─", line):
            in_commands = title.group(1) in base.PANELS
        elif in_commands:
            # a continuation row (a summary too long, or a docstring line break) starts blank
            assert not re.match(r"│ {6,}\S", line), f"help summary wraps: {line!r}"


@pytest.mark.parametrize("path", _paths(), ids=lambda p: " ".join(p) or "root")
def test_help_has_no_type_labels_and_no_broken_sentences(
    path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help(list(path), monkeypatch, capsys)
    assert "Usage: ifn-campaign" in text
    assert not TYPE_LABEL.search(text), TYPE_LABEL.search(text)
    assert "<=" not in text  # typer's [1<=x<=104] range notation: the help says it in words
    assert all(len(line) <= 80 for line in text.splitlines())
    command: Any = ROOT
    for name in path:
        command = command.commands[name]
    # the help text itself has no line breaks inside a paragraph: rich prints those as they
    # are, so at 80 columns a sentence broke after a few words
    for paragraph in (command.help or "").split("\n\n"):
        assert "\n" not in paragraph, paragraph


def test_value_options_show_a_metavar_and_flags_show_none() -> None:
    ctx = typer.Context(ROOT.commands["plan"])  # type: ignore[attr-defined]
    params = {p.name: p for p in ROOT.commands["plan"].get_params(ctx)}  # type: ignore[attr-defined]
    assert params["weeks"].display_type_rich(ctx) == "N"
    assert params["start"].display_type_rich(ctx) == "DATE"
    assert params["dry_run"].display_type_rich(ctx) is None
    assert params["help"].display_type_rich(ctx) is None


def test_unwrap_keeps_paragraphs_and_joins_lines() -> None:
    assert base.unwrap("One line\n    broken here.\n\n    Second\n    paragraph.") == (
        "One line broken here.\n\nSecond paragraph."
    )
    assert base.unwrap(None) is None


@pytest.mark.parametrize("path", _paths(), ids=lambda p: " ".join(p) or "root")
def test_every_metavar_is_shown_whole_at_80_columns(
    path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A value's label is read as one word: '[instagram|facebook|youtube]' in a 26-column
    cell was folded into '[instagram|facebook|yout' and 'ube]' (rich breaks a word with no
    space in it wherever the cell ends)."""
    text = _help(list(path), monkeypatch, capsys)
    command: Any = ROOT
    for name in path:
        command = command.commands[name]
    lines = [re.sub(r"[│╭╮╰╯─]", " ", line) for line in text.splitlines()]
    for param in command.params:
        if param.metavar:
            assert any(param.metavar in line for line in lines), (param.name, param.metavar)


def test_demo_help_says_how_to_look_at_its_data(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A newcomer reads `demo --help` before and after: the settings file and the export line."""
    text = " ".join(_help(["demo"], monkeypatch, capsys).replace("│", " ").split())
    assert "ifn-campaign.toml" in text and "export IFN_CONFIG=" in text
