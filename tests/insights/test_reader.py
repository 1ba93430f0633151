"""The insights reader against the platform sandboxes over real sockets, on SQLite and
PostgreSQL: readings at each mark, batching (calls counted in the sandboxes' request logs),
gone posts, lag, missed marks, retries, failures and idempotence."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ifn_campaign.insights.figures import latest_figures
from ifn_campaign.models import InsightReading, ReadingState
from ifn_sandbox.http import Fault
from ifn_sandbox.platforms import SECRETS
from tests.support.insight_sandboxes import Sandboxed, asked_ids, batches, dump, sandboxed


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[Sandboxed]:
    with sandboxed(engine, tmp_path) as made:
        yield made


def wait_left(world: Sandboxed, row: InsightReading) -> float:
    """Seconds until the reading is tried again (the sandboxes' clock runs on in real time)."""
    assert row.next_attempt_at is not None
    return (row.next_attempt_at - world.now()).total_seconds()


def test_each_platform_read_at_its_marks_with_the_platforms_names(world: Sandboxed) -> None:
    ig, fb, yt = (
        world.publish("instagram")[0],
        world.publish("facebook")[0],
        world.publish("youtube")[0],
    )
    assert world.read().outcomes == []  # nothing due before +1h
    world.advance(timedelta(hours=1, minutes=5))
    report = world.read()
    assert sorted((o.post_id, o.mark, o.state) for o in report.outcomes) == [
        (ig, "1h", "read"),
        (fb, "1h", "read"),
        (yt, "1h", "read"),
    ], dump(report)
    readings = {r.post_id: r for r in world.readings()}
    ig_metrics = world.metrics(readings[ig].id or 0)
    assert set(ig_metrics) == {
        "reach",
        "views",
        "likes",
        "comments",
        "saved",
        "shares",
        "total_interactions",
    }
    assert readings[ig].reach == ig_metrics["reach"] > 0
    fb_metrics = world.metrics(readings[fb].id or 0)
    assert {"post_total_media_view_unique", "reactions", "comments", "shares"} <= set(fb_metrics)
    assert readings[fb].reach == fb_metrics["post_total_media_view_unique"]
    yt_metrics = world.metrics(readings[yt].id or 0)
    assert set(yt_metrics) <= {"views", "likes", "comments"} and "views" in yt_metrics
    assert readings[yt].reach == yt_metrics["views"]
    assert world.read().outcomes == []  # the same hour again: nothing due, nothing called
    first = {p: readings[p].reach or 0 for p in (ig, fb, yt)}
    world.advance(timedelta(days=1))
    later = world.read()
    assert Counter(o.mark for o in later.outcomes) == {"1d": 3}, dump(later)
    with Session(world.engine) as session:
        latest = latest_figures(session, [ig, fb, yt])
    assert {p: f.mark for p, f in latest.items()} == {ig: "1d", fb: "1d", yt: "1d"}
    assert all((latest[p].reach or 0) >= first[p] for p in first)  # figures only grow
    assert any((latest[p].reach or 0) > first[p] for p in first)


def test_batches_of_fifty_per_account(world: Sandboxed) -> None:
    counts = {"instagram": 61, "facebook": 51, "youtube": 53}
    posts = {channel: world.publish(channel, n) for channel, n in counts.items()}
    world.advance(timedelta(hours=2))
    before = len(world.reads())
    report = world.read()
    assert report.read == sum(counts.values()), dump(report)
    calls = world.reads()[before:]
    by_platform = Counter(
        "youtube" if r.path.endswith("/videos") else "facebook" if "_" in asked_ids(r)[0] else "ig"
        for r in calls
    )
    assert by_platform == {
        "ig": batches(counts["instagram"]),
        "facebook": batches(counts["facebook"]),
        "youtube": batches(counts["youtube"]),
    }
    assert all(len(asked_ids(r)) <= 50 for r in calls)
    assert report.calls == {
        "instagram": batches(61),
        "facebook": batches(51),
        "youtube": batches(53),
    }
    assert report.youtube_units == batches(53)
    asked = Counter(i for r in calls for i in asked_ids(r))
    assert set(asked.values()) == {1}  # every post asked once
    assert len(asked) == sum(len(p) for p in posts.values())


def test_a_second_run_stores_nothing_twice(world: Sandboxed) -> None:
    world.publish("facebook", 3)
    world.advance(timedelta(hours=1, minutes=1))
    assert world.read().read == 3
    stored = [(r.post_id, r.mark, r.reach) for r in world.readings()]
    calls = len(world.reads())
    again = world.read()
    assert again.outcomes == [] and len(world.reads()) == calls
    assert [(r.post_id, r.mark, r.reach) for r in world.readings()] == stored


def test_downtime_reads_only_the_latest_due_mark(world: Sandboxed) -> None:
    [post] = world.publish("instagram")
    world.advance(timedelta(days=3))  # +1h and +1d passed while nothing ran
    report = world.read()
    states = {(o.mark, o.state) for o in report.outcomes}
    assert states == {("1h", "missed"), ("1d", "read")}, dump(report)
    by_mark = {r.mark: r for r in world.readings()}
    assert by_mark["1h"].state == ReadingState.MISSED and by_mark["1h"].reach is None
    assert "1d" in (by_mark["1h"].last_error or "")
    assert world.metrics(by_mark["1d"].id or 0)["reach"] == by_mark["1d"].reach
    world.advance(timedelta(days=30))
    report = world.read()
    assert {(o.mark, o.state) for o in report.outcomes} == {("7d", "missed"), ("28d", "read")}
    world.advance(timedelta(days=30))
    assert world.read().outcomes == []  # done: the last mark is read
    assert {r.mark: r.state for r in world.readings()} == {
        "1h": "missed",
        "1d": "read",
        "7d": "missed",
        "28d": "read",
    }
    assert post in {r.post_id for r in world.readings()}


def test_a_post_deleted_in_the_app_is_gone_and_the_rest_of_its_batch_read(
    world: Sandboxed,
) -> None:
    posts = world.publish("facebook", 4) + world.publish("instagram", 3)
    gone_fb, gone_ig = world.post(posts[1]).remote_id, world.post(posts[5]).remote_id
    world.platforms.graph.delete_in_app(gone_fb or "")
    world.platforms.graph.delete_in_app(gone_ig or "")
    world.advance(timedelta(hours=1, minutes=1))
    report = world.read()
    states = {o.post_id: o.state for o in report.outcomes}
    assert states == {
        posts[0]: "read",
        posts[1]: "gone",
        posts[2]: "read",
        posts[3]: "read",
        posts[4]: "read",
        posts[5]: "gone",
        posts[6]: "read",
    }, dump(report)
    assert world.post(posts[1]).remote_gone_at is not None
    assert world.post(posts[0]).remote_gone_at is None
    calls = len(world.reads())
    world.advance(timedelta(days=1))
    world.read()
    asked = {i for r in world.reads()[calls:] for i in asked_ids(r)}
    assert gone_fb not in asked and gone_ig not in asked  # never asked again
    assert len(asked) == 5


def test_a_deleted_youtube_video_is_gone(world: Sandboxed) -> None:
    posts = world.publish("youtube", 3)
    video = world.post(posts[2]).remote_id or ""
    with world.clients() as clients:
        clients.youtube("bpipi").delete_video(video)
    world.advance(timedelta(hours=1, minutes=1))
    report = world.read()
    assert {o.post_id: o.state for o in report.outcomes} == {
        posts[0]: "read",
        posts[1]: "read",
        posts[2]: "gone",
    }
    assert world.post(posts[2]).remote_gone_at is not None


def test_no_data_yet_is_tried_again_then_failed(world: Sandboxed) -> None:
    cfg = world.settings.model_copy(
        update={
            "insights": world.settings.insights.model_copy(
                update={"read_after": ["1h"], "max_attempts": 3, "retry_base_seconds": 60}
            )
        }
    )
    [post] = world.publish("instagram")
    empty = {"data": []}
    remote = world.post(post).remote_id or ""
    world.platforms.graph.faults.add(
        Fault(
            "/v25.0/",
            "status",
            status=200,
            body={remote: {"id": remote, "insights": empty}},
            times=None,
        )
    )
    world.advance(timedelta(hours=1, minutes=1))
    first = world.read(settings=cfg)
    [outcome] = first.outcomes
    assert outcome.state == "retry" and "no data yet" in outcome.detail
    [row] = world.readings()
    assert row.attempts == 1 and wait_left(world, row) == pytest.approx(60, abs=5)
    assert world.read(settings=cfg).outcomes == []  # not before next_attempt_at
    world.advance(timedelta(seconds=61))
    assert [o.state for o in world.read(settings=cfg).outcomes] == ["retry"]
    [row] = world.readings()
    assert wait_left(world, row) == pytest.approx(120, abs=5)  # the wait doubles
    world.advance(timedelta(seconds=121))
    assert [o.state for o in world.read(settings=cfg).outcomes] == ["failed"]
    [row] = world.readings()
    assert row.state == ReadingState.FAILED and row.attempts == 3 and row.reach is None
    world.advance(timedelta(days=1))
    assert world.read(settings=cfg).outcomes == []  # given up: never asked again


def test_a_5xx_is_retried_by_the_client_then_by_the_reading(world: Sandboxed) -> None:
    posts = world.publish("facebook", 2)
    world.advance(timedelta(hours=1, minutes=1))
    world.platforms.graph.faults.add(Fault("/v25.0/", "status", status=503, times=1))
    assert world.read().read == 2  # one 503, retried inside the client
    world.advance(timedelta(days=1))
    world.platforms.graph.faults.add(Fault("/v25.0/", "status", status=500, times=None))
    report = world.read()
    assert {o.state for o in report.outcomes} == {"retry"}, dump(report)
    assert all("temporary" in o.detail for o in report.outcomes)
    world.platforms.graph.faults.clear()
    world.advance(timedelta(hours=1))
    assert {(o.post_id, o.mark, o.state) for o in world.read().outcomes} == {
        (posts[0], "1d", "read"),
        (posts[1], "1d", "read"),
    }


def test_a_youtube_5xx_is_retried(world: Sandboxed) -> None:
    world.publish("youtube", 2)
    world.advance(timedelta(hours=1, minutes=1))
    world.platforms.youtube.faults.add(Fault("/youtube/v3/videos", "status", status=503, times=1))
    assert world.read().read == 2


ODD = [
    {"name": "reach", "values": [{"value": "12"}]},  # a count as a string: taken
    {"name": "views", "values": [{"value": -3}]},
    {"name": "likes", "values": [{"value": 2**40}]},  # more than the column holds
    {"name": "saved", "values": [{"value": True}]},
    {"name": "comments", "values": [{"value": {"a": 1}}]},
    {"name": 5, "values": [{"value": 1}]},
    {"name": "shares", "values": "x"},
    {"name": "plays", "values": [{"value": "1.5"}]},
    {"name": "total_interactions", "values": [{"value": 7}]},
    "junk",
]


@pytest.mark.parametrize(
    ("answer", "state", "figures"),
    [
        (
            lambda r: {r: {"id": r, "insights": {"data": ODD}}},
            "read",
            {"reach": 12, "total_interactions": 7},
        ),
        (lambda r: {r: {"id": r, "insights": {"data": ODD[1:8]}}}, "retry", {}),
        (lambda r: {r: {"id": r, "insights": "none"}}, "retry", {}),
        (lambda r: {r: "not an object"}, "retry", {}),
        (lambda r: {"other": {"id": "other"}}, "retry", {}),  # left out: not proof it is gone
        (lambda r: [r], "retry", {}),
        (
            lambda r: {r: {"id": r, "insights": {"data": [{"name": "reach", "values": []}]}}},
            "retry",
            {},
        ),
    ],
)
def test_odd_answers_store_only_whole_counts(
    world: Sandboxed, answer: Any, state: str, figures: dict[str, int]
) -> None:
    [post] = world.publish("instagram")
    remote = world.post(post).remote_id or ""
    world.platforms.graph.faults.add(
        Fault("/v25.0/", "status", status=200, body=answer(remote), times=None)
    )
    world.advance(timedelta(hours=1, minutes=1))
    report = world.read()
    assert [o.state for o in report.outcomes] == [state], dump(report)
    [row] = world.readings()
    assert world.metrics(row.id or 0) == figures
    assert row.reach == figures.get("reach")
    assert world.post(post).remote_gone_at is None


def test_code_10_not_enough_viewers_is_no_data_yet(world: Sandboxed) -> None:
    [post] = world.publish("instagram")
    graph = world.platforms.graph
    graph.faults.add(
        graph.error_fault(
            10, path="/v25.0/", message="(#10) Not enough viewers for the media to show insights"
        )
    )
    world.advance(timedelta(hours=1, minutes=1))
    [outcome] = world.read().outcomes
    assert (outcome.post_id, outcome.state) == (post, "retry")
    assert "no data yet" in outcome.detail and "permission" not in outcome.detail


def test_a_carousel_is_read_as_one_post(world: Sandboxed) -> None:
    post, _items = world.publish_carousel(3)
    album = world.post(post).remote_id or ""
    world.advance(timedelta(hours=1, minutes=1))
    [outcome] = world.read().outcomes
    assert (outcome.post_id, outcome.state) == (post, "read")
    assert [asked_ids(r) for r in world.reads()] == [[album]]  # the parent, never its items
    [row] = world.readings()
    assert (row.reach or 0) > 0 and world.metrics(row.id or 0)["reach"] == row.reach


def test_no_secret_reaches_the_logs_or_the_report(
    world: Sandboxed, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world.publish("facebook")
    world.publish("youtube")
    world.advance(timedelta(hours=1, minutes=1))
    world.platforms.graph.faults.add(Fault("/v25.0/", "status", status=500, times=None))
    world.platforms.youtube.faults.add(
        Fault("/youtube/v3/videos", "status", status=503, times=None)
    )
    report = world.read()
    assert {o.state for o in report.outcomes} == {"retry"}
    text = caplog.text + dump(report) + "".join(r.last_error or "" for r in world.readings())
    assert "retry" in caplog.text  # the clients' retries were logged
    for value in SECRETS.values():
        assert value not in text


def test_calls_go_one_at_a_time_in_a_fixed_order(engine: Engine, tmp_path: Path) -> None:
    """The next batch is asked for while this one is stored, yet never two calls at once, and
    always in the same order: accounts in turn, each account's posts oldest due first."""
    with sandboxed(engine, tmp_path, batch=2) as world:
        posts = {c: world.publish(c, 3) for c in ("youtube", "instagram", "facebook")}
        world.advance(timedelta(days=1, minutes=5))  # +1h missed, +1d read
        report = world.read()
        assert report.read == 9 and report.count("missed") == 9, dump(report)
        calls = sorted(world.reads(), key=lambda r: r.at)
        assert len(calls) == 6
        for earlier, later in pairwise(calls):
            assert earlier.done_at is not None and later.at >= earlier.done_at
        remote = {p: world.post(p).remote_id for ps in posts.values() for p in ps}
        expected = [
            [remote[p] for p in posts[channel][start : start + 2]]
            for channel in ("facebook", "instagram", "youtube")
            for start in (0, 2)
        ]
        assert [asked_ids(r) for r in calls] == expected
        by_mark = Counter((r.mark, r.state) for r in world.readings())
        assert by_mark == {("1h", "missed"): 9, ("1d", "read"): 9}
