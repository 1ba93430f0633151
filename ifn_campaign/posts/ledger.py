"""The features ledger: who was featured when, where, by which post, and the public link.

A `Feature` row is written by whoever sees a post go out (`record_feature`, one per post); the
queries here answer staff's questions about fairness: a member's whole history, who was never
featured, features per province, category or actor type over a period, and who has waited longest.

"Waiting since" is the member's last feature or, if never featured, the later of when we first
stored them and when they granted consent: nobody waits for promotion before they agreed to it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from ifn_campaign.errors import LedgerError, UnknownValueError
from ifn_campaign.models import Feature, Member, MemberStatus, Post, PostState, utcnow
from ifn_campaign.registry.consent import in_force_clause
from ifn_campaign.registry.record import vocabulary

__all__ = [
    "Dimension",
    "HistoryEntry",
    "Tally",
    "Waiting",
    "fairness_gap",
    "features_by",
    "member_history",
    "never_featured",
    "record_feature",
]

Dimension = Literal["province", "category", "actor_type"]
UNKNOWN = "(unknown)"


@dataclass(frozen=True)
class HistoryEntry:
    """One post of a member, whatever became of it, with its feature if it went out."""

    post_id: int
    campaign: str
    channel: str
    account: str
    slot_at: datetime
    state: str
    state_changed_at: datetime
    reason_id: str
    reason_en: str
    cancel_reason: str | None
    takedown_requested_at: datetime | None
    taken_down_at: datetime | None
    featured_at: datetime | None
    permalink: str | None


@dataclass(frozen=True)
class Waiting:
    """A member and how long they have waited for a (first or next) feature."""

    member_id: str
    business_name: str
    province: str | None
    waiting_since: datetime
    last_featured_at: datetime | None
    days: int


@dataclass(frozen=True)
class Tally:
    """Features counted for one value of a dimension; `label` is the vocabulary name
    ("Sepatu kulit / Leather shoes") where there is one, else the value itself."""

    value: str | None
    label: str
    count: int


def record_feature(
    session: Session, post: Post, featured_at: datetime, permalink: str | None
) -> Feature:
    """The ledger entry for a published post; calling it again for the same post updates the
    permalink (when one is given) and never adds a second row. The caller owns the post's state
    and the transaction (this flushes, never commits)."""
    if post.id is None:
        raise LedgerError("the post is not stored yet: flush it before recording its feature")
    if post.state != PostState.PUBLISHED:
        raise LedgerError(
            f"post {post.id} is {post.state}, not published: only a published post is a feature"
        )
    feature = session.scalars(select(Feature).where(Feature.post_id == post.id)).first()
    if feature is None:
        feature = Feature(
            post_id=post.id,
            member_id=post.member_id,
            campaign=post.campaign,
            channel=post.channel,
            account=post.account,
            featured_at=featured_at,
            permalink=permalink,
            created_at=utcnow(),
        )
        session.add(feature)
    elif permalink is not None:
        feature.permalink = permalink
    session.flush()
    return feature


def member_history(session: Session, member_id: str) -> list[HistoryEntry]:
    """Every post of the member in every state, newest slot first, with its feature if any."""
    if session.get(Member, member_id) is None:
        raise LedgerError(f"no member {member_id!r} stored: check the id, or run a sync")
    rows = session.execute(
        select(Post, Feature.featured_at, Feature.permalink)
        .outerjoin(Feature, Feature.post_id == Post.id)
        .where(Post.member_id == member_id)
        .order_by(Post.slot_at.desc(), Post.id.desc())
    )
    entries = []
    for post, featured_at, permalink in rows:
        assert post.id is not None
        entries.append(
            HistoryEntry(
                post_id=post.id,
                campaign=post.campaign,
                channel=post.channel,
                account=post.account,
                slot_at=post.slot_at,
                state=post.state,
                state_changed_at=post.state_changed_at,
                reason_id=post.reason_id,
                reason_en=post.reason_en,
                cancel_reason=post.cancel_reason,
                takedown_requested_at=post.takedown_requested_at,
                taken_down_at=post.taken_down_at,
                featured_at=featured_at,
                permalink=permalink,
            )
        )
    return entries


def _consenting(campaign: str | None, now: datetime) -> Any:
    """Active members whose consent is in force at `now` (granted by then, not withdrawn), with
    their last feature (in `campaign` if given) as `last`."""
    last = select(Feature.member_id, func.max(Feature.featured_at).label("last"))
    if campaign is not None:
        last = last.where(Feature.campaign == campaign)
    latest = last.group_by(Feature.member_id).subquery()
    return (
        select(
            Member.id,
            Member.business_name,
            Member.province,
            Member.first_seen_at,
            Member.consent_granted_at,
            Member.consent_channels,
            latest.c.last,
        )
        .outerjoin(latest, latest.c.member_id == Member.id)
        .where(
            Member.status == MemberStatus.ACTIVE,
            in_force_clause(now),
        )
    )


def _waiting(row: Any, now: datetime) -> Waiting:
    since = row.last or max(row.first_seen_at, row.consent_granted_at)
    return Waiting(
        member_id=row.id,
        business_name=row.business_name,
        province=row.province,
        waiting_since=since,
        last_featured_at=row.last,
        days=max((now - since).days, 0),
    )


def _longest_first(found: list[Waiting], limit: int | None) -> list[Waiting]:
    found.sort(key=lambda w: (w.waiting_since, w.member_id))
    return found if limit is None else found[:limit]


def never_featured(
    session: Session,
    campaign: str | None = None,
    *,
    now: datetime | None = None,
    limit: int | None = None,
) -> list[Waiting]:
    """Active members with consent (not withdrawn) who were never featured (in `campaign`, if
    given), longest waiting first. `days` counts to `now` (default: the current time)."""
    now = now or utcnow()
    query = _consenting(campaign, now)
    featured = select(Feature.id).where(Feature.member_id == Member.id)
    if campaign is not None:
        featured = featured.where(Feature.campaign == campaign)
    query = query.where(~exists(featured))
    return _longest_first([_waiting(row, now) for row in session.execute(query)], limit)


def fairness_gap(
    session: Session, now: datetime, campaign: str | None = None, limit: int | None = 10
) -> list[Waiting]:
    """The longest waits among eligible members (active, consent granted and not withdrawn, at
    least one consented channel), longest first: since their last feature (in `campaign`, if
    given), or since they became eligible if never featured. Staff exclusions are not applied:
    an excluded member still waits."""
    rows = [row for row in session.execute(_consenting(campaign, now)) if row.consent_channels]
    return _longest_first([_waiting(row, now) for row in rows], limit)


def features_by(
    session: Session,
    dimension: Dimension,
    since: datetime | None = None,
    until: datetime | None = None,
    campaign: str | None = None,
) -> list[Tally]:
    """Features with `since <= featured_at < until` counted per province, category or actor
    type of the featured member, most first. A member counts under their *primary* category or
    actor type: the first one listed in their registry record. Members without one count under
    None ("(unknown)"). The member's current record is used, not the one at the time."""
    if dimension not in ("province", "category", "actor_type"):
        raise UnknownValueError(
            f"unknown dimension {dimension!r}; valid: province, category, actor_type"
        )
    query = select(Member.province, Member.categories, Member.actor_types).join(
        Feature, Feature.member_id == Member.id
    )
    if since is not None:
        query = query.where(Feature.featured_at >= since)
    if until is not None:
        query = query.where(Feature.featured_at < until)
    if campaign is not None:
        query = query.where(Feature.campaign == campaign)
    counts: Counter[str | None] = Counter()
    for province, categories, actor_types in session.execute(query):
        if dimension == "province":
            counts[province] += 1
        elif dimension == "category":
            counts[_first(categories)] += 1
        else:
            counts[_first(actor_types)] += 1
    names = vocabulary().get(
        {"category": "categories", "actor_type": "actor_types"}.get(dimension, ""), {}
    )
    tallies = [Tally(value, _label(value, names), count) for value, count in counts.items()]
    tallies.sort(key=lambda t: (-t.count, t.label))
    return tallies


def _first(values: Sequence[str] | None) -> str | None:
    return values[0] if values else None


def _label(value: str | None, names: dict[str, dict[str, str]]) -> str:
    if value is None:
        return UNKNOWN
    name = names.get(value)
    return f"{name['id']} / {name['en']}" if name else value
