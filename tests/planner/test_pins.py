"""Pins and exclusions (ifn_campaign.planner.pins) on SQLite and PostgreSQL: the campaign's slot
found from a local time or the day's slots listed, a pin applied by the next plan, replaced and
removed, exclusions made and lifted, and every refusal's message."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.channels.channel import Channel
from ifn_campaign.errors import InvalidValueError, LedgerError, PlanError
from ifn_campaign.models import Exclusion, Member, Pin, Post, PostState
from ifn_campaign.planner import pins
from tests.support.planning import NOW, campaign, plan

IG = Channel.INSTAGRAM
TUESDAY_EVENING = datetime(2026, 12, 1, 19, 0)  # an Instagram slot, WIB (naive: campaign time)
TUESDAY_UTC = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _members(session: Session) -> list[str]:
    return list(session.scalars(select(Member.id).order_by(Member.id)))


def test_the_campaign_slot_at_a_local_time() -> None:
    c = campaign()
    assert pins.campaign_slot(c, IG, "bpipi", TUESDAY_EVENING) == TUESDAY_UTC
    in_makassar = datetime(2026, 12, 1, 20, 0, tzinfo=ZoneInfo("Asia/Makassar"))
    assert pins.campaign_slot(c, IG, "bpipi", in_makassar) == TUESDAY_UTC


@pytest.mark.parametrize(
    ("kind", "channel", "when", "message"),
    [
        (
            PlanError,
            IG,
            datetime(2026, 12, 1, 18, 0),
            "campaign 'sorotan' has no instagram/bpipi slot at 2026-12-01 18:00; "
            "that day it has: 19:00 instagram/bpipi",
        ),
        (
            PlanError,
            Channel.FACEBOOK,
            datetime(2026, 12, 1, 19, 0),
            "campaign 'sorotan' has no facebook/bpipi slot at 2026-12-01 19:00; "
            "that day it has: 19:00 instagram/bpipi",
        ),
        (
            PlanError,
            IG,
            datetime(2026, 11, 30, 19, 0),
            "campaign 'sorotan' has no instagram/bpipi slot at 2026-11-30 19:00; "
            "it has no slots that day",
        ),
        (
            InvalidValueError,
            IG,
            datetime(9999, 12, 31, 19, 0),
            "9999-12-31 19:00: give a date between 1970-01-01 and 9000-12-31",
        ),
    ],
)
def test_a_time_that_is_no_slot_lists_the_days_slots(
    kind: type[Exception], channel: Channel, when: datetime, message: str
) -> None:
    with pytest.raises(kind) as caught:
        pins.campaign_slot(campaign(), channel, "bpipi", when)
    assert str(caught.value) == message


def test_a_pin_is_applied_by_the_next_plan_and_can_be_replaced(session: Session) -> None:
    c = campaign()
    first, second = _members(session)[-2:]
    made = pins.pin(session, c, IG, "bpipi", TUESDAY_EVENING, first, note="HUT", now=NOW)
    session.commit()
    assert (made.slot_at, made.member_id, made.note, made.created_at) == (
        TUESDAY_UTC,
        first,
        "HUT",
        NOW,
    )
    again = pins.pin(session, c, IG, "bpipi", TUESDAY_EVENING, second, now=NOW)
    session.commit()
    assert again.id == made.id
    rows = session.scalars(select(Pin)).all()
    assert [(p.member_id, p.note) for p in rows] == [(second, None)]
    plan(session, c, weeks=1)
    post = session.scalars(
        select(Post).where(Post.slot_at == TUESDAY_UTC, Post.state == PostState.PLANNED)
    ).one()
    assert post.member_id == second and post.pinned


def test_unpin(session: Session) -> None:
    c = campaign()
    pins.pin(session, c, IG, "bpipi", TUESDAY_EVENING, _members(session)[0], now=NOW)
    session.commit()
    pins.unpin(session, c, IG, "bpipi", TUESDAY_EVENING)
    session.commit()
    assert session.scalars(select(Pin)).all() == []
    with pytest.raises(PlanError) as caught:
        pins.unpin(session, c, IG, "bpipi", TUESDAY_EVENING)
    assert str(caught.value) == "no pin on sorotan instagram/bpipi at 2026-12-01 19:00"


def test_pin_an_unknown_member(session: Session) -> None:
    with pytest.raises(LedgerError) as caught:
        pins.pin(session, campaign(), IG, "bpipi", TUESDAY_EVENING, "nobody", now=NOW)
    assert str(caught.value) == (
        "no member 'nobody' stored: check the id, or run `ifn-campaign sync`"
    )


def test_exclude_and_include(session: Session) -> None:
    member = _members(session)[0]
    until = datetime(2027, 1, 1, tzinfo=ZoneInfo("Asia/Jakarta"))
    pins.exclude(session, member, reason="audit", campaign="sorotan", until=until, now=NOW)
    pins.exclude(session, member, reason="sengketa", now=NOW)
    session.commit()
    rows = session.scalars(select(Exclusion).order_by(Exclusion.id)).all()
    assert [(r.campaign, r.reason, r.until, r.created_at) for r in rows] == [
        ("sorotan", "audit", until, NOW),
        (None, "sengketa", None, NOW),
    ]
    assert pins.include(session, member, campaign="sorotan", now=NOW) == 1
    session.commit()
    assert [r.lifted_at for r in session.scalars(select(Exclusion).order_by(Exclusion.id))] == [
        NOW,
        None,
    ]
    assert pins.include(session, member, now=NOW) == 1
    session.commit()
    with pytest.raises(LedgerError) as caught:
        pins.include(session, member, now=NOW)
    assert str(caught.value) == f"member {member!r} has no exclusion to lift"


def test_exclusion_refusals(session: Session) -> None:
    with pytest.raises(LedgerError, match=r"^no member 'nobody' stored"):
        pins.exclude(session, "nobody", reason="x", now=NOW)
    with pytest.raises(LedgerError, match=r"^no member 'nobody' stored"):
        pins.include(session, "nobody", now=NOW)
    with pytest.raises(InvalidValueError) as caught:
        pins.exclude(session, _members(session)[0], reason="x", until=datetime(2027, 1, 1), now=NOW)
    assert str(caught.value) == "2027-01-01T00:00:00: give the end with its time zone"
    assert session.scalars(select(Exclusion)).all() == []
