"""`ifn-campaign showcase`: the public showcase, a static site of featured members, written to
a folder any static host serves."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ifn_campaign.cli.base import REPORTS, app, out, resources, settings
from ifn_campaign.errors import OptionsError
from ifn_campaign.models import utcnow
from ifn_campaign.showcase.site import build_showcase


@app.command("showcase", rich_help_panel=REPORTS)
def showcase(
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="DIR",
            help="Folder the site is written to, replaced whole; default: showcase.dir.",
        ),
    ] = None,
) -> None:
    """The public showcase: a static site of featured members.

    Their consented public fields, cards and post links, by province and by category, and a
    page of how fairly features spread; Indonesian, with English under en/. Plain files for
    any static host; the folder is replaced in one step, so a host never serves half a site."""
    cfg = settings()
    # --out is the user's: relative to the working directory, `~` expanded (--out=~/x is not)
    folder = out_dir.expanduser() if out_dir is not None else cfg.showcase.dir
    if folder is None:
        raise OptionsError(
            "give the folder with --out DIR, or set showcase.dir in the settings "
            "(IFN_SHOWCASE__DIR)"
        )
    res = resources()
    with res.session() as session:
        report = build_showcase(session, cfg, folder, now=utcnow())
    out.print(escape(report.line()), soft_wrap=True)
    for note in report.notes:
        out.print(f"[yellow]{escape(note)}[/]", soft_wrap=True)
    out.print(f"open: {escape(str(report.out / 'index.html'))}", soft_wrap=True)
