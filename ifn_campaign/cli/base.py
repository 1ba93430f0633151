"""What every command shares: the Typer app, the consoles, the settings loaded once and the
`Resources` built from them (engine, secrets, clients), closed when the command ends."""

from __future__ import annotations

import getpass
import inspect
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from ifn_campaign.config import Settings, config_path, load_settings
from ifn_campaign.errors import UnknownValueError
from ifn_campaign.models import utcnow
from ifn_campaign.posts.lifecycle import staff_actor
from ifn_campaign.registry.display import visible
from ifn_campaign.wiring import Resources

# `--help` lists the commands in these panels, in this order: as staff use them. Every command
# (and command group) names its panel with `rich_help_panel=`; ORDER sorts a panel's commands.
ROW_ID_MAX = 2**31 - 1
"""The largest id a row can have (PostgreSQL's INTEGER; SQLite's is larger): an id argument
outside 1..ROW_ID_MAX is refused by the command line before any database sees it (a huge one
raised OverflowError from the driver)."""

SETUP = "Set-up"
MEMBERS = "Members"
PLAN = "Plan and review"
PUBLISH = "Publish"
REPORTS = "Reports"
OPERATIONS = "Operations"
ORDER: dict[str, tuple[str, ...]] = {
    SETUP: ("db", "doctor", "demo", "rehearse", "users"),
    MEMBERS: ("sync", "import-csv", "members", "member", "quarantine", "render", "captions"),
    PLAN: (
        "campaigns",
        "plan",
        "calendar",
        "slots",
        "pin",
        "unpin",
        "exclude",
        "include",
        "compose",
        "review",
        "approve",
        "edit-caption",
        "move",
        "reject",
        "cancel",
    ),
    PUBLISH: ("publish", "status", "missed", "reconcile", "accounts", "takedowns", "notices"),
    REPORTS: ("report", "history", "ledger", "insights", "showcase"),
    OPERATIONS: ("console", "serve", "deploy", "sandbox"),
}
PANELS = tuple(ORDER)


def unwrap(text: str | None) -> str | None:
    """A docstring as help: paragraphs kept, the line breaks inside each joined (rich help
    prints a docstring's line breaks where they fall, mid-sentence at any other width)."""
    if text is None:
        return None
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in paragraphs)


class _Argument(TyperArgument):
    """An argument whose --help row is its metavar (ID, POST_ID...) alone: Typer would add its
    Python type (`<str>`, `<list[int]>`) beside it, and a row id's `[1<=x<=2147483647]`, which
    mean nothing to staff (an id out of range is refused with its range)."""

    def display_type_rich(self, ctx: typer.Context) -> str | None:  # type: ignore[override]
        return None

    def _get_number_range_help_str(self) -> str | None:
        return None


class _Option(TyperOption):
    """An option shown as staff read it: a flag with no value label (Typer shows `<bool>`),
    a value with its metavar (N, DATE, NAME), and no `[1<=x<=104]` range notation (the help
    text says the range in words)."""

    def display_type_rich(self, ctx: typer.Context) -> str | None:  # type: ignore[override]
        return None if self.is_flag else super().display_type_rich(ctx)

    def _get_number_range_help_str(self) -> str | None:
        return None


def _plain(params: list[Any]) -> list[Any]:
    for param in params:  # Typer makes the parameters; only their help display changes
        if type(param) is TyperArgument:
            param.__class__ = _Argument
        elif type(param) is TyperOption:
            param.__class__ = _Option
    return params


class Command(TyperCommand):
    """A command whose --help is plain: one line per paragraph, no type labels."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = unwrap(self.help)

    def get_params(self, ctx: typer.Context) -> list[Any]:  # type: ignore[override]
        return _plain(super().get_params(ctx))


class Group(TyperGroup):
    """A command group with plain --help, its commands sorted by panel (PANELS, ORDER)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = unwrap(self.help)

    def get_params(self, ctx: typer.Context) -> list[Any]:  # type: ignore[override]
        return _plain(super().get_params(ctx))

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        names = super().list_commands(ctx)

        def rank(name: str) -> tuple[int, int]:
            panel = getattr(self.commands[name], "rich_help_panel", None)
            if panel not in ORDER:
                return (len(PANELS), 0)
            within = ORDER[panel]
            return (PANELS.index(panel), within.index(name) if name in within else len(within))

        return sorted(names, key=rank)  # stable: registration order among equals


class App(typer.Typer):
    """The Typer app of every command and command group: plain --help (Command, Group)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        super().__init__(**kwargs)

    def command(self, name: str | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("cls", Command)
        return super().command(name, **kwargs)


app = App(
    help="Promote Indonesia Footwear Network members on Instagram, Facebook and YouTube.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def zone_abbr(zone: ZoneInfo) -> str:
    """The display zone's short name now ('WIB'), for a column's or a time's label."""
    return utcnow().astimezone(zone).tzname() or str(zone)


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    """A stored (UTC) time in the display zone, '2026-12-06 13:58'; '' for none. Every table
    prints its times so: one sync read 06:58 in one table and 13:58 in another."""
    return "" if moment is None else f"{moment.astimezone(zone):%Y-%m-%d %H:%M}"


def shown(text: str) -> str:
    """Member or registry text for the consoles: rich markup escaped and every invisible
    character written as its escape (rich passes ESC through, so ANSI sequences would work)."""
    return escape(visible(text))


class _State:
    config: Path | None = None
    settings: Settings | None = None
    resources: Resources | None = None


_state = _State()


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            metavar="FILE",
            help="Settings file (default: $IFN_CONFIG or ./ifn-campaign.toml).",
        ),
    ] = None,
) -> None:
    close_resources()
    _state.config = config
    _state.settings = None
    ctx.call_on_close(close_resources)  # the engine and clients go when the command ends


def config_file() -> Path | None:
    """The settings file in use (`--config`, $IFN_CONFIG or ./ifn-campaign.toml), if any."""
    return config_path(_state.config)


def settings() -> Settings:
    if _state.settings is None:
        _state.settings = load_settings(_state.config)
    return _state.settings


def resources() -> Resources:
    """The command's `Resources` (engine, secrets, clients), built from `settings()` once."""
    if _state.resources is None:
        _state.resources = Resources(settings())
    return _state.resources


def close_resources() -> None:
    """Dispose the command's engine and close its clients (Typer calls it at the end)."""
    if _state.resources is not None:
        _state.resources.close()
        _state.resources = None


def login_name() -> str:
    """Who runs the command, by the login name (`--by` names someone else)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name, no passwd entry: a container's odd user
        return "unknown"


def staff(by: str | None) -> str:
    """The actor a staff command records: 'staff:<--by, else the login name>'."""
    return staff_actor(by or login_name())


def unknown(what: str, value: str, valid: Iterable[str]) -> UnknownValueError:
    """The one wording for every refused value: `unknown X 'v'; valid: a, b, c`."""
    return UnknownValueError(f"unknown {what} {value!r}; valid: {', '.join(valid) or 'none'}")


ValidValues = Iterable[str] | Callable[[], Iterable[str]]


def one_of(what: str, valid: ValidValues) -> Callable[[Any], Any]:
    """A Typer callback that refuses any value outside `valid` (each one, for a repeatable
    option) with `unknown`'s message, as one `error:` line and exit status 1 like every other
    expected failure. `valid` may be a function: sets kept as data (campaign files, card
    templates) are read only when the option is given, from the settings in use."""

    def check(value: Any) -> Any:
        if value is None:
            return value
        allowed = list(valid() if callable(valid) else valid)
        for item in value if isinstance(value, list | tuple) else [value]:
            if item not in allowed:
                raise unknown(what, item, allowed)
        return value

    return check


def choices(values: Iterable[str]) -> str:
    """A static set as the metavar `--help` shows, the way click shows its choices."""
    return "[" + "|".join(values) + "]"
