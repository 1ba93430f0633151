"""Every staff CLI command has its console door (ifn_campaign/console/parity.py): a route the
app has, with that method, or a stated reason why not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer

from ifn_campaign.cli import base
from ifn_campaign.cli.app import app as cli_app
from ifn_campaign.console.parity import PARITY, RUN_NOW, STAFF_PANELS
from tests.support.console import ConsoleWorld
from tests.support.console_routes import console_routes


def _commands(group: Any, prefix: str = "", panel: str | None = None) -> Iterator[str]:
    """Every command and group under `group` in the staff panels ('ledger by', ...); a group's
    commands are in its panel."""
    for name, command in group.commands.items():
        own = getattr(command, "rich_help_panel", None)
        where = own if isinstance(own, str) else panel
        if where in STAFF_PANELS:
            yield prefix + name
        if hasattr(command, "commands"):  # a group (Typer's own click)
            yield from _commands(command, f"{prefix}{name} ", where)


def staff_commands() -> list[str]:
    root = typer.main.get_command(cli_app)
    assert hasattr(root, "commands")
    return sorted(_commands(root))


def test_the_staff_panels_are_the_clis() -> None:
    assert set(STAFF_PANELS) == {base.MEMBERS, base.PLAN, base.PUBLISH, base.REPORTS}
    commands = staff_commands()
    # the enumeration finds commands, groups and their subcommands
    assert {"approve", "sync", "ledger", "ledger by", "accounts reauthorised"} <= set(commands)
    assert not {"users", "users add", "serve", "console", "db upgrade"} & set(commands)


def test_every_staff_command_has_a_console_door_or_a_reason() -> None:
    commands = staff_commands()
    assert [c for c in commands if c not in PARITY] == [], "add them to console/parity.py"
    assert [c for c in PARITY if c not in commands] == [], "no such CLI command"


def test_every_route_named_exists_with_its_method(console: ConsoleWorld) -> None:
    have = {str(route) for route in console_routes(console.app)}
    named = {route for door in PARITY.values() for route in door.routes}
    assert RUN_NOW in named
    assert sorted(named - have) == []
