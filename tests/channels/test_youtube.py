"""The YouTube client over real HTTP against the YouTube sandbox: OAuth refresh, chunked and
resumed uploads, reconciling finished or lost sessions, errors, thumbnails, scheduling, secrets."""

from __future__ import annotations

import hashlib
import io
import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from ifn_campaign.channels.youtube import (
    OAuthCredentials,
    TokenSource,
    UploadProgress,
    YouTubeClient,
    quota_resets_at,
    video_resource,
)
from ifn_campaign.errors import (
    IFNError,
    UploadSessionGone,
    YouTubeError,
    YouTubeInvalidMetadata,
    YouTubeOutcomeUnknown,
    YouTubeQuotaExceeded,
    YouTubeRateLimited,
    YouTubeReauthNeeded,
    YouTubeThumbnailRefused,
    YouTubeUnreachable,
    YouTubeUploadLimit,
    YouTubeVideoNotFound,
)
from ifn_sandbox.http import Fault, Response
from ifn_sandbox.youtube import CHUNK_GRANULARITY, YouTubeChannel, YouTubeSandbox

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 19:00 on the 24th in Los Angeles
CHANNEL = YouTubeChannel()
UPLOAD = "/upload/youtube/v3/videos"
TOTAL = 3 * CHUNK_GRANULARITY + 5000  # three whole chunks and a short last one
SNIPPET = {
    "title": "Sorotan Anggota IFN: CV Langkah Jaya",
    "description": "Sepatu kulit dari Cibaduyut.",
    "tags": ["IFN", "sepatu kulit"],
    "categoryId": "22",
}
PUBLIC = {"privacyStatus": "public", "selfDeclaredMadeForKids": False}


@pytest.fixture(scope="module")
def video_bytes() -> bytes:
    return random.Random(7).randbytes(TOTAL)


@pytest.fixture
def video(tmp_path: Path, video_bytes: bytes) -> Path:
    path = tmp_path / "sorotan.mp4"
    path.write_bytes(video_bytes)
    return path


@pytest.fixture
def yt() -> Iterator[YouTubeSandbox]:
    with YouTubeSandbox([CHANNEL], clock=lambda: T0) as sandbox:
        yield sandbox


def tokens_for(yt: YouTubeSandbox, refresh_token: str = CHANNEL.refresh_token) -> TokenSource:
    credentials = OAuthCredentials(yt.client_id, yt.client_secret, refresh_token)
    return TokenSource(f"{yt.url}/token", credentials, clock=yt.now)


class Waits(list[float]):
    """The client's sleeps, recorded instead of slept."""


def client_for(yt: YouTubeSandbox, **kw: Any) -> tuple[YouTubeClient, Waits]:
    waits = Waits()
    options: dict[str, Any] = {
        "read_timeout": 5,
        "retries": 3,
        "sleep": waits.append,
        "chunk_size": CHUNK_GRANULARITY,
        **kw,
    }
    client = YouTubeClient(
        f"{yt.url}/youtube/v3", f"{yt.url}/upload/youtube/v3", tokens_for(yt), **options
    )
    return client, waits


@pytest.fixture
def client(yt: YouTubeSandbox) -> Iterator[YouTubeClient]:
    yt_client, _ = client_for(yt)
    with yt_client:
        yield yt_client


def image(fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1280, 720), (30, 90, 140)).save(buffer, fmt)
    return buffer.getvalue()


def chunks_sent(yt: YouTubeSandbox) -> list[tuple[int, int, int | None]]:
    """(start, bytes that arrived, answer) of every upload PUT with a body, checking from the
    sandbox's log that each started exactly where the server's data ended: no byte the server
    already had was ever sent again."""
    had = 0
    sent = []
    for record in yt.requests.matching(UPLOAD, "PUT"):
        if not record.body:
            assert record.headers["Content-Range"].startswith("bytes */")
            continue
        start = int(record.headers["Content-Range"].split()[1].split("-")[0])
        assert start == had, f"chunk at {start}, but the server had {had} bytes"
        sent.append((start, len(record.body), record.status))
        if record.status in (None, 308, 200, 201):  # None: cut, the sandbox kept what arrived
            had += len(record.body)
    return sent


def put_statuses(yt: YouTubeSandbox) -> list[int | None]:
    return [r.status for r in yt.requests.matching(UPLOAD, "PUT")]


# --- OAuth ------------------------------------------------------------------------------------


def test_token_is_cached_until_shortly_before_expiry(yt: YouTubeSandbox) -> None:
    tokens = tokens_for(yt)
    first = tokens.token()
    assert tokens.token() == first
    assert tokens.expires_at == T0 + timedelta(seconds=3599)
    yt.advance(3599 - 61)
    assert tokens.token() == first
    yt.advance(1)  # 60 s before expiry: refreshed ahead of time
    second = tokens.token()
    assert second != first
    assert tokens.refreshes == 2
    assert [r.path for r in yt.requests] == ["/token", "/token"]
    form = yt.requests[0].body.decode()
    assert "grant_type=refresh_token" in form and "refresh_token=sandbox-refresh-token" in form


def test_a_refused_access_token_is_refreshed_once(
    yt: YouTubeSandbox, client: YouTubeClient, video: Path
) -> None:
    uploaded = client.upload(client.start_upload(video, SNIPPET, PUBLIC), video)
    yt.requests.clear()
    yt.expire_access_tokens()
    assert client.video_status(uploaded["id"]).privacy == "public"
    assert [(r.method, r.path, r.status) for r in yt.requests] == [
        ("GET", "/youtube/v3/videos", 401),
        ("POST", "/token", 200),
        ("GET", "/youtube/v3/videos", 200),
    ]


def test_invalid_grant_needs_reauthorisation_and_is_not_retried(
    yt: YouTubeSandbox, video: Path
) -> None:
    client, waits = client_for(yt)
    yt.revoke(CHANNEL.refresh_token)
    with pytest.raises(YouTubeReauthNeeded) as caught:
        client.start_upload(video, SNIPPET, PUBLIC)
    message = str(caught.value)
    assert "re-authorisation by staff" in message
    for why in ("revoked", "6 months", "7 days", "testing mode"):
        assert why in message
    assert caught.value.reason == "invalid_grant"
    assert isinstance(caught.value, YouTubeError) and isinstance(caught.value, IFNError)
    assert [r.path for r in yt.requests] == ["/token"] and waits == []


def test_refresh_tokens_die_after_7_days_in_testing_mode() -> None:
    with YouTubeSandbox(clock=lambda: T0, testing_mode=True) as yt:
        tokens = tokens_for(yt)
        tokens.token()
        yt.advance(7 * 86400)
        with pytest.raises(YouTubeReauthNeeded):
            tokens.token()


def test_wrong_client_secret_is_a_plain_error(yt: YouTubeSandbox) -> None:
    credentials = OAuthCredentials(yt.client_id, "wrong-secret", CHANNEL.refresh_token)
    with pytest.raises(YouTubeError, match="invalid_client") as caught:
        TokenSource(f"{yt.url}/token", credentials, clock=yt.now).token()
    assert not isinstance(caught.value, YouTubeReauthNeeded)
    assert "wrong-secret" not in str(caught.value)


# --- uploads ----------------------------------------------------------------------------------


def test_upload_in_chunks(
    yt: YouTubeSandbox, client: YouTubeClient, video: Path, video_bytes: bytes
) -> None:
    session_url = client.start_upload(video, SNIPPET, PUBLIC)
    (initiation,) = yt.requests.matching(UPLOAD, "POST")
    assert initiation.params == {"uploadType": "resumable", "part": "snippet,status"}
    assert initiation.headers["X-Upload-Content-Length"] == str(TOTAL)
    assert initiation.headers["X-Upload-Content-Type"] == "video/mp4"
    assert initiation.json() == {"snippet": SNIPPET, "status": PUBLIC}
    seen: list[UploadProgress] = []
    resource = client.upload(session_url, video, on_progress=seen.append)
    assert resource["snippet"]["title"] == SNIPPET["title"]
    assert [p.received for p in seen] == [CHUNK_GRANULARITY * i for i in (1, 2, 3)] + [TOTAL]
    assert seen[-1].done and seen[-1].video_id == resource["id"]
    (stored,) = yt.videos()
    assert stored.id == resource["id"]
    assert stored.data_sha256 == hashlib.sha256(video_bytes).hexdigest()
    assert chunks_sent(yt) == [
        (0, CHUNK_GRANULARITY, 308),
        (CHUNK_GRANULARITY, CHUNK_GRANULARITY, 308),
        (2 * CHUNK_GRANULARITY, CHUNK_GRANULARITY, 308),
        (3 * CHUNK_GRANULARITY, 5000, 201),
    ]
    assert put_statuses(yt)[0] == 308  # it asked the session first: nothing received yet


def test_a_fresh_session_gets_the_first_chunk_without_asking(
    yt: YouTubeSandbox, client: YouTubeClient, video: Path, video_bytes: bytes
) -> None:
    session_url = client.start_upload(video, SNIPPET, PUBLIC)
    # a cut on the second chunk: after it, the client must ask, even for a fresh session
    yt.faults.add(yt.drop_fault(after_bytes=100_000, after=1))
    resource = client.upload(session_url, video, fresh=True)
    queries = [r for r in yt.requests.matching(UPLOAD, "PUT") if not r.body]
    assert len(queries) == 1  # only after the cut, never before the first chunk
    assert chunks_sent(yt)[0] == (0, CHUNK_GRANULARITY, 308)
    assert sum(size for _, size, _ in chunks_sent(yt)) == TOTAL
    assert yt.videos()[0].data_sha256 == hashlib.sha256(video_bytes).hexdigest()
    assert resource["id"] == yt.videos()[0].id


def test_start_upload_by_size_and_content_type(yt: YouTubeSandbox, client: YouTubeClient) -> None:
    url = client.start_upload(None, SNIPPET, PUBLIC, size=1234, content_type="video/quicktime")
    assert url.startswith(f"{yt.url}{UPLOAD}?")
    (session,) = yt.sessions()
    assert (session.total, session.content_type) == (1234, "video/quicktime")
    with pytest.raises(ValueError, match="size"):
        client.start_upload(None, SNIPPET, PUBLIC)


def test_dropped_connection_resumes_from_the_servers_range(
    yt: YouTubeSandbox, client: YouTubeClient, video: Path, video_bytes: bytes
) -> None:
    session_url = client.start_upload(video, SNIPPET, PUBLIC)
    # PUTs: the status query, chunk 1, then chunk 2 dies after 100,000 bytes.
    fault = yt.faults.add(yt.drop_fault(after_bytes=100_000, after=2))
    resource = client.upload(session_url, video)
    assert fault.fired == 1
    sent = chunks_sent(yt)
    assert sent == [
        (0, CHUNK_GRANULARITY, 308),
        (CHUNK_GRANULARITY, 100_000, None),  # cut: the server kept these bytes
        (CHUNK_GRANULARITY + 100_000, CHUNK_GRANULARITY, 308),
        (2 * CHUNK_GRANULARITY + 100_000, TOTAL - 2 * CHUNK_GRANULARITY - 100_000, 201),
    ]
    assert sum(size for _, size, _ in sent) == TOTAL  # not one byte twice
    assert put_statuses(yt) == [308, 308, None, 308, 308, 201]  # a query after the cut
    assert yt.videos()[0].data_sha256 == hashlib.sha256(video_bytes).hexdigest()
    assert resource["id"] == yt.videos()[0].id


def test_server_error_mid_upload_resends_only_the_refused_chunk(
    yt: YouTubeSandbox, video: Path, video_bytes: bytes
) -> None:
    client, waits = client_for(yt, backoff_factor=1.0, backoff_jitter=0.0)
    session_url = client.start_upload(video, SNIPPET, PUBLIC)
    yt.faults.add(Fault(UPLOAD, "status", status=503, method="PUT", after=2))
    client.upload(session_url, video)
    assert [start for start, _, _ in chunks_sent(yt)] == [
        0,
        CHUNK_GRANULARITY,
        CHUNK_GRANULARITY,  # the server lacked it: 503 stored nothing
        2 * CHUNK_GRANULARITY,
        3 * CHUNK_GRANULARITY,
    ]
    assert put_statuses(yt) == [308, 308, 503, 308, 308, 308, 201]
    assert waits == [1.0]
    assert yt.videos()[0].data_sha256 == hashlib.sha256(video_bytes).hexdigest()


def test_upload_gives_up_after_every_retry_and_resumes_later(
    yt: YouTubeSandbox, video: Path
) -> None:
    client, waits = client_for(yt, retries=2)
    session_url = client.start_upload(video, SNIPPET, PUBLIC)
    yt.faults.add(Fault(UPLOAD, "status", status=500, method="PUT", after=2, times=None))
    with pytest.raises(YouTubeRateLimited) as caught:
        client.upload(session_url, video)
    assert caught.value.attempts == 3 and len(waits) == 2
    assert "same session" in str(caught.value)
    yt.faults.clear()
    client.upload(session_url, video)  # later: same session, from where the server is
    assert len(yt.videos()) == 1
    chunks_sent(yt)


def test_unreachable_after_every_retry(yt: YouTubeSandbox, video: Path) -> None:
    client, waits = client_for(yt, retries=1)
    session_url = client.start_upload(video, SNIPPET, PUBLIC)
    yt.faults.add(Fault(UPLOAD, "drop", method="PUT", times=None))
    with pytest.raises(YouTubeUnreachable, match="failed 2 times"):
        client.upload(session_url, video)
    assert len(waits) == 1


def test_expired_or_unknown_session_is_gone(
    yt: YouTubeSandbox, client: YouTubeClient, video: Path
) -> None:
    session_url = client.start_upload(video, SNIPPET, PUBLIC)
    yt.advance(7 * 86400 + 1)
    with pytest.raises(UploadSessionGone, match="start a new upload") as caught:
        client.upload(session_url, video)
    assert caught.value.status == 410
    assert chunks_sent(yt) == []  # asked, and sent nothing
    with pytest.raises(UploadSessionGone):
        client.resume_status(session_url.replace("upload_id=", "upload_id=x"), TOTAL)
    assert yt.videos() == []


def test_session_url_on_another_host_is_refused(client: YouTubeClient, video: Path) -> None:
    with pytest.raises(YouTubeError, match="refusing to send"):
        client.upload("http://evil.example/upload?upload_id=1", video)


def test_finished_session_returns_the_video_without_sending_again(
    yt: YouTubeSandbox, client: YouTubeClient, video: Path
) -> None:
    session_url = client.start_upload(video, SNIPPET, PUBLIC)
    first = client.upload(session_url, video)
    before = len(chunks_sent(yt))
    status = client.resume_status(session_url, TOTAL)
    assert (status.done, status.received, status.video_id) == (True, TOTAL, first["id"])
    again = client.upload(session_url, video)
    assert again["id"] == first["id"]
    assert len(chunks_sent(yt)) == before  # only status queries went out
    assert len(yt.videos()) == 1


def test_answer_lost_after_the_last_byte_is_reconciled_not_resent(
    yt: YouTubeSandbox, client: YouTubeClient, video: Path
) -> None:
    session_url = client.start_upload(video, SNIPPET, PUBLIC)
    # PUTs: query, three chunks, then the last chunk's answer never comes.
    yt.faults.add(yt.drop_fault(after_bytes=5000, after=4))
    resource = client.upload(session_url, video)
    assert put_statuses(yt) == [308, 308, 308, 308, None, 200]
    assert [size for _, size, _ in chunks_sent(yt)][-1] == 5000  # sent once
    (stored,) = yt.videos()
    assert resource["id"] == stored.id


def test_resume_status_mid_upload(yt: YouTubeSandbox, client: YouTubeClient, video: Path) -> None:
    session_url = client.start_upload(video, SNIPPET, PUBLIC)
    assert client.resume_status(session_url, TOTAL) == UploadProgress(0, TOTAL)
    yt.faults.add(yt.drop_fault(after_bytes=CHUNK_GRANULARITY + 10, after=1))
    client_one_chunk, _ = client_for(yt, chunk_size=2 * CHUNK_GRANULARITY, retries=0)
    with pytest.raises(YouTubeUnreachable):
        client_one_chunk.upload(session_url, video)
    progress = client.resume_status(session_url, TOTAL)
    assert progress == UploadProgress(CHUNK_GRANULARITY + 10, TOTAL)
    assert (progress.done, progress.video) == (False, None)


def test_session_gone_after_the_last_chunk_is_an_unknown_outcome(
    yt: YouTubeSandbox, client: YouTubeClient, video: Path
) -> None:
    session_url = client.start_upload(video, SNIPPET, PUBLIC)
    yt.faults.add(yt.drop_fault(after_bytes=5000, after=4))
    yt.faults.add(yt.error_fault(410, "gone", path=UPLOAD, method="PUT", after=4))
    with pytest.raises(YouTubeOutcomeUnknown, match="Do not upload it again"):
        client.upload(session_url, video)


# --- errors -----------------------------------------------------------------------------------


def test_quota_exceeded_is_not_retried_and_resets_at_midnight_pacific(video: Path) -> None:
    with YouTubeSandbox(clock=lambda: T0, daily_uploads=1) as yt:
        client, waits = client_for(yt)
        client.start_upload(video, SNIPPET, PUBLIC)
        with pytest.raises(YouTubeQuotaExceeded) as caught:
            client.start_upload(video, SNIPPET, PUBLIC)
        assert caught.value.resets_at == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
        assert (caught.value.reason, caught.value.domain) == ("quotaExceeded", "youtube.quota")
        assert "2026-11-25 08:00 UTC" in str(caught.value)
        assert len(yt.requests.matching(UPLOAD, "POST")) == 2 and waits == []
        yt.advance(5 * 3600)  # midnight in Los Angeles
        client.start_upload(video, SNIPPET, PUBLIC)


def test_quota_resets_follow_daylight_saving() -> None:
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # 05:00 PDT
    assert quota_resets_at(summer) == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)
    just_before = datetime(2026, 11, 25, 7, 59, 59, tzinfo=UTC)  # 23:59:59 PST
    assert quota_resets_at(just_before) == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    assert quota_resets_at(just_before + timedelta(seconds=1)) == datetime(
        2026, 11, 26, 8, 0, tzinfo=UTC
    )


def test_channel_upload_limit(video: Path) -> None:
    with YouTubeSandbox(clock=lambda: T0, channel_upload_cap=1) as yt:
        client, waits = client_for(yt)
        client.start_upload(video, SNIPPET, PUBLIC)
        with pytest.raises(YouTubeUploadLimit) as caught:
            client.start_upload(video, SNIPPET, PUBLIC)
        assert "The user has exceeded the number of videos they may upload." in str(caught.value)
        assert caught.value.reason == "uploadLimitExceeded" and waits == []


def test_rate_limits_are_retried_with_backoff_then_succeed(yt: YouTubeSandbox, video: Path) -> None:
    client, waits = client_for(yt, backoff_factor=1.0, backoff_jitter=0.5)
    yt.faults.add(yt.rate_limit_fault(path=UPLOAD, method="POST"))
    yt.faults.add(yt.rate_limit_fault("userRateLimitExceeded", path=UPLOAD, method="POST"))
    yt.faults.add(Fault(UPLOAD, "status", status=503, retry_after=7, method="POST"))
    retried: list[str] = []
    client.on_retry = retried.append
    assert client.start_upload(video, SNIPPET, PUBLIC).startswith(yt.url)
    assert len(waits) == 3
    assert 1.0 <= waits[0] <= 1.5 and 2.0 <= waits[1] <= 2.5
    assert waits[2] == 7.0  # Retry-After wins
    assert "rateLimitExceeded" in retried[0] and "userRateLimitExceeded" in retried[1]
    assert [r.status for r in yt.requests.matching(UPLOAD, "POST")] == [403, 403, 503, 200]


def test_rate_limit_that_persists_is_raised(yt: YouTubeSandbox, video: Path) -> None:
    client, waits = client_for(yt, retries=2)
    yt.faults.add(yt.rate_limit_fault(path=UPLOAD, method="POST", times=None))
    with pytest.raises(YouTubeRateLimited) as caught:
        client.start_upload(video, SNIPPET, PUBLIC)
    assert (caught.value.attempts, caught.value.reason) == (3, "rateLimitExceeded")
    assert len(waits) == 2 and len(yt.requests.matching(UPLOAD, "POST")) == 3


def test_timeouts_are_retried(yt: YouTubeSandbox, client: YouTubeClient, video: Path) -> None:
    uploaded = client.upload(client.start_upload(video, SNIPPET, PUBLIC), video)
    slow_client, waits = client_for(yt, read_timeout=0.2)
    yt.faults.add(Fault("/youtube/v3/videos", "slow", delay=0.6))
    assert slow_client.video_status(uploaded["id"]).privacy == "public"
    assert len(waits) == 1


BAD_METADATA = [
    ({"title": "x" * 101}, {}, "invalidTitle", "title"),
    ({"title": "  "}, {}, "invalidTitle", "title"),
    ({"title": "Sepatu <b>kulit</b>"}, {}, "invalidTitle", "title"),
    ({"title": 42}, {}, "invalidTitle", "title"),
    ({"description": "é" * 2501}, {}, "invalidDescription", "description"),
    ({"description": "harga > 100rb"}, {}, "invalidDescription", "description"),
    ({"tags": ["a" * 499, "b"]}, {}, "invalidTags", "tags"),
    ({"tags": ["a " + "a" * 497]}, {}, "invalidTags", "tags"),  # a space costs two quotes
    ({"tags": "IFN,sepatu"}, {}, "invalidTags", "tags"),
    ({"categoryId": 22}, {}, "invalidCategoryId", "categoryId"),
    ({}, {"privacyStatus": None}, "invalidVideoMetadata", "privacyStatus"),
    ({}, {"privacyStatus": "friends"}, "invalidVideoMetadata", "privacyStatus"),
    ({}, {"selfDeclaredMadeForKids": "no"}, "invalidVideoMetadata", "selfDeclaredMadeForKids"),
    ({}, {"publishAt": "2026-11-26T03:00:00Z"}, "invalidPublishAt", "publishAt"),  # public
    (
        {},
        {"privacyStatus": "private", "publishAt": datetime(2026, 11, 26, 10)},  # no zone
        "invalidPublishAt",
        "publishAt",
    ),
    ({}, {"privacyStatus": "private", "publishAt": "besok"}, "invalidPublishAt", "publishAt"),
]


@pytest.mark.parametrize(("snippet", "status", "reason", "field"), BAD_METADATA)
def test_metadata_is_checked_before_any_call(
    yt: YouTubeSandbox,
    client: YouTubeClient,
    video: Path,
    snippet: dict[str, Any],
    status: dict[str, Any],
    reason: str,
    field: str,
) -> None:
    with pytest.raises(YouTubeInvalidMetadata) as caught:
        client.start_upload(video, {**SNIPPET, **snippet}, {**PUBLIC, **status})
    assert caught.value.reason == reason
    assert field in [name for name, _ in caught.value.violations]
    assert len(yt.requests) == 0  # not even a token


def test_metadata_at_the_limits_is_accepted() -> None:
    resource = video_resource(
        {
            "title": "x" * 100,
            "description": "d" * 5000,
            "tags": ["a " + "a" * 496],  # 498 + 2 quotes = 500
            "categoryId": "22",
        },
        {"privacyStatus": "private", "publishAt": datetime(2026, 11, 26, 10, tzinfo=UTC)},
    )
    assert resource["status"]["publishAt"] == "2026-11-26T10:00:00Z"
    many = video_resource({"title": "t", "tags": [f"t{i}" for i in range(40)]}, PUBLIC)
    assert len(many["snippet"]["tags"]) == 40  # the editorial cap is the caption writer's


def test_metadata_refused_by_youtube(yt: YouTubeSandbox, video: Path) -> None:
    client, waits = client_for(yt)
    with pytest.raises(YouTubeInvalidMetadata) as caught:
        client.start_upload(video, {**SNIPPET, "categoryId": "99"}, PUBLIC)
    assert (caught.value.reason, caught.value.status) == ("invalidCategoryId", 400)
    assert "invalid category ID" in str(caught.value) and waits == []


# --- thumbnails, status, scheduling -----------------------------------------------------------


def test_thumbnail(yt: YouTubeSandbox, client: YouTubeClient, video: Path, tmp_path: Path) -> None:
    uploaded = client.upload(client.start_upload(video, SNIPPET, PUBLIC), video)
    jpeg, png, gif = tmp_path / "t.jpg", tmp_path / "t.png", tmp_path / "t.gif"
    jpeg.write_bytes(image())
    png.write_bytes(image("PNG"))
    gif.write_bytes(image("GIF"))
    assert set(client.set_thumbnail(uploaded["id"], jpeg)) == {"default", "medium", "high"}
    (request,) = yt.requests.matching("/upload/youtube/v3/thumbnails/set")
    assert request.headers["Content-Type"] == "image/jpeg"
    assert request.params == {"videoId": uploaded["id"]}
    client.set_thumbnail(uploaded["id"], png)
    assert yt.videos()[0].thumbnail == png.read_bytes()
    assert yt.quota_used() == 100  # 50 units each
    calls = len(yt.requests)
    with pytest.raises(YouTubeThumbnailRefused, match="JPEG or PNG"):
        client.set_thumbnail(uploaded["id"], gif)
    assert len(yt.requests) == calls
    with pytest.raises(YouTubeVideoNotFound) as caught:
        client.set_thumbnail("nope", jpeg)
    assert caught.value.video_id == "nope"


def test_thumbnail_quota(video: Path, tmp_path: Path) -> None:
    with YouTubeSandbox(clock=lambda: T0, daily_units=60) as yt:
        client, _ = client_for(yt)
        uploaded = client.upload(client.start_upload(video, SNIPPET, PUBLIC), video)
        thumb = tmp_path / "t.jpg"
        thumb.write_bytes(image())
        client.set_thumbnail(uploaded["id"], thumb)
        with pytest.raises(YouTubeQuotaExceeded):
            client.set_thumbnail(uploaded["id"], thumb)


def test_unknown_video_status(client: YouTubeClient) -> None:
    with pytest.raises(YouTubeVideoNotFound, match="nope"):
        client.video_status("nope")


def test_publish_at_schedules_natively(
    yt: YouTubeSandbox, client: YouTubeClient, video: Path
) -> None:
    when = T0 + timedelta(days=1)
    status = {"privacyStatus": "private", "publishAt": when, "selfDeclaredMadeForKids": False}
    uploaded = client.upload(client.start_upload(video, SNIPPET, status), video)
    assert uploaded["status"]["publishAt"] == "2026-11-26T03:00:00Z"
    scheduled = client.video_status(uploaded["id"])
    assert (scheduled.privacy, scheduled.publish_at) == ("private", when)
    assert scheduled.url == f"https://www.youtube.com/watch?v={uploaded['id']}"
    assert scheduled.made_for_kids is False
    yt.advance(86400 - 1)
    assert client.video_status(uploaded["id"]).privacy == "private"
    yt.advance(1)
    public = client.video_status(uploaded["id"])
    assert (public.privacy, public.publish_at, public.upload_status) == (
        "public",
        None,
        "processed",
    )


def test_past_publish_at_publishes_at_once(client: YouTubeClient, video: Path) -> None:
    status = {"privacyStatus": "private", "publishAt": "2026-01-01T07:00:00+07:00"}
    uploaded = client.upload(client.start_upload(video, SNIPPET, status), video)
    assert client.video_status(uploaded["id"]).privacy == "public"


# --- secrets ----------------------------------------------------------------------------------


def test_secrets_never_in_logs_exceptions_or_reprs(
    yt: YouTubeSandbox, video: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, urllib3 included
    client, _ = client_for(yt, retries=2)
    problems: list[BaseException] = []
    session_url = client.start_upload(video, SNIPPET, PUBLIC)
    yt.faults.add(yt.drop_fault(after_bytes=1000, after=1))
    yt.faults.add(Fault(UPLOAD, "status", status=503, method="PUT", after=3))
    uploaded = client.upload(session_url, video)
    yt.expire_access_tokens()
    client.video_status(uploaded["id"])
    yt.faults.add(yt.rate_limit_fault(path=UPLOAD, method="POST", times=None))
    for call in (
        lambda: client.start_upload(video, SNIPPET, PUBLIC),
        lambda: client.upload(session_url.replace("upload_id=", "upload_id=x"), video),
        lambda: client.video_status("nope"),
    ):
        with pytest.raises(YouTubeError) as caught:
            call()
        problems.append(caught.value)
    yt.revoke(CHANNEL.refresh_token)
    client.tokens.invalidate()
    with pytest.raises(YouTubeReauthNeeded) as reauth:
        client.video_status(uploaded["id"])
    problems.append(reauth.value)

    access_tokens = {
        r.headers["Authorization"].removeprefix("Bearer ")
        for r in yt.requests
        if "Authorization" in r.headers
    }
    assert len(access_tokens) >= 2
    secrets = [*access_tokens, CHANNEL.refresh_token, yt.client_secret]
    credentials = OAuthCredentials(yt.client_id, yt.client_secret, CHANNEL.refresh_token)
    texts = [caplog.text, repr(credentials), str(credentials), repr(client), repr(client.tokens)]
    texts += [f"{p!s} {p!r} {vars(p)!r}" for p in problems]
    for text in texts:
        for secret in secrets:
            assert secret not in text
    upload_id = session_url.split("upload_id=")[1]
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("ifn_campaign")]
    assert any("retry" in line for line in ours)
    assert all(upload_id not in line for line in ours)
    assert all(upload_id not in f"{p}" for p in problems)
    assert yt.client_id in repr(credentials)


class _Garbled(YouTubeSandbox):
    """Finishes the upload, then answers the last chunk with a body that is not the video
    resource (`body`): the video exists, only its answer cannot be read."""

    body = b""

    def _finish(self, request: Any, response: Response) -> Response:
        response = super()._finish(request, response)
        done = request.method == "PUT" and request.body and response.status in (200, 201)
        if done and request.path == UPLOAD and self.body is not None:
            body, self.body = self.body, None  # once: the session answers properly after
            return Response(response.status, body, [("Content-Type", "application/json")])
        return response


@pytest.mark.parametrize(
    "body",
    [b'{"kind": "youtube#video", "id": "', b"<html>OK</html>", b'{"kind": "youtube#video"}'],
    ids=["cut JSON", "not JSON", "no id"],
)
def test_an_unreadable_answer_to_the_last_chunk_asks_the_session_not_refused(
    video: Path, body: bytes
) -> None:
    """The last chunk arrived and the video was made; its answer was unreadable. That is no
    refusal (the post would fail while its video is up): the session is asked, and it answers
    with the one video, the last chunk sent once."""
    garbled = _Garbled([CHANNEL], clock=lambda: T0)
    garbled.body = body
    with garbled as yt:
        client, _ = client_for(yt)
        with client:
            session_url = client.start_upload(video, SNIPPET, PUBLIC)
            resource = client.upload(session_url, video)
        (stored,) = yt.videos()
        assert resource["id"] == stored.id
        assert [size for _, size, _ in chunks_sent(yt)][-1] == 5000  # sent once


def test_a_cut_answer_to_the_last_chunk_asks_the_session(yt: YouTubeSandbox, video: Path) -> None:
    """The sandbox's own fault: the last chunk's answer is cut half-way (Content-Length says
    more): a transport error, asked again through the session, never resent."""
    client, _ = client_for(yt)
    with client:
        session_url = client.start_upload(video, SNIPPET, PUBLIC)
        yt.faults.add(Fault(UPLOAD, "truncate", method="PUT", after=3))
        resource = client.upload(session_url, video, fresh=True)
    (stored,) = yt.videos()
    assert resource["id"] == stored.id
    assert [size for _, size, _ in chunks_sent(yt)][-1] == 5000


@pytest.mark.parametrize(
    "fault",
    [
        Fault("/token", "status", status=200, body={"token_type": "Bearer"}),
        Fault("/token", "status", status=200, body="<html>signing in</html>"),
        Fault("/token", "truncate"),
    ],
    ids=["no access_token", "not JSON", "cut"],
)
def test_an_unreadable_token_answer_is_tried_again_not_refused(
    yt: YouTubeSandbox, video: Path, fault: Fault
) -> None:
    """A 200 from Google's token endpoint without a readable access token refuses nothing (in
    the middle of an upload it would fail a post whose video may exist): like a lost answer,
    the call is retried with a new refresh, and goes through."""
    client, waits = client_for(yt)
    yt.faults.add(fault)
    session_url = client.start_upload(video, SNIPPET, PUBLIC)
    assert client.upload(session_url, video, fresh=True)["id"] == yt.videos()[0].id
    assert len(waits) == 1 and len(yt.requests.matching("/token", "POST")) == 2
