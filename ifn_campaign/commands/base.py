"""What every command shares: the Typer app, the consoles and the settings loaded once."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from ifn_campaign.config import Settings, config_path, load_settings
from ifn_campaign.display import visible
from ifn_campaign.errors import IFNError

app = typer.Typer(
    help="Promote Indonesia Footwear Network members on Instagram, Facebook and YouTube.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def shown(text: str) -> str:
    """Member or registry text for the consoles: rich markup escaped and every invisible
    character written as its escape (rich passes ESC through, so ANSI sequences would work)."""
    return escape(visible(text))


class _State:
    config: Path | None = None
    settings: Settings | None = None


_state = _State()


@app.callback()
def _root(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Settings file (default: $IFN_CONFIG or ./ifn-campaign.toml)."
        ),
    ] = None,
) -> None:
    _state.config = config
    _state.settings = None


def config_file() -> Path | None:
    """The settings file in use (`--config`, $IFN_CONFIG or ./ifn-campaign.toml), if any."""
    return config_path(_state.config)


def settings() -> Settings:
    if _state.settings is None:
        _state.settings = load_settings(_state.config)
    return _state.settings


class UnknownValueError(IFNError):
    """An option or argument given a value outside its closed set (a typo such as `--lang fr`
    or `--status activ` would otherwise print Indonesian, or an empty table, without a word)."""


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
