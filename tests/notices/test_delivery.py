"""Delivery's claims and endings: two workers racing send one copy each, a dead worker's claim
taken over after the lease (pending again before the end of the message, uncertain after),
uncertain e-mails looked up by Message-ID in the sandbox's Sent folder over IMAP, unsubscribed
members skipped, Apprise messages over loopback HTTP, and the waits between tries."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ifn_campaign.errors import SettingsError
from ifn_campaign.models import Notice, NoticeContact, NoticeState
from ifn_campaign.notices.delivery import SendReport, backoff, send_due, send_markdown
from tests.support.notices_delivery import (
    APPRISE_SECRET,
    NOW,
    PASSWORD,
    Outbox,
    notice_settings,
    open_outbox,
    secrets,
    with_imap,
)

LEASE = 900


@pytest.fixture
def outbox(db_url: str, tmp_path: Path) -> Iterator[Outbox]:
    with open_outbox(db_url, tmp_path, members=12) as made:
        yield made


def run(outbox: Outbox, now=NOW, **kw: Any) -> SendReport:  # type: ignore[no-untyped-def]
    settings = kw.pop("settings", outbox.settings)
    with outbox.session() as session:
        return send_due(session, settings, secrets=kw.pop("secrets", outbox.secrets), now=now, **kw)


def test_two_workers_racing_send_each_notice_once(outbox: Outbox) -> None:
    ids = [outbox.add(m, to_address=f"anggota{n}@contoh.id") for n, m in enumerate(outbox.members)]
    start = threading.Barrier(2)
    reports: dict[str, SendReport] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            start.wait()
            reports[name] = run(outbox, worker=name)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"notices:w{i}",)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    sent = reports["notices:w1"].sent + reports["notices:w2"].sent
    assert sorted(sent) == ids
    arrived = [m["Message-ID"] for m in outbox.mail.messages()]
    assert len(arrived) == len(ids) == len(set(arrived))
    with outbox.session() as session:
        assert set(session.scalars(select(Notice.state))) == {NoticeState.SENT}


def _stale(outbox: Outbox, notice_id: int, step: str | None, age: float) -> None:
    with outbox.session() as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None
        notice.state = NoticeState.SENDING
        notice.step = step
        notice.claimed_by = "notices:dead-host:1"
        notice.claimed_at = NOW - timedelta(seconds=age)
        session.commit()


def test_a_dead_workers_claim_is_taken_over_after_the_lease(outbox: Outbox) -> None:
    before_end = outbox.add()
    after_end = outbox.add(outbox.members[1])
    young = outbox.add(outbox.members[2])
    _stale(outbox, before_end, None, LEASE + 5)
    _stale(outbox, after_end, "data", LEASE + 5)
    _stale(outbox, young, None, LEASE - 60)
    report = run(outbox)
    assert report.sent == [before_end]  # nothing of it can have arrived: sent now
    assert outbox.get(before_end).attempts == 1  # the dead worker's try counts
    assert outbox.get(after_end).state == NoticeState.UNCERTAIN  # never resent blindly
    assert outbox.get(young).state == NoticeState.SENDING  # its worker may be alive
    assert len(outbox.mail.messages()) == 1


def test_a_notice_that_stops_its_sender_every_time_fails_at_max_attempts(outbox: Outbox) -> None:
    """Taken over after each dead claim, it counts a try each time and fails at the last one,
    as a notice refused that often does, instead of coming back once per lease for ever."""
    notice_id = outbox.add()
    most = outbox.settings.notices.max_attempts
    with outbox.session() as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None
        notice.attempts = most - 2
        session.commit()
    _stale(outbox, notice_id, None, LEASE + 5)
    assert run(outbox).sent == [notice_id]  # one try left: sent
    second = outbox.add(outbox.members[1])
    with outbox.session() as session:
        notice = session.get(Notice, second)
        assert notice is not None
        notice.attempts = most - 1
        session.commit()
    _stale(outbox, second, None, LEASE + 5)
    report = run(outbox)
    assert second not in report.sent
    failed = outbox.get(second)
    assert failed.state == NoticeState.FAILED and failed.attempts == most
    assert "gave up" in (failed.last_error or "")
    assert len(outbox.mail.messages()) == 1


def test_uncertain_found_in_the_sent_folder_is_sent_without_a_copy(outbox: Outbox) -> None:
    notice_id = outbox.add()
    outbox.mail.drop_after_data()
    assert [i for i, _ in run(outbox).uncertain] == [notice_id]
    due = outbox.get(notice_id).next_attempt_at
    assert due > NOW  # asked about later, when the server has filed it
    report = run(outbox, now=due, settings=with_imap(outbox.settings, outbox.mail))
    assert report.found_sent == [notice_id] and report.sent == []
    notice = outbox.get(notice_id)
    assert notice.state == NoticeState.SENT
    assert "Sent folder" in (notice.last_error or "")
    assert len(outbox.mail.messages()) == 1


def test_uncertain_not_in_the_sent_folder_goes_again_with_its_message_id(
    outbox: Outbox,
) -> None:
    notice_id = outbox.add(state=NoticeState.UNCERTAIN, step="data")
    report = run(outbox, settings=with_imap(outbox.settings, outbox.mail))
    assert report.resent == [notice_id] and report.sent == [notice_id]
    [message] = outbox.mail.messages()
    assert message["Message-ID"] == outbox.get(notice_id).message_id


def test_an_uncertain_notice_whose_message_id_cannot_be_searched_is_left_to_staff(
    outbox: Outbox,
) -> None:
    """A Message-ID no one here made (a hand edit) cannot go into an IMAP SEARCH: it raised
    ValueError out of every run, which then sent nothing at all. Now it stays uncertain for
    staff, and the other uncertain notice is looked up and sent again."""
    odd = outbox.add(state=NoticeState.UNCERTAIN, step="data", message_id="<a b@c d>")
    fine = outbox.add(outbox.members[1], state=NoticeState.UNCERTAIN, step="data")
    report = run(outbox, settings=with_imap(outbox.settings, outbox.mail))
    assert report.resent == [fine] and report.sent == [fine]
    assert [i for i, _ in report.uncertain] == [odd]
    held = outbox.get(odd)
    assert held.state == NoticeState.UNCERTAIN and "staff decide" in (held.last_error or "")
    assert len(outbox.mail.messages()) == 1


def test_uncertain_stays_so_while_imap_does_not_answer(outbox: Outbox) -> None:
    notice_id = outbox.add(state=NoticeState.UNCERTAIN, step="data")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    settings = with_imap(outbox.settings, outbox.mail)
    away = settings.model_copy(
        update={"notices": settings.notices.model_copy(update={"imap_port": closed})}
    )
    report = run(outbox, settings=away)
    assert [i for i, _ in report.uncertain] == [notice_id]
    notice = outbox.get(notice_id)
    assert notice.state == NoticeState.UNCERTAIN and notice.next_attempt_at > NOW
    assert "could not be searched" in (notice.last_error or "")
    assert outbox.mail.messages() == []


def test_a_wrong_imap_password_keeps_it_uncertain_and_secret(outbox: Outbox) -> None:
    notice_id = outbox.add(state=NoticeState.UNCERTAIN, step="data")
    wrong = "Wrong-imap-Pa55"
    settings = with_imap(outbox.settings, outbox.mail)
    settings = settings.model_copy(
        update={"notices": settings.notices.model_copy(update={"imap_password_secret": "imap"})}
    )
    report = run(outbox, settings=settings, secrets=secrets(IFN_SECRET_IMAP=wrong))
    assert [i for i, _ in report.uncertain] == [notice_id]
    error = outbox.get(notice_id).last_error or ""
    assert "could not be searched" in error and wrong not in error and PASSWORD not in error


def test_unsubscribed_members_are_not_sent_to(outbox: Outbox) -> None:
    notice_id = outbox.add()
    with outbox.session() as session:
        session.add(NoticeContact(member_id=outbox.members[0], medium="email", unsubscribed_at=NOW))
        session.commit()
    report = run(outbox)
    assert [i for i, _ in report.dropped] == [notice_id]
    assert outbox.get(notice_id).state == NoticeState.DROPPED
    assert outbox.mail.messages() == []


def test_without_an_smtp_host_email_waits_and_says_why(outbox: Outbox) -> None:
    notice_id = outbox.add()
    settings = notice_settings(
        outbox.settings.database.url, outbox.folder, outbox.mail, smtp_host=None
    )
    report = run(outbox, settings=settings)
    assert any("notices.smtp_host is not set" in why for why in report.waiting)
    assert outbox.get(notice_id).state == NoticeState.PENDING
    assert "smtp_host" in send_markdown(report)


def test_backoff_doubles_up_to_the_maximum(outbox: Outbox) -> None:
    s = notice_settings(
        outbox.settings.database.url,
        outbox.folder,
        outbox.mail,
        retry_base_seconds=60,
        retry_max_seconds=300,
    )
    waits = [backoff(s, n, jitter=0).total_seconds() for n in range(1, 6)]
    assert waits == [60, 120, 240, 300, 300]
    assert backoff(s, 1, jitter=1).total_seconds() == 66
    assert 60 <= backoff(s, 1).total_seconds() <= 66


# --- Apprise over loopback HTTP ---------------------------------------------------------------


class _Hook(ThreadingHTTPServer):
    """An HTTP endpoint Apprise's json:// posts to; it records what arrived."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HookHandler)
        self.arrived: list[tuple[str, dict[str, Any]]] = []
        self.status = 200


class _HookHandler(BaseHTTPRequestHandler):
    server: _Hook

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.arrived.append((self.path, json.loads(self.rfile.read(length))))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[_Hook]:
    server = _Hook()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _apprise(outbox: Outbox, hook: _Hook, template: str) -> tuple[Any, Any]:
    settings = notice_settings(
        outbox.settings.database.url,
        outbox.folder,
        outbox.mail,
        apprise_url_secret=APPRISE_SECRET,
        smtp_host=None,
    )
    return settings, secrets(IFN_SECRET_APPRISE_URL=template)


def test_an_apprise_message_reaches_the_members_number(outbox: Outbox, hook: _Hook) -> None:
    port = hook.server_address[1]
    settings, found = _apprise(outbox, hook, f"json://127.0.0.1:{port}/wa/{{whatsapp}}")
    notice_id = outbox.add(
        medium="apprise", to_address="6281234567890", html_body=None, attachments=[]
    )
    report = run(outbox, settings=settings, secrets=found)
    assert report.sent == [notice_id]
    [(path, body)] = hook.arrived
    assert path == "/wa/6281234567890"
    notice = outbox.get(notice_id)
    assert body["title"] == notice.subject and body["message"] == notice.text_body.strip()
    assert notice.state == NoticeState.SENT and notice.step == "data"


def test_an_apprise_refusal_waits_and_tries_again(outbox: Outbox, hook: _Hook) -> None:
    port = hook.server_address[1]
    settings, found = _apprise(outbox, hook, f"json://127.0.0.1:{port}/wa/{{phone}}")
    notice_id = outbox.add(
        medium="apprise", to_address="6281234567890", html_body=None, attachments=[]
    )
    hook.status = 503
    report = run(outbox, settings=settings, secrets=found)
    assert [i for i, _ in report.retry_later] == [notice_id]
    notice = outbox.get(notice_id)
    assert notice.state == NoticeState.PENDING and notice.step is None
    hook.status = 200
    assert run(outbox, now=notice.next_attempt_at, settings=settings, secrets=found).sent == [
        notice_id
    ]
    assert len(hook.arrived) == 2


def test_an_apprise_url_without_the_number_is_refused(outbox: Outbox, hook: _Hook) -> None:
    port = hook.server_address[1]
    settings, found = _apprise(outbox, hook, f"json://127.0.0.1:{port}/wa/fixed")
    notice_id = outbox.add(medium="apprise", to_address="6281234567890", attachments=[])
    with pytest.raises(SettingsError, match="no \\{whatsapp\\} or \\{phone\\}") as refused:
        run(outbox, settings=settings, secrets=found)
    assert "json://" not in str(refused.value)  # the URL is a secret
    notice = outbox.get(notice_id)
    assert notice.state == NoticeState.PENDING and notice.claimed_by is None
    assert hook.arrived == []


@pytest.mark.slow
@pytest.mark.parametrize("template", [None, "json://127.0.0.1:{port}/wa/fixed", "nonsense"])
def test_apprise_settings_refused_hold_only_apprise_notices(
    outbox: Outbox, hook: _Hook, template: str | None
) -> None:
    """The Apprise secret missing, or its URL unusable: the Apprise notices wait and the run
    says so (SettingsError naming the setting, never the URL), while the e-mails of the same
    batch go out. Before, the first Apprise notice stopped the run and gave back every notice
    after it, e-mails included, at every run until the secret was fixed."""
    settings = notice_settings(
        outbox.settings.database.url, outbox.folder, outbox.mail, apprise_url_secret=APPRISE_SECRET
    )
    found = (
        secrets()
        if template is None
        else secrets(IFN_SECRET_APPRISE_URL=template.format(port=hook.server_address[1]))
    )
    whatsapp = outbox.add(
        medium="apprise", to_address="6281234567890", html_body=None, attachments=[]
    )
    emails = [outbox.add(outbox.members[i], to_address=f"a{i}@contoh.id") for i in (1, 2)]
    with pytest.raises(SettingsError, match=r"apprise_url_secret|apprise-url") as refused:
        run(outbox, settings=settings, secrets=found)
    assert "json://" not in str(refused.value) and "nonsense" not in str(refused.value)
    assert {outbox.get(i).state for i in emails} == {NoticeState.SENT}
    assert len(outbox.mail.messages()) == 2
    held = outbox.get(whatsapp)
    assert held.state == NoticeState.PENDING and held.claimed_by is None and held.attempts == 0
    assert hook.arrived == []


def test_a_bad_number_is_refused_not_sent(outbox: Outbox, hook: _Hook) -> None:
    port = hook.server_address[1]
    settings, found = _apprise(outbox, hook, f"json://127.0.0.1:{port}/wa/{{whatsapp}}")
    notice_id = outbox.add(medium="apprise", to_address="../../admin?x=1", attachments=[])
    report = run(outbox, settings=settings, secrets=found)
    assert [i for i, _ in report.refused] == [notice_id]
    assert hook.arrived == []
