"""Insights: `insights read` (one run now, as the hourly `insights` flow does) and `insights show
POST_ID` (a post's figures at each mark). Thin over `ifn_campaign.insights`."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from ifn_campaign.cli.base import (
    REPORTS,
    ROW_ID_MAX,
    App,
    app,
    local_time,
    out,
    resources,
    settings,
    shown,
    zone_abbr,
)
from ifn_campaign.cli.tables import Col, Wide, print_table
from ifn_campaign.config import mark_delta
from ifn_campaign.errors import UnknownValueError
from ifn_campaign.insights.figures import post_readings
from ifn_campaign.insights.reader import run_insights
from ifn_campaign.models import Post, utcnow

insights_app = App(
    help="Each post's reach and figures, read back from its platform.\n\n"
    "The `insights` flow reads them every hour (insights.read_after: 1h, 1d, 7d, 28d by "
    "default), in batches, within the publisher's platform blocks and a share of YouTube's "
    "daily quota.",
    no_args_is_help=True,
)
app.add_typer(insights_app, name="insights", rich_help_panel=REPORTS)

_STYLE = {"read": "green", "retry": "yellow", "gone": "red", "missed": "yellow", "failed": "red"}


def _limit(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= 100_000:
        raise typer.BadParameter(f"--limit is 1 to 100,000, not {value}")
    return value


@insights_app.command("read")
def read(
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            metavar="N",
            help="Read at most N readings now (1 to 100,000).",
            callback=_limit,
        ),
    ] = None,
) -> None:
    """Read the figures now due, once, and say what was read, skipped and why."""
    report = run_insights(resources(), limit=limit)
    for o in report.outcomes:
        style = _STYLE.get(o.state, "white")
        out.print(
            f"[{style}]post {o.post_id} {o.channel} {o.mark}: {o.state}[/] {shown(o.detail)}",
            soft_wrap=True,
        )
    for why in report.waiting:
        out.print(f"[yellow]not called:[/] {shown(why)}", soft_wrap=True)
    calls = ", ".join(f"{c} {n}" for c, n in sorted(report.calls.items())) or "none"
    out.print(
        f"{report.read} read, {report.count('retry')} to retry, {report.count('gone')} gone, "
        f"{report.count('missed')} missed, {report.count('failed')} failed; "
        f"platform calls: {calls}; YouTube units: {report.youtube_units}"
    )
    if not report.outcomes and not report.waiting:
        out.print("nothing due: every published post is read up to its latest mark")


@insights_app.command("show")
def show(
    post_id: Annotated[
        int,
        typer.Argument(
            metavar="POST_ID", min=1, max=ROW_ID_MAX, help="The post's id, as `status` shows."
        ),
    ],
    wide: Wide = None,
) -> None:
    """A post's figures over time: each mark, when it was read and every figure."""
    zone = ZoneInfo(settings().planner.display_timezone)
    abbr = zone_abbr(zone)
    with resources().session() as session:
        post = session.get(Post, post_id)
        if post is None:
            raise UnknownValueError(f"no post {post_id}: see `ifn-campaign status` for the ids")
        series = post_readings(session, post_id)
        marks = settings().insights.read_after
    live = post.published_at
    out.print(
        f"post {post_id}: {post.channel} {shown(post.account)}, {post.state}"
        + (f", live {local_time(live, zone)} {abbr}" if live else ", not live")
        + (f", remote id {shown(post.remote_id)}" if post.remote_id else "")
        + (
            f", [red]deleted on the platform (seen {local_time(post.remote_gone_at, zone)} "
            f"{abbr})[/]"
            if post.remote_gone_at
            else ""
        ),
        soft_wrap=True,
    )
    rows = []
    for r in series:
        when = local_time(r.read_at, zone) if r.read_at else ""
        if r.state == "retry" and r.next_attempt_at:
            when = f"again {local_time(r.next_attempt_at, zone)}"
        figures = ", ".join(f"{name} {value:,}" for name, value in r.metrics.items())
        rows.append(
            [
                r.mark,
                local_time(r.due_at, zone),
                r.state,
                when,
                f"{r.reach:,}" if r.reach is not None else "",
                shown(figures or (r.last_error or "")),
            ]
        )
    stored = {r.mark for r in series}
    now = utcnow()
    if live is not None and post.remote_id and post.remote_gone_at is None:
        for mark in marks:
            if mark not in stored:
                due = live + mark_delta(mark)
                state = "due" if due <= now else "to come"
                rows.append([mark, local_time(due, zone), state, "", "", ""])
    if not rows:
        out.print("no readings: the post never went live on its platform")
        return
    print_table(
        [
            Col("mark", keep=True),
            Col(f"due ({abbr})", keep=True),
            Col("state", keep=True),
            Col(f"read ({abbr})", keep=True, priority=2),
            Col("reach", keep=True, justify="right"),
            Col("figures", lines=0, priority=1),
        ],
        rows,
        wide=wide,
    )
