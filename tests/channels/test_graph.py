"""GraphClient over real HTTP against the Graph sandbox: error classes, retry policy per call,
rate-limit blocks, usage throttling, and a token that never leaks."""

from __future__ import annotations

import logging
import socket
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from ifn_campaign.channels.graph import GraphClient, Usage, error_from_answer
from ifn_campaign.errors import (
    GraphError,
    GraphMediaFetchFailed,
    GraphNotFound,
    GraphOutcomeUnknown,
    GraphPermissionMissing,
    GraphPublishLimit,
    GraphRateLimited,
    GraphRejected,
    GraphTokenInvalid,
    GraphTransient,
)
from ifn_sandbox.graph import GraphAccount, GraphSandbox
from ifn_sandbox.http import Fault

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
SECRET = "EAAG-test-page-token-0123456789"  # a test value shaped like a Page token
ACCOUNT = GraphAccount(token=SECRET)
IG, PAGE = ACCOUNT.ig_user_id, ACCOUNT.page_id


class Recorder:
    """Stands in for time.sleep and time.monotonic: records waits, moves its own clock."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.now = 1000.0

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def graph() -> Iterator[GraphSandbox]:
    with GraphSandbox([ACCOUNT], clock=lambda: T0) as sandbox:
        yield sandbox


@pytest.fixture
def timer() -> Recorder:
    return Recorder()


@pytest.fixture
def client(graph: GraphSandbox, timer: Recorder) -> Iterator[GraphClient]:
    with GraphClient(
        f"{graph.url}/v25.0", SECRET, sleep=timer.sleep, clock=timer.clock, read_timeout=5
    ) as graph_client:
        yield graph_client


def calls(graph: GraphSandbox, path: str = "/", method: str | None = None) -> int:
    return len(graph.requests.matching(f"/v25.0{path}", method))


# --- answers ----------------------------------------------------------------------------------


def test_get_post_delete_send_the_token_in_a_header_only(
    client: GraphClient, graph: GraphSandbox
) -> None:
    assert client.get(f"/{IG}", fields="username") == {"id": IG, "username": "ifn.bpipi"}
    post_id = client.post(f"{PAGE}/feed", {"message": "Halo"})["id"]
    assert client.delete(f"/{post_id}") == {"success": True}
    for record in graph.requests:
        assert record.headers["Authorization"] == f"Bearer {SECRET}"
        assert SECRET not in record.query and SECRET.encode() not in record.body
    assert isinstance(client.last_usage, Usage)
    assert client.last_usage.app["call_count"] >= 0
    assert SECRET not in repr(client)


def test_error_body_is_parsed_exactly(client: GraphClient, graph: GraphSandbox) -> None:
    body = {
        "error": {
            "message": "(#368) The action attempted has been deemed abusive",
            "type": "OAuthException",
            "code": 368,
            "error_subcode": 1390008,
            "error_user_title": "You Can't Post Right Now",
            "error_user_msg": "Posting is temporarily blocked.",
            "is_transient": False,
            "fbtrace_id": "AbCdEfGhIjKlMnOpQrStUv",
        }
    }
    graph.faults.add(Fault(f"/v25.0/{PAGE}/feed", "status", status=403, body=body))
    with pytest.raises(GraphRejected) as caught:
        client.post(f"/{PAGE}/feed", {"message": "x"})
    error = caught.value
    assert type(error) is GraphRejected
    assert (error.code, error.subcode, error.http_status) == (368, 1390008, 403)
    assert error.fbtrace_id == "AbCdEfGhIjKlMnOpQrStUv"
    assert error.message == "(#368) The action attempted has been deemed abusive"
    assert (error.type, error.is_transient) == ("OAuthException", False)
    assert (error.user_title, error.user_msg) == (
        "You Can't Post Right Now",
        "Posting is temporarily blocked.",
    )
    assert (error.method, error.path) == ("POST", f"/{PAGE}/feed")
    text = str(error)
    assert "policy" in text and "Meta Business Suite" in text
    assert "code 368/1390008" in text and "fbtrace_id AbCdEfGhIjKlMnOpQrStUv" in text
    assert calls(graph, f"/{PAGE}/feed") == 1


@pytest.mark.parametrize("subcode", [460, 458, 459, 464, 467, 492])
def test_invalidated_tokens_need_reauthorisation(
    client: GraphClient, graph: GraphSandbox, subcode: int
) -> None:
    graph.invalidate_token(SECRET, subcode=subcode)
    with pytest.raises(GraphTokenInvalid) as caught:
        client.get(f"/{IG}")
    assert (caught.value.code, caught.value.subcode, caught.value.http_status) == (
        190,
        subcode,
        400,
    )
    assert "re-authorisation by staff" in str(caught.value)
    assert calls(graph) == 1  # not retried


def test_expired_token_is_190_463(client: GraphClient, graph: GraphSandbox) -> None:
    graph.expire_token(SECRET)
    with pytest.raises(GraphTokenInvalid, match="the token expired") as caught:
        client.get(f"/{PAGE}")
    assert (caught.value.code, caught.value.subcode) == (190, 463)
    assert caught.value.fbtrace_id and caught.value.fbtrace_id.startswith("A")


def test_missing_permissions_are_named(graph: GraphSandbox, timer: Recorder) -> None:
    graph.add_token("reader", [IG, PAGE], scopes=["instagram_basic", "pages_read_engagement"])
    with GraphClient(f"{graph.url}/v25.0", "reader", sleep=timer.sleep) as reader:
        with pytest.raises(GraphPermissionMissing) as page:
            reader.post(f"/{PAGE}/feed", {"message": "x"}, permissions=("pages_manage_posts",))
        assert (page.value.code, page.value.http_status) == (200, 403)
        assert "pages_manage_posts" in page.value.permissions
        assert "pages_manage_posts" in str(page.value)
        with pytest.raises(GraphPermissionMissing) as ig:
            reader.post(
                f"/{IG}/media",
                {"image_url": "http://127.0.0.1:9/x.jpg"},
                permissions=("instagram_basic", "instagram_content_publish"),
            )
        assert ig.value.code == 10
        assert "instagram_content_publish" in str(ig.value)


def test_unknown_objects_are_not_found(client: GraphClient) -> None:
    with pytest.raises(GraphNotFound) as caught:
        client.get("/999")
    assert (caught.value.code, caught.value.subcode) == (100, 33)


def test_classification_of_every_family() -> None:
    def error(code: int, subcode: int | None = None, status: int = 400) -> GraphError:
        body = {"error": {"message": "m", "code": code, "fbtrace_id": "X"}}
        if subcode is not None:
            body["error"]["error_subcode"] = subcode
        return error_from_answer(status, body, media_url="https://cdn.example/a.jpg")

    for code in (4, 17, 32, 613, 80001, 80002):
        assert type(error(code)) is GraphRateLimited
    for code in (1, 2):
        assert type(error(code, status=500)) is GraphTransient
    assert type(error(100, status=503)) is GraphTransient
    assert type(error(190, 467)) is GraphTokenInvalid
    for code in (10, 200, 230, 299):
        assert type(error(code)) is GraphPermissionMissing
    assert type(error(9, 2207042)) is GraphPublishLimit
    fetch = error(9004, 2207052)
    assert type(fetch) is GraphMediaFetchFailed
    assert "https://cdn.example/a.jpg" in str(fetch)
    for code, subcode, words in (
        (368, None, "policy"),
        (506, None, "duplicate"),
        (100, 2207051, "spam"),
        (100, 2207050, "restricted"),
        (36000, 2207004, "8 MB"),
        (36001, 2207005, "JPEG"),
        (36003, 2207009, "aspect ratio"),
    ):
        rejected = error(code, subcode)
        assert type(rejected) is GraphRejected
        assert words in str(rejected)
    assert type(error_from_answer(502, None)) is GraphTransient  # a proxy's HTML page
    assert type(error_from_answer(429, None)) is GraphRateLimited


# --- the retry policy -------------------------------------------------------------------------


def test_transient_errors_on_reads_are_retried_with_backoff(
    client: GraphClient, graph: GraphSandbox, timer: Recorder
) -> None:
    graph.faults.add(Fault(f"/v25.0/{PAGE}", "status", status=500, times=2))
    graph.faults.add(Fault(f"/v25.0/{PAGE}", "drop", times=1))
    assert client.get(f"/{PAGE}") == {"id": PAGE, "name": ACCOUNT.page_name}
    assert calls(graph, f"/{PAGE}") == 4
    assert len(timer.sleeps) == 3
    for attempt, slept in enumerate(timer.sleeps, start=1):
        base = 0.5 * 2 ** (attempt - 1)
        assert base <= slept <= base + 0.5


def test_retry_after_is_honoured_and_retries_run_out(
    client: GraphClient, graph: GraphSandbox, timer: Recorder
) -> None:
    graph.faults.add(Fault(f"/v25.0/{PAGE}", "status", status=503, retry_after=7, times=1))
    graph.faults.add(Fault(f"/v25.0/{PAGE}", "status", status=500, times=None))
    with pytest.raises(GraphTransient) as caught:
        client.get(f"/{PAGE}")
    assert type(caught.value) is GraphTransient
    assert (caught.value.code, caught.value.http_status, caught.value.is_transient) == (
        1,
        500,
        True,
    )
    assert calls(graph, f"/{PAGE}") == 5  # 1 + retries=4
    assert timer.sleeps[0] == 7
    assert len(timer.sleeps) == 4


def test_creating_calls_are_not_repeated_after_a_server_error(
    client: GraphClient, graph: GraphSandbox, timer: Recorder
) -> None:
    graph.faults.add(Fault(f"/v25.0/{PAGE}/feed", "status", status=500))
    with pytest.raises(GraphOutcomeUnknown) as caught:
        client.post(f"/{PAGE}/feed", {"message": "Sorotan"})
    assert calls(graph, f"/{PAGE}/feed") == 1
    assert timer.sleeps == []
    cause = caught.value.cause
    assert isinstance(cause, GraphTransient) and cause.code == 1
    assert (caught.value.code, caught.value.http_status) == (1, 500)
    assert "reconcile" in str(caught.value)


def test_creating_calls_are_not_repeated_after_a_dropped_connection(
    client: GraphClient, graph: GraphSandbox, timer: Recorder
) -> None:
    graph.faults.add(Fault(f"/v25.0/{PAGE}/feed", "drop"))
    with pytest.raises(GraphOutcomeUnknown, match="may or may not have taken effect"):
        client.post(f"/{PAGE}/feed", {"message": "Sorotan"})
    assert calls(graph, f"/{PAGE}/feed") == 1
    assert timer.sleeps == []


def test_read_timeouts_retry_reads_and_stop_creating_calls(graph: GraphSandbox) -> None:
    timer = Recorder()
    with GraphClient(f"{graph.url}/v25.0", SECRET, read_timeout=0.2, sleep=timer.sleep) as client:
        graph.faults.add(Fault(f"/v25.0/{PAGE}", "slow", delay=0.5, method="GET"))
        assert client.get(f"/{PAGE}")["id"] == PAGE
        assert calls(graph, f"/{PAGE}", "GET") == 2
        graph.faults.add(Fault(f"/v25.0/{PAGE}/feed", "slow", delay=0.5))
        with pytest.raises(GraphOutcomeUnknown, match="read timeout"):
            client.post(f"/{PAGE}/feed", {"message": "pelan"})
        assert calls(graph, f"/{PAGE}/feed") == 1


def test_creating_calls_are_retried_when_the_server_was_never_reached(timer: Recorder) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        GraphClient(f"http://127.0.0.1:{port}/v25.0", SECRET, sleep=timer.sleep) as client,
        pytest.raises(GraphTransient, match="could not connect") as caught,
    ):
        client.post(f"/{PAGE}/feed", {"message": "x"})
    assert type(caught.value) is GraphTransient
    assert len(timer.sleeps) == 4


# --- rate limits and usage --------------------------------------------------------------------


def test_a_rate_limit_blocks_further_calls_without_the_network(
    client: GraphClient, graph: GraphSandbox, timer: Recorder
) -> None:
    graph.faults.add(graph.rate_limit_fault(80002, object_id=IG, minutes=7))
    with pytest.raises(GraphRateLimited) as first:
        client.get(f"/{IG}")
    assert (first.value.code, first.value.retry_after, first.value.is_transient) == (
        80002,
        420,
        True,
    )
    assert client.last_usage is not None and client.last_usage.percent == 100
    sent = len(graph.requests)
    for path in (f"/{IG}", f"/{PAGE}"):
        with pytest.raises(GraphRateLimited, match="not called") as again:
            client.get(path)
        assert again.value.code == 80002 and again.value.retry_after == pytest.approx(420)
    assert len(graph.requests) == sent
    assert timer.sleeps == []  # no retry, no hammering
    timer.now += 421
    assert client.get(f"/{IG}")["id"] == IG
    assert len(graph.requests) == sent + 1


def test_a_rate_limit_without_usage_headers_waits_the_default(
    client: GraphClient, graph: GraphSandbox, timer: Recorder
) -> None:
    graph.faults.add(graph.error_fault(4, path=f"/v25.0/{PAGE}", status=400))
    with pytest.raises(GraphRateLimited) as caught:
        client.get(f"/{PAGE}")
    assert caught.value.retry_after == 300
    timer.now += 299
    with pytest.raises(GraphRateLimited):
        client.get(f"/{PAGE}")
    timer.now += 2
    assert client.get(f"/{PAGE}")["id"] == PAGE


def test_usage_headers_slow_the_client_down_then_stop_it() -> None:
    timer = Recorder()
    with (
        GraphSandbox([ACCOUNT], clock=lambda: T0, business_calls_per_hour=10) as graph,
        GraphClient(f"{graph.url}/v25.0", SECRET, sleep=timer.sleep, clock=timer.clock) as client,
    ):
        for _ in range(8):
            client.get(f"/{PAGE}")
        assert timer.sleeps == []  # 80% only now
        assert client.last_usage is not None and client.last_usage.percent == 80
        client.get(f"/{PAGE}")
        assert timer.sleeps == [pytest.approx(30 * 1 / 21)]
        client.get(f"/{PAGE}")  # at 100%: Meta says when access returns
        assert timer.sleeps[1] == pytest.approx(30 * 11 / 21)
        assert client.last_usage.regain_after > 0
        sent = len(graph.requests)
        with pytest.raises(GraphRateLimited, match="not called"):
            client.get(f"/{PAGE}")
        assert len(graph.requests) == sent
        graph.advance(3600)
        timer.now += client.last_usage.regain_after
        assert client.get(f"/{PAGE}")["id"] == PAGE
        assert len(timer.sleeps) == 3  # the pause owed from the 100% answer


# --- secrets ----------------------------------------------------------------------------------


def test_the_token_never_reaches_logs_errors_or_reprs(
    client: GraphClient, graph: GraphSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"error": {"message": f"bad token {SECRET}", "code": 190, "fbtrace_id": "Z"}}
    graph.faults.add(Fault(f"/v25.0/{IG}", "status", status=400, body=echo))
    graph.faults.add(Fault(f"/v25.0/{PAGE}/feed", "drop"))
    graph.faults.add(Fault(f"/v25.0/{PAGE}", "status", status=500, times=2))
    errors: list[BaseException] = []
    for call in (
        lambda: client.get(f"/{IG}"),
        lambda: client.post(f"/{PAGE}/feed", {"message": "x"}),
    ):
        with pytest.raises(GraphError) as caught:
            call()
        errors.append(caught.value)
    client.get(f"/{PAGE}")  # two logged retries
    assert "retry 2/4" in caplog.text
    graph.invalidate_token(SECRET, 460)
    with pytest.raises(GraphTokenInvalid) as invalid:
        client.get(f"/{PAGE}")
    errors.append(invalid.value)
    for error in errors:
        text = "".join(traceback.format_exception(error)) + repr(error)
        text += " ".join(str(v) for v in vars(error).values())
        assert SECRET not in text
    assert "<token>" in str(errors[0].message)
    assert SECRET not in caplog.text
    assert SECRET not in repr(client)
