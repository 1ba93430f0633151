"""Planning against a real database (SQLite and PostgreSQL): posts written with reasons, re-planning
stable, withdrawals and exclusions replaced, pins honoured, signed-off posts untouched, budgets
counted across campaigns, and slots near midnight WIB stored on the right UTC day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.errors import PlanError
from ifn_campaign.models import Exclusion, Member, MemberMedia, Pin, Post, PostState
from ifn_campaign.planner.budget import limits_from
from ifn_campaign.planner.plan import plan_campaign, plan_campaigns
from tests.support.planning import LIMITS, NOW, START, campaign, live, plan


def test_plan_writes_posts_with_reasons_in_utc(session: Session) -> None:
    result = plan(session, campaign())
    assert result.count("planned") == 6 and not result.cancelled
    posts = live(session)
    assert len(posts) == 6
    assert {p.member_id for p in posts}.__len__() == 6  # one round: nobody twice
    first = posts[0]
    assert first.slot_at == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # Tue 19:00 WIB
    assert first.channel == "instagram" and first.account == "bpipi"
    assert first.state == PostState.PLANNED and first.rotation_round == 1
    assert first.reason_id.startswith("belum pernah ditampilkan")
    assert first.reason_en.startswith("never featured")
    assert first.template == "sorotan"


def test_replanning_is_stable_and_fills_only_new_slots(session: Session) -> None:
    plan(session, campaign(), weeks=2)
    before = {(p.id, p.member_id) for p in live(session)}
    again = plan(session, campaign(), weeks=2)
    assert again.count("kept") == 6 and again.count("planned") == 0
    assert {(p.id, p.member_id) for p in live(session)} == before
    longer = plan(session, campaign(), weeks=3)
    assert longer.count("kept") == 6 and longer.count("planned") == 3
    assert {(p.id, p.member_id) for p in live(session)} >= before


def test_dry_run_is_a_rollback(session: Session) -> None:
    result = plan_campaign(session, campaign(), LIMITS, START, START + timedelta(weeks=1), NOW)
    assert result.count("planned") == 3
    session.rollback()
    assert live(session) == []


def test_withdrawal_and_exclusion_replace_planned_but_never_signed_off_posts(
    session: Session,
) -> None:
    plan(session, campaign())
    posts = live(session)
    withdrawn, approved, excluded = posts[0], posts[1], posts[2]
    approved.state = PostState.APPROVED
    member = session.get(Member, withdrawn.member_id)
    assert member is not None
    member.consent_withdrawn_at = NOW
    same = session.get(Member, approved.member_id)
    assert same is not None
    same.consent_channels = []  # also lost consent, but staff approved: the planner keeps it
    session.add(
        Exclusion(
            member_id=excluded.member_id, reason="audit mutu", created_at=NOW, campaign="sorotan"
        )
    )
    session.commit()
    result = plan(session, campaign())
    assert result.count("replaced") == 2 and result.count("kept") == 4
    reasons = {c.post_id: c.reason for c in result.cancelled}
    assert reasons[withdrawn.id or 0] == "no consent for instagram"
    assert reasons[excluded.id or 0] == "excluded by staff: audit mutu"
    session.refresh(withdrawn)
    assert withdrawn.state == PostState.CANCELLED
    assert (
        withdrawn.cancel_reason
        == "tidak ada persetujuan untuk instagram / no consent for instagram"
    )
    session.refresh(approved)
    assert approved.state == PostState.APPROVED
    now_live = {(p.slot_at, p.channel): p.member_id for p in live(session)}
    assert now_live[(withdrawn.slot_at, withdrawn.channel)] != withdrawn.member_id
    assert now_live[(excluded.slot_at, excluded.channel)] != excluded.member_id
    assert withdrawn.member_id not in now_live.values()


def test_pins_win_over_rotation_but_not_over_consent(session: Session) -> None:
    plan(session, campaign(cooldown_days=90))
    posts = live(session)
    star = posts[0].member_id  # featured on Dec 1, in cooldown for 90 days
    slot = posts[3]
    session.add(
        Pin(
            campaign="sorotan",
            channel=slot.channel,
            account=slot.account,
            slot_at=slot.slot_at,
            member_id=star,
            note="ulang tahun ke-25",
            created_at=NOW,
        )
    )
    no_consent = session.scalars(
        select(Member).where(Member.id.not_in({p.member_id for p in posts}))
    ).first()
    assert no_consent is not None
    no_consent.consent_channels = ["youtube"]
    blocked = posts[4]
    session.add(
        Pin(
            campaign="sorotan",
            channel=blocked.channel,
            account=blocked.account,
            slot_at=blocked.slot_at,
            member_id=no_consent.id,
            created_at=NOW,
        )
    )
    session.commit()
    result = plan(session, campaign(cooldown_days=90))
    by_slot = {line.slot.at: line for line in result.lines}
    pinned = by_slot[slot.slot_at]
    assert pinned.action == "replaced" and pinned.member_id == star
    assert pinned.reason_en == "pinned by staff: ulang tahun ke-25"
    assert by_slot[blocked.slot_at].action == "kept"  # the pin is refused; the post stays
    post = session.scalars(
        select(Post).where(Post.slot_at == slot.slot_at, Post.state == "planned")
    ).one()
    assert post.pinned and post.member_id == star
    # Re-planning keeps the pinned post as it is.
    assert plan(session, campaign(cooldown_days=90)).count("replaced") == 0


def _pin(session: Session, post: Post, member_id: str) -> None:
    session.add(
        Pin(
            campaign=post.campaign,
            channel=post.channel,
            account=post.account,
            slot_at=post.slot_at,
            member_id=member_id,
            created_at=NOW,
        )
    )
    session.commit()


def test_a_kept_post_whose_member_is_now_in_cooldown_is_replaced(session: Session) -> None:
    c = campaign(cooldown_days=30)
    plan(session, c)
    posts = live(session)
    later = posts[3]  # a week after the first slot
    _pin(session, posts[0], later.member_id)  # staff pin that member into the first slot
    result = plan(session, c)
    cancelled = {x.post_id: x.reason for x in result.cancelled}
    assert cancelled[later.id or 0] == "in the campaign's cooldown"
    now_live = {p.slot_at: p.member_id for p in live(session)}
    assert now_live[posts[0].slot_at] == later.member_id
    assert now_live[later.slot_at] != later.member_id
    again = plan(session, c)  # and the plan is stable from there
    assert not again.cancelled and again.count("kept") == 6


def test_the_rotation_keeps_clear_of_a_pin_later_in_the_plan(session: Session) -> None:
    c = campaign(cooldown_days=30)
    first = plan_campaign(session, c, LIMITS, START, START + timedelta(weeks=2), NOW).lines[0]
    session.rollback()
    star = first.member_id  # whom the rotation would put first
    assert star is not None
    target = Post(
        campaign="sorotan",
        channel="instagram",
        account="bpipi",
        slot_at=datetime(2026, 12, 8, 12, 0, tzinfo=UTC),  # Tue a week later, 19:00 WIB
        member_id=star,
        template="sorotan",
        reason_id="",
        reason_en="",
        state_changed_at=NOW,
        created_at=NOW,
    )
    _pin(session, target, star)
    result = plan(session, c)
    assert [line.slot.at for line in result.lines if line.member_id == star] == [target.slot_at]
    again = plan(session, c)
    assert not again.cancelled and again.count("kept") == 6


def test_refused_pin_on_an_empty_slot_says_why(session: Session) -> None:
    member = session.get(Member, "gen-000001")
    assert member is not None
    member.consent_withdrawn_at = NOW
    session.add(
        Pin(
            campaign="sorotan",
            channel="instagram",
            account="bpipi",
            slot_at=datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
            member_id="gen-000001",
            created_at=NOW,
        )
    )
    session.commit()
    line = plan(session, campaign()).lines[0]
    assert line.action == "planned" and line.member_id != "gen-000001"
    assert line.reason_en.startswith("pin refused (no consent for instagram); ")


def test_slots_the_campaign_dropped_lose_their_planned_posts(session: Session) -> None:
    plan(session, campaign())
    moved = campaign(
        channels=[
            {"channel": "instagram", "slots": [{"days": ["tue", "thu"], "time": "20:00"}]},
            {"channel": "facebook", "slots": [{"days": ["wed"], "time": "18:30"}]},
        ]
    )
    result = plan(session, moved)
    assert len(result.cancelled) == 4 and {c.reason for c in result.cancelled} == {"slot"}
    assert result.count("planned") == 4 and result.count("kept") == 2
    assert all(p.slot_at.hour in (11, 13) for p in live(session))  # 18:30 and 20:00 WIB


def test_past_slots_are_never_planned(session: Session) -> None:
    later = START + timedelta(days=3)  # Thursday 00:00 UTC: Tuesday's and Wednesday's slots passed
    result = plan_campaign(session, campaign(), LIMITS, START, START + timedelta(weeks=1), later)
    assert [line.slot.at.weekday() for line in result.lines] == [3]


def test_budget_counts_every_campaign_on_the_account(session: Session) -> None:
    settings = Settings(instagram={"posts_per_24h": 1})
    weekly = campaign("weekly")
    flash = campaign(
        "flash",
        channels=[{"channel": "instagram", "slots": [{"days": ["tue"], "time": "12:12"}]}],
    )
    results = plan_campaigns(
        session, [weekly, flash], limits_from(settings), START, START + timedelta(weeks=2), NOW
    )
    session.commit()
    flash_lines = results[1].lines
    assert [line.action for line in flash_lines] == ["gap", "gap"]
    assert (
        flash_lines[0].reason_en == "account budget full: instagram/bpipi (1 per rolling 24 hours)"
    )
    ig = sorted(p.slot_at for p in live(session) if p.channel == "instagram")
    assert all(b - a >= timedelta(hours=24) for a, b in pairwise(ig))


def test_youtube_budget_is_per_pacific_day(session: Session) -> None:
    settings = Settings(youtube={"uploads_per_day": 1})
    # 07:00 and 23:00 WIB on Friday are Thursday 16:00 and Friday 08:00 in Los Angeles:
    # two Pacific days, so both fit; 07:00 and 08:00 WIB are the same Pacific day.
    c = campaign(
        channels=[
            {
                "channel": "youtube",
                "slots": [{"days": ["fri"], "time": t} for t in ("07:00", "08:00", "23:00")],
            }
        ]
    )
    result = plan(session, c, weeks=1, limits=limits_from(settings))
    assert [line.action for line in result.lines] == ["planned", "gap", "planned"]


def test_midnight_wib_slot_is_the_previous_day_in_utc(session: Session) -> None:
    c = campaign(channels=[{"channel": "instagram", "slots": [{"days": ["tue"], "time": "00:30"}]}])
    plan(session, c, weeks=1)
    (post,) = live(session)
    assert post.slot_at == datetime(2026, 11, 30, 17, 30, tzinfo=UTC)  # Monday in UTC


def test_holiday_slot_moves_to_the_next_working_day(session: Session) -> None:
    c = campaign(
        holidays="move",
        channels=[{"channel": "youtube", "slots": [{"days": ["fri"], "time": "17:00"}]}],
    )
    start = datetime(2026, 12, 21, tzinfo=UTC)
    plan_campaign(session, c, LIMITS, start, start + timedelta(days=8), NOW)
    session.commit()
    (post,) = live(session)
    # Friday 25 December is Christmas (and the 24th cuti bersama): Monday 28th, 17:00 WIB.
    assert post.slot_at == datetime(2026, 12, 28, 10, 0, tzinfo=UTC)


def test_one_live_post_per_slot_is_enforced_by_the_database(session: Session) -> None:
    plan(session, campaign(), weeks=1)
    first = live(session)[0]
    twin = Post(
        campaign=first.campaign,
        channel=first.channel,
        account=first.account,
        slot_at=first.slot_at,
        member_id="gen-000012",
        template="sorotan",
        reason_id="x",
        reason_en="x",
        state_changed_at=NOW,
        created_at=NOW,
    )
    session.add(twin)
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    twin = Post(**{**twin.model_dump(exclude={"id"}), "state": PostState.CANCELLED})
    session.add(twin)
    session.commit()  # a cancelled post may share the slot


def test_members_without_media_or_inactive_are_never_planned(session: Session) -> None:
    ids = [m for m in session.scalars(select(Member.id))]
    for member_id in ids[:4]:
        for media in session.scalars(select(MemberMedia).where(MemberMedia.member_id == member_id)):
            session.delete(media)
    for member_id in ids[4:8]:
        member = session.get(Member, member_id)
        assert member is not None
        member.status = "suspended"
    session.commit()
    plan(session, campaign(), weeks=4)
    assert {p.member_id for p in live(session)} == set(ids[8:])


def test_an_empty_range_is_an_error(session: Session) -> None:
    with pytest.raises(PlanError, match="ends"):
        plan_campaign(session, campaign(), LIMITS, START, START, NOW)


def test_a_failed_post_keeps_its_slot(session: Session) -> None:
    plan(session, campaign(), weeks=1)
    first = live(session)[0]
    first.state = PostState.FAILED
    session.commit()
    result = plan(session, campaign(), weeks=1)  # no attempt to double-book the slot
    line = next(line for line in result.lines if line.slot.at == first.slot_at)
    assert line.action == "kept" and line.state == PostState.FAILED


def test_never_featured_longest_waiting_first(session: Session) -> None:
    for member in session.scalars(select(Member)):
        member.province = "Jawa Timur"  # the province share ranks before the wait
    newest = session.get(Member, "gen-000001")
    assert newest is not None
    newest.first_seen_at = NOW - timedelta(days=400)  # waiting longest of all
    newest.consent_granted_at = NOW - timedelta(days=400)
    session.commit()
    assert plan(session, campaign(), weeks=1).lines[0].member_id == "gen-000001"
