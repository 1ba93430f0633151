"""Slot advice read from the database (SQLite and PostgreSQL): only the account's own published
posts of the last `advice_weeks` weeks count, each at its comparable mark, through figures.py."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ifn_campaign.config import InsightsSettings
from ifn_campaign.insights.figures import reach_by_mark
from ifn_campaign.insights.slot_advice import account_advice, account_history
from ifn_campaign.models import InsightReading, PostState, ReadingState
from tests.support.insights import add_reading
from tests.support.slot_history import WIB, add_history, weekly

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
FIRST = dt.date(2026, 6, 15)
T19, T21 = dt.time(19, 0), dt.time(21, 0)


def test_history_is_the_accounts_own_published_posts_at_a_comparable_mark(
    session: Session,
) -> None:
    tuesdays = add_history(session, weekly(FIRST, 20, 1, "19:00"), lambda at: 2000)
    sundays = add_history(session, weekly(FIRST, 20, 6, "21:00"), lambda at: 1000)
    # not this account's, not this channel's, not published, too old: none of them count
    add_history(session, weekly(FIRST, 8, 2, "12:00"), lambda at: 9999, account="lain")
    add_history(session, weekly(FIRST, 8, 2, "12:00"), lambda at: 9999, channel="facebook")
    add_history(session, weekly(FIRST, 8, 3, "12:00"), lambda at: 9999, state=PostState.CANCELLED)
    add_history(session, weekly(dt.date(2025, 6, 2), 8, 4, "12:00"), lambda at: 9999)
    # a young post read at 1d only, one read at 28d only (the 7d reading was missed), one whose
    # 7d reading failed
    young = add_history(
        session, weekly(dt.date(2026, 12, 1), 1, 1, "19:00"), lambda at: 5, mark="1d"
    )
    late = add_history(session, weekly(FIRST, 1, 3, "19:00"), lambda at: 700, mark="28d")
    failed = add_history(session, weekly(FIRST, 1, 4, "19:00"), lambda at: 700)
    reading = reach_by_mark(session, failed)
    assert reading == {failed[0]: {"7d": 700}}
    for row in session.scalars(select(InsightReading).where(InsightReading.post_id == failed[0])):
        row.state = ReadingState.FAILED
    session.commit()

    h = account_history(session, "instagram", "bpipi", NOW, InsightsSettings())
    posts, left_out, mark = h.posts, h.left_out, h.mark
    assert mark == "7d" and h.late == 0
    assert {p.post_id for p in posts} == set(tuesdays) | set(sundays) | set(late)
    assert left_out == 2 and young[0] not in {p.post_id for p in posts}
    assert next(p for p in posts if p.post_id == late[0]).mark == "28d"

    advice = account_advice(
        session, "instagram", "bpipi", [(1, T19), (6, T21)], WIB, NOW, InsightsSettings()
    )
    assert advice.marks == {"28d": 1, "7d": 40} and advice.left_out == 2
    shown = {(s.weekday, s.hour): s for s in advice.shown}
    assert set(shown) == {(1, 19), (6, 21)}
    assert shown[(1, 19)].posts == 20 and shown[(6, 21)].posts == 20
    # each post against its neighbours' median (1500): Tuesdays 2000/1500, Sundays 1000/1500
    assert (shown[(1, 19)].index, shown[(6, 21)].index) == (1.33, 0.67)
    assert advice.weakest is not None and advice.weakest.weekday == 6
    assert advice.alternative is None  # nothing with enough posts outside the current slots


def test_fewer_weeks_and_more_posts_needed_are_settings(session: Session) -> None:
    add_history(session, weekly(FIRST, 25, 1, "19:00"), lambda at: 1000)
    add_history(session, weekly(FIRST, 25, 6, "21:00"), lambda at: 1000)  # the last is after NOW
    short = InsightsSettings(advice_weeks=4, advice_min_posts=5)
    advice = account_advice(session, "instagram", "bpipi", [(1, T19)], WIB, NOW, short)
    assert advice.posts == 8 and advice.shown == ()
    assert advice.thin_notes() == ["4 posts on Tuesdays 19:00, needs 5"]


def test_an_account_with_no_history(session: Session) -> None:
    advice = account_advice(
        session, "youtube", "bpipi", [(1, T19)], WIB, NOW, InsightsSettings(read_after=["1h", "1d"])
    )
    assert advice.mark == "1d" and advice.slots == () and advice.left_out == 0


def test_a_reading_of_another_account_is_never_borrowed(session: Session) -> None:
    ids = add_history(session, weekly(FIRST, 6, 1, "19:00"), lambda at: 1000, account="lain")
    add_reading(session, ids[0], "28d", 1200)
    session.commit()
    assert account_history(session, "instagram", "bpipi", NOW, InsightsSettings()).posts == []


def test_a_negative_or_odd_reading_is_no_figure(session: Session) -> None:
    good = add_history(session, weekly(FIRST, 5, 1, "19:00"), lambda at: 1000)
    odd = add_history(session, weekly(FIRST, 2, 2, "19:00"), lambda at: -5)
    strange = add_history(session, weekly(FIRST, 1, 3, "19:00"), lambda at: 10)
    session.execute(  # a mark no settings could name (a hand edit): compared with nothing
        update(InsightReading).where(InsightReading.post_id == strange[0]).values(mark="soon")
    )
    session.commit()
    h = account_history(session, "instagram", "bpipi", NOW, InsightsSettings())
    assert {p.post_id for p in h.posts} == set(good)
    assert h.left_out == len(odd) + len(strange) and h.late == 0
