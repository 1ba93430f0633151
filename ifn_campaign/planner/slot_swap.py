"""A campaign's weakest weekly slot replaced by the best-supported alternative, at each plan
(the campaign option `replace_weakest_slot`).

Per channel and account of the campaign, the account's own history (insights/slot_advice.py, in
the campaign's timezone) names the weakest current weekly slot and the best alternative. The
slot is replaced, for this plan only, when both have at least `insights.advice_min_posts` posts
and the alternative's reach index is at least `REPLACE_MARGIN` times the weakest's (10% higher);
a replacement an earlier plan made (its posts are live in the window) is kept while the
alternative is better at all, so an index at the margin does not swap the slots back and forth.
The campaign file is never rewritten: it stays staff's, and the choice is made again at every
plan from the history of that day. The replacement waits (and the plan says why) while a post on
the weakest slot in the plan's window is pinned or signed off (approved or later), or a staff
pin names one of its times. The alternative is never a weekday and hour the channel and account
already post at in this campaign, nor one where another campaign has a post on the same account
in the plan's window, so no slot collides with another.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.channels.channel import Channel
from ifn_campaign.config import InsightsSettings
from ifn_campaign.insights.slot_advice import (
    REPLACE_MARGIN,
    Advice,
    CurrentSlot,
    SlotStat,
    account_advice,
    weekly_slots,
)
from ifn_campaign.models import LIVE_STATES, REPLANNABLE_STATES, Pin, Post
from ifn_campaign.planner.campaign import Campaign, ChannelPlan, SlotRule
from ifn_campaign.planner.slots import campaign_slots

__all__ = ["SlotSwap", "swap_weakest_slots"]


@dataclass(frozen=True)
class SlotSwap:
    """What the option did for one channel and account, in Indonesian and English for the plan's
    output; `applied` says whether this plan uses the alternative."""

    channel: Channel
    account: str
    applied: bool
    reason_id: str
    reason_en: str


def swap_weakest_slots(
    session: Session,
    campaign: Campaign,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    insights: InsightsSettings,
) -> tuple[Campaign, list[SlotSwap]]:
    """The campaign as this plan uses it (weakest slots replaced where the history says so) and
    one SlotSwap per channel and account saying what was done and why."""
    if not campaign.replace_weakest_slot:
        return campaign, []
    channels, swaps = [], []
    for plan in campaign.channels:
        advice = account_advice(
            session,
            plan.channel,
            plan.account,
            weekly_slots(plan),
            campaign.zone,
            now,
            insights,
        )
        swap, plan = _swap(session, campaign, plan, advice, start, end, now)
        channels.append(plan)
        swaps.append(swap)
    return campaign.model_copy(update={"channels": channels}), swaps


def _swap(
    session: Session,
    campaign: Campaign,
    plan: ChannelPlan,
    advice: Advice,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
) -> tuple[SlotSwap, ChannelPlan]:
    def said(applied: bool, reason_id: str, reason_en: str) -> SlotSwap:
        return SlotSwap(plan.channel, plan.account, applied, reason_id, reason_en)

    weak, alt = advice.weakest, advice.alternative
    if weak is None or alt is None:
        thin = advice.thin_current
        need = advice.min_posts
        if weak is None and thin:
            first = thin[0]
            return said(
                False,
                f"tidak ada slot yang diganti: riwayat belum cukup ({first.posts} pos pada "
                f"{first.label('id')}, perlu {need})",
                f"no slot replaced: not enough history ({first.posts} posts on "
                f"{first.label()}, needs {need})",
            ), plan
        return said(
            False,
            f"tidak ada slot yang diganti: tidak ada jam lain dengan sedikitnya {need} pos",
            f"no slot replaced: no other weekday and hour has {need} posts or more",
        ), plan
    weak_index, alt_index = weak.index or 0.0, alt.index or 0.0
    in_force = (
        not advice.replaces()
        and alt_index > weak_index
        and _in_force(session, campaign, plan, alt, start, end, now)
    )
    if not advice.replaces() and not in_force:
        a, w, gain = f"{alt.index:.2f}", f"{weak.index:.2f}", f"{REPLACE_MARGIN - 1:.0%}"
        return said(
            False,
            f"{weak.label('id')} tetap: {alt.label('id')} tidak jelas lebih baik (indeks "
            f"{a.replace('.', ',')} vs {w.replace('.', ',')}, perlu {gain} lebih tinggi)",
            f"{weak.label()} kept: {alt.label()} is not clearly better (reach index "
            f"{a} vs {w}, needs {gain} higher)",
        ), plan
    held = _held(session, campaign, plan, weak, start, end, now)
    if held is not None:
        return said(
            False,
            f"{weak.label('id')} tetap untuk sekarang: {held[0]}; {advice.reason('id')} pada "
            "rencana berikutnya",
            f"{weak.label()} kept for now: {held[1]}; {advice.reason()} at a later plan",
        ), plan
    taken = _taken(session, campaign, plan, alt, start, end, now)
    if taken is not None:
        return said(
            False,
            f"{weak.label('id')} tetap: {alt.label('id')} sudah dipakai kampanye {taken[0]} di "
            f"akun ini (pos {taken[1]})",
            f"{weak.label()} kept: {alt.label()} is taken on this account by campaign "
            f"{taken[0]} (post {taken[1]})",
        ), plan
    if in_force:
        return said(
            True,
            f"{advice.reason('id')} (dipertahankan dari rencana sebelumnya: masih lebih baik)",
            f"{advice.reason()} (kept from the earlier plan: still better)",
        ), _replaced(plan, weak, alt)
    return said(True, advice.reason("id"), advice.reason()), _replaced(plan, weak, alt)


def _in_force(
    session: Session,
    campaign: Campaign,
    plan: ChannelPlan,
    alt: SlotStat,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
) -> bool:
    """Whether an earlier plan already replaced a slot by `alt`: the campaign has live posts on
    this channel and account at its weekday and hour in the window (not a slot of its file, so
    only a replacement put them there). Such a replacement is kept while the alternative is
    better at all: the 10% margin starts one, and asking it again at every plan would cancel
    and re-plan both slots' posts each time the index crossed it."""
    zone = campaign.zone
    rows = session.scalars(
        select(Post.slot_at).where(
            Post.campaign == campaign.name,
            Post.channel == plan.channel.value,
            Post.account == plan.account,
            Post.slot_at >= max(start, now),
            Post.slot_at < end,
            Post.state.in_([s.value for s in LIVE_STATES]),  # type: ignore[attr-defined]
        )
    )
    for at in rows:
        local = at.astimezone(zone)
        if (local.weekday(), local.hour) == (alt.weekday, alt.hour):
            return True
    return False


def _replaced(plan: ChannelPlan, weak: CurrentSlot, alt: SlotStat) -> ChannelPlan:
    """The channel's rules with the weakest weekday+time taken out and the alternative added."""
    rules = []
    for rule in plan.slots:
        days = [d for d in rule.days if not (d == weak.weekday and rule.time == weak.time)]
        if days:
            rules.append(rule if days == rule.days else rule.model_copy(update={"days": days}))
    rules.append(SlotRule(days=[alt.weekday], time=alt.time))
    return plan.model_copy(update={"slots": rules})


def _held(
    session: Session,
    campaign: Campaign,
    plan: ChannelPlan,
    weak: CurrentSlot,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
) -> tuple[str, str] | None:
    """Why the weakest slot cannot move in this plan's window, or None: a staff pin on one of
    its times, a pinned post, or a post signed off (approved or later)."""
    times = [
        slot.at
        for slot in campaign_slots(campaign, start, end).slots
        if slot.channel == plan.channel
        and slot.account == plan.account
        and slot.at > now
        and slot.local.time() == weak.time
        and (slot.moved_from or slot.local.date()).weekday() == weak.weekday
    ]
    if not times:
        return None
    pinned = session.scalars(
        select(Pin).where(
            Pin.campaign == campaign.name,
            Pin.channel == plan.channel.value,
            Pin.account == plan.account,
            Pin.slot_at.in_(times),  # type: ignore[attr-defined]
        )
    ).first()
    if pinned is not None:
        return ("staf menyematkan anggota di slot ini", "staff pinned a member to it")
    posts = session.scalars(
        select(Post)
        .where(
            Post.campaign == campaign.name,
            Post.channel == plan.channel.value,
            Post.account == plan.account,
            Post.slot_at.in_(times),  # type: ignore[attr-defined]
            Post.state.in_([s.value for s in LIVE_STATES]),  # type: ignore[attr-defined]
        )
        .order_by(Post.slot_at)
    )
    for post in posts:
        if post.pinned:
            return (f"pos {post.id} disematkan staf", f"post {post.id} is pinned by staff")
        if post.state not in REPLANNABLE_STATES:
            return (f"pos {post.id} sudah {post.state}", f"post {post.id} is already {post.state}")
    return None


def _taken(
    session: Session,
    campaign: Campaign,
    plan: ChannelPlan,
    alt: SlotStat,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
) -> tuple[str, int] | None:
    """Another campaign's live post on the same channel and account in the alternative's
    weekday and hour within the window: (its campaign, its id), or None. Two campaigns' posts
    in the same hour of one account would crowd each other, so the swap waits."""
    zone = campaign.zone
    rows = session.execute(
        select(Post.campaign, Post.id, Post.slot_at)
        .where(
            Post.campaign != campaign.name,
            Post.channel == plan.channel.value,
            Post.account == plan.account,
            Post.slot_at >= max(start, now),
            Post.slot_at < end,
            Post.state.in_([s.value for s in LIVE_STATES]),  # type: ignore[attr-defined]
        )
        .order_by(Post.slot_at, Post.id)
    )
    for other, post_id, at in rows:
        local = at.astimezone(zone)
        if (local.weekday(), local.hour) == (alt.weekday, alt.hour):
            return other, post_id
    return None
