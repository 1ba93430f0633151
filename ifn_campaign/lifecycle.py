"""A post's life as a state machine: which moves are allowed, and a record of each one.

planned -> composed -> approved -> scheduled -> publishing -> published | failed | needs_reauth,
with cancelled reachable from every state before publishing. Every move goes through `move`, which
refuses what the machine does not allow and writes a `PostEvent` (when, from, to, who, why), so
staff can always see how a post got where it is. Actors are "staff:<name>", "flow:<run>",
"planner", "sync" or "auto-approve".
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from ifn_campaign.errors import IFNError
from ifn_campaign.models import Post, PostEvent, PostState

S = PostState
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PLANNED: frozenset({S.COMPOSED, S.APPROVED, S.CANCELLED}),
    S.COMPOSED: frozenset({S.APPROVED, S.PLANNED, S.CANCELLED}),
    S.APPROVED: frozenset({S.SCHEDULED, S.PUBLISHING, S.COMPOSED, S.CANCELLED}),
    S.SCHEDULED: frozenset(
        {S.PUBLISHING, S.PUBLISHED, S.FAILED, S.NEEDS_REAUTH, S.CANCELLED, S.APPROVED}
    ),
    # back to approved: released to try again later (rate limit, quota, outcome to reconcile)
    # cancelled: the member withdrew consent while the post was claimed, before anything public
    S.PUBLISHING: frozenset(
        {S.PUBLISHED, S.SCHEDULED, S.FAILED, S.NEEDS_REAUTH, S.APPROVED, S.CANCELLED}
    ),
    S.NEEDS_REAUTH: frozenset({S.APPROVED, S.CANCELLED}),
    S.FAILED: frozenset({S.APPROVED, S.CANCELLED}),
    S.PUBLISHED: frozenset(),
    S.CANCELLED: frozenset(),
}


# A scheduled copy this close to going out is not replaced: the publisher would check it is not
# live, then delete it, and the platform could publish it in between (the old text going out and
# then the new one as well). Thirty minutes leaves the publisher (every 5 minutes) six runs.
REPLACE_MARGIN = timedelta(minutes=30)


class TransitionError(IFNError):
    """A move the post's state does not allow (e.g. approving a published post)."""


def staff_actor(name: str | None = None) -> str:
    """'staff:<name>': the given name, else the login name."""
    if not name:
        try:
            name = getpass.getuser()
        except (KeyError, OSError):
            name = os.environ.get("USER") or "unknown"
    return f"staff:{name}"


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
    if to == S.CANCELLED and note:
        post.cancel_reason = note
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


def note(session: Session, post: Post, *, actor: str, now: datetime, text: str) -> None:
    """Log a change that keeps the state (a caption edit, a new slot time)."""
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
    """Log moves already made in bulk (post id, from, to, note): new posts and set-based updates."""
    rows = [
        {"post_id": i, "at": now, "from_state": a, "to_state": b, "actor": actor, "note": note}
        for i, a, b, note in moves
    ]
    if rows:
        session.execute(insert(PostEvent), rows)
