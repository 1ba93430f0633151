"""Consent first, at the moment of sending: a notice claimed in a run's batch (or queued by the
run that then sends) whose member withdrew, unsubscribed or may no longer be told there, or
whose post was cancelled, since it was queued must not go; the mail sandbox is read to check.

The change is made while the sender is in the middle of another member's message (its
`reached` hook), so the notice is already claimed (sending) when the change commits; and again
while the sender is in the middle of the very notice (after its body, before its end), where a
withdrawal on the member page must still win.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import Settings
from ifn_campaign.members.answers import ask_change
from ifn_campaign.members.links import issue_link
from ifn_campaign.members.withdrawal import MEMBER_PAGE, withdraw
from ifn_campaign.models import (
    Member,
    MemberLink,
    Notice,
    NoticeContact,
    NoticeState,
    Post,
    PostState,
)
from ifn_campaign.notices.delivery import SendReport, send_due
from ifn_campaign.notices.outbox import queue_due
from ifn_campaign.posts import actions
from ifn_campaign.posts.withdrawal import cancel_disallowed
from ifn_sandbox.mail import MailSandbox
from tests.support.notice_outbox import NOW, NoticeWorld, make_card
from tests.support.notices_delivery import PASSWORD, USER, notice_settings, secrets

Change = Callable[[Session, str, int], None]


def _page_withdrawal(session: Session, member_id: str, post_id: int) -> None:
    withdraw(session, member_id, source=MEMBER_PAGE, answer_id=None, now=NOW)


def _registry_withdrawal(session: Session, member_id: str, post_id: int) -> None:
    """What a sync storing a withdrawn record does: the time, then the cancellations."""
    member = session.get(Member, member_id)
    assert member is not None
    member.consent_withdrawn_at = NOW - timedelta(minutes=1)
    session.flush()
    cancel_disallowed(session, [member_id], NOW, actor="registry sync")


def _no_email_allowed(session: Session, member_id: str, post_id: int) -> None:
    member = session.get(Member, member_id)
    assert member is not None
    member.consent_fields_allowed = ["whatsapp", "owner_name"]


def _unsubscribed(session: Session, member_id: str, post_id: int) -> None:
    session.add(NoticeContact(member_id=member_id, medium="email", unsubscribed_at=NOW))


def _cancelled(settings: Settings) -> Change:
    def change(session: Session, member_id: str, post_id: int) -> None:
        actions.cancel(
            session, [post_id], reason="jadwal berubah", actor="staf", now=NOW, settings=settings
        )

    return change


CHANGES = ["page withdrawal", "registry withdrawal", "no e-mail allowed", "unsubscribed", "cancel"]


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[tuple[NoticeWorld, MailSandbox]]:
    engine = store.make_engine(db_url)
    store.upgrade(engine)
    with MailSandbox(tmp_path / "maildir", user=USER, password=PASSWORD) as mail:
        settings = notice_settings(db_url, tmp_path, mail)
        yield NoticeWorld(engine, settings, make_card(tmp_path / "cards")), mail
    engine.dispose()


def _change(name: str, settings: Settings) -> Change:
    return {
        "page withdrawal": _page_withdrawal,
        "registry withdrawal": _registry_withdrawal,
        "no e-mail allowed": _no_email_allowed,
        "unsubscribed": _unsubscribed,
        "cancel": _cancelled(settings),
    }[name]


def _send(world: NoticeWorld, hook: Callable[[str], None]) -> SendReport:
    with world.session() as session:
        queue_due(session, world.settings, now=NOW)
        session.commit()
        return send_due(
            session, world.settings, secrets=secrets(), now=NOW, worker="w1", reached=hook
        )


def _state(world: NoticeWorld, post_id: int) -> str:
    (notice,) = world.notices(post_id)
    return notice.state


@pytest.mark.parametrize("name", CHANGES)
def test_a_change_while_its_notice_waits_in_the_batch_stops_it(
    world: tuple[NoticeWorld, MailSandbox], name: str
) -> None:
    notices, mail = world
    first = notices.post(notices.member("m-1"))
    second = notices.post(notices.member("m-2"))
    change = _change(name, notices.settings)
    done: list[str] = []

    def hook(point: str) -> None:
        if point == "body" and not done:  # m-1's message under way; m-2's notice is claimed
            with notices.session() as session:
                assert session.get(Notice, notices.notices(second)[0].id).state == "sending"
                change(session, "m-2", second)
                session.commit()
            done.append(point)

    report = _send(notices, hook)
    assert done
    arrived = [m["To"] for m in mail.messages()]
    assert arrived == ["m-1@sepatu.co.id"], (name, report)
    assert _state(notices, first) == NoticeState.SENT
    assert _state(notices, second) == NoticeState.DROPPED


def test_a_page_withdrawal_during_the_notices_own_message_stops_it(
    world: tuple[NoticeWorld, MailSandbox],
) -> None:
    notices, mail = world
    post_id = notices.post(notices.member("m-1"))

    def hook(point: str) -> None:
        if point == "body":  # the check before sending passed; the end is not sent yet
            with notices.session() as session:
                _page_withdrawal(session, "m-1", post_id)
                session.commit()

    _send(notices, hook)
    assert mail.messages() == []
    assert _state(notices, post_id) == NoticeState.DROPPED
    with notices.session() as session:
        post = session.get(Post, post_id)
        assert post is not None and post.state == PostState.CANCELLED


def test_a_before_notice_waits_while_the_member_asked_for_a_change(
    world: tuple[NoticeWorld, MailSandbox],
) -> None:
    """'Mohon diubah' after the notice was queued: the notice with the text the member asked to
    change does not go; once staff approve the new text, one notice with it does."""
    notices, mail = world
    post_id = notices.post(notices.member("m-1"))
    with notices.session() as session:
        queue_due(session, notices.settings, now=NOW)
        token = issue_link(session, notices.settings, "m-1", now=NOW)
        link = session.get(MemberLink, int(token.split(".")[0]))
        assert link is not None
        ask_change(
            session, notices.settings, link, post_id, "Ganti fotonya.", address="192.0.2.1", now=NOW
        )
        session.commit()
        report = send_due(session, notices.settings, secrets=secrets(), now=NOW, worker="w1")
    assert mail.messages() == [] and report.sent == []
    (held,) = notices.notices(post_id)
    assert held.state == NoticeState.PENDING and "review" in (held.last_error or "")
    new_caption = "Sepatu kulit Cibaduyut, foto baru dari bengkel. #SorotanAnggotaIFN"
    notices.change(post_id, caption=new_caption, state=PostState.APPROVED)
    later = NOW + timedelta(hours=2)
    with notices.session() as session:
        queue_due(session, notices.settings, now=later)
        session.commit()
        send_due(session, notices.settings, secrets=secrets(), now=later, worker="w1")
    (message,) = mail.messages()
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "foto baru dari bengkel" in text
    assert [n.state for n in notices.notices(post_id)] == [NoticeState.DROPPED, NoticeState.SENT]


def test_no_cancellation_for_a_before_notice_that_never_went(
    world: tuple[NoticeWorld, MailSandbox],
) -> None:
    """Staff cancel a post while its before notice is claimed, and a queue run meanwhile takes
    that notice as gone out and queues the cancellation; the sender then drops the before
    notice: the member, never told of the post, gets no cancellation either."""
    notices, mail = world
    notices.post(notices.member("m-1"))
    second = notices.post(notices.member("m-2"))
    done: list[str] = []

    def hook(point: str) -> None:
        if point == "body" and not done:
            with notices.session() as session:
                _cancelled(notices.settings)(session, "m-2", second)
                session.commit()
                assert queue_due(session, notices.settings, now=NOW).cancelled == 1
                session.commit()
            done.append(point)

    _send(notices, hook)
    assert done
    with notices.session() as session:
        send_due(session, notices.settings, secrets=secrets(), now=NOW, worker="w1")
    assert [m["To"] for m in mail.messages()] == ["m-1@sepatu.co.id"]
    assert [n.state for n in notices.notices(second)] == [NoticeState.DROPPED] * 2
