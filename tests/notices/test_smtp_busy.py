"""A mail server that is there but will not take mail now, before any message is started: it
greets with 421 (busy, rate limit, maintenance) or answers EHLO or the login with a 4xx. No
message was tried, so, as for a server that cannot be connected to, the notices cost no try and
the run's others do not each open a session to be told the same."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ifn_campaign.models import NoticeState
from ifn_campaign.notices.delivery import send_due
from tests.support.notices_delivery import NOW, Outbox, notice_settings, open_outbox


@pytest.fixture
def outbox(db_url: str, tmp_path: Path) -> Iterator[Outbox]:
    with open_outbox(db_url, tmp_path, members=4) as made:
        yield made


class _Busy:
    """A raw SMTP server on loopback answering every session with `banner`, then, when it is a
    220, EHLO with `ehlo`; it closes the connection after its refusal."""

    def __init__(self, banner: bytes, ehlo: bytes = b"") -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.banner, self.ehlo = banner, ehlo
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(2)
                conn.sendall(self.banner)
                if self.ehlo:
                    conn.makefile("rb").readline()
                    conn.sendall(self.ehlo)
        self.listener.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


@pytest.mark.parametrize(
    ("banner", "ehlo"),
    [
        (b"421 4.7.0 mail.test Try again later, closing connection\r\n", b""),
        (b"220 mail.test ESMTP\r\n", b"421 4.3.2 mail.test System not accepting messages\r\n"),
    ],
    ids=["greeting", "ehlo"],
)
def test_a_busy_server_costs_no_try_and_one_session(
    outbox: Outbox, banner: bytes, ehlo: bytes
) -> None:
    server = _Busy(banner, ehlo)
    try:
        busy = notice_settings(
            outbox.settings.database.url,
            outbox.folder,
            outbox.mail,
            smtp_port=server.port,
            smtp_user=None,
            smtp_password_secret=None,
            max_attempts=3,
        )
        ids = [outbox.add(outbox.members[i]) for i in range(3)]
        now = NOW
        for _ in range(8):  # two hours of runs, every 15 minutes
            with outbox.session() as session:
                send_due(session, busy, secrets=outbox.secrets, now=now)
            now += timedelta(minutes=15)
    finally:
        server.close()
    assert server.connections == 8  # one session a run, not one per notice
    assert [(outbox.get(i).state, outbox.get(i).attempts) for i in ids] == [
        (NoticeState.PENDING, 0)
    ] * 3
    assert "421" in (outbox.get(ids[0]).last_error or "")
    # the server takes mail again: they go
    with outbox.session() as session:
        back = notice_settings(outbox.settings.database.url, outbox.folder, outbox.mail)
        report = send_due(session, back, secrets=outbox.secrets, now=now)
    assert report.sent == ids and len(outbox.mail.messages()) == 3
