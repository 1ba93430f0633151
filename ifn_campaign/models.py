"""The database tables (SQLModel). Times are naive UTC in the database and aware UTC in code.

Members and their media, the content-addressed media store, sync runs, the per-source sync state
(high-water mark) and the quarantine; then the plan: posts, the features ledger, staff pins and
exclusions. Campaigns and their slots are data (templates/campaigns/*.toml), so posts name their
campaign rather than point at a row. Everything references `member.id` (a stable registry id, so a
re-import never breaks it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Enum,
    Index,
    Integer,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlmodel import Field, SQLModel

from ifn_campaign.channels.channel import Channel


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; ifn-campaign stores aware UTC times only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _time(nullable: bool = True, **kw: Any) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, **kw))


def _channel(table: str, primary_key: bool = False) -> Any:
    """A channel column: VARCHAR(16) holding the name (`Channel`'s value), with a CHECK
    `ck_<table>_channel` that only the enum's names go in (migration 0008); read back as
    `Channel`, and a name outside it is refused before it is sent."""
    kind = Enum(
        Channel,
        native_enum=False,
        create_constraint=True,
        name=f"ck_{table}_channel",
        length=16,
        values_callable=lambda e: [member.value for member in e],
        validate_strings=True,
    )
    return Field(sa_column=Column(kind, primary_key=primary_key, nullable=False))


def _json(default: Any) -> Any:
    return Field(default_factory=lambda: type(default)(), sa_column=Column(JSON, nullable=False))


class MemberStatus(StrEnum):
    """`active`, `suspended`, `deleted` come from the registry; `missing`: gone from a full sync."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    DELETED = "deleted"
    MISSING = "missing"


class Member(SQLModel, table=True):
    """One business in the registry, normalised. `content_hash` covers every profile field."""

    __tablename__ = "member"

    id: str = Field(primary_key=True, max_length=64)
    source: str = Field(max_length=64, index=True)
    business_name: str = Field(sa_column=Column(Text, nullable=False))
    actor_types: list[str] = _json([])
    categories: list[str] = _json([])
    materials: list[str] = _json([])
    description_id: str = Field(sa_column=Column(Text, nullable=False))
    description_en: str | None = Field(default=None, sa_column=Column(Text))
    city: str | None = Field(default=None, max_length=120)
    province: str | None = Field(default=None, max_length=120, index=True)
    sentra: str | None = Field(default=None, max_length=120)
    year_founded: int | None = None
    employees: int | None = None
    capacity_pairs_per_month: int | None = None
    export_markets: list[str] = _json([])
    certifications: list[dict[str, Any]] = _json([])
    contact: dict[str, Any] = _json({})
    socials: dict[str, Any] = _json({})
    owner_name: str | None = Field(default=None, sa_column=Column(Text))
    logo_url: str | None = Field(default=None, sa_column=Column(Text))
    photos: list[dict[str, Any]] = _json([])
    consent_granted_at: datetime | None = _time()
    consent_text_version: str | None = Field(default=None, max_length=64)
    consent_channels: list[str] = _json([])
    consent_fields_allowed: list[str] = _json([])
    consent_withdrawn_at: datetime | None = _time()
    status: str = Field(default=MemberStatus.ACTIVE, max_length=16, index=True)
    updated_at: datetime = _time(nullable=False)
    content_hash: str = Field(max_length=64)
    raw_hash: str = Field(max_length=64)
    first_seen_at: datetime = _time(nullable=False)
    last_seen_at: datetime = _time(nullable=False)
    last_changed_at: datetime = _time(nullable=False)
    # what the sync changed or left out of the registry's values, and why ("business_name: removed
    # 1 control character", "socials.instagram: not a handle, left out")
    notes: list[str] | None = Field(default=None, sa_column=Column(JSON))
    # whether consent is in force at a given time, and the member promotable:
    # ifn_campaign.registry.consent


class MediaAsset(SQLModel, table=True):
    """Bytes we fetched, stored once under their SHA-256 whoever references them."""

    __tablename__ = "media_asset"

    sha256: str = Field(primary_key=True, max_length=64)
    mime_type: str = Field(max_length=64)
    width: int
    height: int
    bytes: int
    source_url: str = Field(sa_column=Column(Text, nullable=False))
    etag: str | None = Field(default=None, max_length=256)
    fetched_at: datetime = _time(nullable=False)
    path: str = Field(sa_column=Column(Text, nullable=False))


class MediaRole(StrEnum):
    LOGO = "logo"
    PHOTO = "photo"


class MemberMedia(SQLModel, table=True):
    """A member's logo or photo: its source and either the stored asset or why it was refused."""

    __tablename__ = "member_media"
    __table_args__ = (UniqueConstraint("member_id", "role", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: str = Field(foreign_key="member.id", max_length=64, index=True)
    role: str = Field(max_length=8)
    position: int = 0
    source_url: str = Field(sa_column=Column(Text, nullable=False))
    alt: str | None = Field(default=None, sa_column=Column(Text))
    asset_sha256: str | None = Field(default=None, foreign_key="media_asset.sha256", max_length=64)
    etag: str | None = Field(default=None, max_length=256)
    refused_reason: str | None = Field(default=None, max_length=64)
    refused_detail: str | None = Field(default=None, sa_column=Column(Text))
    checked_at: datetime = _time(nullable=False)


class SyncRunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class SyncRun(SQLModel, table=True):
    """One sync, with the cursor it reached so a killed run can be resumed."""

    __tablename__ = "sync_run"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64, index=True)
    mode: str = Field(max_length=16)
    status: str = Field(default=SyncRunStatus.RUNNING, max_length=16)
    started_at: datetime = _time(nullable=False)
    finished_at: datetime | None = _time()
    baseline_at: datetime = _time(nullable=False)
    since: datetime | None = _time()
    cursor: str | None = Field(default=None, sa_column=Column(Text))
    pages: int = 0
    high_water_mark: datetime | None = _time()
    resumed_from: int | None = Field(default=None, foreign_key="sync_run.id")
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    removed: int = 0
    media_fetched: int = 0
    media_reused: int = 0
    media_refused: int = 0
    errors: list[str] = _json([])


class SyncState(SQLModel, table=True):
    """Per source: how far incremental syncs have got."""

    __tablename__ = "sync_state"

    source: str = Field(primary_key=True, max_length=64)
    high_water_mark: datetime | None = _time()
    last_full_sync_at: datetime | None = _time()


class QuarantinedRecord(SQLModel, table=True):
    """A record that failed validation, kept verbatim with every reason, once per payload."""

    __tablename__ = "quarantined_record"
    __table_args__ = (
        UniqueConstraint("source", "payload_hash"),
        Index("ix_quarantined_record_member", "member_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=64)
    member_id: str | None = Field(default=None, max_length=256)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    payload_hash: str = Field(max_length=64)
    reasons: list[str] = _json([])
    sync_run_id: int | None = Field(default=None, foreign_key="sync_run.id")
    first_seen_at: datetime = _time(nullable=False)
    last_seen_at: datetime = _time(nullable=False)
    resolved_at: datetime | None = _time()


class PostState(StrEnum):
    """A post's life: planned -> composed -> approved -> scheduled -> publishing -> published,
    or failed, needs_reauth (the account's token died), missed (the publisher came round more
    than `publish.max_lateness` after its slot: staff decide) or cancelled on the way."""

    PLANNED = "planned"
    COMPOSED = "composed"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    NEEDS_REAUTH = "needs_reauth"
    MISSED = "missed"
    CANCELLED = "cancelled"


# Re-planning may replace these (nobody has signed them off); everything later is left alone.
REPLANNABLE_STATES = frozenset({PostState.PLANNED, PostState.COMPOSED})
# Not yet out: a consent withdrawal cancels these. `publishing` is in flight and is reconciled by
# the publisher, which checks consent again right before any remote call.
QUEUED_STATES = frozenset(
    {
        PostState.PLANNED,
        PostState.COMPOSED,
        PostState.APPROVED,
        PostState.SCHEDULED,
        PostState.NEEDS_REAUTH,
    }
)
# A post in one of these holds its slot and counts for rotation, cooldown and budgets. A missed
# post is one of them: staff may still publish it now, so it keeps its slot until cancelled or
# moved. It is not queued for the platform (not in QUEUED_STATES: nothing sends it by itself),
# but a withdrawal cancels it like a failed one (withdrawal.py).
LIVE_STATES = frozenset(set(PostState) - {PostState.CANCELLED, PostState.FAILED})


class Post(SQLModel, table=True):
    """One member on one channel at one slot, with why they were picked."""

    __tablename__ = "post"
    __table_args__ = (
        # One live post per slot; cancelled ones stay for the record.
        Index(
            "ux_post_slot_live",
            "campaign",
            "channel",
            "account",
            "slot_at",
            unique=True,
            sqlite_where=text("state <> 'cancelled'"),
            postgresql_where=text("state <> 'cancelled'"),
        ),
        Index("ix_post_account_slot", "account", "channel", "slot_at"),
        Index("ix_post_member_campaign", "member_id", "campaign"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign: str = Field(max_length=64, index=True)
    channel: Channel = _channel("post")
    account: str = Field(max_length=64)
    slot_at: datetime = _time(nullable=False)
    member_id: str = Field(foreign_key="member.id", max_length=64)
    template: str = Field(max_length=64)
    rotation_round: int = Field(default=0, description="The campaign's rotation round of this pick")
    pinned: bool = False
    reason_id: str = Field(sa_column=Column(Text, nullable=False))
    reason_en: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(default=PostState.PLANNED, max_length=16, index=True)
    state_changed_at: datetime = _time(nullable=False)
    created_at: datetime = _time(nullable=False)
    cancel_reason: str | None = Field(default=None, sa_column=Column(Text))
    takedown_requested_at: datetime | None = _time()
    taken_down_at: datetime | None = _time()
    # composed content (compose.py); staff may edit the caption before approving
    caption: str | None = Field(default=None, sa_column=Column(Text))
    title: str | None = Field(default=None, sa_column=Column(Text))
    tags: list[str] | None = Field(default=None, sa_column=Column(JSON))
    caption_lang: str | None = Field(default=None, max_length=8)
    caption_edited_by: str | None = Field(default=None, max_length=128)
    card_path: str | None = Field(default=None, sa_column=Column(Text))
    thumbnail_path: str | None = Field(default=None, sa_column=Column(Text))
    # YouTube custom thumbnail: None (not tried yet), "set", "pending" (a transient failure that
    # reconcile retries) or "failed" (refused for good)
    thumbnail_state: str | None = Field(default=None, max_length=16)
    low_resolution: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    compose_notes: list[str] | None = Field(default=None, sa_column=Column(JSON))
    # Instagram: what the image says to people who cannot see it, the member's consented
    # handle tagged on the card, and the member's other photos as carousel slides after it
    alt_text: str | None = Field(default=None, sa_column=Column(Text))
    user_tags: list[str] | None = Field(default=None, sa_column=Column(JSON))
    slides: list[dict[str, str]] | None = Field(
        default=None, sa_column=Column(JSON), description="[{path, alt}] after the card"
    )
    reviewed_by: str | None = Field(default=None, max_length=128)
    reviewed_at: datetime | None = _time()
    # publishing (publisher.py): the step about to run is stored before each remote call, and
    # every remote id the moment it arrives, so a crash is reconciled, never blindly repeated
    publish_step: str | None = Field(default=None, max_length=32)
    claimed_by: str | None = Field(default=None, max_length=128)
    claimed_at: datetime | None = _time()
    next_attempt_at: datetime | None = _time()
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # claims of this post taken over after their publisher vanished (each also counts as an attempt)
    takeovers: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    media_url: str | None = Field(default=None, sa_column=Column(Text))
    video_path: str | None = Field(default=None, sa_column=Column(Text))
    remote_container_id: str | None = Field(default=None, max_length=64)
    slide_container_ids: list[str] | None = Field(default=None, sa_column=Column(JSON))
    upload_session_url: str | None = Field(default=None, sa_column=Column(Text))
    remote_id: str | None = Field(default=None, max_length=64)
    remote_photo_id: str | None = Field(default=None, max_length=64)
    # a scheduled post staff moved or edited: this platform copy is deleted before the new one
    replaces_remote_id: str | None = Field(default=None, max_length=64)
    replaces_slot_at: datetime | None = _time()  # when that copy was to go out
    permalink: str | None = Field(default=None, sa_column=Column(Text))
    published_at: datetime | None = _time()
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    error_action: str | None = Field(default=None, sa_column=Column(Text))


class AccountState(SQLModel, table=True):
    """An account the publisher must leave alone until staff act (its token died)."""

    __tablename__ = "account_state"

    channel: Channel = _channel("account_state", primary_key=True)
    account: str = Field(primary_key=True, max_length=64)
    needs_reauth_since: datetime | None = _time()
    message: str | None = Field(default=None, sa_column=Column(Text))


class PlatformBlock(SQLModel, table=True):
    """A platform told us to stop calling until a time (a rate limit): kept across runs and workers.

    `scope` is "account" (key "<channel>:<account>") or "app" (key "<platform>:<app id>", e.g. a
    Graph app-level limit that stops Instagram and Facebook calls of the same app alike)."""

    __tablename__ = "platform_block"

    scope: str = Field(primary_key=True, max_length=16)
    key: str = Field(primary_key=True, max_length=160)
    blocked_until: datetime = _time(nullable=False)
    code: int | None = None
    reason: str | None = Field(default=None, sa_column=Column(Text))
    recorded_at: datetime = _time(nullable=False)


class PostEvent(SQLModel, table=True):
    """Every state change of a post: when, from what, to what, by whom (staff or a flow run)."""

    __tablename__ = "post_event"

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    at: datetime = _time(nullable=False)
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str = Field(max_length=16)
    actor: str = Field(max_length=128)
    note: str | None = Field(default=None, sa_column=Column(Text))


class Feature(SQLModel, table=True):
    """The ledger: a member was featured, where, when, by which post (and the public link)."""

    __tablename__ = "feature"

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", unique=True)
    member_id: str = Field(foreign_key="member.id", max_length=64, index=True)
    campaign: str = Field(max_length=64, index=True)
    channel: Channel = _channel("feature")
    account: str = Field(max_length=64)
    featured_at: datetime = _time(nullable=False, index=True)
    permalink: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = _time(nullable=False)


class Pin(SQLModel, table=True):
    """Staff: feature this member in this slot. Wins over the rotation, never over consent."""

    __tablename__ = "pin"
    __table_args__ = (UniqueConstraint("campaign", "channel", "account", "slot_at"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign: str = Field(max_length=64)
    channel: Channel = _channel("pin")
    account: str = Field(max_length=64)
    slot_at: datetime = _time(nullable=False)
    member_id: str = Field(foreign_key="member.id", max_length=64, index=True)
    note: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = _time(nullable=False)


class Exclusion(SQLModel, table=True):
    """Staff: keep this member out of one campaign (or all, `campaign` None), maybe until a date."""

    __tablename__ = "exclusion"

    id: int | None = Field(default=None, primary_key=True)
    member_id: str = Field(foreign_key="member.id", max_length=64, index=True)
    campaign: str | None = Field(default=None, max_length=64)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    until: datetime | None = _time()
    created_at: datetime = _time(nullable=False)
    lifted_at: datetime | None = _time()
