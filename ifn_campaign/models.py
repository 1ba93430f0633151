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
        # all accounts in a time window: the console's Today, its week, the calendar's month
        Index("ix_post_slot", "slot_at"),
        # one state's posts in slot order, a page at a time: the review queue (composed), the
        # failures page (failed, missed, needs_reauth) without reading every post of the state
        Index("ix_post_state_slot", "state", "slot_at", "id"),
        # published posts still to take down by hand: a handful among every post ever made
        Index(
            "ix_post_takedown_open",
            "takedown_requested_at",
            "id",
            sqlite_where=text("takedown_requested_at IS NOT NULL AND taken_down_at IS NULL"),
            postgresql_where=text("takedown_requested_at IS NOT NULL AND taken_down_at IS NULL"),
        ),
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
    # the platform says the post no longer exists (deleted by a person in the app): no more readings
    remote_gone_at: datetime | None = _time()
    replaces_remote_id: str | None = Field(default=None, max_length=64)
    replaces_slot_at: datetime | None = _time()  # when that copy was to go out
    permalink: str | None = Field(default=None, sa_column=Column(Text))
    published_at: datetime | None = _time()
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    error_action: str | None = Field(default=None, sa_column=Column(Text))
    # bumped by every change staff make (posts.actions): a form carries the version it was read
    # at, so the second of two staff saving the same post is refused, not silently overwritten
    version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


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
    # the activity log reads the newest first, a page at a time, out of every event ever logged
    __table_args__ = (Index("ix_post_event_at", "at", "id"),)

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


class StaffRole(StrEnum):
    """Console roles, each allowed what the one before is and more: viewers read; editors edit
    captions, move, pin, exclude; approvers also approve, reject, cancel and re-authorise;
    admins manage users."""

    VIEWER = "viewer"
    EDITOR = "editor"
    APPROVER = "approver"
    ADMIN = "admin"


class StaffUser(SQLModel, table=True):
    """A console login. Only an argon2id hash of the password is kept; the calendar feed's
    private token likewise only as its SHA-256."""

    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    language: str = Field(default="id", max_length=8)
    # bumped when the password changes or the user is disabled: every login cookie issued before
    # carries the old number and stops working
    session_epoch: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    feed_token_sha256: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = _time(nullable=False)
    password_changed_at: datetime = _time(nullable=False)
    disabled_at: datetime | None = _time()


class LoginFailure(SQLModel, table=True):
    """A refused console login, kept so the per-user and per-address limits survive a restart."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_user_at", "user_name", "at"),
        Index("ix_login_failure_address_at", "address", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _time(nullable=False)
    user_name: str = Field(max_length=128)
    address: str = Field(max_length=64)


class NoticeKind(StrEnum):
    """What a member notice says: a feature is coming (`before`), it changed (`update`: slot or
    caption), it will not happen (`cancelled`), it is live with its links (`after`), and how far it
    reached a week later (`receipt`)."""

    BEFORE = "before"
    UPDATE = "update"
    CANCELLED = "cancelled"
    AFTER = "after"
    RECEIPT = "receipt"  # `notices.receipt_days` after: where it went out, links, people reached


class NoticeMedium(StrEnum):
    EMAIL = "email"
    APPRISE = "apprise"  # WhatsApp or another service, through an Apprise URL from the settings


class NoticeState(StrEnum):
    """pending -> sending -> sent, as a post; `failed`: refused for good or tried too often;
    `uncertain`: cut off after the server may have taken it (resolved by its Message-ID or by
    staff, never resent blindly); `dropped`: no longer applies.
    See docs/explanation/exactly-once.md."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    DROPPED = "dropped"


class Notice(SQLModel, table=True):
    """The outbox: one message to one member on one medium, rendered when it is queued (so a
    retry sends the same bytes with the same Message-ID). `dedupe_key` makes queuing the same
    notice twice a no-op ("before:post:12:email", "update:post:12:v7:email")."""

    __tablename__ = "notice"
    __table_args__ = (
        Index("ix_notice_due", "state", "next_attempt_at", "id"),
        Index("ix_notice_member", "member_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: str = Field(foreign_key="member.id", max_length=64)
    post_id: int | None = Field(default=None, foreign_key="post.id", index=True)
    kind: str = Field(max_length=16)
    medium: str = Field(max_length=16)
    to_address: str = Field(sa_column=Column(Text, nullable=False))
    language: str = Field(default="id", max_length=8)
    dedupe_key: str = Field(max_length=200, unique=True)
    message_id: str = Field(max_length=255, unique=True)  # <...@host>, also for Apprise rows
    subject: str = Field(sa_column=Column(Text, nullable=False))
    text_body: str = Field(sa_column=Column(Text, nullable=False))
    html_body: str | None = Field(default=None, sa_column=Column(Text))
    # [{path, mime, cid}]: files attached (the card), by absolute path under the data folder
    attachments: list[dict[str, str]] = _json([])
    link_id: int | None = Field(default=None, foreign_key="member_link.id")
    state: str = Field(default=NoticeState.PENDING, max_length=16)
    # where a send got to: "data" is stored just before the end of the message is sent (after
    # it, the server may have taken the message: a crash there is `uncertain`)
    step: str | None = Field(default=None, max_length=16)
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    next_attempt_at: datetime = _time(nullable=False)
    claimed_by: str | None = Field(default=None, max_length=128)
    claimed_at: datetime | None = _time()
    sent_at: datetime | None = _time()
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = _time(nullable=False)
    state_changed_at: datetime = _time(nullable=False)


class NoticeContact(SQLModel, table=True):
    """A member's contact on one medium as the notices know it: unsubscribed (by the link in
    every notice, no login), or refused for good by the server (a bad address: shown to staff,
    and no notice goes there until the registry gives another address)."""

    __tablename__ = "notice_contact"

    member_id: str = Field(foreign_key="member.id", max_length=64, primary_key=True)
    medium: str = Field(max_length=16, primary_key=True)
    unsubscribed_at: datetime | None = _time()
    refused_address: str | None = Field(default=None, sa_column=Column(Text))
    refused_at: datetime | None = _time()
    refused_reason: str | None = Field(default=None, sa_column=Column(Text))


class MemberPreference(SQLModel, table=True):
    """What a member chose on their page: the language of their page and notices."""

    __tablename__ = "member_preference"

    member_id: str = Field(foreign_key="member.id", max_length=64, primary_key=True)
    language: str = Field(default="id", max_length=8)
    updated_at: datetime = _time(nullable=False)


class MemberLink(SQLModel, table=True):
    """A signed link to a member's page (ifn_campaign/members/links.py), one per notice: valid
    until `expires_at` unless staff revoke it. Only the row is kept; the link's signature is
    made from the row and the key, never stored."""

    __tablename__ = "member_link"

    id: int | None = Field(default=None, primary_key=True)
    member_id: str = Field(foreign_key="member.id", max_length=64, index=True)
    created_at: datetime = _time(nullable=False)
    expires_at: datetime = _time(nullable=False)
    revoked_at: datetime | None = _time()
    revoked_by: str | None = Field(default=None, max_length=128)


class MemberAnswerKind(StrEnum):
    FINE = "fine"  # "Sudah sesuai"
    CHANGE = "change"  # "Mohon diubah", with a comment: the post goes back to review
    WITHDRAW = "withdraw"  # "Jangan tampilkan saya lagi": promotion consent withdrawn


class MemberAnswer(SQLModel, table=True):
    """What a member answered on their page, per upcoming post (or, for a withdrawal, for the
    whole programme): staff read it in the review queue, the CLI and the member's history."""

    __tablename__ = "member_answer"
    __table_args__ = (
        Index("ix_member_answer_post", "post_id", "at"),
        Index("ix_member_answer_link_at", "link_id", "at"),
        Index("ix_member_answer_address_at", "address", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: str = Field(foreign_key="member.id", max_length=64, index=True)
    post_id: int | None = Field(default=None, foreign_key="post.id")
    kind: str = Field(max_length=16)
    comment: str | None = Field(default=None, sa_column=Column(Text))
    link_id: int | None = Field(default=None, foreign_key="member_link.id")
    address: str = Field(max_length=64)  # the client address (IPv6 as its /64), for rate limits
    at: datetime = _time(nullable=False)


class MemberWithdrawal(SQLModel, table=True):
    """A member withdrew promotion consent outside the registry (on their page). The registry
    stays the source of truth for everything else, but a sync does not bring this consent back:
    it holds until the registry records consent granted after it. Staff export the list for
    the registry's owner (`reported_at` once exported)."""

    __tablename__ = "member_withdrawal"

    id: int | None = Field(default=None, primary_key=True)
    member_id: str = Field(foreign_key="member.id", max_length=64, index=True)
    at: datetime = _time(nullable=False)
    source: str = Field(max_length=32)  # "member page"
    answer_id: int | None = Field(default=None, foreign_key="member_answer.id")
    reported_at: datetime | None = _time()


class ReadingState(StrEnum):
    """One reading of one post's figures at one mark (ifn_campaign/insights)."""

    READ = "read"  # figures stored
    RETRY = "retry"  # the platform failed or had no data yet: tried again at next_attempt_at
    GONE = "gone"  # the post no longer exists on the platform: never asked again
    MISSED = "missed"  # a later mark was already due before this one was read: skipped
    FAILED = "failed"  # given up after insights.max_attempts tries


class InsightReading(SQLModel, table=True):
    """A post's figures read back from its platform at a mark after it went live ("1h", "1d",
    "7d", "28d": insights.read_after). `reach` is the one figure comparable across channels:
    Instagram `reach`, Facebook `post_total_media_view_unique`, YouTube `views` (YouTube gives
    no unique reach); every figure the platform gave is an `InsightMetric` row."""

    __tablename__ = "insight_reading"
    __table_args__ = (
        UniqueConstraint("post_id", "mark", name="uq_insight_reading_post_mark"),
        Index("ix_insight_reading_due", "state", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="post.id", index=True)
    mark: str = Field(max_length=8)
    due_at: datetime = _time(nullable=False)
    state: str = Field(max_length=16)
    read_at: datetime | None = _time()
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    next_attempt_at: datetime | None = _time()
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    reach: int | None = None


class InsightMetric(SQLModel, table=True):
    """One figure of one reading, under the platform's own metric name (Instagram and Facebook
    as in the Graph API, YouTube's statistics as views, likes, comments)."""

    __tablename__ = "insight_metric"

    reading_id: int = Field(foreign_key="insight_reading.id", primary_key=True)
    metric: str = Field(primary_key=True, max_length=64)
    post_id: int = Field(foreign_key="post.id", index=True)
    value: int


class QuotaUse(SQLModel, table=True):
    """Units of a daily platform quota one purpose has spent, per quota day (YouTube's resets at
    midnight Pacific), so every run and worker shares one count: `key` names the quota and the
    purpose ("youtube:<OAuth client id>:insights"), `day` the quota day (YYYY-MM-DD)."""

    __tablename__ = "quota_use"

    key: str = Field(primary_key=True, max_length=160)
    day: str = Field(primary_key=True, max_length=10)
    units: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
