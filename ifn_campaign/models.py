"""The database tables (SQLModel). Times are naive UTC in the database and aware UTC in code.

Tables of this stage: members and their media, the content-addressed media store, sync runs, the
per-source sync state (high-water mark) and the quarantine. Later stages add campaigns, slots,
posts and features; they reference `member.id` (a stable registry id, so a re-import never breaks
them) and `media_asset.sha256` (so a card always points at the exact bytes it was made from).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Text, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel


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

    @property
    def is_promotable(self) -> bool:
        """Eligible for promotion at all (channels and consent are the planner's business)."""
        return self.status == MemberStatus.ACTIVE and self.consent_withdrawn_at is None


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
