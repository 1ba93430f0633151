"""`replace_weakest_slot`: at a plan, the weakest weekly slot of a channel gives way to the
best-supported alternative from the account's own reach, with the reason, only when both have
enough posts and the alternative is clearly better; never a pinned slot or one with a signed-off
post; off by default. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.config import InsightsSettings
from ifn_campaign.models import InsightReading, Pin, Post, PostState
from ifn_campaign.orchestration.stages import PlanSummary
from ifn_campaign.planner.campaign import Campaign
from tests.support.planning import NOW, campaign, live, plan
from tests.support.slot_history import WIB, add_history, weekly

FIRST = dt.date(2026, 9, 1)  # twelve weeks of history before the planner's NOW (2026-11-25)
REACH = {(6, 21): 500, (1, 19): 1000, (2, 19): 2000}  # Sunday 21:00 weak, Wednesday 19:00 strong


def history(session: Session, weeks: int = 12, reach: dict[tuple[int, int], int] = REACH) -> None:
    for (day, hour), value in reach.items():
        add_history(session, weekly(FIRST, weeks, day, f"{hour:02d}:00"), lambda at, v=value: v)


def opted(on: bool = True, **overrides: Any) -> Campaign:
    if "channels" in overrides:
        return campaign(replace_weakest_slot=on, **overrides)
    return campaign(
        channels=[
            {
                "channel": "instagram",
                "slots": [{"days": ["tue", "sun"], "time": "19:00"}],
            }
        ]
        if overrides.pop("sunday_at_19", False)
        else [
            {
                "channel": "instagram",
                "slots": [
                    {"days": ["tue"], "time": "19:00"},
                    {"days": ["sun"], "time": "21:00"},
                ],
            }
        ],
        replace_weakest_slot=on,
        **overrides,
    )


def local_slots(session: Session) -> set[tuple[int, dt.time]]:
    return {
        (p.slot_at.astimezone(WIB).weekday(), p.slot_at.astimezone(WIB).time())
        for p in live(session)
        if p.campaign == "sorotan"
    }


def first_sunday(session: Session) -> Post:
    """The campaign's first planned Sunday post (not one of the history's)."""
    return next(
        p
        for p in live(session)
        if p.campaign == "sorotan" and p.slot_at.astimezone(WIB).weekday() == 6
    )


def test_off_by_default_and_off_plans_the_file_as_written(session: Session) -> None:
    history(session)
    result = plan(session, opted(False))
    assert result.slot_swaps == []
    assert local_slots(session) == {(1, dt.time(19)), (6, dt.time(21))}


def test_on_the_weakest_slot_gives_way_with_the_reason(session: Session) -> None:
    history(session)
    result = plan(session, opted())
    (swap,) = result.slot_swaps
    assert swap.applied and (swap.channel, swap.account) == ("instagram", "bpipi")
    assert swap.reason_en == (
        "Wednesday 19:00 replaces Sunday 21:00: reach index 2.00 vs 0.50 over 12 and 12 posts"
    )
    assert swap.reason_id == (
        "Rabu 19.00 menggantikan Minggu 21.00: indeks jangkauan 2,00 vs 0,50 dari 12 dan 12 pos"
    )
    assert local_slots(session) == {(1, dt.time(19)), (2, dt.time(19))}
    assert result.count("planned") == 4
    # planned again: the same choice, the posts kept
    again = plan(session, opted())
    assert again.slot_swaps[0].applied and again.count("kept") == 4 and not again.cancelled


def test_turning_it_on_cancels_the_planned_posts_of_the_old_slot(session: Session) -> None:
    history(session)
    plan(session, opted(False))
    result = plan(session, opted())
    assert len(result.cancelled) == 2 and {c.reason for c in result.cancelled} == {"slot"}
    assert local_slots(session) == {(1, dt.time(19)), (2, dt.time(19))}


def test_a_signed_off_post_on_the_weakest_slot_keeps_it(session: Session) -> None:
    history(session)
    plan(session, opted(False))
    sunday = first_sunday(session)
    sunday.state = PostState.APPROVED
    session.commit()
    result = plan(session, opted())
    (swap,) = result.slot_swaps
    assert not swap.applied
    assert swap.reason_en.startswith(
        f"Sunday 21:00 kept for now: post {sunday.id} is already approved; Wednesday 19:00 "
        "replaces Sunday 21:00"
    )
    assert swap.reason_id.startswith(f"Minggu 21.00 tetap untuk sekarang: pos {sunday.id} sudah")
    assert local_slots(session) == {(1, dt.time(19)), (6, dt.time(21))}
    assert not result.cancelled


def test_a_pinned_slot_is_never_moved(session: Session) -> None:
    history(session)
    plan(session, opted(False))
    sunday = first_sunday(session)
    sunday.pinned = True
    session.commit()
    assert "is pinned by staff" in plan(session, opted()).slot_swaps[0].reason_en
    sunday.pinned = False
    session.add(
        Pin(
            campaign="sorotan",
            channel="instagram",
            account="bpipi",
            slot_at=sunday.slot_at,
            member_id=sunday.member_id,
            created_at=NOW,
        )
    )
    session.commit()
    swap = plan(session, opted()).slot_swaps[0]
    assert not swap.applied and "staff pinned a member to it" in swap.reason_en
    assert (6, dt.time(21)) in local_slots(session)


def test_not_clearly_better_or_not_enough_history_changes_nothing(session: Session) -> None:
    history(session, reach={(6, 21): 980, (1, 19): 1000, (2, 19): 1050})
    swap = plan(session, opted()).slot_swaps[0]
    assert not swap.applied
    assert swap.reason_en.startswith(
        "Sunday 21:00 kept: Wednesday 19:00 is not clearly better (reach index"
    )
    assert swap.reason_en.endswith("needs 10% higher)")
    assert local_slots(session) == {(1, dt.time(19)), (6, dt.time(21))}


def test_too_little_history_says_what_it_needs(session: Session) -> None:
    history(session, weeks=3)
    swap = plan(session, opted()).slot_swaps[0]
    assert not swap.applied
    assert (
        swap.reason_en == "no slot replaced: not enough history (3 posts on Tuesday 19:00, needs 4)"
    )
    many = plan(session, opted(), insights=InsightsSettings(advice_min_posts=3)).slot_swaps[0]
    assert many.applied


def test_the_alternative_never_collides_with_a_slot_of_the_channel(session: Session) -> None:
    # the best hour is Tuesday 19:00, already a slot: the alternative is the best other one
    history(session, reach={(6, 19): 500, (1, 19): 3000, (2, 19): 1500, (3, 12): 1000})
    result = plan(session, opted(sunday_at_19=True))
    (swap,) = result.slot_swaps
    assert swap.applied and swap.reason_en.startswith("Wednesday 19:00 replaces Sunday 19:00")
    assert local_slots(session) == {(1, dt.time(19)), (2, dt.time(19))}


def test_the_campaigns_timezone_decides_the_hours(session: Session) -> None:
    # the same history judged by a campaign in WITA (an hour ahead of WIB): its slots are
    # Tuesday 20:00 and Sunday 22:00 there, and the alternative is Wednesday 20:00
    history(session)
    wita = opted(
        timezone="Asia/Makassar",
        channels=[
            {
                "channel": "instagram",
                "slots": [
                    {"days": ["tue"], "time": "20:00"},
                    {"days": ["sun"], "time": "22:00"},
                ],
            }
        ],
    )
    (swap,) = plan(session, wita).slot_swaps
    assert swap.applied and swap.reason_en.startswith("Wednesday 20:00 replaces Sunday 22:00")
    assert local_slots(session) == {(1, dt.time(19)), (2, dt.time(19))}  # the same instants


def test_the_plan_flows_summary_lists_what_was_done(session: Session) -> None:
    history(session)
    result = plan(session, opted())
    summary = PlanSummary(result.start, result.end, results=[result])
    text = summary.markdown(WIB)
    assert "## Weekly slots from reach" in text
    assert (
        "| sorotan | instagram/bpipi | Wednesday 19:00 replaces Sunday 21:00: reach index 2.00 "
        "vs 0.50 over 12 and 12 posts |"
    ) in text


def test_an_hour_another_campaign_uses_on_the_account_is_not_taken(session: Session) -> None:
    history(session)
    other = plan(
        session,
        campaign(
            "lain",
            channels=[{"channel": "instagram", "slots": [{"days": ["wed"], "time": "19:30"}]}],
        ),
    )
    assert other.count("planned") == 2
    first = next(p for p in live(session) if p.campaign == "lain")
    (swap,) = plan(session, opted()).slot_swaps
    assert not swap.applied
    assert swap.reason_en == (
        f"Sunday 21:00 kept: Wednesday 19:00 is taken on this account by campaign lain "
        f"(post {first.id})"
    )
    assert local_slots(session) == {(1, dt.time(19)), (6, dt.time(21))}


def test_a_replaced_slot_whose_history_aged_out_is_planned_again(session: Session) -> None:
    """The file is never rewritten: once the replaced Sunday's posts left the advice window
    (three of them left, four needed), the plan cannot judge it and uses it again, as
    docs/how-to/insights.md says, until it has enough posts to be judged once more."""
    add_history(session, weekly(FIRST, 3, 6, "21:00"), lambda at: 500)
    history(session, reach={(1, 19): 1000, (2, 19): 2000})
    (swap,) = plan(session, opted()).slot_swaps
    # the weakest slot it can judge is now Tuesday, and Wednesday beats it
    assert swap.applied and swap.reason_en.startswith("Wednesday 19:00 replaces Tuesday 19:00")
    assert local_slots(session) == {(2, dt.time(19)), (6, dt.time(21))}


def test_a_replacement_in_force_holds_while_the_alternative_stays_better(
    session: Session,
) -> None:
    """10% better starts a replacement; once its posts are planned, a later plan keeps it while
    the alternative is still better at all, so an index hovering at the margin does not cancel
    and re-plan the posts of both slots plan after plan."""
    history(session, reach={(6, 21): 980, (1, 19): 1000, (2, 19): 2000})
    assert plan(session, opted()).slot_swaps[0].applied
    wednesdays = [
        r
        for r in session.scalars(select(InsightReading))
        if session.get(Post, r.post_id).slot_at.astimezone(WIB).weekday() == 2  # type: ignore[union-attr]
    ]
    for reading in wednesdays:
        reading.reach = 1050  # now only some 7% better than Sunday's 980
    session.commit()
    again = plan(session, opted())
    (swap,) = again.slot_swaps
    assert swap.applied, swap.reason_en
    assert swap.reason_en.startswith("Wednesday 19:00 replaces Sunday 21:00: reach index 1.05")
    assert swap.reason_en.endswith("(kept from the earlier plan: still better)")
    assert swap.reason_id.endswith("(dipertahankan dari rencana sebelumnya: masih lebih baik)")
    assert again.count("kept") == 4 and not again.cancelled
    assert local_slots(session) == {(1, dt.time(19)), (2, dt.time(19))}
    # never kept once the alternative is no better than the slot it replaced
    for reading in wednesdays:
        reading.reach = 970
    session.commit()
    (swap,) = plan(session, opted()).slot_swaps
    assert not swap.applied and "is not clearly better" in swap.reason_en
    assert local_slots(session) == {(1, dt.time(19)), (6, dt.time(21))}
