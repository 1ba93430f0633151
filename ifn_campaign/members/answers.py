"""What a member answers on their own page, and what each answer does at once.

- `answer_fine` ("Sudah sesuai"): recorded for staff; the post goes on as it is.
- `ask_change` ("Mohon diubah", with a comment): the post goes back to the review queue
  (scheduled -> approved through `lifecycle.reopen`, so the platform's copy is replaced; approved
  -> composed; composed stays), the comment is a post event note staff read in the console and
  the CLI, and the post's version moves on so a staff form read before it is refused as stale.
- `withdraw_all` ("Jangan tampilkan saya lagi"): promotion consent withdrawn as of now, through
  `members.withdrawal.withdraw`, in the same transaction as the answer that asked for it.

Each records a `MemberAnswer` (the link, the client address, when) and flushes, never commits:
the page commits once, so a refusal or a crash leaves nothing half done. Answers are rate
limited per link and per client address (`member_page.answers_per_hour`,
`member_page.requests_per_address`); bad links count against the address in the console's
login-failure table (`note_bad_link`, rows named `MEMBER_LINK`), so guessing links is as slow as
guessing passwords. The two limits stay apart: bad links never lock staff sign-in from the same
address (an office NAT), and staff's wrong passwords never lock the member page.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.console.login_limit import MEMBER_LINK, Limit, address_key, record_failure
from ifn_campaign.errors import AnswerRefused, TransitionError
from ifn_campaign.members.withdrawal import MEMBER_PAGE, holding_withdrawal_at, withdraw
from ifn_campaign.models import (
    LoginFailure,
    Member,
    MemberAnswer,
    MemberAnswerKind,
    MemberLink,
    Post,
    PostState,
)
from ifn_campaign.posts.lifecycle import REPLACE_MARGIN, bump_version, move, note, reopen
from ifn_campaign.posts.withdrawal import WithdrawalReport

__all__ = [
    "ANSWERABLE_STATES",
    "BAD_LINK",
    "MAX_COMMENT",
    "WINDOW",
    "address_over_limit",
    "answer_fine",
    "ask_change",
    "member_actor",
    "note_bad_link",
    "withdraw_all",
]

MAX_COMMENT = 2000  # characters in a "Mohon diubah" comment
WINDOW = timedelta(hours=1)  # the rate limits count answers and bad links in this window
BAD_LINK = MEMBER_LINK  # LoginFailure.user_name of a member-page request with a bad link
# what a member sees as upcoming and may answer: composed, signed off, or scheduled on the
# platform; a post being published, out, or cancelled is past answering
ANSWERABLE_STATES = (PostState.COMPOSED, PostState.APPROVED, PostState.SCHEDULED)
_CHANGE_NOTE = "member asked for a change: "


def member_actor(member_id: str) -> str:
    """'member:<id>': how the post event log names a member answering on their page."""
    return f"member:{member_id}"


# --- rate limits -------------------------------------------------------------------------------


def note_bad_link(session: Session, settings: Settings, address: str, *, now: datetime) -> None:
    """Count a request with a bad, expired or revoked link (or unsubscribe token) against the
    client's address, for the member page's limit only: staff sign-in from the same address
    (an office NAT) does not count these rows. The caller commits."""
    record_failure(session, Limit.of(settings.console), BAD_LINK, address, now)


def address_over_limit(
    session: Session, settings: Settings, address: str, *, now: datetime
) -> bool:
    """Whether the client's address (an IPv6 one as its /64) used up its member-page requests in
    the last hour: its answers and its bad links together."""
    key = address_key(address)
    since = now - WINDOW
    answers = session.scalar(
        select(func.count())
        .select_from(MemberAnswer)
        .where(MemberAnswer.address == key, MemberAnswer.at > since)  # type: ignore[operator]
    )
    bad = session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(
            LoginFailure.user_name == BAD_LINK,
            LoginFailure.address == key,
            LoginFailure.at > since,  # type: ignore[operator]
        )
    )
    return (answers or 0) + (bad or 0) >= settings.member_page.requests_per_address


def _check_limits(
    session: Session, settings: Settings, link: MemberLink, address: str, now: datetime
) -> None:
    used = session.scalar(
        select(func.count())
        .select_from(MemberAnswer)
        .where(MemberAnswer.link_id == link.id, MemberAnswer.at > now - WINDOW)  # type: ignore[operator]
    )
    if (used or 0) >= settings.member_page.answers_per_hour:
        raise AnswerRefused(
            f"link {link.id}: {used} answers in the last hour, the most allowed "
            f"(member_page.answers_per_hour); try again later",
            reason="rate_limited",
        )
    if address_over_limit(session, settings, address, now=now):
        raise AnswerRefused(
            "this address made too many member-page requests in the last hour "
            "(member_page.requests_per_address); try again later",
            reason="rate_limited",
        )


# --- the answers -------------------------------------------------------------------------------


def _member_post(session: Session, link: MemberLink, post_id: int, now: datetime) -> Post:
    """The link's member's post `post_id`, still to come and answerable; else `AnswerRefused`
    (another member's post reads as no post at all: the page shows nothing of anyone else)."""
    post = session.get(Post, post_id, populate_existing=True)
    if post is None or post.member_id != link.member_id:
        raise AnswerRefused(f"no post {post_id} of member {link.member_id}", reason="not_found")
    if post.state in (PostState.PUBLISHING, PostState.PUBLISHED):
        raise AnswerRefused(f"post {post_id} is {post.state}: already out", reason="published")
    if post.state not in ANSWERABLE_STATES or post.slot_at <= now:
        raise AnswerRefused(
            f"post {post_id} is {post.state}, its slot {post.slot_at:%Y-%m-%d %H:%M} UTC: "
            "no longer upcoming",
            reason="gone",
        )
    return post


def _answer(
    session: Session,
    link: MemberLink,
    kind: MemberAnswerKind,
    *,
    address: str,
    now: datetime,
    post_id: int | None = None,
    comment: str | None = None,
) -> MemberAnswer:
    answer = MemberAnswer(
        member_id=link.member_id,
        post_id=post_id,
        kind=kind.value,
        comment=comment,
        link_id=link.id,
        address=address_key(address),
        at=now,
    )
    session.add(answer)
    session.flush()
    return answer


def answer_fine(
    session: Session,
    settings: Settings,
    link: MemberLink,
    post_id: int,
    *,
    address: str,
    now: datetime,
) -> MemberAnswer:
    """ "Sudah sesuai": the member is happy with the upcoming post as it is. Flushes."""
    _check_limits(session, settings, link, address, now)
    post = _member_post(session, link, post_id, now)
    return _answer(session, link, MemberAnswerKind.FINE, address=address, now=now, post_id=post.id)


def clean_comment(comment: str) -> str:
    """The comment as kept: trimmed, with Windows line ends as one; refused when empty or
    longer than MAX_COMMENT characters."""
    text = comment.replace("\r\n", "\n").strip()
    if not text:
        raise AnswerRefused("the comment is empty: say what should change", reason="empty")
    if len(text) > MAX_COMMENT:
        raise AnswerRefused(
            f"the comment has {len(text)} characters, {MAX_COMMENT} at most", reason="too_long"
        )
    if "\x00" in text:
        raise AnswerRefused("the comment holds a NUL character", reason="empty")
    return text


def ask_change(
    session: Session,
    settings: Settings,
    link: MemberLink,
    post_id: int,
    comment: str,
    *,
    address: str,
    now: datetime,
) -> MemberAnswer:
    """ "Mohon diubah": the post goes back to review with the member's comment. Flushes; on a
    refusal nothing is changed (the caller rolls back)."""
    text = clean_comment(comment)
    _check_limits(session, settings, link, address, now)
    post = _member_post(session, link, post_id, now)
    actor = member_actor(link.member_id)
    # compare-and-set on the version: a publisher or staff change since the post was read
    # wins, and on PostgreSQL the row stays locked to the end of this transaction
    if not bump_version(session, post, expected=post.version):
        raise AnswerRefused(f"post {post_id} changed just now: reload", reason="changed")
    why = _CHANGE_NOTE + text
    try:
        if post.state == PostState.SCHEDULED:
            reopen(session, post, actor=actor, now=now, why="member asked for a change")
        if post.state == PostState.APPROVED:
            move(session, post, PostState.COMPOSED, actor=actor, now=now, note=why)
        else:
            note(session, post, actor=actor, now=now, text=why)
    except TransitionError as exc:  # scheduled and out within half an hour, or just changed
        late = post.slot_at - now < REPLACE_MARGIN
        raise AnswerRefused(str(exc), reason="too_late" if late else "changed") from None
    return _answer(
        session,
        link,
        MemberAnswerKind.CHANGE,
        address=address,
        now=now,
        post_id=post.id,
        comment=text,
    )


def withdraw_all(
    session: Session, settings: Settings, link: MemberLink, *, address: str, now: datetime
) -> tuple[MemberAnswer, WithdrawalReport]:
    """ "Jangan tampilkan saya lagi": the answer, then the withdrawal it asks for (queued posts
    cancelled, takedowns requested, pending notices dropped), in the caller's transaction.
    Flushes, never commits."""
    member = session.get(Member, link.member_id)
    if member is None:  # a link outlives nothing: its member row is never deleted
        raise AnswerRefused(f"no member {link.member_id}", reason="not_found")
    if holding_withdrawal_at(session, member) is not None:
        raise AnswerRefused(f"member {member.id} withdrew already", reason="withdrawn")
    _check_limits(session, settings, link, address, now)
    answer = _answer(session, link, MemberAnswerKind.WITHDRAW, address=address, now=now)
    report = withdraw(session, link.member_id, source=MEMBER_PAGE, answer_id=answer.id, now=now)
    return answer, report
