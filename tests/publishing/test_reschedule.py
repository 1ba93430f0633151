"""Staff move or edit a post already scheduled on Facebook or YouTube: the platform's copy is
deleted before the new one is scheduled, so exactly one copy (the new time, the new text) is
ever there; a change that comes after the old copy went live is recorded, not doubled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from ifn_campaign.cli.app import main
from ifn_campaign.models import Post, PostState
from ifn_campaign.posts.lifecycle import REPLACE_MARGIN
from ifn_campaign.publishing.publisher import Publisher, take_down
from tests.support.publishing import World, approved_posts

WIB = ZoneInfo("Asia/Jakarta")


def scheduled(world: World, slots: dict[str, datetime]) -> dict[str, Post]:
    ids = approved_posts(world, slots)
    report = Publisher(world.engine, world.settings).run()
    assert sorted(report.scheduled) == sorted(ids.values()), report
    with Session(world.engine) as session:
        return {channel: session.get(Post, i) for channel, i in ids.items()}  # type: ignore[misc]


def wib(at: datetime) -> str:
    return at.astimezone(WIB).strftime("%Y-%m-%d %H:%M")


def test_moving_and_editing_scheduled_posts_replaces_the_platform_copy(cli: World) -> None:
    world = cli
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    posts = scheduled(
        world, {"facebook": now + timedelta(days=2), "youtube": now + timedelta(hours=3)}
    )
    fb, yt = posts["facebook"], posts["youtube"]
    old_fb, old_yt = fb.remote_id, yt.remote_id
    new_fb, new_yt = now + timedelta(days=3, hours=1), now + timedelta(hours=5)

    assert main(["move", str(fb.id), "--at", wib(new_fb), "--by", "rina"]) == 0
    assert main(["edit-caption", str(fb.id), "--text", "Sepatu kulit dari Cibaduyut."]) == 0
    assert main(["move", str(yt.id), "--at", wib(new_yt), "--by", "rina"]) == 0
    with Session(world.engine) as session:
        for post_id, old in ((fb.id, old_fb), (yt.id, old_yt)):
            post = session.get(Post, post_id)
            assert post is not None and post.state == PostState.APPROVED
            assert post.replaces_remote_id == old and post.remote_id is None

    report = Publisher(world.engine, world.settings).run()
    assert sorted(report.replaced) == sorted([fb.id, yt.id]), report
    assert sorted(report.scheduled) == sorted([fb.id, yt.id]), report  # at once, same run

    graph, youtube = world.platforms.graph, world.platforms.youtube
    (page_post,) = graph.posts()
    assert page_post.id != old_fb and page_post.message == "Sepatu kulit dari Cibaduyut."
    assert page_post.scheduled_publish_time == new_fb
    assert [p.id for p in graph.posts(deleted=True) if p.deleted] == [old_fb]
    (video,) = youtube.videos()
    assert video.id != old_yt
    assert video.status["publishAt"].startswith(new_yt.strftime("%Y-%m-%dT%H:%M"))
    with Session(world.engine) as session:
        for post_id in (fb.id, yt.id):
            post = session.get(Post, post_id)
            assert post is not None and post.state == PostState.SCHEDULED
            assert post.replaces_remote_id is None and post.remote_id

    calls = len(graph.requests) + len(youtube.requests)
    assert Publisher(world.engine, world.settings).run().replaced == []
    assert len(graph.requests) + len(youtube.requests) == calls


def test_moved_beyond_the_scheduling_window_the_old_copy_still_goes_now(cli: World) -> None:
    world = cli
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    fb = scheduled(world, {"facebook": now + timedelta(days=2)})["facebook"]
    far = now + timedelta(days=45)  # beyond Facebook's 30 days: published at the slot later
    assert main(["move", str(fb.id), "--at", wib(far)]) == 0
    report = Publisher(world.engine, world.settings).run()
    assert report.replaced == [fb.id] and report.scheduled == []
    assert world.platforms.graph.posts() == []  # the old time can no longer go out
    with Session(world.engine) as session:
        post = session.get(Post, fb.id)
        assert post is not None and post.state == PostState.APPROVED and post.remote_id is None


def test_a_change_after_the_old_copy_went_live_is_recorded_not_doubled(cli: World) -> None:
    world = cli
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    fb = scheduled(world, {"facebook": now + timedelta(hours=1)})["facebook"]
    assert main(["edit-caption", str(fb.id), "--text", "Teks baru."]) == 0
    world.platforms.graph.advance(2 * 3600)  # Facebook published it meanwhile
    report = Publisher(world.engine, world.settings).run()
    assert report.published == [fb.id] and report.replaced == []
    (page_post,) = world.platforms.graph.posts()
    assert page_post.id == fb.remote_id
    with Session(world.engine) as session:
        post = session.get(Post, fb.id)
        assert post is not None and post.state == PostState.PUBLISHED
        assert post.remote_id == fb.remote_id and post.permalink
        assert "too late" in (post.last_error or "")


@pytest.mark.slow
def test_cancelled_after_a_move_the_old_copy_is_taken_down(cli: World) -> None:
    world = cli
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    yt = scheduled(world, {"youtube": now + timedelta(hours=3)})["youtube"]
    assert main(["move", str(yt.id), "--at", wib(now + timedelta(hours=6))]) == 0
    assert main(["cancel", str(yt.id), "--reason", "pemilik minta ditunda"]) == 0
    removed = take_down(Publisher(world.engine, world.settings))
    assert removed.removed == [yt.id] and not removed.problems
    assert world.platforms.youtube.videos() == []


def test_a_scheduled_copy_about_to_go_out_is_not_replaced(
    cli: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """Within REPLACE_MARGIN of its time the platform may publish the old copy while the
    publisher deletes it: moving or editing it is refused, and nothing changes; a post just
    outside the margin still moves."""
    world = cli
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    posts = scheduled(
        world,
        {
            "facebook": now + REPLACE_MARGIN - timedelta(minutes=5),
            "youtube": now + REPLACE_MARGIN + timedelta(minutes=10),
        },
    )
    fb, yt = posts["facebook"], posts["youtube"]
    capsys.readouterr()
    assert main(["edit-caption", str(fb.id), "--text", "Teks baru."]) == 1
    assert main(["move", str(fb.id), "--at", wib(now + timedelta(days=2))]) == 1
    refusals = capsys.readouterr().err
    assert refusals.count("less than 30 minutes from now: too close to replace") == 2
    assert main(["move", str(yt.id), "--at", wib(now + timedelta(days=2))]) == 0
    with Session(world.engine) as session:
        post = session.get(Post, fb.id)
        assert post is not None and post.state == PostState.SCHEDULED
        assert post.remote_id == fb.remote_id and post.replaces_remote_id is None
        assert post.caption == fb.caption and post.slot_at == fb.slot_at
    report = Publisher(world.engine, world.settings).run()
    assert report.replaced == [yt.id] and len(world.platforms.graph.posts()) == 1


def test_a_late_run_waits_for_the_old_copys_moment_before_replacing_it(cli: World) -> None:
    """Staff moved the post in time, but the publisher only comes round within REPLACE_MARGIN
    of the old copy's time: it deletes nothing then (the platform may be publishing it), looks
    again after that moment, finds the old copy live and records it: one copy, never two."""
    world = cli
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    old_at = now + REPLACE_MARGIN + timedelta(minutes=10)
    fb = scheduled(world, {"facebook": old_at})["facebook"]
    assert main(["move", str(fb.id), "--at", wib(now + timedelta(days=2))]) == 0

    late = old_at - timedelta(minutes=3)  # the publisher was down until then
    world.platforms.graph.advance((late - now).total_seconds())
    report = Publisher(world.engine, world.settings, clock=lambda: late).run()
    assert report.replaced == [] and report.published == []
    [(post_id, why)] = report.retry_later
    assert post_id == fb.id and "checked after that" in why
    assert [p.id for p in world.platforms.graph.posts()] == [fb.remote_id]  # not deleted

    after = old_at + timedelta(minutes=6)
    world.platforms.graph.advance((after - late).total_seconds())  # Facebook published it
    report = Publisher(world.engine, world.settings, clock=lambda: after).run()
    assert report.published == [fb.id] and report.replaced == []
    assert [p.id for p in world.platforms.graph.posts()] == [fb.remote_id]
    with Session(world.engine) as session:
        post = session.get(Post, fb.id)
        assert post is not None and post.state == PostState.PUBLISHED
        assert post.remote_id == fb.remote_id and post.replaces_slot_at is None
        assert "too late" in (post.last_error or "")
