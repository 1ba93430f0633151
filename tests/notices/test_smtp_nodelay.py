"""The SMTP session sends each write at once (TCP_NODELAY), so the end of DATA, written on its
own after the step's commit, is not held back by Nagle's algorithm until the server
acknowledges the body (bench/notices_bench.py: 54 ms a small message on loopback, 12-15 ms
without the wait). Over a real socket to the mail sandbox."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from ifn_campaign.config import NoticesSettings
from ifn_campaign.notices.smtp import SmtpConnection
from ifn_sandbox.mail import MailSandbox


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[MailSandbox]:
    with MailSandbox(tmp_path / "mail") as sandbox:
        yield sandbox


def _message(n: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "ifn@bpipi.id"
    msg["To"] = "pemilik@sepatu-contoh.id"
    msg["Subject"] = f"Pemberitahuan {n}"
    msg["Message-ID"] = f"<nodelay-{n}@bpipi.id>"
    msg.set_content(f"Profil Anda tayang. {n}\n")
    return msg


def test_the_session_sends_without_delay_and_every_message_arrives(mail: MailSandbox) -> None:
    cfg = NoticesSettings(smtp_host=mail.host, smtp_port=mail.smtp_port, smtp_security="none")
    steps: list[int] = []
    with SmtpConnection(cfg, None) as smtp:
        sock = smtp.open().sock
        assert sock is not None
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        for n in range(3):  # the same session carries each, its end written on its own
            reply = smtp.send(
                _message(n),
                "ifn@bpipi.id",
                "pemilik@sepatu-contoh.id",
                commit_step=lambda n=n: steps.append(n) is None,
            )
            assert reply.startswith("250")
    assert steps == [0, 1, 2]
    arrived = mail.messages()
    assert [m["Message-ID"] for m in arrived] == [f"<nodelay-{n}@bpipi.id>" for n in range(3)]
    assert [m.get_content().splitlines() for m in arrived] == [
        [f"Profil Anda tayang. {n}"] for n in range(3)
    ]
