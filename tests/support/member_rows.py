"""Rows of issue 19's tables written straight to the database, for tests of what reads or
changes them (a withdrawal dropping pending notices, the staff pages)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ifn_campaign.models import Notice
from tests.support.ledger import EARLIER


def add_notice(session: Session, member_id: str, key: str, state: str) -> int:
    """A 'before' e-mail notice of `member_id` in `state`, its dedupe key and Message-ID from
    `key`."""
    notice = Notice(
        member_id=member_id,
        kind="before",
        medium="email",
        to_address="pemilik@example.test",
        dedupe_key=key,
        message_id=f"<{key}@ifn.test>",
        subject="Profil Anda akan ditampilkan",
        text_body="...",
        state=state,
        next_attempt_at=EARLIER,
        created_at=EARLIER,
        state_changed_at=EARLIER,
    )
    session.add(notice)
    session.flush()
    assert notice.id is not None
    return notice.id
