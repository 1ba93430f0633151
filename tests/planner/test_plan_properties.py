"""Planning properties over random memberships, pins, exclusions and withdrawals, on a real SQLite
file: pins are honoured whenever consent allows, re-planning changes nothing, and a withdrawal
only ever replaces that member's own planned posts."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.models import Exclusion, Member, Pin, Post, PostState
from ifn_campaign.planner.campaign import Campaign
from ifn_campaign.planner.plan import plan_campaign
from ifn_campaign.planner.slots import campaign_slots
from ifn_sandbox.sample import store_generated_members
from tests.support.planning import LIMITS

NOW = datetime(2026, 11, 25, tzinfo=UTC)
START = datetime(2026, 11, 30, tzinfo=UTC)
END = START + timedelta(weeks=3)
CHANNELS = ["instagram", "facebook", "youtube"]
CAMPAIGN = Campaign.model_validate(
    {
        "name": "sifat",
        "title": "Sifat",
        "start": date(2026, 11, 1),
        "cooldown_days": 14,
        "channels": [
            {"channel": "instagram", "slots": [{"days": ["tue", "thu"], "time": "19:00"}]},
            {"channel": "facebook", "slots": [{"days": ["wed"], "time": "18:30"}]},
            {"channel": "youtube", "slots": [{"days": ["fri"], "time": "00:30"}]},
        ],
    },
    context={"source": "toml"},
)
SLOTS = campaign_slots(CAMPAIGN, START, END).slots


def live(session: Session) -> dict[tuple[str, datetime], tuple[int | None, str]]:
    posts = session.scalars(select(Post).where(Post.state != PostState.CANCELLED))
    return {(p.channel, p.slot_at): (p.id, p.member_id) for p in posts}


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    size=st.integers(3, 14),
    consents=st.lists(st.frozensets(st.sampled_from(CHANNELS)), min_size=14, max_size=14),
    pins=st.lists(st.tuples(st.integers(0, len(SLOTS) - 1), st.integers(0, 13)), max_size=4),
    excluded=st.sets(st.integers(0, 13), max_size=3),
    withdraw=st.integers(0, 13),
)
def test_pins_stability_and_withdrawals(
    size: int,
    consents: list[frozenset[str]],
    pins: list[tuple[int, int]],
    excluded: set[int],
    withdraw: int,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = store.make_engine(f"sqlite:///{Path(tmp) / 'p.db'}")
        store.upgrade(engine)
        with Session(engine) as session:
            ids = store_generated_members(session, size, now=NOW - timedelta(days=30))
            for member_id, channels in zip(ids, consents, strict=False):
                row = session.get(Member, member_id)
                assert row is not None
                row.consent_channels = sorted(channels)
            blocked = {ids[i % size] for i in excluded}
            for member_id in blocked:
                session.add(Exclusion(member_id=member_id, reason="uji", created_at=NOW))
            pinned: dict[tuple[str, datetime], str] = {}
            for slot_index, member_index in pins:
                slot = SLOTS[slot_index]
                key = (slot.channel.value, slot.at)
                if key in pinned:
                    continue
                pinned[key] = ids[member_index % size]
                session.add(
                    Pin(
                        campaign="sifat",
                        channel=slot.channel.value,
                        account=slot.account,
                        slot_at=slot.at,
                        member_id=pinned[key],
                        created_at=NOW,
                    )
                )
            session.commit()

            plan_campaign(session, CAMPAIGN, LIMITS, START, END, NOW)
            session.commit()
            first = live(session)
            consent = {m.id: set(m.consent_channels) for m in session.scalars(select(Member))}
            for (channel, at), member_id in pinned.items():
                if channel in consent[member_id] and member_id not in blocked:
                    assert first[(channel, at)][1] == member_id
            for _, member_id in first.values():
                assert member_id not in blocked

            again = plan_campaign(session, CAMPAIGN, LIMITS, START, END, NOW)
            session.commit()
            assert not again.cancelled
            assert all(line.action in ("kept", "gap") for line in again.lines)
            assert live(session) == first

            gone = ids[withdraw % size]
            row = session.get(Member, gone)
            assert row is not None
            row.consent_withdrawn_at = NOW
            session.commit()
            plan_campaign(session, CAMPAIGN, LIMITS, START, END, NOW)
            session.commit()
            after = live(session)
            assert gone not in {m for _, m in after.values()}
            changed: dict[Any, Any] = {k: v for k, v in first.items() if after.get(k) != v}
            assert all(member_id == gone for _, member_id in changed.values())
        engine.dispose()
