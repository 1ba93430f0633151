"""The YouTube sandbox follows docs/reference/platforms.md over real sockets: OAuth refresh,
resumable uploads with chunks, resumes and broken connections, metadata rules, scheduling,
thumbnails, quota."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from PIL import Image

from ifn_sandbox.http import Fault
from ifn_sandbox.youtube import (
    CHUNK_GRANULARITY,
    YouTubeChannel,
    YouTubeSandbox,
    tags_length,
)
from tests.support.youtube_api import RESOURCE, UPLOAD, VIDEO, google_error, start, upload

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 19:00 on the 24th in Los Angeles
CHANNEL = YouTubeChannel()
OTHER = YouTubeChannel(channel_id="UCother", title="Other", refresh_token="other-refresh")
QUOTA_BODY = {
    "error": {
        "code": 403,
        "message": "The request cannot be completed because you have exceeded your "
        '<a href="/youtube/v3/getting-started#quota">quota</a>.',
        "errors": [
            {
                "message": "The request cannot be completed because you have exceeded your "
                '<a href="/youtube/v3/getting-started#quota">quota</a>.',
                "domain": "youtube.quota",
                "reason": "quotaExceeded",
            }
        ],
    }
}


def image(fmt: str = "JPEG", size: tuple[int, int] = (1280, 720)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 90, 140)).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def yt() -> Iterator[YouTubeSandbox]:
    with YouTubeSandbox([CHANNEL, OTHER], clock=lambda: T0) as sandbox:
        yield sandbox


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def auth(yt: YouTubeSandbox) -> dict[str, str]:
    return {"Authorization": f"Bearer {yt.issue_access_token()}"}


def session_url(http: requests.Session, yt: YouTubeSandbox, auth: dict[str, str]) -> str:
    answer = start(http, yt, auth)
    assert answer.status_code == 200, answer.text
    return answer.headers["Location"]


def put(
    http: requests.Session, url: str, data: bytes, start_at: int, total: int = len(VIDEO)
) -> requests.Response:
    end = start_at + len(data) - 1
    headers = {"Content-Range": f"bytes {start_at}-{end}/{total}"}
    return http.put(url, data=data, headers=headers, timeout=5)


def query(http: requests.Session, url: str, total: int = len(VIDEO)) -> requests.Response:
    return http.put(url, data=b"", headers={"Content-Range": f"bytes */{total}"}, timeout=5)


def metadata_error(
    http: requests.Session, yt: YouTubeSandbox, auth: dict[str, str], **changes: Any
) -> str:
    resource = {"snippet": dict(RESOURCE["snippet"]), "status": dict(RESOURCE["status"])}
    for key, value in changes.items():
        section, _, name = key.partition("__")
        resource[section][name] = value
    answer = start(http, yt, auth, resource)
    assert answer.status_code == 400, (changes, answer.text)
    return str(answer.json()["error"]["errors"][0]["reason"])


# --- OAuth ----------------------------------------------------------------------------------


def refresh(http: requests.Session, yt: YouTubeSandbox, **form: str) -> requests.Response:
    data = {
        "grant_type": "refresh_token",
        "client_id": yt.client_id,
        "client_secret": yt.client_secret,
        "refresh_token": CHANNEL.refresh_token,
        **form,
    }
    return http.post(f"{yt.url}/token", data=data, timeout=5)


def test_refresh_token_grant_gives_an_access_token_that_expires(
    yt: YouTubeSandbox, http: requests.Session
) -> None:
    answer = refresh(http, yt)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"access_token", "expires_in", "scope", "token_type"}
    assert (body["expires_in"], body["token_type"]) == (3599, "Bearer")
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    listed = http.get(f"{yt.url}/youtube/v3/videos", params={"id": "x", "part": "id"}, headers=auth)
    assert listed.status_code == 200
    yt.advance(3599)
    expired = http.get(
        f"{yt.url}/youtube/v3/videos", params={"id": "x", "part": "id"}, headers=auth
    )
    item = google_error(expired, 401, "authError")
    assert (item["message"], item["location"], item["locationType"]) == (
        "Invalid Credentials",
        "Authorization",
        "header",
    )
    assert expired.headers["WWW-Authenticate"].startswith("Bearer")
    missing = http.get(f"{yt.url}/youtube/v3/videos", params={"id": "x", "part": "id"})
    assert google_error(missing, 401, "required")["message"] == "Login Required."


def test_oauth_errors(yt: YouTubeSandbox, http: requests.Session) -> None:
    assert refresh(http, yt, grant_type="password").json()["error"] == "unsupported_grant_type"
    wrong_client = refresh(http, yt, client_id="nobody")
    assert (wrong_client.status_code, wrong_client.json()["error"]) == (401, "invalid_client")
    assert refresh(http, yt, client_secret="guess").status_code == 401
    unknown = refresh(http, yt, refresh_token="made-up")
    assert unknown.status_code == 400
    assert unknown.json() == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }


def test_revoked_refresh_token_is_invalid_grant_and_kills_access(
    yt: YouTubeSandbox, http: requests.Session
) -> None:
    access = refresh(http, yt).json()["access_token"]
    yt.revoke(CHANNEL.refresh_token)
    assert refresh(http, yt).json()["error"] == "invalid_grant"
    listed = http.get(
        f"{yt.url}/youtube/v3/videos",
        params={"id": "x", "part": "id"},
        headers={"Authorization": f"Bearer {access}"},
    )
    google_error(listed, 401, "authError")
    assert refresh(http, yt, refresh_token=OTHER.refresh_token).status_code == 200


def test_refresh_tokens_die_unused_for_6_months_or_after_7_days_in_testing_mode(
    http: requests.Session,
) -> None:
    with YouTubeSandbox(clock=lambda: T0) as yt:
        yt.advance(182 * 86400)
        assert refresh(http, yt).status_code == 200  # using it keeps it alive
        yt.advance(184 * 86400)
        assert refresh(http, yt).json()["error"] == "invalid_grant"
    with YouTubeSandbox(clock=lambda: T0, testing_mode=True) as yt:
        yt.advance(7 * 86400 - 1)
        assert refresh(http, yt).status_code == 200
        yt.advance(1)
        assert refresh(http, yt).json()["error"] == "invalid_grant"


def test_expire_access_tokens(yt: YouTubeSandbox, http: requests.Session) -> None:
    auth = {"Authorization": f"Bearer {yt.issue_access_token()}"}
    yt.expire_access_tokens()
    google_error(start(http, yt, auth), 401, "authError")


# --- resumable upload -----------------------------------------------------------------------


def test_upload_in_one_put(
    yt: YouTubeSandbox, http: requests.Session, auth: dict[str, str]
) -> None:
    initiated = start(http, yt, auth)
    assert initiated.status_code == 200
    assert initiated.content == b""
    url = initiated.headers["Location"]
    assert url.startswith(f"{yt.url}{UPLOAD}?uploadType=resumable&part=snippet%2Cstatus&upload_id=")
    done = http.put(url, data=VIDEO, headers={"Content-Type": "video/mp4"}, timeout=5)
    assert done.status_code == 201
    video = done.json()
    assert set(video) == {"kind", "etag", "id", "snippet", "status"}
    assert (video["kind"], len(video["id"])) == ("youtube#video", 11)
    snippet = video["snippet"]
    assert snippet["title"] == RESOURCE["snippet"]["title"]
    assert snippet["tags"] == ["IFN", "sepatu kulit"]
    assert (snippet["categoryId"], snippet["channelId"]) == ("22", CHANNEL.channel_id)
    assert snippet["publishedAt"] == "2026-11-25T03:00:00Z"
    assert video["status"]["privacyStatus"] == "public"
    assert video["status"]["uploadStatus"] == "uploaded"
    assert video["status"]["selfDeclaredMadeForKids"] is False
    (stored,) = yt.videos()
    assert stored.data_sha256 == hashlib.sha256(VIDEO).hexdigest()
    again = query(http, url)
    assert (again.status_code, again.json()["id"]) == (200, video["id"])
    assert yt.uploads_used() == 1 and yt.quota_used() == 0


def test_upload_in_chunks_answers_308_with_range(
    yt: YouTubeSandbox, http: requests.Session, auth: dict[str, str]
) -> None:
    url = session_url(http, yt, auth)
    first = query(http, url)
    assert first.status_code == 308
    assert "Range" not in first.headers  # nothing received yet
    offset = 0
    for _ in range(3):
        chunk = VIDEO[offset : offset + CHUNK_GRANULARITY]
        answer = put(http, url, chunk, offset)
        offset += len(chunk)
        assert answer.status_code == 308
        assert answer.headers["Range"] == f"bytes=0-{offset - 1}"
    assert query(http, url).headers["Range"] == f"bytes=0-{offset - 1}"
    final = put(http, url, VIDEO[offset:], offset)
    assert final.status_code == 201
    assert yt.videos()[0].size == len(VIDEO)
    statuses = [r.status for r in yt.requests.matching(UPLOAD, "PUT")]
    assert statuses == [308, 308, 308, 308, 308, 201]


def test_chunk_rules(yt: YouTubeSandbox, http: requests.Session, auth: dict[str, str]) -> None:
    url = session_url(http, yt, auth)
    google_error(put(http, url, VIDEO[:1000], 0), 400, "badRequest")  # not 256 KiB
    google_error(put(http, url, VIDEO[:CHUNK_GRANULARITY], 5), 400, "badRequest")  # a gap
    wrong_length = http.put(
        url, data=b"abc", headers={"Content-Range": "bytes 0-9/" + str(len(VIDEO))}, timeout=5
    )
    google_error(wrong_length, 400, "badRequest")
    google_error(put(http, url, VIDEO[:CHUNK_GRANULARITY], 0, total=5), 400, "badRequest")
    bad = http.put(url, data=b"", headers={"Content-Range": "bytes=0-1/2"}, timeout=5)
    google_error(bad, 400, "badRequest")
    assert "Range" not in query(http, url).headers  # nothing was kept
    assert put(http, url, VIDEO[:CHUNK_GRANULARITY], 0).status_code == 308
    resend = put(http, url, VIDEO[:CHUNK_GRANULARITY], 0)  # resending without asking first
    assert "bytes */total" in google_error(resend, 400, "badRequest")["message"]


def test_total_may_come_with_the_chunks(
    yt: YouTubeSandbox, http: requests.Session, auth: dict[str, str]
) -> None:
    url = start(http, yt, auth, total=None).headers["Location"]
    unknown_total = http.put(
        url,
        data=VIDEO[:CHUNK_GRANULARITY],
        headers={"Content-Range": f"bytes 0-{CHUNK_GRANULARITY - 1}/*"},
        timeout=5,
    )
    assert unknown_total.status_code == 308
    rest = VIDEO[CHUNK_GRANULARITY:]
    assert put(http, url, rest, CHUNK_GRANULARITY).status_code == 201


def test_dropped_connection_mid_upload_keeps_the_bytes_and_resumes(
    yt: YouTubeSandbox, http: requests.Session, auth: dict[str, str]
) -> None:
    url = session_url(http, yt, auth)
    fault = yt.faults.add(yt.drop_fault(after_bytes=100_000))
    with pytest.raises(requests.ConnectionError):
        put(http, url, VIDEO, 0)
    assert fault.fired == 1
    status = query(http, url)
    assert (status.status_code, status.headers["Range"]) == (308, "bytes=0-99999")
    done = put(http, url, VIDEO[100_000:], 100_000)
    assert done.status_code == 201
    assert yt.videos()[0].data_sha256 == hashlib.sha256(VIDEO).hexdigest()
    assert [r.status for r in yt.requests.matching(UPLOAD, "PUT")] == [None, 308, 201]


def test_answer_lost_after_the_last_byte_resume_query_gives_the_video(
    yt: YouTubeSandbox, http: requests.Session, auth: dict[str, str]
) -> None:
    url = session_url(http, yt, auth)
    yt.faults.add(yt.drop_fault(after_bytes=len(VIDEO)))
    with pytest.raises(requests.ConnectionError):
        put(http, url, VIDEO, 0)
    finished = query(http, url)
    assert finished.status_code == 200
    assert finished.json()["id"] == yt.videos()[0].id
    assert len(yt.videos()) == 1


def test_unknown_and_expired_sessions(
    yt: YouTubeSandbox, http: requests.Session, auth: dict[str, str]
) -> None:
    google_error(
        query(http, f"{yt.url}{UPLOAD}?uploadType=resumable&upload_id=nope"), 404, "notFound"
    )
    url = session_url(http, yt, auth)
    yt.advance(7 * 86400 + 1)
    google_error(query(http, url), 410, "gone")
    google_error(put(http, url, VIDEO, 0), 410, "gone")


def test_initiation_parameters_and_headers(
    yt: YouTubeSandbox, http: requests.Session, auth: dict[str, str]
) -> None:
    google_error(start(http, yt, auth, part=""), 400, "required")
    assert (
        google_error(
            start(http, yt, auth, part="snippet,bogus"), 400, "unknownPart", "youtube.part"
        )["location"]
        == "part"
    )
    google_error(start(http, yt, auth, content_type="image/png"), 400, "badContent")
    media = http.post(
        f"{yt.url}{UPLOAD}",
        params={"uploadType": "media", "part": "snippet"},
        json=RESOURCE,
        headers=auth,
        timeout=5,
    )
    google_error(media, 400, "invalidParameter")
    not_json = http.post(
        f"{yt.url}{UPLOAD}",
        params={"uploadType": "resumable", "part": "snippet"},
        data=b"{",
        headers=auth,
        timeout=5,
    )
    google_error(not_json, 400, "parseError")
    bad_length = start(http, yt, {**auth, "X-Upload-Content-Length": "lots"}, total=None)
    google_error(bad_length, 400, "badRequest")


# --- metadata -------------------------------------------------------------------------------


def test_tags_length_counts_commas_and_quotes() -> None:
    assert tags_length([]) == 0
    assert tags_length(["IFN"]) == 3
    assert tags_length(["IFN", "sepatu kulit"]) == 3 + 1 + 12 + 2


def test_snippet_rules(yt: YouTubeSandbox, http: requests.Session, auth: dict[str, str]) -> None:
    def ok(**changes: Any) -> None:
        resource = {"snippet": dict(RESOURCE["snippet"]), "status": dict(RESOURCE["status"])}
        for key, value in changes.items():
            section, _, name = key.partition("__")
            resource[section][name] = value
        assert start(http, yt, auth, resource).status_code == 200, changes

    ok(snippet__title="x" * 100)
    assert metadata_error(http, yt, auth, snippet__title="x" * 101) == "invalidTitle"
    assert metadata_error(http, yt, auth, snippet__title="<b>Sepatu</b>") == "invalidTitle"
    assert metadata_error(http, yt, auth, snippet__title="  ") == "invalidTitle"
    ok(snippet__description="d" * 5000)
    assert metadata_error(http, yt, auth, snippet__description="é" * 2501) == "invalidDescription"
    assert metadata_error(http, yt, auth, snippet__description="a > b") == "invalidDescription"
    ok(snippet__tags=["a" * 498, "b"])  # 498 + 1 comma + 1 = 500
    assert metadata_error(http, yt, auth, snippet__tags=["a" * 499, "b"]) == "invalidTags"
    assert metadata_error(http, yt, auth, snippet__tags=["a " + "a" * 497]) == "invalidTags"
    ok(snippet__tags=["a " + "a" * 496])  # 498 + 2 quotes = 500
    assert metadata_error(http, yt, auth, snippet__categoryId=22) == "invalidCategoryId"
    assert metadata_error(http, yt, auth, snippet__categoryId="99") == "invalidCategoryId"
    assert metadata_error(http, yt, auth, status__privacyStatus="friends") == "invalidVideoMetadata"
    assert metadata_error(http, yt, auth, status__selfDeclaredMadeForKids="no") == (
        "invalidVideoMetadata"
    )
    when = "2026-11-26T03:00:00Z"
    assert metadata_error(http, yt, auth, status__publishAt=when) == "invalidPublishAt"  # public
    assert (
        metadata_error(http, yt, auth, status__privacyStatus="private", status__publishAt="besok")
        == "invalidPublishAt"
    )
    item = start(http, yt, auth, {"snippet": {"title": "x" * 101}})
    assert google_error(item, 400, "invalidTitle", "youtube.video")["message"] == (
        "The request metadata specifies an invalid or empty video title."
    )


def list_videos(
    http: requests.Session, yt: YouTubeSandbox, auth: dict[str, str], ids: str, part: str
) -> requests.Response:
    return http.get(
        f"{yt.url}/youtube/v3/videos", params={"id": ids, "part": part}, headers=auth, timeout=5
    )


def test_private_video_with_publish_at_turns_public_on_the_clock(
    yt: YouTubeSandbox, http: requests.Session
) -> None:
    auth = {"Authorization": f"Bearer {yt.issue_access_token(expires_in=2 * 86400)}"}
    resource = {
        "snippet": RESOURCE["snippet"],
        "status": {"privacyStatus": "private", "publishAt": "2026-11-26T10:00:00+07:00"},
    }
    video = upload(http, yt, auth, resource)
    assert video["status"]["privacyStatus"] == "private"
    assert video["status"]["publishAt"] == "2026-11-26T03:00:00Z"
    yt.advance(86400 - 1)
    status = list_videos(http, yt, auth, video["id"], "status").json()["items"][0]["status"]
    assert (status["privacyStatus"], status["uploadStatus"]) == ("private", "processed")
    yt.advance(1)
    status = list_videos(http, yt, auth, video["id"], "status").json()["items"][0]["status"]
    assert status["privacyStatus"] == "public"
    assert "publishAt" not in status
    past = {
        "snippet": RESOURCE["snippet"],
        "status": {"privacyStatus": "private", "publishAt": "2026-01-01T00:00:00Z"},
    }
    assert upload(http, yt, auth, past)["status"]["privacyStatus"] == "public"


def test_videos_list(yt: YouTubeSandbox, http: requests.Session, auth: dict[str, str]) -> None:
    mine = upload(http, yt, auth)
    other_auth = {"Authorization": f"Bearer {yt.issue_access_token(OTHER.channel_id)}"}
    hidden = upload(
        http,
        yt,
        other_auth,
        {"snippet": {"title": "rahasia"}, "status": {"privacyStatus": "private"}},
    )
    listed = list_videos(http, yt, auth, f"{mine['id']},nope,{hidden['id']}", "snippet,status")
    body = listed.json()
    assert body["kind"] == "youtube#videoListResponse"
    assert [item["id"] for item in body["items"]] == [mine["id"]]
    assert body["pageInfo"] == {"totalResults": 1, "resultsPerPage": 1}
    only_id = list_videos(http, yt, auth, mine["id"], "id").json()["items"][0]
    assert set(only_id) == {"kind", "etag", "id"}
    google_error(
        list_videos(http, yt, auth, "", "id"), 400, "missingRequiredParameter", "youtube.parameter"
    )
    google_error(list_videos(http, yt, auth, mine["id"], ""), 400, "required")
    assert yt.quota_used() == 2  # one unit per successful list


# --- thumbnails -----------------------------------------------------------------------------


def set_thumbnail(
    http: requests.Session,
    yt: YouTubeSandbox,
    auth: dict[str, str],
    video_id: str,
    data: bytes,
    content_type: str = "image/jpeg",
) -> requests.Response:
    return http.post(
        f"{yt.url}/upload/youtube/v3/thumbnails/set",
        params={"videoId": video_id},
        data=data,
        headers={**auth, "Content-Type": content_type},
        timeout=5,
    )


def test_thumbnails_set(yt: YouTubeSandbox, http: requests.Session, auth: dict[str, str]) -> None:
    video = upload(http, yt, auth)
    answer = set_thumbnail(http, yt, auth, video["id"], image())
    assert answer.status_code == 200
    body = answer.json()
    assert body["kind"] == "youtube#thumbnailSetResponse"
    assert set(body["items"][0]) == {"default", "medium", "high"}
    assert set_thumbnail(http, yt, auth, video["id"], image("PNG"), "image/png").ok
    assert yt.quota_used() == 100
    assert yt.videos()[0].thumbnail == image("PNG")
    google_error(
        set_thumbnail(http, yt, auth, video["id"], image("GIF"), "image/gif"), 400, "badContent"
    )
    google_error(set_thumbnail(http, yt, auth, video["id"], b""), 400, "mediaBodyRequired")
    google_error(
        set_thumbnail(http, yt, auth, video["id"], b"not an image"),
        400,
        "invalidImage",
        "youtube.thumbnail",
    )
    big = b"\xff\xd8\xff" + b"\x00" * (2 * 1024 * 1024)
    google_error(
        set_thumbnail(http, yt, auth, video["id"], big), 400, "imageTooLarge", "youtube.thumbnail"
    )
    google_error(
        set_thumbnail(http, yt, auth, "nope", image()), 404, "videoNotFound", "youtube.thumbnail"
    )
    other = {"Authorization": f"Bearer {yt.issue_access_token(OTHER.channel_id)}"}
    google_error(
        set_thumbnail(http, yt, other, video["id"], image()), 403, "forbidden", "youtube.thumbnail"
    )
    assert yt.quota_used() == 100  # refused calls cost nothing here


# --- quota ----------------------------------------------------------------------------------


def test_units_run_out_and_reset_at_midnight_pacific(http: requests.Session) -> None:
    with YouTubeSandbox(clock=lambda: T0, daily_units=120) as yt:
        auth = {"Authorization": f"Bearer {yt.issue_access_token(expires_in=86400)}"}
        video = upload(http, yt, auth)
        assert set_thumbnail(http, yt, auth, video["id"], image()).ok
        assert set_thumbnail(http, yt, auth, video["id"], image()).ok
        for _ in range(20):
            assert list_videos(http, yt, auth, video["id"], "id").ok
        exceeded = list_videos(http, yt, auth, video["id"], "id")
        assert exceeded.status_code == 403
        assert exceeded.json() == QUOTA_BODY
        yt.advance(5 * 3600 - 1)  # 23:59:59 in Los Angeles
        assert list_videos(http, yt, auth, video["id"], "id").status_code == 403
        yt.advance(1)
        assert list_videos(http, yt, auth, video["id"], "id").ok
        assert yt.quota_used() == 1


def test_upload_bucket_and_channel_cap(http: requests.Session) -> None:
    with YouTubeSandbox(clock=lambda: T0, daily_uploads=2) as yt:
        auth = {"Authorization": f"Bearer {yt.issue_access_token(expires_in=86400)}"}
        assert start(http, yt, auth).ok and start(http, yt, auth).ok
        google_error(start(http, yt, auth), 403, "quotaExceeded", "youtube.quota")
        yt.advance(5 * 3600)
        assert start(http, yt, auth).ok
    with YouTubeSandbox(clock=lambda: T0, channel_upload_cap=1) as yt:
        auth = {"Authorization": f"Bearer {yt.issue_access_token()}"}
        assert start(http, yt, auth).ok
        google_error(start(http, yt, auth), 400, "uploadLimitExceeded", "youtube.video")


# --- faults and the log ---------------------------------------------------------------------


def test_server_errors_and_rate_limits(
    yt: YouTubeSandbox, http: requests.Session, auth: dict[str, str]
) -> None:
    yt.faults.add(Fault(UPLOAD, "status", status=503, retry_after=2))
    yt.faults.add(Fault(UPLOAD, "status", status=500))
    yt.faults.add(yt.rate_limit_fault(path=UPLOAD))
    yt.faults.add(yt.rate_limit_fault("userRateLimitExceeded", path=UPLOAD))
    yt.faults.add(yt.error_fault(403, "quotaExceeded", domain="youtube.quota", path=UPLOAD))
    unavailable = start(http, yt, auth)
    assert google_error(unavailable, 503, "backendError")["message"] == "Backend Error"
    assert unavailable.headers["Retry-After"] == "2"
    google_error(start(http, yt, auth), 500, "backendError")
    google_error(start(http, yt, auth), 403, "rateLimitExceeded", "usageLimits")
    google_error(start(http, yt, auth), 403, "userRateLimitExceeded", "usageLimits")
    assert start(http, yt, auth).json() == QUOTA_BODY
    assert start(http, yt, auth).status_code == 200
    with pytest.raises(ValueError, match="reason"):
        yt.rate_limit_fault("tooFast")


def test_faults_by_method_and_latency(
    yt: YouTubeSandbox, http: requests.Session, auth: dict[str, str]
) -> None:
    url = session_url(http, yt, auth)
    fault = yt.faults.add(Fault(UPLOAD, "status", status=502, method="PUT"))
    yt.faults.add(Fault(UPLOAD, "slow", delay=0.3, method="PUT"))
    assert start(http, yt, auth).status_code == 200  # a POST: not this fault
    google_error(query(http, url), 502, "backendError")
    began = time.monotonic()
    assert query(http, url).status_code == 308
    assert time.monotonic() - began >= 0.3
    assert fault.fired == 1
    with pytest.raises(ValueError, match="method"):
        Fault(UPLOAD, "drop", method="P U T")
    with pytest.raises(ValueError, match="body_bytes"):
        Fault(UPLOAD, "status", body_bytes=3)


def test_every_call_is_recorded(
    yt: YouTubeSandbox, http: requests.Session, auth: dict[str, str]
) -> None:
    refresh(http, yt)
    url = session_url(http, yt, auth)
    put(http, url, VIDEO[:CHUNK_GRANULARITY], 0)
    token, initiation, chunk = list(yt.requests)
    assert (token.path, token.status) == ("/token", 200)
    assert "refresh_token=sandbox-refresh-token" in token.body.decode()
    assert initiation.json() == RESOURCE
    assert initiation.headers["X-Upload-Content-Length"] == str(len(VIDEO))
    assert (chunk.method, chunk.status, len(chunk.body)) == ("PUT", 308, CHUNK_GRANULARITY)
    assert chunk.params["upload_id"] == yt.sessions()[0].id
    assert yt.sessions()[0].created_at == T0
    assert yt.now() == T0 and yt.advance(10) == T0 + timedelta(seconds=10)
