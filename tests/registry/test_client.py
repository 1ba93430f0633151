"""The registry client over real HTTP against the sandbox: paging, retries, faults, auth, gzip."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ifn_campaign.config import RegistrySettings
from ifn_campaign.errors import RegistryResponseError, RegistryUnreachable
from ifn_campaign.registry.client import RegistryClient
from ifn_sandbox.http import Fault
from ifn_sandbox.registry import RegistrySandbox, generate_members


def _json_bytes(value: object) -> bytes:
    return json.dumps({"error": value, "message": value}).encode()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def _client(sandbox: RegistrySandbox, **kw: object) -> tuple[RegistryClient, list[float]]:
    waits: list[float] = []
    values: dict[str, object] = {
        "base_url": sandbox.url,
        "backoff_factor": 0.01,
        "backoff_jitter": 0.0,
        "read_timeout": 2,
    }
    settings = RegistrySettings.model_validate(values | kw)
    return RegistryClient(settings, sleep=waits.append), waits


@pytest.fixture
def gen() -> RegistrySandbox:
    with RegistrySandbox(generated=25) as sandbox:
        yield sandbox  # type: ignore[misc]


def test_pages_cover_every_member_once_in_order(gen: RegistrySandbox) -> None:
    client, _ = _client(gen, page_size=7)
    pages = list(client.pages())
    assert [len(p.records) for p in pages] == [7, 7, 7, 4]
    ids = [r["id"] for p in pages for r in p.records]
    assert sorted(ids) == sorted(m["id"] for m in generate_members(25))
    assert len(set(ids)) == 25
    keys = [(r["updated_at"], r["id"]) for p in pages for r in p.records]
    assert keys == sorted(keys)
    assert pages[0].cursor is None and pages[-1].next_cursor is None
    assert pages[1].cursor == pages[0].next_cursor


def test_resume_from_cursor_continues_after_it(gen: RegistrySandbox) -> None:
    client, _ = _client(gen, page_size=10)
    first = next(iter(client.pages()))
    rest = [r["id"] for p in client.pages(cursor=first.next_cursor) for r in p.records]
    all_ids = [r["id"] for p in client.pages() for r in p.records]
    assert rest == all_ids[10:]


def test_incremental_asks_for_updated_since(gen: RegistrySandbox) -> None:
    client, _ = _client(gen, page_size=500)
    changed = {**generate_members(25)[3], "business_name": "Sepatu Baru Jaya"}
    del changed["updated_at"]  # the sandbox stamps it "now"
    gen.upsert(changed)
    since = datetime(2026, 1, 1, tzinfo=UTC)
    records = [r for p in client.pages(since=since) for r in p.records]
    assert [r["business_name"] for r in records] == ["Sepatu Baru Jaya"]
    assert gen.requests.matching("/api/v1/members")[-1].params["updated_since"] == (
        "2026-01-01T00:00:00Z"
    )


def test_retries_429_honouring_retry_after(gen: RegistrySandbox) -> None:
    gen.faults.add(Fault(path="/api/v1/members", kind="status", status=429, retry_after=3))
    client, waits = _client(gen)
    assert sum(len(p.records) for p in client.pages()) == 25
    assert waits == [3.0]


@pytest.mark.parametrize(
    "kind,status", [("status", 500), ("status", 503), ("drop", None), ("truncate", None)]
)
def test_retries_transient_failures_with_backoff(
    gen: RegistrySandbox, kind: str, status: int | None
) -> None:
    gen.faults.add(Fault(path="/api/v1/members", kind=kind, status=status or 500, times=2))
    messages: list[str] = []
    client, waits = _client(gen)
    client.on_retry = messages.append
    assert sum(len(p.records) for p in client.pages()) == 25
    assert waits == [0.01, 0.02]  # exponential, jitter 0 here
    assert len(messages) == 2 and "retry 1/5" in messages[0]


def test_gives_up_after_retries_with_clear_error(gen: RegistrySandbox) -> None:
    gen.faults.add(Fault(path="/api/v1/members", kind="status", status=502, times=0))
    client, waits = _client(gen, retries=2)
    with pytest.raises(RegistryUnreachable, match="failed 3 times, last: HTTP 502"):
        list(client.pages())
    assert len(waits) == 2


def test_excessive_retry_after_is_not_waited_out(gen: RegistrySandbox) -> None:
    gen.faults.add(Fault(path="/api/v1/members", kind="status", status=429, retry_after=7200))
    client, waits = _client(gen, retry_after_max=60)
    with pytest.raises(RegistryUnreachable, match="Retry-After"):
        list(client.pages())
    assert waits == []


def test_slow_page_times_out_then_recovers(gen: RegistrySandbox) -> None:
    gen.faults.add(Fault(path="/api/v1/members", kind="slow", delay=1.5))
    client, waits = _client(gen, read_timeout=0.5)
    assert sum(len(p.records) for p in client.pages()) == 25
    assert len(waits) == 1


def test_unreachable_registry() -> None:
    with RegistrySandbox(members=[]) as sandbox:
        url = sandbox.url
    client = RegistryClient(
        RegistrySettings(base_url=url, retries=1, backoff_factor=0, backoff_jitter=0),
        sleep=lambda _s: None,
    )
    with pytest.raises(RegistryUnreachable, match="connection failed"):
        list(client.pages())


def test_bearer_token_sent_and_401_explained() -> None:
    with RegistrySandbox(generated=3, token="s3cret-token") as sandbox:
        ok = RegistryClient(RegistrySettings(base_url=sandbox.url), "s3cret-token")
        assert sum(len(p.records) for p in ok.pages()) == 3
        assert sandbox.requests.matching("/api/")[-1].headers["authorization"] == (
            "Bearer s3cret-token"
        )
        bad = RegistryClient(RegistrySettings(base_url=sandbox.url), "wrong")
        with pytest.raises(RegistryResponseError, match="HTTP 401") as info:
            list(bad.pages())
        assert "wrong" not in str(info.value) and "s3cret" not in str(info.value)


def test_gzip_is_requested_and_decoded(gen: RegistrySandbox) -> None:
    client, _ = _client(gen)
    assert sum(len(p.records) for p in client.pages()) == 25
    assert "gzip" in gen.requests.matching("/api/")[-1].headers["accept-encoding"]


def test_member_lookup_and_404(gen: RegistrySandbox) -> None:
    client, _ = _client(gen)
    assert client.member("gen-000001")["id"] == "gen-000001"  # type: ignore[index]
    assert client.member("nope/../x") is None


@contextmanager
def _serving(body: bytes | list[bytes], status: int = 200) -> Iterator[str]:
    """A one-off server answering every GET with `body`: a registry gone wrong. A list holds
    one body that the test may swap between requests."""
    held = body if isinstance(body, list) else [body]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = held[0]
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "body",
    [b"[]", b'{"data": 5}', b'{"items": []}', b'{"data": [], "next_cursor": 7}'],
)
def test_malformed_pages_are_clear_errors(body: bytes) -> None:
    with _serving(body) as url:
        client = RegistryClient(RegistrySettings(base_url=url, retries=0))
        with pytest.raises(RegistryResponseError, match="registry page"):
            list(client.pages())


def test_cursor_that_never_advances_is_refused() -> None:
    with _serving(b'{"data": [], "next_cursor": "same"}') as url:
        client = RegistryClient(RegistrySettings(base_url=url, retries=0))
        with pytest.raises(RegistryResponseError, match="same cursor twice"):
            list(client.pages(cursor="same"))


def test_invalid_json_is_retried_then_reported() -> None:
    with _serving(b"{not json") as url:
        client = RegistryClient(RegistrySettings(base_url=url, retries=1), sleep=lambda _s: None)
        with pytest.raises(RegistryUnreachable, match="not valid JSON"):
            list(client.pages())


def test_bad_limit_is_a_400_with_the_registry_message(gen: RegistrySandbox) -> None:
    client, _ = _client(gen)
    with pytest.raises(RegistryResponseError, match="HTTP 400") as info:
        list(client.pages(cursor="!!!not-a-cursor!!!"))
    assert info.value.status == 400


def _error_of(url: str) -> RegistryResponseError:
    client = RegistryClient(RegistrySettings(base_url=url, retries=0))
    with pytest.raises(RegistryResponseError) as info:
        list(client.pages(cursor="c"))
    client.close()
    return info.value


def _readable(message: str) -> bool:
    return message.isprintable() and len(message) < 600


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (b'{"error": "invalid_cursor", "message": "cursor expired"}', "invalid_cursor"),
        (b'{"error": "invalid_cursor", "message": "cursor expired"}', "cursor expired"),
        (b'{"error": {"code": 400, "message": "bad limit"}}', "bad limit"),
        (b'{"error": ["a", "b"]}', "a"),
        (b'{"error": 42}', "42"),
        (b'{"error": null, "message": "plain"}', "plain"),
        (b'["not", "an", "object"]', "not"),
        (b"17", "17"),
        (b"null", "Bad Request"),
        (b"<html><body><h1>400 Bad Request</h1>\n\x1b[31m</body></html>", "400 Bad Request"),
        (b"", "Bad Request"),
        (b"\xff\xfe\x80 not utf-8", "not utf-8"),
        (b'{"error": "' + b"x" * 2_000_000 + b'"}', "xxx"),
        (b"\x00\x01\x02", "Bad Request"),
    ],
)
def test_any_error_body_is_a_clear_registry_error(body: bytes, shown: str) -> None:
    """The registry's error body is read defensively: whatever it holds, the caller gets a
    RegistryResponseError with the status and a short printable message."""
    with _serving(body, status=400) as url:
        error = _error_of(url)
    assert error.status == 400
    assert shown in str(error) and _readable(str(error))


def test_error_body_with_a_string_error_from_the_sandbox(gen: RegistrySandbox) -> None:
    gen.faults.add(
        Fault(
            path="/api/v1/members",
            kind="status",
            status=400,
            body={"error": "invalid_cursor", "message": "cursor expired"},
        )
    )
    client, _ = _client(gen)
    with pytest.raises(RegistryResponseError, match="invalid_cursor: cursor expired") as info:
        list(client.pages())
    assert info.value.status == 400


def test_error_bodies_never_crash_the_client() -> None:
    body = [b""]
    with _serving(body, status=400) as url:

        @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(data=st.one_of(st.binary(max_size=300), JSON.map(_json_bytes)))
        def check(data: bytes) -> None:
            body[0] = data
            error = _error_of(url)
            assert error.status == 400 and _readable(str(error))

        check()
