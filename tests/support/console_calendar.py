"""A week of posts for the calendar and export tests: one campaign file (daily Instagram slots,
Wednesday Facebook, a blackout Sunday), members with an ordinary and a hostile name, and posts
in several states around Christmas 2026 (cuti bersama on the 24th, Natal on the 25th), seen
from a clock fixed on Tuesday 22 December 2026, 08:00 WIB."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.models import PostState
from tests.support.console import settings_for
from tests.support.ledger import add_member, add_post

NOW = datetime(2026, 12, 22, 1, 0, tzinfo=UTC)  # Tuesday 08:00 WIB
WEEK = "2026-12-21"  # its Monday
HOSTILE = '=HYPERLINK("http://x")<script>alert(1)</script>\u202e"&<b>'
KEY = "ab" * 32  # a card file's content hash
CAMPAIGN = """
name = "sorotan-test"
title = "Sorotan <Uji>"
start = 2026-12-01
holidays = "ignore"
blackout = [2026-12-27]

[[channels]]
channel = "instagram"
account = "bpipi-instagram"
[[channels.slots]]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
time = "19:00"

[[channels]]
channel = "facebook"
account = "bpipi-facebook"
[[channels.slots]]
days = ["wed"]
time = "18:30"
"""


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A December 2026 time given in WIB, as UTC."""
    return datetime(2026, 12, day, hour - 7, minute, tzinfo=UTC)


def calendar_settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings with the campaign file above and room for one Instagram post a day."""
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    (campaigns / "sorotan-test.toml").write_text(CAMPAIGN, encoding="utf-8")
    return settings_for(
        db_url,
        tmp_path,
        planner={"campaigns_dir": campaigns},
        instagram={"posts_per_24h": 1},
    )


@dataclass(frozen=True)
class Week:
    """The post ids of the week by what they are."""

    published: int
    planned: int
    composed: int
    approved: int
    failed: int
    scheduled: int
    cancelled: int


def add_week(session: Session) -> Week:
    """The members and posts (on accounts bpipi-instagram and bpipi-facebook); committed."""
    add_member(session, "ifn-0001", business_name="Sepatu Cibaduyut Jaya")
    add_member(session, "ifn-0666", business_name=HOSTILE)

    def post(
        member: str, state: str, slot: datetime, channel: str = "instagram", **kw: object
    ) -> int:
        return add_post(
            session,
            member,
            state,
            channel,
            campaign="sorotan-test",
            slot_at=slot,
            caption=f"Kenalan dengan {member}! #IFN",
            **kw,
        )

    week = Week(
        published=post(
            "ifn-0001",
            PostState.PUBLISHED,
            at(21, 19),
            featured_at=at(21, 19, 1),
            permalink="https://instagram.example/p/1",
        ),
        planned=post("ifn-0001", PostState.PLANNED, at(22, 19)),
        composed=post("ifn-0666", PostState.COMPOSED, at(23, 19), card_path=f"cards/ab/{KEY}.jpg"),
        approved=post("ifn-0666", PostState.APPROVED, at(24, 19)),
        failed=post("ifn-0001", PostState.FAILED, at(23, 18, 30), channel="facebook"),
        scheduled=post("ifn-0001", PostState.SCHEDULED, at(26, 19)),
        cancelled=post("ifn-0001", PostState.CANCELLED, at(25, 19)),
    )
    session.commit()
    return week
