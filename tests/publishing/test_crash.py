"""The crash matrix: for every platform and every remote step, the publisher process is killed
with SIGKILL before the step, right after the remote call returned (nothing stored yet) and
right after its result was stored; a rerun must end with exactly one post on the sandbox and a
consistent ledger and event log.

The sandboxes run in the test process (they outlive the killed publisher); the publisher runs in
a subprocess configured only through IFN_* variables, as production would be. Between the killed
run and the rerun the post's claim is moved into the past by more than `publish.lease_seconds`
(the lease passing), since the claim of a crashed worker is only taken over once it lapses.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import Settings
from ifn_campaign.models import Feature, Post, PostEvent, PostState
from ifn_campaign.publishing.publisher import Publisher
from ifn_sandbox.platforms import PlatformSandboxes
from tests.support.crash import lapse_claim, run_publisher
from tests.support.publishing import World, approved_posts, give_video, members_by_photos

pytestmark = pytest.mark.slow

STEPS = {
    "instagram": ["container", "wait", "publish"],
    "instagram-carousel": ["items", "container", "wait", "publish"],
    "facebook": ["fb_post"],
    "facebook-now": ["fb_post"],
    "youtube": ["yt_session", "yt_upload", "yt_thumbnail"],
}
CASES = [
    pytest.param(channel, f"{when}:{step}", id=f"{channel}-{when}:{step}")
    for channel, steps in STEPS.items()
    for step in steps
    for when in ("before", "called", "after")
]


def remote_count(world: World, channel: str, post: Post) -> list[str]:
    """The ids of what exists on the sandbox for this post."""
    if channel == "instagram":
        return [m.id for m in world.platforms.graph.media() if m.caption == post.caption]
    if channel == "facebook":
        return [p.id for p in world.platforms.graph.posts() if p.message == post.caption]
    return [v.id for v in world.platforms.youtube.videos() if v.snippet["title"] == post.title]


@pytest.mark.parametrize(("channel", "point"), CASES)
def test_crash_then_rerun_posts_exactly_once(world: World, channel: str, point: str) -> None:
    now = datetime.now(UTC)
    slot = {
        "instagram": now - timedelta(minutes=1),
        "instagram-carousel": now - timedelta(minutes=1),
        "facebook": now + timedelta(days=2),
        "facebook-now": now - timedelta(minutes=1),
        "youtube": now + timedelta(hours=3),
    }[channel]
    platform = channel.removesuffix("-now").removesuffix("-carousel")
    members = None
    if channel == "instagram-carousel":
        several = next(ids for n, ids in sorted(members_by_photos(world).items()) if n >= 2)
        members = {platform: several[0]}
    post_id = approved_posts(world, {platform: slot}, members)[platform]
    if platform == "youtube":
        give_video(world, post_id)

    killed = run_publisher(world, crash_at=point)
    assert killed.returncode == -9, (killed.returncode, killed.stdout, killed.stderr[-3000:])
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        assert post.state == PostState.PUBLISHING and post.claimed_by
        step = point.split(":")[1]
        assert post.publish_step == ("yt_done" if point == "after:yt_thumbnail" else step)

    # before the lease lapses, nobody touches the post
    calls = len(world.platforms.graph.requests) + len(world.platforms.youtube.requests)
    assert Publisher(world.engine, world.settings).run().published == []
    assert len(world.platforms.graph.requests) + len(world.platforms.youtube.requests) == calls

    lapse_claim(world, post_id)
    rerun = run_publisher(world)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    report: dict[str, Any] = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert report["failed"] == report["needs_reauth"] == [], report

    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        features = session.scalars(select(Feature).where(Feature.post_id == post_id)).all()
        events = session.scalars(
            select(PostEvent).where(PostEvent.post_id == post_id).order_by(PostEvent.id)
        ).all()
        remote = remote_count(world, platform, post)
        assert len(remote) == 1, f"{point}: {len(remote)} on the sandbox"
        assert post.remote_id == remote[0]
        assert post.claimed_by is None and post.claimed_at is None
        if platform == "instagram" or channel == "facebook-now":
            assert post.state == PostState.PUBLISHED
            assert post.permalink and post.published_at
            assert [(f.post_id, f.permalink) for f in features] == [(post_id, post.permalink)]
        else:
            assert post.state == PostState.SCHEDULED
            assert features == []
        if channel == "instagram-carousel":
            (media,) = world.platforms.graph.media()
            assert media.media_type == "CAROUSEL_ALBUM"
            assert len(post.slide_container_ids or []) == 1 + len(post.slides or [])
        if platform == "youtube":
            (video,) = world.platforms.youtube.videos()
            assert video.thumbnail
            assert video.status.get("publishAt")

    # the event log is a chain ending in the post's state, with one claim and one takeover
    chain = [(e.from_state, e.to_state) for e in events]
    for (_, to), (after, _) in itertools.pairwise(chain):
        assert to == after, chain
    assert chain[-1][1] == post.state, chain
    assert chain.count((PostState.APPROVED, PostState.PUBLISHING)) >= 1, chain
    takeovers = [e for e in events if e.note and "claim lapsed" in e.note]
    assert len(takeovers) == 1, chain
    assert sum(1 for _, to in chain if to in (PostState.PUBLISHED, PostState.SCHEDULED)) == 1

    # and once more: nothing is due, nothing is sent
    calls = len(world.platforms.graph.requests) + len(world.platforms.youtube.requests)
    assert Publisher(world.engine, world.settings).run().published == []
    assert len(world.platforms.graph.requests) + len(world.platforms.youtube.requests) == calls


@pytest.fixture
def late_world(synced_db: Path, tmp_path: Path) -> Iterator[tuple[World, list[timedelta]]]:
    """A world whose Graph sandbox clock can be shifted: it starts two hours behind the wall
    clock, so what the killed run made looks two hours old to the rerun."""
    shift = [timedelta(hours=-2)]
    with sqlite3.connect(synced_db / "ifn.db") as src, sqlite3.connect(tmp_path / "ifn.db") as dst:
        src.backup(dst)
    url = f"sqlite:///{tmp_path / 'ifn.db'}"
    base = Settings(database={"url": url}, media={"dir": synced_db / "media"})

    def clock() -> datetime:
        return datetime.now(UTC) + shift[0]

    with PlatformSandboxes(tmp_path / "cards", container_ready_after=0.0, clock=clock) as p:
        engine = store.open_store(url)
        yield World(engine, p.settings(base), p, tmp_path), shift
        engine.dispose()


@pytest.mark.parametrize(
    ("channel", "point"), [("instagram", "called:publish"), ("facebook", "called:fb_post")]
)
def test_rerun_hours_after_a_crash_still_finds_the_post(
    late_world: tuple[World, list[timedelta]], channel: str, point: str
) -> None:
    """The post went out at its slot, the worker died before storing the id, and no publisher
    ran for two hours: the rerun must still find the post (id and link), not mark it published
    blind."""
    world, shift = late_world
    now = datetime.now(UTC)
    post_id = approved_posts(world, {channel: now - timedelta(hours=2, minutes=1)})[channel]
    killed = run_publisher(world, crash_at=point)
    assert killed.returncode == -9, killed.stderr[-3000:]

    shift[0] = timedelta(0)  # two hours later
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.claimed_at is not None
        post.claimed_at -= timedelta(hours=2)
        session.commit()
    rerun = run_publisher(world)
    assert rerun.returncode == 0, rerun.stderr[-3000:]

    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        (feature,) = session.scalars(select(Feature).where(Feature.post_id == post_id)).all()
        remote = remote_count(world, channel, post)
        assert len(remote) == 1
        assert post.state == PostState.PUBLISHED
        assert post.remote_id == remote[0], "published without the platform's id"
        assert post.permalink and feature.permalink == post.permalink


@pytest.mark.parametrize("point", ["called:fb_post", "before:fb_post"])
def test_facebook_crash_then_rerun_inside_the_schedule_margin(world: World, point: str) -> None:
    """Scheduled natively 20 min ahead, killed before the post id was stored (after the call,
    or before it went out); the rerun comes when the slot is less than the scheduling margin
    away (not native any more). Were the lost call's copy not there, the photo would go out
    live, so not before the slot: the post goes back for a run near the slot, which finds the
    scheduled post instead of posting the photo a second time (or, the call never made, posts
    it live at the slot), and records it."""
    now = datetime.now(UTC)
    slot = now + timedelta(minutes=20)
    post_id = approved_posts(world, {"facebook": slot})["facebook"]
    killed = run_publisher(world, crash_at=point)
    assert killed.returncode == -9, killed.stderr[-3000:]
    sent = 1 if point.startswith("called:") else 0

    later = timedelta(minutes=16)  # the lease (15 min by default) has passed
    graph = world.platforms.graph
    graph.advance(later.total_seconds())
    report = Publisher(world.engine, world.settings, clock=lambda: datetime.now(UTC) + later).run()
    assert report.failed == [], report.failed
    assert [p for p, _ in report.retry_later] == [post_id]
    lead = timedelta(seconds=world.settings.publish.lead_seconds)
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.state == PostState.APPROVED
        assert post.next_attempt_at == slot - lead and post.publish_step == "fb_post"
        assert len(remote_count(world, "facebook", post)) == sent  # the lost call's, scheduled

    # a run half a minute before the slot, on the sandbox's clock: its wait moves that clock on
    graph.advance((slot - timedelta(seconds=30) - graph.now()).total_seconds())
    near = Publisher(world.engine, world.settings, clock=graph.now, sleep=graph.advance)
    report = near.run()
    assert report.published == [post_id] and report.failed == [], report
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        remote = remote_count(world, "facebook", post)
        assert len(remote) == 1, "posted twice"
        assert post.remote_id == remote[0] and post.state == PostState.PUBLISHED
        (page_post,) = graph.posts()
        assert page_post.is_published(graph.now())
        if not sent:  # the call never went out: posted live by the near run, at its slot
            assert page_post.scheduled_publish_time is None and page_post.created_at >= slot
        (feature,) = session.scalars(select(Feature).where(Feature.post_id == post_id)).all()
        assert feature.permalink == post.permalink


@pytest.mark.parametrize("point", ["before:replace", "called:replace", "after:replace"])
def test_crash_while_replacing_a_moved_post_leaves_one_copy(world: World, point: str) -> None:
    """Staff moved a post scheduled on Facebook; the worker dies around deleting the old copy.
    The rerun must end with the old copy gone and exactly one copy at the new time."""
    from ifn_campaign.posts.lifecycle import reopen

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    post_id = approved_posts(world, {"facebook": now + timedelta(days=2)})["facebook"]
    assert Publisher(world.engine, world.settings).run().scheduled == [post_id]
    new_at = now + timedelta(days=3)
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        old = post.remote_id
        reopen(session, post, actor="staff:test", now=now, why="moved")
        post.slot_at = new_at
        session.commit()

    killed = run_publisher(world, crash_at=point)
    assert killed.returncode == -9, (killed.returncode, killed.stderr[-3000:])
    if point != "after:replace":
        lapse_claim(world, post_id)
    rerun = run_publisher(world)
    assert rerun.returncode == 0, rerun.stderr[-3000:]

    graph = world.platforms.graph
    (live,) = graph.posts()
    assert live.id != old and live.scheduled_publish_time == new_at
    assert [p.id for p in graph.posts(deleted=True) if p.deleted] == [old]
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.state == PostState.SCHEDULED
        assert post.remote_id == live.id and post.replaces_remote_id is None
