"""Claims, takeovers and platform blocks, with real SIGKILLed publisher processes (the harness of
tests/publishing/test_crash.py) and the sandboxes over loopback.

- A killed publisher holds only the post it had in flight: the others are claimed one at a time,
  so the next run takes them at once instead of after the lease.
- A takeover is an attempt: a post that kills its publisher at the same step every time fails
  after `publish.max_attempts`, saying where and how often, unless the platform shows it is
  already out (exactly once wins over the cap).
- A platform block (Graph rate limits, usage headers at the stop, YouTube's quota) is kept in
  the database: a new publisher, like reconcile, calls neither the blocked account nor, for an
  app-wide limit, any account of the same app, until it ends; the sandbox's block grows with
  every call made during it, as Meta's does.
"""

from __future__ import annotations

import functools
import json
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.models import PlatformBlock, Post, PostState
from ifn_campaign.publishing.publisher import Publisher, reconcile
from ifn_sandbox.http import Fault
from tests.support.crash import SCRIPT, child_env, lapse_claim, run_publisher, run_script
from tests.support.publishing import IG, TOKEN, World, approved, aware, load, youtube_post

pytestmark = pytest.mark.slow


def report_of(run: Any) -> dict[str, Any]:
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_killed_publisher_strands_only_the_post_in_flight(world: World) -> None:
    now = datetime.now(UTC)
    ids = approved(world, "instagram", [now - timedelta(minutes=5 - i) for i in range(4)])

    killed = run_publisher(world, crash_at="before:container")
    assert killed.returncode == -9, killed.stderr[-3000:]
    in_flight, _ = load(world, ids[0])
    assert in_flight.state == PostState.PUBLISHING and in_flight.claimed_by
    for post_id in ids[1:]:  # never started: never claimed
        post, _ = load(world, post_id)
        assert post.state == PostState.APPROVED and post.claimed_by is None

    # the next run, at once (no lease has passed): every other post goes out
    report = report_of(run_publisher(world))
    assert sorted(report["published"]) == ids[1:]
    with Session(world.engine) as session:
        post = session.get(Post, ids[0])
        assert post is not None and post.state == PostState.PUBLISHING  # its lease still runs
    assert len(world.platforms.graph.media()) == 3


def run_capped(
    world: World, max_attempts: int, crash_at: str | None = None
) -> subprocess.CompletedProcess[str]:
    """A publisher process with `publish.max_attempts` set (and maybe a crash point)."""
    (world.folder / "none.toml").write_text("")
    env = child_env(world, crash_at) | {"IFN_PUBLISH__MAX_ATTEMPTS": str(max_attempts)}
    return run_script(SCRIPT, env, world.folder)


@pytest.mark.parametrize(
    ("channel", "point"),
    [
        ("instagram", "before:container"),
        ("instagram", "before:publish"),
        ("facebook", "before:fb_post"),
    ],
)
def test_a_post_that_kills_its_publisher_every_time_fails_after_max_attempts(
    world: World, channel: str, point: str
) -> None:
    now = datetime.now(UTC)
    (post_id,) = approved(world, channel, [now - timedelta(minutes=1)])
    step = point.split(":")[1]
    for kill in range(1, 4):
        killed = run_capped(world, 3, crash_at=point)
        assert killed.returncode == -9, (kill, killed.stderr[-3000:])
        post, _ = load(world, post_id)
        assert post.state == PostState.PUBLISHING and post.publish_step == step
        assert post.takeovers == kill - 1 and post.attempts == kill - 1
        lapse_claim(world, post_id)

    # the fourth takeover is over the cap: the same crash point is never reached again
    report = report_of(run_capped(world, 3, crash_at=point))
    assert [pid for pid, _ in report["failed"]] == [post_id], report
    post, events = load(world, post_id)
    assert post.state == PostState.FAILED and post.claimed_by is None
    assert post.takeovers == 3 and post.attempts == 3
    assert f"taken over 3 times at step {step}" in (post.last_error or "")
    assert "by hand" in (post.error_action or "") and channel in (post.error_action or "")
    notes = [e.note or "" for e in events if "claim lapsed" in (e.note or "")]
    assert len(notes) == 3 and all(f"at step {step}" in n for n in notes), notes
    assert [f"takeover {n}" in note for n, note in enumerate(notes, 1)] == [True] * 3
    assert events[-1].to_state == PostState.FAILED
    assert world.platforms.graph.media() == [] and world.platforms.graph.posts() == []


def test_a_post_already_out_is_published_even_over_the_cap(world: World) -> None:
    """Killed after media_publish answered, before its id was stored; the takeover is over the
    cap at once (max_attempts 1), yet the container says PUBLISHED: recorded as published."""
    now = datetime.now(UTC)
    (post_id,) = approved(world, "instagram", [now - timedelta(minutes=1)])
    killed = run_capped(world, 1, crash_at="called:publish")
    assert killed.returncode == -9, killed.stderr[-3000:]
    lapse_claim(world, post_id)

    report = report_of(run_capped(world, 1))
    assert report["published"] == [post_id] and report["failed"] == [], report
    post, _ = load(world, post_id)
    (media,) = world.platforms.graph.media()
    assert post.state == PostState.PUBLISHED and post.remote_id == media.id
    assert post.takeovers == 1 and post.permalink


def test_a_publish_that_errs_every_time_stops_at_the_cap(world: World) -> None:
    """The same class without crashes: media_publish answers 500 every time, so each try ends
    at step `publish` with an unknown outcome. Tries stop at max_attempts: the container is
    asked once more (not PUBLISHED), and the post fails instead of looping."""
    now = datetime.now(UTC)
    (post_id,) = approved(world, "instagram", [now - timedelta(minutes=1)])
    graph = world.platforms.graph
    graph.faults.add(Fault(f"/v25.0/{IG}/media_publish", "status", status=500, times=None))
    publish = world.settings.publish.model_copy(update={"max_attempts": 2})
    settings = world.settings.model_copy(update={"publish": publish})

    later = now
    for _ in range(2):
        Publisher(world.engine, settings, clock=functools.partial(_same, later)).run()
        post, _ = load(world, post_id)
        assert post.state == PostState.APPROVED and post.publish_step == "publish"
        later = (post.next_attempt_at or now).replace(tzinfo=UTC) + timedelta(seconds=1)
    sent = len(graph.requests.matching(f"/v25.0/{IG}/media_publish", "POST"))
    report = Publisher(world.engine, settings, clock=functools.partial(_same, later)).run()

    assert [pid for pid, _ in report.failed] == [post_id]
    assert len(graph.requests.matching(f"/v25.0/{IG}/media_publish", "POST")) == sent
    post, _ = load(world, post_id)
    assert post.state == PostState.FAILED and post.attempts == 2
    assert "tried 2 times, last at step publish" in (post.last_error or "")
    assert graph.media() == []


def _same(moment: datetime) -> datetime:
    return moment


def blocks(world: World) -> dict[tuple[str, str], PlatformBlock]:
    with Session(world.engine, expire_on_commit=False) as session:
        return {(b.scope, b.key): b for b in session.scalars(select(PlatformBlock))}


def calls_about(world: World, object_id: str) -> int:
    return sum(1 for r in world.platforms.graph.requests if object_id in r.path)


def test_an_account_block_is_kept_for_the_next_run(world: World) -> None:
    now = datetime.now(UTC)
    (ig,) = approved(world, "instagram", [now - timedelta(minutes=2)])
    (fb,) = approved(world, "facebook", [now - timedelta(minutes=1)])
    graph = world.platforms.graph
    graph.block(IG, minutes=30)  # 80002 for the Instagram account alone

    first = Publisher(world.engine, world.settings).run()
    assert first.published == [fb]  # the Page is another account: not blocked
    ends = graph.blocked_until(IG)
    stored = blocks(world)[("account", "instagram:bpipi")]
    assert stored.code == 80002 and ends is not None
    assert abs(aware(stored.blocked_until) - ends) <= timedelta(minutes=1)
    post, _ = load(world, ig)
    assert post.state == PostState.APPROVED and post.attempts == 0
    assert aware(post.next_attempt_at) == aware(stored.blocked_until)

    # a new publisher (and reconcile) on the same database: no call about the account
    calls = calls_about(world, IG)
    with Session(world.engine) as session:
        session.get(Post, ig).next_attempt_at = None  # type: ignore[union-attr]
        session.commit()  # even if staff made it due again, the block holds
    assert Publisher(world.engine, world.settings).run().retry_later == []
    reconcile(Publisher(world.engine, world.settings))
    assert calls_about(world, IG) == calls
    assert graph.blocked_until(IG) == ends  # not lengthened by calls during the block

    # once it has ended, the post goes out
    later = aware(stored.blocked_until) + timedelta(minutes=1)
    graph.advance((later - datetime.now(UTC)).total_seconds())
    assert Publisher(world.engine, world.settings, clock=lambda: later).run().published == [ig]


def test_an_app_limit_on_instagram_stops_the_apps_facebook_pages(world: World) -> None:
    now = datetime.now(UTC)
    (ig,) = approved(world, "instagram", [now - timedelta(minutes=2)])
    (fb,) = approved(world, "facebook", [now - timedelta(minutes=1)])
    graph = world.platforms.graph
    graph.block(None, minutes=20)  # code 4: the whole app

    report = Publisher(world.engine, world.settings).run()

    assert len(graph.requests) == 1  # the Instagram call that met the limit, then nothing
    assert [pid for pid, _ in report.retry_later] == [ig] and report.published == []
    stored = blocks(world)[("app", "graph:default")]
    assert stored.code == 4
    for post_id in (ig, fb):
        post, _ = load(world, post_id)
        assert post.state == PostState.APPROVED and post.attempts == 0
        assert aware(post.next_attempt_at) == aware(stored.blocked_until)
    assert Publisher(world.engine, world.settings).run().retry_later == []
    assert len(graph.requests) == 1


def test_graph_usage_at_the_stop_leaves_the_app_alone_before_meta_blocks_it(
    world: World,
) -> None:
    """Throttle well before 100%: the app's budget is 4 calls an hour here, the stop at 50%.
    The Facebook post's two calls (the photo, its link) reach it; the Instagram post waits,
    with no call, in this run and the next."""
    now = datetime.now(UTC)
    (fb,) = approved(world, "facebook", [now - timedelta(minutes=2)])
    (ig,) = approved(world, "instagram", [now - timedelta(minutes=1)])
    graph = world.platforms.graph
    graph.app_calls_per_hour = 4
    publish = world.settings.publish.model_copy(update={"usage_stop_percent": 50})
    settings = world.settings.model_copy(update={"publish": publish})

    report = Publisher(world.engine, settings).run()

    assert report.published == [fb], (report, [(r.method, r.path) for r in graph.requests])
    assert graph.usage() == 50 and len(graph.requests) == 2
    assert ("app", "graph:default") in blocks(world)
    post, _ = load(world, ig)
    assert post.state == PostState.APPROVED and post.next_attempt_at is not None
    assert Publisher(world.engine, settings).run().published == []
    assert len(graph.requests) == 2


def test_youtube_quota_is_kept_until_midnight_pacific(world: World) -> None:
    now = datetime.now(UTC)
    first = youtube_post(world, now + timedelta(hours=3))
    youtube = world.platforms.youtube
    youtube.faults.add(
        youtube.error_fault(403, "quotaExceeded", domain="youtube.quota", path="/upload/")
    )
    Publisher(world.engine, world.settings).run()
    (block,) = blocks(world).values()
    assert block.scope == "app" and block.key.startswith("youtube:")
    post, _ = load(world, first)
    assert aware(post.next_attempt_at) == aware(block.blocked_until)

    second = youtube_post(world, now + timedelta(hours=4))
    calls = len(youtube.requests)
    assert Publisher(world.engine, world.settings).run().retry_later == []
    assert len(youtube.requests) == calls  # the fault is spent, yet nothing is called
    post, _ = load(world, second)
    assert post.state == PostState.APPROVED


def test_the_graph_sandbox_block_grows_with_calls_made_during_it(world: World) -> None:
    import requests

    graph = world.platforms.graph
    graph.block(IG, minutes=10)
    ends = graph.blocked_until(IG)
    graph.advance(120)
    answer = requests.get(
        f"{graph.url}/v25.0/{IG}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert answer.status_code == 400 and answer.json()["error"]["code"] == 80002
    usage = json.loads(answer.headers["x-business-use-case-usage"])[IG][0]
    assert usage["estimated_time_to_regain_access"] == 10
    later = graph.blocked_until(IG)
    assert ends is not None and later is not None
    assert abs((later - ends) - timedelta(minutes=2)) < timedelta(seconds=1)


def capped(world: World, max_attempts: int) -> Any:
    """The world's settings with `publish.max_attempts` set."""
    publish = world.settings.publish.model_copy(update={"max_attempts": max_attempts})
    return world.settings.model_copy(update={"publish": publish})


def test_a_post_failed_at_the_cap_goes_out_once_staff_approve_it_again(world: World) -> None:
    """The failure says "approve it again once the cause is fixed": that approval is a new
    round of tries, not a post still over the cap (which failed again with no call at all)."""
    from ifn_campaign.posts.lifecycle import move

    now = datetime.now(UTC)
    (post_id,) = approved(world, "instagram", [now - timedelta(minutes=1)])
    graph = world.platforms.graph
    graph.faults.add(Fault(f"/v25.0/{IG}/media_publish", "status", status=500, times=None))
    settings = capped(world, 1)
    Publisher(world.engine, settings).run()  # an unknown outcome: released to be asked
    post, _ = load(world, post_id)
    later = aware(post.next_attempt_at) + timedelta(seconds=1)
    Publisher(world.engine, settings, clock=functools.partial(_same, later)).run()
    post, _ = load(world, post_id)
    assert post.state == PostState.FAILED and post.attempts == 1  # asked, not out: gave up

    graph.faults.clear()  # the cause is fixed; staff approve it again
    with Session(world.engine) as session:
        stored = session.get(Post, post_id)
        assert stored is not None
        move(session, stored, PostState.APPROVED, actor="staff:rina", now=datetime.now(UTC))
        session.commit()
    report = Publisher(world.engine, settings, clock=functools.partial(_same, later)).run()

    assert report.published == [post_id], report
    assert len(graph.media()) == 1


def test_a_finished_youtube_upload_is_recorded_even_over_the_cap(world: World) -> None:
    """Killed after the last chunk was answered, before the video id was stored; the takeover
    is over the cap at once (max_attempts 1). The upload session is asked (a read) and says
    the video exists: recorded, not failed with its id lost."""
    from tests.support.publishing import give_video

    now = datetime.now(UTC)
    (post_id,) = approved(world, "youtube", [now + timedelta(hours=3)])
    give_video(world, post_id)
    killed = run_capped(world, 1, crash_at="called:yt_upload")
    assert killed.returncode == -9, killed.stderr[-3000:]
    lapse_claim(world, post_id)

    report = report_of(run_capped(world, 1))

    (video,) = world.platforms.youtube.videos()
    assert report["failed"] == [] and report["scheduled"] == [post_id], report
    post, _ = load(world, post_id)
    assert post.state == PostState.SCHEDULED and post.remote_id == video.id


def test_a_thumbnail_left_by_a_capped_takeover_is_pending_for_reconcile(world: World) -> None:
    """Killed right before setting the thumbnail; the takeover is over the cap at once, so it
    records the video (it is up) and sends nothing more: the thumbnail is left 'pending' for
    reconcile, which sets it, instead of being forgotten."""
    now = datetime.now(UTC)
    post_id = youtube_post(world, now + timedelta(hours=3))
    with Session(world.engine) as session:
        post = session.get(Post, post_id)
        assert post is not None and post.thumbnail_path, "the composed Short has a thumbnail"
    killed = run_capped(world, 1, crash_at="before:yt_thumbnail")
    assert killed.returncode == -9, killed.stderr[-3000:]
    lapse_claim(world, post_id)

    report = report_of(run_capped(world, 1))
    assert report["failed"] == [], report
    post, _ = load(world, post_id)
    assert post.state == PostState.SCHEDULED and post.remote_id
    assert post.thumbnail_state == "pending"
    later = now + timedelta(hours=4)
    reconcile(Publisher(world.engine, world.settings, clock=lambda: later))
    post, _ = load(world, post_id)
    assert post.thumbnail_state == "set"
