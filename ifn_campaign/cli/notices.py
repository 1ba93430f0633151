"""Member notices: `notices list`, `notices send`, `notices resolve`, `notices retry`.

Thin over `ifn_campaign.notices.delivery`: staff see the outbox, send what is due now (as the
`notices` flow does every 15 minutes), decide a notice whose send was cut off (`uncertain`)
and try a failed one again."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from ifn_campaign.cli.base import (
    PUBLISH,
    ROW_ID_MAX,
    App,
    app,
    local_time,
    one_of,
    out,
    resources,
    settings,
    shown,
    zone_abbr,
)
from ifn_campaign.cli.tables import Col, Wide, print_table
from ifn_campaign.errors import MailServerDown, OptionsError
from ifn_campaign.models import NoticeMedium, NoticeState, utcnow
from ifn_campaign.notices.delivery import (
    SendReport,
    counts,
    resolve,
    retry,
    run_notices,
    waiting,
)
from ifn_campaign.notices.staff import (
    NoticeFilter,
    Overdue,
    overdue,
    pending_media,
    recent,
    refused_contacts,
)

notices_app = App(
    help="Notices to members: the outbox, send, resolve, retry.\n\n"
    "E-mails and Apprise messages telling members about their features. The `notices` flow "
    "sends them every 15 minutes; a send cut off after the server may have taken it is "
    "`uncertain` until the Sent folder or staff say whether it arrived.",
    no_args_is_help=True,
)
app.add_typer(notices_app, name="notices", rich_help_panel=PUBLISH)

STATES = [s.value for s in NoticeState]
NoticeId = Annotated[
    int,
    typer.Argument(metavar="ID", min=1, max=ROW_ID_MAX, help="The notice's id, as `list` shows."),
]


def _zone() -> ZoneInfo:
    return ZoneInfo(settings().planner.display_timezone)


@notices_app.command("list")
def list_notices(
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            metavar="STATE",
            help="Only notices in this state: " + ", ".join(STATES) + ".",
            callback=one_of("state", STATES),
        ),
    ] = None,
    limit: Annotated[int, typer.Option(metavar="N", min=1, help="Rows to show.")] = 50,
    wide: Wide = None,
) -> None:
    """The outbox, newest first, with why a notice waits or failed.

    Then the counts per state, refused addresses, and notices waiting too long
    (`notices.overdue_minutes`) or dropped as too late, with the last reason."""
    zone = _zone()
    abbr = zone_abbr(zone)
    with resources().session() as session:
        rows = [row.notice for row in recent(session, NoticeFilter(state=state), limit=limit)]
        per_state = counts(session)
        pending = {
            "e-mail" if medium == NoticeMedium.EMAIL else "Apprise"
            for medium in pending_media(session)
        } | {"notices are off"}
        refused = refused_contacts(session)
        late = overdue(session, settings(), utcnow())
    print_table(
        [
            Col("id", keep=True, justify="right"),
            Col("member", 2, keep=True),
            Col("kind", 3, keep=True),
            Col("medium", 2, keep=True),
            Col("to", 4, lines=1, min_width=16),
            Col("state", keep=True),
            Col("tries", 3, keep=True, justify="right"),
            Col(f"next try ({abbr})", 1, keep=True),
            Col(f"sent ({abbr})", 1, keep=True),
            Col("why", lines=3, min_width=24),
        ],
        [
            (
                str(n.id),
                shown(n.member_id),
                n.kind,
                n.medium,
                shown(n.to_address),
                n.state,
                str(n.attempts),
                local_time(n.next_attempt_at, zone) if n.state == NoticeState.PENDING else "",
                local_time(n.sent_at, zone),
                shown(n.last_error or ""),
            )
            for n in rows
        ],
        title=f"Notices{f' ({state})' if state else ''}: {len(rows)} shown",
        wide=wide,
    )
    out.print(", ".join(f"{n} {s}" for s, n in sorted(per_state.items())) or "no notices yet")
    for contact in refused:
        address = shown(contact.refused_address or "")
        reason = shown(contact.refused_reason or "")
        out.print(
            f"[red]{shown(contact.member_id)} {contact.medium}:[/] {address} refused "
            f"{local_time(contact.refused_at, zone)} ({reason}); nothing more goes there until "
            "the registry gives another address",
            soft_wrap=True,
        )
    for why in waiting(settings()):
        if per_state.get(NoticeState.PENDING) and any(m in why for m in pending):
            out.print(f"[yellow]{shown(why)}[/]", soft_wrap=True)
    if per_state.get(NoticeState.UNCERTAIN):
        out.print(
            "[yellow]uncertain:[/] check the sending mailbox, then "
            "`ifn-campaign notices resolve ID --sent` or `--not-sent`"
        )
    print_overdue(late, zone)


def print_overdue(late: Overdue | None, zone: ZoneInfo) -> None:
    """Notices waiting too long (the Today page's panel), in red: a mail server down for days
    keeps them waiting without a try counted, so nothing else would say so."""
    if late is None:
        return
    if late.count:
        out.print(
            f"[red]{late.count} notice(s) waiting too long[/] (more than "
            f"{settings().notices.overdue_minutes} minutes; the oldest queued "
            f"{local_time(late.oldest, zone)} {zone_abbr(zone)}): {shown(late.reason or '')}",
            soft_wrap=True,
        )
    if late.too_late:
        out.print(
            f"[yellow]{late.too_late} notice(s) dropped as too late in the last 7 days[/] "
            "(their moment passed while they waited): `ifn-campaign notices list --state dropped`",
            soft_wrap=True,
        )


def print_report(report: SendReport) -> None:
    for notice_id, why in report.failed:
        out.print(f"[red]notice {notice_id} failed:[/] {shown(why)}", soft_wrap=True)
    for notice_id, why in report.refused:
        out.print(f"[red]notice {notice_id}: address refused:[/] {shown(why)}", soft_wrap=True)
    for notice_id, why in report.uncertain:
        out.print(f"[yellow]notice {notice_id} uncertain:[/] {shown(why)}", soft_wrap=True)
    for notice_id, why in report.retry_later:
        out.print(f"[yellow]notice {notice_id} will be retried:[/] {shown(why)}", soft_wrap=True)
    for why in report.waiting:
        out.print(f"[yellow]{shown(why)}[/]", soft_wrap=True)
    out.print(
        f"{len(report.sent)} sent, {len(report.found_sent)} found already sent, "
        f"{len(report.retry_later)} to retry, {len(report.failed) + len(report.refused)} failed, "
        f"{len(report.uncertain)} uncertain, {len(report.dropped)} dropped"
    )


@notices_app.command("send")
def send(
    now: Annotated[
        bool,
        typer.Option("--now", help="Also try notices waiting for their next try (after a fix)."),
    ] = False,
) -> None:
    """Queue the notices due and send them, as the `notices` flow does."""
    res = resources()
    at = utcnow()
    with res.session() as session:
        queued, sent = run_notices(
            session, res.settings, secrets=res.secrets, now=at, waiting_too=now
        )
        late = overdue(session, res.settings, at)
    for line in queued.skipped:
        out.print(f"not told: {shown(line)}", soft_wrap=True)
    out.print(f"{queued.queued} queued, {queued.dropped} dropped as no longer applying")
    print_report(sent)
    print_overdue(late, _zone())
    if sent.mail_server is not None:
        raise MailServerDown(f"the mail server could not be used: {sent.mail_server}")


@notices_app.command("resolve")
def resolve_command(
    notice_id: NoticeId,
    sent: Annotated[
        bool, typer.Option("--sent", help="It arrived (found in the sending mailbox).")
    ] = False,
    not_sent: Annotated[
        bool, typer.Option("--not-sent", help="It did not arrive: send it again.")
    ] = False,
) -> None:
    """Decide an uncertain notice: it arrived, or send it again."""
    if sent == not_sent:
        raise OptionsError("say --sent or --not-sent (one of them)")
    with resources().session() as session:
        resolve(session, notice_id, sent=sent, now=utcnow())
    if sent:
        out.print(f"notice {notice_id} marked sent")
    else:
        out.print(f"notice {notice_id} goes again at the next send, with the same Message-ID")


@notices_app.command("retry")
def retry_command(notice_id: NoticeId) -> None:
    """Try a failed notice again, its tries counted from zero."""
    with resources().session() as session:
        notice, lifted = retry(session, notice_id, now=utcnow())
        member = notice.member_id
    out.print(f"notice {notice_id} goes again at the next send")
    if lifted:
        out.print(f"the refusal of {shown(member)}'s address is lifted: it is tried again")
