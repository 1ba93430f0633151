"""A YouTube thumbnail refused for a passing reason (5xx, rateLimitExceeded, a dropped
connection, quotaExceeded) is kept "pending" and set by a later reconcile; one refused for good
is "failed" with YouTube's reason; the video goes out either way. Over HTTP against the YouTube
sandbox's fault injection."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.models import PlatformBlock, Post, PostState
from ifn_campaign.publishing.publisher import Publisher, reconcile
from ifn_sandbox.http import Fault
from ifn_sandbox.youtube import YouTubeSandbox
from tests.support.publishing import World, approved_posts

THUMBNAILS = "/upload/youtube/v3/thumbnails/set"
ATTEMPTS = 5  # the client's 4 retries and the first call

TRANSIENT: dict[str, Callable[[YouTubeSandbox], Fault]] = {
    "backendError": lambda yt: yt.error_fault(
        503, "backendError", path=THUMBNAILS, retry_after=0, times=ATTEMPTS
    ),
    "rateLimitExceeded": lambda yt: yt.error_fault(
        403,
        "rateLimitExceeded",
        domain="usageLimits",
        path=THUMBNAILS,
        retry_after=0,
        times=ATTEMPTS,
    ),
    "quotaExceeded": lambda yt: yt.error_fault(
        403, "quotaExceeded", domain="youtube.quota", path=THUMBNAILS
    ),
    "connection": lambda yt: Fault(THUMBNAILS, "drop", times=ATTEMPTS),
}


def publish_short(world: World) -> tuple[Publisher, int]:
    post_id = approved_posts(world, {"youtube": datetime.now(UTC) + timedelta(hours=3)})["youtube"]
    publisher = Publisher(world.engine, world.settings)
    publisher.clients.youtube("bpipi")._sleep = lambda _seconds: None  # the real client, no waits
    return publisher, post_id


def stored(world: World, post_id: int) -> Post:
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None
        session.expunge(post)
        return post


def wait_out_the_quota(world: World, publisher: Publisher) -> None:
    """The quota is spent until midnight Pacific, for every run: reconcile does not call
    thumbnails.set (50 units) before then, and does after."""
    with Session(world.engine) as session:
        (block,) = session.scalars(select(PlatformBlock)).all()
    assert block.scope == "app" and block.key.startswith("youtube:")
    calls = len(world.platforms.youtube.requests.matching(THUMBNAILS))
    report = reconcile(publisher)
    assert report.thumbnails == [] and report.problems, report
    assert len(world.platforms.youtube.requests.matching(THUMBNAILS)) == calls
    later = block.blocked_until + timedelta(minutes=1)
    publisher.clock = lambda: later


@pytest.mark.parametrize("why", sorted(TRANSIENT))
def test_a_passing_refusal_leaves_the_thumbnail_pending_for_reconcile(
    world: World, why: str
) -> None:
    youtube = world.platforms.youtube
    publisher, post_id = publish_short(world)
    youtube.faults.add(TRANSIENT[why](youtube))
    report = publisher.run()
    assert report.scheduled == [post_id], report  # the video is up all the same
    post = stored(world, post_id)
    assert post.state == PostState.SCHEDULED and post.thumbnail_state == "pending"
    (note,) = [n for n in post.compose_notes or [] if n.startswith("thumbnail")]
    assert note.startswith("thumbnail not set yet: ") and note.endswith("; retried by reconcile")
    (video,) = youtube.videos()
    assert video.thumbnail is None
    if why == "quotaExceeded":
        wait_out_the_quota(world, publisher)

    again = reconcile(publisher)
    assert again.thumbnails == [post_id], again
    post = stored(world, post_id)
    assert post.thumbnail_state == "set"
    assert not [n for n in post.compose_notes or [] if n.startswith("thumbnail")]
    (video,) = youtube.videos()
    assert video.thumbnail is not None
    calls = len(youtube.requests.matching(THUMBNAILS))
    assert reconcile(publisher).thumbnails == []  # set: never sent again
    assert len(youtube.requests.matching(THUMBNAILS)) == calls


def test_a_refusal_for_good_is_failed_with_youtubes_reason_and_not_retried(
    world: World,
) -> None:
    youtube = world.platforms.youtube
    publisher, post_id = publish_short(world)
    youtube.faults.add(
        youtube.error_fault(
            400,
            "invalidImage",
            message="The provided image content is invalid.",
            domain="youtube.thumbnail",
            path=THUMBNAILS,
        )
    )
    assert publisher.run().scheduled == [post_id]
    post = stored(world, post_id)
    assert post.thumbnail_state == "failed"
    (note,) = [n for n in post.compose_notes or [] if n.startswith("thumbnail")]
    assert note.startswith("thumbnail not set: ") and "image content is invalid" in note
    calls = len(youtube.requests.matching(THUMBNAILS))
    assert reconcile(publisher).thumbnails == []
    assert len(youtube.requests.matching(THUMBNAILS)) == calls


def test_a_thumbnail_set_at_once_is_set(world: World) -> None:
    publisher, post_id = publish_short(world)
    publisher.run()
    post = stored(world, post_id)
    assert post.thumbnail_state == "set"
    assert not [n for n in post.compose_notes or [] if n.startswith("thumbnail")]
