"""Publishing approved posts to the platform sandboxes over real HTTP: Instagram now, a Facebook
post natively scheduled, a YouTube Short uploaded with publishAt; the ledger gets its features;
a second run sends nothing."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.captions.writer import CaptionWriter
from ifn_campaign.cards.brand import BrandKit
from ifn_campaign.cards.render import Renderer
from ifn_campaign.cards.shorts import post_video
from ifn_campaign.cards.template import load_all
from ifn_campaign.config import Settings
from ifn_campaign.models import Feature, Member, Post, PostState
from ifn_campaign.posts.compose import compose_posts
from ifn_campaign.posts.lifecycle import move
from ifn_campaign.posts.withdrawal import cancel_disallowed
from ifn_campaign.publishing.publisher import Publisher, reconcile, take_down
from ifn_sandbox.platforms import PlatformSandboxes
from tests.posts.test_compose_review import campaign, synced_db  # noqa: F401  (fixture)


@dataclass
class World:
    engine: Engine
    settings: Settings
    platforms: PlatformSandboxes
    folder: Path


@pytest.fixture
def world(synced_db: Path, tmp_path: Path) -> Iterator[World]:  # noqa: F811
    with sqlite3.connect(synced_db / "ifn.db") as src, sqlite3.connect(tmp_path / "ifn.db") as dst:
        src.backup(dst)
    url = f"sqlite:///{tmp_path / 'ifn.db'}"
    base = Settings(database={"url": url}, media={"dir": synced_db / "media"})
    with PlatformSandboxes(tmp_path / "cards", container_ready_after=0.0) as platforms:
        engine = store.open_store(url)
        yield World(engine, platforms.settings(base), platforms, tmp_path)
        engine.dispose()


_video_cache: dict[str, Path] = {}


def give_video(world: World, post_id: int) -> None:
    """A real Short, made once per test process by `post_video` and copied: making one takes
    about 5 s, and the publisher's tests are about sending it, not making it (test_shorts.py is)."""
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        if "video" not in _video_cache:
            made = world.folder / "made"
            _video_cache["video"] = post_video(post, made).rename(made / "shared-short.mp4")
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
            post_ids=list(ids.values()),
        )
        for post in session.scalars(select(Post).where(Post.id.in_(list(ids.values())))):
            assert post.state == PostState.COMPOSED, post.compose_notes
            move(session, post, PostState.APPROVED, actor="staff:test", now=now)
        session.commit()
    if video and "youtube" in ids:
        give_video(world, ids["youtube"])
    return ids


def test_publish_all_three_then_nothing_twice(world: World) -> None:
    now = datetime.now(UTC)
    ids = approved_posts(
        world,
        {
            "instagram": now - timedelta(minutes=1),
            "facebook": now + timedelta(days=2),
            "youtube": now + timedelta(hours=3),
        },
        video=False,  # the publisher makes the Short itself when compose did not
    )
    publisher = Publisher(world.engine, world.settings)
    report = publisher.run()
    assert not report.failed, report.failed
    assert len(report.published) == 1 and len(report.scheduled) == 2
    with Session(world.engine) as session:
        posts = {
            p.channel: p
            for p in session.scalars(select(Post).where(Post.id.in_(list(ids.values()))))
        }
        features = session.scalars(select(Feature)).all()
    ig, fb, yt = posts["instagram"], posts["facebook"], posts["youtube"]
    assert ig.state == PostState.PUBLISHED and ig.remote_id and ig.permalink
    assert fb.state == PostState.SCHEDULED and fb.remote_id
    assert yt.state == PostState.SCHEDULED and yt.remote_id
    assert [f.post_id for f in features] == [ig.id]
    graph, youtube = world.platforms.graph, world.platforms.youtube
    assert len(graph.media()) == 1
    assert graph.media()[0].caption == ig.caption
    assert len(graph.posts()) == 1 and not graph.posts()[0].is_published(now)
    (video,) = youtube.videos()
    assert video.privacy_at(now) == "private" and video.status.get("publishAt")
    assert video.thumbnail  # the 1280x720 card
    made = Path(yt.video_path or "")
    assert made.is_file() and video.data_sha256 == hashlib.sha256(made.read_bytes()).hexdigest()

    calls = len(graph.requests) + len(youtube.requests)
    again = Publisher(world.engine, world.settings).run()
    assert again.published == again.scheduled == again.failed == []
    assert len(graph.requests) + len(youtube.requests) == calls  # nothing due, nothing sent


def test_reconcile_confirms_native_schedules_and_notices_removals(world: World) -> None:
    now = datetime.now(UTC)
    ids = approved_posts(
        world,
        {
            "instagram": now - timedelta(minutes=1),
            "facebook": now + timedelta(days=2),
            "youtube": now + timedelta(hours=3),
        },
    )
    Publisher(world.engine, world.settings).run()
    later = now + timedelta(days=3)
    world.platforms.graph.advance(3 * 86400)
    world.platforms.youtube.advance(3 * 86400)
    before = reconcile(Publisher(world.engine, world.settings, clock=lambda: now))
    assert before.went_live == []  # nothing scheduled is due yet
    report = reconcile(Publisher(world.engine, world.settings, clock=lambda: later))
    assert sorted(report.went_live) == sorted([ids["facebook"], ids["youtube"]])
    with Session(world.engine) as session:
        posts = {p.channel: p for p in session.scalars(select(Post))}
        features = {f.post_id: f for f in session.scalars(select(Feature))}
    assert posts["facebook"].state == posts["youtube"].state == PostState.PUBLISHED
    assert set(features) == set(ids.values())
    assert features[ids["youtube"]].permalink == (
        f"https://www.youtube.com/shorts/{posts['youtube'].remote_id}"
    )
    assert features[ids["facebook"]].permalink
    # Staff deleted the Instagram post in the app: reconcile notices and says so.
    with world.platforms.graph._lock:
        world.platforms.graph._media.clear()
    gone = reconcile(Publisher(world.engine, world.settings, clock=lambda: later))
    assert gone.removed == [ids["instagram"]]
    with Session(world.engine) as session:
        ig = session.get(Post, ids["instagram"])
        assert ig is not None and ig.taken_down_at is not None
        assert ig.last_error == "no longer on instagram: removed on the platform"


def test_a_withdrawal_deletes_what_is_already_scheduled_on_the_platforms(world: World) -> None:
    """Consent first: Facebook and YouTube hold the scheduled posts; after the member withdraws,
    the sync's cancellation is carried out on the platforms too."""
    now = datetime.now(UTC)
    ids = approved_posts(
        world, {"facebook": now + timedelta(days=2), "youtube": now + timedelta(hours=3)}
    )
    publisher = Publisher(world.engine, world.settings)
    publisher.run()
    assert len(world.platforms.graph.posts()) == 1 and len(world.platforms.youtube.videos()) == 1
    with Session(world.engine) as session:
        members = [session.get(Post, i).member_id for i in ids.values()]  # type: ignore[union-attr]
        for member_id in members:
            member = session.get(Member, member_id)
            assert member is not None
            member.consent_withdrawn_at = now
        report = cancel_disallowed(session, members, now)
        session.commit()
    assert len(report.cancelled) == 2
    removed = take_down(publisher)
    assert sorted(removed.removed) == sorted(ids.values()) and not removed.problems
    assert world.platforms.graph.posts() == [] and world.platforms.youtube.videos() == []
    assert take_down(publisher).removed == []  # done once, not again
