"""`ifn-campaign notices`: send (the outbox queues a member's notice for an approved post, the
sender delivers it to the mail sandbox, read back), list, resolve an uncertain notice, retry a
failed one; wrong input and our own settings refused are one `error:` line, secrets never
shown."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ifn_campaign.cli import base
from ifn_campaign.cli.app import main
from ifn_campaign.models import Notice, NoticeContact, NoticeState, utcnow
from ifn_sandbox.mail import MailSandbox
from tests.support.notice_outbox import NoticeWorld, make_card, settings_for
from tests.support.notices_delivery import PASSWORD, SECRET_NAME, USER


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[MailSandbox]:
    with MailSandbox(tmp_path / "maildir", user=USER, password=PASSWORD) as sandbox:
        yield sandbox


@pytest.fixture
def world(
    engine: Engine,
    db_url: str,
    tmp_path: Path,
    mail: MailSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> NoticeWorld:
    """The CLI on the test's database, sending to the mail sandbox; settings from IFN_* only."""
    for key in [k for k in os.environ if k.startswith("IFN_")]:
        monkeypatch.delenv(key)
    (tmp_path / "none.toml").write_text("")
    env = {
        "IFN_CONFIG": str(tmp_path / "none.toml"),
        "IFN_DATA_DIR": str(tmp_path),
        "IFN_DATABASE__URL": db_url,
        "IFN_MEMBER_PAGE__BASE_URL": "https://ifn.example.org",
        "IFN_NOTICES__SMTP_HOST": mail.host,
        "IFN_NOTICES__SMTP_PORT": str(mail.smtp_port),
        "IFN_NOTICES__SMTP_SECURITY": "none",
        "IFN_NOTICES__SMTP_USER": USER,
        "IFN_NOTICES__SMTP_PASSWORD_SECRET": SECRET_NAME,
        "IFN_SECRET_SMTP_PASSWORD": PASSWORD,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(base.out, "width", 250)
    monkeypatch.chdir(tmp_path)
    return NoticeWorld(engine, settings_for(db_url, tmp_path), make_card(tmp_path / "cards"))


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["notices", *args])
    got = capsys.readouterr()
    return code, got.out, got.err


def notice_of(world: NoticeWorld, member: str) -> Notice:
    [notice] = [n for n in world.notices() if n.member_id == member and n.medium == "email"]
    return notice


def parts(message: EmailMessage) -> dict[str, EmailMessage]:
    return {part.get_content_type(): part for part in message.walk()}  # type: ignore[misc]


def test_send_queues_and_delivers_the_members_notice(
    world: NoticeWorld, mail: MailSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    member = world.member("m-cli-1")
    world.post(member, slot_at=utcnow() + timedelta(days=2))
    code, out, err = cli(capsys, "send")
    assert code == 0, err
    assert "1 queued" in out and "1 sent" in out
    notice = notice_of(world, member)
    assert notice.state == NoticeState.SENT
    [message] = mail.messages()
    assert message["Message-ID"] == notice.message_id
    assert message["To"] == f"{member}@sepatu.co.id"
    assert message["Subject"] == notice.subject
    assert "Instagram" in notice.subject  # what the outbox wrote, in Indonesian
    found = parts(message)
    text = found["text/plain"].get_content()
    assert "https://ifn.example.org/anggota/" in text
    assert "/anggota/berhenti/" in text and "/anggota/berhenti/" in str(message["List-Unsubscribe"])
    html = found["text/html"].get_content()
    [cid] = [a["cid"] for a in notice.attachments if a.get("cid")]
    assert f"cid:{cid.strip('<>')}" in html
    [card] = [p for p in message.walk() if p["Content-ID"]]
    assert card["Content-ID"].strip("<>") == cid.strip("<>")
    assert card.get_content() == world.card.read_bytes()
    # listed as sent; a second send sends nothing more
    code, out, _ = cli(capsys, "list")
    assert code == 0 and f"{notice.id}" in out and "sent" in out
    code, out, _ = cli(capsys, "send")
    assert code == 0 and "0 queued" in out and "0 sent" in out
    assert len(mail.messages()) == 1


def test_resolve_an_uncertain_notice(
    world: NoticeWorld, mail: MailSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    member = world.member("m-cli-2")
    world.post(member, slot_at=utcnow() + timedelta(days=2))
    mail.drop_after_data()
    code, out, _ = cli(capsys, "send")
    assert code == 0 and "uncertain" in out
    notice = notice_of(world, member)
    assert notice.state == NoticeState.UNCERTAIN
    code, out, _ = cli(capsys, "list", "--state", "uncertain")
    assert str(notice.id) in out and "notices resolve ID --sent" in out
    code, _, err = cli(capsys, "resolve", str(notice.id))
    assert code == 1 and "error: say --sent or --not-sent" in err
    code, _, err = cli(capsys, "resolve", str(notice.id), "--sent", "--not-sent")
    assert code == 1 and "one of them" in err
    code, out, _ = cli(capsys, "resolve", str(notice.id), "--sent")
    assert code == 0 and f"notice {notice.id} marked sent" in out
    assert notice_of(world, member).state == NoticeState.SENT
    code, _, err = cli(capsys, "resolve", str(notice.id), "--not-sent")
    assert code == 1 and "is sent, not uncertain: nothing changed" in err
    code, _, err = cli(capsys, "resolve", "999999", "--sent")
    assert code == 1 and "no notice 999999" in err
    assert len(mail.messages()) == 1


def test_resolve_not_sent_sends_it_again_with_its_message_id(
    world: NoticeWorld, mail: MailSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    member = world.member("m-cli-3")
    world.post(member, slot_at=utcnow() + timedelta(days=2))
    world.queue(now=utcnow())
    notice = notice_of(world, member)
    world.mark(notice.id, NoticeState.UNCERTAIN)  # cut off; staff found nothing in the mailbox
    code, out, _ = cli(capsys, "resolve", str(notice.id), "--not-sent")
    assert code == 0 and "same Message-ID" in out
    code, out, _ = cli(capsys, "send")
    assert code == 0 and "1 sent" in out
    [message] = mail.messages()
    assert message["Message-ID"] == notice.message_id


def test_a_refused_address_is_shown_and_retry_lifts_it(
    world: NoticeWorld, mail: MailSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    member = world.member("m-cli-4")
    world.post(member, slot_at=utcnow() + timedelta(days=2))
    mail.fail_next(550, at="rcpt")
    code, out, _ = cli(capsys, "send")
    assert code == 0 and "address refused" in out and "550" in out
    notice = notice_of(world, member)
    assert notice.state == NoticeState.FAILED
    code, out, _ = cli(capsys, "list", "--state", "failed")
    assert f"{member}@sepatu.co.id refused" in out
    code, _, err = cli(capsys, "retry", "999999")
    assert code == 1 and "no notice 999999" in err
    code, out, _ = cli(capsys, "retry", str(notice.id))
    assert code == 0 and "refusal" in out and "lifted" in out
    with world.session() as session:
        contact = session.get(NoticeContact, (member, "email"))
        assert contact is not None and contact.refused_address is None
    code, out, _ = cli(capsys, "send")
    assert code == 0 and "1 sent" in out
    assert len(mail.messages()) == 1
    code, _, err = cli(capsys, "retry", str(notice.id))
    assert code == 1 and "is sent, not failed" in err


def test_send_now_tries_a_notice_waiting_for_its_next_try(
    world: NoticeWorld, mail: MailSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    member = world.member("m-cli-5")
    world.post(member, slot_at=utcnow() + timedelta(days=2))
    mail.fail_next(451, at="rcpt")
    code, out, _ = cli(capsys, "send")
    assert code == 0 and "will be retried" in out
    code, out, _ = cli(capsys, "send")
    assert code == 0 and "0 sent" in out  # its next try is a minute away
    code, out, _ = cli(capsys, "send", "--now")
    assert code == 0 and "1 sent" in out
    assert len(mail.messages()) == 1


def test_our_settings_refused_is_one_error_line_without_the_password(
    world: NoticeWorld,
    mail: MailSandbox,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    member = world.member("m-cli-6")
    world.post(member, slot_at=utcnow() + timedelta(days=2))
    wrong = "Not-the-Pa55word"
    monkeypatch.setenv("IFN_SECRET_SMTP_PASSWORD", wrong)
    code, out, err = cli(capsys, "send")
    assert code == 1
    assert err.startswith("error: ") and "refused the login of notices.smtp_user" in err
    assert wrong not in out + err and PASSWORD not in out + err
    assert notice_of(world, member).state == NoticeState.PENDING  # kept for the next run
    assert mail.messages() == []


def test_list_says_why_email_waits_without_an_smtp_host(
    world: NoticeWorld, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    member = world.member("m-cli-7")
    world.post(member, slot_at=utcnow() + timedelta(days=2))
    monkeypatch.delenv("IFN_NOTICES__SMTP_HOST")
    code, out, _ = cli(capsys, "send")
    assert code == 0 and "1 queued" in out and "0 sent" in out
    assert "e-mail notices wait: notices.smtp_host is not set" in out
    code, out, _ = cli(capsys, "list")
    assert code == 0 and "1 pending" in out
    assert "e-mail notices wait: notices.smtp_host is not set" in out
    assert "Apprise" not in out  # no Apprise notice is waiting


def test_list_refuses_an_unknown_state(
    world: NoticeWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "list", "--state", "gone")
    assert code == 1 and "unknown state 'gone'" in err and "uncertain" in err
    code, out, _ = cli(capsys, "list")
    assert code == 0 and "no notices yet" in out


def test_a_mail_server_not_found_is_an_error_and_status_says_what_waits(
    world: NoticeWorld, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mistyped host: `notices send` ends in one error line naming the setting (exit 1, not
    "0 sent"); once the notice has waited `notices.overdue_minutes`, `notices list` and
    `ifn-campaign status` say how many wait, since when and why, never the password."""
    member = world.member("m-cli-away")
    world.post(member, slot_at=utcnow() + timedelta(days=2))
    monkeypatch.setenv("IFN_NOTICES__SMTP_HOST", "smtp.gmial.invalid")  # never resolves
    monkeypatch.setenv("IFN_NOTICES__SMTP_SECURITY", "starttls")
    code, out, err = cli(capsys, "send")
    assert code == 1, out + err
    assert "error: the mail server could not be used: SMTP server smtp.gmial.invalid:" in err
    assert "check notices.smtp_host" in err
    notice = notice_of(world, member)
    assert (notice.state, notice.attempts) == (NoticeState.PENDING, 0)
    code, out, _ = cli(capsys, "list")
    assert code == 0 and "waiting too long" not in out  # queued just now
    with world.session() as session:  # as if queued two hours ago
        row = session.get(Notice, notice.id)
        assert row is not None
        row.created_at -= timedelta(hours=2)
        session.commit()
    code, out, _ = cli(capsys, "list")
    flat = " ".join(out.split())
    assert "1 notice(s) waiting too long (more than 60 minutes; the oldest queued" in flat
    assert "smtp.gmial.invalid is not known" in flat and PASSWORD not in out
    code = main(["status"])
    flat = " ".join(capsys.readouterr().out.split())
    assert code == 0 and "1 notice(s) waiting too long" in flat
