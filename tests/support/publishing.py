"""Posts composed and approved in a `World` (a synced database plus the platform sandboxes), and
how to read them back, for the publisher, orchestration and consent tests."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.captions.writer import CaptionWriter
from ifn_campaign.cards.brand import BrandKit
from ifn_campaign.cards.render import Renderer
from ifn_campaign.cards.shorts import post_video
from ifn_campaign.cards.template import load_all
from ifn_campaign.config import Settings
from ifn_campaign.models import (
    MediaRole,
    Member,
    MemberMedia,
    Post,
    PostEvent,
    PostState,
)
from ifn_campaign.planner.campaign import Campaign
from ifn_campaign.posts.compose import compose_posts
from ifn_campaign.posts.lifecycle import move
from ifn_sandbox.graph import GraphAccount
from ifn_sandbox.platforms import PlatformSandboxes

# when this test process started: composed campaigns start 30 days before it
NOW = datetime.now(UTC)


def campaign(**overrides: Any) -> Campaign:
    data: dict[str, Any] = {
        "name": "uji",
        "title": "Pekan Uji",
        "start": (NOW - timedelta(days=30)).date(),
        "holidays": "ignore",
        "hashtags": ["PekanUji"],
        "channels": [
            {"channel": "instagram", "slots": [{"days": ["tue", "thu"], "time": "19:00"}]},
            {"channel": "youtube", "slots": [{"days": ["fri"], "time": "17:00"}]},
        ],
    }
    data.update(overrides)
    return Campaign.model_validate(data, context={"source": "toml"})


@dataclass
class World:
    engine: Engine
    settings: Settings
    platforms: PlatformSandboxes
    folder: Path


_video_cache: dict[str, Path] = {}


def give_video(world: World, post_id: int) -> None:
    """A real Short, made once per test process by `post_video` and copied: making one takes
    about 5 s, and the publisher's tests are about sending it, not making it (test_shorts.py is)."""
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        if "video" not in _video_cache:
            made = world.folder / "made"
            video = post_video(post, made, file=world.settings.path)
            _video_cache["video"] = video.rename(made / "shared-short.mp4")
        target = world.folder / "videos" / f"post-{post_id}.mp4"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_video_cache["video"], target)
        post.video_path = str(target)
        session.commit()


def approved_posts(
    world: World,
    slots: dict[str, datetime],
    members: dict[str, str] | None = None,
    *,
    video: bool = True,
) -> dict[str, int]:
    """One composed and approved post per channel, for different members (or the given ones),
    at the given slots; a YouTube post gets its Short unless `video` is False, when the publisher
    has to make it."""
    brand = BrandKit.load()
    renderer = Renderer(brand, load_all(palette=brand.palette), world.settings.cards.cache_dir)
    now = datetime.now(UTC)
    c = campaign(
        channels=[{"channel": ch, "slots": [{"days": ["mon"], "time": "09:00"}]} for ch in slots]
    )
    ids: dict[str, int] = {}
    with Session(world.engine) as session:
        stored = session.scalars(
            select(Member).where(Member.status == "active", Member.consent_withdrawn_at.is_(None))
        ).all()
        usable = [m for m in stored if set(slots) <= set(m.consent_channels or [])]
        if members:
            usable = [next(m for m in stored if m.id == members[ch]) for ch in slots]
        for (channel, at), member in zip(slots.items(), usable, strict=False):
            post = Post(
                campaign=c.name,
                channel=channel,
                account="bpipi",
                slot_at=at,
                member_id=member.id,
                template="sorotan",
                reason_id="uji",
                reason_en="test",
                state_changed_at=now,
                created_at=now,
            )
            session.add(post)
            session.flush()
            ids[channel] = post.id or 0
        session.commit()
        compose_posts(
            session,
            renderer,
            CaptionWriter(),
            {c.name: c},
            now - timedelta(days=1),
            stored=world.settings.stored,
            file=world.settings.path,
            post_ids=list(ids.values()),
        )
        for post in session.scalars(select(Post).where(Post.id.in_(list(ids.values())))):
            assert post.state == PostState.COMPOSED, post.compose_notes
            move(session, post, PostState.APPROVED, actor="staff:test", now=now)
        session.commit()
    if video and "youtube" in ids:
        give_video(world, ids["youtube"])
    return ids


def members_by_photos(world: World) -> dict[int, list[str]]:
    """Promotable Instagram members by how many stored (usable) photos they have."""
    with Session(world.engine) as session:
        rows = session.execute(
            select(Member, func.count(MemberMedia.asset_sha256))
            .join(MemberMedia, MemberMedia.member_id == Member.id, isouter=True)
            .where(
                Member.status == "active",
                Member.consent_withdrawn_at.is_(None),
                MemberMedia.role == MediaRole.PHOTO,
            )
            .group_by(Member.id)
        ).all()
    found: dict[int, list[str]] = {}
    for member, photos in rows:
        if "instagram" in (member.consent_channels or []):
            found.setdefault(int(photos), []).append(member.id)
    return found


IG = GraphAccount().ig_user_id
TOKEN = GraphAccount().token


def approved(world: World, channel: str, slots: list[datetime]) -> list[int]:
    """Composed and approved posts on one channel, one member each, at these slots."""
    brand = BrandKit.load()
    renderer = Renderer(brand, load_all(palette=brand.palette), world.settings.cards.cache_dir)
    now = datetime.now(UTC)
    c = campaign(channels=[{"channel": channel, "slots": [{"days": ["mon"], "time": "09:00"}]}])
    with Session(world.engine) as session:
        members = session.scalars(
            select(Member)
            .where(Member.status == "active", Member.consent_withdrawn_at.is_(None))
            .order_by(Member.id)
        ).all()
        usable = [m for m in members if channel in (m.consent_channels or [])]
        assert len(usable) >= len(slots)
        posts = [
            Post(
                campaign=c.name,
                channel=channel,
                account="bpipi",
                slot_at=at,
                member_id=member.id,
                template="sorotan",
                reason_id="uji",
                reason_en="test",
                state_changed_at=now,
                created_at=now,
            )
            for at, member in zip(slots, usable, strict=False)
        ]
        session.add_all(posts)
        session.commit()
        ids = [p.id or 0 for p in posts]
        compose_posts(
            session,
            renderer,
            CaptionWriter(),
            {c.name: c},
            now - timedelta(days=1),
            stored=world.settings.stored,
            file=world.settings.path,
            post_ids=ids,
        )
        for post in session.scalars(select(Post).where(Post.id.in_(ids))):
            assert post.state == PostState.COMPOSED, post.compose_notes
            move(session, post, PostState.APPROVED, actor="staff:test", now=now)
        session.commit()
    return ids


def load(world: World, post_id: int) -> tuple[Post, list[PostEvent]]:
    with Session(world.engine, expire_on_commit=False) as session:
        post = session.get(Post, post_id)
        assert post is not None
        events = session.scalars(
            select(PostEvent).where(PostEvent.post_id == post_id).order_by(PostEvent.id)
        ).all()
        return post, list(events)


def aware(moment: datetime | None) -> datetime:
    assert moment is not None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def next_pacific_midnight(now: datetime) -> datetime:
    la = ZoneInfo("America/Los_Angeles")
    day = now.astimezone(la).date() + timedelta(days=1)
    return datetime.combine(day, time(0), tzinfo=la).astimezone(UTC)


def youtube_post(world: World, slot: datetime) -> int:
    (post_id,) = approved(world, "youtube", [slot])
    give_video(world, post_id)
    return post_id


def _session(workdir: Path) -> Session:
    return Session(store.open_store(f"sqlite:///{workdir / 'ifn.db'}"))


def _tools(workdir: Path) -> tuple[Renderer, CaptionWriter]:
    brand = BrandKit.load()
    return Renderer(brand, load_all(palette=brand.palette), workdir / "cards"), CaptionWriter()
