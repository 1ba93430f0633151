"""`ifn-campaign members`: the stored members, and what staff do for them beyond the registry:
the withdrawals members made on their own page (exported for the registry's owner) and
revoking a member's page links."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ifn_campaign.cli.base import (
    MEMBERS,
    App,
    app,
    local_time,
    one_of,
    out,
    resources,
    settings,
    shown,
    staff,
    zone_abbr,
)
from ifn_campaign.cli.tables import Col, Wide, print_table
from ifn_campaign.errors import FileAccessError, LedgerError
from ifn_campaign.files import write_atomically
from ifn_campaign.members import links
from ifn_campaign.members import withdrawal as member_withdrawal
from ifn_campaign.models import Member, MemberStatus, utcnow

members_app = App(
    help="List stored members; their page withdrawals and links.",
    invoke_without_command=True,
)
app.add_typer(members_app, name="members", rich_help_panel=MEMBERS)

STATUSES = [s.value for s in MemberStatus]


@members_app.callback()
def members(
    ctx: typer.Context,
    status: Annotated[
        str | None,
        typer.Option(
            help=f"Only members with this status: {', '.join(STATUSES)}.",
            metavar="STATUS",
            callback=one_of("member status", STATUSES),
        ),
    ] = None,
    limit: Annotated[int, typer.Option(metavar="N", help="Rows to show.")] = 50,
    wide: Wide = False,
) -> None:
    """List stored members.

    `members withdrawals` lists the members who withdrew on their own page, for the registry's
    owner; `members revoke-links ID` ends a member's page links."""
    if ctx.invoked_subcommand is not None:
        return
    engine = resources().engine
    zone = ZoneInfo(settings().planner.display_timezone)
    with Session(engine) as session:
        query = select(Member).order_by(Member.id).limit(limit)
        if status:
            query = query.where(Member.status == status)
        total = session.scalar(select(func.count()).select_from(Member)) or 0
        matching = total
        if status:
            counted = select(func.count()).select_from(Member).where(Member.status == status)
            matching = session.scalar(counted) or 0
        rows = [
            (
                shown(m.id),
                shown(m.business_name),
                shown(m.province or ""),
                shown(", ".join(m.actor_types)),
                shown(m.status),
                local_time(m.last_seen_at, zone),
            )
            for m in session.scalars(query)
        ]
    print_table(
        [
            Col("id", keep=True),
            Col("name"),
            Col("province", 2, lines=1, min_width=10),
            Col("actor types", 3, min_width=10),
            Col("status", keep=True),
            Col(f"last seen ({zone_abbr(zone)})", 1, keep=True),
        ],
        rows,
        title=_members_title(len(rows), matching, total, status),
        wide=wide,
    )


def _members_title(shown_rows: int, matching: int, total: int, status: str | None) -> str:
    """What the table holds: all of it, or the first N with the way to see more (50 rows under
    'Members (66 stored)' read as the whole list)."""
    if shown_rows < matching:
        which = f" {status}" if status else ""
        return f"Members: the first {shown_rows} of {matching}{which} (--limit N shows more)"
    if status:
        return f"Members: {matching} {status} of {total} stored"
    return f"Members ({total} stored)"


@members_app.command("withdrawals")
def withdrawals(
    csv: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            metavar="FILE",
            help="Also write them to FILE as CSV (UTF-8 with BOM, as the console's export).",
            dir_okay=False,
        ),
    ] = None,
    mark_reported: Annotated[
        bool,
        typer.Option(
            "--mark-reported",
            help="Record that the ones listed now went to the registry's owner.",
        ),
    ] = False,
    unreported: Annotated[
        bool, typer.Option("--unreported", help="Only those not yet reported.")
    ] = False,
    wide: Wide = False,
) -> None:
    """Members who withdrew consent on their own page, for the registry's owner.

    The registry stays the source of truth and learns of these only from this list: send it
    (--csv FILE), then --mark-reported records when. Only the ones listed are marked, and only
    once the file is written."""
    zone = ZoneInfo(settings().planner.display_timezone)
    with Session(resources().engine) as session:
        rows = member_withdrawal.withdrawals(session, unreported_only=unreported)
        if csv is not None:
            from ifn_campaign.console.pages.exports import csv_bytes

            header, cells = member_withdrawal.export_table(rows, zone)
            try:
                write_atomically(csv, csv_bytes(header, cells))
            except OSError as exc:
                raise FileAccessError(
                    f"cannot write {csv}: {exc.strerror or exc}; nothing was marked"
                ) from None
        marked = 0
        if mark_reported:
            now = utcnow()
            marked = member_withdrawal.mark_reported(session, [r.id for r in rows], now)
            session.commit()
            rows = [replace(r, reported_at=r.reported_at or now) for r in rows]
    abbr = zone_abbr(zone)
    waiting = sum(r.reported_at is None for r in rows)
    title = f"Withdrawals on the member page: {len(rows)} ({waiting} not yet reported)"
    print_table(
        [
            Col("member", keep=True),
            Col("name", 2),
            Col(f"withdrawn ({abbr})", keep=True),
            Col("source", 3),
            Col(f"reported ({abbr})", keep=True),
        ],
        [
            (
                shown(r.member_id),
                shown(r.business_name),
                local_time(r.at, zone),
                shown(r.source),
                local_time(r.reported_at, zone) if r.reported_at else "not yet",
            )
            for r in rows
        ],
        title=title,
        wide=wide,
    )
    if csv is not None:
        out.print(f"wrote {len(rows)} withdrawal(s) to {shown(str(csv))}")
    if mark_reported:
        out.print(f"marked {marked} withdrawal(s) as reported to the registry")


@members_app.command("revoke-links")
def revoke_links(
    member_id: Annotated[
        str, typer.Argument(metavar="MEMBER_ID", help="Registry id, e.g. ifn-0007.")
    ],
    by: Annotated[
        str | None,
        typer.Option("--by", metavar="NAME", help="Your name for the record (default: login)."),
    ] = None,
) -> None:
    """End every live link to a member's page (e.g. one forwarded to the wrong person).

    Their notices not yet sent are made again with a new link by the next notices run."""
    with Session(resources().engine) as session:
        if session.get(Member, member_id) is None:
            raise LedgerError(
                f"no member {member_id!r} stored: check the id (see `ifn-campaign members`)"
            )
        revoked = links.revoke_links(session, member_id, actor=staff(by), now=utcnow())
        session.commit()
    out.print(
        f"revoked {revoked.links} link(s) to the page of {shown(member_id)}; "
        f"{revoked.notices} notice(s) not yet sent will be made again with a new link"
    )
