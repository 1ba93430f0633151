"""`ifn-campaign slots advise`: reach per weekday and hour on one account, from its own history,
and what it says about the slots the campaigns have there (ifn_campaign/insights/slot_advice.py)."""

from __future__ import annotations

from datetime import time
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape

from ifn_campaign.channels.channel import Channel
from ifn_campaign.cli.base import PLAN, App, app, out, resources, settings, shown
from ifn_campaign.cli.plan import ON_FILE
from ifn_campaign.cli.plan import _ChannelOpt as ChannelOpt
from ifn_campaign.cli.tables import Col, Wide, print_table
from ifn_campaign.insights.slot_advice import (
    REPLACE_MARGIN,
    Advice,
    account_history,
    advise,
    weekly_slots,
)
from ifn_campaign.models import utcnow
from ifn_campaign.planner.campaign import Campaign, read_campaign_files
from ifn_campaign.registry.display import visible

slots_app = App(help="Weekly slots: what each account's own reach says.", no_args_is_help=True)
app.add_typer(slots_app, name="slots", rich_help_panel=PLAN)


def _zone_label(zone: ZoneInfo) -> str:
    return "WIB" if zone.key == "Asia/Jakarta" else zone.key


def _campaigns(channel: Channel, account: str, name: str | None) -> list[Campaign]:
    """The campaigns on file posting on this channel and account (only `name` when given);
    a file the planner cannot read has no slots to judge and is left out."""
    cfg = settings()
    found = []
    for file in read_campaign_files(cfg.planner.campaigns_dir, templates_dir=cfg.templates.dir):
        c = file.campaign
        if c is None or (name is not None and c.name != name):
            continue
        if any(p.channel == channel and p.account == account for p in c.channels):
            found.append(c)
    return found


def _index(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_advice(advice: Advice, title: str, zone: ZoneInfo, wide: bool | None = None) -> None:
    """The table of weekday+hours with enough posts, best first, and the thin ones in a line."""
    current = {(c.weekday, c.time.hour) for c in advice.current}
    print_table(
        [
            Col("rank", keep=True, justify="right"),
            Col(f"slot ({_zone_label(zone)})", keep=True),
            Col("reach index", keep=True, justify="right"),
            Col("posts", keep=True, justify="right"),
            Col("note", 1, min_width=10),
        ],
        [
            (
                str(rank),
                stat.label(),
                _index(stat.index),
                str(stat.posts),
                "a current slot" if (stat.weekday, stat.hour) in current else "",
            )
            for rank, stat in enumerate(advice.shown, 1)
        ],
        title=escape(title),
        wide=wide,
    )
    marks = ", ".join(f"{n} at {mark}" for mark, n in advice.marks.items()) or "none"
    out.print(
        f"reach index: each post's reach over the median of the account's other posts within two "
        f"weeks of it (1.00 = the account's usual), the median per weekday and hour; posts "
        f"compared: {marks}",
        soft_wrap=True,
    )
    if advice.left_out:
        out.print(
            f"{advice.left_out} published post(s) with no reading at {advice.mark} or later yet: "
            "left out",
            soft_wrap=True,
        )
    if advice.late:
        out.print(
            f"{advice.late} published post(s) read only late at {advice.mark} or after (the "
            "worker was down: no figure at its mark): left out",
            soft_wrap=True,
        )
    thin = [s for s in advice.slots if not s.enough]
    if thin:
        out.print(
            f"fewer than {advice.min_posts} posts, no index: "
            + ", ".join(f"{s.label()} ({s.posts})" for s in thin),
            soft_wrap=True,
        )


def print_verdict(advice: Advice, campaign: Campaign) -> None:
    """What the history says about one campaign's slots on the account."""
    head = f"campaign {escape(campaign.name)}:"
    for note in advice.thin_notes():
        out.print(f"{head} not enough history: {note}", soft_wrap=True)
    weak, alt = advice.weakest, advice.alternative
    if weak is None:
        out.print(f"{head} no current slot has enough history to judge", soft_wrap=True)
        return
    out.print(
        f"{head} weakest slot {weak.label()}: reach index {_index(weak.index)} over "
        f"{weak.posts} posts",
        soft_wrap=True,
    )
    if alt is None:
        out.print(
            f"{head} no other weekday and hour has {advice.min_posts} posts or more: "
            "no alternative",
            soft_wrap=True,
        )
    elif not advice.replaces():
        out.print(
            f"{head} best alternative {alt.label()} (reach index {_index(alt.index)} over "
            f"{alt.posts} posts) is not clearly better: the planner replaces a slot only when "
            f"the alternative is at least {REPLACE_MARGIN - 1:.0%} higher",
            soft_wrap=True,
        )
    elif campaign.replace_weakest_slot:
        out.print(
            f"{head} [cyan]{escape(advice.reason())}[/] at the next plan "
            "(replace_weakest_slot is on)",
            soft_wrap=True,
        )
    else:
        out.print(
            f"{head} [cyan]{escape(advice.reason())}[/] if the campaign sets "
            "replace_weakest_slot = true (or change its file)",
            soft_wrap=True,
        )


@slots_app.command("advise")
def advise_command(
    channel_name: ChannelOpt,
    account: Annotated[
        str, typer.Option("--account", metavar="NAME", help="Account name.")
    ] = "bpipi",
    campaign: Annotated[
        str | None,
        typer.Option(
            "--campaign",
            metavar="NAME",
            help="Only this campaign's slots (default: every campaign on the account).",
            callback=ON_FILE,
        ),
    ] = None,
    wide: Wide = False,
) -> None:
    """Reach per weekday and hour on one account, and its weakest slot.

    From the account's own published posts of the last insights.advice_weeks weeks, each
    compared at its 7-day reading and against the account's usual at the time, so a growing
    account does not make recent slots look better; a weekday and hour is shown only when it
    has insights.advice_min_posts posts."""
    cfg = settings()
    channel = Channel(channel_name)
    chosen = _campaigns(channel, account, campaign)
    if campaign is not None and not chosen:
        out.print(
            f"campaign {escape(campaign)} does not post on {channel.value}/{shown(account)}: "
            "its slots are not judged",
            soft_wrap=True,
        )
    display = ZoneInfo(cfg.planner.display_timezone)
    with resources().session() as session:
        history = account_history(session, channel, account, utcnow(), cfg.insights)
    posts, left_out, mark, late = history.posts, history.left_out, history.mark, history.late
    if not posts:
        out.print(
            f"no published post of {channel.value}/{shown(account)} has a reading at "
            f"{mark} or later in the last {cfg.insights.advice_weeks} weeks: no advice yet"
            + (f" ({left_out} wait for that reading)" if left_out else "")
            + (f" ({late} read only late, left out)" if late else ""),
            soft_wrap=True,
        )
        return
    min_posts = cfg.insights.advice_min_posts
    for key in sorted({c.timezone for c in chosen} or {display.key}):
        zone = ZoneInfo(key)
        here = [c for c in chosen if c.timezone == key]
        every = [slot for c in here for slot in _slots_of(c, channel, account)]
        table = advise(posts, every, zone, min_posts, mark=mark, left_out=left_out, late=late)
        print_advice(
            table,
            f"Slot advice: {channel.value}/{visible(account)}, reach at {mark}, "
            f"last {cfg.insights.advice_weeks} weeks",
            zone,
            wide,
        )
        for c in here:
            mine = _slots_of(c, channel, account)
            print_verdict(advise(posts, mine, zone, min_posts, mark=mark), c)


def _slots_of(campaign: Campaign, channel: Channel, account: str) -> list[tuple[int, time]]:
    return [
        slot
        for p in campaign.channels
        if p.channel == channel and p.account == account
        for slot in weekly_slots(p)
    ]
