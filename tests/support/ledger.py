"""Member, post and ledger rows written straight to the database, for tests of what reads them
(withdrawal, the ledger, the CLI's tables)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ifn_campaign.models import Feature, Member, Post, PostState

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
EARLIER = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
_slots = itertools.count()


def add_member(session: Session, member_id: str, **kw: Any) -> None:
    """A stored member, active and consenting to every channel unless `kw` says otherwise."""
    values: dict[str, Any] = {
        "id": member_id,
        "source": "test",
        "business_name": f"Sepatu {member_id}",
        "actor_types": ["producer"],
        "categories": ["leather_shoes"],
        "description_id": "Sepatu kulit buatan tangan.",
        "province": "Jawa Barat",
        "consent_granted_at": datetime(2025, 1, 10, tzinfo=UTC),
        "consent_channels": ["instagram", "facebook", "youtube"],
        "updated_at": EARLIER,
        "content_hash": "x",
        "raw_hash": "x",
        "first_seen_at": datetime(2025, 1, 1, tzinfo=UTC),
        "last_seen_at": EARLIER,
        "last_changed_at": EARLIER,
    }
    values.update(kw)
    session.add(Member(**values))
    session.flush()


def add_post(
    session: Session,
    member_id: str,
    state: str = PostState.SCHEDULED,
    channel: str = "instagram",
    *,
    campaign: str = "sorotan",
    slot_at: datetime | None = None,
    featured_at: datetime | None = None,
    permalink: str | None = None,
    **kw: Any,
) -> int:
    """A post row (each in its own slot unless given); with `featured_at`, its ledger row too."""
    slot = slot_at or NOW + timedelta(days=1, hours=next(_slots))
    post = Post(
        campaign=campaign,
        channel=channel,
        account=f"bpipi-{channel}",
        slot_at=slot,
        member_id=member_id,
        template="sorotan",
        reason_id="giliran berikutnya",
        reason_en="next in rotation",
        state=state,
        state_changed_at=EARLIER,
        created_at=EARLIER,
        **kw,
    )
    session.add(post)
    session.flush()
    assert post.id is not None
    if featured_at is not None:
        session.add(
            Feature(
                post_id=post.id,
                member_id=member_id,
                campaign=campaign,
                channel=channel,
                account=post.account,
                featured_at=featured_at,
                permalink=permalink,
                created_at=featured_at,
            )
        )
        session.flush()
    return post.id
