"""Late readings (ifn_campaign/insights/lateness.py): a reading taken more than its tolerance
after its mark, as when the worker was down for days and the 7d reading was taken on day 12.
Every user of readings with one: slot advice leaves it out and says so, fair by reach and the
monthly report count it as the latest count there is, `history` and `insights show` say it is
late (tests/cli/test_ledger_reach.py, tests/insights/test_cli.py), the console's member page
too (tests/console/test_reach_pages.py). SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from ifn_campaign.config import InsightsSettings, mark_delta
from ifn_campaign.insights.figures import (
    latest_figures,
    latest_reach,
    member_reach,
    post_readings,
    reach_by_mark,
)
from ifn_campaign.insights.lateness import age_label, late_by, tolerance
from ifn_campaign.insights.slot_advice import account_advice, account_history
from ifn_campaign.models import Post, PostState
from ifn_campaign.reports.reach import collect_reach
from tests.support.insights import add_reading
from tests.support.ledger import add_member, add_post
from tests.support.slot_history import WIB, add_history, weekly

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
FIRST = dt.date(2026, 6, 15)
DEFAULTS = InsightsSettings()
T19, T21 = dt.time(19, 0), dt.time(21, 0)


@pytest.mark.parametrize(
    ("mark", "allowed"),
    [
        ("1h", dt.timedelta(hours=2)),  # the floor: the hourly flow, Meta's lag
        ("1d", dt.timedelta(hours=6)),
        ("7d", dt.timedelta(hours=42)),
        ("28d", dt.timedelta(days=7)),
    ],
)
def test_the_tolerance_grows_with_the_mark(mark: str, allowed: dt.timedelta) -> None:
    assert tolerance(mark, DEFAULTS) == allowed
    due = NOW
    assert late_by(mark, due, due + allowed, DEFAULTS) is None  # at the edge: on time
    after = allowed + dt.timedelta(minutes=1)
    assert late_by(mark, due, due + after, DEFAULTS) == after


def test_what_is_never_late() -> None:
    assert late_by("7d", NOW, None, DEFAULTS) is None  # not read
    assert late_by("soon", NOW, NOW + dt.timedelta(days=30), DEFAULTS) is None  # no mark
    assert late_by("7d", NOW, NOW - dt.timedelta(hours=1), DEFAULTS) is None  # read early
    strict = InsightsSettings(late_share=0, late_min_hours=0)
    assert late_by("7d", NOW, NOW + dt.timedelta(seconds=1), strict) == dt.timedelta(seconds=1)
    assert age_label(dt.timedelta(days=5, hours=2)) == "5d 2h"
    assert age_label(dt.timedelta(hours=3, minutes=10)) == "3h"
    assert age_label(dt.timedelta(days=2)) == "2d"
    with pytest.raises(ValueError):
        InsightsSettings(late_share=-0.1)


def _late(session: Session, post_id: int, mark: str, reach: int, days: float) -> None:
    """Post `post_id`'s reading at `mark`, taken `days` after it was due."""
    post = session.get_one(Post, post_id)
    assert post.published_at is not None
    due = post.published_at + mark_delta(mark)
    add_reading(session, post_id, mark, reach, {"reach": reach}, due + dt.timedelta(days=days))


def test_figures_say_which_reading_is_late(session: Session) -> None:
    on_time, late = add_history(session, weekly(FIRST, 2, 1, "19:00"), lambda at: 1000)
    _late(session, late, "28d", 1500, 0.5)  # 12 hours: inside 28d's 7 days
    session.commit()
    figures = latest_figures(session, [on_time, late])
    assert figures[on_time].late_by(DEFAULTS) is None and figures[late].mark == "28d"
    assert figures[late].late_by(DEFAULTS) is None
    # the same reading taken 5 days after its mark at 7d is late; at 28d it is not
    other = add_history(session, weekly(FIRST, 1, 2, "19:00"), lambda at: 1, mark="1d")[0]
    _late(session, other, "7d", 900, 5)
    session.commit()
    (figures,) = latest_figures(session, [other]).values()
    assert figures.mark == "7d" and figures.late_by(DEFAULTS) == dt.timedelta(days=5)
    series = {r.mark: r.late_by(DEFAULTS) for r in post_readings(session, other)}
    assert series == {"1d": None, "7d": dt.timedelta(days=5)}
    assert reach_by_mark(session, [other]) == {other: {"1d": 1, "7d": 900}}
    assert reach_by_mark(session, [other], on_time=DEFAULTS) == {other: {"1d": 1}}


def test_slot_advice_leaves_a_late_reading_out_and_says_so(session: Session) -> None:
    tuesdays = add_history(session, weekly(FIRST, 20, 1, "19:00"), lambda at: 2000)
    sundays = add_history(session, weekly(FIRST, 20, 6, "21:00"), lambda at: 1000)
    # the worker was down: four Sunday posts had their 7d reading on day 12, and a high one
    # (a 12-day count beside 7-day counts) that would lift Sunday above Tuesday if compared
    late_sundays = add_history(
        session, weekly(dt.date(2026, 11, 2), 4, 6, "21:00"), lambda at: 1, mark="1d"
    )
    for post_id in late_sundays:
        _late(session, post_id, "7d", 9000, 5)
    # a late 7d reading and an on-time 28d one: the post counts at 28d, as before
    both = add_history(session, weekly(FIRST, 1, 3, "19:00"), lambda at: 1, mark="1d")[0]
    _late(session, both, "7d", 600, 5)
    add_reading(session, both, "28d", 700)
    session.commit()

    history = account_history(session, "instagram", "bpipi", NOW, DEFAULTS)
    compared = {p.post_id: p for p in history.posts}
    assert set(compared) == set(tuesdays) | set(sundays) | {both}
    assert compared[both].mark == "28d" and compared[both].reach == 700
    assert history.late == 4 and history.left_out == 0

    advice = account_advice(session, "instagram", "bpipi", [(1, T19), (6, T21)], WIB, NOW, DEFAULTS)
    assert advice.late == 4 and advice.marks == {"28d": 1, "7d": 40}
    shown = {(s.weekday, s.hour): s for s in advice.shown}
    assert shown[(6, 21)].posts == 20 and shown[(1, 19)].index > shown[(6, 21)].index
    assert advice.weakest is not None and advice.weakest.weekday == 6

    # with a tolerance wide enough, the same readings are on time and compared at 7d
    lenient = InsightsSettings(late_share=1.0)
    history = account_history(session, "instagram", "bpipi", NOW, lenient)
    assert history.late == 0 and set(late_sundays) <= {p.post_id for p in history.posts}


def test_fair_by_reach_and_the_report_count_a_late_reading_as_the_latest(
    session: Session,
) -> None:
    """Not a same-age comparison: each post counts at its latest reading, and a late one is
    the latest count there is (its 1d reading would undercount it far more)."""
    member = "ifn-late"
    add_member(session, member)
    at = dt.datetime(2026, 11, 3, 12, tzinfo=dt.UTC)
    post = add_post(
        session, member, PostState.PUBLISHED, slot_at=at, featured_at=at, published_at=at
    )
    add_reading(session, post, "1d", 100)
    _late(session, post, "7d", 900, 5)
    session.commit()
    (reach,) = member_reach(session, [member])[member]
    assert (reach.post_id, reach.reach) == (post, 900)
    assert latest_reach(session, [post]) == {post: 900}
    summary = collect_reach(
        session,
        since=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        until=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        as_of=NOW,
        zone=ZoneInfo("Asia/Jakarta"),
    )
    assert [(p.post_id, p.reach) for p in summary.posts] == [(post, 900)]
