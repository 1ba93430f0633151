"""Failures and takedowns: posts that wait for staff (failed, missed, needs re-authorisation)
with the platform's reason and the next step, accounts to re-authorise, and published posts to
take down by hand after a consent withdrawal.

Every action is the library function the CLI command calls (`posts.actions`, `posts.withdrawal`):
retry is `approve` again, then `move_post`, `cancel`, `publish_now` (missed posts),
`reauthorise` (`accounts reauthorised`) and `mark_taken_down` (`takedowns done`). A refusal comes
back as a message in the CLI's words; nothing is changed then.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ifn_campaign.channels.channel import Channel
from ifn_campaign.console.i18n import Formats
from ifn_campaign.console.pages.calendar import parse_local_time
from ifn_campaign.console.pages.today import translator
from ifn_campaign.console.web import (
    DB,
    Act,
    ApproverAct,
    EditorAct,
    PostId,
    Viewer,
    done,
    render,
    state,
)
from ifn_campaign.errors import IFNError
from ifn_campaign.models import Post
from ifn_campaign.posts import actions, withdrawal

__all__ = ["PAGE_SIZE", "router"]

router = APIRouter()

PAGE_SIZE = 50
T = TypeVar("T")


@router.get("/failures")
def failures(request: Request, staff: Viewer, session: DB, page: int = 1) -> Response:
    console = state(request)
    counts = actions.needs_staff_counts(session)
    total = sum(counts.values())
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    now = console.clock()
    return render(
        request,
        staff,
        "console/failures.html.j2",
        page=page,
        pages=pages,
        total=total,
        counts=counts,
        posts=actions.needs_staff(session, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE),
        movable=[s.value for s in actions.MOVABLE_STATES],
        min_at=f"{now.astimezone(console.zone):%Y-%m-%dT%H:%M}",
        reauth=actions.accounts_awaiting_reauth(session),
        takedowns=withdrawal.takedowns(session),
    )


def _back(act: Act, anchor: str = "") -> str:
    """The page of the list the form was on."""
    page = act.text("page")
    query = f"?page={page}" if page.isdigit() and page != "1" else ""
    return f"/failures{query}{anchor}"


def _version(act: Act) -> int:
    """The post's version the page was read at (every post form carries it)."""
    found = act.ints("version")
    if len(found) != 1:
        raise HTTPException(status_code=400, detail="version: one number")
    return found[0]


def _act(
    request: Request,
    act: Act,
    session: Session,
    change: Callable[[], T],
    message: Callable[[T], str],
    anchor: str = "",
) -> Response:
    """Do one change and commit it, then back to the list with `message` of its result; a
    refusal (the library rolled its work back) goes back as the error, in the library's words."""
    try:
        result = change()
        session.commit()
    except IFNError as exc:
        session.rollback()
        return done(request, _back(act, anchor), ("error", str(exc)))
    return done(request, _back(act, anchor), ("ok", message(result)))


@router.post("/failures/{post_id}/retry")
def retry(request: Request, post_id: PostId, act: ApproverAct, session: DB) -> Response:
    """Approve a failed (or missed, or re-authorised) post again: the publisher tries anew."""
    console = state(request)
    _ = translator(act.staff)
    version = _version(act)
    return _act(
        request,
        act,
        session,
        lambda: actions.approve(
            session,
            [post_id],
            actor=act.staff.actor,
            now=console.clock(),
            settings=console.settings,
            versions={post_id: version},
        ),
        lambda _posts: _("Post %(id)s approved again: the next publish run sends it.", id=post_id),
        f"#post-{post_id}",
    )


@router.post("/failures/{post_id}/publish-now")
def publish_now(request: Request, post_id: PostId, act: ApproverAct, session: DB) -> Response:
    """A missed post goes out at the next publish run; its slot keeps its time."""
    console = state(request)
    _ = translator(act.staff)
    version = _version(act)
    return _act(
        request,
        act,
        session,
        lambda: actions.publish_now(
            session,
            [post_id],
            actor=act.staff.actor,
            now=console.clock(),
            settings=console.settings,
            versions={post_id: version},
        ),
        lambda _posts: _("Post %(id)s goes out at the next publish run.", id=post_id),
        f"#post-{post_id}",
    )


@router.post("/failures/{post_id}/move")
def move(request: Request, post_id: PostId, act: EditorAct, session: DB) -> Response:
    """Move a post to a new time typed in the display zone (a missed post goes out then)."""
    console = state(request)
    _ = translator(act.staff)
    version = _version(act)
    typed = act.text("at")

    def change() -> Post:
        return actions.move_post(
            session,
            post_id,
            parse_local_time(typed, console.zone),
            actor=act.staff.actor,
            now=console.clock(),
            settings=console.settings,
            version=version,
        )

    return _act(
        request,
        act,
        session,
        change,
        lambda post: _(
            "Post %(id)s moved to %(at)s.",
            id=post_id,
            at=Formats(act.staff.language, console.zone).when(post.slot_at),
        ),
        f"#post-{post_id}",
    )


@router.post("/failures/{post_id}/cancel")
def cancel(request: Request, post_id: PostId, act: ApproverAct, session: DB) -> Response:
    """Cancel a post with the reason typed (kept on the post)."""
    console = state(request)
    _ = translator(act.staff)
    version = _version(act)
    reason = act.text("reason").strip()
    if not reason:
        return done(
            request,
            _back(act, f"#post-{post_id}"),
            ("error", _("Give a reason (it is kept on the post).")),
        )
    return _act(
        request,
        act,
        session,
        lambda: actions.cancel(
            session,
            [post_id],
            reason=reason,
            actor=act.staff.actor,
            now=console.clock(),
            settings=console.settings,
            versions={post_id: version},
        ),
        lambda _posts: _("Post %(id)s cancelled.", id=post_id),
        f"#post-{post_id}",
    )


@router.post("/failures/reauthorised")
def reauthorised(request: Request, act: ApproverAct, session: DB) -> Response:
    """`accounts reauthorised`: the account's new token is stored, publish to it again."""
    console = state(request)
    _ = translator(act.staff)
    channel, account = act.text("channel"), act.text("account")
    if channel not in set(Channel):  # the page sends one of ours; anything else is forged
        raise HTTPException(status_code=400, detail=f"channel: one of {', '.join(Channel)}")
    return _act(
        request,
        act,
        session,
        lambda: actions.reauthorise(
            session, channel, account, actor=act.staff.actor, now=console.clock()
        ),
        lambda waiting: _(
            "%(account)s re-authorised; %(n)s post(s) approved again.",
            account=f"{channel}/{account}",
            n=waiting,
        ),
        "#reauth",
    )


@router.post("/failures/takedowns/{post_id}/done")
def taken_down(request: Request, post_id: PostId, act: ApproverAct, session: DB) -> Response:
    """`takedowns done`: staff took the published post down by hand."""
    console = state(request)
    _ = translator(act.staff)
    return _act(
        request,
        act,
        session,
        lambda: withdrawal.mark_taken_down(session, post_id, console.clock()),
        lambda marked: (
            _("Post %(id)s marked as taken down.", id=post_id)
            if marked[1]
            else _("Post %(id)s was already marked as taken down.", id=post_id)
        ),
        "#takedowns",
    )
