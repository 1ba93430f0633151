"""The registry sandbox follows the contract over real sockets, and misbehaves on request."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from ifn_sandbox.http import Fault
from ifn_sandbox.registry import RegistrySandbox, generate_members

MEMBERS = "/api/v1/members"

# In contract order: unusable updated_at first (key "", then id), then (updated_at, id) with ties.
FIXTURE: list[Any] = [
    {"id": "m-c", "business_name": "CV Tiga", "updated_at": "2025-03-01T00:00:00Z"},
    {
        "id": "m-a",
        "business_name": "CV Satu",
        "updated_at": "2025-03-01T00:00:00Z",
        "logo_url": "/media/logo-a.png",
        "photos": [{"url": "/media/photo-a.jpg", "alt": "Sepatu"}, "not-a-photo"],
    },
    {"id": "m-b", "updated_at": "2025-03-01T07:00:00+07:00"},  # the same instant as m-a, m-c
    {"id": "m-d", "updated_at": "2025-01-15T10:00:00.5Z"},
    {
        "id": "m-e",
        "updated_at": "2025-06-30T23:59:59Z",
        "logo_url": "http://169.254.169.254/latest/meta-data/",
        "photos": [{"url": "//elsewhere.example/p.jpg"}],
    },
    {"id": "m-bad", "updated_at": "not-a-date", "categories": "sneakers"},
    {"id": "m-none", "business_name": 42},
    {"id": "m-f", "updated_at": "2025-02-01T00:00:00Z"},
]
ORDER = ["m-bad", "m-none", "m-d", "m-f", "m-a", "m-b", "m-c", "m-e"]


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RegistrySandbox]:
    media = tmp_path / "media"
    media.mkdir()
    (media / "logo-a.png").write_bytes(b"\x89PNG fake logo")
    (tmp_path / "secret.txt").write_text("do not serve me")
    with RegistrySandbox(members=FIXTURE, media_dir=media) as sandbox:
        yield sandbox


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def all_pages(session: requests.Session, url: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        response = session.get(f"{url}{MEMBERS}", params=query, timeout=5)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"data", "next_cursor"}
        items.extend(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("paging never ended")


def assert_error(response: requests.Response, status: int) -> None:
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == status
    assert isinstance(error["message"], str)
    assert error["message"]


# --- paging -----------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 2, 3, 500])
def test_paging_returns_every_member_once_in_updated_at_then_id_order(
    registry: RegistrySandbox, session: requests.Session, limit: int
) -> None:
    items = all_pages(session, registry.url, limit=limit)
    assert [item["id"] for item in items] == ORDER


def test_default_limit_is_100(session: requests.Session) -> None:
    members = [{"id": f"x-{i:03d}", "updated_at": "2025-01-01T00:00:00Z"} for i in range(150)]
    with RegistrySandbox(members=members) as registry:
        first = session.get(f"{registry.url}{MEMBERS}", timeout=5).json()
        assert len(first["data"]) == 100
        second = session.get(
            f"{registry.url}{MEMBERS}", params={"cursor": first["next_cursor"]}, timeout=5
        ).json()
        assert [m["id"] for m in second["data"]] == [f"x-{i:03d}" for i in range(100, 150)]
        assert second["next_cursor"] is None


def test_updated_since_is_inclusive_and_skips_unusable_times(
    registry: RegistrySandbox, session: requests.Session
) -> None:
    for since in ("2025-03-01T00:00:00Z", "2025-03-01T07:00:00+07:00", "2025-03-01T00:00:00.000Z"):
        items = all_pages(session, registry.url, updated_since=since, limit=2)
        assert [item["id"] for item in items] == ["m-a", "m-b", "m-c", "m-e"]
    items = all_pages(session, registry.url, updated_since="2020-01-01T00:00:00Z")
    assert [item["id"] for item in items] == ORDER[2:]
    assert all_pages(session, registry.url, updated_since="2026-01-01T00:00:00Z") == []


def test_member_upserted_while_paging_moves_to_the_end_and_is_not_lost(
    registry: RegistrySandbox, session: requests.Session
) -> None:
    first = session.get(f"{registry.url}{MEMBERS}", params={"limit": 3}, timeout=5).json()
    assert [m["id"] for m in first["data"]] == ORDER[:3]
    registry.upsert({"id": "m-f", "business_name": "changed"})  # not yet seen
    registry.upsert({"id": "m-bad", "business_name": "changed too"})  # already seen
    registry.upsert({"id": "m-new", "business_name": "brand new"})
    cursor = first["next_cursor"]
    rest: list[str] = []
    while cursor:
        page = session.get(
            f"{registry.url}{MEMBERS}", params={"limit": 3, "cursor": cursor}, timeout=5
        ).json()
        rest.extend(m["id"] for m in page["data"])
        cursor = page["next_cursor"]
    assert rest[:4] == ["m-a", "m-b", "m-c", "m-e"]
    assert sorted(rest[4:]) == ["m-bad", "m-f", "m-new"]


def test_paging_loses_nobody_under_concurrent_upserts(session: requests.Session) -> None:
    members = [{"id": f"c-{i:03d}", "updated_at": f"2025-01-01T00:{i // 60:02d}:{i % 60:02d}Z"}
               for i in range(300)]  # fmt: skip
    with RegistrySandbox(members=members) as registry:
        done = threading.Event()

        def churn() -> None:  # a bounded churn: endless upserts would keep moving the tail
            for i in range(150):
                if done.is_set():
                    return
                registry.upsert({"id": f"c-{(i * 37) % 300:03d}", "n": i})
                time.sleep(0.001)

        worker = threading.Thread(target=churn)
        worker.start()
        try:
            seen = {item["id"] for item in all_pages(session, registry.url, limit=7)}
        finally:
            done.set()
            worker.join()
    assert seen == {m["id"] for m in members}


def test_upsert_bumps_updated_at_and_remove_deletes(registry: RegistrySandbox) -> None:
    stored = registry.upsert({"id": "m-a", "business_name": "CV Satu Baru"})
    assert stored["updated_at"].endswith("Z")
    assert stored["updated_at"] > "2025-12-31"
    kept = registry.upsert({"id": "m-x", "updated_at": "2024-01-01T00:00:00Z"})
    assert kept["updated_at"] == "2024-01-01T00:00:00Z"
    assert registry.remove("m-a") is True
    assert registry.remove("m-a") is False
    assert registry.get("m-a") is None
    assert registry.get("m-x")["updated_at"] == "2024-01-01T00:00:00Z"


@pytest.mark.parametrize("limit", ["0", "501", "-1", "abc", "1.5", ""])
def test_limit_outside_1_to_500_is_400(
    registry: RegistrySandbox, session: requests.Session, limit: str
) -> None:
    response = session.get(f"{registry.url}{MEMBERS}", params={"limit": limit}, timeout=5)
    assert_error(response, 400)


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "garbage!!"},
        {"cursor": ""},
        {"cursor": base64.urlsafe_b64encode(b'{"not": "a list"}').decode()},
        {"updated_since": "yesterday"},
        {"updated_since": "2025-13-01T00:00:00Z"},
    ],
)
def test_bad_cursor_or_updated_since_is_400(
    registry: RegistrySandbox, session: requests.Session, params: dict[str, str]
) -> None:
    assert_error(session.get(f"{registry.url}{MEMBERS}", params=params, timeout=5), 400)


# --- one member, URLs, broken data ------------------------------------------------------------


def test_one_member_and_404(registry: RegistrySandbox, session: requests.Session) -> None:
    member = session.get(f"{registry.url}{MEMBERS}/m-a", timeout=5).json()
    assert member["business_name"] == "CV Satu"
    assert_error(session.get(f"{registry.url}{MEMBERS}/nobody", timeout=5), 404)
    assert_error(session.get(f"{registry.url}/api/v1/other", timeout=5), 404)
    assert_error(session.post(f"{registry.url}{MEMBERS}", json={}, timeout=5), 405)


def test_relative_media_urls_become_absolute_and_absolute_ones_stay(
    registry: RegistrySandbox, session: requests.Session
) -> None:
    a = session.get(f"{registry.url}{MEMBERS}/m-a", timeout=5).json()
    assert a["logo_url"] == f"{registry.url}/media/logo-a.png"
    assert a["photos"] == [
        {"url": f"{registry.url}/media/photo-a.jpg", "alt": "Sepatu"},
        "not-a-photo",
    ]
    e = session.get(f"{registry.url}{MEMBERS}/m-e", timeout=5).json()
    assert e["logo_url"] == "http://169.254.169.254/latest/meta-data/"
    assert e["photos"] == [{"url": "//elsewhere.example/p.jpg"}]
    assert registry.get("m-a")["logo_url"] == "/media/logo-a.png"  # stored raw


def test_broken_records_never_crash_the_server(session: requests.Session) -> None:
    broken = [
        "not an object",
        ["a", "list"],
        {"no": "id", "updated_at": "2025-01-01T00:00:00Z"},
        {"id": 7, "updated_at": 12345, "photos": "nope", "logo_url": 3},
        {"id": "lone-surrogate", "business_name": "\ud800", "updated_at": None},
        {"id": "ok", "updated_at": "2025-05-05T05:05:05Z"},
    ]
    with RegistrySandbox(members=broken) as registry:
        items = all_pages(session, registry.url, limit=2)
        assert len(items) == len(broken)
        assert items[-1]["id"] == "ok"
        assert {"no": "id", "updated_at": "2025-01-01T00:00:00Z"} in items
        assert "not an object" in items
        assert session.get(f"{registry.url}{MEMBERS}/7", timeout=5).json()["logo_url"] == 3
        since = all_pages(session, registry.url, updated_since="2000-01-01")
        assert [item.get("id") for item in since] == [None, "ok"]


# --- auth and compression ---------------------------------------------------------------------


def test_token_is_required_for_api_but_not_media(session: requests.Session, tmp_path: Path) -> None:
    with RegistrySandbox(members=FIXTURE, media_dir=tmp_path, token="s3cret") as registry:
        registry.add_file("a.png", b"png", "image/png")
        assert_error(session.get(f"{registry.url}{MEMBERS}", timeout=5), 401)
        wrong = {"Authorization": "Bearer nope"}
        assert_error(session.get(f"{registry.url}{MEMBERS}", headers=wrong, timeout=5), 401)
        good = {"Authorization": "Bearer s3cret"}
        assert session.get(f"{registry.url}{MEMBERS}", headers=good, timeout=5).status_code == 200
        assert session.get(f"{registry.url}/media/a.png", timeout=5).status_code == 200
        sent = [r.headers.get("Authorization") for r in registry.requests.matching("/api/")]
        assert sent == [None, "Bearer nope", "Bearer s3cret"]


def test_json_is_gzipped_only_when_asked(
    registry: RegistrySandbox, session: requests.Session
) -> None:
    zipped = session.get(f"{registry.url}{MEMBERS}", headers={"Accept-Encoding": "gzip"}, timeout=5)
    assert zipped.headers["Content-Encoding"] == "gzip"
    plain = session.get(
        f"{registry.url}{MEMBERS}", headers={"Accept-Encoding": "identity"}, timeout=5
    )
    assert "Content-Encoding" not in plain.headers
    assert zipped.json() == plain.json()
    assert int(plain.headers["Content-Length"]) == len(plain.content)
    error = session.get(f"{registry.url}{MEMBERS}/nobody", headers={"Accept-Encoding": "gzip"})
    assert error.headers["Content-Encoding"] == "gzip"
    assert error.json()["error"]["code"] == 404
    assert registry.requests[0].headers["accept-encoding"] == "gzip"


# --- media and redirects ----------------------------------------------------------------------


def test_media_has_strong_etag_and_answers_304(
    registry: RegistrySandbox, session: requests.Session
) -> None:
    data = b"\xff\xd8 a jpeg, honestly"
    registry.add_file("added.jpg", data, "image/jpeg")
    response = session.get(f"{registry.url}/media/added.jpg", timeout=5)
    etag = f'"{hashlib.sha256(data).hexdigest()}"'
    assert (response.status_code, response.content) == (200, data)
    assert response.headers["ETag"] == etag
    assert response.headers["Content-Type"] == "image/jpeg"
    again = session.get(
        f"{registry.url}/media/added.jpg", headers={"If-None-Match": etag}, timeout=5
    )
    assert again.status_code == 304
    assert again.content == b""
    assert registry.requests[-1].headers["If-None-Match"] == etag
    stale = session.get(
        f"{registry.url}/media/added.jpg", headers={"If-None-Match": '"other"'}, timeout=5
    )
    assert stale.status_code == 200
    from_disk = session.get(f"{registry.url}/media/logo-a.png", timeout=5)
    assert from_disk.content == b"\x89PNG fake logo"
    assert from_disk.headers["Content-Type"] == "image/png"
    assert session.get(f"{registry.url}/media/missing.png", timeout=5).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/media/../secret.txt",
        "/media/..%2Fsecret.txt",
        "/media/%2e%2e%2fsecret.txt",
        "/media/..%5Csecret.txt",
        "/media/",
        "/media/sub/logo-a.png",
    ],
)
def test_media_path_traversal_is_refused(registry: RegistrySandbox, path: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", registry.port, timeout=5)
    try:
        connection.request("GET", path)  # raw: requests would normalise the dots away
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.status == 404
    assert b"do not serve me" not in body


def test_add_file_refuses_path_names(registry: RegistrySandbox) -> None:
    with pytest.raises(ValueError, match="plain file name"):
        registry.add_file("../x.png", b"", "image/png")


def test_redirect_and_redirect_chain(registry: RegistrySandbox, session: requests.Session) -> None:
    registry.add_file("end.png", b"end", "image/png")
    target = f"{registry.url}/media/end.png"
    one = session.get(
        f"{registry.url}/redirect", params={"to": target}, allow_redirects=False, timeout=5
    )
    assert (one.status_code, one.headers["Location"]) == (302, target)
    chain = session.get(f"{registry.url}/redirect-chain", params={"n": 3, "to": target}, timeout=5)
    assert (chain.status_code, chain.content, len(chain.history)) == (200, b"end", 3)
    bad = session.get(f"{registry.url}/redirect", params={"to": "x\r\nSet-Cookie: a=b"}, timeout=5)
    assert_error(bad, 400)


# --- faults -----------------------------------------------------------------------------------


def test_slow_fault_delays_then_answers(
    registry: RegistrySandbox, session: requests.Session
) -> None:
    registry.faults.add(Fault(MEMBERS, "slow", delay=0.3))
    started = time.monotonic()
    assert session.get(f"{registry.url}{MEMBERS}", timeout=5).status_code == 200
    assert time.monotonic() - started >= 0.3
    with pytest.raises(requests.Timeout):
        registry.faults.add(Fault(MEMBERS, "slow", delay=0.5))
        session.get(f"{registry.url}{MEMBERS}", timeout=0.1)


def test_status_faults_429_with_retry_after_and_500(
    registry: RegistrySandbox, session: requests.Session
) -> None:
    registry.faults.add(Fault(MEMBERS, "status", status=429, retry_after=2))
    registry.faults.add(Fault(MEMBERS, "status", status=500))
    limited = session.get(f"{registry.url}{MEMBERS}", timeout=5)
    assert_error(limited, 429)
    assert limited.headers["Retry-After"] == "2"
    failed = session.get(f"{registry.url}{MEMBERS}", timeout=5)
    assert_error(failed, 500)
    assert "Retry-After" not in failed.headers
    assert session.get(f"{registry.url}{MEMBERS}", timeout=5).status_code == 200


def test_drop_fault_closes_without_answer(
    registry: RegistrySandbox, session: requests.Session
) -> None:
    fault = registry.faults.add(Fault("/api/", "drop"))
    with pytest.raises(requests.ConnectionError):
        session.get(f"{registry.url}{MEMBERS}", timeout=5)
    assert fault.fired == 1
    assert session.get(f"{registry.url}{MEMBERS}", timeout=5).status_code == 200
    assert len(registry.requests) == 2  # the dropped request is still recorded


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_truncate_fault_cuts_the_body(
    registry: RegistrySandbox, session: requests.Session, encoding: str
) -> None:
    registry.faults.add(Fault(MEMBERS, "truncate"))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        session.get(f"{registry.url}{MEMBERS}", headers={"Accept-Encoding": encoding}, timeout=5)
    assert session.get(f"{registry.url}{MEMBERS}", timeout=5).status_code == 200


def test_truncate_fault_on_media(registry: RegistrySandbox, session: requests.Session) -> None:
    registry.add_file("big.jpg", b"x" * 10_000, "image/jpeg")
    registry.faults.add(Fault("/media/", "truncate"))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        session.get(f"{registry.url}/media/big.jpg", timeout=5)


def test_fault_after_and_times_count_matching_requests_only(
    registry: RegistrySandbox, session: requests.Session
) -> None:
    fault = registry.faults.add(Fault(MEMBERS, "status", status=503, after=1, times=2))
    registry.add_file("a.png", b"a", "image/png")
    statuses = []
    for _ in range(4):
        assert session.get(f"{registry.url}/media/a.png", timeout=5).status_code == 200
        statuses.append(session.get(f"{registry.url}{MEMBERS}", timeout=5).status_code)
    assert statuses == [200, 503, 503, 200]
    assert (fault.seen, fault.fired, fault.exhausted) == (3, 2, True)


def test_fault_with_times_zero_or_none_fires_forever(
    registry: RegistrySandbox, session: requests.Session
) -> None:
    registry.faults.add(Fault(MEMBERS, "status", status=502, times=0))
    for _ in range(3):
        assert session.get(f"{registry.url}{MEMBERS}", timeout=5).status_code == 502
    registry.faults.clear()
    registry.faults.add(Fault(MEMBERS, "status", status=502, times=None))
    for _ in range(3):
        assert session.get(f"{registry.url}{MEMBERS}", timeout=5).status_code == 502
    registry.faults.clear()
    assert session.get(f"{registry.url}{MEMBERS}", timeout=5).status_code == 200


def test_fault_validation() -> None:
    with pytest.raises(ValueError, match="kind"):
        Fault("/api/", "explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown fault field"):
        Fault.from_dict({"path": "/api/", "kind": "drop", "oops": 1})


# --- control endpoints ------------------------------------------------------------------------


def test_control_endpoints_change_faults_and_members_and_are_not_logged(
    registry: RegistrySandbox, session: requests.Session
) -> None:
    control = f"{registry.url}/_sandbox"
    added = session.post(f"{control}/faults", json={"path": "/", "kind": "drop", "times": 0})
    assert added.status_code == 201
    with pytest.raises(requests.ConnectionError):
        session.get(f"{registry.url}{MEMBERS}", timeout=5)
    # control endpoints still work while every other request is dropped
    upserted = session.post(f"{control}/members", json={"id": "m-new", "business_name": "Baru"})
    assert upserted.status_code == 201
    assert upserted.json()["updated_at"].endswith("Z")
    assert session.delete(f"{control}/faults", timeout=5).status_code == 200
    assert len(registry.faults) == 0

    listed = session.post(
        f"{control}/faults",
        json=[
            {"path": MEMBERS, "kind": "status", "status": 429, "retry_after": 1},
            {"path": "/media/", "kind": "slow", "delay": 0.01},
        ],
    )
    assert listed.json() == {"added": 2, "faults": 2}
    assert session.get(f"{registry.url}{MEMBERS}", timeout=5).status_code == 429
    assert session.delete(f"{control}/faults", timeout=5).status_code == 200

    ids = [item["id"] for item in all_pages(session, registry.url)]
    assert ids[-1] == "m-new"
    assert session.delete(f"{control}/members/m-new", timeout=5).status_code == 200
    assert session.delete(f"{control}/members/m-new", timeout=5).status_code == 404
    assert session.get(f"{registry.url}{MEMBERS}/m-new", timeout=5).status_code == 404

    assert_error(session.post(f"{control}/faults", json={"path": "/", "kind": "nope"}), 400)
    assert_error(session.post(f"{control}/members", json=["not", "a", "member"]), 400)
    assert not [r for r in registry.requests if r.path.startswith("/_sandbox")]


def test_request_log_records_query_and_headers(
    registry: RegistrySandbox, session: requests.Session
) -> None:
    session.get(
        f"{registry.url}{MEMBERS}",
        params={"limit": 2, "updated_since": "2025-01-01T00:00:00+07:00"},
        headers={"Authorization": "Bearer x"},
        timeout=5,
    )
    (record,) = list(registry.requests)
    assert (record.method, record.path) == ("GET", MEMBERS)
    assert record.params == {"limit": "2", "updated_since": "2025-01-01T00:00:00+07:00"}
    assert record.headers["authorization"] == "Bearer x"
    assert "Authorization" in record.headers


# --- generated registry -----------------------------------------------------------------------


def test_generate_members_is_deterministic_with_unique_ids() -> None:
    first = generate_members(10_000, seed=3)
    assert first == generate_members(10_000, seed=3)
    assert generate_members(50, seed=4) != first[:50]
    assert len({m["id"] for m in first}) == 10_000
    assert first[0]["id"] == "gen-000001"
    categories = {"sneakers", "leather_shoes", "sandals", "womens_flats", "safety_shoes", "boots"}
    for member in first[:500]:
        assert set(member["categories"]) <= categories | {"components"}
        assert set(member["actor_types"]) <= {"brand", "supplier", "producer"}
        assert set(member["export_markets"]) <= {"US", "BE", "CN", "DE", "JP"}
        assert member["consent"]["channels"] == ["instagram", "facebook", "youtube"]
        assert member["status"] == "active"
        assert member["updated_at"].startswith("2025-")
        assert member["contact"]["phone"].startswith("+62 8")
        assert member["logo_url"].startswith("/media/gen-logo-")
        assert 1 <= len(member["photos"]) <= 2
        assert member["description_id"]
    named = generate_members(5, media_names=["a.png"])
    assert {m["logo_url"] for m in named} == {"/media/a.png"}


def test_generated_registry_serves_pages_of_500_and_its_media(session: requests.Session) -> None:
    with RegistrySandbox(generated=1200, seed=1) as registry:
        page = session.get(f"{registry.url}{MEMBERS}", params={"limit": 500}, timeout=5)
        assert page.headers["Content-Encoding"] == "gzip"
        body = page.json()
        assert len(body["data"]) == 500
        assert body["data"] == generate_members_served(registry, 500)
        items = all_pages(session, registry.url, limit=500)
        keys = [(item["updated_at"], item["id"]) for item in items]
        assert len(items) == 1200
        assert keys == sorted(keys)
        logo = session.get(items[0]["logo_url"], timeout=5)
        assert logo.status_code == 200
        assert logo.headers["Content-Type"] == "image/png"
        assert logo.content.startswith(b"\x89PNG")
        photo = session.get(items[0]["photos"][0]["url"], timeout=5)
        assert photo.headers["Content-Type"] == "image/jpeg"


def generate_members_served(registry: RegistrySandbox, n: int) -> list[dict[str, Any]]:
    """The first n generated members in contract order, as served (absolute media URLs)."""
    members = sorted(generate_members(1200, seed=1), key=lambda m: (m["updated_at"], m["id"]))
    out = []
    for member in members[:n]:
        served = json.loads(json.dumps(member))
        served["logo_url"] = registry.url + served["logo_url"]
        for photo in served["photos"]:
            photo["url"] = registry.url + photo["url"]
        out.append(served)
    return out


def test_stop_closes_the_port(session: requests.Session) -> None:
    registry = RegistrySandbox(members=[])
    with registry:
        url = registry.url
        assert session.get(f"{url}{MEMBERS}", timeout=5).json() == {"data": [], "next_cursor": None}
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}{MEMBERS}", timeout=2)
    assert "9.9.9.9" in RegistrySandbox(members=[], public_host="9.9.9.9", port=1).url


def test_expired_cursors_are_refused_with_a_string_error(
    registry: RegistrySandbox, session: requests.Session
) -> None:
    """Like a registry that rotated its cursor keys: old cursors get 400 `invalid_cursor`."""
    first = session.get(f"{registry.url}{MEMBERS}", params={"limit": 1}, timeout=5).json()
    cursor = first["next_cursor"]
    registry.expire_cursors()
    response = session.get(f"{registry.url}{MEMBERS}", params={"cursor": cursor}, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_cursor" and response.json()["message"]
    again = session.get(f"{registry.url}{MEMBERS}", params={"limit": 1}, timeout=5).json()
    assert again["data"] == first["data"]
    fresh = session.get(f"{registry.url}{MEMBERS}", params={"cursor": again["next_cursor"]})
    assert fresh.status_code == 200
    assert session.post(f"{registry.url}/_sandbox/expire-cursors", timeout=5).status_code == 200
    stale = session.get(f"{registry.url}{MEMBERS}", params={"cursor": again["next_cursor"]})
    assert stale.json()["error"] == "invalid_cursor"
