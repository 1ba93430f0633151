"""Staff's hand on the rotation: pin a member to a campaign's slot, keep a member out.

A pin wins over the rotation (never over consent); an exclusion keeps a member out of one
campaign or all, maybe until a date. Both take effect at the next plan. The CLI and the console
call these; they do not commit (the caller does), and a refusal raises with the message staff
read: a slot that is not the campaign's lists the slots of that day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.channels.channel import Channel
from ifn_campaign.errors import InvalidValueError, LedgerError, PlanError
from ifn_campaign.models import Exclusion, Member, Pin
from ifn_campaign.planner.campaign import Campaign
from ifn_campaign.planner.slots import campaign_slots

__all__ = [
    "FIRST_DAY",
    "LAST_DAY",
    "campaign_slot",
    "exclude",
    "include",
    "pin",
    "stored_member",
    "unpin",
]

# Dates staff may give: far enough from datetime's limits that a window of 104 weeks, and its
# conversion to UTC, can never overflow into a traceback.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9000, 12, 31)


def _shown(local: datetime) -> str:
    return f"{local:%Y-%m-%d %H:%M}"


def _local(campaign: Campaign, when: datetime) -> datetime:
    """`when` on the campaign's clock: a naive time is read as the campaign's local time."""
    if when.tzinfo is None:
        return when.replace(tzinfo=campaign.zone)
    return when.astimezone(campaign.zone)


def campaign_slot(campaign: Campaign, channel: Channel, account: str, when: datetime) -> datetime:
    """The campaign's slot (UTC) at local time `when` (naive: the campaign's time zone); a
    PlanError lists the slots that day has instead."""
    local = _local(campaign, when)
    if not FIRST_DAY <= local.date() <= LAST_DAY:
        raise InvalidValueError(f"{_shown(local)}: give a date between {FIRST_DAY} and {LAST_DAY}")
    day = datetime.combine(local.date(), time(), campaign.zone)
    found = campaign_slots(campaign, day, day + timedelta(days=1)).slots
    for slot in found:
        if slot.channel == channel and slot.account == account and slot.local == local:
            return slot.at
    options = ", ".join(f"{s.local:%H:%M} {s.channel.value}/{s.account}" for s in found)
    raise PlanError(
        f"campaign {campaign.name!r} has no {channel.value}/{account} slot at {_shown(local)}"
        + (f"; that day it has: {options}" if options else "; it has no slots that day")
    )


def stored_member(session: Session, member_id: str) -> Member:
    """The member, or a LedgerError saying how to get them stored."""
    found = session.get(Member, member_id)
    if found is None:
        raise LedgerError(
            f"no member {member_id!r} stored: check the id, or run `ifn-campaign sync`"
        )
    return found


def _pin_at(
    session: Session, campaign: str, channel: Channel, account: str, at: datetime
) -> Pin | None:
    return session.scalars(
        select(Pin).where(
            Pin.campaign == campaign,
            Pin.channel == channel.value,
            Pin.account == account,
            Pin.slot_at == at,
        )
    ).first()


def pin(
    session: Session,
    campaign: Campaign,
    channel: Channel,
    account: str,
    when: datetime,
    member_id: str,
    *,
    note: str | None = None,
    now: datetime,
) -> Pin:
    """Feature `member_id` in the campaign's slot at local time `when` (replacing any pin
    there); the next plan applies it."""
    slot_at = campaign_slot(campaign, channel, account, when)
    member = stored_member(session, member_id)
    found = _pin_at(session, campaign.name, channel, account, slot_at)
    if found is None:
        found = Pin(
            campaign=campaign.name,
            channel=channel.value,
            account=account,
            slot_at=slot_at,
            member_id=member.id,
            created_at=now,
        )
        session.add(found)
    found.member_id, found.note = member.id, note
    session.flush()
    return found


def unpin(
    session: Session, campaign: Campaign, channel: Channel, account: str, when: datetime
) -> None:
    """Remove the pin of the slot at local time `when`; the planned post stays until the next
    plan (which keeps it)."""
    slot_at = campaign_slot(campaign, channel, account, when)
    found = _pin_at(session, campaign.name, channel, account, slot_at)
    if found is None:
        raise PlanError(
            f"no pin on {campaign.name} {channel.value}/{account} at "
            f"{_shown(_local(campaign, when))}"
        )
    session.delete(found)
    session.flush()


def exclude(
    session: Session,
    member_id: str,
    *,
    reason: str,
    campaign: str | None = None,
    until: datetime | None = None,
    now: datetime,
) -> Exclusion:
    """Keep a member out of one campaign (None: every campaign), until `until` (None: until
    lifted); the next plan replaces their planned posts."""
    if until is not None and until.tzinfo is None:
        raise InvalidValueError(f"{until.isoformat()}: give the end with its time zone")
    member = stored_member(session, member_id)
    row = Exclusion(
        member_id=member.id, campaign=campaign, reason=reason, until=until, created_at=now
    )
    session.add(row)
    session.flush()
    return row


def include(session: Session, member_id: str, *, campaign: str | None = None, now: datetime) -> int:
    """Lift a member's exclusions (all, or one campaign's); how many were lifted."""
    stored_member(session, member_id)
    query = select(Exclusion).where(Exclusion.member_id == member_id, Exclusion.lifted_at.is_(None))
    if campaign is not None:
        query = query.where(Exclusion.campaign == campaign)
    rows = list(session.scalars(query))
    if not rows:
        raise LedgerError(f"member {member_id!r} has no exclusion to lift")
    for row in rows:
        row.lifted_at = now
    session.flush()
    return len(rows)
