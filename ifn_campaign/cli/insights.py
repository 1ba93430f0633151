"""Insights: `insights read` (one run now, as the hourly `insights` flow does) and `insights show
POST_ID` (a post's figures at each mark). Thin over `ifn_campaign.insights`."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from ifn_campaign.channels.channel import Channel
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
from ifn_campaign.insights.figures import MAIN_METRICS, REACH_METRIC, Reading, post_readings
from ifn_campaign.insights.lateness import age_label, tolerance
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
    wide: Wide = False,
) -> None:
    """A post's figures over time: each mark, when it was read (late or not) and every figure.

    Two tables, so a long metric name (Facebook's post_total_media_view_unique) is never
    broken at 80 columns: the readings, then each figure as a row with a column per mark."""
    zone = ZoneInfo(settings().planner.display_timezone)
    abbr = zone_abbr(zone)
    with resources().session() as session:
        post = session.get(Post, post_id)
        if post is None:
            raise UnknownValueError(f"no post {post_id}: see `ifn-campaign status` for the ids")
        series = post_readings(session, post_id)
        insights = settings().insights
        marks = insights.read_after
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
    late_marks: set[str] = set()
    for r in series:
        when = local_time(r.read_at, zone) if r.read_at else ""
        if r.state == "retry" and r.next_attempt_at:
            when = f"again {local_time(r.next_attempt_at, zone)}"
        state, note = r.state, shown(r.last_error or "")
        if (late := r.late_by(insights)) is not None:
            late_marks.add(r.mark)
            allowed = tolerance(r.mark, insights)
            state = "[yellow]read late[/]"
            note = (
                f"taken {age_label(late)} after its mark (late after "
                f"{age_label(allowed) if allowed else '?'}): not a {r.mark} figure"
            )
        rows.append(
            [
                r.mark,
                local_time(r.due_at, zone),
                state,
                when,
                f"{r.reach:,}" if r.reach is not None else "",
                note,
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
            Col(f"due ({abbr})", keep=True, priority=2),  # live + mark: the line above says
            Col("state", keep=True),
            Col(f"read ({abbr})", keep=True),
            Col("reach", keep=True, justify="right"),
            Col("note", lines=0, priority=1),
        ],
        rows,
        wide=wide,
    )
    _print_figures(str(post.channel), series, late_marks, wide)


def _print_figures(
    channel: str, series: list[Reading], late_marks: set[str], wide: bool | None
) -> None:
    """Every figure read, one row each, one column per mark read: reach's metric first, then
    the channel's main figures, then the rest by name. The earliest marks give way first."""
    read = [r for r in series if r.metrics]
    if not read:
        return
    names = sorted({name for r in read for name in r.metrics})
    known = Channel(channel) if channel in set(Channel) else None
    first = [REACH_METRIC[known], *MAIN_METRICS[known]] if known else []
    names = [n for n in first if n in names] + [n for n in names if n not in first]
    columns = [Col("figure", keep=True)] + [
        Col(
            f"{r.mark} late" if r.mark in late_marks else r.mark,
            priority=len(read) - 1 - i,
            keep=True,
            justify="right",
        )
        for i, r in enumerate(read)
    ]
    rows = [
        [shown(name)] + [f"{r.metrics[name]:,}" if name in r.metrics else "" for r in read]
        for name in names
    ]
    print_table(columns, rows, wide=wide)
