"""Notices sent over real SMTP to the mail sandbox on loopback, and what arrived read back:
headers, both parts, the links, the inline card, List-Unsubscribe; temporary and permanent
refusals; our own settings refused (login, STARTTLS, sender) said clearly, notices kept."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from ifn_campaign.errors import SettingsError
from ifn_campaign.members.links import member_key, verify_unsubscribe
from ifn_campaign.models import Notice, NoticeContact, NoticeMedium, NoticeState
from ifn_campaign.notices.delivery import send_due
from ifn_campaign.secrets import Secrets
from tests.support.notices_delivery import (
    CID,
    NOW,
    PASSWORD,
    SECRET_NAME,
    USER,
    Outbox,
    SilentSmtp,
    notice_settings,
    open_outbox,
    secrets,
    with_imap,
)


@pytest.fixture
def outbox(db_url: str, tmp_path: Path) -> Iterator[Outbox]:
    with open_outbox(db_url, tmp_path) as made:
        yield made


def run(outbox: Outbox, now=NOW, **kw):  # type: ignore[no-untyped-def]
    with outbox.session() as session:
        return send_due(
            session, kw.pop("settings", outbox.settings), secrets=outbox.secrets, now=now, **kw
        )


def parts(message: EmailMessage) -> dict[str, EmailMessage]:
    return {part.get_content_type(): part for part in message.walk()}  # type: ignore[misc]


def test_the_message_as_it_arrives(outbox: Outbox) -> None:
    notice_id = outbox.add()
    report = run(outbox)
    assert report.sent == [notice_id]
    [message] = outbox.mail.messages()
    notice = outbox.get(notice_id)
    assert message["Message-ID"] == notice.message_id
    assert message["From"] == '"Indonesia Footwear Network (BPIPI)" <ifn@bpipi.id>'
    assert message["To"] == "pemilik@sepatu-contoh.id"
    assert message["Reply-To"] == "sorotan@bpipi.id"
    assert message["Subject"] == notice.subject  # non-ASCII (the dash), encoded and back
    assert message["Date"] is not None
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = str(message["List-Unsubscribe"])
    assert unsubscribe.startswith("<https://ifn.example/anggota/berhenti/")
    token = unsubscribe.strip("<>").rsplit("/", 1)[1]
    said = verify_unsubscribe(member_key(outbox.settings), token)
    assert (said.member_id, said.medium) == (outbox.members[0], NoticeMedium.EMAIL)
    assert message.get_content_type() == "multipart/alternative"
    found = parts(message)
    assert set(found) >= {"text/plain", "multipart/related", "text/html", "image/png"}
    text = found["text/plain"].get_content()
    assert "Selasa, 8 Desember 2026 pukul 19.00 WIB" in text
    assert "https://ifn.example/anggota/1.abc" in text
    assert ".a line starting with a dot" in text  # dot-stuffed on the wire, whole on arrival
    html = found["text/html"].get_content()
    assert f'src="cid:{CID}"' in html and 'href="https://ifn.example/anggota/1.abc"' in html
    card = found["image/png"]
    assert card["Content-ID"] == f"<{CID}>"
    assert card.get_content() == outbox.card.read_bytes()
    assert notice.state == NoticeState.SENT and notice.sent_at == NOW
    assert notice.claimed_by is None and notice.last_error is None


def test_a_temporary_refusal_waits_then_one_copy_arrives(outbox: Outbox) -> None:
    notice_id = outbox.add()
    outbox.mail.fail_next(451, at="rcpt")
    report = run(outbox)
    assert [i for i, _ in report.retry_later] == [notice_id]
    notice = outbox.get(notice_id)
    assert notice.state == NoticeState.PENDING and notice.attempts == 1
    assert "451" in (notice.last_error or "")
    wait = notice.next_attempt_at - NOW
    assert timedelta(seconds=60) <= wait <= timedelta(seconds=66)
    assert outbox.mail.messages() == []
    assert run(outbox, now=NOW + timedelta(seconds=30)).sent == []  # not yet due
    assert run(outbox, now=notice.next_attempt_at).sent == [notice_id]
    assert len(outbox.mail.messages()) == 1


def test_waits_double_and_the_notice_fails_after_max_attempts(outbox: Outbox) -> None:
    settings = notice_settings(
        outbox.settings.database.url, outbox.folder, outbox.mail, max_attempts=3
    )
    notice_id = outbox.add()
    outbox.mail.fail_next(421, times=3, at="data")
    now = NOW
    waits = []
    for _ in range(2):
        run(outbox, now=now, settings=settings)
        notice = outbox.get(notice_id)
        waits.append(notice.next_attempt_at - now)
        now = notice.next_attempt_at
    assert timedelta(seconds=60) <= waits[0] <= timedelta(seconds=66)
    assert timedelta(seconds=120) <= waits[1] <= timedelta(seconds=132)
    report = run(outbox, now=now, settings=settings)
    assert [i for i, _ in report.failed] == [notice_id]
    notice = outbox.get(notice_id)
    assert notice.state == NoticeState.FAILED and notice.attempts == 3
    assert "gave up after 3 tries" in (notice.last_error or "")
    assert outbox.mail.messages() == []


@pytest.mark.parametrize("code", [550, 553])
def test_a_permanent_refusal_is_recorded_on_the_member(outbox: Outbox, code: int) -> None:
    first = outbox.add()
    outbox.mail.fail_next(code, at="rcpt")
    report = run(outbox)
    assert [i for i, _ in report.refused] == [first]
    notice = outbox.get(first)
    assert notice.state == NoticeState.FAILED and str(code) in (notice.last_error or "")
    with outbox.session() as session:
        contact = session.get(NoticeContact, (outbox.members[0], "email"))
        assert contact is not None
        assert contact.refused_address == "pemilik@sepatu-contoh.id"
        assert contact.refused_at == NOW and str(code) in (contact.refused_reason or "")
    # a later notice to the same address is not sent; one to another member still is
    again = outbox.add()
    other = outbox.add(outbox.members[1], to_address="lain@sepatu-contoh.id")
    report = run(outbox, now=NOW + timedelta(minutes=1))
    assert [i for i, _ in report.dropped] == [again] and report.sent == [other]
    assert [m["To"] for m in outbox.mail.messages()] == ["lain@sepatu-contoh.id"]


def test_a_refused_message_fails_without_blaming_the_address(outbox: Outbox) -> None:
    notice_id = outbox.add()
    outbox.mail.fail_next(554, at="data")
    report = run(outbox)
    assert [i for i, _ in report.failed] == [notice_id]
    with outbox.session() as session:
        assert session.get(NoticeContact, (outbox.members[0], "email")) is None


def test_one_refusal_does_not_stop_the_others(outbox: Outbox) -> None:
    ids = [outbox.add(m, to_address=f"a{n}@contoh.id") for n, m in enumerate(outbox.members)]
    outbox.mail.fail_next(550, at="rcpt")
    report = run(outbox)
    assert [i for i, _ in report.refused] == ids[:1] and report.sent == ids[1:]
    assert len(outbox.mail.messages()) == len(ids) - 1


def _all_pending(outbox: Outbox, ids: list[int]) -> None:
    with outbox.session() as session:
        rows = session.scalars(select(Notice).where(Notice.id.in_(ids))).all()
        assert {(n.state, n.attempts, n.claimed_by) for n in rows} == {("pending", 0, None)}
        assert all(PASSWORD not in (n.last_error or "") for n in rows)


def test_a_wrong_password_is_our_settings_said_clearly(
    outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    ids = [outbox.add(), outbox.add(outbox.members[1])]
    wrong = "Wrong-Pa55word-xyz"
    outbox.secrets = secrets(IFN_SECRET_SMTP_PASSWORD=wrong)
    with pytest.raises(SettingsError) as refused:
        run(outbox)
    said = str(refused.value)
    assert "refused the login of notices.smtp_user" in said and USER in said
    assert repr(SECRET_NAME) in said and wrong not in said and PASSWORD not in said
    assert wrong not in caplog.text
    _all_pending(outbox, ids)
    assert outbox.mail.messages() == []


def test_no_login_where_the_server_wants_one_keeps_the_notices(outbox: Outbox) -> None:
    ids = [outbox.add()]
    settings = notice_settings(
        outbox.settings.database.url,
        outbox.folder,
        outbox.mail,
        smtp_user=None,
        smtp_password_secret=None,
    )
    with pytest.raises(SettingsError, match=r"refused our sender .*notices\.sender"):
        run(outbox, settings=settings)
    _all_pending(outbox, ids)


def test_starttls_the_server_does_not_offer_is_a_settings_error(outbox: Outbox) -> None:
    ids = [outbox.add()]
    settings = notice_settings(
        outbox.settings.database.url, outbox.folder, outbox.mail, smtp_security="starttls"
    )
    with pytest.raises(SettingsError, match=r"does not offer STARTTLS.*notices\.smtp_security"):
        run(outbox, settings=settings)
    _all_pending(outbox, ids)


def test_login_without_encryption_to_another_host_is_refused(outbox: Outbox) -> None:
    ids = [outbox.add()]
    settings = notice_settings(
        outbox.settings.database.url, outbox.folder, outbox.mail, smtp_host="mail.example.org"
    )
    with pytest.raises(SettingsError, match="password unencrypted"):
        run(outbox, settings=settings)
    _all_pending(outbox, ids)


def test_a_server_away_is_a_temporary_failure_for_each(outbox: Outbox) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = notice_settings(
        outbox.settings.database.url, outbox.folder, outbox.mail, smtp_port=port
    )
    ids = [outbox.add(), outbox.add(outbox.members[1])]
    report = run(outbox, settings=settings)
    assert [i for i, _ in report.retry_later] == ids
    assert all("not reachable" in why for _, why in report.retry_later)
    assert {outbox.get(i).state for i in ids} == {NoticeState.PENDING}
    assert {outbox.get(i).attempts for i in ids} == {0}  # never tried: no try counted


@pytest.mark.slow
def test_an_outage_longer_than_every_try_loses_no_notice(outbox: Outbox) -> None:
    """A server away for a day (every 15-minute run finding nothing to connect to) used up
    `max_attempts` in about four hours and failed the notices; now they wait and go after."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    away = notice_settings(
        outbox.settings.database.url, outbox.folder, outbox.mail, smtp_port=port, max_attempts=3
    )
    ids = [outbox.add(), outbox.add(outbox.members[1])]
    now = NOW
    for _ in range(96):  # a day of runs
        run(outbox, now=now, settings=away)
        now += timedelta(minutes=15)
    assert {(outbox.get(i).state, outbox.get(i).attempts) for i in ids} == {
        (NoticeState.PENDING, 0)
    }
    back = notice_settings(outbox.settings.database.url, outbox.folder, outbox.mail, max_attempts=3)
    report = run(outbox, now=now, settings=back)
    assert report.sent == ids
    assert len(outbox.mail.messages()) == 2


def test_a_garbled_answer_to_the_login_is_temporary_not_our_settings(outbox: Outbox) -> None:
    """A server answering AUTH with no SMTP reply at all (smtplib's code -1): a server
    fault for now, tried again later; it stopped the run as 'refused the login ... check the
    password', sending staff after a password that was right."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def serve() -> None:
        conn, _ = listener.accept()
        reader = conn.makefile("rb")
        conn.sendall(b"220 mail.test ESMTP\r\n")
        reader.readline()
        conn.sendall(b"250-mail.test\r\n250 AUTH PLAIN\r\n")
        reader.readline()
        conn.sendall(b"\xff\xfe garbled\r\n")
        time.sleep(1)
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        settings = notice_settings(
            outbox.settings.database.url,
            outbox.folder,
            outbox.mail,
            smtp_port=listener.getsockname()[1],
        )
        notice_id = outbox.add()
        report = run(outbox, settings=settings)
    finally:
        thread.join(5)
        listener.close()
    assert [i for i, _ in report.retry_later] == [notice_id]
    assert PASSWORD not in report.retry_later[0][1]
    assert outbox.get(notice_id).state == NoticeState.PENDING


@pytest.mark.parametrize("at_banner", [False, True])
def test_a_server_that_stops_answering_costs_the_run_one_timeout(
    outbox: Outbox, at_banner: bool
) -> None:
    """A server that takes the connection and then hangs: the first notice waits
    `smtp_timeout`, the run's others wait in the outbox without trying (before, each notice
    opened a new session and waited its own timeout: 200 notices x 30 s, past the claims'
    lease)."""
    server = SilentSmtp(at_banner=at_banner)
    try:
        settings = notice_settings(
            outbox.settings.database.url,
            outbox.folder,
            outbox.mail,
            smtp_port=server.port,
            smtp_timeout=1.0,
            smtp_user=None,
            smtp_password_secret=None,
        )
        ids = [outbox.add(outbox.members[i % 4], to_address=f"a{i}@contoh.id") for i in range(6)]
        report = run(outbox, settings=settings)
    finally:
        server.close()
    assert server.connections == 1  # one session, one timeout: not one per notice
    assert [i for i, _ in report.retry_later] == ids
    # the first costs a try when it was cut off mid-message (no greeting: never started); the
    # others were never started (no try)
    assert [outbox.get(i).attempts for i in ids] == [0 if at_banner else 1, 0, 0, 0, 0, 0]
    assert all("timed out" in why or "stopped answering" in why for _, why in report.retry_later)
    assert {outbox.get(i).state for i in ids} == {NoticeState.PENDING}
    assert outbox.mail.messages() == []


def test_hostile_rows_fail_alone_and_inject_nothing(outbox: Outbox) -> None:
    injected = outbox.add(to_address="x@contoh.id>\r\nRCPT TO:<korban@contoh.id")
    display = outbox.add(outbox.members[1], to_address="Orang <orang@contoh.id>")
    subject = outbox.add(outbox.members[2], subject="Halo\r\nBcc: korban@contoh.id")
    missing = outbox.add(
        outbox.members[3],
        attachments=[{"path": str(outbox.folder / "gone.png"), "mime": "image/png", "cid": CID}],
    )
    elsewhere = outbox.add(
        outbox.members[3],
        attachments=[{"path": "/etc/hostname", "mime": "text/plain", "cid": ""}],
    )
    fine = outbox.add(outbox.members[3], to_address="baik@contoh.id")
    report = run(outbox)
    assert report.sent == [fine]
    assert {i for i, _ in report.refused} == {injected, display}
    assert {i for i, _ in report.failed} == {subject, missing, elsewhere}
    assert "outside the data and cards folders" in (outbox.get(elsewhere).last_error or "")
    [message] = outbox.mail.messages()
    assert message["To"] == "baik@contoh.id" and message["Bcc"] is None
    assert "gone.png" in (outbox.get(missing).last_error or "")


@pytest.mark.parametrize(
    "stored",
    [
        '["card.png"]',
        "[null]",
        '"card.png"',
        '{"path": "card.png"}',
        '[{"path": 5}]',
        '[{"path": "card.png", "cid": 7, "mime": 9}]',
    ],
)
def test_a_hand_edited_attachments_value_fails_that_notice_alone(
    outbox: Outbox, stored: str
) -> None:
    """Attachments that are no list of maps (a hand edit): that notice fails with the reason
    and the run sends the rest; before, AttributeError left the run with its batch claimed."""
    broken = outbox.add()
    fine = outbox.add(outbox.members[1], to_address="baik@contoh.id")
    with outbox.session() as session:
        session.execute(
            text("UPDATE notice SET attachments = :v WHERE id = :id"), {"v": stored, "id": broken}
        )
        session.commit()
    report = run(outbox)
    assert report.sent == [fine]
    assert [i for i, _ in report.failed] == [broken]
    assert outbox.get(broken).state == NoticeState.FAILED


@pytest.mark.parametrize(
    ("user", "password", "named"),
    [
        (USER, "kata-sandi-rahasia-\u00e9\u20ac", "secret 'smtp-password'"),
        ("pengirim-\u00e9", PASSWORD, "notices.smtp_user"),
    ],
)
def test_a_login_in_letters_other_than_ascii_is_a_settings_error_naming_it(
    outbox: Outbox, user: str, password: str, named: str
) -> None:
    """smtplib and imaplib log in only in ASCII: such a user or password raised
    UnicodeEncodeError out of the run, its notices left claimed (`sending`) until the lease,
    and the uncertain ones' IMAP look-up stopped every later run the same way. Now: our
    settings, said naming the setting, never the password; the notices kept."""
    settings = notice_settings(
        outbox.settings.database.url, outbox.folder, outbox.mail, smtp_user=user
    )
    secrets = Secrets({"IFN_SECRET_SMTP_PASSWORD": password})
    ids = [outbox.add(), outbox.add(outbox.members[1])]
    with outbox.session() as session, pytest.raises(SettingsError, match=named) as info:
        send_due(session, settings, secrets=secrets, now=NOW)
    assert password not in str(info.value)
    assert {outbox.get(i).state for i in ids} == {NoticeState.PENDING}
    with outbox.session() as session:  # cut off after the end: asked of the Sent folder
        session.execute(update(Notice).values(state=NoticeState.UNCERTAIN, step="data"))
        session.commit()
    with outbox.session() as session:
        report = send_due(session, with_imap(settings, outbox.mail), secrets=secrets, now=NOW)
    assert sorted(i for i, _ in report.uncertain) == ids
    imap_named = named.replace("notices.smtp_user", "notices.imap_user")
    assert all(imap_named in why for _, why in report.uncertain)
    assert {outbox.get(i).state for i in ids} == {NoticeState.UNCERTAIN}


def test_anything_unforeseen_mid_run_gives_the_claimed_notices_back(outbox: Outbox) -> None:
    """An error no one planned for, in the middle of a message (here raised at the body, before
    its end): the run stops with it, and the batch's notices are pending again at once, not
    left `sending` for `notices.lease_seconds` (before, only our settings' errors gave back)."""
    ids = [outbox.add(outbox.members[i], to_address=f"a{i}@contoh.id") for i in range(3)]

    def boom(point: str) -> None:
        if point == "body":
            raise RuntimeError("unforeseen")

    with pytest.raises(RuntimeError):
        run(outbox, reached=boom)
    assert {outbox.get(i).state for i in ids} == {NoticeState.PENDING}
    assert all(outbox.get(i).claimed_by is None for i in ids)
    assert outbox.mail.messages() == []


def test_a_message_dropped_after_data_is_uncertain_not_resent(outbox: Outbox) -> None:
    notice_id = outbox.add()
    outbox.mail.drop_after_data()
    report = run(outbox)
    assert [i for i, _ in report.uncertain] == [notice_id]
    notice = outbox.get(notice_id)
    assert notice.state == NoticeState.UNCERTAIN and notice.step == "data"
    # without IMAP a later run leaves it to staff: still one copy
    later = run(outbox, now=NOW + timedelta(hours=2))
    assert later.sent == [] and outbox.get(notice_id).state == NoticeState.UNCERTAIN
    assert len(outbox.mail.messages()) == 1
