"""Make or refresh a campaign's plan: posts for its slots, each with the reason for its pick.

Re-planning is safe to run any time: posts staff approved (or later) are never touched; a planned
post stays unless its member became ineligible (consent, status, media, exclusion) or a staff pin
claims the slot, in which case it is cancelled with the reason and the slot is filled again; empty
slots are filled; planned posts on slots the campaign no longer has are cancelled. A campaign with
`replace_weakest_slot` is planned on its weekly slots as slot_swap.py adjusts them from each
account's reach. Nothing is committed here: the caller commits, or rolls back for a dry run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.config import InsightsSettings
from ifn_campaign.errors import PlanError
from ifn_campaign.models import LIVE_STATES, REPLANNABLE_STATES, Pin, Post, PostState
from ifn_campaign.planner.budget import Budgets, Limit
from ifn_campaign.planner.campaign import Campaign
from ifn_campaign.planner.eligibility import excluded, load_candidates, load_exclusions
from ifn_campaign.planner.rotation import Gap, Rotation
from ifn_campaign.planner.slot_swap import SlotSwap, swap_weakest_slots
from ifn_campaign.planner.slots import SkippedSlot, Slot, campaign_slots
from ifn_campaign.posts.lifecycle import move, record

Action = Literal["kept", "planned", "pinned", "replaced", "gap"]


@dataclass(frozen=True)
class PlanLine:
    """What happened to one slot."""

    slot: Slot
    action: Action
    member_id: str | None
    member_name: str | None
    reason_id: str
    reason_en: str
    state: str | None
    post_id: int | None = None


@dataclass(frozen=True)
class Cancelled:
    post_id: int
    member_id: str
    slot_at: datetime
    reason: str


@dataclass
class PlanResult:
    campaign: str
    start: datetime
    end: datetime
    lines: list[PlanLine] = field(default_factory=list)
    cancelled: list[Cancelled] = field(default_factory=list)
    skipped: list[SkippedSlot] = field(default_factory=list)
    # the campaign's `replace_weakest_slot`: which weekly slot this plan replaced, or why none
    slot_swaps: list[SlotSwap] = field(default_factory=list)

    def count(self, action: Action) -> int:
        return sum(line.action == action for line in self.lines)


def _live_posts(session: Session, **where: str) -> list[Post]:
    query = select(Post).where(Post.state.in_([s.value for s in LIVE_STATES]))
    for column, value in where.items():
        query = query.where(getattr(Post, column) == value)
    return list(session.scalars(query.order_by(Post.slot_at, Post.id)))


def plan_campaign(
    session: Session,
    campaign: Campaign,
    limits: dict[str, Limit | None],
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    seed: int | None = None,
    insights: InsightsSettings | None = None,
) -> PlanResult:
    """Fill `campaign`'s slots in [start, end) that lie after `now`; flushes, never commits.
    `insights` (default: the default settings) holds the slot advice thresholds a campaign with
    `replace_weakest_slot` is planned with."""
    if end <= start:
        raise PlanError(f"nothing to plan: the range ends ({end}) before it starts ({start})")
    campaign, swaps = swap_weakest_slots(
        session, campaign, start, end, now, insights or InsightsSettings()
    )
    calendar = campaign_slots(campaign, start, end)
    result = PlanResult(campaign.name, start, end, skipped=calendar.skipped, slot_swaps=swaps)
    slots = [slot for slot in calendar.slots if slot.at > now]

    candidates = load_candidates(session, None, now, with_reach=campaign.fair_by == "reach")
    names = {c.id: c.name for c in candidates}
    rotation = Rotation(campaign, candidates, load_exclusions(session), seed=seed)
    existing = _live_posts(session, campaign=campaign.name)
    for post in existing:
        rotation.add(post.member_id, post.slot_at, post.rotation_round)
    budgets = Budgets(limits)
    accounts = {(p.channel.value, p.account) for p in campaign.channels}
    budgets.load(
        (post.channel, post.account, post.slot_at)
        for post in _live_posts(session)
        if (post.channel, post.account) in accounts
    )
    pins = {
        (pin.channel, pin.account, pin.slot_at): pin
        for pin in session.scalars(select(Pin).where(Pin.campaign == campaign.name))
    }
    at_slot = {(p.channel, p.account, p.slot_at): p for p in existing}
    # A failed post keeps its slot until staff retry or cancel it (the slot index counts it too).
    failed = session.scalars(
        select(Post).where(
            Post.campaign == campaign.name,
            Post.state == PostState.FAILED,
            Post.slot_at >= start,
            Post.slot_at < end,
        )
    )
    for post in failed:
        at_slot.setdefault((post.channel, post.account, post.slot_at), post)

    # Planned posts whose slot the campaign no longer has (its file changed, a holiday moved it).
    wanted = {(s.channel.value, s.account, s.at) for s in calendar.slots}
    for post in existing:
        key = (post.channel, post.account, post.slot_at)
        if (
            start <= post.slot_at < end
            and post.slot_at > now
            and post.state in REPLANNABLE_STATES
            and key not in wanted
        ):
            _cancel(
                session,
                post,
                now,
                "slot tidak lagi ada di kampanye / slot no longer in the campaign",
            )
            rotation.remove(post.member_id, post.slot_at)
            budgets.account(post.channel, post.account).remove(post.slot_at)
            result.cancelled.append(Cancelled(post.id or 0, post.member_id, post.slot_at, "slot"))

    def name(member_id: str | None) -> str | None:
        return None if member_id is None else names.get(member_id)

    # Posts that will not move, per member: signed off, pinned, or a pin this plan will apply.
    # The rotation keeps its picks out of their cooldown, and a planned post in it gives way.
    anchored: dict[str, list[datetime]] = {}
    for post in existing:
        if post.state not in REPLANNABLE_STATES or post.pinned:
            anchored.setdefault(post.member_id, []).append(post.slot_at)
    for slot in slots:
        key = (slot.channel.value, slot.account, slot.at)
        pin = pins.get(key)
        post = at_slot.get(key)
        if (
            pin is not None
            and (
                post is None
                or (post.state in REPLANNABLE_STATES and post.member_id != pin.member_id)
            )
            and rotation.refusal(pin.member_id, slot, pinned=True) is None
        ):
            rotation.reserve(pin.member_id, slot.at)
            anchored.setdefault(pin.member_id, []).append(slot.at)

    created: list[Post] = []
    for slot in slots:
        key = (slot.channel.value, slot.account, slot.at)
        post = at_slot.get(key)
        pin = pins.get(key)
        replaced = False
        if post is not None:
            why = _replace_why(post, pin, rotation, slot, anchored.get(post.member_id, []))
            if why is None:
                reason_id, reason_en = post.reason_id, post.reason_en
                if (
                    pin is not None
                    and pin.member_id != post.member_id
                    and not reason_en.startswith("pin refused")
                ):
                    refused = rotation.refusal(pin.member_id, slot, pinned=True) or (
                        f"pos sudah {post.state}",
                        f"the post is already {post.state}",
                    )
                    reason_id = f"pin ditolak ({refused[0]}); {reason_id}"
                    reason_en = f"pin refused ({refused[1]}); {reason_en}"
                result.lines.append(
                    PlanLine(
                        slot,
                        "kept",
                        post.member_id,
                        name(post.member_id),
                        reason_id,
                        reason_en,
                        post.state,
                        post.id,
                    )
                )
                continue
            _cancel(session, post, now, f"{why[0]} / {why[1]}")
            rotation.remove(post.member_id, post.slot_at)
            budgets.account(post.channel, post.account).remove(post.slot_at)
            result.cancelled.append(Cancelled(post.id or 0, post.member_id, post.slot_at, why[1]))
            session.flush()  # the slot's unique index must see the cancellation first
            replaced = True
        budget = budgets.account(slot.channel.value, slot.account)
        if not budget.fits(slot.at):
            if pin is not None:
                rotation.release(pin.member_id, slot.at)
            limit = budget.limit
            assert limit is not None
            per_id, per_en = limit.describe()
            result.lines.append(
                PlanLine(
                    slot,
                    "gap",
                    None,
                    None,
                    f"kuota akun {slot.channel.value}/{slot.account} penuh ({per_id})",
                    f"account budget full: {slot.channel.value}/{slot.account} ({per_en})",
                    None,
                )
            )
            continue
        pick = None
        pin_refused: tuple[str, str] | None = None
        if pin is not None:
            pin_refused = rotation.refusal(pin.member_id, slot, pinned=True)
            if pin_refused is None:
                pick = rotation.pin(pin.member_id, slot, pin.note)
        if pick is None:
            choice = rotation.pick(slot)
            if isinstance(choice, Gap):
                reason_id, reason_en = choice.reason_id, choice.reason_en
                if pin_refused is not None:
                    reason_id = f"pin ditolak ({pin_refused[0]}); {reason_id}"
                    reason_en = f"pin refused ({pin_refused[1]}); {reason_en}"
                result.lines.append(PlanLine(slot, "gap", None, None, reason_id, reason_en, None))
                continue
            pick = choice
            if pin_refused is not None:
                pick = type(pick)(
                    pick.member_id,
                    pick.rotation_round,
                    f"pin ditolak ({pin_refused[0]}); {pick.reason_id}",
                    f"pin refused ({pin_refused[1]}); {pick.reason_en}",
                )
        new = Post(
            campaign=campaign.name,
            channel=slot.channel.value,
            account=slot.account,
            slot_at=slot.at,
            member_id=pick.member_id,
            template=slot.template,
            rotation_round=pick.rotation_round,
            pinned=pin is not None and pin_refused is None,
            reason_id=pick.reason_id,
            reason_en=pick.reason_en,
            state=PostState.PLANNED,
            state_changed_at=now,
            created_at=now,
        )
        session.add(new)
        created.append(new)
        budget.add(slot.at)
        action: Action = "replaced" if replaced else ("pinned" if new.pinned else "planned")
        result.lines.append(
            PlanLine(
                slot,
                action,
                pick.member_id,
                name(pick.member_id),
                pick.reason_id,
                pick.reason_en,
                new.state,
            )
        )
    session.flush()
    record(
        session,
        [(post.id or 0, None, PostState.PLANNED, None) for post in created],
        actor="planner",
        now=now,
    )
    return result


def _replace_why(
    post: Post, pin: Pin | None, rotation: Rotation, slot: Slot, anchored: list[datetime]
) -> tuple[str, str] | None:
    """Why a live post must give up its slot; None keeps it. Signed-off posts always stay.
    `anchored` holds the member's posts that will not move (signed off or pinned)."""
    if post.state not in REPLANNABLE_STATES:
        return None
    member = rotation.members.get(post.member_id)
    if member is None:
        return ("anggota tidak ada lagi", "member no longer exists")
    refused = member.refusal(slot.channel.value)
    if refused is not None:
        return refused
    rule = excluded(rotation.exclusions, post.member_id, rotation.campaign.name, slot.at)
    if rule is not None:
        return (f"dikecualikan staf: {rule.reason}", f"excluded by staff: {rule.reason}")
    if (
        pin is not None
        and pin.member_id != post.member_id
        and rotation.refusal(pin.member_id, slot, pinned=True) is None
    ):
        return ("diganti pin staf", "replaced by a staff pin")
    if not post.pinned and rotation.cooldown_conflict(post.member_id, slot.at, anchored):
        return ("dalam masa jeda kampanye", "in the campaign's cooldown")
    return None


def _cancel(session: Session, post: Post, now: datetime, reason: str) -> None:
    move(session, post, PostState.CANCELLED, actor="planner", now=now, note=reason)


def plan_campaigns(
    session: Session,
    campaigns: Sequence[Campaign],
    limits: dict[str, Limit | None],
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    seed: int | None = None,
    insights: InsightsSettings | None = None,
) -> list[PlanResult]:
    """Several campaigns one after the other, so each sees the posts the others put on shared
    accounts (budgets count every campaign)."""
    return [
        plan_campaign(session, campaign, limits, start, end, now, seed=seed, insights=insights)
        for campaign in campaigns
    ]
