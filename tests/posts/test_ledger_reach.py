"""Reach in the ledger: per group (total, median of the features read, how many not read yet,
the share of reach beside the share of members) and in a member's history, from readings
written straight to the database (tests/support/insights.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ifn_campaign.models import Post, PostState, ReadingState
from ifn_campaign.posts.ledger import (
    DIMENSIONS,
    Reach,
    member_history,
    shares_by,
    shares_by_all,
)
from tests.support.insights import add_reading
from tests.support.ledger import add_member, add_post

NOW = datetime(2026, 12, 1, tzinfo=UTC)
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _day(n: int, hour: int = 12) -> datetime:
    """Day n of November 2026 (UTC)."""
    return datetime(2026, 11, n, hour, tzinfo=UTC)


def _feature(s: Session, member_id: str, day: int, channel: str = "instagram") -> int:
    return add_post(
        s,
        member_id,
        PostState.PUBLISHED,
        channel,
        slot_at=_day(day),
        featured_at=_day(day),
        published_at=_day(day),
    )


@pytest.fixture
def reach_db(engine: Engine) -> Engine:
    """Four consenting members, features with and without readings:

    a  Jawa Barat, producer, leather_shoes        reach 100 (1d 40, then 7d 100), 300
    b  Jawa Timur, [brand, producer], [sandals, boots]   reach 50; one not read yet
    c  Jawa Timur, supplier, components           a reading to try again; one read without reach
    d  no province, no categories                  never featured
    """
    with Session(engine) as s:
        add_member(s, "a", first_seen_at=T0)
        add_member(
            s,
            "b",
            province="Jawa Timur",
            actor_types=["brand", "producer"],
            categories=["sandals", "boots"],
            first_seen_at=T0,
        )
        add_member(
            s,
            "c",
            province="Jawa Timur",
            actor_types=["supplier"],
            categories=["components"],
            first_seen_at=T0,
        )
        add_member(s, "d", province=None, categories=[], first_seen_at=T0)
        a1 = _feature(s, "a", 2)
        add_reading(s, a1, "1d", 40, {"reach": 40})
        add_reading(s, a1, "7d", 100, {"reach": 100, "likes": 7})
        add_reading(s, _feature(s, "a", 10, "facebook"), "7d", 300)
        add_reading(s, _feature(s, "b", 5, "youtube"), "1d", 50, {"views": 50})
        _feature(s, "b", 12)  # not read yet
        add_reading(s, _feature(s, "c", 20), "1h", None, state=ReadingState.RETRY)
        add_reading(s, _feature(s, "c", 21), "1h", None)  # read, but no reach figure
        s.commit()
    return engine


def _by_value(shares: list) -> dict:
    return {s.value: s for s in shares}


def test_reach_per_province(reach_db: Engine) -> None:
    with Session(reach_db) as s:
        found = _by_value(shares_by(s, "province", NOW, with_reach=True))
    # even count: the median is the mean of the middle two; the 7d reading replaces the 1d
    assert found["Jawa Barat"].reach == Reach(
        total=400, read=2, unread=0, median=200.0, share=400 / 450
    )
    # b's unread feature and both of c's (one still to try, one read without reach) are not
    # read yet: left out of the median, not counted as 0
    assert found["Jawa Timur"].features == 4
    assert found["Jawa Timur"].reach == Reach(
        total=50, read=1, unread=3, median=50.0, share=50 / 450
    )
    assert found["Jawa Timur"].member_share == 0.5
    assert found["Jawa Timur"].reach_gap == pytest.approx(50 / 450 - 0.5)
    assert found["Jawa Barat"].reach_gap == pytest.approx(400 / 450 - 0.25)
    # a group with members and no features: no reach, no median, nothing to read
    assert found[None].features == 0 and found[None].members == 1
    assert found[None].reach == Reach(total=0, read=0, unread=0, median=None, share=0.0)


def test_a_member_counts_under_their_first_category(reach_db: Engine) -> None:
    """b lists sandals then boots: b's features and reach count under sandals only, so the
    shares add up to the whole (the rule the fairness page and the CLI state)."""
    with Session(reach_db) as s:
        found = _by_value(shares_by(s, "category", NOW, with_reach=True))
    assert "boots" not in found
    assert found["sandals"].reach == Reach(total=50, read=1, unread=1, median=50.0, share=50 / 450)
    assert found["components"].reach == Reach(total=0, read=0, unread=2, median=None, share=0.0)
    assert sum(s.reach.share for s in found.values() if s.reach) == pytest.approx(1.0)


def test_odd_count_median_and_a_period(reach_db: Engine) -> None:
    with Session(reach_db) as s:
        a3 = _feature(s, "a", 25)
        add_reading(s, a3, "1d", 7)
        s.commit()
        whole = _by_value(shares_by(s, "province", NOW, with_reach=True))
        assert whole["Jawa Barat"].reach == Reach(407, 3, 0, 100.0, 407 / 457)
        # since is inclusive, until exclusive: a's day 10 and b's day 5
        period = _by_value(shares_by(s, "province", NOW, _day(3), _day(11), with_reach=True))
        assert period["Jawa Barat"].reach == Reach(300, 1, 0, 300.0, 300 / 350)
        assert period["Jawa Timur"].reach == Reach(50, 1, 0, 50.0, 50 / 350)


def test_nothing_read_yet_anywhere(engine: Engine) -> None:
    with Session(engine) as s:
        add_member(s, "a")
        _feature(s, "a", 3)
        s.commit()
        [share] = shares_by(s, "province", NOW, with_reach=True)
    assert share.reach == Reach(total=0, read=0, unread=1, median=None, share=0.0)
    assert share.reach_gap == -1.0


def test_with_reach_keeps_the_counts_and_matches_per_dimension(reach_db: Engine) -> None:
    with Session(reach_db) as s:
        for args in ((None, None, None), (_day(5), _day(13), None), (None, None, "none-such")):
            plain = shares_by_all(s, NOW, *args)
            every = shares_by_all(s, NOW, *args, with_reach=True)
            assert every == {d: shares_by(s, d, NOW, *args, with_reach=True) for d in DIMENSIONS}
            # the counts are the ones without reach; only the reach is added
            for d in DIMENSIONS:
                assert [(x.value, x.features, x.members) for x in plain[d]] == [
                    (x.value, x.features, x.members) for x in every[d]
                ]
                assert all(x.reach is None and x.reach_gap is None for x in plain[d])
                assert all(x.reach is not None for x in every[d])


def test_history_has_each_features_latest_figures(reach_db: Engine) -> None:
    with Session(reach_db) as s:
        add_post(s, "a", PostState.APPROVED, slot_at=_day(28))
        gone = _feature(s, "a", 26)
        add_reading(s, gone, "1d", 12, {"reach": 12})
        add_reading(s, gone, "7d", None, state=ReadingState.GONE)
        s.get_one(Post, gone).remote_gone_at = _day(27)
        s.commit()
        history = {h.post_id: h for h in member_history(s, "a")}
    [approved] = [h for h in history.values() if h.state == PostState.APPROVED]
    assert approved.figures is None and approved.remote_gone_at is None
    first = min(history)
    assert history[first].figures is not None
    assert (history[first].figures.mark, history[first].figures.reach) == ("7d", 100)
    assert history[first].figures.metrics == {"likes": 7, "reach": 100}
    assert history[first].figures.read_at == _day(9)  # 7 days after it went live
    # gone from the platform: its last figures stay, and when it went is known
    assert history[gone].remote_gone_at == _day(27)
    assert history[gone].figures is not None and history[gone].figures.reach == 12
    with Session(reach_db) as s:
        unread = [h for h in member_history(s, "b") if h.figures is None]
    assert len(unread) == 1 and unread[0].featured_at == _day(12)


# any ledger: provinces, features with or without a reach (None: not read yet)
_FEATURES = st.lists(
    st.tuples(st.sampled_from(["Aceh", "Bali", "Papua"]), st.none() | st.integers(0, 10**7)),
    max_size=12,
)


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(features=_FEATURES, extra_members=st.lists(st.sampled_from(["Aceh", "Riau"]), max_size=3))
def test_reach_of_any_ledger(
    engine: Engine, features: list[tuple[str, int | None]], extra_members: list[str]
) -> None:
    """Whatever the ledger: a group's reach is the sum of its features read, its median the
    median of those (None with none), the not read are the rest, the shares of reach add up to
    1 when anything was reached (0 each when nothing was), and the counts without reach stay."""
    with Session(engine) as s:
        for table in ("insight_metric", "insight_reading", "feature", "post", "member"):
            s.execute(text(f"DELETE FROM {table}"))
        for n, (province, _) in enumerate(features):
            add_member(s, f"m{n}", province=province, first_seen_at=T0)
        for n, province in enumerate(extra_members):
            add_member(s, f"x{n}", province=province, first_seen_at=T0)
        for n, (_, reach) in enumerate(features):
            post = _feature(s, f"m{n}", 1 + n)
            if reach is not None:
                add_reading(s, post, "1d", reach)
        s.commit()
        found = _by_value(shares_by(s, "province", NOW, with_reach=True))
        plain = _by_value(shares_by(s, "province", NOW))
    assert {v: (x.features, x.members) for v, x in found.items()} == {
        v: (x.features, x.members) for v, x in plain.items()
    }
    everyone = sum(r for _, r in features if r is not None)
    for value, share in found.items():
        mine = [r for p, r in features if p == value]
        read = [r for r in mine if r is not None]
        assert share.reach is not None
        assert (share.reach.total, share.reach.read, share.reach.unread) == (
            sum(read),
            len(read),
            len(mine) - len(read),
        )
        assert share.reach.median == (statistics.median(read) if read else None)
        assert share.reach.share == (sum(read) / everyone if everyone else 0.0)
    if everyone:
        assert sum(x.reach.share for x in found.values() if x.reach) == pytest.approx(1.0)
