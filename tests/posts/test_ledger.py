"""The features ledger and its queries, with known data, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ifn_campaign.errors import LedgerError, UnknownValueError
from ifn_campaign.models import Feature, Post, PostState
from ifn_campaign.posts.ledger import (
    DIMENSIONS,
    Tally,
    fairness_gap,
    features_by,
    member_history,
    never_featured,
    record_feature,
    shares_by,
    shares_by_all,
)
from tests.support.ledger import add_member, add_post

NOW = datetime(2026, 12, 1, tzinfo=UTC)
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _day(n: int) -> datetime:
    """Day n of November 2026, 10:00 UTC."""
    return datetime(2026, 11, n, 10, tzinfo=UTC)


@pytest.fixture
def ledger_db(engine: Engine) -> Engine:
    """Six members, features in two campaigns:

    a  Jawa Barat, producer, leather_shoes        featured 2 (sorotan), 10 (sorotan)
    b  Jawa Timur, [brand, producer], [sandals, boots]  featured 5 (sorotan), 12 (pekan)
    c  Jawa Timur, supplier, components          featured 20 (sorotan)
    d  no province, brand, no categories         never featured; consent 2026-06-01
    e  suspended                                 featured 1 (sorotan); never counts as waiting
    f  withdrawn                                 never featured
    g  no consented channel                      never featured
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
        add_member(
            s,
            "d",
            province=None,
            actor_types=["brand"],
            categories=[],
            first_seen_at=T0,
            consent_granted_at=datetime(2026, 6, 1, tzinfo=UTC),
        )
        add_member(s, "e", status="suspended")
        add_member(s, "f", consent_withdrawn_at=_day(3))
        add_member(s, "g", consent_channels=[], first_seen_at=datetime(2024, 1, 1, tzinfo=UTC))
        for member_id, day, campaign in (
            ("a", 2, "sorotan"),
            ("a", 10, "sorotan"),
            ("b", 5, "sorotan"),
            ("b", 12, "pekan"),
            ("c", 20, "sorotan"),
            ("e", 1, "sorotan"),
        ):
            add_post(
                s,
                member_id,
                PostState.PUBLISHED,
                campaign=campaign,
                slot_at=_day(day),
                featured_at=_day(day),
                permalink=f"https://instagram.com/p/{member_id}{day}",
            )
        s.commit()
    return engine


def test_record_feature_once_per_post(engine: Engine) -> None:
    with Session(engine) as s:
        add_member(s, "a")
        post_id = add_post(s, "a", PostState.PUBLISHED, "facebook", campaign="pekan")
        post = s.get(Post, post_id)
        assert post is not None
        first = record_feature(s, post, _day(4), None)
        assert (first.member_id, first.campaign, first.channel, first.account) == (
            "a",
            "pekan",
            "facebook",
            "bpipi-facebook",
        )
        again = record_feature(s, post, _day(5), "https://facebook.com/1")
        record_feature(s, post, _day(6), None)  # no permalink given: the known one stays
        s.commit()
        assert again.id == first.id
        rows = s.scalars(select(Feature)).all()
        assert [(f.featured_at, f.permalink) for f in rows] == [(_day(4), "https://facebook.com/1")]


@pytest.mark.slow
@pytest.mark.parametrize("state", ["scheduled", "publishing", "failed", "cancelled"])
def test_record_feature_needs_a_published_post(engine: Engine, state: str) -> None:
    with Session(engine) as s:
        add_member(s, "a")
        post = s.get(Post, add_post(s, "a", state))
        assert post is not None
        with pytest.raises(LedgerError, match=f"post {post.id} is {state}, not published"):
            record_feature(s, post, _day(4), None)
        assert s.scalar(select(func.count()).select_from(Feature)) == 0


def test_member_history_every_state_newest_first(engine: Engine) -> None:
    with Session(engine) as s:
        add_member(s, "a")
        old = add_post(
            s,
            "a",
            PostState.PUBLISHED,
            slot_at=_day(2),
            featured_at=_day(2),
            permalink="https://p/2",
        )
        cancelled = add_post(
            s, "a", PostState.CANCELLED, slot_at=_day(9), cancel_reason="persetujuan ditarik"
        )
        future = add_post(s, "a", PostState.PLANNED, "youtube", slot_at=_day(28))
        add_member(s, "other")
        add_post(s, "other", slot_at=_day(9))
        s.commit()
        history = member_history(s, "a")
        assert [(h.post_id, h.state, h.channel) for h in history] == [
            (future, "planned", "youtube"),
            (cancelled, "cancelled", "instagram"),
            (old, "published", "instagram"),
        ]
        assert history[1].cancel_reason == "persetujuan ditarik" and history[1].featured_at is None
        assert (history[2].featured_at, history[2].permalink) == (_day(2), "https://p/2")
        assert history[2].reason_en == "next in rotation"
        assert member_history(s, "other")[0].slot_at == _day(9)
        with pytest.raises(LedgerError, match="no member 'nobody' stored"):
            member_history(s, "nobody")


def test_never_featured(ledger_db: Engine) -> None:
    with Session(ledger_db) as s:
        found = never_featured(s, now=NOW)
        assert [(w.member_id, w.waiting_since, w.days) for w in found] == [
            ("g", datetime(2025, 1, 10, tzinfo=UTC), 690),  # consent came after first seen
            ("d", datetime(2026, 6, 1, tzinfo=UTC), 183),
        ]
        assert [w.member_id for w in never_featured(s, "pekan", now=NOW)] == ["a", "c", "g", "d"]
        assert [w.member_id for w in never_featured(s, "pekan", now=NOW, limit=1)] == ["a"]
        assert never_featured(s, "nothing-yet", now=NOW)[0].last_featured_at is None


def test_fairness_gap(ledger_db: Engine) -> None:
    with Session(ledger_db) as s:
        gap = fairness_gap(s, NOW)
        assert [(w.member_id, w.waiting_since, w.last_featured_at, w.days) for w in gap] == [
            ("d", datetime(2026, 6, 1, tzinfo=UTC), None, 183),
            ("a", _day(10), _day(10), 20),
            ("b", _day(12), _day(12), 18),
            ("c", _day(20), _day(20), 10),
        ]
        assert [w.member_id for w in fairness_gap(s, NOW, limit=2)] == ["d", "a"]
        # per campaign, b's last sorotan feature is day 5
        assert [(w.member_id, w.days) for w in fairness_gap(s, NOW, "sorotan")] == [
            ("d", 183),
            ("b", 25),
            ("a", 20),
            ("c", 10),
        ]


def test_features_by_province_category_and_actor_type(ledger_db: Engine) -> None:
    with Session(ledger_db) as s:
        assert features_by(s, "province") == [
            Tally("Jawa Barat", "Jawa Barat", 3),  # a twice, e (suspended now, featured then)
            Tally("Jawa Timur", "Jawa Timur", 3),
        ]
        assert features_by(s, "category") == [
            Tally("leather_shoes", "Sepatu kulit / Leather shoes", 3),
            Tally("sandals", "Sandal & selop / Sandals & slides", 2),  # b's first category
            Tally("components", "Komponen alas kaki / Footwear components", 1),
        ]
        assert features_by(s, "actor_type", campaign="sorotan") == [
            Tally("producer", "Produsen / Producer", 3),
            Tally("brand", "Merek / Brand", 1),
            Tally("supplier", "Pemasok / Supplier", 1),
        ]
        # since is inclusive, until exclusive
        assert features_by(s, "province", _day(5), _day(12)) == [
            Tally("Jawa Barat", "Jawa Barat", 1),
            Tally("Jawa Timur", "Jawa Timur", 1),
        ]
        assert features_by(s, "province", _day(21)) == []
        with pytest.raises(UnknownValueError, match="unknown dimension 'city'; valid: "):
            features_by(s, "city")  # type: ignore[arg-type]


def test_members_without_a_value_count_as_unknown(engine: Engine) -> None:
    with Session(engine) as s:
        add_member(s, "d", province=None, categories=[])
        add_post(s, "d", PostState.PUBLISHED, featured_at=_day(3))
        add_post(s, "d", PostState.PUBLISHED, "facebook", featured_at=_day(3) + timedelta(hours=1))
        s.commit()
        assert features_by(s, "province") == [Tally(None, "(unknown)", 2)]
        assert features_by(s, "category") == [Tally(None, "(unknown)", 2)]


def test_shares_by_all_is_shares_by_of_every_dimension(ledger_db: Engine) -> None:
    """The fairness page's two queries give what `shares_by` gives for each dimension: members
    without a province or category, a period, a campaign, and a campaign with no features."""
    with Session(ledger_db) as s:
        for args in ((None, None, None), (_day(5), _day(12), None), (None, None, "sorotan")):
            every = shares_by_all(s, NOW, *args)
            assert every == {d: shares_by(s, d, NOW, *args) for d in DIMENSIONS}
            assert every["province"] and every["category"] and every["actor_type"]
        nothing = shares_by_all(s, NOW, campaign="none-such")
        assert all(share.features == 0 for shares in nothing.values() for share in shares)
