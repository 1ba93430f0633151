"""What members said on their page and what we sent them, as staff read it: the review queue's
"Mohon diubah" comment and "Sudah sesuai" badge per post, and on the staff member page the
member's answers, notices and refused or unsubscribed contacts.

Reads only; the answers themselves are made in `ifn_campaign.members.answers`. Each function is
one query whatever the number of posts (the console's pages keep a flat statement count).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.models import MemberAnswer, MemberAnswerKind, Notice, NoticeContact

__all__ = [
    "PostAnswers",
    "member_answers",
    "member_contacts",
    "member_notices",
    "post_answers",
]

CHUNK = 500  # post ids per query, well under every database's bind limit


@dataclass(frozen=True)
class PostAnswers:
    """A post's answers from its member: the latest "Mohon diubah" with its comment and time,
    and whether the member's latest answer is "Sudah sesuai" (the post as it stands is fine)."""

    change_comment: str | None = None
    change_at: datetime | None = None
    fine_at: datetime | None = None  # set only when "fine" is the latest answer

    @property
    def fine(self) -> bool:
        return self.fine_at is not None


def post_answers(session: Session, post_ids: Iterable[int]) -> dict[int, PostAnswers]:
    """The answers of these posts (posts nobody answered are left out): one query per 500."""
    ids = sorted(set(post_ids))
    found: dict[int, PostAnswers] = {}
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(MemberAnswer.post_id, MemberAnswer.kind, MemberAnswer.comment, MemberAnswer.at)
            .where(
                MemberAnswer.post_id.in_(ids[start : start + CHUNK]),  # type: ignore[union-attr]
                MemberAnswer.kind.in_([MemberAnswerKind.FINE, MemberAnswerKind.CHANGE]),  # type: ignore[attr-defined]
            )
            .order_by(MemberAnswer.at, MemberAnswer.id)
        )
        for post_id, kind, comment, at in rows:  # oldest first: the last one wins
            before = found.get(post_id, PostAnswers())
            if kind == MemberAnswerKind.CHANGE:
                found[post_id] = PostAnswers(change_comment=comment, change_at=at)
            else:
                found[post_id] = PostAnswers(before.change_comment, before.change_at, fine_at=at)
    return found


def member_answers(session: Session, member_id: str, limit: int = 50) -> list[MemberAnswer]:
    """The member's answers, newest first."""
    return list(
        session.scalars(
            select(MemberAnswer)
            .where(MemberAnswer.member_id == member_id)
            .order_by(MemberAnswer.at.desc(), MemberAnswer.id.desc())  # type: ignore[attr-defined]
            .limit(limit)
        )
    )


def member_notices(session: Session, member_id: str, limit: int = 50) -> list[Notice]:
    """The notices queued for the member, newest first."""
    return list(
        session.scalars(
            select(Notice)
            .where(Notice.member_id == member_id)
            .order_by(Notice.created_at.desc(), Notice.id.desc())  # type: ignore[attr-defined,union-attr]
            .limit(limit)
        )
    )


def member_contacts(session: Session, member_id: str) -> list[NoticeContact]:
    """The member's contacts the notices cannot use: unsubscribed, or refused by the server."""
    return [
        contact
        for contact in session.scalars(
            select(NoticeContact)
            .where(NoticeContact.member_id == member_id)
            .order_by(NoticeContact.medium)
        )
        if contact.unsubscribed_at is not None or contact.refused_at is not None
    ]
