"""`ifn-campaign report`: the campaign report as a page staff open in a browser, with a short
summary on the terminal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from ifn_campaign.cli.base import REPORTS, app, err, out, resources, settings
from ifn_campaign.cli.plan import local_day
from ifn_campaign.cli.tables import Col, print_table
from ifn_campaign.errors import InvalidValueError, OptionsError
from ifn_campaign.models import utcnow
from ifn_campaign.orchestration.stages import report_pdf, report_stage
from ifn_campaign.reports.page import month_window, window_text
from ifn_campaign.reports.pdf import PDF_NAMES
from ifn_campaign.reports.words import check_lang

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
    month: Annotated[
        str | None,
        typer.Option(
            metavar="YYYY-MM",
            help="A calendar month (in planner.display_timezone) instead of --since/--until; "
            "the page goes to report.dir/YYYY-MM/ unless --out says otherwise.",
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
    pdf: Annotated[
        bool,
        typer.Option("--pdf", help="Also print the page to a PDF (A4, WeasyPrint) beside it."),
    ] = False,
    lang: Annotated[
        str,
        typer.Option(
            metavar="id|en",
            help="Language of the page printed and of the PDF (both pages are always written).",
        ),
    ] = "id",
) -> None:
    """The campaign report as a page (Indonesian, English) and a PDF.

    What went out with its reach, reach per channel and week, fairness in features and in
    reach against membership, the best and worst slots, failures and what was done, members
    featured for the first time, the features ledger and every post with its card; a short
    summary is printed."""
    cfg = settings()
    chosen = check_lang(lang)
    zone = ZoneInfo(cfg.planner.display_timezone)
    if month is not None:
        if since or until:
            raise OptionsError("give --month or --since/--until, not both")
        # the data clock and the page's made-at are both the wall clock here
        start, end = month_window(month, zone, utcnow())
        default_folder = cfg.report.dir / month
    else:
        today = local_day(None, zone)
        start = local_day(since, zone, "--since") if since else today - timedelta(days=DAYS_BACK)
        # --until names the last day counted: slots before the next midnight
        end = (local_day(until, zone, "--until") if until else today + timedelta(DAYS_AHEAD)) + (
            timedelta(days=1)
        )
        default_folder = cfg.report.dir
    if end <= start:
        raise InvalidValueError(f"--until ({until}) is before --since ({since}): nothing to report")
    # --out is the user's: relative to the working directory, `~` expanded (--out=~/x is not)
    folder = out_dir.expanduser() if out_dir is not None else default_folder
    # a big month's PDF takes minutes: say each step (on stderr, the summary stays on stdout)
    progress = _progress if pdf else None
    now = utcnow()
    found, page = report_stage(
        resources(),
        since=start,
        until=end,
        out_dir=folder,
        now=now,
        lang=chosen,
        progress=progress,
    )

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
            title=f"{len(found.posts)} post{'' if len(found.posts) == 1 else 's'} "
            "by state and channel",
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
    reach = found.reach
    out.print(
        f"total reach: {reach.total:,} ({reach.read} of {len(reach.posts)} posts read; "
        "posts not read yet are not counted)"
    )
    out.print(f"report: {escape(str(page.resolve()))}", soft_wrap=True)
    if pdf:
        printed = report_pdf(
            cfg, found, page, folder / PDF_NAMES[chosen], now=now, lang=chosen, progress=progress
        )
        out.print(f"PDF: {escape(str(printed.resolve()))}", soft_wrap=True)


def _progress(line: str) -> None:
    err.print(f"[dim]{escape(line)}[/]", soft_wrap=True)
