"""The bundled sample members as in-memory `Member` rows, for linting templates and tests
without a database or a sync."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from ifn_campaign.models import MediaAsset, MediaRole, Member, MemberMedia
from ifn_campaign.registry.record import MemberRecord, parse_record
from ifn_sandbox.registry import SAMPLE_REGISTRY, generate_members

SAMPLE_BASE_URL = "http://127.0.0.1:8765"
GENERATED_ASSET = "0" * 63 + "1"  # a placeholder asset row the generated members' logos point at


def member_from_record(record: MemberRecord, source: str = "sample") -> Member:
    """The Member row a sync would store for this record (not attached to any session)."""
    now = datetime.now(UTC)
    return Member(
        **record.profile(),
        source=source,
        updated_at=record.updated_at,
        content_hash=record.content_hash(),
        raw_hash="",
        first_seen_at=now,
        last_seen_at=now,
        last_changed_at=now,
    )


def _absolute(item: Any) -> Any:
    """The sample registry serves media at relative paths; records carry absolute URLs."""
    if isinstance(item, dict):
        if isinstance(item.get("logo_url"), str) and item["logo_url"].startswith("/"):
            item["logo_url"] = SAMPLE_BASE_URL + item["logo_url"]
        for photo in item.get("photos") or []:
            if isinstance(photo, dict) and str(photo.get("url", "")).startswith("/"):
                photo["url"] = SAMPLE_BASE_URL + photo["url"]
    return item


def sample_members() -> list[Member]:
    """Every valid member of assets/sample_registry/members.json (broken ones are skipped)."""
    raw = json.loads((SAMPLE_REGISTRY / "members.json").read_text(encoding="utf-8"))
    members = []
    for item in raw:
        parsed = parse_record(_absolute(item))
        if isinstance(parsed, MemberRecord):
            members.append(member_from_record(parsed))
    return members


def store_generated_members(
    session: Session, n: int, seed: int = 0, *, now: datetime | None = None
) -> list[str]:
    """`n` generated members with consent for every channel and a stored logo, written straight
    to the database (no registry, no fetch): planner tests and benchmarks at scale."""
    now = now or datetime.now(UTC)
    asset = session.get(MediaAsset, GENERATED_ASSET)
    if asset is None:
        session.add(
            MediaAsset(
                sha256=GENERATED_ASSET,
                mime_type="image/png",
                width=400,
                height=400,
                bytes=0,
                source_url="sandbox:generated",
                fetched_at=now,
                path="",
            )
        )
    ids = []
    for raw in generate_members(n, seed):
        raw["consent"] = {
            "granted_at": "2026-01-15T03:00:00Z",
            "text_version": "2026-01",
            "channels": ["instagram", "facebook", "youtube"],
            "fields_allowed": [],
            "withdrawn_at": None,
        }
        record = parse_record(_absolute(raw))
        assert isinstance(record, MemberRecord), record
        member = member_from_record(record, source="generated")
        member.first_seen_at = member.last_seen_at = member.last_changed_at = now
        ids.append(member.id)
        session.add(member)
        session.add(
            MemberMedia(
                member_id=member.id,
                role=MediaRole.LOGO,
                position=0,
                source_url="sandbox:generated",
                asset_sha256=GENERATED_ASSET,
                checked_at=now,
            )
        )
    session.flush()
    return ids
