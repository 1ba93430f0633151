"""Consent counts from `consent.granted_at` on, judged at the caller's clock: a member whose
consent starts in the future is stored and shown ("consent starts on ... WIB") but is not planned,
pinned, composed, captioned with personal data, published or counted as waiting until then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ifn_campaign.captions.context import MemberView
from ifn_campaign.captions.writer import CaptionWriter
from ifn_campaign.cli.app import main
from ifn_campaign.models import Member, Pin, Post, PostState
from ifn_campaign.planner.eligibility import load_candidates
from ifn_campaign.planner.plan import plan_campaign
from ifn_campaign.posts import ledger
from ifn_campaign.posts.compose import compose_posts
from ifn_campaign.posts.withdrawal import cancel_disallowed, consent_refusal
from ifn_campaign.publishing.publisher import Publisher
from ifn_campaign.registry.consent import ConsentState, consent_at, in_force_clause
from tests.support.planning import LIMITS, NOW, START, live, plan
from tests.support.planning import campaign as plan_campaign_of
from tests.support.publishing import World, _session, _tools, approved_posts, campaign

FUTURE = datetime(2099, 1, 1, tzinfo=UTC)  # 07:00 WIB


def _future(session: Session, member_id: str, granted_at: datetime = FUTURE) -> None:
    """The registry now says consent starts at `granted_at` (as a sync would store it)."""
    session.execute(
        update(Member).where(Member.id == member_id).values(consent_granted_at=granted_at)
    )
    session.commit()


# --- the rule, and every place that decides it ---------------------------------------------

_times = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    granted=st.none() | _times,
    withdrawn=st.none() | _times,
    at=_times,
    channels=st.lists(st.sampled_from(["instagram", "facebook", "youtube"]), unique=True),
)
def test_every_decider_agrees_with_the_one_rule(
    session: Session,
    granted: datetime | None,
    withdrawn: datetime | None,
    at: datetime,
    channels: list[str],
) -> None:
    """Planner, withdrawal sweep (and so the publisher), captions and the ledger's SQL all say
    what `consent_at` says, for any grant and withdrawal time seen from any moment."""
    member = session.scalars(select(Member).order_by(Member.id)).first()
    assert member is not None
    member.consent_granted_at, member.consent_withdrawn_at = granted, withdrawn
    member.consent_channels = channels
    member.consent_fields_allowed = ["owner_name"]
    member.owner_name = "Ibu Sari"
    session.commit()
    state = consent_at(member, at)
    expected = state is ConsentState.IN_FORCE
    if granted is not None and withdrawn is None:
        assert expected == (granted <= at)  # from granted_at on, never before
    (candidate,) = load_candidates(session, [member.id], at)
    sql = session.scalar(select(Member.id).where(Member.id == member.id, in_force_clause(at)))
    assert (sql is not None) == expected
    view = MemberView(member, "instagram", "id", [], "{id}", at)
    assert (view.owner_name == "Ibu Sari") == expected
    for channel in ("instagram", "facebook", "youtube"):
        allowed = expected and channel in channels
        assert (candidate.refusal(channel) is None) == allowed
        assert (consent_refusal(member, channel, at) is None) == allowed


# --- planner and pins ------------------------------------------------------------------------


def test_future_consent_is_not_planned_and_a_pin_says_when_it_starts(
    session: Session,
) -> None:
    members = session.scalars(select(Member).order_by(Member.id)).all()
    later, pinned = members[0], members[1]
    _future(session, later.id)
    _future(session, pinned.id)
    first = plan(session, plan_campaign_of(), weeks=1)
    slot = first.lines[0].slot
    session.add(
        Pin(
            campaign="sorotan",
            channel=slot.channel.value,
            account=slot.account,
            slot_at=slot.at,
            member_id=pinned.id,
            created_at=NOW,
        )
    )
    session.commit()
    again = plan(session, plan_campaign_of(), weeks=4)
    assert {p.member_id for p in live(session)}.isdisjoint({later.id, pinned.id})
    line = next(line for line in again.lines if line.slot.at == slot.at)
    assert line.member_id != pinned.id
    assert "consent starts on 2099-01-01 07:00 WIB" in line.reason_en


def test_the_planner_judges_consent_at_its_own_clock_not_the_wall_clock(
    session: Session,
) -> None:
    """Consent from a day after NOW (2026, long past on the wall clock): not plannable at NOW,
    plannable when the planner's clock has passed it."""
    member = session.scalars(select(Member).order_by(Member.id)).first()
    assert member is not None
    _future(session, member.id, NOW + timedelta(days=1))
    others = session.scalars(select(Member.id).where(Member.id != member.id)).all()
    session.execute(update(Member).where(Member.id.in_(others)).values(consent_channels=[]))
    session.commit()
    c = plan_campaign_of()
    early = plan_campaign(session, c, LIMITS, START, START + timedelta(weeks=1), NOW)
    assert all(line.member_id is None for line in early.lines)
    session.rollback()
    later = NOW + timedelta(days=2)
    late = plan_campaign(session, c, LIMITS, START, START + timedelta(weeks=1), later)
    assert {line.member_id for line in late.lines} == {member.id}


# --- the withdrawal sweep (sync) ------------------------------------------------------------


def test_a_record_moving_consent_into_the_future_cancels_queued_posts(
    session: Session,
) -> None:
    plan(session, plan_campaign_of(), weeks=1)
    post = live(session)[0]
    _future(session, post.member_id)
    report = cancel_disallowed(session, [post.member_id], NOW)
    session.commit()
    assert [c.post_id for c in report.cancelled] == [post.id]
    assert "consent starts on 2099-01-01 07:00 WIB" in report.cancelled[0].reason
    session.refresh(post)
    assert post.state == PostState.CANCELLED


# --- compose, captions, publish -------------------------------------------------------------


def test_compose_refuses_a_post_whose_member_consent_now_starts_later(
    workdir: Path,
) -> None:
    renderer, writer = _tools(workdir)
    c = campaign()
    now = datetime.now(UTC)
    with _session(workdir) as session:
        plan_campaign(session, c, LIMITS, now, now + timedelta(weeks=1), now)
        session.commit()
        posts = list(session.scalars(select(Post).order_by(Post.slot_at)))
        target = posts[0]
        _future(session, target.member_id)
        result = compose_posts(session, renderer, writer, {c.name: c}, now, stored=str, file=Path)
        skipped = dict(result.skipped)
        assert target.id in skipped and "consent starts on 2099-01-01" in skipped[target.id]
        session.refresh(target)
        assert target.state == PostState.PLANNED and target.caption is None


def test_captions_leave_out_personal_data_before_consent_starts(
    workdir: Path,
) -> None:
    with _session(workdir) as session:
        member = session.scalars(
            select(Member).where(Member.consent_withdrawn_at.is_(None)).order_by(Member.id)
        ).first()
        assert member is not None
        member.owner_name = "Ibu Sari Wulandari"
        member.consent_fields_allowed = ["owner_name"]
        member.consent_channels = ["instagram"]
        member.socials = {**member.socials, "instagram": "sari.sepatu"}
        member.description_id += " Didirikan oleh Ibu Sari Wulandari."
        member.consent_granted_at = datetime(2027, 1, 1, tzinfo=UTC)
        writer = CaptionWriter()
        before = writer.write(member, "instagram", at=datetime(2026, 12, 31, tzinfo=UTC))
        after = writer.write(member, "instagram", at=datetime(2027, 1, 2, tzinfo=UTC))
    assert "@sari.sepatu" not in before.text and not before.user_tags
    assert "Sari Wulandari" not in before.text and "owner_name (in the text)" in before.omitted
    assert after.user_tags == ["sari.sepatu"] and "@sari.sepatu" in after.text
    assert "Sari Wulandari" in after.text and not after.omitted


def test_publisher_refuses_at_the_last_moment_when_consent_now_starts_later(
    world: World,
) -> None:
    now = datetime.now(UTC)
    ids = approved_posts(world, {"instagram": now - timedelta(minutes=1)})
    with Session(world.engine) as session:
        post = session.get(Post, ids["instagram"])
        assert post is not None
        _future(session, post.member_id)
    graph = world.platforms.graph
    calls = len(graph.requests)
    report = Publisher(world.engine, world.settings).run()
    assert len(graph.requests) == calls  # nothing sent
    assert [pid for pid, _ in report.failed] == [ids["instagram"]]
    with Session(world.engine) as session:
        post = session.get(Post, ids["instagram"])
        assert post is not None and post.state == PostState.CANCELLED
        assert "consent starts on 2099-01-01 07:00 WIB" in (post.cancel_reason or "")


@pytest.mark.slow
def test_publisher_uses_its_clock_for_consent(world: World) -> None:
    """Consent from an hour ahead of the wall clock: a publisher whose clock says two hours on
    publishes (the wall-clock case is the test above)."""
    now = datetime.now(UTC)
    ids = approved_posts(world, {"instagram": now - timedelta(minutes=1)})
    with Session(world.engine) as session:
        post = session.get(Post, ids["instagram"])
        assert post is not None
        _future(session, post.member_id, now + timedelta(hours=1))
    later = Publisher(world.engine, world.settings, clock=lambda: now + timedelta(hours=2))
    report = later.run()
    assert report.published == [ids["instagram"]], report.failed


# --- what staff see -------------------------------------------------------------------------


def test_member_and_ledger_show_when_consent_starts(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with _session(workdir) as session:
        member = session.scalars(
            select(Member)
            .where(Member.consent_withdrawn_at.is_(None), Member.status == "active")
            .order_by(Member.id)
        ).first()
        assert member is not None
        member_id = member.id
        _future(session, member_id)
        now = datetime.now(UTC)
        waiting = {w.member_id for w in ledger.fairness_gap(session, now, limit=None)}
        never = {w.member_id for w in ledger.never_featured(session, now=now)}
    assert member_id not in waiting and member_id not in never
    assert main(["member", member_id]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "consent starts on 2099-01-01 07:00 WIB" in printed
    assert "not promotable" in printed
