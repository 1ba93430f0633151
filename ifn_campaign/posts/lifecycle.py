"""A post's life as a state machine: which moves are allowed, and a record of each one.

planned -> composed -> approved -> scheduled -> publishing -> published | failed | needs_reauth,
with cancelled reachable from every state before publishing, and missed when the publisher comes
round too late to send a post it sends itself (staff then decide: `release_missed` to publish now
or at a new time, or cancel). Every move goes through `move`, which
refuses what the machine does not allow and writes a `PostEvent` (when, from, to, who, why), so
staff can always see how a post got where it is. Actors are "staff:<name>", "flow:<run>",
"planner", "sync" or "auto-approve".

Every logged change also bumps the post's `version` (once per post and transaction), so a staff
form read before it is refused as stale (ifn_campaign.posts.actions) instead of overwriting it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, insert, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ifn_campaign.errors import TransitionError
from ifn_campaign.models import Post, PostEvent, PostState

S = PostState
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PLANNED: frozenset({S.COMPOSED, S.APPROVED, S.CANCELLED}),
    S.COMPOSED: frozenset({S.APPROVED, S.PLANNED, S.CANCELLED}),
    S.APPROVED: frozenset({S.SCHEDULED, S.PUBLISHING, S.COMPOSED, S.CANCELLED, S.MISSED}),
    S.SCHEDULED: frozenset(
        {S.PUBLISHING, S.PUBLISHED, S.FAILED, S.NEEDS_REAUTH, S.CANCELLED, S.APPROVED}
    ),
    # back to approved: released to try again later (rate limit, quota, outcome to reconcile)
    # cancelled: the member withdrew consent while the post was claimed, before anything public
    # missed: claimed more than publish.max_lateness after its slot, with nothing sent yet
    S.PUBLISHING: frozenset(
        {S.PUBLISHED, S.SCHEDULED, S.FAILED, S.NEEDS_REAUTH, S.APPROVED, S.CANCELLED, S.MISSED}
    ),
    # approved again by staff's decision (publish now, or moved to a new time), or cancelled
    S.MISSED: frozenset({S.APPROVED, S.CANCELLED}),
    S.NEEDS_REAUTH: frozenset({S.APPROVED, S.CANCELLED}),
    S.FAILED: frozenset({S.APPROVED, S.CANCELLED}),
    S.PUBLISHED: frozenset(),
    S.CANCELLED: frozenset(),
}


# States that wait for staff: their approval starts a new round of tries (a post left over
# `publish.max_attempts` would otherwise fail again at once, with no call at all)
_STAFF_DECIDES = frozenset({S.FAILED, S.NEEDS_REAUTH, S.MISSED})

# A scheduled copy this close to going out is not replaced: the publisher would check it is not
# live, then delete it, and the platform could publish it in between (the old text going out and
# then the new one as well). Thirty minutes leaves the publisher (every 5 minutes) six runs.
REPLACE_MARGIN = timedelta(minutes=30)


def staff_actor(name: str) -> str:
    """'staff:<name>': the name the caller knows (the CLI: `--by`, else the login name)."""
    return f"staff:{name}"


_BUMPED = "ifn_version_bumped_in"  # on the post's instance state: the transaction that bumped it


def bump_version(session: Session, post: Post, *, expected: int | None = None) -> bool:
    """Count one change of `post` in this transaction: its `version` goes up by one, however
    many logged changes the transaction makes to it (a move and a note are one staff action).

    With `expected` (the version a staff form was read at) the bump is an atomic compare-and-set
    done now: False, and nothing changed, when the post is at another version (someone else
    changed it); on PostgreSQL the row stays locked until the transaction ends, so of two
    racing saves exactly one wins. Without it the increment is an SQL expression the next flush
    writes, so concurrent changes never lose a bump."""
    if post.id is None:  # a new post starts at version 0
        return True
    state = inspect(post)
    transaction = session.get_transaction()
    if expected is None:
        if transaction is not None and state.info.get(_BUMPED) is transaction:
            return True
        post.version = Post.version + 1  # type: ignore[assignment]
    else:
        changed = session.execute(
            update(Post)
            .where(Post.id == post.id, Post.version == expected)
            .values(version=Post.version + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            return False
        set_committed_value(post, "version", expected + 1)
        transaction = session.get_transaction()
    state.info[_BUMPED] = transaction
    return True


def can_move(post: Post, to: str) -> bool:
    return to in TRANSITIONS.get(post.state, frozenset())


def move(
    session: Session,
    post: Post,
    to: str,
    *,
    actor: str,
    now: datetime,
    note: str | None = None,
) -> None:
    """Change the post's state, or raise TransitionError saying what is possible instead."""
    if not can_move(post, to):
        allowed = ", ".join(sorted(TRANSITIONS.get(post.state, ()))) or "nothing (final)"
        raise TransitionError(
            f"post {post.id} is {post.state}: it cannot become {to} (from {post.state}: {allowed})"
        )
    before = post.state
    post.state = to
    post.state_changed_at = now
    if to == S.APPROVED and before in _STAFF_DECIDES:
        post.attempts = post.takeovers = 0
    if to == S.CANCELLED and note:
        post.cancel_reason = note
    bump_version(session, post)
    session.add(
        PostEvent(post_id=post.id, at=now, from_state=before, to_state=to, actor=actor, note=note)
    )


def reopen(session: Session, post: Post, *, actor: str, now: datetime, why: str) -> None:
    """A post already scheduled on Facebook or YouTube is being moved or edited: it goes back to
    approved and the platform's copy is marked to be deleted (`replaces_remote_id`) before the
    publisher sends the new one, so the old time or text can never go out as well. Refused
    within `REPLACE_MARGIN` of the scheduled time."""
    if post.slot_at - now < REPLACE_MARGIN:
        raise TransitionError(
            f"post {post.id} goes out on {post.channel} at {post.slot_at:%Y-%m-%d %H:%M} UTC, "
            f"less than {REPLACE_MARGIN.seconds // 60} minutes from now: too close to replace "
            f"its scheduled copy safely; let it go out, then change or delete it on "
            f"{post.channel} (or `ifn-campaign cancel` it to take it down)"
        )
    # compare-and-set: a cancellation or reconcile that committed since the post was read wins
    changed = session.execute(
        update(Post)
        .where(Post.id == post.id, Post.state == S.SCHEDULED)
        .values(state=S.APPROVED, state_changed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        session.rollback()
        raise TransitionError(
            f"post {post.id} changed while you worked on it (it is no longer scheduled): "
            "look at it again with `ifn-campaign status`"
        )
    move(
        session,
        post,
        S.APPROVED,
        actor=actor,
        now=now,
        note=f"{why}: the copy scheduled on {post.channel} is replaced",
    )
    if post.remote_id is not None:
        post.replaces_remote_id = post.remote_id
        post.replaces_slot_at = post.slot_at
    post.remote_id = post.remote_photo_id = post.permalink = None
    post.upload_session_url = post.publish_step = post.next_attempt_at = None
    post.attempts = 0


def missed_by(
    session: Session, post: Post, now: datetime, max_lateness: timedelta
) -> timedelta | None:
    """How late past its slot a post the publisher would send now is, when that is more than
    `max_lateness` (None: on time, or staff chose to send it late since then, within
    `max_lateness` of their decision: another outage after it makes it missed again)."""
    late = now - post.slot_at
    if late <= max_lateness:
        return None
    decided = session.scalar(
        select(func.max(PostEvent.at)).where(
            PostEvent.post_id == post.id,
            PostEvent.from_state == S.MISSED,
            PostEvent.to_state == S.APPROVED,
        )
    )
    if decided is not None and now - decided <= max_lateness:
        return None
    return late


def miss(
    session: Session, post: Post, *, actor: str, now: datetime, late: timedelta, limit: timedelta
) -> None:
    """The publisher held a post it would have sent `late` after its slot: staff decide."""
    why = (
        f"missed its slot by {_hours(late)} (more than publish.max_lateness, {_hours(limit)}): "
        "not sent"
    )
    post.last_error = why
    post.error_action = (
        f"decide: `ifn-campaign missed publish-now {post.id}` (send it now), "
        f"`ifn-campaign move {post.id} --at 'YYYY-MM-DD HH:MM'` (a new time) or "
        f"`ifn-campaign cancel {post.id} --reason TEXT`"
    )
    move(session, post, S.MISSED, actor=actor, now=now, note=why)


def release_missed(
    session: Session, post: Post, *, actor: str, now: datetime, at: datetime | None = None
) -> None:
    """Staff's decision on a missed post: send it now (`at` None; the slot keeps its time for
    the record) or at a new time `at` (the caller moves the slot). Refused for any other state."""
    if post.state != S.MISSED:
        raise TransitionError(
            f"post {post.id} is {post.state}, not missed: see `ifn-campaign missed` for the posts "
            "waiting for a decision"
        )
    post.last_error = post.error_action = None
    post.next_attempt_at = None
    post.attempts = 0
    when = "now" if at is None else f"at {at.isoformat()}"
    move(session, post, S.APPROVED, actor=actor, now=now, note=f"missed post to be sent {when}")


def _hours(span: timedelta) -> str:
    """'1 day 2 h', '7 h', '45 min': how staff read a lateness."""
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} day{'s' if days != 1 else ''}"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{mins} min"] if mins and not days else []
    return " ".join(parts) or "0 min"


def note(session: Session, post: Post, *, actor: str, now: datetime, text: str) -> None:
    """Log a change that keeps the state (a caption edit, a new slot time)."""
    bump_version(session, post)
    session.add(
        PostEvent(
            post_id=post.id,
            at=now,
            from_state=post.state,
            to_state=post.state,
            actor=actor,
            note=text,
        )
    )


def record(
    session: Session,
    moves: Iterable[tuple[int, str | None, str, str | None]],
    *,
    actor: str,
    now: datetime,
) -> None:
    """Log moves already made in bulk (post id, from, to, note): new posts and set-based updates.
    A set-based update of existing posts bumps their `version` itself (`version=Post.version +
    1` in its values): one statement, as `bump_version` does for a post in hand."""
    rows = [
        {"post_id": i, "at": now, "from_state": a, "to_state": b, "actor": actor, "note": note}
        for i, a, b, note in moves
    ]
    if rows:
        session.execute(insert(PostEvent), rows)
