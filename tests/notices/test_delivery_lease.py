"""A run that outlasts the lease keeps the message it is ending: its step renews the claim with
the run's clock, so a second worker starting a lease later does not take the notice over, find
it missing from the Sent folder (its end is not sent yet) and send it again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ifn_campaign.models import NoticeState
from ifn_campaign.notices.delivery import SendReport, send_due
from tests.support.notices_delivery import (
    NOW,
    Outbox,
    open_outbox,
    with_imap,
)

LEASE = 900


@pytest.fixture
def outbox(db_url: str, tmp_path: Path) -> Iterator[Outbox]:
    with open_outbox(db_url, tmp_path, members=2, settings=with_imap, lease_seconds=LEASE) as made:
        yield made


def run(outbox: Outbox, now: datetime, **kw: Any) -> SendReport:
    with outbox.session() as session:
        return send_due(session, outbox.settings, secrets=outbox.secrets, now=now, **kw)


def test_a_run_longer_than_the_lease_is_not_taken_over_mid_message(outbox: Outbox) -> None:
    notice_id = outbox.add()
    late = NOW + timedelta(seconds=LEASE + 10)  # a second worker's run, a lease later
    clock = [NOW]
    second: list[SendReport] = []

    def hook(point: str) -> None:
        if point == "body":  # the first run has been sending for longer than the lease
            clock[0] = late - timedelta(seconds=1)
        if point == "step" and not second:  # its end about to go: the second run starts
            second.append(run(outbox, late, worker="w2"))

    first = run(outbox, NOW, worker="w1", reached=hook, clock=lambda: clock[0])
    assert second and second[0].resent == [] and second[0].sent == []
    assert first.sent == [notice_id]
    message_id = outbox.get(notice_id).message_id
    assert [m["Message-ID"] for m in outbox.mail.messages()] == [message_id]
    assert outbox.get(notice_id).state == NoticeState.SENT
