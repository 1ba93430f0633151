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
    App,
    app,
    choices,
    local_time,
    one_of,
    out,
    resources,
    settings,
    zone_abbr,
)
from ifn_campaign.cli.plan import STORED, local_day
from ifn_campaign.cli.tables import Col, Fitted, Wide, fit, print_table, show
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
    """A member's every post and feature, newest first.

    Every state, why each post was picked and why one was cancelled or taken down."""
    zone = _zone()
    abbr = zone_abbr(zone)
    with _session() as session:
        entries = ledger.member_history(session, member_id)
    rows = []
    for e in entries:
        why = e.reason_id if lang == "id" else e.reason_en
        if e.cancel_reason:
            why += f"\ncancelled: {e.cancel_reason}"
        if e.taken_down_at:
            why += f"\ntaken down {local_time(e.taken_down_at, zone)}"
        elif e.takedown_requested_at:
            why += f"\ntakedown requested {local_time(e.takedown_requested_at, zone)}"
        rows.append(
            (
                str(e.post_id),
                local_time(e.slot_at, zone),
                escape(e.campaign),
                e.channel,
                e.state,
                escape(why),
                local_time(e.featured_at, zone),
                escape(e.permalink or ""),
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
            Col("permalink", 3, lines=0, min_width=24),  # folded, never cut
        ],
        rows,
        title=f"History of {escape(member_id)}: {_n(len(entries), 'post')}",
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
) -> None:
    """Features per province, category or actor type.

    A member counts under their primary category and actor type; --since and --until bound the
    period."""
    dimension = By(dimension_name)
    zone = _zone()
    start = local_day(since, zone, "--since") if since else None
    # --until names the last day counted: features before the next midnight
    end = local_day(until, zone, "--until") + timedelta(days=1) if until else None
    with _session() as session:
        tallies = ledger.features_by(
            session,
            "actor_type" if dimension is By.ACTOR_TYPE else dimension.value,  # type: ignore[arg-type]
            start,
            end,
            campaign,
        )
    period = f"{start:%Y-%m-%d}" if start else "the start"
    period += f" to {end - timedelta(days=1):%Y-%m-%d}" if end else " to now"
    where = f", {escape(campaign)}" if campaign else ""
    total = sum(t.count for t in tallies)
    print_table(
        [Col(dimension.value), Col("features", keep=True, justify="right")],
        [(escape(t.label), str(t.count)) for t in tallies],
        title=f"{_n(total, 'feature')} by {dimension.value}, {period}{where}",
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
        int, typer.Argument(metavar="POST_ID", help="The post's id, as `takedowns` lists it.")
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
