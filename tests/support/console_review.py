"""Posts awaiting review for the console's review tests: members stored as the registry would
give them (one with a hostile name), planned posts on all three channels composed by the
project's compose stage (real cards and captions in `cards.cache_dir`), an Instagram carousel
and a YouTube Short file, and campaign files (one with the four-eyes rule)."""

from __future__ import annotations

import functools
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.captions.writer import CaptionWriter
from ifn_campaign.cards.brand import BrandKit
from ifn_campaign.cards.render import Renderer
from ifn_campaign.cards.shorts import video_folder
from ifn_campaign.cards.template import CardTemplate, load_all
from ifn_campaign.config import Settings
from ifn_campaign.models import Post, PostState
from ifn_campaign.planner.campaign import Campaign
from ifn_campaign.posts.compose import compose_posts
from tests.support.ledger import add_member

CAMPAIGN = "uji"
FOUR_EYES = "empat-mata"  # its file says four_eyes = true
HOSTILE_NAME = '<script>alert("x")</script> Sepatu \u202eJaya & "Putra" {{ 7*7 }}'
HOSTILE_CAPTION = '<img src=x onerror=alert(1)> "quoted" & <b>bold</b> {{ config }}'
# bytes enough for the route to serve; the page plays whatever the file holds
SHORT_BYTES = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


@dataclass(frozen=True)
class ReviewPosts:
    """The composed posts' ids by what they are."""

    instagram: int
    facebook: int
    youtube: int
    hostile: int  # an Instagram post of the member with the hostile name
    four_eyes: int  # an Instagram post of the four-eyes campaign

    @property
    def all(self) -> list[int]:
        return [self.instagram, self.facebook, self.youtube, self.hostile, self.four_eyes]


def _campaign_text(name: str, start: datetime, four_eyes: bool) -> str:
    return "\n".join(
        [
            f'name = "{name}"',
            'title = "Pekan Uji"',
            f"start = {start.date().isoformat()}",
            'holidays = "ignore"',
            'hashtags = ["PekanUji"]',
            f"four_eyes = {str(four_eyes).lower()}",
            "",
            "[[channels]]",
            'channel = "instagram"',
            'account = "bpipi"',
            "[[channels.slots]]",
            'days = ["tue"]',
            'time = "19:00"',
            "",
        ]
    )


def _campaign(name: str, start: datetime) -> Campaign:
    data: dict[str, Any] = {
        "name": name,
        "title": "Pekan Uji",
        "start": start.date(),
        "holidays": "ignore",
        "hashtags": ["PekanUji"],
        "channels": [
            {"channel": ch, "slots": [{"days": ["tue"], "time": "19:00"}]}
            for ch in ("instagram", "facebook", "youtube")
        ],
    }
    return Campaign.model_validate(data, context={"source": "toml"})


def write_campaigns(folder: Path, now: datetime) -> None:
    """The two campaigns' files, so the library reads their rules (four eyes) as in production."""
    folder.mkdir(parents=True, exist_ok=True)
    start = now - timedelta(days=30)
    for name, four_eyes in ((CAMPAIGN, False), (FOUR_EYES, True)):
        (folder / f"{name}.toml").write_text(_campaign_text(name, start, four_eyes), "utf-8")


@functools.cache
def _brand() -> tuple[BrandKit, dict[str, CardTemplate]]:
    brand = BrandKit.load()
    return brand, load_all(palette=brand.palette)


def compose_review_posts(
    settings: Settings, session: Session, now: datetime, shared_cards: Path | None = None
) -> ReviewPosts:
    """Members and their posts, planned then composed; a day apart from tomorrow on.

    `shared_cards`, a folder kept for the test session: cards are content-addressed, so those
    drawn by an earlier test are copied in rather than drawn again, and new ones copied back."""
    cache = settings.cards.cache_dir
    if shared_cards is not None and shared_cards.is_dir():
        shutil.copytree(shared_cards, cache, dirs_exist_ok=True)
    add_member(session, "ifn-ig", business_name="Sepatu Kulit Cibaduyut", city="Bandung")
    add_member(session, "ifn-fb", business_name="Sandal Jepit Bali", city="Denpasar")
    add_member(session, "ifn-yt", business_name="Sepatu Hoki 鞋行", city="Surabaya")
    add_member(session, "ifn-evil", business_name=HOSTILE_NAME, province='Jawa <i>"Barat"</i>')
    add_member(session, "ifn-4", business_name="Kasut Empat Mata")
    tomorrow = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    wanted = [
        ("instagram", "ifn-ig", CAMPAIGN),
        ("facebook", "ifn-fb", CAMPAIGN),
        ("youtube", "ifn-yt", CAMPAIGN),
        ("instagram", "ifn-evil", CAMPAIGN),
        ("instagram", "ifn-4", FOUR_EYES),
    ]
    posts = []
    for day, (channel, member, campaign) in enumerate(wanted):
        post = Post(
            campaign=campaign,
            channel=channel,
            account="bpipi",
            slot_at=tomorrow + timedelta(days=day),
            member_id=member,
            template="sorotan",
            reason_id=f"giliran berikutnya <{member}>",
            reason_en=f"next in rotation <{member}>",
            state_changed_at=now,
            created_at=now,
        )
        session.add(post)
        posts.append(post)
    session.commit()
    ids = [p.id or 0 for p in posts]
    brand, templates = _brand()
    compose_posts(
        session,
        Renderer(brand, templates, cache),
        CaptionWriter.from_settings(settings),
        {name: _campaign(name, now - timedelta(days=30)) for name in (CAMPAIGN, FOUR_EYES)},
        now - timedelta(hours=1),
        stored=settings.stored,
        file=settings.path,
        post_ids=ids,
    )
    composed = {p.id: p for p in session.scalars(select(Post).where(Post.id.in_(ids)))}
    assert all(p.state == PostState.COMPOSED for p in composed.values()), [
        p.compose_notes for p in composed.values()
    ]
    instagram, facebook, youtube, hostile, _ = (composed[i] for i in ids)
    # a carousel: the card and two more images (real card files of the cache)
    instagram.slides = [
        {"path": facebook.card_path or "", "alt": 'Foto <produk> "satu"'},
        {"path": hostile.card_path or "", "alt": "Foto dua"},
    ]
    hostile.caption = HOSTILE_CAPTION
    short = video_folder(cache) / f"post-{youtube.id}.mp4"
    short.parent.mkdir(parents=True, exist_ok=True)
    short.write_bytes(SHORT_BYTES)
    youtube.video_path = settings.stored(short)
    session.commit()
    if shared_cards is not None:
        shutil.copytree(
            cache, shared_cards, dirs_exist_ok=True, ignore=shutil.ignore_patterns("videos")
        )
    return ReviewPosts(*ids)


def version(session: Session, post_id: int) -> int:
    """The post's version as a form would carry it now."""
    post = session.get(Post, post_id, populate_existing=True)
    assert post is not None
    return post.version
