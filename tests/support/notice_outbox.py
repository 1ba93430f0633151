"""The outbox tests' world: a migrated database (SQLite or PostgreSQL), settings with their data
folder in the test's folder, members stored as the registry gives them (with the contact
details and consent fields the notices read) and their posts, a card file for them, and the
fixed clock of those tests (Sunday 6 December 2026, 10:00 WIB)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.models import Feature, Notice, NoticeState, Post, PostState
from ifn_campaign.notices.outbox import QueueReport, queue_due
from tests.support.ledger import add_member, add_post

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)  # Minggu, 6 Desember 2026 10.00 WIB
SLOT = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)  # Selasa, 8 Desember 2026 19.00 WIB
CAPTION = "Sepatu kulit buatan tangan dari Cibaduyut. #SorotanAnggotaIFN"
_serial = itertools.count(1)


@dataclass
class NoticeWorld:
    """Database, settings and a card of one test."""

    engine: Engine
    settings: Settings
    card: Path

    def session(self) -> Session:
        return Session(self.engine)

    def member(self, member_id: str, **kw: Any) -> str:
        """A member who allowed e-mail and WhatsApp, with an address and a number (`kw`
        overrides any field: `contact=`, `consent_fields_allowed=`, `status=` ...)."""
        values: dict[str, Any] = {
            "business_name": f"Sepatu {member_id}",
            "contact": {"email": f"{member_id}@sepatu.co.id", "whatsapp": "0812-3456-7890"},
            "consent_fields_allowed": ["email", "whatsapp", "owner_name"],
        }
        values.update(kw)
        with self.session() as session:
            add_member(session, member_id, **values)
            session.commit()
        return member_id

    def post(
        self,
        member_id: str,
        state: str = PostState.APPROVED,
        *,
        slot_at: datetime = SLOT,
        caption: str | None = CAPTION,
        channel: str = "instagram",
        **kw: Any,
    ) -> int:
        """A composed post (caption and card) of `member_id`, each in its own campaign so the
        slots never collide."""
        with self.session() as session:
            post_id = add_post(
                session,
                member_id,
                state,
                channel,
                slot_at=slot_at,
                caption=caption,
                card_path=self.settings.stored(self.card),
                campaign=f"sorotan-{next(_serial)}",
                **kw,
            )
            session.commit()
        return post_id

    def publish(self, post_id: int, permalink: str | None, *, at: datetime = NOW) -> None:
        """The post out, as reconcile leaves it: published, with its ledger row and link."""
        with self.session() as session:
            post = session.get(Post, post_id)
            assert post is not None
            post.state = PostState.PUBLISHED
            post.published_at = at
            post.permalink = permalink
            session.add(
                Feature(
                    post_id=post_id,
                    member_id=post.member_id,
                    campaign=post.campaign,
                    channel=post.channel,
                    account=post.account,
                    featured_at=at,
                    permalink=permalink,
                    created_at=at,
                )
            )
            session.commit()

    def change(self, post_id: int, **values: Any) -> None:
        with self.session() as session:
            post = session.get(Post, post_id)
            assert post is not None
            for name, value in values.items():
                setattr(post, name, value)
            session.commit()

    def queue(self, now: datetime = NOW, settings: Settings | None = None) -> QueueReport:
        with self.session() as session:
            report = queue_due(session, settings or self.settings, now=now)
            session.commit()
        return report

    def notices(self, post_id: int | None = None) -> list[Notice]:
        with self.session() as session:
            query = select(Notice).order_by(Notice.id)
            if post_id is not None:
                query = query.where(Notice.post_id == post_id)
            rows = list(session.scalars(query))
            session.expunge_all()
        return rows

    def mark(self, notice_id: int, state: str = NoticeState.SENT) -> None:
        """A notice as the sender leaves it (sent, failed, uncertain)."""
        with self.session() as session:
            notice = session.get(Notice, notice_id)
            assert notice is not None
            notice.state = state
            notice.sent_at = NOW if state == NoticeState.SENT else None
            session.commit()


def make_card(folder: Path) -> Path:
    """A small JPEG standing in for a member's card (the compose tests draw real ones)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "card-sorotan.jpg"
    Image.new("RGB", (108, 135), (122, 59, 18)).save(path, "JPEG")
    return path


def settings_for(db_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Settings on the test's database, the data folder (member-page key, cards) `data_dir`."""
    values: dict[str, Any] = {
        "database": {"url": db_url},
        "data_dir": data_dir,
        "member_page": {"base_url": "https://ifn.example.org"},
    }
    values.update(overrides)
    return Settings(**values)
