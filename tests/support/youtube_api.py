"""Talking to the YouTube sandbox bare, for the tests of the sandbox itself: Google's exact
error shape, a video resource and bytes, a resumable upload started and done in one PUT."""

from __future__ import annotations

from typing import Any

import requests

from ifn_sandbox.youtube import CHUNK_GRANULARITY, YouTubeSandbox

__all__ = ["RESOURCE", "UPLOAD", "VIDEO", "google_error", "start", "upload"]

VIDEO = bytes(range(256)) * (3 * CHUNK_GRANULARITY // 256) + b"tail" * 1000  # 3 chunks + rest
RESOURCE = {
    "snippet": {
        "title": "Sorotan Anggota IFN: CV Langkah Jaya",
        "description": "Sepatu kulit dari Cibaduyut.",
        "tags": ["IFN", "sepatu kulit"],
        "categoryId": "22",
    },
    "status": {"privacyStatus": "public", "selfDeclaredMadeForKids": False},
}
UPLOAD = "/upload/youtube/v3/videos"


def google_error(
    response: requests.Response, status: int, reason: str, domain: str = "global"
) -> dict[str, Any]:
    """Asserts Google's error shape and returns the first error item."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "errors"}
    assert body["error"]["code"] == status
    (item,) = body["error"]["errors"]
    assert (item["reason"], item["domain"]) == (reason, domain)
    assert item["message"] == body["error"]["message"]
    assert set(item) <= {"message", "domain", "reason", "location", "locationType"}
    return dict(item)


def start(
    http: requests.Session,
    yt: YouTubeSandbox,
    auth: dict[str, str],
    resource: Any = None,
    *,
    total: int | None = len(VIDEO),
    content_type: str = "video/mp4",
    part: str = "snippet,status",
) -> requests.Response:
    headers = {**auth, "X-Upload-Content-Type": content_type}
    if total is not None:
        headers["X-Upload-Content-Length"] = str(total)
    return http.post(
        f"{yt.url}{UPLOAD}",
        params={"uploadType": "resumable", "part": part},
        json=RESOURCE if resource is None else resource,
        headers=headers,
        timeout=5,
    )


def upload(
    http: requests.Session, yt: YouTubeSandbox, auth: dict[str, str], resource: Any = None
) -> dict[str, Any]:
    url = start(http, yt, auth, resource).headers["Location"]
    answer = http.put(url, data=VIDEO, timeout=5)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())
