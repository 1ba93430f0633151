"""Publishing commands: `publish`, `reconcile`, `accounts reauthorised`."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy.orm import Session

from ifn_campaign.captions.writer import CHANNELS
from ifn_campaign.cli.base import PUBLISH, App, app, choices, one_of, out, resources, staff
from ifn_campaign.models import utcnow
from ifn_campaign.orchestration.stages import publish_stage, reconcile_stage
from ifn_campaign.posts.actions import reauthorise
from ifn_campaign.publishing.publisher import PublishReport

accounts_app = App(help="Platform accounts: re-authorisation.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts", rich_help_panel=PUBLISH)


def print_report(report: PublishReport) -> None:
    for post_id, why in report.failed:
        out.print(f"[red]post {post_id} failed:[/] {escape(why)}", soft_wrap=True)
    for post_id, why in report.needs_reauth:
        out.print(f"[red]post {post_id} needs re-authorisation:[/] {escape(why)}", soft_wrap=True)
    for post_id, why in report.retry_later:
        out.print(f"[yellow]post {post_id} will be retried:[/] {escape(why)}", soft_wrap=True)
    for post_id, why in report.missed:
        out.print(
            f"[red]post {post_id} missed:[/] {escape(why)}; see `ifn-campaign missed`",
            soft_wrap=True,
        )
    for post_id in report.replaced:
        out.print(f"post {post_id}: its earlier scheduled copy was deleted (moved or edited)")
    for post_id, when in report.moved:
        out.print(f"[yellow]post {post_id} moved to {when:%Y-%m-%d %H:%M} UTC[/] (limit reached)")
    out.print(
        f"{len(report.published)} published, {len(report.scheduled)} scheduled on the platform, "
        f"{len(report.retry_later)} to retry, {len(report.failed)} failed, "
        f"{len(report.needs_reauth)} need re-authorisation"
    )


@app.command("publish", rich_help_panel=PUBLISH)
def publish() -> None:
    """Publish every approved post that is due.

    Instagram posts go out now; Facebook and YouTube posts are scheduled natively on the
    platform. Cancelled or withdrawn posts already out are deleted first."""
    run = publish_stage(resources())
    removed = run.removed
    for post_id, why in removed.problems:
        out.print(f"[red]post {post_id} could not be taken down:[/] {escape(why)}", soft_wrap=True)
    if removed.removed:
        out.print(f"{len(removed.removed)} cancelled or withdrawn post(s) deleted on the platform")
    if removed.left_to_staff:
        out.print(
            f"{len(removed.left_to_staff)} post(s) to take down by hand: "
            "see `ifn-campaign takedowns`"
        )
    print_report(run.report)


@app.command("reconcile", rich_help_panel=PUBLISH)
def reconcile_command() -> None:
    """Confirm scheduled posts went live; fetch missing links.

    Also notices posts removed on the platform."""
    report = reconcile_stage(resources())
    for post_id, why in report.problems:
        out.print(f"[yellow]post {post_id}:[/] {escape(why)}", soft_wrap=True)
    for why, count in Counter(why for _, why in report.awaiting_reauth).items():
        out.print(f"[yellow]{count} post(s) left alone:[/] {escape(why)}", soft_wrap=True)
    out.print(
        f"{len(report.went_live)} went live, {len(report.links)} links fetched, "
        f"{len(report.removed)} removed on the platform"
    )


@accounts_app.command("reauthorised")
def reauthorised(
    channel: Annotated[
        str,
        typer.Argument(
            help="instagram, facebook or youtube.",
            metavar=choices(CHANNELS),
            callback=one_of("channel", CHANNELS),
        ),
    ],
    account: Annotated[str, typer.Argument(metavar="ACCOUNT", help="Account name, e.g. bpipi.")],
    by: Annotated[
        str | None, typer.Option("--by", metavar="NAME", help="Your name for the log.")
    ] = None,
) -> None:
    """Publish to an account again after storing a new token.

    Its posts waiting for re-authorisation are approved again."""
    with Session(resources().engine) as session:
        waiting = reauthorise(session, channel, account, actor=staff(by), now=utcnow())
        session.commit()
    out.print(f"{channel}/{account} re-authorised; {waiting} post(s) approved again")
