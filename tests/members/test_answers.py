"""A member's answers on their page (ifn_campaign/members/answers.py): what each does to the post
and the log, what is refused and why, the rate limits; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.errors import AnswerRefused
from ifn_campaign.members.answers import (
    MAX_COMMENT,
    address_over_limit,
    answer_fine,
    ask_change,
    note_bad_link,
    withdraw_all,
)
from ifn_campaign.members.links import issue_link
from ifn_campaign.models import (
    Member,
    MemberAnswer,
    MemberLink,
    MemberWithdrawal,
    Post,
    PostEvent,
    PostState,
)
from tests.support.ledger import NOW, add_member, add_post

ADDRESS = "192.0.2.7"


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database={"url": db_url},
        data_dir=tmp_path,
        member_page={"answers_per_hour": 4, "requests_per_address": 6},
    )


def _link(session: Session, settings: Settings, member_id: str) -> MemberLink:
    token = issue_link(session, settings, member_id, now=NOW)
    found = session.get(MemberLink, int(token.split(".")[0]))
    assert found is not None
    return found


def _events(session: Session, post_id: int) -> list[PostEvent]:
    return list(
        session.scalars(
            select(PostEvent).where(PostEvent.post_id == post_id).order_by(PostEvent.id)
        )
    )


def test_fine_is_recorded_and_leaves_the_post_as_it_is(engine: Engine, settings: Settings) -> None:
    with Session(engine) as s:
        add_member(s, "m1")
        post = add_post(s, "m1", PostState.APPROVED)
        link = _link(s, settings, "m1")
        before = s.get(Post, post).version  # type: ignore[union-attr]
        answer = answer_fine(s, settings, link, post, address="2001:db8:1:2:3::9", now=NOW)
        s.commit()
        assert (answer.kind, answer.post_id, answer.link_id) == ("fine", post, link.id)
        assert answer.address == "2001:db8:1:2::/64"  # an IPv6 client counts as its /64
        again = s.get(Post, post, populate_existing=True)
        assert again is not None and again.state == PostState.APPROVED and again.version == before
        assert _events(s, post) == []


@pytest.mark.parametrize(
    ("state", "events"),
    [
        (PostState.COMPOSED, [("composed", "composed")]),
        (PostState.APPROVED, [("approved", "composed")]),
        (PostState.SCHEDULED, [("scheduled", "approved"), ("approved", "composed")]),
    ],
)
def test_a_change_sends_the_post_back_to_review_with_the_comment(
    engine: Engine, settings: Settings, state: str, events: list[tuple[str, str]]
) -> None:
    with Session(engine) as s:
        add_member(s, "m1")
        post = add_post(s, "m1", state, "facebook", remote_id="fb-1")
        link = _link(s, settings, "m1")
        before = s.get(Post, post).version  # type: ignore[union-attr]
        comment = "  Tolong ganti fotonya dengan <b>foto toko</b> kami.\r\nTerima kasih  "
        answer = ask_change(s, settings, link, post, comment, address=ADDRESS, now=NOW)
        s.commit()
        kept = "Tolong ganti fotonya dengan <b>foto toko</b> kami.\nTerima kasih"
        assert (answer.kind, answer.comment) == ("change", kept)
        again = s.get(Post, post, populate_existing=True)
        assert again is not None
        assert again.state == PostState.COMPOSED
        assert again.version == before + 1  # once, however many moves: staff forms go stale
        logged = _events(s, post)
        assert [(e.from_state, e.to_state) for e in logged] == events
        assert {e.actor for e in logged} == {"member:m1"}
        assert logged[-1].note == f"member asked for a change: {kept}"
        if state == PostState.SCHEDULED:  # the platform's copy is replaced, never sent as well
            assert again.replaces_remote_id == "fb-1" and again.remote_id is None


@pytest.mark.parametrize(
    ("comment", "reason"),
    [("", "empty"), ("  \n ", "empty"), ("x" * (MAX_COMMENT + 1), "too_long")],
)
def test_an_empty_or_long_comment_is_refused_and_nothing_changes(
    engine: Engine, settings: Settings, comment: str, reason: str
) -> None:
    with Session(engine) as s:
        add_member(s, "m1")
        post = add_post(s, "m1", PostState.APPROVED)
        link = _link(s, settings, "m1")
        link_id = link.id
        s.commit()
        with pytest.raises(AnswerRefused) as refused:
            ask_change(s, settings, link, post, comment, address=ADDRESS, now=NOW)
        assert refused.value.reason == reason
        s.rollback()
        assert s.get(Post, post).state == PostState.APPROVED  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(MemberAnswer)) == 0
    # exactly the most allowed is taken
    with Session(engine) as s:
        link = s.get(MemberLink, link_id)
        assert link is not None
        ask_change(s, settings, link, post, "y" * MAX_COMMENT, address=ADDRESS, now=NOW)


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (PostState.PUBLISHED, "published"),
        (PostState.PUBLISHING, "published"),
        (PostState.CANCELLED, "gone"),
        (PostState.PLANNED, "gone"),
        (PostState.FAILED, "gone"),
    ],
)
def test_a_post_past_answering_is_refused(
    engine: Engine, settings: Settings, state: str, reason: str
) -> None:
    with Session(engine) as s:
        add_member(s, "m1")
        post = add_post(s, "m1", state)
        link = _link(s, settings, "m1")
        for call in (
            lambda: answer_fine(s, settings, link, post, address=ADDRESS, now=NOW),
            lambda: ask_change(s, settings, link, post, "ganti", address=ADDRESS, now=NOW),
        ):
            with pytest.raises(AnswerRefused) as refused:
                call()
            assert refused.value.reason == reason
        assert s.get(Post, post).state == state  # type: ignore[union-attr]


def test_a_post_whose_slot_passed_is_refused(engine: Engine, settings: Settings) -> None:
    with Session(engine) as s:
        add_member(s, "m1")
        post = add_post(s, "m1", PostState.APPROVED, slot_at=NOW - timedelta(minutes=1))
        link = _link(s, settings, "m1")
        with pytest.raises(AnswerRefused) as refused:
            answer_fine(s, settings, link, post, address=ADDRESS, now=NOW)
        assert refused.value.reason == "gone"


def test_a_scheduled_post_about_to_go_out_is_refused(engine: Engine, settings: Settings) -> None:
    with Session(engine) as s:
        add_member(s, "m1")
        post = add_post(s, "m1", PostState.SCHEDULED, slot_at=NOW + timedelta(minutes=20))
        link = _link(s, settings, "m1")
        s.commit()
        with pytest.raises(AnswerRefused) as refused:
            ask_change(s, settings, link, post, "ganti", address=ADDRESS, now=NOW)
        assert refused.value.reason == "too_late"
        s.rollback()
        assert s.get(Post, post).state == PostState.SCHEDULED  # type: ignore[union-attr]


def test_another_members_post_reads_as_no_post(engine: Engine, settings: Settings) -> None:
    with Session(engine) as s:
        add_member(s, "m1")
        add_member(s, "m2")
        theirs = add_post(s, "m2", PostState.APPROVED)
        link = _link(s, settings, "m1")
        for post_id in (theirs, 987654):
            with pytest.raises(AnswerRefused) as refused:
                answer_fine(s, settings, link, post_id, address=ADDRESS, now=NOW)
            assert refused.value.reason == "not_found" and "m2" not in str(refused.value)
            with pytest.raises(AnswerRefused) as refused:
                ask_change(s, settings, link, post_id, "x", address=ADDRESS, now=NOW)
            assert refused.value.reason == "not_found" and "m2" not in str(refused.value)
        assert s.get(Post, theirs).state == PostState.APPROVED  # type: ignore[union-attr]


def test_withdraw_all_records_the_answer_and_the_withdrawal_together(
    engine: Engine, settings: Settings
) -> None:
    with Session(engine) as s:
        add_member(s, "m1")
        add_member(s, "m2")
        queued = [add_post(s, "m1", st) for st in (PostState.APPROVED, PostState.SCHEDULED)]
        other = add_post(s, "m2", PostState.APPROVED)
        link = _link(s, settings, "m1")
        answer, report = withdraw_all(s, settings, link, address=ADDRESS, now=NOW)
        s.commit()
        assert answer.kind == "withdraw" and answer.post_id is None
        assert sorted(c.post_id for c in report.cancelled) == sorted(queued)
        withdrawal = s.scalars(select(MemberWithdrawal)).one()
        assert (withdrawal.member_id, withdrawal.source, withdrawal.answer_id) == (
            "m1",
            "member page",
            answer.id,
        )
        assert s.get(Member, "m1").consent_withdrawn_at == NOW  # type: ignore[union-attr]
        for post in queued:
            assert s.get(Post, post).state == PostState.CANCELLED  # type: ignore[union-attr]
        assert s.get(Post, other).state == PostState.APPROVED  # type: ignore[union-attr]
        with pytest.raises(AnswerRefused) as refused:
            withdraw_all(s, settings, link, address=ADDRESS, now=NOW + timedelta(minutes=1))
        assert refused.value.reason == "withdrawn"


def test_answers_per_link_are_limited_per_hour(engine: Engine, settings: Settings) -> None:
    with Session(engine) as s:
        add_member(s, "m1")
        post = add_post(s, "m1", PostState.APPROVED)
        link = _link(s, settings, "m1")
        for minute in range(4):  # answers_per_hour = 4, each from its own address
            at = NOW + timedelta(minutes=minute)
            answer_fine(s, settings, link, post, address=f"198.51.100.{minute}", now=at)
        with pytest.raises(AnswerRefused) as refused:
            answer_fine(
                s, settings, link, post, address="203.0.113.9", now=NOW + timedelta(minutes=5)
            )
        assert refused.value.reason == "rate_limited"
        # the window slides: an hour after the first, one more is allowed
        later = NOW + timedelta(minutes=60, seconds=1)
        answer_fine(s, settings, link, post, address="203.0.113.9", now=later)
        with pytest.raises(AnswerRefused) as refused:
            answer_fine(s, settings, link, post, address="203.0.113.9", now=later)
        assert refused.value.reason == "rate_limited"


def test_an_address_is_limited_across_links_and_bad_links(
    engine: Engine, settings: Settings
) -> None:
    with Session(engine) as s:
        add_member(s, "m1")
        add_member(s, "m2")
        posts = {m: add_post(s, m, PostState.APPROVED) for m in ("m1", "m2")}
        links = {m: _link(s, settings, m) for m in ("m1", "m2")}
        for member in ("m1", "m2"):
            for _ in range(2):
                answer_fine(s, settings, links[member], posts[member], address=ADDRESS, now=NOW)
        assert not address_over_limit(s, settings, ADDRESS, now=NOW)
        note_bad_link(s, settings, "::ffff:" + ADDRESS, now=NOW)  # the same client, as IPv6
        note_bad_link(s, settings, ADDRESS, now=NOW)
        s.flush()
        assert address_over_limit(s, settings, ADDRESS, now=NOW)  # 4 answers + 2 bad = 6
        assert not address_over_limit(s, settings, "192.0.2.8", now=NOW)
        assert not address_over_limit(s, settings, ADDRESS, now=NOW + timedelta(hours=1))
        with pytest.raises(AnswerRefused) as refused:
            answer_fine(s, settings, links["m1"], posts["m1"], address=ADDRESS, now=NOW)
        assert refused.value.reason == "rate_limited"
