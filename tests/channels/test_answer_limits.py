"""Every Graph, YouTube and Google token answer has a whole-call deadline and a size cap, over
real sockets against the sandboxes: a server dripping a byte at a time is cut off at the
deadline with the error a timeout gives (a creating call: outcome unknown, never repeated), a
huge body is refused without being read whole, and ordinary answers are unaffected.

Before: requests' read timeout bounds each read, so a drip of one byte every 50 ms held a call
until the server chose to stop, and a 64 MB body was read whole into memory."""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ifn_campaign.channels.graph import GraphClient
from ifn_campaign.channels.youtube import OAuthCredentials, TokenSource, YouTubeClient
from ifn_campaign.errors import GraphOutcomeUnknown, GraphTransient, YouTubeUnreachable
from ifn_sandbox.graph import GraphAccount, GraphSandbox
from ifn_sandbox.http import Fault
from ifn_sandbox.youtube import CHUNK_GRANULARITY, YouTubeChannel, YouTubeSandbox

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
SECRET = "EAAG-test-page-token-limits-0123456789"
ACCOUNT = GraphAccount(token=SECRET)
IG, PAGE = ACCOUNT.ig_user_id, ACCOUNT.page_id
CHANNEL = YouTubeChannel()
UPLOAD = "/upload/youtube/v3/videos"
VIDEOS = "/youtube/v3/videos"
CAP = 256 * 1024
HUGE = 64 * 1024 * 1024
DRIP = 0.05  # seconds between bytes: a whole answer takes half a minute or more


def no_sleep(_seconds: float) -> None:
    """The clients' backoff, not slept."""


@pytest.fixture
def graph() -> Iterator[GraphSandbox]:
    with GraphSandbox([ACCOUNT], clock=lambda: T0) as sandbox:
        yield sandbox


@pytest.fixture
def yt() -> Iterator[YouTubeSandbox]:
    with YouTubeSandbox([CHANNEL], clock=lambda: T0) as sandbox:
        yield sandbox


def graph_client(graph: GraphSandbox, **kw: Any) -> GraphClient:
    options: dict[str, Any] = {
        "read_timeout": 5,
        "deadline": 0.5,
        "max_bytes": CAP,
        "retries": 1,
        "sleep": no_sleep,
        **kw,
    }
    return GraphClient(f"{graph.url}/v25.0", SECRET, **options)


def youtube_client(yt: YouTubeSandbox, **kw: Any) -> YouTubeClient:
    credentials = OAuthCredentials(yt.client_id, yt.client_secret, CHANNEL.refresh_token)
    tokens = TokenSource(
        f"{yt.url}/token",
        credentials,
        clock=yt.now,
        timeout=(5, 5),
        deadline=kw.pop("token_deadline", 0.5),
        max_bytes=CAP,
    )
    options: dict[str, Any] = {
        "read_timeout": 5,
        "deadline": 0.5,
        "max_bytes": CAP,
        "retries": 1,
        "sleep": no_sleep,
        "chunk_size": CHUNK_GRANULARITY,
        **kw,
    }
    return YouTubeClient(f"{yt.url}/youtube/v3", f"{yt.url}/upload/youtube/v3", tokens, **options)


def peak_bytes(call: Any) -> tuple[BaseException, int]:
    """What `call()` raised and the most memory Python held meanwhile."""
    tracemalloc.start()
    try:
        call()
    except Exception as exc:  # the error under test, checked by the caller
        raised: BaseException = exc
    else:
        raise AssertionError("the call returned")
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return raised, peak


# --- Graph --------------------------------------------------------------------------------


def test_graph_answers_within_the_limits_are_unaffected(graph: GraphSandbox) -> None:
    with graph_client(graph, deadline=10) as client:
        assert client.get(f"/{IG}", fields="username")["username"] == "ifn.bpipi"
        assert client.post(f"/{PAGE}/feed", {"message": "Halo"})["id"]


def test_a_dripping_graph_read_ends_at_the_deadline_and_is_retried(graph: GraphSandbox) -> None:
    graph.faults.add(Fault("/v25.0/", "drip", delay=DRIP, times=None))
    with graph_client(graph) as client, pytest.raises(GraphTransient) as caught:
        client.get(f"/{IG}", fields="username")
    message = str(caught.value)
    assert "0.5 s deadline" in message and "Tuning.graph_deadline" in message, message
    assert f"127.0.0.1:{graph.port}" in message and SECRET not in message
    assert len(graph.requests.matching("/v25.0/", "GET")) == 2  # the first try and one retry


def test_a_dripping_answer_to_a_creating_call_is_an_unknown_outcome_not_repeated(
    graph: GraphSandbox,
) -> None:
    """As after a read timeout: the post may exist, so it is reconciled, never sent again."""
    graph.faults.add(Fault(f"/v25.0/{PAGE}/feed", "drip", delay=DRIP, method="POST"))
    with graph_client(graph) as client, pytest.raises(GraphOutcomeUnknown) as caught:
        client.post(f"/{PAGE}/feed", {"message": "Halo"})
    assert "deadline" in str(caught.value) and "reconcile" in str(caught.value)
    assert len(graph.requests.matching(f"/v25.0/{PAGE}/feed", "POST")) == 1


@pytest.mark.parametrize("declare", [True, False], ids=["length declared", "no length"])
def test_a_huge_graph_answer_is_refused_without_being_read_whole(
    graph: GraphSandbox, declare: bool
) -> None:
    graph.faults.add(Fault("/v25.0/", "huge", size=HUGE, declare=declare, times=None))
    with graph_client(graph, retries=0) as client:
        raised, peak = peak_bytes(lambda: client.get(f"/{IG}", fields="username"))
    assert isinstance(raised, GraphTransient), raised
    assert f"at most {CAP:,} bytes" in str(raised) and "Tuning.json_max_bytes" in str(raised)
    assert peak < 8 * CAP, f"{peak:,} bytes held for a {HUGE:,} byte answer"


# --- YouTube and Google's token endpoint ---------------------------------------------------


def test_youtube_answers_within_the_limits_are_unaffected(
    yt: YouTubeSandbox, tmp_path: Path
) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(random.Random(3).randbytes(2 * CHUNK_GRANULARITY + 100))
    with youtube_client(yt, deadline=10, token_deadline=10) as client:
        session = client.start_upload(video, {"title": "Sorotan"}, {"privacyStatus": "public"})
        made = client.upload(session, video, fresh=True)
        assert client.video_status(made["id"]).privacy == "public"


def test_a_dripping_youtube_answer_ends_at_the_deadline(yt: YouTubeSandbox) -> None:
    yt.faults.add(Fault(VIDEOS, "drip", delay=DRIP, times=None))
    with (
        youtube_client(yt, token_deadline=10) as client,
        pytest.raises(YouTubeUnreachable) as caught,
    ):
        client.video_status("abc")
    message = str(caught.value)
    assert "0.5 s deadline" in message and "Tuning.youtube_deadline" in message, message
    assert len(yt.requests.matching(VIDEOS, "GET")) == 2


def test_a_dripping_token_endpoint_ends_at_its_deadline(yt: YouTubeSandbox) -> None:
    yt.faults.add(Fault("/token", "drip", delay=DRIP, times=None))
    with youtube_client(yt) as client, pytest.raises(YouTubeUnreachable) as caught:
        client.video_status("abc")
    assert "Tuning.token_deadline" in str(caught.value), caught.value
    assert not yt.requests.matching(VIDEOS)  # no token, no call


def test_a_huge_youtube_answer_is_refused_without_being_read_whole(yt: YouTubeSandbox) -> None:
    yt.faults.add(Fault(VIDEOS, "huge", size=HUGE, declare=False, times=None))
    with youtube_client(yt, retries=0, token_deadline=10) as client:
        raised, peak = peak_bytes(lambda: client.video_status("abc"))
    assert isinstance(raised, YouTubeUnreachable), raised
    assert "Tuning.json_max_bytes" in str(raised)
    assert peak < 8 * CAP, f"{peak:,} bytes held for a {HUGE:,} byte answer"


def test_a_dripping_answer_to_an_upload_chunk_resumes_from_the_session_one_video(
    yt: YouTubeSandbox, tmp_path: Path
) -> None:
    """The last chunk's answer drips: the call is cut, the session is asked how far it got
    and answers with the video; nothing is sent twice, one video exists. A chunk's deadline
    grows with its bytes (`upload_min_rate`), so the chunks before it go through."""
    data = random.Random(5).randbytes(2 * CHUNK_GRANULARITY + 100)
    video = tmp_path / "v.mp4"
    video.write_bytes(data)
    with youtube_client(yt, retries=2, token_deadline=10, upload_min_rate=1024**2) as client:
        session = client.start_upload(video, {"title": "Sorotan"}, {"privacyStatus": "public"})
        yt.faults.add(Fault(UPLOAD, "drip", delay=DRIP, method="PUT", after=2))
        made = client.upload(session, video, fresh=True)
    (stored,) = yt.videos()
    assert made["id"] == stored.id
    puts = yt.requests.matching(UPLOAD, "PUT")
    assert sum(len(r.body) for r in puts) == len(data)  # every byte sent once
    assert [r.headers["Content-Range"] for r in puts if not r.body] == [f"bytes */{len(data)}"]
