"""The activity log: every change of a post (the post event log) with who made it and when,
newest first, filtered and a page at a time, for staff who ask "who approved this, and when?".

Each event comes with its post's member, campaign, channel and account in the same query, so a
page costs one query whatever it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from ifn_campaign.models import Member, Post, PostEvent
from ifn_campaign.publishing.flow_runs import FLOW_PREFIX

__all__ = [
    "ACTOR_KINDS",
    "PER_PAGE",
    "ActivityFilter",
    "ActivityPage",
    "Event",
    "activity",
    "kind_of",
]

PER_PAGE = 100

# Who writes the log, by kind: the prefix or exact names each kind's events carry.
_PREFIXES: dict[str, tuple[str, ...]] = {
    "staff": ("staff:",),
    "publisher": ("publisher:", FLOW_PREFIX),
}
_NAMES: dict[str, tuple[str, ...]] = {
    "planner": ("planner",),
    "compose": ("compose", "auto-approve"),
    "sync": ("sync",),
}
ACTOR_KINDS: tuple[str, ...] = ("staff", "planner", "compose", "publisher", "sync")
"""staff (`staff:<name>`, the console and the CLI's --by), the planner, composing (with
auto-approval), the publisher (a flow run's or a worker's), the registry sync (withdrawals)."""


def kind_of(actor: str) -> str:
    """The kind of an event's actor (one of ACTOR_KINDS), or 'other'."""
    for kind, prefixes in _PREFIXES.items():
        if actor.startswith(prefixes):
            return kind
    for kind, names in _NAMES.items():
        if actor in names:
            return kind
    return "other"


@dataclass(frozen=True)
class ActivityFilter:
    """What staff narrowed the log to; None leaves a field out. `actor` matches any part of the
    actor's name (case ignored); `state` is the state the post went into; `since` and `until`
    bound the event's time (`until` excluded)."""

    actor: str | None = None
    post_id: int | None = None
    state: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.actor:
            found.append(
                func.lower(PostEvent.actor).contains(self.actor.strip().lower(), autoescape=True)
            )
        if self.post_id is not None:
            found.append(PostEvent.post_id == self.post_id)
        if self.state:
            found.append(PostEvent.to_state == self.state)
        if self.kind:
            found.append(_kind_condition(self.kind))
        if self.since is not None:
            found.append(PostEvent.at >= self.since)
        if self.until is not None:
            found.append(PostEvent.at < self.until)
        return found


def _kind_condition(kind: str) -> ColumnElement[bool]:
    prefixes = _PREFIXES.get(kind, ())
    names = _NAMES.get(kind, ())
    if kind == "other":
        return and_(
            *(
                ~PostEvent.actor.startswith(p, autoescape=True)
                for ps in _PREFIXES.values()
                for p in ps
            ),
            PostEvent.actor.not_in([n for ns in _NAMES.values() for n in ns]),
        )
    if not prefixes and not names:
        return false()
    return or_(
        *(PostEvent.actor.startswith(p, autoescape=True) for p in prefixes),
        *([PostEvent.actor.in_(names)] if names else []),
    )


@dataclass(frozen=True)
class Event:
    """One line of the log, with its post's member and where the post goes."""

    id: int
    at: datetime
    post_id: int
    from_state: str | None
    to_state: str
    actor: str
    note: str | None
    member_id: str
    member_name: str
    campaign: str
    channel: str
    account: str
    slot_at: datetime

    @property
    def kind(self) -> str:
        return kind_of(self.actor)


@dataclass(frozen=True)
class ActivityPage:
    events: list[Event]
    page: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def activity(
    session: Session, where: ActivityFilter, *, page: int = 1, per_page: int = PER_PAGE
) -> ActivityPage:
    """One page of the log (1 is the newest), newest first: one query, one row more than the
    page to know whether another follows."""
    page = max(page, 1)
    # the page's events first (every filter is on the event), then their posts and members:
    # the database sorts the events alone rather than the join of three tables
    chosen = (
        select(PostEvent)
        .where(*where.conditions())
        .order_by(PostEvent.at.desc(), PostEvent.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
        .subquery()
    )
    query = (
        select(
            chosen.c.id,
            chosen.c.at,
            chosen.c.post_id,
            chosen.c.from_state,
            chosen.c.to_state,
            chosen.c.actor,
            chosen.c.note,
            Post.member_id,
            Member.business_name,
            Post.campaign,
            Post.channel,
            Post.account,
            Post.slot_at,
        )
        .join(Post, Post.id == chosen.c.post_id)
        .join(Member, Member.id == Post.member_id)
        .order_by(chosen.c.at.desc(), chosen.c.id.desc())
    )
    rows = session.execute(query).all()
    events = [
        Event(
            id=row.id,
            at=row.at,
            post_id=row.post_id,
            from_state=row.from_state,
            to_state=row.to_state,
            actor=row.actor,
            note=row.note,
            member_id=row.member_id,
            member_name=row.business_name,
            campaign=row.campaign,
            channel=str(row.channel),
            account=row.account,
            slot_at=row.slot_at,
        )
        for row in rows[:per_page]
    ]
    return ActivityPage(events, page, per_page, has_next=len(rows) > per_page)
