"""Every way the mail server can keep notices from going (a mistyped host, nothing listening,
TLS that fails, a login refused, a server that accepts and then says nothing), over real
sockets on loopback: the run says the mail server could not be used, in plain words naming
the setting; each notice waits with that reason and loses no try to it; after
`notices.overdue_minutes` staff are shown how many wait, since when and why (never the
password); `ifn-campaign doctor` finds the same before any notice waits. SQLite and
PostgreSQL."""

from __future__ import annotations

import base64
import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ifn_campaign.errors import SettingsError
from ifn_campaign.models import NoticeState
from ifn_campaign.notices.delivery import SendReport, notices_markdown, send_due
from ifn_campaign.notices.outbox import QueueReport
from ifn_campaign.notices.staff import overdue
from ifn_campaign.orchestration.doctor import SecretReader, check_mail_server
from tests.support.notices_delivery import (
    NOW,
    PASSWORD,
    USER,
    EchoingSmtp,
    Outbox,
    SilentSmtp,
    notice_settings,
    open_outbox,
    secrets,
)


@dataclass(frozen=True)
class Fault:
    """One way the server fails: the settings it takes, the words staff must read (all of
    them), whether the run raises our settings' error, and the tries the first notice costs."""

    settings: Callable[[Outbox, ExitStack], dict[str, Any]]
    words: tuple[str, ...]
    settings_refused: bool = False
    first_costs: int = 0
    password: str = PASSWORD


def _free_port() -> int:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _silent(at_banner: bool) -> Callable[[Outbox, ExitStack], dict[str, Any]]:
    def made(outbox: Outbox, stack: ExitStack) -> dict[str, Any]:
        server = SilentSmtp(at_banner=at_banner)
        stack.callback(server.close)
        return {
            "smtp_port": server.port,
            "smtp_timeout": 1.0,
            "smtp_user": None,
            "smtp_password_secret": None,
        }

    return made


def _echoing(outbox: Outbox, stack: ExitStack) -> dict[str, Any]:
    server = EchoingSmtp()
    stack.callback(server.close)
    return {"smtp_port": server.port, "smtp_security": "none", "smtp_timeout": 2.0}


FAULTS = {
    # RFC 2606: .invalid never resolves, so this asks no server anywhere for long
    "dns": Fault(
        lambda o, s: {"smtp_host": "smtp.gmial.invalid", "smtp_user": None},
        ("not reachable", "smtp.gmial.invalid is not known", "check notices.smtp_host"),
    ),
    "refused": Fault(
        lambda o, s: {"smtp_port": _free_port()},
        ("not reachable", "connection refused", "notices.smtp_port"),
    ),
    "tls": Fault(  # TLS asked of a server that speaks plain SMTP
        lambda o, s: {"smtp_security": "tls", "smtp_port": o.mail.smtp_port},
        ("TLS with the SMTP server", "notices.smtp_security"),
        settings_refused=True,
    ),
    "login": Fault(
        lambda o, s: {},
        ("refused the login of notices.smtp_user", "smtp-password"),
        settings_refused=True,
        password="Wrong-Pa55word-xyz",
    ),
    "login refused quoting what it was sent": Fault(
        _echoing,
        ("refused the login of notices.smtp_user", "smtp-password"),
        settings_refused=True,
        password="Wrong-Pa55word-xyz",
    ),
    "silent at once": Fault(_silent(True), ("timed out, no answer in 1 s", "notices.smtp_host")),
    "silent after EHLO": Fault(_silent(False), ("stopped answering",), first_costs=1),
}


@pytest.fixture
def outbox(db_url: str, tmp_path: Path) -> Iterator[Outbox]:
    with open_outbox(db_url, tmp_path) as made:
        yield made


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_a_mail_server_that_cannot_be_used_is_said_and_loses_nothing(
    outbox: Outbox, fault: Fault, caplog: pytest.LogCaptureFixture
) -> None:
    ids = [outbox.add(), outbox.add(outbox.members[1])]
    with ExitStack() as stack:
        settings = notice_settings(
            outbox.settings.database.url,
            outbox.folder,
            outbox.mail,
            **fault.settings(outbox, stack),
        )
        keys = secrets(IFN_SECRET_SMTP_PASSWORD=fault.password)
        report = SendReport()
        raised: AbstractContextManager[Any] = (
            pytest.raises(SettingsError) if fault.settings_refused else nullcontext()
        )
        with raised, outbox.session() as session:
            send_due(session, settings, secrets=keys, now=NOW, report=report)
        # doctor finds it too, before any notice waits: a failing check naming the setting
        [check] = check_mail_server(settings, SecretReader(None, keys))
    reason = report.mail_server
    assert reason is not None and all(w in reason for w in fault.words), reason
    assert report.sent == [] and outbox.mail.messages() == []
    rows = [outbox.get(i) for i in ids]
    assert [n.state for n in rows] == [NoticeState.PENDING] * 2
    assert [n.attempts for n in rows] == [fault.first_costs, 0]
    assert all(n.last_error and fault.words[0] in n.last_error for n in rows)
    assert check.status == "fail" and all(w in check.message for w in fault.words), check
    # staff see it once the notices have waited notices.overdue_minutes (60)
    with outbox.session() as session:
        assert overdue(session, settings, NOW - timedelta(minutes=1)) is None  # not an hour yet
        late = overdue(session, settings, NOW)
    assert late is not None and late.count == 2
    assert late.oldest == NOW - timedelta(hours=1)
    assert late.reason is not None and fault.words[0] in late.reason
    summary = notices_markdown(QueueReport(), report, late)
    assert summary.startswith("# Member notices\n\n**The mail server could not be used:**")
    assert "**Waiting too long:** 2 member notice(s) waiting too long" in summary
    for said in (reason, late.reason, check.message, summary, caplog.text):
        for password in (PASSWORD, "Wrong-Pa55word-xyz"):
            assert not any(form in said for form in _forms(password)), said


def _forms(password: str) -> list[str]:
    """The password as it may come back: as typed, and base64 alone (AUTH LOGIN) or with the
    user name (AUTH PLAIN), with or without its padding."""
    encoded = [
        base64.b64encode(raw).decode()
        for raw in (password.encode(), f"\0{USER}\0{password}".encode())
    ]
    return [password, *encoded, *(e.rstrip("=") for e in encoded)]


def test_the_server_back_sends_them_and_nothing_waits(outbox: Outbox) -> None:
    away = notice_settings(
        outbox.settings.database.url, outbox.folder, outbox.mail, smtp_port=_free_port()
    )
    ids = [outbox.add(), outbox.add(outbox.members[1])]
    with outbox.session() as session:
        assert send_due(session, away, secrets=outbox.secrets, now=NOW).mail_server
    later = NOW + timedelta(hours=5)
    with outbox.session() as session:
        report = send_due(session, outbox.settings, secrets=outbox.secrets, now=later)
        assert report.mail_server is None and report.sent == ids
        assert overdue(session, outbox.settings, later) is None
    assert len(outbox.mail.messages()) == 2
    [check] = check_mail_server(outbox.settings, SecretReader(None, outbox.secrets))
    assert check.status == "ok"
    assert check.message == f"127.0.0.1:{outbox.mail.smtp_port} answers; no encryption; " + (
        "login as 'ifn-sender' accepted"
    )


def test_notices_never_tried_say_why(outbox: Outbox) -> None:
    """No smtp_host: nothing was tried, so no notice has a last error; the reason is the
    setting that is missing."""
    outbox.add()
    unset = outbox.settings.model_copy(
        update={"notices": outbox.settings.notices.model_copy(update={"smtp_host": None})}
    )
    with outbox.session() as session:
        late = overdue(session, unset, NOW)
    assert late is not None and late.count == 1
    assert late.reason == "e-mail notices wait: notices.smtp_host is not set"
    [check] = check_mail_server(unset, SecretReader(None, outbox.secrets))
    assert check.status == "warn" and "notices.smtp_host is not set" in check.message
