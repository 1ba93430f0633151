"""The review queue: every post awaiting approval with a preview that looks like its network, why
its member was picked, the notes compose left and the member's consent; and what staff do to
them (approve one or a selection, reject, cancel, edit the caption, move).

A thin door like `ifn-campaign review`/`approve`/...: each action calls the same function in
`ifn_campaign.posts.actions` with the `version` the form was read at, and a refusal (the CLI's
words) comes back on the page with what staff typed kept in the form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.captions.rules import Limits, hashtags_in, mentions_in, utf8_bytes
from ifn_campaign.channels.channel import Channel
from ifn_campaign.console.i18n import Formats, translations
from ifn_campaign.console.pages.calendar import parse_local_time
from ifn_campaign.console.pages.media import Preview, preview
from ifn_campaign.console.web import (
    DB,
    Act,
    ApproverAct,
    Editor,
    EditorAct,
    PostId,
    Staff,
    Viewer,
    done,
    render,
    state,
    whole_number,
)
from ifn_campaign.errors import ConflictError, IFNError
from ifn_campaign.members.feedback import PostAnswers, post_answers
from ifn_campaign.models import Member, Post, StaffRole
from ifn_campaign.posts import actions
from ifn_campaign.registry.consent import ConsentState, consent_at, consents_to

__all__ = [
    "PAGE_SIZE",
    "ChannelConsent",
    "Consent",
    "Counter",
    "QueueItem",
    "consent_of",
    "counters",
    "router",
]

router = APIRouter()

PAGE_SIZE = 50
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and shows


@dataclass(frozen=True)
class ChannelConsent:
    channel: str
    given: bool  # consent in force now and given for this channel


@dataclass(frozen=True)
class Consent:
    """A member's consent as staff read it: its state now, when, and per channel."""

    state: str  # a ConsentState value
    granted_at: datetime | None
    withdrawn_at: datetime | None
    channels: tuple[ChannelConsent, ...]


def consent_of(member: Member, now: datetime) -> Consent:
    """The member's consent at `now`, through the one rule (registry/consent.py)."""
    return Consent(
        state=consent_at(member, now).value,
        granted_at=member.consent_granted_at,
        withdrawn_at=member.consent_withdrawn_at,
        channels=tuple(
            ChannelConsent(channel.value, consents_to(member, channel, now)) for channel in Channel
        ),
    )


@dataclass(frozen=True)
class QueueItem:
    """One post of the queue with all its page shows."""

    post: Post
    member: Member
    preview: Preview
    consent: Consent
    local_slot: str  # the slot for a datetime-local field, in the display zone
    answers: PostAnswers | None = None  # the member's "Mohon diubah" / "Sudah sesuai", if any


@dataclass(frozen=True)
class Counter:
    """One limit of a field, counted live as staff type (review.js) and on the server."""

    field: str  # "caption" or "title"
    unit: str  # "chars", "bytes", "hashtags", "mentions"
    limit: int
    count: int

    @property
    def over(self) -> bool:
        return self.count > self.limit


def counters(channel: str, limits: Limits, caption: str, title: str) -> list[Counter]:
    """The platform limits a caption (and a YouTube title) is held to, with the counts of the
    text as it stands; `check_edit` applies the same limits when the form is saved."""
    if channel == Channel.INSTAGRAM:
        return [
            Counter("caption", "chars", limits.instagram_chars, len(caption)),
            Counter("caption", "hashtags", limits.instagram_hashtags, len(hashtags_in(caption))),
            Counter("caption", "mentions", limits.instagram_mentions, len(mentions_in(caption))),
        ]
    if channel == Channel.FACEBOOK:
        return [
            Counter("caption", "chars", limits.facebook_chars, len(caption)),
            Counter("caption", "hashtags", limits.facebook_hashtags, len(hashtags_in(caption))),
        ]
    return [
        Counter("title", "chars", limits.youtube_title_chars, len(title)),
        Counter("caption", "bytes", limits.youtube_description_bytes, utf8_bytes(caption)),
    ]


@dataclass
class Kept:
    """What staff typed into a form that was refused, shown back in the same form."""

    post_id: int | None = None
    values: dict[str, str] = field(default_factory=dict)
    selected: set[int] = field(default_factory=set)


def _back(campaign: str | None, page: int) -> str:
    query = {k: v for k, v in (("campaign", campaign), ("page", page)) if v and v != 1}
    return "/review" + (f"?{urlencode(query)}" if query else "")


def _page_number(value: str | int | None) -> int:
    try:
        number = int(value or 1)
    except ValueError:
        number = 1
    return max(number, 1)


def _queue(
    request: Request,
    staff: Staff,
    session: Session,
    campaign: str | None,
    page: int,
    *,
    problem: str | None = None,
    kept: Kept | None = None,
    status: int = 200,
) -> Response:
    console = state(request)
    now = console.clock()
    counts = actions.awaiting_review_counts(session)
    total = counts.get(campaign, 0) if campaign else sum(counts.values())
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(page, pages)
    rows = actions.awaiting_review(
        session, campaign, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    ids = {row.post.member_id for row in rows}
    members = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(ids)))}
    zone = console.zone
    answers = post_answers(session, [row.post.id for row in rows if row.post.id is not None])
    items = [
        QueueItem(
            post=row.post,
            member=members[row.post.member_id],
            preview=preview(row.post),
            consent=consent_of(members[row.post.member_id], now),
            local_slot=row.post.slot_at.astimezone(zone).strftime(LOCAL_INPUT),
            answers=answers.get(row.post.id or 0),
        )
        for row in rows
    ]
    return render(
        request,
        staff,
        "console/review.html.j2",
        status=status,
        items=items,
        counts=counts,
        total=total,
        campaign=campaign or "",
        page=page,
        page_count=pages,
        back=_back(campaign, page),
        problem=problem,
        kept=kept or Kept(),
        consent_states=ConsentState,
    )


@router.get("/review")
def queue(
    request: Request,
    staff: Viewer,
    session: DB,
    campaign: str | None = None,
    page: str | None = None,
) -> Response:
    """Every post awaiting approval (of one campaign), 50 a page, in slot order."""
    return _queue(request, staff, session, campaign or None, _page_number(page))


def _where(act: Act) -> tuple[str | None, int]:
    """The queue page a form was sent from (its campaign filter and page)."""
    return act.text("campaign") or None, _page_number(act.text("page"))


def _version(act: Act, name: str = "version") -> int:
    number = whole_number(act.text(name))
    if number is None:
        raise HTTPException(status_code=400, detail=f"{name}: not a number")
    return number


def _gettext(staff: Staff) -> Any:
    return translations(staff.language).gettext


def _refused(
    request: Request,
    act: Act,
    session: Session,
    problem: IFNError | str,
    kept: Kept,
) -> Response:
    """The queue again with the refusal and what was typed (nothing changed: the action rolled
    its work back). A conflict is 409, any other refusal 422."""
    session.rollback()
    campaign, page = _where(act)
    status = 409 if isinstance(problem, ConflictError) else 422
    return _queue(
        request, act.staff, session, campaign, page, problem=str(problem), kept=kept, status=status
    )


@router.post("/review/approve")
async def approve(request: Request, act: ApproverAct, session: DB) -> Response:
    """Approve one post or a selection: all of them, or none if one is refused."""
    _ = _gettext(act.staff)
    ids = act.ints("post")
    campaign, page = _where(act)
    if not ids:
        return _refused(request, act, session, _("Choose the posts to approve."), Kept())
    versions = {post_id: _version(act, f"version-{post_id}") for post_id in ids}
    console = state(request)
    try:
        actions.approve(
            session,
            ids,
            actor=act.staff.actor,
            now=console.clock(),
            settings=console.settings,
            versions=versions,
        )
        session.commit()
    except IFNError as exc:
        return _refused(request, act, session, exc, Kept(selected=set(ids)))
    return done(
        request,
        _back(campaign, page),
        ("ok", _("Approved %(n)s post(s): %(ids)s.") % {"n": len(ids), "ids": _ids(ids)}),
    )


def _ids(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids)


async def _withdraw(
    request: Request, act: Act, session: Session, post_id: int, how: str
) -> Response:
    """Reject or cancel one post with the reason typed."""
    _ = _gettext(act.staff)
    reason = act.text("reason").strip()
    campaign, page = _where(act)
    kept = Kept(post_id, {f"{how}_reason": act.text("reason")})
    if not reason:
        return _refused(request, act, session, _("Give a reason (it is kept on the post)."), kept)
    console = state(request)
    function = actions.reject if how == "reject" else actions.cancel
    try:
        function(
            session,
            [post_id],
            reason=reason,
            actor=act.staff.actor,
            now=console.clock(),
            settings=console.settings,
            versions={post_id: _version(act)},
        )
        session.commit()
    except IFNError as exc:
        return _refused(request, act, session, exc, kept)
    message = (
        _("Post %(id)s rejected; the next plan fills its slot.")
        if how == "reject"
        else _("Post %(id)s cancelled.")
    )
    return done(request, _back(campaign, page), ("ok", message % {"id": post_id}))


@router.post("/review/{post_id}/reject")
async def reject(request: Request, post_id: PostId, act: ApproverAct, session: DB) -> Response:
    """Reject a post with a reason: it is cancelled and the next plan refills its slot."""
    return await _withdraw(request, act, session, post_id, "reject")


@router.post("/review/{post_id}/cancel")
async def cancel(request: Request, post_id: PostId, act: ApproverAct, session: DB) -> Response:
    """Cancel a post with a reason."""
    return await _withdraw(request, act, session, post_id, "cancel")


@router.post("/review/{post_id}/move")
async def move(request: Request, post_id: PostId, act: EditorAct, session: DB) -> Response:
    """Move a post to another time (typed in the display zone)."""
    _ = _gettext(act.staff)
    console = state(request)
    typed = act.text("at")
    campaign, page = _where(act)
    kept = Kept(post_id, {"at": typed})
    if not typed.strip():
        problem = _("%(at)s: give the new date and time.") % {"at": "?"}
        return _refused(request, act, session, problem, kept)
    try:
        moved = actions.move_post(
            session,
            post_id,
            parse_local_time(typed, console.zone),  # the CLI's formats and dates
            actor=act.staff.actor,
            now=console.clock(),
            settings=console.settings,
            version=_version(act),
        )
        session.commit()
    except IFNError as exc:
        return _refused(request, act, session, exc, kept)
    when = Formats(act.staff.language, console.zone).when
    return done(
        request,
        _back(campaign, page),
        # the new time as every page shows it, in the user's language ("Jum, 25 Des 2026 12.00")
        ("ok", _("Post %(id)s moved to %(at)s.") % {"id": post_id, "at": when(moved.slot_at)}),
    )


def _editor(
    request: Request,
    staff: Staff,
    session: Session,
    post_id: int,
    *,
    caption: str | None = None,
    title: str | None = None,
    version: int | None = None,
    problem: str | None = None,
    conflict: bool = False,
    status: int = 200,
) -> Response:
    """The caption form of a post: the text as saved, or as staff typed it when refused."""
    found = session.execute(
        select(Post, Member).join(Member, Member.id == Post.member_id).where(Post.id == post_id)
    ).first()
    if found is None:
        raise HTTPException(status_code=404, detail=f"no post {post_id}")
    post, member = found
    console = state(request)
    caption = post.caption or "" if caption is None else caption
    title = post.title or "" if title is None else title
    return render(
        request,
        staff,
        "console/review_edit.html.j2",
        status=status,
        post=post,
        member=member,
        preview=preview(post),
        consent=consent_of(member, console.clock()),
        caption=caption,
        title=title,
        version=post.version if version is None else version,
        counters=counters(post.channel, console.settings.captions.limits(), caption, title),
        problem=problem,
        conflict=conflict,
        editable=post.state in actions.EDITABLE_STATES,
    )


@router.get("/review/{post_id}/edit")
def edit_form(request: Request, post_id: PostId, staff: Editor, session: DB) -> Response:
    """The caption (and YouTube title) of a post, with live counters against the limits."""
    return _editor(request, staff, session, post_id)


@router.post("/review/{post_id}/edit")
async def edit(request: Request, post_id: PostId, act: EditorAct, session: DB) -> Response:
    """Save the caption through `check_edit`'s limits; a refusal keeps what was typed."""
    _ = _gettext(act.staff)
    console = state(request)
    # browsers send a textarea's line ends as CRLF: a caption keeps the LF it is shown with
    caption = act.text("caption").replace("\r\n", "\n")
    post = session.get(Post, post_id)
    if post is None:
        raise HTTPException(status_code=404, detail=f"no post {post_id}")
    title = act.text("title").replace("\r\n", "\n") if post.channel == Channel.YOUTUBE else None
    try:
        actions.edit_caption(
            session,
            post_id,
            caption,
            title=title,
            actor=act.staff.actor,
            now=console.clock(),
            settings=console.settings,
            version=_version(act),
            may_approve=act.staff.can(StaffRole.APPROVER),
        )
        session.commit()
    except IFNError as exc:
        session.rollback()
        # after a conflict the form shows the other change beside what was typed: saving
        # again, now with the version read here, is a choice made having seen it
        conflict = isinstance(exc, ConflictError)
        return _editor(
            request,
            act.staff,
            session,
            post_id,
            caption=caption,
            title=title,
            version=None if conflict else _version(act),
            problem=str(exc),
            conflict=conflict,
            status=409 if conflict else 422,
        )
    return done(
        request,
        _back(*_where(act)),
        ("ok", _("Caption of post %(id)s replaced.") % {"id": post_id}),
    )
