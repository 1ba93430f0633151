"""SIGKILL the sender mid-send: the sender runs in a child process configured only by IFN_*
variables (as production), killed at a chosen point of a send; the mail sandbox (SMTP and
IMAP on loopback) lives in the test process and outlives it. After the lease passes, reruns
must leave exactly one copy in the mailbox:

- killed after the body, before the step is committed: the server never saw the end of the
  message and discarded it; the rerun sends it (one copy);
- killed after the step, before the end went out: uncertain; not in the Sent folder, so sent
  again with the same Message-ID (one copy);
- killed after the server took it, before it was marked: uncertain, never resent without an
  answer; with IMAP it is found by its Message-ID and marked sent (one copy).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from ifn_campaign.models import Notice, NoticeState
from tests.support.crash import CRASH_ENV, run_script
from tests.support.notices_delivery import (
    MEMBER_PAGE_SECRET,
    PASSWORD,
    SECRET_NAME,
    USER,
    Outbox,
    open_outbox,
)

pytestmark = pytest.mark.slow
LEASE = 900
SCRIPT = f"""
import dataclasses, json, os, signal
from sqlalchemy.orm import Session
from ifn_campaign import store
from ifn_campaign.config import load_settings
from ifn_campaign.models import utcnow
from ifn_campaign.notices.delivery import send_due
from ifn_campaign.secrets import Secrets

CRASH_AT = os.environ.get({CRASH_ENV!r})


def reached(point):
    if point == CRASH_AT:
        os.kill(os.getpid(), signal.SIGKILL)


settings = load_settings()
engine = store.open_store(settings.database.url)
with Session(engine) as session:
    report = send_due(session, settings, secrets=Secrets(), now=utcnow(), reached=reached)
print(json.dumps(dataclasses.asdict(report)))
"""


@pytest.fixture
def outbox(db_url: str, tmp_path: Path) -> Iterator[Outbox]:
    with open_outbox(db_url, tmp_path, members=2) as made:
        yield made


def sender(outbox: Outbox, crash_at: str | None = None, *, imap: bool = False) -> str:
    """Run the sender in a child process; its stdout (the report) when it was not killed."""
    (outbox.folder / "none.toml").write_text("")
    mail = outbox.mail
    env = {k: v for k, v in os.environ.items() if not k.startswith("IFN_")}
    env |= {
        "IFN_CONFIG": str(outbox.folder / "none.toml"),
        "IFN_DATA_DIR": str(outbox.folder),
        "IFN_DATABASE__URL": outbox.settings.database.url,
        "IFN_MEMBER_PAGE__SECRET": MEMBER_PAGE_SECRET,
        "IFN_NOTICES__SMTP_HOST": mail.host,
        "IFN_NOTICES__SMTP_PORT": str(mail.smtp_port),
        "IFN_NOTICES__SMTP_SECURITY": "none",
        "IFN_NOTICES__SMTP_USER": USER,
        "IFN_NOTICES__SMTP_PASSWORD_SECRET": SECRET_NAME,
        "IFN_NOTICES__LEASE_SECONDS": str(LEASE),
        "IFN_SECRET_SMTP_PASSWORD": PASSWORD,
    }
    if imap:
        env |= {
            "IFN_NOTICES__IMAP_HOST": mail.host,
            "IFN_NOTICES__IMAP_PORT": str(mail.imap_port),
            "IFN_NOTICES__IMAP_SECURITY": "none",
        }
    if crash_at:
        env[CRASH_ENV] = crash_at
    done = run_script(SCRIPT, env, outbox.folder)
    if crash_at:
        assert done.returncode == -9, (done.returncode, done.stdout, done.stderr[-3000:])
    else:
        assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def lapse(outbox: Outbox, notice_id: int) -> None:
    """The lease passes: the killed sender's claim is older than lease_seconds."""
    with Session(outbox.engine) as session:
        notice = session.get(Notice, notice_id)
        assert notice is not None and notice.claimed_at is not None
        notice.claimed_at -= timedelta(seconds=LEASE + 5)
        session.commit()


def copies(outbox: Outbox, notice_id: int) -> int:
    message_id = outbox.get(notice_id).message_id
    return sum(1 for m in outbox.mail.messages() if m["Message-ID"] == message_id)


def test_killed_after_the_body_before_the_step_sends_once(outbox: Outbox) -> None:
    notice_id = outbox.add()
    sender(outbox, "body")
    notice = outbox.get(notice_id)
    assert (notice.state, notice.step) == (NoticeState.SENDING, None)
    assert copies(outbox, notice_id) == 0  # the end never came: discarded
    sender(outbox)  # within the lease: the claim is left alone
    assert outbox.get(notice_id).state == NoticeState.SENDING
    lapse(outbox, notice_id)
    sender(outbox)
    assert outbox.get(notice_id).state == NoticeState.SENT
    assert copies(outbox, notice_id) == 1


def test_killed_after_the_step_before_the_end_is_looked_up_then_sent_once(
    outbox: Outbox,
) -> None:
    notice_id = outbox.add()
    sender(outbox, "step")
    assert outbox.get(notice_id).step == "data"
    assert copies(outbox, notice_id) == 0
    lapse(outbox, notice_id)
    sender(outbox)  # no IMAP: uncertain, for staff; nothing sent blindly
    assert outbox.get(notice_id).state == NoticeState.UNCERTAIN
    assert copies(outbox, notice_id) == 0
    sender(outbox, imap=True)  # not in the Sent folder: sent again, same Message-ID
    assert outbox.get(notice_id).state == NoticeState.SENT
    assert copies(outbox, notice_id) == 1


def test_killed_after_the_server_took_it_is_never_sent_twice(outbox: Outbox) -> None:
    notice_id = outbox.add()
    other = outbox.add(outbox.members[1], to_address="lain@contoh.id")
    sender(outbox, "dot")
    notice = outbox.get(notice_id)
    assert (notice.state, notice.step) == (NoticeState.SENDING, "data")
    assert copies(outbox, notice_id) == 1
    assert outbox.get(other).state == NoticeState.SENDING  # claimed in the same batch
    sender(outbox)  # within the lease both claims are left alone
    assert copies(outbox, notice_id) == 1 and len(outbox.mail.messages()) == 1
    lapse(outbox, notice_id)
    lapse(outbox, other)
    for _ in range(2):  # without IMAP: uncertain, and it stays so; the other one goes
        sender(outbox)
        assert outbox.get(other).state == NoticeState.SENT
        assert outbox.get(notice_id).state == NoticeState.UNCERTAIN
        assert copies(outbox, notice_id) == 1
    sender(outbox, imap=True)  # found by its Message-ID
    notice = outbox.get(notice_id)
    assert notice.state == NoticeState.SENT and "Sent folder" in (notice.last_error or "")
    assert copies(outbox, notice_id) == 1
    assert len(outbox.mail.messages()) == 2
