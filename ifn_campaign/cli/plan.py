"""Planner commands: `plan`, `calendar`, `campaigns`, `pin` / `unpin`, `exclude` / `include`."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.channels.channel import Channel
from ifn_campaign.cli.base import PLAN, app, one_of, out, resources, settings, unknown
from ifn_campaign.cli.tables import Col, Wide, print_table
from ifn_campaign.errors import ConfigError, InvalidValueError, PlanError
from ifn_campaign.models import LIVE_STATES, Exclusion, Feature, Pin, Post, utcnow
from ifn_campaign.orchestration.stages import plan_stage
from ifn_campaign.planner import pins
from ifn_campaign.planner.campaign import Campaign, campaign_paths, load_campaigns
from ifn_campaign.planner.pins import FIRST_DAY, LAST_DAY
from ifn_campaign.planner.plan import PlanResult
from ifn_campaign.posts import actions

_STYLE = {
    "planned": "green",
    "pinned": "cyan",
    "replaced": "yellow",
    "kept": "dim",
    "gap": "red",
}

# the window options `plan` and `calendar` share
Weeks = Annotated[
    int, typer.Option(min=1, max=104, metavar="N", help="How many weeks ahead (1 to 104).")
]
FromDay = Annotated[
    str | None,
    typer.Option("--from", metavar="DATE", help="First day, YYYY-MM-DD (default: today)."),
]


def campaign_files() -> list[str]:
    """The campaigns on file (`planner.campaigns_dir`), by name: a campaign's name is its file
    name, so the names are read without loading the files (a broken one is reported by the
    command that loads it, not by a typo check)."""
    cfg = settings()
    try:
        found = campaign_paths(cfg.planner.campaigns_dir, templates_dir=cfg.templates.dir)
    except ConfigError:  # no such folder: no campaigns on file (the loading command says why)
        return []
    return sorted(found)


def campaign_names() -> list[str]:
    """For filters over what is stored: the campaigns on file and every campaign the database
    still holds posts, features, pins or exclusions of (a finished campaign whose file was
    removed can still be looked at)."""
    names = set(campaign_files())
    with resources().session() as session:
        for column in (Post.campaign, Feature.campaign, Pin.campaign, Exclusion.campaign):
            names.update(name for name in session.scalars(select(column).distinct()) if name)
    return sorted(names)


ON_FILE = one_of("campaign", campaign_files)
STORED = one_of("campaign", campaign_names)
CHANNELS = [c.value for c in Channel]


def _campaigns(names: list[str] | None) -> list[Campaign]:
    cfg = settings()
    known = load_campaigns(cfg.planner.campaigns_dir, templates_dir=cfg.templates.dir)
    if not names:
        return list(known.values())
    for name in names:
        if name not in known:
            raise unknown("campaign", name, known)
    return [known[n] for n in names]


def _zone() -> ZoneInfo:
    return ZoneInfo(settings().planner.display_timezone)


def local_day(value: str | None, zone: ZoneInfo, option: str = "--from") -> datetime:
    if value is None:
        return datetime.combine(datetime.now(zone).date(), time(), zone)
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidValueError(f"{option} {value!r}: write a date as YYYY-MM-DD") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidValueError(
            f"{option} {value!r}: give a date between {FIRST_DAY} and {LAST_DAY}"
        )
    return datetime.combine(day, time(), zone)


def _show_time(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    label = local.tzname() if zone.key != "Asia/Jakarta" else "WIB"
    return f"{local:%a %Y-%m-%d %H:%M} {label}"


def print_plan(result: PlanResult, zone: ZoneInfo, english: bool, wide: bool | None = None) -> None:
    """The plan as a table: at 80 columns the reasons give way first (`--wide` shows them)."""
    print_table(
        [
            Col("slot", keep=True),
            Col("channel", 1, keep=True),
            Col("member", min_width=20),  # the id first: a long name is cut, never the id
            Col("reason", 2, min_width=20),
            Col("action", keep=True),
        ],
        [
            (
                _show_time(line.slot.at, zone),
                f"{line.slot.channel.value}/{escape(line.slot.account)}",
                f"{line.member_id} {escape(line.member_name or '')}" if line.member_id else "-",
                escape(line.reason_en if english else line.reason_id),
                f"[{_STYLE[line.action]}]{line.action}[/]",
            )
            for line in result.lines
        ],
        title=f"Plan: {escape(result.campaign)}",
        wide=wide,
    )
    for skipped in result.skipped:
        out.print(
            f"[dim]skipped {skipped.local:%a %Y-%m-%d %H:%M} {skipped.channel.value}: "
            f"{escape(skipped.reason_en if english else skipped.reason_id)}[/]"
        )
    for swap in result.slot_swaps:  # replace_weakest_slot: what the slot advice did
        out.print(
            f"[{'cyan' if swap.applied else 'dim'}]weekly slot {swap.channel.value}/"
            f"{escape(swap.account)}: {escape(swap.reason_en if english else swap.reason_id)}[/]",
            soft_wrap=True,
        )
    counts = ", ".join(
        f"{result.count(a)} {a}" for a in ("planned", "pinned", "replaced", "kept", "gap")
    )
    out.print(f"{escape(result.campaign)}: {counts}; {len(result.cancelled)} cancelled")


@app.command("plan", rich_help_panel=PLAN)
def plan(
    campaign: Annotated[
        list[str] | None,
        typer.Option(
            "--campaign",
            metavar="NAME",
            help="Campaign name (repeatable); default: every campaign.",
            callback=ON_FILE,
        ),
    ] = None,
    weeks: Weeks = 4,
    start: FromDay = None,
    seed: Annotated[
        int | None, typer.Option(metavar="N", help="Tie-break seed (default: the campaign's).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan; write nothing.")
    ] = False,
    english: Annotated[bool, typer.Option("--english", help="Reasons in English.")] = False,
    wide: Wide = False,
) -> None:
    """Create posts for the coming weeks and print the picks.

    Each post comes with the reason for its pick; a campaign that cannot be planned is named
    with the reason, and the others are planned."""
    zone = _zone()
    summary = plan_stage(
        resources(),
        weeks=weeks,
        start=local_day(start, zone),
        campaigns=campaign or None,
        seed=seed,
        dry_run=dry_run,
    )
    for result in summary.results:
        print_plan(result, zone, english, wide)
    if dry_run:
        out.print("[yellow]dry run[/]: nothing was written")
    if summary.failed:
        raise PlanError(
            "; ".join(f"campaign {name} not planned: {why}" for name, why in summary.failed)
        )


@app.command("calendar", rich_help_panel=PLAN)
def calendar(
    campaign: Annotated[
        str | None, typer.Option(metavar="NAME", help="Only this campaign.", callback=STORED)
    ] = None,
    weeks: Weeks = 4,
    start: FromDay = None,
    all_states: Annotated[
        bool, typer.Option("--all", help="Include cancelled and failed posts.")
    ] = False,
    english: Annotated[bool, typer.Option("--english", help="Reasons in English.")] = False,
    wide: Wide = False,
) -> None:
    """The posts of the coming weeks, in slot order.

    Every campaign and account together."""
    zone = _zone()
    begin = local_day(start, zone)
    end = begin + timedelta(weeks=weeks)
    with Session(resources().engine) as session:
        rows = actions.calendar_rows(
            session,
            begin,
            end,
            campaign=campaign or None,
            states=None if all_states else [s.value for s in LIVE_STATES],
        )
    cells = []
    for post in rows:
        name = post.member_name
        reason = post.reason_en if english else post.reason_id
        if post.cancel_reason:
            reason = f"{escape(reason)} [dim]({escape(post.cancel_reason)})[/]"
        else:
            reason = escape(reason)
        cells.append(
            (
                str(post.id),
                _show_time(post.slot_at, zone),
                escape(post.campaign),
                f"{post.channel}/{escape(post.account)}",
                f"{post.member_id} {escape(name)}",
                post.state + (" (pin)" if post.pinned else ""),
                reason,
            )
        )
    print_table(
        [
            Col("post", keep=True, justify="right"),
            Col("slot", keep=True),
            Col("campaign", 3, keep=True),
            Col("channel", 1, keep=True),
            Col("member", min_width=20),  # the id first: a long name is cut, never the id
            Col("state", keep=True),
            Col("reason", 2, min_width=20),
        ],
        cells,
        title=f"Calendar {begin:%Y-%m-%d} to {end - timedelta(days=1):%Y-%m-%d}",
        wide=wide,
    )
    if not rows:
        out.print("no posts in this period: run `ifn-campaign plan`")


@app.command("campaigns", rich_help_panel=PLAN)
def campaigns(wide: Wide = False) -> None:
    """The campaigns on file, with their channels and slots."""
    rows = []
    for c in _campaigns(None):
        slots = "\n".join(  # a channel a line
            f"{p.channel.value}/{p.account} "
            + ", ".join(
                f"{'/'.join(_DAY[d] for d in rule.days)} {rule.time:%H:%M}" for rule in p.slots
            )
            for p in c.channels
        )
        rows.append(
            (
                escape(c.name),
                escape(c.title),
                f"{c.start} to {c.end or 'open'}",
                escape(slots),
                f"{c.cooldown_days} d",
                "auto" if c.auto_approve else "staff",
            )
        )
    print_table(
        [
            Col("name", keep=True),
            Col("title", 2),
            Col("dates", 1, keep=True),
            Col("channels and slots", lines=0, min_width=28),
            Col("cooldown", 2, keep=True, justify="right"),
            Col("approval", 2, keep=True),
        ],
        rows,
        title="Campaigns",
        wide=wide,
    )


_DAY = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _local_at(when: str) -> datetime:
    """`--at` as written: a naive local time, in the range of dates staff may give."""
    try:
        local = datetime.strptime(when, "%Y-%m-%d %H:%M")
    except ValueError:
        raise InvalidValueError(
            f"--at {when!r}: write the slot as 'YYYY-MM-DD HH:MM' (local)"
        ) from None
    if not FIRST_DAY <= local.date() <= LAST_DAY:
        raise InvalidValueError(f"--at {when!r}: give a date between {FIRST_DAY} and {LAST_DAY}")
    return local


_CampaignOpt = Annotated[
    str, typer.Option("--campaign", metavar="NAME", help="Campaign name.", callback=ON_FILE)
]
_ChannelOpt = Annotated[
    str,
    typer.Option(
        "--channel",
        help="instagram, facebook or youtube.",
        metavar="CHANNEL",
        callback=one_of("channel", CHANNELS),
    ),
]
_AtOpt = Annotated[
    str,
    typer.Option("--at", metavar="TIME", help="Slot time 'YYYY-MM-DD HH:MM' (campaign time)."),
]
_AccountOpt = Annotated[str, typer.Option("--account", metavar="NAME", help="Account name.")]


@app.command("pin", rich_help_panel=PLAN)
def pin(
    member_id: Annotated[
        str, typer.Argument(metavar="MEMBER_ID", help="Registry id of the member to feature.")
    ],
    campaign: _CampaignOpt,
    channel_name: _ChannelOpt,
    at: _AtOpt,
    account: _AccountOpt = "bpipi",
    note: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Why (shown as the reason).")
    ] = None,
) -> None:
    """Feature a member in a given slot.

    A pin wins over the rotation (never over consent)."""
    chosen, channel = _campaigns([campaign])[0], Channel(channel_name)
    local = _local_at(at)
    with Session(resources().engine) as session:
        made = pins.pin(
            session, chosen, channel, account, local, member_id, note=note, now=utcnow()
        )
        name = pins.stored_member(session, made.member_id).business_name
        session.commit()
    out.print(
        f"pinned {escape(name)} ({member_id}) to {chosen.name} "
        f"{channel.value}/{account} at {at}; run `ifn-campaign plan --campaign {chosen.name}` "
        "to apply it"
    )


@app.command("unpin", rich_help_panel=PLAN)
def unpin(
    campaign: _CampaignOpt, channel_name: _ChannelOpt, at: _AtOpt, account: _AccountOpt = "bpipi"
) -> None:
    """Remove a staff pin.

    The planned post stays until the next `plan` (which keeps it)."""
    chosen, channel = _campaigns([campaign])[0], Channel(channel_name)
    local = _local_at(at)
    with Session(resources().engine) as session:
        pins.unpin(session, chosen, channel, account, local)
        session.commit()
    out.print(f"unpinned {chosen.name} {channel.value}/{account} at {at}")


@app.command("exclude", rich_help_panel=PLAN)
def exclude(
    member_id: Annotated[str, typer.Argument(metavar="MEMBER_ID", help="Registry id.")],
    reason: Annotated[
        str, typer.Option(metavar="TEXT", help="Why (shown to staff and in replaced posts).")
    ],
    campaign: Annotated[
        str | None,
        typer.Option(
            metavar="NAME", help="Only this campaign (default: every campaign).", callback=ON_FILE
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(metavar="DATE", help="Until this date, YYYY-MM-DD (default: until lifted)."),
    ] = None,
) -> None:
    """Keep a member out of the rotation.

    The next `plan` replaces their planned posts."""
    if campaign is not None:
        _campaigns([campaign])
    end = None
    if until is not None:
        end = local_day(until, _zone(), "--until")
    with Session(resources().engine) as session:
        pins.exclude(session, member_id, reason=reason, campaign=campaign, until=end, now=utcnow())
        name = pins.stored_member(session, member_id).business_name
        session.commit()
    scope = f"campaign {campaign}" if campaign else "every campaign"
    out.print(
        f"excluded {escape(name)} ({member_id}) from {scope}"
        + (f" until {until}" if until else "")
        + "; run `ifn-campaign plan` to replace their planned posts"
    )


@app.command("include", rich_help_panel=PLAN)
def include(
    member_id: Annotated[str, typer.Argument(metavar="MEMBER_ID", help="Registry id.")],
    campaign: Annotated[
        str | None,
        typer.Option(
            metavar="NAME", help="Only lift the exclusion from this campaign.", callback=STORED
        ),
    ] = None,
) -> None:
    """Lift a member's exclusions (all, or one campaign's)."""
    with Session(resources().engine) as session:
        lifted = pins.include(session, member_id, campaign=campaign, now=utcnow())
        session.commit()
    out.print(f"lifted {lifted} exclusion(s) of {member_id}")
