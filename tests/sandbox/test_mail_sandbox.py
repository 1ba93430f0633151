"""The mail sandbox over real loopback sockets, as the notice sender and imaplib see it: what it
stores, its login, each injected fault, the IMAP search of the Sent folder, and hostile input."""

from __future__ import annotations

import imaplib
import mailbox
import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from ifn_sandbox.mail import MailSandbox

USER, PASSWORD = "ifn@bpipi.id", "sandbox-mail-password"


def _message(message_id: str, subject: str = "Profil Anda akan ditampilkan") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Indonesia Footwear Network (BPIPI) <ifn@bpipi.id>"
    message["To"] = "Sepatu Maju <owner@sepatu-maju.id>"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content("Halo, profil Anda akan ditampilkan.\n")
    message.add_alternative("<p>Halo, profil Anda <b>akan</b> ditampilkan.</p>", subtype="html")
    return message


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[MailSandbox]:
    with MailSandbox(tmp_path / "mail", user=USER, password=PASSWORD) as sandbox:
        yield sandbox


def _smtp(mail: MailSandbox, *, login: bool = True) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", mail.smtp_port, timeout=10)
    if login:
        client.login(USER, PASSWORD)
    return client


def _imap(mail: MailSandbox) -> imaplib.IMAP4:
    client = imaplib.IMAP4("127.0.0.1", mail.imap_port, timeout=10)
    client.login(USER, PASSWORD)
    return client


def test_accepted_messages_are_filed_whole_in_the_maildir(mail: MailSandbox) -> None:
    with _smtp(mail) as client:
        client.send_message(_message("<one@ifn.test>"))
        client.send_message(_message("<two@ifn.test>", subject="Profil Anda sudah tayang"))
    got = mail.messages()
    assert [m["Message-ID"] for m in got] == ["<one@ifn.test>", "<two@ifn.test>"]
    assert got[1]["Subject"] == "Profil Anda sudah tayang"
    plain = got[0].get_body(("plain",))
    html = got[0].get_body(("html",))
    assert plain is not None and "akan ditampilkan" in plain.get_content()
    assert html is not None and "<b>akan</b>" in html.get_content()
    box = mailbox.Maildir(mail.maildir, create=False)  # what any Maildir reader sees
    assert sorted(m["Message-ID"] for m in box) == ["<one@ifn.test>", "<two@ifn.test>"]
    assert not list((mail.maildir / "tmp").iterdir())  # nothing half-written left behind


def test_sending_needs_the_right_login(mail: MailSandbox) -> None:
    with _smtp(mail, login=False) as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.send_message(_message("<anon@ifn.test>"))
        assert refused.value.smtp_code == 530
    with _smtp(mail, login=False) as client, pytest.raises(smtplib.SMTPAuthenticationError):
        client.login(USER, "wrong-password")
    with _smtp(mail, login=False) as client, pytest.raises(smtplib.SMTPAuthenticationError):
        client.login("someone@else.id", PASSWORD)
    with _smtp(mail, login=False) as client:  # AUTH LOGIN, as some clients prefer
        client.ehlo()
        client.user, client.password = USER, PASSWORD
        client.auth("LOGIN", client.auth_login, initial_response_ok=False)
    assert mail.messages() == []


def test_without_credentials_no_login_is_asked(tmp_path: Path) -> None:
    with MailSandbox(tmp_path / "open") as mail:
        with _smtp(mail, login=False) as client:
            client.send_message(_message("<open@ifn.test>"))
        with _smtp(mail) as client:  # a client set up with a login may still give it
            client.send_message(_message("<login@ifn.test>"))
        ids = [m["Message-ID"] for m in mail.messages()]
        assert ids == ["<open@ifn.test>", "<login@ifn.test>"]
        assert [bytes(m) for m in mail.messages()] != []
        assert all(raw.startswith(b"From: ") for raw in mail.raw_messages())
        imap = imaplib.IMAP4("127.0.0.1", mail.imap_port, timeout=10)
        assert imap.state == "AUTH"  # PREAUTH: nothing to log in with
        assert imap.select("Sent") == ("OK", [b"2"])
        imap.logout()


def test_a_temporary_refusal_then_success(mail: MailSandbox) -> None:
    mail.fail_next(451, times=2)
    with _smtp(mail) as client:
        for _ in range(2):
            with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
                client.send_message(_message("<retry@ifn.test>"))
            assert refused.value.recipients["owner@sepatu-maju.id"][0] == 451
        client.send_message(_message("<retry@ifn.test>"))
    assert [m["Message-ID"] for m in mail.messages()] == ["<retry@ifn.test>"]


def test_no_such_user_is_refused_for_good(mail: MailSandbox) -> None:
    mail.fail_next(550, at="rcpt")
    with _smtp(mail) as client, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        client.send_message(_message("<gone@ifn.test>"))
    code, reply = refused.value.recipients["owner@sepatu-maju.id"]
    assert code == 550 and b"No such user" in reply
    assert mail.messages() == []


def test_refusals_at_mail_and_at_data(mail: MailSandbox) -> None:
    mail.fail_next(451, at="mail")
    mail.fail_next(554, at="data")
    with _smtp(mail) as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as sender:
            client.send_message(_message("<mail@ifn.test>"))
        assert sender.value.smtp_code == 451
        with pytest.raises(smtplib.SMTPDataError) as data:
            client.send_message(_message("<data@ifn.test>"))
        assert data.value.smtp_code == 554
        assert mail.messages() == []  # a refused DATA stores nothing
        client.send_message(_message("<third@ifn.test>"))
    assert [m["Message-ID"] for m in mail.messages()] == ["<third@ifn.test>"]


def test_bad_fault_arguments_are_refused(mail: MailSandbox) -> None:
    with pytest.raises(ValueError, match="4xx or 5xx"):
        mail.fail_next(250)
    with pytest.raises(ValueError, match="one of"):
        mail.fail_next(451, at="helo")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 1"):
        mail.drop_after_data(0)


def test_a_drop_after_data_stores_the_message_and_leaves_the_sender_unsure(
    mail: MailSandbox,
) -> None:
    mail.drop_after_data()
    client = _smtp(mail)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        client.send_message(_message("<unsure@ifn.test>"))
    client.close()
    assert [m["Message-ID"] for m in mail.messages()] == ["<unsure@ifn.test>"]
    with _smtp(mail) as again:  # one drop only: the next connection gets its 250
        again.send_message(_message("<after@ifn.test>"))
    assert len(mail.messages()) == 2


def test_imap_search_finds_a_sent_message_id_and_not_an_unknown_one(mail: MailSandbox) -> None:
    with _smtp(mail) as client:
        client.send_message(_message("<first@ifn.test>"))
        client.send_message(_message("<sent@ifn.test>"))
    imap = _imap(mail)
    try:
        typ, data = imap.select("Sent")
        assert (typ, data) == ("OK", [b"2"])
        assert imap.search(None, "HEADER", "Message-ID", "<sent@ifn.test>") == ("OK", [b"2"])
        assert imap.uid("SEARCH", "HEADER", "Message-ID", '"<sent@ifn.test>"') == ("OK", [b"2"])
        assert imap.search(None, "HEADER", "Message-ID", "<never@ifn.test>") == ("OK", [b""])
        assert imap.search("UTF-8", "HEADER", "Message-ID", "<first@ifn.test>") == ("OK", [b"1"])
        with _smtp(mail) as client:  # arrives while the folder is selected
            client.send_message(_message("<later@ifn.test>"))
        assert imap.noop()[0] == "OK"
        assert imap.search(None, "HEADER", "Message-ID", "<later@ifn.test>") == ("OK", [b"3"])
    finally:
        imap.logout()


def test_imap_examine_and_folder_names(tmp_path: Path) -> None:
    folder = "[Gmail]/Sent Mail"
    with MailSandbox(tmp_path / "mail", user=USER, password=PASSWORD, sent_folder=folder) as mail:
        imap = _imap(mail)
        try:
            assert imap.select('"[Gmail]/Sent Mail"', readonly=True) == ("OK", [b"0"])
            assert imap.select("INBOX")[0] == "NO"
        finally:
            imap.logout()


def test_imap_bad_login_is_no(mail: MailSandbox) -> None:
    imap = imaplib.IMAP4("127.0.0.1", mail.imap_port, timeout=10)
    try:
        with pytest.raises(imaplib.IMAP4.error, match="Invalid credentials"):
            imap.login(USER, "wrong")
        imap.login(USER, PASSWORD)
        assert imap.state == "AUTH"
    finally:
        imap.logout()


def test_imap_anything_else_is_bad(mail: MailSandbox) -> None:
    imap = _imap(mail)
    try:
        imap.select("Sent")
        with pytest.raises(imaplib.IMAP4.error, match="only SEARCH"):
            imap.search(None, "BODY", "hello")
        with pytest.raises(imaplib.IMAP4.error):
            imap.fetch("1", "(RFC822)")
        with pytest.raises(imaplib.IMAP4.error):
            imap.store("1", "+FLAGS", r"(\Deleted)")
        assert imap.noop()[0] == "OK"  # still serving
    finally:
        imap.logout()


def _raw(port: int, lines: list[bytes], *, read: int = 4096) -> bytes:
    """Send `lines` on a raw connection and return all the server said until it closed or
    went quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        for line in lines:
            conn.sendall(line)
        conn.shutdown(socket.SHUT_WR)
        said = b""
        try:
            while chunk := conn.recv(read):
                said += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return said


def test_hostile_imap_input_is_answered_and_the_server_keeps_serving(mail: MailSandbox) -> None:
    huge = _raw(mail.imap_port, [b"a1 LOGIN " + b"x" * 100_000 + b" y\r\n"])
    assert b"BYE line too long" in huge
    garbage = _raw(
        mail.imap_port,
        [
            b"\x00\xff\xfe garbage\r\n",
            b"\r\n",
            b'a2 LOGIN "unterminated\r\n',
            b"a3 LOGIN {5}\r\n",
            b'a4 LOGIN "a\\x" b\r\n',
            b"a5 SEARCH HEADER Message-ID <x>\r\n",  # before a login
            b"a6 CAPABILITY extra\r\n",
            b"a7 LOGOUT\r\n",
        ],
    )
    assert garbage.count(b" BAD ") == 7
    assert b"a7 OK LOGOUT completed" in garbage
    flood = _raw(mail.imap_port, [b"t%d FOO\r\n" % n for n in range(50)])
    assert b"BYE too many bad commands" in flood
    imap = _imap(mail)  # and it still answers
    assert imap.select("Sent")[0] == "OK"
    imap.logout()


def test_hostile_smtp_input_is_answered_and_the_server_keeps_serving(mail: MailSandbox) -> None:
    said = _raw(
        mail.smtp_port,
        [b"EHLO x\r\n", b"MAIL FROM:<" + b"a" * 100_000 + b">\r\n", b"\xff\xfe\r\n", b"QUIT\r\n"],
    )
    assert said.startswith(b"220 ")
    assert b"500 " in said  # the line too long, answered
    with _smtp(mail) as client:
        client.send_message(_message("<still@ifn.test>"))
    assert [m["Message-ID"] for m in mail.messages()] == ["<still@ifn.test>"]


def test_only_loopback_and_ports_freed_on_stop(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="loopback only"):
        MailSandbox(tmp_path / "m", host="0.0.0.0")
    with pytest.raises(ValueError, match="both user and password"):
        MailSandbox(tmp_path / "m", user="only-a-user")
    mail = MailSandbox(tmp_path / "m").start()
    smtp_port, imap_port = mail.smtp_port, mail.imap_port
    assert smtp_port and imap_port and smtp_port != imap_port
    idle = socket.create_connection(("127.0.0.1", imap_port), timeout=5)  # an open connection
    mail.stop()
    idle.close()
    again = MailSandbox(tmp_path / "m", smtp_port=smtp_port, imap_port=imap_port).start()
    again.stop()


def test_senders_at_once_are_each_filed(mail: MailSandbox) -> None:
    def send(n: int) -> None:
        with _smtp(mail) as client:
            for i in range(5):
                client.send_message(_message(f"<burst-{n}-{i}@ifn.test>"))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    ids = [m["Message-ID"] for m in mail.messages()]
    assert len(ids) == 30 and len(set(ids)) == 30
    assert len(list((mail.maildir / "new").iterdir())) == 30


@pytest.mark.slow
def test_the_command_serves_until_ctrl_c(tmp_path: Path) -> None:
    """`ifn-campaign sandbox mail`: says where it listens and where mail goes, takes mail, and
    Ctrl+C stops it."""
    exe = Path(sys.executable).parent / "ifn-campaign"
    maildir = tmp_path / "mail"
    ports_0 = ["--smtp-port", "0", "--imap-port", "0"]
    proc = subprocess.Popen(
        [str(exe), "sandbox", "mail", "--maildir", str(maildir), *ports_0],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        ports = re.search(r"SMTP on 127\.0\.0\.1:(\d+), IMAP on 127\.0\.0\.1:(\d+)", line)
        assert ports is not None, line
        assert str(maildir.resolve()) in line
        smtp_port, imap_port = int(ports.group(1)), int(ports.group(2))
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
            client.send_message(_message("<cli@ifn.test>"))
        imap = imaplib.IMAP4("127.0.0.1", imap_port, timeout=10)
        assert imap.select("Sent") == ("OK", [b"1"])
        imap.logout()
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "stopped" in rest
    assert len(list((maildir / "new").iterdir())) == 1
