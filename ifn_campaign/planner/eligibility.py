"""Who may be featured on a channel, read in a few set-based queries so 10,000 members stay cheap.

Eligible: an active member, with consent for the channel in force at the planner's clock (granted
by then, not withdrawn: `ifn_campaign.registry.consent`), a usable photo or at least a logo (the
card needs
one), and not excluded by staff. Cooldown, rotation and
diversity are the rotation's business; this is what must hold whatever the rotation wants.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, not_, or_, select
from sqlalchemy.orm import Session

from ifn_campaign.channels.channel import Channel
from ifn_campaign.errors import UnknownValueError
from ifn_campaign.insights.figures import FeatureReach, member_reach
from ifn_campaign.models import Exclusion, Member, MemberMedia, MemberStatus
from ifn_campaign.registry.consent import (
    ConsentState,
    consent_at,
    in_force_clause,
    listed,
    not_yet_clause,
    starts_on,
)
from ifn_campaign.registry.record import stored_list
from ifn_campaign.store import json_list_has

# Why a member can never be on a channel, in the order `Candidate.refusal` checks them.
REFUSALS = ("inactive", "consent_not_yet", "no_consent", "no_media")


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the planner needs of a member; category and actor type are the first listed."""

    id: str
    name: str
    province: str | None
    category: str | None
    actor_type: str | None
    status: str
    consent_channels: frozenset[str]
    has_media: bool
    since: datetime  # first eligible-ish: the later of first seen and consent granted
    consent_starts_at: datetime | None = None  # set while consent is granted for a later date
    # earlier features with a reach read (every campaign), oldest first: fair_by = "reach"
    # (`load_candidates(with_reach=True)`; empty otherwise)
    reach: tuple[FeatureReach, ...] = ()

    def refusal(self, channel: str) -> tuple[str, str] | None:
        """Why this member can never be on `channel` (Indonesian, English); None if it can."""
        if self.status != MemberStatus.ACTIVE:
            return (f"anggota tidak aktif ({self.status})", f"member not active ({self.status})")
        if self.consent_starts_at is not None:
            at = self.consent_starts_at
            return (starts_on(at, lang="id"), starts_on(at))
        if channel not in self.consent_channels:
            return (
                f"tidak ada persetujuan untuk {channel}",
                f"no consent for {channel}",
            )
        if not self.has_media:
            return ("tidak ada foto atau logo yang layak", "no usable photo or logo")
        return None


def _first(values: object) -> str | None:
    """A member's first category or actor type, if its stored list has one as text."""
    first = next(iter(stored_list(values)), None)
    return first if isinstance(first, str) else None


def load_candidates(
    session: Session,
    member_ids: Iterable[str] | None,
    at: datetime,
    *,
    with_reach: bool = False,
) -> list[Candidate]:
    """Every member (or the given ones), sorted by id; consent channels are empty unless
    consent is in force at `at` (the planner's clock). With `with_reach` (a campaign fair by
    reach), each carries the reach of its earlier features (`insights.figures.member_reach`);
    without, none: reading them costs seconds for a large ledger (20,000 features: 2 s on
    SQLite) that a campaign fair by posts and the console's members pages have no use for."""
    query = select(
        Member.id,
        Member.business_name,
        Member.province,
        Member.categories,
        Member.actor_types,
        Member.status,
        Member.consent_channels,
        Member.consent_granted_at,
        Member.consent_withdrawn_at,
        Member.first_seen_at,
    ).order_by(Member.id)
    media_query = (
        select(MemberMedia.member_id).where(MemberMedia.asset_sha256.is_not(None)).distinct()
    )
    ids = None if member_ids is None else list(member_ids)
    if ids is not None:
        query = query.where(Member.id.in_(ids))
        media_query = media_query.where(MemberMedia.member_id.in_(ids))
    with_media = set(session.scalars(media_query))
    reached = member_reach(session, ids) if with_reach else {}
    found = []
    for row in session.execute(query.execution_options(yield_per=1000)):  # memory stays flat
        consent = consent_at(row, at)
        consented = consent is ConsentState.IN_FORCE
        found.append(
            Candidate(
                id=row.id,
                name=row.business_name,
                province=row.province,
                category=_first(row.categories),
                actor_type=_first(row.actor_types),
                status=row.status,
                # `listed`: a JSON null, string or map written by hand is no channel, not an
                # error page (nor its substrings or keys)
                consent_channels=listed(row.consent_channels) if consented else frozenset(),
                has_media=row.id in with_media,
                since=max(row.first_seen_at, row.consent_granted_at or row.first_seen_at),
                consent_starts_at=(
                    row.consent_granted_at if consent is ConsentState.NOT_YET else None
                ),
                reach=tuple(reached.get(row.id, ())),
            )
        )
    return found


def refusal_clause(reason: str | None, channel: str | None, at: datetime) -> ColumnElement[bool]:
    """`Candidate.refusal(channel)` as SQL, for filtering many members at once: members whose
    first refusal is `reason` (one of REFUSALS), or, with `reason` None, members who may be on
    `channel`. `channel` None asks about any channel: eligible on at least one, or refused on
    all (`no_consent`: consent for none). Same order and rules as `Candidate.refusal` and
    `load_candidates`; tests/console/test_members.py checks both agree member by member."""
    channels = [channel] if channel is not None else [c.value for c in Channel]
    has_media = exists(
        select(MemberMedia.id).where(
            MemberMedia.member_id == Member.id, MemberMedia.asset_sha256.is_not(None)
        )
    )
    steps = [
        ("inactive", Member.status != MemberStatus.ACTIVE),
        ("consent_not_yet", not_yet_clause(at)),
        (
            "no_consent",
            not_(
                and_(
                    in_force_clause(at),
                    or_(*(json_list_has(Member.consent_channels, c) for c in channels)),
                )
            ),
        ),
        ("no_media", not_(has_media)),
    ]
    passed: list[ColumnElement[bool]] = []
    for name, refused in steps:
        if name == reason:
            return and_(*passed, refused)
        passed.append(not_(refused))
    if reason is None:
        return and_(*passed)
    raise UnknownValueError(f"unknown refusal {reason!r}; valid: {', '.join(REFUSALS)}")


@dataclass(frozen=True)
class ExclusionRule:
    member_id: str
    campaign: str | None
    until: datetime | None
    reason: str

    def applies(self, campaign: str, at: datetime) -> bool:
        return (self.campaign is None or self.campaign == campaign) and (
            self.until is None or at < self.until
        )


def load_exclusions(session: Session) -> dict[str, list[ExclusionRule]]:
    """Staff exclusions not lifted, by member."""
    rules: dict[str, list[ExclusionRule]] = {}
    for row in session.scalars(select(Exclusion).where(Exclusion.lifted_at.is_(None))):
        rules.setdefault(row.member_id, []).append(
            ExclusionRule(row.member_id, row.campaign, row.until, row.reason)
        )
    return rules


def excluded(
    rules: dict[str, list[ExclusionRule]], member_id: str, campaign: str, at: datetime
) -> ExclusionRule | None:
    for rule in rules.get(member_id, ()):
        if rule.applies(campaign, at):
            return rule
    return None
