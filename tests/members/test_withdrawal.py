"""A withdrawal on the member page: recorded, queued posts cancelled, published ones listed for
takedown, pending notices dropped, all in the caller's transaction; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ifn_campaign.errors import IFNError, InvalidValueError, LedgerError
from ifn_campaign.members.withdrawal import (
    MEMBER_PAGE,
    NOTICE_DROPPED,
    holding_withdrawal_at,
    withdraw,
)
from ifn_campaign.models import (
    Member,
    MemberWithdrawal,
    Notice,
    NoticeState,
    Post,
    PostEvent,
    PostState,
)
from ifn_campaign.posts.withdrawal import WITHDRAWN
from tests.support.ledger import EARLIER, NOW, add_member, add_post
from tests.support.member_rows import add_notice


def test_withdraw_records_cancels_lists_and_drops_in_one_go(engine: Engine) -> None:
    with Session(engine) as s:
        add_member(s, "m1")
        add_member(s, "m2")
        queued = add_post(s, "m1", PostState.APPROVED)
        planned = add_post(s, "m1", PostState.PLANNED, "youtube")
        out = add_post(s, "m1", PostState.PUBLISHED, featured_at=EARLIER, permalink="https://ig/1")
        flying = add_post(s, "m1", PostState.PUBLISHING, "facebook")
        other = add_post(s, "m2", PostState.APPROVED)
        pending = add_notice(s, "m1", "before:1", NoticeState.PENDING)
        sent = add_notice(s, "m1", "before:2", NoticeState.SENT)
        theirs = add_notice(s, "m2", "before:3", NoticeState.PENDING)
        s.commit()
        report = withdraw(s, "m1", source=MEMBER_PAGE, answer_id=None, now=NOW)
        s.commit()
    assert sorted(c.post_id for c in report.cancelled) == sorted([queued, planned])
    assert {c.reason for c in report.cancelled} == {WITHDRAWN}
    assert [(t.post_id, t.permalink) for t in report.takedowns] == [(out, "https://ig/1")]
    assert [p.post_id for p in report.in_flight] == [flying]
    with Session(engine) as s:
        member = s.get(Member, "m1")
        assert member is not None and member.consent_withdrawn_at == NOW
        assert s.get(Member, "m2").consent_withdrawn_at is None  # type: ignore[union-attr]
        rows = s.scalars(select(MemberWithdrawal)).all()
        assert [(w.member_id, w.at, w.source, w.answer_id, w.reported_at) for w in rows] == [
            ("m1", NOW, MEMBER_PAGE, None, None)
        ]
        states = {p.id: p.state for p in s.scalars(select(Post))}
        assert states[queued] == states[planned] == PostState.CANCELLED
        assert states[out] == PostState.PUBLISHED and states[other] == PostState.APPROVED
        assert states[flying] == PostState.PUBLISHING
        assert s.get(Post, out).takedown_requested_at == NOW  # type: ignore[union-attr]
        actors = set(s.scalars(select(PostEvent.actor).where(PostEvent.post_id == queued)))
        assert actors == {MEMBER_PAGE}
        notices = {n.id: (n.state, n.last_error) for n in s.scalars(select(Notice))}
        assert notices[pending] == (NoticeState.DROPPED, NOTICE_DROPPED)
        assert notices[sent] == (NoticeState.SENT, None)
        assert notices[theirs] == (NoticeState.PENDING, None)
        assert holding_withdrawal_at(s, member) == NOW


def test_a_second_withdrawal_adds_nothing(engine: Engine) -> None:
    with Session(engine) as s:
        add_member(s, "m1")
        add_post(s, "m1", PostState.APPROVED)
        s.commit()
        assert withdraw(s, "m1", source=MEMBER_PAGE, answer_id=None, now=NOW)
        s.commit()
        again = withdraw(s, "m1", source=MEMBER_PAGE, answer_id=None, now=NOW + timedelta(1))
        s.commit()
        assert not again
        assert s.scalar(select(func.count()).select_from(MemberWithdrawal)) == 1
        member = s.get(Member, "m1")
        assert member is not None and member.consent_withdrawn_at == NOW


def test_after_a_new_grant_in_the_registry_a_withdrawal_is_new(engine: Engine) -> None:
    with Session(engine) as s:
        add_member(s, "m1")
        withdraw(s, "m1", source=MEMBER_PAGE, answer_id=None, now=NOW)
        s.commit()
        # what a sync stores when the registry says the member consented again after that
        member = s.get(Member, "m1")
        assert member is not None
        member.consent_granted_at = NOW + timedelta(days=2)
        member.consent_withdrawn_at = None
        s.commit()
        assert holding_withdrawal_at(s, member) is None
        later = NOW + timedelta(days=5)
        post = add_post(s, "m1", PostState.APPROVED, slot_at=later + timedelta(days=1))
        s.commit()
        report = withdraw(s, "m1", source=MEMBER_PAGE, answer_id=None, now=later)
        s.commit()
        assert [c.post_id for c in report.cancelled] == [post]
        ats = s.scalars(select(MemberWithdrawal.at).order_by(MemberWithdrawal.id)).all()
        assert ats == [NOW, later]
        assert s.get(Member, "m1").consent_withdrawn_at == later  # type: ignore[union-attr]


def test_a_member_withdrawn_in_the_registry_keeps_that_date(engine: Engine) -> None:
    with Session(engine) as s:
        add_member(s, "m1", consent_withdrawn_at=EARLIER)
        withdraw(s, "m1", source=MEMBER_PAGE, answer_id=None, now=NOW)
        s.commit()
        assert s.get(Member, "m1").consent_withdrawn_at == EARLIER  # type: ignore[union-attr]
        # still reported to the registry's owner: the member said it on their page
        assert s.scalar(select(func.count()).select_from(MemberWithdrawal)) == 1


@pytest.mark.parametrize(
    ("member_id", "source", "now", "error", "words"),
    [
        ("nobody", MEMBER_PAGE, NOW, LedgerError, "no member 'nobody'"),
        ("m1", "", NOW, InvalidValueError, "source must be"),
        ("m1", "x" * 33, NOW, InvalidValueError, "source must be"),
        ("m1", "page\x1b[31m", NOW, InvalidValueError, "source must be"),
        ("m1", MEMBER_PAGE, datetime(2026, 12, 1, 3, 0), InvalidValueError, "aware"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    engine: Engine,
    member_id: str,
    source: str,
    now: datetime,
    error: type[IFNError],
    words: str,
) -> None:
    with Session(engine) as s:
        add_member(s, "m1")
        post = add_post(s, "m1", PostState.APPROVED)
        s.commit()
        with pytest.raises(error, match=words):
            withdraw(s, member_id, source=source, answer_id=None, now=now)
        s.rollback()
        assert s.get(Post, post).state == PostState.APPROVED  # type: ignore[union-attr]
        assert s.get(Member, "m1").consent_withdrawn_at is None  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(MemberWithdrawal)) == 0


def test_nothing_is_kept_when_the_caller_rolls_back(engine: Engine) -> None:
    with Session(engine) as s:
        add_member(s, "m1")
        post = add_post(s, "m1", PostState.APPROVED)
        add_notice(s, "m1", "before:9", NoticeState.PENDING)
        s.commit()
        withdraw(s, "m1", source=MEMBER_PAGE, answer_id=None, now=NOW)
        s.rollback()
    with Session(engine) as s:
        assert s.get(Post, post).state == PostState.APPROVED  # type: ignore[union-attr]
        assert s.get(Member, "m1").consent_withdrawn_at is None  # type: ignore[union-attr]
        assert s.scalar(select(Notice.state)) == NoticeState.PENDING
        assert s.scalar(select(func.count()).select_from(MemberWithdrawal)) == 0


def test_utc_stored_whatever_zone_the_caller_gives(engine: Engine) -> None:
    wib = NOW.astimezone(ZoneInfo("Asia/Jakarta"))
    with Session(engine) as s:
        add_member(s, "m1")
        withdraw(s, "m1", source=MEMBER_PAGE, answer_id=None, now=wib)
        s.commit()
    with Session(engine) as s:
        assert s.scalar(select(MemberWithdrawal.at)) == NOW
        assert s.scalar(select(MemberWithdrawal.at)).tzinfo == UTC  # type: ignore[union-attr]
