"""A month of campaign for the monthly report's tests, written straight to the database
(`tests/support/ledger.py` rows, `tests/support/insights.py` readings): November 2026 in WIB
with posts on three channels, readings for most, one post not read yet, a failure staff fixed
and one still waiting, a member featured before (October) and two featured for the first time,
one of them with a hostile name and province (markup, `$` mathtext, right-to-left, a word
longer than any line), and a member never featured."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ifn_campaign.cli import base
from ifn_campaign.models import Feature, PostEvent, PostState
from tests.support.insights import add_reading
from tests.support.ledger import add_member, add_post

JAKARTA = ZoneInfo("Asia/Jakarta")
MONTH = "2026-11"
SINCE = datetime(2026, 11, 1, tzinfo=JAKARTA).astimezone(UTC)
UNTIL = datetime(2026, 12, 1, tzinfo=JAKARTA).astimezone(UTC)
AS_OF = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
HOSTILE_NAME = (
    "$\\frac{1}{2}$ <script>alert(1)</script> Sepatu | *Jaya* \u202eكرامة أحذية\u202c "
    + "Panjang" * 30
)
HOSTILE_PROVINCE = "$x^2$ <b>Jawa</b> كرامة"
FAILURE_NOTE = "Graph error (#10) the app lacks instagram_content_publish"


def _wib(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=JAKARTA).astimezone(UTC)


@dataclass(frozen=True)
class Month:
    """The post ids by role."""

    posts: dict[str, int]


def _published(
    session: Session, member_id: str, channel: str, slot: datetime, permalink: str | None
) -> int:
    post_id = add_post(
        session,
        member_id,
        PostState.PUBLISHED,
        channel,
        slot_at=slot,
        featured_at=slot,
        permalink=permalink,
        published_at=slot,
        remote_id=f"r{slot:%m%d%H}{channel[:2]}",
    )
    return post_id


def _event(
    session: Session, post_id: int, at: datetime, to: str, actor: str, note: str = ""
) -> None:
    session.add(
        PostEvent(
            post_id=post_id, at=at, from_state=None, to_state=to, actor=actor, note=note or None
        )
    )


def build_month(session: Session) -> Month:
    """Write the month (see the module) and commit."""
    add_member(session, "m-old", business_name="Sepatu Lama", province="Jawa Barat")
    add_member(
        session,
        "m-new",
        business_name="Sandal Baru",
        province="Bali",
        categories=["sandals"],
        actor_types=["supplier"],
    )
    add_member(
        session,
        "m-bad",
        business_name=HOSTILE_NAME,
        province=HOSTILE_PROVINCE,
        categories=["sneakers"],
        actor_types=["brand"],
    )
    add_member(session, "m-quiet", business_name="Boot Sunyi", province="Papua")
    posts = {
        "october": _published(
            session, "m-old", "instagram", datetime(2026, 10, 20, 12, tzinfo=UTC), None
        ),
        "old_ig": _published(
            session, "m-old", "instagram", _wib(3, 19), "https://www.instagram.com/p/OLD1/"
        ),
        "new_fb": _published(
            session, "m-new", "facebook", _wib(8, 22), "https://www.facebook.com/1_2"
        ),
        "bad_ig": _published(session, "m-bad", "instagram", _wib(11, 19), "javascript:alert(1)"),
        "new_yt_unread": _published(
            session, "m-new", "youtube", _wib(20, 12), "https://youtu.be/abc"
        ),
        "fixed_fb": _published(
            session, "m-bad", "facebook", _wib(17, 12), "https://www.facebook.com/1_3"
        ),
    }
    posts["still_failed"] = add_post(
        session,
        "m-old",
        PostState.FAILED,
        "instagram",
        slot_at=_wib(14, 19),
        last_error=FAILURE_NOTE,
        error_action="grant instagram_content_publish, then approve it again",
    )
    posts["planned"] = add_post(
        session, "m-quiet", PostState.PLANNED, "instagram", slot_at=_wib(28, 19)
    )
    add_reading(session, posts["october"], "28d", 5000)
    add_reading(session, posts["old_ig"], "1d", 400, {"reach": 400})
    add_reading(session, posts["old_ig"], "7d", 1200, {"reach": 1200, "likes": 80})
    add_reading(session, posts["new_fb"], "7d", 300)
    add_reading(session, posts["bad_ig"], "7d", 900)
    add_reading(session, posts["fixed_fb"], "7d", 500)
    _event(
        session, posts["still_failed"], _wib(14, 19), PostState.FAILED, "publisher-1", FAILURE_NOTE
    )
    _event(session, posts["fixed_fb"], _wib(17, 12), PostState.FAILED, "publisher-1", "HTTP 500")
    _event(session, posts["fixed_fb"], _wib(17, 15), PostState.APPROVED, "staff@bpipi.id")
    _event(session, posts["fixed_fb"], _wib(17, 16), PostState.PUBLISHED, "publisher-1")
    session.commit()
    assert session.query(Feature).count() == 6
    return Month(posts)


def point_cli(engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The CLI run in tmp_path on `engine`'s database, its reports under tmp_path/reports (the
    folder returned), no IFN_ setting leaking in, the terminal 200 columns wide."""
    for key in list(os.environ):
        if key.startswith("IFN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "reports"
    monkeypatch.setenv("IFN_DATABASE__URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("IFN_REPORT__DIR", str(folder))
    monkeypatch.setattr(base.out, "width", 200)
    return folder
