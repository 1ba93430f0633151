"""Commands on the features ledger and consent takedowns: `history`, `ledger ...`, `takedowns`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from sqlalchemy.orm import Session

from ifn_campaign.cli.base import (
    PUBLISH,
    REPORTS,
    ROW_ID_MAX,
    App,
    app,
    choices,
    local_time,
    one_of,
    out,
    resources,
    settings,
    shown,
    zone_abbr,
)
from ifn_campaign.cli.plan import STORED, local_day
from ifn_campaign.cli.tables import Col, Fitted, Wide, fit, print_table, show
from ifn_campaign.config import InsightsSettings
from ifn_campaign.insights.figures import REACH_METRIC, main_figures
from ifn_campaign.insights.lateness import age_label
from ifn_campaign.models import utcnow
from ifn_campaign.posts import ledger, withdrawal

ledger_app = App(
    help="The features ledger: never featured, per group, the gap.\n\n"
    "Who was never featured, features per province, category or actor type, and the fairness "
    "gap.",
    no_args_is_help=True,
)
takedowns_app = App(
    help="Published posts to take down after a consent withdrawal.\n\n"
    "Take them down by hand (Instagram has no delete API), then run "
    "`ifn-campaign takedowns done POST_ID`.",
    invoke_without_command=True,
)
app.add_typer(ledger_app, name="ledger", rich_help_panel=REPORTS)
app.add_typer(takedowns_app, name="takedowns", rich_help_panel=PUBLISH)

Campaign = Annotated[
    str | None,
    typer.Option(metavar="NAME", help="Only features of this campaign.", callback=STORED),
]
Limit = Annotated[int, typer.Option(metavar="N", help="Rows to show.")]
# dates are checked as `plan --from` and `report --since` check theirs: one `error:` line
Since = Annotated[
    str | None,
    typer.Option(metavar="DATE", help="First day counted, YYYY-MM-DD (display time zone)."),
]
Until = Annotated[
    str | None,
    typer.Option(metavar="DATE", help="Last day counted, YYYY-MM-DD (display time zone)."),
]
LANGUAGES = ("en", "id")


class By(StrEnum):
    PROVINCE = "province"
    CATEGORY = "category"
    ACTOR_TYPE = "actor-type"


DIMENSIONS = [b.value for b in By]


@contextmanager
def _session() -> Iterator[Session]:
    with resources().session() as session:
        yield session


def _zone() -> ZoneInfo:
    return ZoneInfo(settings().planner.display_timezone)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _figures(entry: ledger.HistoryEntry, zone: ZoneInfo, insights: InsightsSettings) -> str:
    """What a feature reached at its latest reading (said late when it was), its channel's
    main figures, or that it has not been read yet; and when it went from the platform. '' for
    a post that never went out."""
    lines = []
    if entry.figures is not None:
        f = entry.figures
        reach = "no reach figure" if f.reach is None else f"reach {f.reach:,}"
        late = f.late_by(insights)
        when = f"read {local_time(f.read_at, zone)}"
        if late is not None:
            when = f"read late, {age_label(late)} after the mark, {local_time(f.read_at, zone)}"
        lines.append(f"{reach} ({f.mark}, {when})")
        if main := main_figures(entry.channel, f):
            lines.append(" · ".join(f"{name} {value:,}" for name, value in main))
    elif entry.featured_at is not None:
        lines.append("not read yet")
    if entry.remote_gone_at is not None:
        lines.append(f"gone from the platform {local_time(entry.remote_gone_at, zone)}")
    return "\n".join(shown(line) for line in lines)


@app.command("history", rich_help_panel=REPORTS)
def history(
    member_id: Annotated[
        str, typer.Argument(metavar="MEMBER_ID", help="Registry id, e.g. ifn-0007.")
    ],
    lang: Annotated[
        str,
        typer.Option(
            help="Language of the reasons: en or id.",
            metavar=choices(LANGUAGES),
            callback=one_of("language", LANGUAGES),
        ),
    ] = "en",
    wide: Wide = False,
) -> None:
    """A member's posts and features, newest first, with their reach.

    Every state, why each post was picked and why one was cancelled or taken down; each
    feature's latest figures (reach, likes, comments...), "not read yet", or "gone from the
    platform"."""
    zone = _zone()
    abbr = zone_abbr(zone)
    insights = settings().insights
    with _session() as session:
        entries = ledger.member_history(session, member_id)
    rows = []
    for e in entries:
        why = [e.reason_id if lang == "id" else e.reason_en]
        if e.cancel_reason:
            why.append(f"cancelled: {e.cancel_reason}")
        if e.taken_down_at:
            why.append(f"taken down {local_time(e.taken_down_at, zone)}")
        elif e.takedown_requested_at:
            why.append(f"takedown requested {local_time(e.takedown_requested_at, zone)}")
        rows.append(
            (
                str(e.post_id),
                local_time(e.slot_at, zone),
                shown(e.campaign),
                e.channel,
                e.state,
                "\n".join(shown(line) for line in why),
                local_time(e.featured_at, zone),
                _figures(e, zone, insights),
                shown(e.permalink or ""),
            )
        )
    print_table(
        [
            Col("post", keep=True, justify="right"),
            Col(f"slot ({abbr})", keep=True),
            Col("campaign", 3, keep=True),
            Col("channel", 1, keep=True),
            Col("state", keep=True),
            # the member's record: every reason whole; wide enough for 'takedown requested <date>'
            Col("why", lines=0, min_width=30),
            Col(f"featured ({abbr})", 2, keep=True),
            # 'reach 1,234 (7d, read <date>)' and the main figures: whole, folded
            Col(f"figures ({abbr})", 1, lines=0, min_width=24),
            Col("permalink", 3, lines=0, min_width=24),  # folded, never cut
        ],
        rows,
        title=f"History of {shown(member_id)}: {_n(len(entries), 'post')}",
        wide=wide,
    )


def _waiting_table(title: str, rows: list[ledger.Waiting], zone: ZoneInfo, wide: bool) -> Fitted:
    abbr = zone_abbr(zone)
    return fit(
        [
            Col("member", keep=True),
            Col("name"),
            Col("province", 2, lines=1, min_width=10),
            Col(f"last featured ({abbr})", 1, keep=True),
            Col(f"waiting since ({abbr})", 1, keep=True),
            Col("days", keep=True, justify="right"),
        ],
        [
            (
                escape(w.member_id),
                escape(w.business_name),
                escape(w.province or ""),
                local_time(w.last_featured_at, zone) or "never",
                local_time(w.waiting_since, zone),
                str(w.days),
            )
            for w in rows
        ],
        title=title,
        wide=wide,
    )


@ledger_app.command("never-featured")
def never_featured(campaign: Campaign = None, limit: Limit = 50, wide: Wide = False) -> None:
    """Members never featured, longest waiting first.

    Active, consenting members never featured (in the campaign, with --campaign)."""
    with _session() as session:
        found = ledger.never_featured(session, campaign)
    where = f" in {escape(campaign)}" if campaign else ""
    title = f"{_n(len(found), 'member')} never featured{where}"
    if len(found) > limit:
        title += f" (first {limit})"
    show(_waiting_table(title, found[:limit], _zone(), wide))


@ledger_app.command("gap")
def gap(campaign: Campaign = None, limit: Limit = 10, wide: Wide = False) -> None:
    """The fairness gap: who has waited longest for a feature.

    The eligible members (active, consenting, with a channel), longest waits first."""
    with _session() as session:
        found = ledger.fairness_gap(session, utcnow(), campaign, limit)
    if not found:
        out.print("no eligible members (active, consenting, with a channel)")
        return
    where = f" in {escape(campaign)}" if campaign else ""
    title = f"Fairness gap{where}: {found[0].days} days (longest waits first)"
    show(_waiting_table(title, found, _zone(), wide))


def _median(value: float | None) -> str:
    """A median as staff read it: whole when it is, else one decimal ('—' when nothing read)."""
    if value is None:
        return "—"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


REACH_MEANS = ", ".join(f"{channel} {metric}" for channel, metric in REACH_METRIC.items())


@ledger_app.command("by")
def by(
    dimension_name: Annotated[
        str,
        typer.Argument(
            help="province, category or actor-type.",
            metavar=choices(DIMENSIONS),
            callback=one_of("dimension", DIMENSIONS),
        ),
    ],
    since: Since = None,
    until: Until = None,
    campaign: Campaign = None,
    wide: Wide = False,
) -> None:
    """Features and reach per province, category or actor type.

    A member counts under their primary category and actor type; --since and --until bound the
    period. Each group's share of the features and of the reach beside its share of the active,
    consenting members (counted now). Reach is each feature's latest reading; features not read
    yet are counted apart, never as 0."""
    dimension = By(dimension_name)
    zone = _zone()
    start = local_day(since, zone, "--since") if since else None
    # --until names the last day counted: features before the next midnight
    end = local_day(until, zone, "--until") + timedelta(days=1) if until else None
    with _session() as session:
        shares = ledger.shares_by(
            session,
            "actor_type" if dimension is By.ACTOR_TYPE else dimension.value,  # type: ignore[arg-type]
            utcnow(),
            start,
            end,
            campaign,
            with_reach=True,
        )
    period = f"{start:%Y-%m-%d}" if start else "the start"
    period += f" to {end - timedelta(days=1):%Y-%m-%d}" if end else " to now"
    where = f", {shown(campaign)}" if campaign else ""
    total = sum(t.features for t in shares)
    reached = sum(t.reach.total for t in shares if t.reach)
    unread = sum(t.reach.unread for t in shares if t.reach)
    rows = []
    for t in shares:
        assert t.reach is not None and t.reach_gap is not None  # asked for with_reach
        rows.append(
            (
                shown(t.label),
                str(t.features),
                f"{t.feature_share:.0%}",
                f"{t.reach.total:,}" if t.reach.read else "—",
                _median(t.reach.median),
                str(t.reach.unread),
                str(t.members),
                f"{t.member_share:.0%}",
                f"{t.reach.share:.0%}" if reached else "—",
                f"{t.reach_gap:+.0%}" if reached else "—",
            )
        )
    print_table(
        [
            Col(dimension.value),
            Col("features", keep=True, justify="right"),
            Col("share", 2, keep=True, justify="right"),
            Col("reach", 1, keep=True, justify="right"),
            # per feature read: features not read yet are left out, never counted as 0
            Col("median", 2, keep=True, justify="right"),
            Col("not read", 1, keep=True, justify="right"),
            # the active, consenting members: the pool features are drawn from
            Col("members", 3, keep=True, justify="right"),
            Col("of members", keep=True, justify="right"),
            Col("of reach", keep=True, justify="right"),
            # below 0: the group reached fewer people than its share of the members
            Col("reach gap", 2, keep=True, justify="right"),
        ],
        rows,
        title=f"{_n(total, 'feature')} by {dimension.value}, {period}{where}: "
        f"reach {reached:,}, {unread} not read yet",
        wide=wide,
    )
    out.print(
        f"reach: each feature's latest reading ({REACH_MEANS}); median per feature read; "
        "reach gap: share of reach minus share of members (below 0: less than its share)"
    )
    if dimension is not By.PROVINCE:
        out.print(
            f"a member with several {'categories' if dimension is By.CATEGORY else 'actor types'}"
            " counts under the first one listed"
        )


@takedowns_app.callback()
def takedowns(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Include posts already taken down.")] = False,
    wide: Wide = False,
) -> None:
    """Published posts to take down after a consent withdrawal.

    The member withdrew consent for their channel: take them down by hand (Instagram has no
    delete API), then run `ifn-campaign takedowns done POST_ID`."""
    if ctx.invoked_subcommand is not None:
        return
    zone = _zone()
    abbr = zone_abbr(zone)
    with _session() as session:
        found = withdrawal.takedowns(session, include_done=all_)
    title = f"{_n(len(found), 'published post')} to take down" + (" or taken down" if all_ else "")
    columns = [
        Col("post", keep=True, justify="right"),
        Col("member", keep=True),
        Col("name", 2),
        Col("channel", 1, keep=True),
        Col("account", 3, keep=True),
        Col("permalink", lines=0, min_width=24),  # what staff open to take it down: folded, whole
        Col(f"requested ({abbr})", keep=True),
    ]
    if all_:
        columns.append(Col(f"taken down ({abbr})", keep=True))
    rows = []
    for t in found:
        row = [
            str(t.post_id),
            escape(t.member_id),
            escape(t.business_name or ""),
            t.channel,
            escape(t.account),
            escape(t.permalink or "(no permalink recorded)"),
            local_time(t.requested_at, zone),
        ]
        rows.append([*row, *([local_time(t.taken_down_at, zone)] if all_ else [])])
    print_table(columns, rows, title=title, wide=wide)


@takedowns_app.command("done")
def takedowns_done(
    post_id: Annotated[
        int,
        typer.Argument(
            metavar="POST_ID",
            min=1,
            max=ROW_ID_MAX,
            help="The post's id, as `takedowns` lists it.",
        ),
    ],
) -> None:
    """Record that staff took a published post down."""
    zone = _zone()
    with _session() as session:
        post, changed = withdrawal.mark_taken_down(session, post_id, utcnow())
        session.commit()
        when = local_time(post.taken_down_at, zone)
    abbr = zone_abbr(zone)
    if changed:
        out.print(f"post {post_id} marked as taken down at {when} {abbr}")
    else:
        out.print(f"post {post_id} was already marked as taken down at {when} {abbr}")
