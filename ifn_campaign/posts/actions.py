"""What staff do to posts, one function per action, for every door (the CLI, the console).

Each action takes the open `Session`, the actor ("staff:<name>") and `now`; it changes the posts
through the lifecycle (every change logged as a `PostEvent`) and does not commit: the caller
commits, so a selection is all or nothing. A refusal raises the project's error with the
message staff read, after rolling the session back, so nothing of the selection is changed
even if the caller went on to commit.

Optimistic concurrency: a caller that shows staff a post passes back the `version` it read
(`version=` / `versions={id: version}`); the action then bumps it by compare-and-set, and a post
someone else changed since is refused with `ConflictError` ("post N was changed by X at HH:MM,
reload"). Without a version the action still bumps it, so any open form on that post is stale.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ifn_campaign.captions.writer import check_edit
from ifn_campaign.channels.channel import Channel
from ifn_campaign.config import Settings
from ifn_campaign.errors import (
    AccessDenied,
    CaptionRefused,
    ConfigError,
    ConflictError,
    IFNError,
    InvalidValueError,
    LedgerError,
    PlanError,
    TransitionError,
)
from ifn_campaign.models import LIVE_STATES, AccountState, Member, Post, PostEvent, PostState
from ifn_campaign.planner.budget import Budgets, limits_from
from ifn_campaign.planner.campaign import campaign_paths, load_campaign
from ifn_campaign.posts.lifecycle import bump_version, can_move, move, note, release_missed, reopen

__all__ = [
    "EDITABLE_STATES",
    "MOVABLE_STATES",
    "NEEDS_STAFF_STATES",
    "QUEUE_STATES",
    "CalendarRow",
    "PostRow",
    "accounts_awaiting_reauth",
    "approve",
    "awaiting_review",
    "awaiting_review_counts",
    "calendar_rows",
    "cancel",
    "edit_caption",
    "four_eyes_campaigns",
    "load_posts",
    "missed_posts",
    "move_post",
    "needs_staff",
    "needs_staff_counts",
    "posts_between",
    "publish_now",
    "queue_counts",
    "reauthorise",
    "reject",
]

S = PostState
EDITABLE_STATES = (S.COMPOSED, S.APPROVED, S.SCHEDULED)
MOVABLE_STATES = (S.PLANNED, S.COMPOSED, S.APPROVED, S.SCHEDULED, S.MISSED)
NEEDS_STAFF_STATES = (S.FAILED, S.NEEDS_REAUTH, S.MISSED)
# what staff may approve: a composed post, or one that waits for their decision. The lifecycle
# also lets the publisher give back a post it holds (publishing) or scheduled, and lets the
# auto-approving compose approve a planned one; staff never: a post given back while a worker
# holds it, or while its platform copy stands, could be sent twice, and a planned one has no
# card to send.
_NOT_APPROVABLE = {
    S.PLANNED: "it has no card or caption yet (compose makes them)",
    S.SCHEDULED: "it is already on its way to the platform",
    S.PUBLISHING: "it is already on its way to the platform",
}
# the columns of the queue per account, in the order a post goes through them
QUEUE_STATES = (S.PLANNED, S.COMPOSED, S.APPROVED, S.SCHEDULED, S.PUBLISHING)


class PostRow(NamedTuple):
    """A post with its member's business name, as the lists staff read show them."""

    post: Post
    member_name: str


# --- reads -----------------------------------------------------------------------------------


def _with_names(
    session: Session,
    *where: object,
    order: Sequence[object],
    offset: int = 0,
    limit: int | None = None,
) -> list[PostRow]:
    query = (
        select(Post, Member.business_name)
        .join(Member, Member.id == Post.member_id)
        .where(*where)  # type: ignore[arg-type]
        .order_by(*order)  # type: ignore[arg-type]
        .offset(offset)
        .limit(limit)
    )
    return [PostRow(post, name) for post, name in session.execute(query).all()]


def awaiting_review(
    session: Session, campaign: str | None = None, *, offset: int = 0, limit: int | None = None
) -> list[PostRow]:
    """Composed posts waiting for approval (of one campaign), in slot order; `offset` and
    `limit` take one page of them (the console shows 50 at a time)."""
    where = [Post.state == S.COMPOSED]
    if campaign:
        where.append(Post.campaign == campaign)
    return _with_names(session, *where, order=(Post.slot_at, Post.id), offset=offset, limit=limit)


def awaiting_review_counts(session: Session) -> dict[str, int]:
    """How many posts await approval per campaign (campaigns sorted): the queue's size, its
    pages and the campaigns to filter by, in one query."""
    rows = session.execute(
        select(Post.campaign, func.count())
        .where(Post.state == S.COMPOSED)
        .group_by(Post.campaign)
        .order_by(Post.campaign)
    ).all()
    return {campaign: count for campaign, count in rows}


def needs_staff(session: Session, *, offset: int = 0, limit: int | None = None) -> list[PostRow]:
    """Failed, needs-re-authorisation and missed posts: nothing happens to them until staff
    decide (`last_error` says what happened, `error_action` what to do). `offset` and `limit`
    take one page of them (`needs_staff_counts` says how many there are)."""
    return _with_names(
        session,
        Post.state.in_(NEEDS_STAFF_STATES),
        order=(Post.slot_at, Post.id),
        offset=offset,
        limit=limit,
    )


def needs_staff_counts(session: Session) -> Counter[str]:
    """How many posts wait for staff, per state (failed, needs_reauth, missed), in one query."""
    rows = session.execute(
        select(Post.state, func.count())
        .where(Post.state.in_(NEEDS_STAFF_STATES))
        .group_by(Post.state)
    ).all()
    return Counter({state: count for state, count in rows})


def accounts_awaiting_reauth(session: Session) -> list[AccountState]:
    """Accounts whose token died (the publisher leaves them alone), oldest first: staff store a
    new token, then `reauthorise` them."""
    return list(
        session.scalars(
            select(AccountState)
            .where(AccountState.needs_reauth_since.is_not(None))
            .order_by(AccountState.needs_reauth_since, AccountState.channel, AccountState.account)
        )
    )


def posts_between(session: Session, start: datetime, end: datetime) -> list[PostRow]:
    """Every post with a slot from `start` up to (not including) `end`, whatever its state, in
    slot order: a day's schedule as it went and goes out."""
    return _with_names(
        session, Post.slot_at >= start, Post.slot_at < end, order=(Post.slot_at, Post.id)
    )


class CalendarRow(NamedTuple):
    """What a calendar shows of a post (the CLI's table, the console's grid and exports): its
    columns and its member's name, no other member field."""

    id: int
    slot_at: datetime
    campaign: str
    channel: str
    account: str
    state: str
    pinned: bool
    version: int
    card_path: str | None
    member_id: str
    member_name: str
    reason_id: str
    reason_en: str
    cancel_reason: str | None
    caption: str | None


def calendar_rows(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    campaign: str | None = None,
    account: tuple[str, str] | None = None,
    states: Collection[str] | None = None,
    ids: Collection[int] | None = None,
) -> list[CalendarRow]:
    """Posts with a slot from `start` up to (not including) `end`, of one campaign, one
    (channel, account), in `states` (None: any), only `ids` if given; in slot order, with
    their member's name: one query, columns only."""
    query = (
        select(
            Post.id,
            Post.slot_at,
            Post.campaign,
            Post.channel,
            Post.account,
            Post.state,
            Post.pinned,
            Post.version,
            Post.card_path,
            Post.member_id,
            Member.business_name,
            Post.reason_id,
            Post.reason_en,
            Post.cancel_reason,
            Post.caption,
        )
        .join(Member, Member.id == Post.member_id)
        .where(Post.slot_at >= start, Post.slot_at < end)
        .order_by(Post.slot_at, Post.channel, Post.account, Post.id)
    )
    if campaign is not None:
        query = query.where(Post.campaign == campaign)
    if account is not None:
        query = query.where(Post.channel == account[0], Post.account == account[1])
    if states is not None:
        query = query.where(Post.state.in_([str(s) for s in states]))
    if ids is not None:
        query = query.where(Post.id.in_(list(ids)))
    return [CalendarRow(*row) for row in session.execute(query)]


def missed_posts(session: Session) -> list[PostRow]:
    """Posts held back because the publisher came round too late: publish now, move or cancel."""
    return _with_names(session, Post.state == S.MISSED, order=(Post.slot_at, Post.id))


def queue_counts(
    session: Session, now: datetime, *, until: datetime | None = None
) -> dict[tuple[str, str], Counter[str]]:
    """Posts with a slot after `now` (and before `until`, if given: the coming week) per
    (channel, account), counted by state; accounts sorted."""
    where = [Post.slot_at > now]
    if until is not None:
        where.append(Post.slot_at < until)
    rows = session.execute(
        select(Post.channel, Post.account, Post.state, func.count())
        .where(*where)
        .group_by(Post.channel, Post.account, Post.state)
    ).all()
    counts: dict[tuple[str, str], Counter[str]] = {}
    for channel, account, state, count in sorted(rows, key=lambda r: (r[0], r[1], r[2])):
        counts.setdefault((channel, account), Counter())[state] = count
    return counts


def load_posts(session: Session, ids: Sequence[int]) -> list[Post]:
    """The posts in the order asked, read afresh; an unknown id is a LedgerError naming it."""
    found = {
        p.id: p
        for p in session.scalars(
            select(Post).where(Post.id.in_(ids)).execution_options(populate_existing=True)
        )
    }
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise LedgerError(f"no post {', '.join(missing)}: see `ifn-campaign calendar`")
    return [found[i] for i in ids]


def four_eyes_campaigns(settings: Settings, names: set[str]) -> set[str]:
    """Which of these campaigns have `four_eyes = true` in their file. Only those files are
    read; a campaign whose file is gone (finished, removed) has no rule any more."""
    try:
        paths = campaign_paths(settings.planner.campaigns_dir, templates_dir=settings.templates.dir)
    except ConfigError:  # no campaigns folder: no campaign asks for four eyes
        return set()
    return {name for name in names if name in paths and load_campaign(paths[name]).four_eyes}


# --- the actions -----------------------------------------------------------------------------


@contextmanager
def _all_or_nothing(session: Session) -> Iterator[None]:
    """A refusal rolls back whatever the action did before it, so nothing is changed."""
    try:
        yield
    except IFNError:
        session.rollback()
        raise


def _zone(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.planner.display_timezone)


def _changed_by(session: Session, post_id: int, zone: ZoneInfo) -> str:
    last = session.execute(
        select(PostEvent.actor, PostEvent.at)
        .where(PostEvent.post_id == post_id)
        .order_by(PostEvent.at.desc(), PostEvent.id.desc())
        .limit(1)
    ).first()
    if last is None:
        return f"post {post_id} was changed by someone else, reload"
    return f"post {post_id} was changed by {last.actor} at {last.at.astimezone(zone):%H:%M}, reload"


def _claim_versions(
    session: Session, posts: Sequence[Post], versions: Mapping[int, int] | None, zone: ZoneInfo
) -> None:
    """Bump each post's version by compare-and-set against the version the caller read;
    ConflictError naming every post changed since (and who changed it last, when)."""
    if not versions:
        return
    stale = [
        p.id
        for p in posts
        if p.id is not None
        and p.id in versions
        and not bump_version(session, p, expected=versions[p.id])
    ]
    if stale:
        raise ConflictError("; ".join(_changed_by(session, i, zone) for i in stale))


def _movable(
    session: Session,
    ids: Sequence[int],
    to: str,
    settings: Settings,
    versions: Mapping[int, int] | None,
) -> list[Post]:
    """The posts, each able to become `to`: one refused move stops the whole selection."""
    posts = load_posts(session, ids)
    _claim_versions(session, posts, versions, _zone(settings))
    refused = [p for p in posts if not can_move(p, to)]
    if refused:
        raise TransitionError(
            "; ".join(f"post {p.id} is {p.state} and cannot become {to}" for p in refused)
            + " (nothing was changed)"
        )
    return posts


def approve(
    session: Session,
    ids: Sequence[int],
    *,
    actor: str,
    now: datetime,
    settings: Settings,
    versions: Mapping[int, int] | None = None,
) -> list[Post]:
    """Approve composed (or failed, missed...) posts for publishing at their slot. In a
    campaign with `four_eyes = true`, whoever last edited a post's caption cannot approve it."""
    with _all_or_nothing(session):
        posts = _movable(session, ids, S.APPROVED, settings, versions)
        early = [p for p in posts if p.state in _NOT_APPROVABLE]
        if early:
            raise TransitionError(
                "; ".join(f"post {p.id} is {p.state}: {_NOT_APPROVABLE[p.state]}" for p in early)
                + " (nothing was changed)"
            )
        strict = four_eyes_campaigns(
            settings, {p.campaign for p in posts if p.caption_edited_by == actor}
        )
        own = [p for p in posts if p.campaign in strict and p.caption_edited_by == actor]
        if own:
            raise AccessDenied(
                "; ".join(
                    f"post {p.id}: you edited its caption; in campaign {p.campaign} someone "
                    "else approves it (four eyes)"
                    for p in own
                )
            )
        for post in posts:
            move(session, post, S.APPROVED, actor=actor, now=now)
            post.reviewed_by, post.reviewed_at = actor, now
        session.flush()
    return posts


def reject(
    session: Session,
    ids: Sequence[int],
    *,
    reason: str,
    actor: str,
    now: datetime,
    settings: Settings,
    versions: Mapping[int, int] | None = None,
) -> list[Post]:
    """Reject posts: cancelled with the reason, and the next plan refills their slots."""
    return _cancel(
        session, ids, f"ditolak staf / rejected: {reason}", actor, now, settings, versions
    )


def cancel(
    session: Session,
    ids: Sequence[int],
    *,
    reason: str,
    actor: str,
    now: datetime,
    settings: Settings,
    versions: Mapping[int, int] | None = None,
) -> list[Post]:
    """Cancel posts not out yet (one already on the platform is taken down by the publisher)."""
    return _cancel(
        session, ids, f"dibatalkan / cancelled: {reason}", actor, now, settings, versions
    )


def _cancel(
    session: Session,
    ids: Sequence[int],
    why: str,
    actor: str,
    now: datetime,
    settings: Settings,
    versions: Mapping[int, int] | None,
) -> list[Post]:
    with _all_or_nothing(session):
        posts = _movable(session, ids, S.CANCELLED, settings, versions)
        # publishing -> cancelled is the publisher's own move (consent gone before anything
        # public); under a worker in the middle of its calls, its answer would overwrite it
        busy = [p for p in posts if p.state == S.PUBLISHING]
        if busy:
            raise TransitionError(
                "; ".join(
                    f"post {p.id} is being sent right now: cancel it once the publisher is done "
                    "with it (a post already out is taken down)"
                    for p in busy
                )
                + " (nothing was changed)"
            )
        for post in posts:
            move(session, post, S.CANCELLED, actor=actor, now=now, note=why)
        session.flush()
    return posts


def _refuse_half_sent(post: Post) -> None:
    """An approved post an earlier publish attempt left half-way (a lost answer, a release) may
    already be on the platform: the publisher finds it by its caption and slot, so neither may
    change until it has looked (the next publish run) and the post is scheduled or out."""
    if post.state == S.APPROVED and (
        post.publish_step or post.remote_container_id or post.upload_session_url
    ):
        raise TransitionError(
            f"post {post.id}: an earlier publish attempt ({post.publish_step}) may already have "
            "reached the platform; run `ifn-campaign publish` (or wait for the next run) so it "
            "is reconciled, then edit or move it"
        )


def edit_caption(
    session: Session,
    post_id: int,
    text: str,
    *,
    title: str | None = None,
    actor: str,
    now: datetime,
    settings: Settings,
    version: int | None = None,
    may_approve: bool = True,
) -> Post:
    """Replace a post's caption (and a YouTube post's title: `title` None keeps it), held to
    the platform's rules. A post scheduled on its platform goes back to approved, its copy
    there to be replaced; an approved post goes back to the review queue (composed) when its
    editor may not approve (`may_approve` False: the console's editor role) or the campaign
    says `four_eyes = true`: new text goes out only once someone allowed to has approved it."""
    with _all_or_nothing(session):
        (post,) = load_posts(session, [post_id])
        _claim_versions(
            session, [post], None if version is None else {post_id: version}, _zone(settings)
        )
        if post.state not in EDITABLE_STATES:
            raise TransitionError(
                f"post {post.id} is {post.state}: only composed, approved or scheduled posts "
                "can be edited"
            )
        new_title = title if title is not None else (post.title or "")
        problems = check_edit(
            post.channel, text, settings.captions.limits(), title=new_title, tags=post.tags or []
        )
        if problems:
            raise CaptionRefused(
                f"caption refused for {post.channel}: "
                + "; ".join(f"{p.field}: {p.reason}" for p in problems)
            )
        _refuse_half_sent(post)
        if post.state == S.SCHEDULED:
            reopen(session, post, actor=actor, now=now, why="caption edited")
        post.caption = text
        if post.channel == Channel.YOUTUBE:
            post.title = new_title
        post.caption_edited_by = actor
        note(session, post, actor=actor, now=now, text="caption edited")
        if post.state == S.APPROVED and not may_approve:
            # an editor's text was approved by nobody: back to the queue for an approver (a
            # copy scheduled before stays marked to be replaced, and goes out if nobody does)
            why = "caption edited by an editor: an approver approves it"
            move(session, post, S.COMPOSED, actor=actor, now=now, note=why)
        elif post.state == S.APPROVED and four_eyes_campaigns(settings, {post.campaign}):
            why = "caption edited: someone else approves it (four eyes)"
            move(session, post, S.COMPOSED, actor=actor, now=now, note=why)
        session.flush()
    return post


def move_post(
    session: Session,
    post_id: int,
    new_at: datetime,
    *,
    actor: str,
    now: datetime,
    settings: Settings,
    version: int | None = None,
) -> Post:
    """Move a post not yet out to another time: free on its account, within the account's
    budget, in the future. A scheduled post's platform copy is replaced; a missed post goes
    out at the new time instead."""
    zone = _zone(settings)
    if new_at.tzinfo is None:
        raise InvalidValueError(f"{new_at.isoformat()}: give the new time with its time zone")
    at = f"{new_at.astimezone(zone):%Y-%m-%d %H:%M}"  # as staff wrote it
    with _all_or_nothing(session):
        (post,) = load_posts(session, [post_id])
        _claim_versions(session, [post], None if version is None else {post_id: version}, zone)
        if new_at <= now:
            raise InvalidValueError(f"post {post.id} cannot move to {at}: that time has passed")
        if post.state not in MOVABLE_STATES:
            raise TransitionError(f"post {post.id} is {post.state}: it can no longer be moved")
        _refuse_half_sent(post)
        live = [s.value for s in LIVE_STATES]
        # any post but a cancelled one holds its slot (a failed one may be retried there): the
        # database allows no second one (ux_post_slot_live)
        taken = session.scalars(
            select(Post.id).where(
                Post.campaign == post.campaign,
                Post.channel == post.channel,
                Post.account == post.account,
                Post.slot_at == new_at,
                Post.state != S.CANCELLED,
                Post.id != post.id,
            )
        ).first()
        if taken is not None:
            raise PlanError(f"post {taken} already holds {post.channel}/{post.account} at {at}")
        budgets = Budgets(limits_from(settings))
        budgets.load(
            (channel, account, slot_at)
            for channel, account, slot_at in session.execute(
                select(Post.channel, Post.account, Post.slot_at).where(
                    Post.channel == post.channel,
                    Post.account == post.account,
                    Post.state.in_(live),
                    Post.id != post.id,
                )
            )
        )
        if not budgets.account(post.channel, post.account).fits(new_at):
            raise PlanError(f"{post.channel}/{post.account} has no room left around {at}")
        before = post.slot_at
        if post.state == S.SCHEDULED:
            reopen(session, post, actor=actor, now=now, why=f"moved to {new_at.isoformat()}")
        if post.state == S.MISSED:
            release_missed(session, post, actor=actor, now=now, at=new_at)
        post.slot_at = new_at
        note(
            session,
            post,
            actor=actor,
            now=now,
            text=f"moved from {before.isoformat()} to {new_at.isoformat()}",
        )
        session.flush()
    return post


def publish_now(
    session: Session,
    ids: Sequence[int],
    *,
    actor: str,
    now: datetime,
    settings: Settings,
    versions: Mapping[int, int] | None = None,
) -> list[Post]:
    """Send missed posts at the next publish run; their slot keeps its time for the record."""
    with _all_or_nothing(session):
        posts = load_posts(session, ids)
        _claim_versions(session, posts, versions, _zone(settings))
        for post in posts:
            release_missed(session, post, actor=actor, now=now)
            post.reviewed_by, post.reviewed_at = actor, now
        session.flush()
    return posts


def reauthorise(session: Session, channel: str, account: str, *, actor: str, now: datetime) -> int:
    """An account's new token is stored: the publisher may use the account again, and its
    posts waiting for re-authorisation are approved again. Returns how many."""
    with _all_or_nothing(session):
        state = session.get(AccountState, (channel, account))
        if state is None or state.needs_reauth_since is None:
            raise LedgerError(f"{channel} account {account!r} is not waiting for re-authorisation")
        state.needs_reauth_since, state.message = None, None
        waiting = session.scalars(
            select(Post).where(
                Post.channel == channel,
                Post.account == account,
                Post.state == S.NEEDS_REAUTH,
            )
        ).all()
        for post in waiting:
            post.next_attempt_at = None
            move(session, post, S.APPROVED, actor=actor, now=now, note="re-authorised")
        session.flush()
    return len(waiting)
