"""A notice whose moment passes while the mail server is away is dropped, said "too late", and
never sent late; what still applies goes once the server is back, once. Queued and sent for
real (the outbox, then the sender over the mail sandbox), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ifn_campaign import store
from ifn_campaign.config import Settings
from ifn_campaign.models import NoticeKind, NoticeState, PostState
from ifn_campaign.notices.delivery import run_notices
from ifn_campaign.notices.outbox import TOO_LATE
from ifn_campaign.notices.staff import overdue
from ifn_sandbox.mail import MailSandbox
from tests.support.notice_outbox import NOW, SLOT, NoticeWorld, make_card
from tests.support.notices_delivery import PASSWORD, USER, notice_settings, secrets

LINK = "https://www.instagram.com/p/LATE123/"


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[tuple[NoticeWorld, MailSandbox]]:
    engine: Engine = store.make_engine(db_url)
    store.upgrade(engine)
    with MailSandbox(tmp_path / "maildir", user=USER, password=PASSWORD) as mail:
        settings = notice_settings(db_url, tmp_path, mail)
        yield NoticeWorld(engine, settings, make_card(tmp_path / "cards")), mail
    engine.dispose()


def _away(settings: Settings) -> Settings:
    """The same settings with a mistyped host (RFC 2606: .invalid never resolves)."""
    notices = settings.notices.model_copy(
        update={"smtp_host": "smtp.gmial.invalid", "smtp_user": None}
    )
    return settings.model_copy(update={"notices": notices})


def _run(world: NoticeWorld, settings: Settings, now: datetime) -> None:
    with world.session() as session:
        run_notices(session, settings, secrets=secrets(), now=now, worker="w1")


def _states(world: NoticeWorld, post_id: int) -> dict[str, tuple[str, str | None]]:
    return {n.kind: (n.state, n.last_error) for n in world.notices(post_id)}


def test_a_ten_day_outage_sends_the_receipt_only(world: tuple[NoticeWorld, MailSandbox]) -> None:
    """The server mistyped from two days before the slot to ten days after: the before notice
    cannot go before the slot, the after notice not within its week; the member gets the
    receipt (it carries the link), once, and staff saw every step."""
    world_, mail = world
    away = _away(world_.settings)
    member = world_.member("ifn-late-1")
    post_id = world_.post(member, slot_at=SLOT)
    _run(world_, away, NOW)  # the before notice queued, the server not found
    assert _states(world_, post_id)[NoticeKind.BEFORE][0] == NoticeState.PENDING
    world_.publish(post_id, LINK, at=SLOT)
    _run(world_, away, SLOT + timedelta(hours=1))
    before, reason = _states(world_, post_id)[NoticeKind.BEFORE]
    assert before == NoticeState.DROPPED and reason is not None
    assert reason.startswith(f"{TOO_LATE}: the post's time came before this notice could go")
    assert _states(world_, post_id)[NoticeKind.AFTER][0] == NoticeState.PENDING
    with world_.session() as session:
        late = overdue(session, away, SLOT + timedelta(days=2))
    assert late is not None and late.count == 1 and late.too_late == 1
    assert late.reason is not None and "smtp.gmial.invalid is not known" in late.reason
    # a week and a day after the post went out: the after notice is too late; the receipt
    # is queued once its figures had their two days' grace
    end = SLOT + timedelta(days=9, hours=1)
    _run(world_, away, end)
    after, reason = _states(world_, post_id)[NoticeKind.AFTER]
    assert after == NoticeState.DROPPED and reason is not None
    assert reason.startswith(f"{TOO_LATE}: the post went out more than 7 days ago")
    assert _states(world_, post_id)[NoticeKind.RECEIPT][0] == NoticeState.PENDING
    # the server back: the receipt goes, with the link; nothing else, and nothing twice
    back = end + timedelta(days=1)
    _run(world_, world_.settings, back)
    _run(world_, world_.settings, back + timedelta(minutes=15))
    states = _states(world_, post_id)
    assert states[NoticeKind.RECEIPT][0] == NoticeState.SENT
    assert {k: s for k, (s, _) in states.items()} == {
        NoticeKind.BEFORE: NoticeState.DROPPED,
        NoticeKind.AFTER: NoticeState.DROPPED,
        NoticeKind.RECEIPT: NoticeState.SENT,
    }
    [message] = mail.messages()
    assert LINK in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("late", "sent"),
    [(timedelta(days=6), True), (timedelta(days=8), False)],
    ids=["within the week", "past the week"],
)
def test_a_receipt_goes_within_its_week_and_never_later(
    world: tuple[NoticeWorld, MailSandbox], late: timedelta, sent: bool
) -> None:
    world_, mail = world
    member = world_.member("ifn-late-2")
    post_id = world_.post(member, slot_at=SLOT)
    world_.publish(post_id, LINK, at=SLOT)
    _run(world_, world_.settings, SLOT + timedelta(hours=1))  # the after notice goes
    due = SLOT + timedelta(days=world_.settings.notices.receipt_days)
    # queued once its figures had their two days' grace, the server away
    _run(world_, _away(world_.settings), due + timedelta(days=2, minutes=1))
    _run(world_, world_.settings, due + late)
    state, reason = _states(world_, post_id)[NoticeKind.RECEIPT]
    assert state == (NoticeState.SENT if sent else NoticeState.DROPPED)
    assert len(mail.messages()) == (2 if sent else 1)
    if not sent:
        assert reason == f"{TOO_LATE}: the receipt was due more than 7 days ago"


@pytest.mark.parametrize(
    ("late", "sent"),
    [(timedelta(days=6), True), (timedelta(days=8), False)],
    ids=["within the week", "past the week"],
)
def test_a_cancellation_goes_up_to_a_week_after_the_time_told(
    world: tuple[NoticeWorld, MailSandbox], late: timedelta, sent: bool
) -> None:
    world_, mail = world
    member = world_.member("ifn-late-3")
    post_id = world_.post(member, slot_at=SLOT)
    _run(world_, world_.settings, NOW)  # the before notice goes
    world_.change(post_id, state=PostState.CANCELLED)
    _run(world_, _away(world_.settings), NOW + timedelta(hours=1))  # queued, server away
    _run(world_, world_.settings, SLOT + late)
    state, reason = _states(world_, post_id)[NoticeKind.CANCELLED]
    assert state == (NoticeState.SENT if sent else NoticeState.DROPPED)
    assert len(mail.messages()) == (2 if sent else 1)
    if not sent:
        assert reason == f"{TOO_LATE}: the time the member was told passed more than 7 days ago"


@pytest.mark.parametrize(
    ("moved", "back", "sent"),
    [
        # told SLOT, moved two days earlier: a week after the new slot, the time told is 6 days
        # past, and the member still waits for it
        (NOW + timedelta(hours=2), SLOT + timedelta(days=6), True),
        # told SLOT, moved three weeks later: a week past the time told, though the new slot is
        # still ahead, a cancellation would only puzzle the member
        (SLOT + timedelta(days=21), SLOT + timedelta(days=8), False),
    ],
    ids=["moved earlier", "moved later"],
)
def test_a_cancellation_window_runs_from_the_time_told_not_the_posts_slot(
    world: tuple[NoticeWorld, MailSandbox], moved: datetime, back: datetime, sent: bool
) -> None:
    """The post moved while the server was away (the member never got the update), then
    cancelled: its cancellation goes up to a week after the time the member was told, which is
    what it says, whatever the post's own slot became."""
    world_, mail = world
    away = _away(world_.settings)
    member = world_.member("ifn-late-4")
    post_id = world_.post(member, slot_at=SLOT)
    _run(world_, world_.settings, NOW)  # the before notice goes: the member is told SLOT
    world_.change(post_id, slot_at=moved)
    _run(world_, away, NOW + timedelta(hours=1))  # the update queued, the server away
    world_.change(post_id, state=PostState.CANCELLED)
    _run(world_, away, NOW + timedelta(hours=1, minutes=30))  # the cancellation queued
    assert _states(world_, post_id)[NoticeKind.CANCELLED][0] == NoticeState.PENDING
    _run(world_, world_.settings, back)
    state, reason = _states(world_, post_id)[NoticeKind.CANCELLED]
    assert (state, len(mail.messages())) == (
        (NoticeState.SENT, 2) if sent else (NoticeState.DROPPED, 1)
    )
    if sent:
        body = mail.messages()[-1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "8 Desember" in body or "8 December" in body  # the time told, not the moved one
    else:
        assert reason == f"{TOO_LATE}: the time the member was told passed more than 7 days ago"
