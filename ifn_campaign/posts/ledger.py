"""The features ledger: who was featured when, where, by which post, and the public link.

A `Feature` row is written by whoever sees a post go out (`record_feature`, one per post); the
queries here answer staff's questions about fairness: a member's whole history, who was never
featured, features per province, category or actor type over a period, and who has waited longest.

"Waiting since" is the member's last feature or, if never featured, the later of when we first
stored them and when they granted consent: nobody waits for promotion before they agreed to it.

Reach (how many people a feature reached) comes only from `ifn_campaign.insights.figures`: each
feature's latest reading. A feature with no reading yet is "not read yet", never a reach of 0.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Text, case, cast, exists, func, select
from sqlalchemy.orm import Session

from ifn_campaign.errors import LedgerError, UnknownValueError
from ifn_campaign.insights.figures import Figures, latest_figures, latest_reach_rows
from ifn_campaign.models import Feature, Member, MemberStatus, Post, PostState, utcnow
from ifn_campaign.registry.consent import in_force_clause
from ifn_campaign.registry.record import vocabulary

__all__ = [
    "Dimension",
    "HistoryEntry",
    "Reach",
    "Share",
    "Tally",
    "Waiting",
    "fairness_gap",
    "features_by",
    "member_history",
    "members_by",
    "never_featured",
    "record_feature",
    "shares_by",
    "shares_by_all",
]

Dimension = Literal["province", "category", "actor_type"]
UNKNOWN = "(unknown)"
DIMENSIONS: tuple[Dimension, ...] = ("province", "category", "actor_type")


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
    remote_gone_at: datetime | None = None
    figures: Figures | None = None  # the latest reading; None: not read yet (or never out)


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
    """Every post of the member in every state, newest slot first, with its feature and its
    latest figures (`insights.figures.latest_figures`) if any."""
    if session.get(Member, member_id) is None:
        raise LedgerError(f"no member {member_id!r} stored: check the id, or run a sync")
    rows = session.execute(
        select(Post, Feature.featured_at, Feature.permalink)
        .outerjoin(Feature, Feature.post_id == Post.id)
        .where(Post.member_id == member_id)
        .order_by(Post.slot_at.desc(), Post.id.desc())
    ).all()
    figures = latest_figures(session, (post.id for post, _, _ in rows if post.id is not None))
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
                remote_gone_at=post.remote_gone_at,
                figures=figures.get(post.id),
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


def _longest_first_sql(query: Any, limit: int | None) -> Any:
    """`query` (of `_consenting`) ordered as `_longest_first` orders, cut to `limit` in the
    database: only the rows shown are read."""
    since = func.coalesce(
        query.selected_columns.last,
        case(
            (Member.first_seen_at >= Member.consent_granted_at, Member.first_seen_at),
            else_=Member.consent_granted_at,
        ),
    )
    query = query.order_by(since, Member.id)
    return query if limit is None else query.limit(limit)


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
    query = _longest_first_sql(query.where(~exists(featured)), limit)
    return _longest_first([_waiting(row, now) for row in session.execute(query)], limit)


def fairness_gap(
    session: Session, now: datetime, campaign: str | None = None, limit: int | None = 10
) -> list[Waiting]:
    """The longest waits among eligible members (active, consent granted and not withdrawn, at
    least one consented channel), longest first: since their last feature (in `campaign`, if
    given), or since they became eligible if never featured. Staff exclusions are not applied:
    an excluded member still waits."""
    channels = Member.consent_channels
    # CASE, not AND: PostgreSQL's json_array_length fails on a JSON null or object (a hand edit),
    # and only CASE keeps it from being asked of those rows
    has_channel = case((cast(channels, Text).like("[%"), func.json_array_length(channels)), else_=0)
    query = _consenting(campaign, now).where(has_channel > 0)
    rows = session.execute(_longest_first_sql(query, limit))
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
    group = _group(dimension)
    query = _in_period(select(group, func.count()), since, until, campaign).group_by(group)
    return _tallies(session, query, dimension)


def _in_period(
    query: Any, since: datetime | None, until: datetime | None, campaign: str | None
) -> Any:
    """`query` over the features (joined to their members) with `since <= featured_at <
    until`, of `campaign` if given."""
    query = query.select_from(Feature).join(Member, Feature.member_id == Member.id)
    if since is not None:
        query = query.where(Feature.featured_at >= since)
    if until is not None:
        query = query.where(Feature.featured_at < until)
    if campaign is not None:
        query = query.where(Feature.campaign == campaign)
    return query


def members_by(session: Session, dimension: Dimension, now: datetime) -> list[Tally]:
    """The members features are drawn from (active, consent in force at `now`) counted per
    province, category or actor type as `features_by` counts features (primary category and
    actor type; None for none), most first: the membership share fairness is measured against."""
    group = _group(dimension)
    query = select(group, func.count()).where(*_drawn_from(now)).group_by(group)
    return _tallies(session, query, dimension)


def _drawn_from(now: datetime) -> tuple[Any, ...]:
    """The members features are drawn from: active, consent in force at `now`."""
    return (Member.status == MemberStatus.ACTIVE, in_force_clause(now))


@dataclass(frozen=True)
class Reach:
    """How far one group's features in the period reached, from each feature's latest reading
    (`insights.figures.latest_reach`): `total` over the `read` features with a reach figure,
    their `median` (None when none has one), and `unread` features with no reading yet, left
    out of both rather than counted as 0. `share` is `total` over every group's total (0 when
    nothing has been read)."""

    total: int
    read: int
    unread: int
    median: float | None
    share: float


@dataclass(frozen=True)
class Share:
    """One group of a dimension: its features and members, each as a count and a share of all
    (0 when there are none), and its features' reach when asked for (`with_reach`)."""

    value: str | None
    label: str
    features: int
    feature_share: float
    members: int
    member_share: float
    reach: Reach | None = None

    @property
    def gap(self) -> float:
        """Feature share minus membership share: below 0, the group is featured less than its
        share of the members."""
        return self.feature_share - self.member_share

    @property
    def reach_gap(self) -> float | None:
        """Reach share minus membership share (None without reach): below 0, the group's
        features reached fewer people than its share of the members."""
        return None if self.reach is None else self.reach.share - self.member_share


def shares_by(
    session: Session,
    dimension: Dimension,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
    campaign: str | None = None,
    *,
    with_reach: bool = False,
) -> list[Share]:
    """Features in the period (`features_by`) against the membership at `now` (`members_by`),
    per group: every group with features or members, most features first, then most members.
    `with_reach` adds each group's `Reach`."""
    if not with_reach:
        features = features_by(session, dimension, since, until, campaign)
        return _shares(features, members_by(session, dimension, now))
    return _shares_of(session, (dimension,), now, since, until, campaign, True)[dimension]


def shares_by_all(
    session: Session,
    now: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
    campaign: str | None = None,
    *,
    with_reach: bool = False,
) -> dict[Dimension, list[Share]]:
    """`shares_by` of every dimension from two queries, not six: the features and the members
    each counted per (province, category, actor type) at once, then summed per dimension (the
    fairness page's three tables). `with_reach` reads the features one row each instead, with
    the reach of their latest reading joined in the database (`figures.latest_reach_rows`)."""
    return _shares_of(session, DIMENSIONS, now, since, until, campaign, with_reach)


def _shares_of(
    session: Session,
    dimensions: Sequence[Dimension],
    now: datetime,
    since: datetime | None,
    until: datetime | None,
    campaign: str | None,
    with_reach: bool,
) -> dict[Dimension, list[Share]]:
    groups = [_group(d).label(d) for d in dimensions]
    members = session.execute(
        select(*groups, func.count()).where(*_drawn_from(now)).group_by(*groups)
    ).all()
    if not with_reach:
        query = _in_period(select(*groups, func.count()), since, until, campaign)
        counted = session.execute(query.group_by(*groups)).all()
        return {
            d: _shares(_summed(counted, i, d), _summed(members, i, d))
            for i, d in enumerate(dimensions)
        }
    # each feature with the reach of its latest reading, joined in the database
    latest = latest_reach_rows()
    query = _in_period(select(*groups, latest.c.reach), since, until, campaign).outerjoin(
        latest, latest.c.post_id == Feature.post_id
    )
    features = session.execute(query).all()
    # each feature as a group row counted once, and its reach (None: not read yet) per group
    counted = [(*row[:-1], 1) for row in features]
    found: dict[Dimension, list[Share]] = {}
    for i, d in enumerate(dimensions):
        reaches: dict[str | None, list[int | None]] = {}
        for row in features:
            reaches.setdefault(row[i], []).append(row[-1])
        found[d] = _shares(_summed(counted, i, d), _summed(members, i, d), reaches)
    return found


def _summed(rows: Sequence[Any], column: int, dimension: Dimension) -> list[Tally]:
    """Rows of (province, category, actor type, count) as the tallies of one dimension."""
    counts: dict[str | None, int] = {}
    for row in rows:
        counts[row[column]] = counts.get(row[column], 0) + row[-1]
    return _labelled(counts.items(), dimension)


def _reach(found: list[int | None], everyone: int) -> Reach:
    """One group's `Reach` from its features' reach (None: not read yet) and every group's
    total reach."""
    read = [r for r in found if r is not None]
    total = sum(read)
    return Reach(
        total=total,
        read=len(read),
        unread=len(found) - len(read),
        median=float(statistics.median(read)) if read else None,
        share=total / everyone if everyone else 0.0,
    )


def _shares(
    features: list[Tally],
    members: list[Tally],
    reaches: dict[str | None, list[int | None]] | None = None,
) -> list[Share]:
    by_feature = {t.value: t for t in features}
    by_member = {t.value: t for t in members}
    feature_total = sum(t.count for t in features)
    member_total = sum(t.count for t in members)
    reach_total = sum(r or 0 for found in (reaches or {}).values() for r in found)
    shares = []
    for value in by_feature.keys() | by_member.keys():
        tally = by_feature.get(value) or by_member[value]
        count = by_feature[value].count if value in by_feature else 0
        members_count = by_member[value].count if value in by_member else 0
        shares.append(
            Share(
                value=value,
                label=tally.label,
                features=count,
                feature_share=count / feature_total if feature_total else 0.0,
                members=members_count,
                member_share=members_count / member_total if member_total else 0.0,
                reach=None if reaches is None else _reach(reaches.get(value, []), reach_total),
            )
        )
    shares.sort(key=lambda t: (-t.features, -t.members, t.label))
    return shares


def _group(dimension: str) -> Any:
    """The SQL value a member counts under: the province, or the first category or actor type
    listed (NULL for none), so the database does the counting."""
    if dimension == "province":
        return Member.province
    if dimension in ("category", "actor_type"):
        column = Member.categories if dimension == "category" else Member.actor_types
        return column[0].as_string()  # type: ignore[index]
    raise UnknownValueError(
        f"unknown dimension {dimension!r}; valid: province, category, actor_type"
    )


def _tallies(session: Session, query: Any, dimension: Dimension) -> list[Tally]:
    """The (value, count) rows of `query` labelled, most first."""
    return _labelled(session.execute(query).tuples(), dimension)


def _labelled(counts: Iterable[tuple[str | None, int]], dimension: Dimension) -> list[Tally]:
    names = vocabulary().get(
        {"category": "categories", "actor_type": "actor_types"}.get(dimension, ""), {}
    )
    tallies = [Tally(value, _label(value, names), count) for value, count in counts]
    tallies.sort(key=lambda t: (-t.count, t.label))
    return tallies


def _label(value: str | None, names: dict[str, dict[str, str]]) -> str:
    if value is None:
        return UNKNOWN
    name = names.get(value)
    return f"{name['id']} / {name['en']}" if name else value
