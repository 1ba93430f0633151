"""The bundled sample members as in-memory `Member` rows, for linting templates and tests
without a database or a sync."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ifn_campaign.models import Member
from ifn_campaign.registry.record import MemberRecord, parse_record
from ifn_campaign.sandbox.registry import SAMPLE_REGISTRY

SAMPLE_BASE_URL = "http://127.0.0.1:8765"


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


def sample_members() -> list[Member]:
    """Every valid member of assets/sample_registry/members.json (broken ones are skipped)."""
    raw = json.loads((SAMPLE_REGISTRY / "members.json").read_text(encoding="utf-8"))
    members = []
    for item in raw:
        if isinstance(item, dict):
            for key in ("logo_url",):
                if isinstance(item.get(key), str) and item[key].startswith("/"):
                    item[key] = SAMPLE_BASE_URL + item[key]
            for photo in item.get("photos") or []:
                if isinstance(photo, dict) and str(photo.get("url", "")).startswith("/"):
                    photo["url"] = SAMPLE_BASE_URL + photo["url"]
        parsed = parse_record(item)
        if isinstance(parsed, MemberRecord):
            members.append(member_from_record(parsed))
    return members
