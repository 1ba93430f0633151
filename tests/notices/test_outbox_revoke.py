"""Revoking a member's page links re-makes their notices not yet sent with a new link (the
member never gets a dead one) and leaves alone what went or is going; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ifn_campaign.members.links import (
    LinkRefused,
    Revoked,
    member_key,
    revoke_links,
    verify_link,
)
from ifn_campaign.models import Notice, NoticeState
from tests.support.notice_outbox import NOW, SLOT, NoticeWorld, make_card, settings_for

PAGE = "https://ifn.example.org/anggota/"
LATER = NOW + timedelta(minutes=15)


@pytest.fixture
def world(engine: Engine, db_url: str, tmp_path: Path) -> NoticeWorld:
    return NoticeWorld(engine, settings_for(db_url, tmp_path), make_card(tmp_path / "cards"))


def _token(notice: Notice) -> str:
    text = notice.text_body
    return text[text.index(PAGE) + len(PAGE) :].split()[0]


def _link_works(world: NoticeWorld, notice: Notice) -> bool:
    with world.session() as session:
        try:
            link = verify_link(session, member_key(world.settings), _token(notice), now=LATER)
        except LinkRefused:
            return False
    return link.id == notice.link_id and link.member_id == notice.member_id


def _revoke(world: NoticeWorld, member_id: str) -> Revoked:
    with world.session() as session:
        revoked = revoke_links(
            session, member_id, actor="staff:rina", now=NOW + timedelta(minutes=1)
        )
        session.commit()
    return revoked


def test_revoking_re_makes_the_pending_notices_with_a_new_link_and_keeps_the_rest(
    world: NoticeWorld,
) -> None:
    member = world.member("ifn-0001")
    other = world.member("ifn-0002")
    sent_post = world.post(member)
    sending_post = world.post(member, slot_at=SLOT + timedelta(hours=1))
    pending_post = world.post(member, slot_at=SLOT + timedelta(hours=2))
    others_post = world.post(other)
    assert world.queue().before == 4
    [sent] = world.notices(sent_post)
    [sending] = world.notices(sending_post)
    [pending] = world.notices(pending_post)
    [others] = world.notices(others_post)
    world.mark(sent.id or 0)
    world.mark(sending.id or 0, NoticeState.SENDING)  # a sender claimed it: it goes as it is

    assert _revoke(world, member) == Revoked(links=3, notices=1)
    assert not _link_works(world, pending)  # the dead link that would have gone out

    report = world.queue(LATER)
    assert (report.before, report.queued) == (1, 1)
    [remade] = world.notices(pending_post)
    assert remade.state == NoticeState.PENDING and remade.id != pending.id
    assert remade.dedupe_key == pending.dedupe_key  # the same notice, made again
    assert remade.message_id != pending.message_id and remade.link_id != pending.link_id
    assert _link_works(world, remade)
    # what went or is going, and the other member's, are exactly as they were
    for before, kept in (
        (sent, world.notices(sent_post)),
        (sending, world.notices(sending_post)),
        (others, world.notices(others_post)),
    ):
        [after] = kept
        assert (after.id, after.message_id, after.text_body, after.link_id) == (
            before.id,
            before.message_id,
            before.text_body,
            before.link_id,
        )
    assert [n.state for n in world.notices(sent_post)] == [NoticeState.SENT]
    assert _link_works(world, others)
    # a second revoke finds nothing more to re-make but the new notice's link
    assert _revoke(world, member) == Revoked(links=1, notices=1)
    assert world.queue(LATER + timedelta(minutes=15)).before == 1


def test_a_pending_update_is_made_again_as_an_update(world: NoticeWorld) -> None:
    member = world.member("ifn-0001")
    post_id = world.post(member)
    world.queue()
    [before] = world.notices(post_id)
    world.mark(before.id or 0)
    world.change(post_id, caption="Sepatu kulit, kini dengan foto baru.")
    assert world.queue(NOW + timedelta(minutes=5)).update == 1
    update = world.notices(post_id)[-1]
    assert (update.kind, update.state) == ("update", NoticeState.PENDING)

    assert _revoke(world, member) == Revoked(links=2, notices=1)
    assert world.queue(LATER).update == 1
    first, remade = world.notices(post_id)
    assert (first.id, first.state, first.message_id) == (before.id, "sent", before.message_id)
    assert (remade.kind, remade.state, remade.dedupe_key) == (
        "update",
        "pending",
        update.dedupe_key,
    )
    assert remade.text_body != before.text_body and _link_works(world, remade)
