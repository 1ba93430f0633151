"""`ifn-campaign doctor`: one line per check, what is missing and how to fix it."""

from __future__ import annotations

from collections import Counter

import typer
from rich.text import Text

from ifn_campaign.cli.base import SETUP, app, config_file, out, resources, settings
from ifn_campaign.errors import ConfigError
from ifn_campaign.orchestration.doctor import Check, Status, failed, run_checks

STYLES: dict[Status, str] = {"ok": "green", "warn": "yellow", "fail": "bold red"}


@app.command("doctor", rich_help_panel=SETUP)
def doctor() -> None:
    """Check everything needed before going live.

    Settings, database, accounts and their tokens, media host and Prefect, one line each; exit
    status 1 when a check fails (warnings do not fail)."""
    try:
        cfg = settings()
    except ConfigError as exc:  # the one check that stops the others: nothing else can be read
        checks = [Check("settings", "fail", str(exc), "correct the file or the IFN_ variable")]
    else:
        checks = run_checks(cfg, config_file=config_file(), secrets=resources().secrets)
    for check in checks:
        # Text, not markup: messages quote URLs and [accounts...] tables verbatim; soft_wrap
        # keeps each check on one line whatever the terminal's width.
        out.print(Text(check.line(), style=STYLES[check.status]), soft_wrap=True)
    counts = Counter(c.status for c in checks)
    summary = f"{counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failed"
    if failed(checks):
        out.print(
            f"{summary}: fix the FAIL lines, then run `ifn-campaign doctor` again", soft_wrap=True
        )
        raise typer.Exit(1)
    out.print(f"{summary}: ready", soft_wrap=True)
