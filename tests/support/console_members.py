"""Members in every state the Members and Fairness pages tell apart, written straight to the
database (tests/console/test_members.py, test_fairness.py):

    ok        Jawa Barat, producer, leather_shoes; consent for all; a photo; featured twice,
              a post in every state
    ig-only   Jawa Timur, brand, sandals; consent for instagram only; a logo
    no-media  Jawa Barat, supplier, components; consent for all; its photo refused
    suspended status suspended
    withdrawn consent withdrawn
    later     consent granted for a date after NOW
    never-ok  Bali, producer, sandals; consent for all; a photo; never featured
    none      consent never granted
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from ifn_campaign.models import Exclusion, MediaAsset, MemberMedia, PostState
from tests.support.ledger import add_member, add_post

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # a Tuesday, 10:00 WIB
SHA = "ab" * 32
POST_STATES = tuple(PostState)


def _media(session: Session, member_id: str, *, stored: bool, role: str = "photo") -> None:
    if stored and session.get(MediaAsset, SHA) is None:
        session.add(
            MediaAsset(
                sha256=SHA,
                mime_type="image/jpeg",
                width=1200,
                height=900,
                bytes=123456,
                source_url="https://cdn.example.org/1.jpg",
                fetched_at=NOW,
                path=f"{SHA[:2]}/{SHA}.jpg",
            )
        )
        session.flush()
    session.add(
        MemberMedia(
            member_id=member_id,
            role=role,
            position=0,
            source_url="https://cdn.example.org/1.jpg"
            if stored
            else "http://169.254.169.254/latest/meta-data/",
            alt="Sepatu kulit hitam",
            asset_sha256=SHA if stored else None,
            refused_reason=None if stored else "private_address",
            refused_detail=None if stored else "169.254.169.254 is a link-local address",
            checked_at=NOW,
        )
    )
    session.flush()


def store_members(session: Session) -> dict[str, int]:
    """The members above, their media and posts; the post ids by state (of `ok`). Commits."""
    add_member(
        session,
        "ok",
        business_name="Sepatu Cibaduyut Jaya",
        city="Bandung",
        owner_name="Budi Santoso",
        contact={"phone": "0812 3456 7890", "email": "info@example.org"},
        consent_fields_allowed=["owner_name"],
        consent_text_version="v2",
    )
    _media(session, "ok", stored=True)
    add_member(
        session,
        "ig-only",
        business_name="Sandal Tulungagung",
        city="Tulungagung",
        province="Jawa Timur",
        actor_types=["brand"],
        categories=["sandals"],
        consent_channels=["instagram"],
    )
    _media(session, "ig-only", stored=True, role="logo")
    add_member(
        session,
        "no-media",
        business_name="Komponen Sol Bogor",
        city="Bogor",
        actor_types=["supplier"],
        categories=["components"],
    )
    _media(session, "no-media", stored=False)
    add_member(session, "suspended", status="suspended")
    _media(session, "suspended", stored=True)
    add_member(session, "withdrawn", consent_withdrawn_at=NOW - timedelta(days=3))
    _media(session, "withdrawn", stored=True)
    add_member(session, "later", consent_granted_at=NOW + timedelta(days=30))
    _media(session, "later", stored=True)
    add_member(
        session,
        "never-ok",
        business_name="Sandal Bali",
        city="Denpasar",
        province="Bali",
        categories=["sandals"],
    )
    _media(session, "never-ok", stored=True)
    add_member(session, "none", consent_granted_at=None, consent_channels=[])
    posts: dict[str, int] = {}
    for number, state in enumerate(POST_STATES):
        extra: dict[str, object] = {}
        featured = None
        if state == PostState.PUBLISHED:
            featured = NOW - timedelta(days=10)
            extra = {
                "permalink": "https://www.instagram.com/p/ok-1/",
                "takedown_requested_at": NOW - timedelta(days=1),
            }
        if state == PostState.CANCELLED:
            extra = {"cancel_reason": "rejected by staff: blurry photo"}
        posts[state] = add_post(
            session,
            "ok",
            state,
            slot_at=NOW + timedelta(days=number, hours=12),
            featured_at=featured,
            **extra,
        )
    # a second, older feature of `ok`, taken down
    add_post(
        session,
        "ok",
        PostState.PUBLISHED,
        "facebook",
        slot_at=NOW - timedelta(days=40),
        featured_at=NOW - timedelta(days=40),
        permalink="https://www.facebook.com/ok-2",
        takedown_requested_at=NOW - timedelta(days=5),
        taken_down_at=NOW - timedelta(days=4),
    )
    add_post(
        session,
        "ig-only",
        PostState.PUBLISHED,
        slot_at=NOW - timedelta(days=20),
        featured_at=NOW - timedelta(days=20),
        campaign="ramadan-2027",
    )
    session.add(
        Exclusion(
            member_id="no-media",
            campaign=None,
            reason="asked for a pause",
            created_at=NOW - timedelta(days=2),
        )
    )
    session.commit()
    return posts
