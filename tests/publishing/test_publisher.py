"""Publishing approved posts to the platform sandboxes over real HTTP: Instagram now, a Facebook
post natively scheduled, a YouTube Short uploaded with publishAt; the ledger gets its features;
a second run sends nothing."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.models import Feature, Member, Post, PostState
from ifn_campaign.posts.withdrawal import cancel_disallowed
from ifn_campaign.publishing.publisher import Publisher, reconcile, take_down
from tests.support.publishing import World, approved_posts


@pytest.mark.slow
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
