"""The insights reader against platform answers a strict fake would not give but a broken or
hostile one does (an answer is material to check, never to trust), over real sockets on
SQLite and PostgreSQL: each odd answer ends with a recorded reason, nothing stored wrong, no
post taken for gone on an answer that does not prove it, and a bounded number of calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ifn_campaign.channels.clients import Tuning
from ifn_campaign.insights import platforms
from ifn_campaign.insights.platforms import INSTAGRAM_METRICS, MAX_FIGURE
from ifn_campaign.insights.reader import insights_markdown
from ifn_campaign.models import AccountState, PlatformBlock
from ifn_campaign.secrets import env_name
from ifn_sandbox.http import Fault
from ifn_sandbox.platforms import GRAPH_SECRET
from tests.support.insight_sandboxes import FAST, IG, Sandboxed, dump, sandboxed

GRAPH = "/v25.0/"
VIDEOS = "/youtube/v3/videos"


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> Iterator[Sandboxed]:
    with sandboxed(engine, tmp_path) as made:
        yield made


def ig_node(remote: str, values: dict[str, Any], period: str = "lifetime") -> dict[str, Any]:
    data = [
        {"name": name, "period": period, "values": [{"value": value}]}
        for name, value in values.items()
    ]
    return {"id": remote, "insights": {"data": data}}


def ig_values(**changed: Any) -> dict[str, Any]:
    return {**{name: 10 + i for i, name in enumerate(INSTAGRAM_METRICS)}, **changed}


def answer_graph(world: Sandboxed, body: Any = None, **fault: Any) -> None:
    world.platforms.graph.faults.add(
        Fault(GRAPH, "status", status=fault.pop("status", 200), body=body, times=None, **fault)
    )


def answer_youtube(world: Sandboxed, body: Any = None, **fault: Any) -> None:
    world.platforms.youtube.faults.add(
        Fault(VIDEOS, "status", status=fault.pop("status", 200), body=body, times=None, **fault)
    )


def video_list(*items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"kind": "youtube#videoListResponse", "items": list(items), **extra}


def video(video_id: str, **statistics: Any) -> dict[str, Any]:
    return {"kind": "youtube#video", "id": video_id, "statistics": statistics}


def remote_of(world: Sandboxed, post: int) -> str:
    remote = world.post(post).remote_id
    assert remote is not None
    return remote


def only_reading(world: Sandboxed) -> tuple[Any, dict[str, int]]:
    (reading,) = world.readings()
    return reading, world.metrics(reading.id or 0)


# --- Graph: what is in the answer -----------------------------------------------------------


def test_a_metric_not_asked_for_is_left_out(world: Sandboxed) -> None:
    post = world.publish("instagram")[0]
    remote = remote_of(world, post)
    world.advance(timedelta(hours=1, minutes=5))
    node = ig_node(remote, ig_values())
    node["insights"]["data"] += [
        {"name": "x" * 65, "period": "lifetime", "values": [{"value": 1}]},
        {"name": "[red]boom[/]", "period": "lifetime", "values": [{"value": 2}]},
    ]
    answer_graph(world, {remote: node})
    report = world.read()
    assert [(o.post_id, o.state) for o in report.outcomes] == [(post, "read")]
    assert set(only_reading(world)[1]) == set(INSTAGRAM_METRICS)


def test_a_value_for_another_period_than_lifetime_is_left_out_with_the_reason(
    world: Sandboxed,
) -> None:
    [post] = world.publish("instagram")
    remote = remote_of(world, post)
    world.advance(timedelta(hours=1, minutes=5))
    node = ig_node(remote, ig_values())
    node["insights"]["data"][0] = {  # reach of one day: not the post's count so far
        "name": "reach",
        "period": "day",
        "values": [{"value": 3, "end_time": "2026-01-01T08:00:00+0000"}],
    }
    answer_graph(world, {remote: node})
    [outcome] = world.read().outcomes
    assert outcome.state == "read" and 'reach left out: its period is "day"' in outcome.detail
    reading, metrics = only_reading(world)
    assert "reach" not in metrics and reading.reach is None
    assert "period" in (reading.last_error or "")
    assert metrics["views"] == 11


def test_a_value_that_is_an_object_is_left_out_and_a_bad_shares_count_is_not_zero(
    world: Sandboxed,
) -> None:
    [post] = world.publish("facebook")
    remote = remote_of(world, post)
    world.advance(timedelta(hours=1, minutes=5))
    data = [
        {"name": "post_total_media_view_unique", "period": "lifetime", "values": [{"value": 40}]},
        # Facebook's reactions by type: an object of counts, not one count
        {"name": "post_total_media_view", "period": "lifetime", "values": [{"value": {"like": 3}}]},
    ]
    node = {
        "id": remote,
        "insights": {"data": data},
        "reactions": {"data": [], "summary": {"total_count": "many"}},
        "comments": {"data": [], "summary": {"total_count": 2}},
        "shares": {"count": -5},
    }
    answer_graph(world, {remote: node})
    [outcome] = world.read().outcomes
    assert outcome.state == "read", outcome
    reading, metrics = only_reading(world)
    # before: shares -5 was stored as 0, and nothing said what was left out
    assert metrics == {"post_total_media_view_unique": 40, "comments": 2}
    for said in ("post_total_media_view left out", "reactions left out", "shares left out"):
        assert said in (reading.last_error or "") and said in outcome.detail


def test_no_usable_figure_is_asked_again_with_the_reason(world: Sandboxed) -> None:
    [post] = world.publish("instagram")
    remote = remote_of(world, post)
    world.advance(timedelta(hours=1, minutes=5))
    answer_graph(world, {remote: ig_node(remote, dict.fromkeys(INSTAGRAM_METRICS, -1))})
    [outcome] = world.read().outcomes
    assert outcome.state == "retry" and "no figure could be used" in outcome.detail
    reading, metrics = only_reading(world)
    assert metrics == {} and "reach left out: -1" in (reading.last_error or "")


# --- Graph: how the answer comes -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ({"text": "<html><body>502 Bad Gateway</body></html>"}, "unreadable body"),
        ({"text": '{"1": {"id": "1", "insi'}, "unreadable body"),  # cut JSON, whole length
        ({"status": 502, "text": "<html>Bad Gateway</html>"}, "temporary"),
    ],
)
def test_a_page_that_is_not_a_graph_answer_is_retried_and_stores_nothing(
    world: Sandboxed, fault: dict[str, Any], said: str
) -> None:
    posts = world.publish("instagram", 2)
    world.advance(timedelta(hours=1, minutes=5))
    answer_graph(world, **fault)
    report = world.read()
    assert {(o.post_id, o.state) for o in report.outcomes} == {(p, "retry") for p in posts}
    assert all(said in o.detail for o in report.outcomes), dump(report)
    assert all(world.metrics(r.id or 0) == {} for r in world.readings())
    assert all(world.post(p).remote_gone_at is None for p in posts)


def test_json_under_another_content_type_is_checked_like_any_answer(world: Sandboxed) -> None:
    [post] = world.publish("instagram")
    remote = remote_of(world, post)
    world.advance(timedelta(hours=1, minutes=5))
    answer_graph(world, {remote: ig_node(remote, ig_values())}, content_type="text/plain")
    assert [o.state for o in world.read().outcomes] == ["read"]
    assert only_reading(world)[1]["reach"] == 10


def test_a_cut_answer_is_retried_and_stores_nothing(world: Sandboxed) -> None:
    [post] = world.publish("facebook")
    world.advance(timedelta(hours=1, minutes=5))
    world.platforms.graph.faults.add(Fault(GRAPH, "truncate", times=None))
    [outcome] = world.read().outcomes
    assert outcome.state == "retry" and "connection was lost" in outcome.detail
    assert world.post(post).remote_gone_at is None


@pytest.mark.slow
def test_a_huge_answer_stores_only_what_was_asked(world: Sandboxed) -> None:
    [post] = world.publish("instagram")
    remote = remote_of(world, post)
    world.advance(timedelta(hours=1, minutes=5))
    node = ig_node(remote, ig_values())
    node["insights"]["data"] += [
        {"name": f"m{i}", "period": "lifetime", "values": [{"value": i}]} for i in range(60_000)
    ]
    node["padding"] = "x" * 3_500_000  # about 7.9 MB in all: under Tuning.json_max_bytes
    answer_graph(world, {remote: node, **{str(i): {"id": str(i)} for i in range(5_000)}})
    assert [o.state for o in world.read().outcomes] == ["read"]
    assert set(only_reading(world)[1]) == set(INSTAGRAM_METRICS)


def test_an_account_failing_after_the_clients_retries_is_left_until_the_next_run(
    engine: Engine, tmp_path: Path
) -> None:
    """Before: every batch of the account spent the client's retries on a platform that was
    down (5 calls a batch with the publisher's clients, 100 batches in a full run)."""
    with sandboxed(engine, tmp_path, batch=1) as world:
        posts = world.publish("facebook", 3)
        world.advance(timedelta(hours=1, minutes=5))
        world.platforms.graph.faults.add(Fault(GRAPH, "status", status=503, times=None))
        calls = len(world.reads())
        report = world.read()
        assert len(world.reads()) - calls == FAST.graph_retries + 1  # one batch's attempts
        assert [(o.post_id, o.state) for o in report.outcomes] == [(posts[0], "retry")]
        assert any("not called again in this run" in w for w in report.waiting), dump(report)
        world.platforms.graph.faults.clear()
        world.advance(timedelta(minutes=30))
        later = world.read()
        assert {o.post_id for o in later.outcomes if o.state == "read"} == set(posts)


def test_a_very_slow_answer_times_out_a_bounded_number_of_times(world: Sandboxed) -> None:
    posts = world.publish("instagram", 2)
    world.advance(timedelta(hours=1, minutes=5))
    world.platforms.graph.faults.add(Fault(GRAPH, "slow", delay=1.5, times=None))
    quick = Tuning(
        graph_read_timeout=0.3,
        graph_retries=1,
        graph_backoff_factor=0.001,
        graph_backoff_max=0.01,
        graph_jitter=0,
    )
    calls = len(world.reads())
    report = world.read(tuning=quick)
    assert len(world.reads()) - calls == 2
    assert {(o.post_id, o.state) for o in report.outcomes} == {(p, "retry") for p in posts}
    assert all("read timeout" in o.detail for o in report.outcomes), dump(report)


# --- Graph: errors -----------------------------------------------------------------------


@pytest.mark.parametrize("code", [4, 17, 32, 613])
@pytest.mark.parametrize("usage_headers", [True, False])
def test_a_rate_limit_is_kept_with_or_without_usage_headers(
    world: Sandboxed, code: int, usage_headers: bool
) -> None:
    posts = world.publish("instagram", 2)
    world.advance(timedelta(hours=1, minutes=5))
    graph = world.platforms.graph
    fault = (
        graph.rate_limit_fault(code, path=GRAPH, object_id=IG, times=None)
        if usage_headers
        else graph.error_fault(code, path=GRAPH, times=None)
    )
    graph.faults.add(fault)
    calls = len(world.reads())
    report = world.read()
    assert len(world.reads()) - calls == 1  # stopped at once: more calls extend the block
    assert report.outcomes == [] and any("stopped until" in w for w in report.waiting)
    with Session(world.engine) as session:
        [block] = session.scalars(select(PlatformBlock)).all()
        assert block.code == code and block.blocked_until > world.now()
    again = len(world.reads())
    assert world.read().outcomes == [] and len(world.reads()) == again
    assert all(world.post(p).remote_gone_at is None for p in posts)


@pytest.mark.parametrize(("code", "kind"), [(4, "block"), (190, "reauth"), (2, "retry")])
def test_an_error_body_under_status_200_is_that_error(
    world: Sandboxed, code: int, kind: str
) -> None:
    """Before: a 200 carrying Meta's error body was taken for an answer leaving every post out,
    so a rate limit kept being called and a dead token was never said."""
    [post] = world.publish("facebook")
    world.advance(timedelta(hours=1, minutes=5))
    graph = world.platforms.graph
    graph.faults.add(graph.error_fault(code, path=GRAPH, status=200, times=None))
    report = world.read()
    with Session(world.engine) as session:
        blocks = session.scalars(select(PlatformBlock)).all()
        reauth = session.get(AccountState, ("facebook", "bpipi"))
    if kind == "block":
        assert report.outcomes == [] and [b.code for b in blocks] == [code]
    elif kind == "reauth":
        assert report.outcomes == [] and reauth is not None and reauth.needs_reauth_since
    else:
        [outcome] = report.outcomes
        assert (outcome.post_id, outcome.state) == (post, "retry")
        assert "temporary" in outcome.detail, outcome


def test_a_dead_token_is_kept_as_the_publisher_keeps_it(world: Sandboxed) -> None:
    """Before: code 190 stopped the account for the run only; every later run called again
    with the dead token and the publisher did not learn of it."""
    world.publish("instagram", 2)
    [fb] = world.publish("facebook")
    world.advance(timedelta(hours=1, minutes=5))
    graph = world.platforms.graph
    message = "Error validating access token: Session has expired"
    # Facebook's batch is asked first and answered; then Instagram's token is refused
    graph.faults.add(
        graph.error_fault(190, path=GRAPH, subcode=463, message=message, after=1, times=None)
    )
    report = world.read()
    assert [(o.post_id, o.state) for o in report.outcomes] == [(fb, "read")], dump(report)
    assert any("instagram bpipi" in w and "reauthorised" in w for w in report.waiting)
    with Session(world.engine) as session:
        state = session.get(AccountState, ("instagram", "bpipi"))
        assert state is not None and state.needs_reauth_since is not None
        assert "token expired" in (state.message or "")
    calls = len(world.reads())
    world.advance(timedelta(days=1))
    later = world.read()
    assert any("instagram bpipi: awaits re-authorisation" in w for w in later.waiting)
    assert all(o.channel != "instagram" for o in later.outcomes)
    assert len(world.reads()) == calls + 1  # Facebook's 1d only


def test_100_33_naming_a_post_makes_it_gone_and_the_rest_of_the_batch_read(
    world: Sandboxed,
) -> None:
    posts = world.publish("facebook", 3)
    gone = remote_of(world, posts[1])
    world.advance(timedelta(hours=1, minutes=5))
    graph = world.platforms.graph
    message = (
        f"Unsupported get request. Object with ID '{gone}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation."
    )
    graph.faults.add(graph.error_fault(100, path=GRAPH, subcode=33, message=message))
    report = world.read()
    states = {o.post_id: o.state for o in report.outcomes}
    assert states == {posts[0]: "read", posts[1]: "gone", posts[2]: "read"}, dump(report)
    assert len(world.reads()) == 2


def test_100_33_naming_no_post_of_a_batch_proves_nothing(world: Sandboxed) -> None:
    posts = world.publish("facebook", 2)
    world.advance(timedelta(hours=1, minutes=5))
    graph = world.platforms.graph
    graph.faults.add(graph.error_fault(100, path=GRAPH, subcode=33, message="(#100) gone"))
    report = world.read()
    assert {o.state for o in report.outcomes} == {"retry"}
    assert all(world.post(p).remote_gone_at is None for p in posts)


def test_803_for_some_ids_then_for_more_ends(world: Sandboxed) -> None:
    posts = world.publish("instagram", 4)
    remotes = [remote_of(world, p) for p in posts]
    world.advance(timedelta(hours=1, minutes=5))
    graph = world.platforms.graph
    for first, then in ((remotes[0], remotes[1]), (remotes[2], "999")):
        graph.faults.add(
            graph.error_fault(
                803,
                path=GRAPH,
                status=404,
                message=f"(#803) Some of the aliases you requested do not exist: {first},{then}",
            )
        )
    report = world.read()
    states = {o.post_id: o.state for o in report.outcomes}
    expected = {posts[0]: "gone", posts[1]: "gone", posts[2]: "gone", posts[3]: "read"}
    assert states == expected, dump(report)
    assert len(world.reads()) == 3  # each 803 names some: at most one call per id


@pytest.mark.parametrize("channel", ["instagram", "facebook"])
def test_a_token_of_another_page_marks_no_post_of_a_batch_gone(
    world: Sandboxed, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The account's token swapped for another Page's: the Graph sandbox answers 803 for
    every post (not the token's), as Meta does for objects a token cannot load. Before: every
    post of the batch was marked gone for good, and never read again."""
    posts = world.publish(channel, 3)
    world.advance(timedelta(hours=1, minutes=5))
    other = "another-page-token"
    world.platforms.graph.add_token(other, ["100000000000777", "17841400000000777"])
    monkeypatch.setenv(env_name(GRAPH_SECRET), other)
    report = world.read()
    assert {o.post_id: o.state for o in report.outcomes} == dict.fromkeys(posts, "retry")
    assert all("the token cannot see them" in o.detail for o in report.outcomes), dump(report)
    assert all(world.post(p).remote_gone_at is None for p in posts)
    assert any(w.startswith(f"{channel} bpipi: every post") for w in report.waiting)
    assert "none is taken for gone" in insights_markdown(report)
    monkeypatch.undo()  # the right token again: every post is read
    world.advance(timedelta(hours=1))
    later = world.read()
    assert {o.post_id: o.state for o in later.outcomes} == dict.fromkeys(posts, "read")


# --- readings over time --------------------------------------------------------------------


def test_a_figure_that_goes_down_is_stored_and_said_and_all_zeros_are_not(
    world: Sandboxed,
) -> None:
    [post] = world.publish("instagram")
    remote = remote_of(world, post)
    world.advance(timedelta(hours=1, minutes=5))
    answer_graph(world, {remote: ig_node(remote, ig_values(reach=500))})
    assert [o.state for o in world.read().outcomes] == ["read"]
    graph = world.platforms.graph
    graph.faults.clear()
    world.advance(timedelta(days=1))
    answer_graph(world, {remote: ig_node(remote, dict.fromkeys(INSTAGRAM_METRICS, 0))})
    [zeros] = world.read().outcomes
    assert zeros.state == "retry" and "every figure was 0 where the 1h reading" in zeros.detail
    graph.faults.clear()
    world.advance(timedelta(days=1))
    answer_graph(world, {remote: ig_node(remote, ig_values(reach=450))})
    [down] = world.read().outcomes
    assert down.state == "read" and "below the 1h reading's 500" in down.detail
    by_mark = {r.mark: r for r in world.readings()}
    assert (by_mark["1h"].reach, by_mark["1d"].reach) == (500, 450)
    assert "revised" in (by_mark["1d"].last_error or "")


def test_all_zeros_at_the_first_reading_are_zeros(world: Sandboxed) -> None:
    [post] = world.publish("instagram")
    remote = remote_of(world, post)
    world.advance(timedelta(hours=1, minutes=5))
    answer_graph(world, {remote: ig_node(remote, dict.fromkeys(INSTAGRAM_METRICS, 0))})
    assert [o.state for o in world.read().outcomes] == ["read"]
    reading, metrics = only_reading(world)
    assert reading.reach == 0 and set(metrics.values()) == {0}


# --- YouTube -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("likes", "stored"),
    [
        ("12", 12),
        ("abc", None),
        ("-3", None),
        (-3, None),
        ("1.5", None),
        (1.5, None),
        ("18446744073709551616", None),  # beyond a 64-bit integer
        (2**70, None),
        (None, None),
        ({"value": "3"}, None),
        ([3], None),
        (True, None),
    ],
)
def test_an_odd_youtube_count_is_left_out_with_the_reason(
    world: Sandboxed, likes: Any, stored: int | None
) -> None:
    [post] = world.publish("youtube")
    remote = remote_of(world, post)
    world.advance(timedelta(hours=1, minutes=5))
    answer_youtube(world, video_list(video(remote, viewCount="120", likeCount=likes)))
    [outcome] = world.read().outcomes
    assert outcome.state == "read"
    reading, metrics = only_reading(world)
    assert reading.reach == 120 and metrics.get("likes") == stored
    if stored is None:
        assert "likeCount left out" in (reading.last_error or "") and "likeCount" in outcome.detail


def test_hidden_likes_are_no_figure_and_no_complaint(world: Sandboxed) -> None:
    [post] = world.publish("youtube")
    remote = remote_of(world, post)
    world.advance(timedelta(hours=1, minutes=5))
    answer_youtube(world, video_list(video(remote, viewCount="7", commentCount="1")))
    world.read()
    reading, metrics = only_reading(world)
    assert metrics == {"views": 7, "comments": 1} and reading.last_error is None


def test_an_unusable_view_count_is_asked_again_with_the_reason(world: Sandboxed) -> None:
    [post] = world.publish("youtube")
    remote = remote_of(world, post)
    world.advance(timedelta(hours=1, minutes=5))
    answer_youtube(world, video_list(video(remote, viewCount="-1", likeCount="2")))
    [outcome] = world.read().outcomes
    assert outcome.state == "retry" and "viewCount left out" in outcome.detail
    assert only_reading(world)[1] == {}


@pytest.mark.parametrize(
    "fault",
    [
        {"text": "<html><title>Sign in to the hotel Wi-Fi</title></html>"},
        {"body": {"kind": "youtube#videoListResponse"}},  # no items
        {"body": {"items": "none"}},
        {"body": []},
        {"body": {"error": "nope"}},
    ],
)
def test_an_answer_that_is_not_a_video_list_makes_nothing_gone(
    world: Sandboxed, fault: dict[str, Any]
) -> None:
    """Before: every video of the batch was stored as deleted on YouTube, never asked again."""
    posts = world.publish("youtube", 2)
    world.advance(timedelta(hours=1, minutes=5))
    answer_youtube(world, **fault)
    report = world.read()
    assert {(o.post_id, o.state) for o in report.outcomes} == {(p, "retry") for p in posts}
    assert all("not a video list" in o.detail for o in report.outcomes), dump(report)
    assert all(world.post(p).remote_gone_at is None for p in posts)


def test_a_page_token_nobody_asked_for_proves_nothing_gone(world: Sandboxed) -> None:
    posts = world.publish("youtube", 2)
    first = remote_of(world, posts[0])
    world.advance(timedelta(hours=1, minutes=5))
    answer_youtube(world, video_list(video(first, viewCount="5"), nextPageToken="CAEQAA"))
    report = world.read()
    states = {o.post_id: o.state for o in report.outcomes}
    assert states == {posts[0]: "read", posts[1]: "retry"}, dump(report)
    assert world.post(posts[1]).remote_gone_at is None


def test_ids_not_asked_for_and_ids_given_twice(world: Sandboxed) -> None:
    posts = world.publish("youtube", 3)
    a, b, c = (remote_of(world, p) for p in posts)
    world.advance(timedelta(hours=1, minutes=5))
    answer_youtube(
        world,
        video_list(
            video("someoneElse", viewCount="999999"),
            video(a, viewCount="5"),
            video(a, viewCount="5"),  # the same twice: no doubt
            video(b, viewCount="5"),
            video(b, viewCount="6000"),  # two different answers: which is it?
            video(c, viewCount="8"),
        ),
    )
    report = world.read()
    states = {o.post_id: o.state for o in report.outcomes}
    assert states == {posts[0]: "read", posts[1]: "retry", posts[2]: "read"}, dump(report)
    assert "twice" in next(o.detail for o in report.outcomes if o.post_id == posts[1])
    assert {r.post_id: r.reach for r in world.readings()} == {
        posts[0]: 5,
        posts[1]: None,
        posts[2]: 8,
    }


# --- properties ----------------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.from_regex(r"-?[0-9]{1,25}", fullmatch=True),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@given(JSON)
def test_any_json_value_is_a_sane_count_or_left_out_with_a_reason(value: Any) -> None:
    figures: dict[str, int] = {}
    notes: list[str] = []
    platforms._take(figures, notes, "likes", value)
    if "likes" in figures:
        assert notes == [] and isinstance(figures["likes"], int)
        assert not isinstance(figures["likes"], bool) and 0 <= figures["likes"] <= MAX_FIGURE
    else:
        [note] = notes
        assert note.startswith("likes left out: ") and len(note) < 120


@pytest.mark.slow
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=JSON)
def test_any_json_value_in_a_metric_slot_over_http(world: Sandboxed, value: Any) -> None:
    """Whatever a metric slot holds, the run ends (never raising), the reading is read with a
    sane figure or the value is refused with the reason."""
    world.platforms.graph.faults.clear()  # the last example's, which would answer publishing
    [post] = world.publish("instagram")
    remote = remote_of(world, post)
    answer_graph(world, {remote: ig_node(remote, ig_values(likes=value))})
    world.advance(timedelta(hours=1, minutes=5))
    report = world.read()
    [outcome] = [o for o in report.outcomes if o.post_id == post]
    assert outcome.state == "read"
    [reading] = [r for r in world.readings() if r.post_id == post]
    metrics = world.metrics(reading.id or 0)
    if "likes" in metrics:
        assert 0 <= metrics["likes"] <= MAX_FIGURE
        assert json.loads(json.dumps(value)) in (metrics["likes"], str(metrics["likes"]))
    else:
        assert "likes left out" in (reading.last_error or "")


@pytest.mark.parametrize("channel", ["instagram", "facebook"])
def test_a_token_of_another_page_marks_a_lone_post_not_gone(
    world: Sandboxed, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As above with one post due (the usual run: readings of a few posts a week fall due one
    by one): its batch is that post alone, and another Page's token is no more proof it is
    gone than for three."""
    [post] = world.publish(channel)
    world.advance(timedelta(hours=1, minutes=5))
    other = "another-page-token"
    world.platforms.graph.add_token(other, ["100000000000777", "17841400000000777"])
    monkeypatch.setenv(env_name(GRAPH_SECRET), other)
    report = world.read()
    assert [o.state for o in report.outcomes] == ["retry"], dump(report)
    assert world.post(post).remote_gone_at is None
    monkeypatch.undo()  # the right token again: the post is read
    world.advance(timedelta(hours=1))
    assert [o.state for o in world.read().outcomes] == ["read"]


@pytest.mark.parametrize("channel", ["instagram", "facebook"])
def test_a_lone_post_deleted_in_the_app_is_still_gone(world: Sandboxed, channel: str) -> None:
    """The account's own token sees the account: a lone post the platform says it has not is
    gone, as before, and never asked again."""
    [post] = world.publish(channel)
    world.platforms.graph.delete_in_app(world.post(post).remote_id or "")
    world.advance(timedelta(hours=1, minutes=5))
    report = world.read()
    assert [o.state for o in report.outcomes] == ["gone"], dump(report)
    assert world.post(post).remote_gone_at is not None
