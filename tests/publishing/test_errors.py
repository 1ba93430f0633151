"""What the publisher does with each platform failure, in-process against the sandboxes with
injected faults: the post ends in a state staff understand (with what happened and what to do),
nothing is retried in a loop, nothing is sent twice, and no token ever reaches a message."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.cli.app import main
from ifn_campaign.config import Settings
from ifn_campaign.models import AccountState, Feature, Post, PostEvent, PostState
from ifn_campaign.publishing.publisher import Publisher, PublishReport
from ifn_sandbox.graph import GraphAccount
from ifn_sandbox.http import Fault
from ifn_sandbox.platforms import SECRETS, PlatformSandboxes
from ifn_sandbox.registry import RegistrySandbox
from tests.support.cli import point_cli_at
from tests.support.publishing import (
    IG,
    TOKEN,
    World,
    approved,
    aware,
    load,
    next_pacific_midnight,
    youtube_post,
)

# --- Graph ------------------------------------------------------------------------------------


def test_token_invalid_190_needs_reauth_and_stops_the_account(world: World) -> None:
    now = datetime.now(UTC)
    first, second = approved(world, "instagram", [now - timedelta(minutes=2), now])
    world.platforms.graph.invalidate_token(TOKEN, subcode=460)

    report = Publisher(world.engine, world.settings).run()

    graph = world.platforms.graph
    assert len(graph.requests) == 1, [r.path for r in graph.requests]  # one call, then stop
    post, _ = load(world, first)
    assert post.state == PostState.NEEDS_REAUTH
    assert "password was changed" in (post.last_error or "")
    assert "'bpipi'" in (post.error_action or "") and "re-authorise" in (post.error_action or "")
    assert "accounts reauthorised instagram bpipi" in (post.error_action or "")
    with Session(world.engine) as session:
        state = session.get(AccountState, ("instagram", "bpipi"))
        assert state is not None and state.needs_reauth_since and state.message
    other, _ = load(world, second)  # posts are claimed one at a time: never claimed, not sent
    assert other.state == PostState.APPROVED and other.claimed_by is None
    assert other.remote_container_id is None and other.attempts == 0
    assert [pid for pid, _ in report.needs_reauth] == [first]
    assert report.retry_later == [] and report.failed == []

    # no retry loop: another run sends nothing while the account waits for staff
    assert Publisher(world.engine, world.settings).run().needs_reauth == []
    assert len(graph.requests) == 1


def test_publishing_limit_2207042_moves_to_the_next_free_hour(world: World) -> None:
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    due, taken = approved(
        world, "instagram", [now - timedelta(minutes=1), hour + timedelta(hours=1)]
    )
    graph = world.platforms.graph
    graph.faults.add(
        graph.error_fault(
            9,
            subcode=2207042,
            path=f"/v25.0/{IG}/media_publish",
            message="Application request limit reached",
            user_title="Batas publikasi tercapai",
        )
    )

    # the publisher's clock stays at `now`: run across a full hour, the wall clock would make
    # the taken slot due (and the next free hour another one)
    report = Publisher(world.engine, world.settings, clock=lambda: now).run()

    post, events = load(world, due)
    assert post.state == PostState.APPROVED
    assert aware(post.slot_at) == hour + timedelta(hours=2)  # the next hour is taken
    assert report.moved == [(due, hour + timedelta(hours=2))]
    assert "2207042" in (post.last_error or "")
    assert events[-1].note and "moved from" in events[-1].note and "limit" in events[-1].note
    assert graph.media() == []
    untouched, _ = load(world, taken)
    assert untouched.state == PostState.APPROVED


def test_transient_5xx_on_reads_is_retried(world: World) -> None:
    now = datetime.now(UTC)
    (post_id,) = approved(world, "instagram", [now - timedelta(minutes=1)])
    graph = world.platforms.graph
    fault = graph.faults.add(Fault("/v25.0/", "status", status=503, method="GET", times=2))

    report = Publisher(world.engine, world.settings).run()

    assert fault.fired == 2
    assert report.published == [post_id], report
    post, _ = load(world, post_id)
    assert post.state == PostState.PUBLISHED and post.attempts == 0
    assert len(graph.media()) == 1


def test_5xx_on_media_publish_is_reconciled_not_resent(world: World) -> None:
    """The publish call's answer is a 500: the outcome is unknown, the post is released and the
    next attempt asks the container before publishing (once)."""
    now = datetime.now(UTC)
    (post_id,) = approved(world, "instagram", [now - timedelta(minutes=1)])
    graph = world.platforms.graph
    graph.faults.add(Fault(f"/v25.0/{IG}/media_publish", "status", status=500))

    report = Publisher(world.engine, world.settings).run()
    assert [pid for pid, _ in report.retry_later] == [post_id]
    post, _ = load(world, post_id)
    assert post.state == PostState.APPROVED and aware(post.next_attempt_at) > now
    assert post.publish_step == "publish" and post.remote_container_id

    later = aware(post.next_attempt_at) + timedelta(seconds=1)
    again = Publisher(world.engine, world.settings, clock=lambda: later).run()
    assert again.published == [post_id]
    assert len(graph.media()) == 1
    assert len(graph.requests.matching(f"/v25.0/{IG}/media_publish", "POST")) == 2


def test_rate_limit_releases_without_further_calls(world: World) -> None:
    now = datetime.now(UTC)
    ids = approved(world, "instagram", [now - timedelta(minutes=2), now - timedelta(minutes=1)])
    graph = world.platforms.graph
    graph.faults.add(graph.rate_limit_fault(80002, object_id=IG, minutes=5, times=None))

    report = Publisher(world.engine, world.settings).run()

    assert len(graph.requests) == 1  # Meta: stop calling once limited
    # the first is released; the second, never claimed, waits for the block's end all the same
    assert [pid for pid, _ in report.retry_later] == ids[:1]
    for post_id in ids:
        post, events = load(world, post_id)
        assert post.state == PostState.APPROVED
        assert aware(post.next_attempt_at) >= now + timedelta(minutes=4)
        assert "rate limit" in (post.last_error or "")
        assert events[-1].to_state == PostState.APPROVED
    assert Publisher(world.engine, world.settings).run().retry_later == []
    assert len(graph.requests) == 1


def test_media_host_down_fails_with_the_setting_to_check(world: World) -> None:
    now = datetime.now(UTC)
    (post_id,) = approved(world, "instagram", [now - timedelta(minutes=1)])
    world.platforms.media.stop()

    report = Publisher(world.engine, world.settings).run()

    assert [pid for pid, _ in report.failed] == [post_id]
    post, events = load(world, post_id)
    assert post.state == PostState.FAILED
    assert "could not fetch" in (post.last_error or "")
    assert "media_base_url" in (post.error_action or "")
    assert events[-1].note == post.last_error
    assert world.platforms.graph.media() == []


def test_facebook_file_upload_needs_no_media_host(world: World) -> None:
    """`facebook.photo_upload = "file"`: the card goes up as multipart `source`, so Facebook
    posts (now and scheduled) go out while the public media host is down."""
    now = datetime.now(UTC)
    ids = approved(world, "facebook", [now - timedelta(minutes=1), now + timedelta(days=40)])
    world.platforms.media.stop()
    world.platforms.graph.schedule_max_days = 75  # a Page whose window is the longer one
    settings = world.settings.model_copy(
        update={
            "facebook": world.settings.facebook.model_copy(
                update={"photo_upload": "file", "schedule_max_days": 75}
            )
        }
    )
    report = Publisher(world.engine, settings).run()
    assert report.published == [ids[0]] and report.scheduled == [ids[1]], report
    uploads = world.platforms.graph.requests.matching("/", "POST")
    photos = [r for r in uploads if r.path.endswith("/photos")]
    assert len(photos) == 2
    assert all(b'name="source"' in r.body and b"url=" not in r.body for r in photos)
    scheduled = [p for p in world.platforms.graph.posts() if not p.is_published(now)]
    slot = load(world, ids[1])[0].slot_at.replace(microsecond=0)  # Facebook keeps seconds
    assert [p.scheduled_publish_time for p in scheduled] == [slot]


def test_missing_permission_is_named(world: World) -> None:
    now = datetime.now(UTC)
    (post_id,) = approved(world, "instagram", [now - timedelta(minutes=1)])
    account = GraphAccount()
    world.platforms.graph.add_token(
        TOKEN, [account.page_id, account.ig_user_id], scopes=["instagram_basic"]
    )

    report = Publisher(world.engine, world.settings).run()

    assert [pid for pid, _ in report.failed] == [post_id]
    post, _ = load(world, post_id)
    assert post.state == PostState.FAILED
    assert "instagram_content_publish" in (post.last_error or "")
    assert post.error_action


def test_facebook_missing_permission_is_named(world: World) -> None:
    now = datetime.now(UTC)
    (post_id,) = approved(world, "facebook", [now + timedelta(days=1)])
    account = GraphAccount()
    world.platforms.graph.add_token(
        TOKEN, [account.page_id, account.ig_user_id], scopes=["pages_read_engagement"]
    )
    Publisher(world.engine, world.settings).run()
    post, _ = load(world, post_id)
    assert post.state == PostState.FAILED
    assert "pages_manage_posts" in (post.last_error or "")


# --- YouTube ----------------------------------------------------------------------------------


def test_youtube_quota_exceeded_waits_for_midnight_pacific(world: World) -> None:
    now = datetime.now(UTC)
    post_id = youtube_post(world, now + timedelta(hours=3))
    youtube = world.platforms.youtube
    youtube.faults.add(
        youtube.error_fault(403, "quotaExceeded", domain="youtube.quota", path="/upload/")
    )

    report = Publisher(world.engine, world.settings).run()

    assert [pid for pid, _ in report.retry_later] == [post_id]
    post, _ = load(world, post_id)
    assert post.state == PostState.APPROVED
    assert aware(post.next_attempt_at) == next_pacific_midnight(now)
    assert "quota" in (post.last_error or "")
    uploads = [r for r in youtube.requests if r.path.startswith("/upload/")]
    assert len(uploads) == 1  # not retried
    assert youtube.videos() == []


def test_youtube_upload_limit_fails_with_its_message(world: World) -> None:
    now = datetime.now(UTC)
    post_id = youtube_post(world, now + timedelta(hours=3))
    youtube = world.platforms.youtube
    youtube.faults.add(
        youtube.error_fault(
            400,
            "uploadLimitExceeded",
            message="The user has exceeded the number of videos they may upload.",
            domain="youtube.video",
            path="/upload/",
        )
    )

    report = Publisher(world.engine, world.settings).run()

    assert [pid for pid, _ in report.failed] == [post_id]
    post, _ = load(world, post_id)
    assert post.state == PostState.FAILED
    assert "exceeded the number of videos they may upload" in (post.last_error or "")
    assert "tomorrow" in (post.error_action or "")
    assert youtube.videos() == []


def test_youtube_dropped_upload_resumes_without_resending(world: World) -> None:
    now = datetime.now(UTC)
    post_id = youtube_post(world, now + timedelta(hours=3))
    youtube = world.platforms.youtube
    kept = 100_000
    # the first PUT carries data: a session opened just now is not asked first
    fault = youtube.faults.add(youtube.drop_fault(kept, after=0))

    report = Publisher(world.engine, world.settings).run()
    retry = Publisher(world.engine, world.settings, clock=lambda: now + timedelta(hours=1)).run()

    assert fault.fired == 1
    post, _ = load(world, post_id)
    assert post_id in report.scheduled + retry.scheduled
    assert post.state == PostState.SCHEDULED
    (video,) = youtube.videos()
    data = Path(post.video_path or "").read_bytes()
    assert video.data_sha256 == hashlib.sha256(data).hexdigest()
    puts = [
        r
        for r in youtube.requests
        if r.method == "PUT" and r.body and r.headers.get("Content-Range", "").startswith("bytes ")
    ]
    ranges = [r.headers["Content-Range"] for r in puts]
    assert ranges[0].startswith("bytes 0-")
    # the resume starts at the first byte YouTube lacks and the chunks after it follow on, to
    # the end of the file (a Short may be longer than one chunk)
    spans = [tuple(map(int, r.split()[1].split("/")[0].split("-"))) for r in ranges[1:]]
    assert spans[0][0] == kept, ranges
    assert all(b[0] == a[1] + 1 for a, b in pairwise(spans)), ranges
    assert spans[-1][1] == len(data) - 1, ranges
    assert all(r.endswith(f"/{len(data)}") for r in ranges), ranges
    assert sum(len(r.body) for r in puts) == len(data)  # no byte sent twice


def test_youtube_revoked_refresh_token_needs_reauth(world: World) -> None:
    now = datetime.now(UTC)
    post_id = youtube_post(world, now + timedelta(hours=3))
    world.platforms.youtube.revoke(SECRETS["sandbox-yt-refresh"])

    report = Publisher(world.engine, world.settings).run()

    assert [pid for pid, _ in report.needs_reauth] == [post_id]
    post, _ = load(world, post_id)
    assert post.state == PostState.NEEDS_REAUTH
    assert "'bpipi'" in (post.error_action or "")


# --- secrets ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_no_token_in_errors_events_or_logs(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    now = datetime.now(UTC)
    ig = approved(world, "instagram", [now - timedelta(minutes=3), now - timedelta(minutes=2)])
    yt = youtube_post(world, now + timedelta(hours=3))
    graph, youtube = world.platforms.graph, world.platforms.youtube
    graph.faults.add(Fault("/v25.0/", "status", status=503, method="GET", times=1))
    graph.faults.add(graph.error_fault(190, subcode=460, after=1, path=f"/v25.0/{IG}/media"))
    youtube.faults.add(youtube.drop_fault(50_000, after=1))
    youtube.faults.add(youtube.rate_limit_fault(path="/upload/", method="POST"))

    Publisher(world.engine, world.settings).run()

    secrets = set(SECRETS.values()) | set(youtube._access)  # issued access tokens
    assert secrets
    with Session(world.engine) as session:
        posts = session.scalars(select(Post).where(Post.id.in_([*ig, yt]))).all()
        events = session.scalars(select(PostEvent)).all()
        states = session.scalars(select(AccountState)).all()
    texts = [caplog.text]
    texts += [f"{p.last_error} {p.error_action} {p.compose_notes}" for p in posts]
    texts += [e.note or "" for e in events]
    texts += [s.message or "" for s in states]
    assert any(p.state == PostState.NEEDS_REAUTH for p in posts)
    for text in texts:
        for value in secrets:
            assert value not in text


# --- several workers --------------------------------------------------------------------------


@pytest.fixture
def pg_world(pg_url: str, tmp_path: Path) -> Iterator[World]:
    """The sample registry synced into a fresh PostgreSQL schema, and the platform sandboxes."""
    env = dict(os.environ)
    try:
        with RegistrySandbox() as registry, pytest.MonkeyPatch.context() as mp:
            point_cli_at(registry, mp, tmp_path)
            mp.setenv("IFN_DATABASE__URL", pg_url)
            assert main(["db", "upgrade"]) == 0
            assert main(["sync"]) == 0
    finally:
        os.environ.clear()
        os.environ.update(env)
    base = Settings(database={"url": pg_url}, media={"dir": tmp_path / "media"})
    with PlatformSandboxes(tmp_path / "cards", container_ready_after=0.0) as platforms:
        engine = store.open_store(pg_url)
        yield World(engine, platforms.settings(base), platforms, tmp_path)
        engine.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_two_publishers_at_once_send_each_post_once(pg_world: World) -> None:
    world = pg_world
    now = datetime.now(UTC)
    slots = [now - timedelta(minutes=30) + timedelta(seconds=i) for i in range(24)]
    ids = approved(world, "instagram", slots)
    start = threading.Barrier(2)
    reports: dict[str, PublishReport] = {}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            publisher = Publisher(world.engine, world.settings, worker=name)
            start.wait()
            reports[name] = publisher.run(batch=3)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"worker-{n}",)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors

    one, two = (set(reports[f"worker-{n}"].published) for n in (1, 2))
    assert not one & two
    assert one and two, "the second worker found every due row locked and gave up"
    assert one | two == set(ids)
    graph = world.platforms.graph
    media = graph.media()
    assert len(media) == len(ids)
    assert len({m.caption for m in media}) == len(ids)  # no caption twice
    assert len(graph.requests.matching(f"/v25.0/{IG}/media_publish", "POST")) == len(ids)
    with Session(world.engine) as session:
        posts = session.scalars(select(Post).where(Post.id.in_(ids))).all()
        assert {p.state for p in posts} == {PostState.PUBLISHED}
        assert sorted(m.id for m in media) == sorted(p.remote_id or "" for p in posts)
        assert {m.caption for m in media} == {p.caption for p in posts}
        assert len(session.scalars(select(Feature).where(Feature.post_id.in_(ids))).all()) == 24
        for post_id in ids:
            events = session.scalars(select(PostEvent).where(PostEvent.post_id == post_id)).all()
            claims = [e for e in events if e.to_state == PostState.PUBLISHING]
            assert len(claims) == 1, [(e.from_state, e.to_state, e.actor) for e in events]
            assert claims[0].from_state == PostState.APPROVED
