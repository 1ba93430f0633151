"""A message the mail server drops after its end every time, never filing it: looked up in the
Sent folder (not there), sent again, dropped again. Each round was a try the server saw, so the
notice fails at `notices.max_attempts` instead of going round for ever."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ifn_campaign.models import NoticeState
from ifn_campaign.notices.delivery import send_due
from ifn_sandbox.mail import MailSandbox
from tests.support.notices_delivery import NOW, PASSWORD, USER, Outbox, open_outbox, with_imap


@pytest.fixture
def outbox(db_url: str, tmp_path: Path) -> Iterator[Outbox]:
    with open_outbox(db_url, tmp_path, members=2) as made:
        yield made


def test_a_message_dropped_after_its_end_every_time_fails_at_max_attempts(
    outbox: Outbox, tmp_path: Path
) -> None:
    notice_id = outbox.add()
    most = outbox.settings.notices.max_attempts
    outbox.mail.drop_after_data(times=10 * most)
    # the Sent folder is another mailbox, where the dropped message never lands
    with MailSandbox(tmp_path / "sent", user=USER, password=PASSWORD) as sent:
        settings = with_imap(outbox.settings, sent)
        now = NOW
        rounds = 0
        while outbox.get(notice_id).state != NoticeState.FAILED and rounds < 3 * most:
            with outbox.session() as session:
                send_due(session, settings, secrets=outbox.secrets, now=now, worker="w1")
            rounds += 1
            now = max(now, outbox.get(notice_id).next_attempt_at) + timedelta(seconds=1)
    failed = outbox.get(notice_id)
    assert failed.state == NoticeState.FAILED, (rounds, failed.state, failed.last_error)
    assert failed.attempts == most and "gave up" in (failed.last_error or "")
    # one copy went to the server per try, none after the last
    assert len(outbox.mail.raw_messages()) == most
