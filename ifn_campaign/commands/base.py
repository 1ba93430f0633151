"""What every command shares: the Typer app, the consoles and the settings loaded once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ifn_campaign.config import Settings, config_path, load_settings
from ifn_campaign.display import visible

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
