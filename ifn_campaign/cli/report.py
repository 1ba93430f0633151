"""`ifn-campaign report`: the campaign report as a page staff open in a browser, with a short
summary on the terminal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from ifn_campaign.cli.base import REPORTS, app, out, resources, settings
from ifn_campaign.cli.plan import local_day
from ifn_campaign.cli.tables import Col, print_table
from ifn_campaign.errors import InvalidValueError
from ifn_campaign.orchestration.stages import report_stage
from ifn_campaign.reports.page import window_text

DAYS_BACK = 30
DAYS_AHEAD = 14


@app.command("report", rich_help_panel=REPORTS)
def report(
    since: Annotated[
        str | None,
        typer.Option(
            metavar="DATE", help=f"First day, YYYY-MM-DD (default: {DAYS_BACK} days ago)."
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help=f"Last day counted, YYYY-MM-DD (default: {DAYS_AHEAD} days ahead).",
        ),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Folder for index.html (cards are linked, not copied); default: report.dir.",
        ),
    ] = None,
) -> None:
    """The campaign report as an HTML page.

    Every post in a period with its card, caption, reason, state, link and failures with what
    to do, and the features ledger; a short summary is printed."""
    cfg = settings()
    zone = ZoneInfo(cfg.planner.display_timezone)
    today = local_day(None, zone)
    start = local_day(since, zone, "--since") if since else today - timedelta(days=DAYS_BACK)
    # --until names the last day counted: slots before the next midnight
    end = (local_day(until, zone, "--until") if until else today + timedelta(DAYS_AHEAD)) + (
        timedelta(days=1)
    )
    if end <= start:
        raise InvalidValueError(f"--until ({until}) is before --since ({since}): nothing to report")
    # the data clock and the page's made-at are both the wall clock here
    # --out is the user's: relative to the working directory, `~` expanded (--out=~/x is not)
    folder = out_dir.expanduser() if out_dir is not None else cfg.report.dir
    found, page = report_stage(resources(), since=start, until=end, out_dir=folder)

    out.print(f"campaign report: {window_text(found, zone)}")
    if not found.posts:
        out.print("nothing was planned: no posts in this period")
    else:
        channels = list(found.by_channel)
        rows = []
        for state, total in found.by_state.items():
            per = [
                sum(1 for p in found.posts if p.state == state and p.channel == c) for c in channels
            ]
            rows.append((state, *(str(n) for n in per), str(total)))
        print_table(
            [
                Col("state", keep=True),
                *(Col(escape(channel), keep=True, justify="right") for channel in channels),
                Col("total", keep=True, justify="right"),
            ],
            rows,
            title=f"{len(found.posts)} posts by state and channel",
        )
    if found.failures:
        out.print(
            f"[red]{len(found.failures)} post(s) waiting on staff[/]: what to do is in the "
            "report and in `ifn-campaign status`"
        )
    led = found.ledger
    gap = f"{led.gap_days} days" if led.gap_days is not None else "nobody eligible waiting"
    out.print(
        f"features in the window: {led.features}; never featured: {led.never_featured}; "
        f"fairness gap: {gap}"
    )
    out.print(f"report: {escape(str(page.resolve()))}", soft_wrap=True)
