"""A local YouTube Data API v3 (resumable video upload, videos.list, thumbnails.set) and Google
OAuth token endpoint that follow docs/reference/platforms.md strictly, for the publishers'
tests and the demo.

- `POST /token` (`grant_type=refresh_token`, `client_id`, `client_secret`, `refresh_token`) gives
  `{access_token, expires_in, scope, token_type}`; a revoked refresh token, one unused for 6
  months, or (in testing mode) one older than 7 days answers 400 `invalid_grant`.
  `GET /tokeninfo?access_token=` gives `{azp, aud, scope, exp, expires_in, access_type}` (the
  scopes are the channel's `YouTubeChannel.scope`); a bad or expired token is 400 `invalid_token`.
- `POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status` with the video
  resource as JSON and `X-Upload-Content-Length` / `X-Upload-Content-Type` validates the
  metadata (title, description, tags, categoryId, privacyStatus, publishAt) and answers 200 with
  the session URL in `Location`. `PUT` the bytes there, whole or in chunks
  (`Content-Range: bytes a-b/total`, every chunk but the last a multiple of 256 KiB): 308 with
  `Range: bytes=0-N` until the last one, which answers 201 with the video resource.
  `PUT` with no body and `Content-Range: bytes */total` asks how far it got (308, or 200 once
  done). An unknown session is 404, one older than `session_ttl` 410.
- `GET /youtube/v3/videos?id=...&part=...` (at most 50 ids: 400 `invalidFilters`; a video
  missing or private to another channel is left out of `items`; `part=statistics` serves
  viewCount, likeCount (absent while `hide_likes` is in force), favoriteCount and commentCount
  as strings, growing over the sandbox clock per `ifn_sandbox.metrics`, zeros until public) and
  `POST /upload/youtube/v3/thumbnails/set?videoId=`
  (image/jpeg or image/png, at most 2 MB).
- Quota per project and Pacific day (reset at midnight America/Los_Angeles on the sandbox clock):
  `daily_units` (10,000) for videos.list (1) and thumbnails.set (50), a separate bucket of
  `daily_uploads` (100) videos.insert calls; over either: 403 `quotaExceeded`. An optional
  per-channel daily cap answers 400 `uploadLimitExceeded`.
- A private video with `publishAt` turns public when the sandbox clock reaches it.

Errors have Google's shape: `{"error": {"code", "message", "errors": [{"message", "domain",
"reason", ("location", "locationType")}]}}`; the OAuth endpoint answers `{"error",
"error_description"}` like oauth2.googleapis.com.

```python
with YouTubeSandbox(clock=lambda: T0) as yt:
    token = requests.post(f"{yt.url}/token", data={"grant_type": "refresh_token",
        "client_id": yt.client_id, "client_secret": yt.client_secret,
        "refresh_token": yt.channels[0].refresh_token}).json()["access_token"]
    yt.faults.add(yt.drop_fault(after_bytes=300_000))   # the next PUT dies mid-body
    yt.revoke(yt.channels[0].refresh_token)              # -> invalid_grant from now on
```

Control endpoints, for a sandbox in another process (`ifn-campaign rehearse`):
`POST`/`DELETE /_sandbox/faults` add and clear faults, and `GET /_sandbox/posts` lists the
videos uploaded (`{"youtube": [{id, title, privacy_status now, publish_at, ...}]}`);
`POST /_sandbox/videos/{id}/hide_likes` hides a video's like count (`hide_likes`).

Served over plain HTTP: google-api-python-client would need TLS (see
docs/reference/platforms.md); a requests-based client needs nothing more.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from ifn_sandbox.http import Clock, Fault, Request, Response, Sandbox, json_response
from ifn_sandbox.metrics import figures

__all__ = [
    "CHUNK_GRANULARITY",
    "MAX_IDS",
    "UploadSession",
    "Video",
    "YouTubeChannel",
    "YouTubeSandbox",
    "google_error",
    "tags_length",
]

CHUNK_GRANULARITY = 256 * 1024
"""Every chunk but the last must be a multiple of this many bytes."""

PACIFIC = ZoneInfo("America/Los_Angeles")
SCOPE = "https://www.googleapis.com/auth/youtube.upload https://www.googleapis.com/auth/youtube"
ASSIGNABLE_CATEGORIES = frozenset(
    {"1", "2", "10", "15", "17", "19", "20", "22", "23", "24", "25", "26", "27", "28", "29"}
)
"""Video categories a video may be uploaded to (22 is People & Blogs)."""

_VIDEOS = "/upload/youtube/v3/videos"
_THUMBNAILS = "/upload/youtube/v3/thumbnails/set"
_LIST = "/youtube/v3/videos"
_PARTS = frozenset(
    {
        "snippet",
        "status",
        "contentDetails",
        "fileDetails",
        "id",
        "liveStreamingDetails",
        "localizations",
        "player",
        "processingDetails",
        "recordingDetails",
        "statistics",
        "suggestions",
        "topicDetails",
    }
)
_SERVED_PARTS = ("id", "snippet", "status", "statistics")
MAX_IDS = 50
"""The most ids one videos.list call may name (more: 400 invalidFilters)."""
_MAX_THUMBNAIL = 2 * 1024 * 1024
_CONTENT_RANGE = re.compile(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)")
_QUOTA_MESSAGE = (
    "The request cannot be completed because you have exceeded your "
    '<a href="/youtube/v3/getting-started#quota">quota</a>.'
)


def google_error(
    status: int,
    reason: str,
    message: str,
    *,
    domain: str = "global",
    location: str | None = None,
    location_type: str | None = None,
) -> dict[str, Any]:
    """A Google API error body (YouTube Data API v3 shape)."""
    item: dict[str, Any] = {"message": message, "domain": domain, "reason": reason}
    if location is not None:
        item["location"] = location
        item["locationType"] = location_type or "parameter"
    return {"error": {"code": status, "message": message, "errors": [item]}}


class _YouTubeError(Exception):
    def __init__(self, status: int, reason: str, message: str, **kwargs: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = google_error(status, reason, message, **kwargs)

    def response(self) -> Response:
        headers = []
        if self.status == 401:
            headers.append(("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/"'))
        return json_response(self.status, self.body, headers)


def _invalid(reason: str, message: str) -> _YouTubeError:
    return _YouTubeError(400, reason, message, domain="youtube.video")


def tags_length(tags: list[str]) -> int:
    """How YouTube counts tags against 500: commas between tags count, and a tag with a space
    counts the two quotes it is wrapped in."""
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(len(tags) - 1, 0)


# --- configuration and state ----------------------------------------------------------------


@dataclass(frozen=True)
class YouTubeChannel:
    """A channel the sandbox's OAuth client was authorised for, with its refresh token."""

    channel_id: str = "UCifnBPIPIsandbox000000a"
    title: str = "BPIPI Indonesia Footwear Network"
    refresh_token: str = "sandbox-refresh-token"
    scope: str = SCOPE
    """The scopes the channel's owner granted (space separated), carried by its access tokens."""


@dataclass
class _RefreshToken:
    channel_id: str
    issued_at: datetime
    last_used: datetime
    revoked: bool = False


@dataclass
class _AccessToken:
    channel_id: str
    expires_at: datetime
    scope: str = SCOPE


@dataclass
class Video:
    """An uploaded video as the sandbox holds it (`privacy_status` as uploaded)."""

    id: str
    channel_id: str
    snippet: dict[str, Any]
    status: dict[str, Any]
    uploaded_at: datetime
    size: int
    content_type: str
    data_sha256: str
    thumbnail: bytes | None = None
    likes_hidden: bool = False
    """The owner hid the like count: statistics.likeCount is left out."""

    def published_at(self, now: datetime) -> datetime:
        """snippet.publishedAt: a scheduled video's publishAt once it is public, else the upload
        time (what YouTube shows the owner of a private video)."""
        publish_at = _parse_rfc3339(self.status.get("publishAt"))
        if publish_at is not None and now >= publish_at:
            return max(publish_at, self.uploaded_at)  # a past publishAt publishes at upload
        return self.uploaded_at

    def privacy_at(self, now: datetime) -> str:
        """The privacy status now: a scheduled private video is public from publishAt on."""
        publish_at = _parse_rfc3339(self.status.get("publishAt"))
        if publish_at is not None and now >= publish_at:
            return "public"
        return str(self.status.get("privacyStatus", "public"))


@dataclass
class UploadSession:
    """One resumable upload: the resource sent, the bytes received so far."""

    id: str
    channel_id: str
    resource: dict[str, Any]
    parts: tuple[str, ...]
    content_type: str
    total: int | None
    created_at: datetime
    received: bytearray = field(default_factory=bytearray)
    video_id: str | None = None


# --- the sandbox ------------------------------------------------------------------------------


class YouTubeSandbox(Sandbox):
    """YouTube resumable uploads, videos.list, thumbnails.set and the OAuth token endpoint on
    loopback, per docs/reference/platforms.md.

    Inspect with `videos()`, `sessions()`, `quota_used()`, `uploads_used()`; change state with
    `issue_access_token`, `revoke`, `expire_access_tokens`, `advance`; inject failures with
    `faults.add(...)`, `error_fault(...)`, `rate_limit_fault(...)` and `drop_fault(...)`.
    """

    name = "youtube-sandbox"
    max_body = 64 * 1024 * 1024

    def __init__(
        self,
        channels: list[YouTubeChannel] | None = None,
        *,
        clock: Clock | None = None,
        client_id: str = "sandbox-client.apps.googleusercontent.com",
        client_secret: str = "sandbox-client-secret",
        testing_mode: bool = False,
        access_token_ttl: int = 3599,
        daily_units: int = 10_000,
        daily_uploads: int = 100,
        channel_upload_cap: int | None = None,
        session_ttl: timedelta = timedelta(days=7),
        processing_seconds: float = 1.0,
        host: str = "127.0.0.1",
        port: int = 0,
        public_host: str | None = None,
    ) -> None:
        super().__init__(host=host, port=port, public_host=public_host, clock=clock)
        self.channels = list(channels or [YouTubeChannel()])
        self.client_id = client_id
        self.client_secret = client_secret
        self.testing_mode = testing_mode
        self.access_token_ttl = access_token_ttl
        self.daily_units = daily_units
        self.daily_uploads = daily_uploads
        self.channel_upload_cap = channel_upload_cap
        self.session_ttl = session_ttl
        self.processing_seconds = processing_seconds
        now = self.now()
        self._titles = {c.channel_id: c.title for c in self.channels}
        self._scopes = {c.channel_id: c.scope for c in self.channels}
        self._refresh: dict[str, _RefreshToken] = {
            c.refresh_token: _RefreshToken(c.channel_id, now, now) for c in self.channels
        }
        self._access: dict[str, _AccessToken] = {}
        self._sessions: dict[str, UploadSession] = {}
        self._videos: dict[str, Video] = {}
        self._units: dict[date, int] = {}
        self._uploads: dict[date, int] = {}
        self._channel_uploads: dict[tuple[date, str], int] = {}

    def start(self) -> YouTubeSandbox:
        """Bind and serve in a daemon thread."""
        return super().start()  # type: ignore[no-any-return]

    def __enter__(self) -> YouTubeSandbox:
        return self.start()

    # tokens

    def issue_access_token(
        self, channel_id: str | None = None, expires_in: int | None = None
    ) -> str:
        """An access token for a channel (the first by default), as /token would give."""
        channel_id = channel_id or self.channels[0].channel_id
        value = "ya29.sandbox-" + secrets.token_urlsafe(24)
        ttl = self.access_token_ttl if expires_in is None else expires_in
        with self._lock:
            self._access[value] = _AccessToken(
                channel_id,
                self.now() + timedelta(seconds=ttl),
                self._scopes.get(channel_id, SCOPE),
            )
        return value

    def revoke(self, refresh_token: str) -> None:
        """The user (or Google) revoked access: the refresh token and its access tokens die."""
        with self._lock:
            token = self._refresh[refresh_token]
            token.revoked = True
            for value, access in list(self._access.items()):
                if access.channel_id == token.channel_id:
                    del self._access[value]

    def expire_access_tokens(self) -> None:
        """Every access token issued so far expires now (401 authError until refreshed)."""
        now = self.now()
        with self._lock:
            for access in self._access.values():
                access.expires_at = now

    def hide_likes(self, video_id: str, hidden: bool = True) -> None:
        """The owner hides (or shows again) the video's like count, as done in YouTube Studio:
        videos.list leaves statistics.likeCount out while hidden."""
        with self._lock:
            self._videos[video_id].likes_hidden = hidden

    # inspection

    def videos(self, channel_id: str | None = None) -> list[Video]:
        """Uploaded videos (copies), oldest first."""
        with self._lock:
            return [
                copy.deepcopy(v)
                for v in self._videos.values()
                if channel_id in (None, v.channel_id)
            ]

    def sessions(self) -> list[UploadSession]:
        """Upload sessions (copies), oldest first."""
        with self._lock:
            return [copy.deepcopy(s) for s in self._sessions.values()]

    def quota_used(self) -> int:
        """Units spent today (Pacific time) from the daily_units bucket."""
        with self._lock:
            return self._units.get(self._day(), 0)

    def uploads_used(self) -> int:
        """videos.insert calls today (Pacific time)."""
        with self._lock:
            return self._uploads.get(self._day(), 0)

    # faults

    def error_fault(
        self,
        status: int,
        reason: str,
        *,
        message: str | None = None,
        domain: str = "global",
        path: str = "/",
        method: str | None = None,
        retry_after: int | None = None,
        times: int | None = 1,
        after: int = 0,
    ) -> Fault:
        """A fault answering a Google error body (e.g. 403 quotaExceeded, youtube.quota)."""
        text = message or (_QUOTA_MESSAGE if reason == "quotaExceeded" else f"Injected {reason}")
        body = google_error(status, reason, text, domain=domain)
        return Fault(
            path,
            "status",
            status=status,
            body=body,
            method=method,
            retry_after=retry_after,
            times=times,
            after=after,
        )

    def rate_limit_fault(
        self,
        reason: str = "rateLimitExceeded",
        *,
        path: str = "/",
        method: str | None = None,
        times: int | None = 1,
        after: int = 0,
    ) -> Fault:
        """403 rateLimitExceeded / userRateLimitExceeded (retry with backoff)."""
        messages = {
            "rateLimitExceeded": "Rate Limit Exceeded",
            "userRateLimitExceeded": "User Rate Limit Exceeded",
        }
        if reason not in messages:
            raise ValueError(f"reason must be one of {sorted(messages)}")
        return self.error_fault(
            403,
            reason,
            message=messages[reason],
            domain="usageLimits",
            path=path,
            method=method,
            times=times,
            after=after,
        )

    def drop_fault(self, after_bytes: int, *, times: int | None = 1, after: int = 0) -> Fault:
        """The next upload PUT dies after `after_bytes` bytes of its body; the sandbox keeps
        them, so a resume query reports them."""
        return Fault(
            _VIDEOS, "drop", body_bytes=after_bytes, method="PUT", times=times, after=after
        )

    # hooks

    def _status_error(self, status: int, message: str, request: Request | None) -> Response:
        reason, domain = {
            400: ("badRequest", "global"),
            401: ("authError", "global"),
            403: ("forbidden", "global"),
            404: ("notFound", "global"),
            411: ("lengthRequired", "global"),
            413: ("uploadTooLarge", "global"),
            429: ("rateLimitExceeded", "usageLimits"),
        }.get(status, ("backendError", "global"))
        if status >= 500:
            message = "Backend Error"
        return json_response(status, google_error(status, reason, message, domain=domain))

    def _partial(self, request: Request) -> None:
        """A PUT cut mid-body: keep what arrived, as Google's upload servers do."""
        if request.method != "PUT" or request.path != _VIDEOS:
            return
        with self._lock:
            upload = self._sessions.get(request.params.get("upload_id", ""))
            if upload is None or upload.video_id is not None:
                return
            parsed = _content_range(request.headers.get("Content-Range"))
            if parsed is None or parsed[0] is None or parsed[0] != len(upload.received):
                return
            if upload.total is None:
                upload.total = parsed[2]
            upload.received += request.body
            if upload.total is not None and len(upload.received) >= upload.total:
                del upload.received[upload.total :]
                self._finish_upload(upload, self.now())

    # routing

    def _control(self, method: str, path: str, body: bytes) -> Response:
        """`GET /_sandbox/posts`: the videos uploaded, with their privacy now, for someone
        rehearsing in another process than the sandbox; the fault controls as every sandbox
        has them."""
        if path == "/_sandbox/posts" and method == "GET":
            now = self.now()
            return json_response(
                200,
                {
                    "youtube": [
                        {
                            "id": v.id,
                            "channel_id": v.channel_id,
                            "title": v.snippet.get("title"),
                            "privacy_status": v.privacy_at(now),
                            "publish_at": v.status.get("publishAt"),
                            "uploaded_at": v.uploaded_at.isoformat(),
                            "size": v.size,
                        }
                        for v in self.videos()
                    ]
                },
            )
        hide = re.fullmatch(r"/_sandbox/videos/([^/]+)/hide_likes", path)
        if hide is not None and method == "POST":
            try:
                self.hide_likes(hide[1])
            except KeyError:
                return self._status_error(404, f"no video {hide[1]}", None)
            return json_response(200, {"likes_hidden": hide[1]})
        return super()._control(method, path, body)

    def _route(self, request: Request) -> Response:
        try:
            return self._answer(request)
        except _YouTubeError as exc:
            return exc.response()

    def _answer(self, request: Request) -> Response:
        method, path = request.method, request.path
        if path == "/token" and method == "POST":
            return self._token(request)
        if path == "/tokeninfo" and method == "GET":
            return self._tokeninfo(request)
        if path == _VIDEOS and method == "POST":
            return self._start_upload(request)
        if path == _VIDEOS and method == "PUT":
            return self._upload(request)
        if path == _LIST and method == "GET":
            return self._list(request)
        if path == _LIST and method == "DELETE":
            return self._delete(request)
        if path == _THUMBNAILS and method == "POST":
            return self._thumbnail(request)
        if path in ("/token", _VIDEOS, _LIST, _THUMBNAILS):
            raise _YouTubeError(405, "methodNotAllowed", f"{method} is not allowed here")
        raise _YouTubeError(404, "notFound", f"Not Found: {path}")

    def _day(self) -> date:
        return self.now().astimezone(PACIFIC).date()

    def _channel(self, request: Request) -> str:
        scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise _YouTubeError(
                401,
                "required",
                "Login Required.",
                location="Authorization",
                location_type="header",
            )
        now = self.now()
        with self._lock:
            access = self._access.get(value.strip())
            if access is None or now >= access.expires_at:
                raise _YouTubeError(
                    401,
                    "authError",
                    "Invalid Credentials",
                    location="Authorization",
                    location_type="header",
                )
            return access.channel_id

    def _spend(self, units: int) -> None:
        """Take units from today's bucket, or refuse with quotaExceeded (call under the lock)."""
        day = self._day()
        used = self._units.get(day, 0)
        if used + units > self.daily_units:
            raise _YouTubeError(403, "quotaExceeded", _QUOTA_MESSAGE, domain="youtube.quota")
        self._units[day] = used + units

    # OAuth

    def _token(self, request: Request) -> Response:
        form = {
            k: v[0]
            for k, v in parse_qs(
                request.body.decode("utf-8", "replace"), keep_blank_values=True
            ).items()
        }
        if form.get("grant_type") != "refresh_token":
            return json_response(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": f"Invalid grant_type: {form.get('grant_type', '')}",
                },
            )
        if form.get("client_id") != self.client_id:
            return json_response(
                401,
                {"error": "invalid_client", "error_description": "The OAuth client was not found."},
            )
        if form.get("client_secret") != self.client_secret:
            return json_response(
                401, {"error": "invalid_client", "error_description": "Unauthorized"}
            )
        now = self.now()
        with self._lock:
            token = self._refresh.get(form.get("refresh_token", ""))
            dead = (
                token is None
                or token.revoked
                or now - token.last_used > timedelta(days=183)
                or (self.testing_mode and now - token.issued_at >= timedelta(days=7))
            )
            if dead or token is None:
                return json_response(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "Token has been expired or revoked.",
                    },
                )
            token.last_used = now
            channel_id = token.channel_id
        access = self.issue_access_token(channel_id)
        return json_response(
            200,
            {
                "access_token": access,
                "expires_in": self.access_token_ttl,
                "scope": self._scopes.get(channel_id, SCOPE),
                "token_type": "Bearer",
            },
        )

    def _tokeninfo(self, request: Request) -> Response:
        """`GET /tokeninfo?access_token=`: what Google says of an access token, shaped as
        oauth2.googleapis.com answers (numbers as strings); unknown or expired: 400
        invalid_token. Costs no quota."""
        value = request.params.get("access_token", "")
        now = self.now()
        with self._lock:
            access = self._access.get(value)
        if access is None or now >= access.expires_at:
            return json_response(
                400, {"error": "invalid_token", "error_description": "Invalid Value"}
            )
        return json_response(
            200,
            {
                "azp": self.client_id,
                "aud": self.client_id,
                "scope": access.scope,
                "exp": str(int(access.expires_at.timestamp())),
                "expires_in": str(int((access.expires_at - now).total_seconds())),
                "access_type": "offline",
            },
        )

    # videos.insert

    def _start_upload(self, request: Request) -> Response:
        params = request.params
        if params.get("uploadType") != "resumable":
            raise _YouTubeError(
                400,
                "invalidParameter",
                "This sandbox serves uploadType=resumable only.",
                location="uploadType",
            )
        parts = _parts(params.get("part"))
        channel_id = self._channel(request)
        try:
            resource = json.loads(request.body or b"null")
        except ValueError:
            raise _YouTubeError(400, "parseError", "Parse Error") from None
        if not isinstance(resource, dict):
            raise _YouTubeError(400, "parseError", "The body must be a video resource (object)")
        _check_resource(resource, parts, self.now())
        content_type = request.headers.get("X-Upload-Content-Type") or "application/octet-stream"
        if not (content_type.startswith("video/") or content_type == "application/octet-stream"):
            raise _YouTubeError(
                400,
                "badContent",
                f"Media type '{content_type}' is not supported. "
                "Valid media types: [video/*, application/octet-stream]",
            )
        length_text = request.headers.get("X-Upload-Content-Length")
        total = None
        if length_text is not None:
            if not (length_text.isascii() and length_text.isdigit()) or int(length_text) == 0:
                raise _YouTubeError(
                    400, "badRequest", "X-Upload-Content-Length must be a positive integer"
                )
            total = int(length_text)
        with self._lock:
            day = self._day()
            if self._uploads.get(day, 0) >= self.daily_uploads:
                raise _YouTubeError(403, "quotaExceeded", _QUOTA_MESSAGE, domain="youtube.quota")
            cap_key = (day, channel_id)
            if (
                self.channel_upload_cap is not None
                and self._channel_uploads.get(cap_key, 0) >= self.channel_upload_cap
            ):
                raise _invalid(
                    "uploadLimitExceeded",
                    "The user has exceeded the number of videos they may upload.",
                )
            self._uploads[day] = self._uploads.get(day, 0) + 1
            self._channel_uploads[cap_key] = self._channel_uploads.get(cap_key, 0) + 1
            upload_id = "ADPycd" + secrets.token_urlsafe(30)
            self._sessions[upload_id] = UploadSession(
                id=upload_id,
                channel_id=channel_id,
                resource=resource,
                parts=parts,
                content_type=content_type,
                total=total,
                created_at=self.now(),
            )
        query = urlencode(
            {"uploadType": "resumable", "part": ",".join(parts), "upload_id": upload_id}
        )
        location = f"{self.url}{_VIDEOS}?{query}"
        return Response(200, b"", [("Location", location), ("X-GUploader-UploadID", upload_id)])

    def _upload(self, request: Request) -> Response:
        now = self.now()
        with self._lock:
            upload = self._sessions.get(request.params.get("upload_id", ""))
            if upload is None:
                raise _YouTubeError(404, "notFound", "Upload session not found.")
            if upload.video_id is None and now - upload.created_at > self.session_ttl:
                raise _YouTubeError(410, "gone", "The upload session has expired. Start over.")
            if upload.video_id is not None:
                return self._video_response(upload, 200, now)
            header = request.headers.get("Content-Range")
            body = request.body
            if header is None:
                start, total = 0, upload.total if upload.total is not None else len(body)
                if len(upload.received):
                    raise _YouTubeError(
                        400, "badRequest", "Content-Range is required after the first chunk"
                    )
            else:
                parsed = _content_range(header)
                if parsed is None:
                    raise _YouTubeError(400, "badRequest", f"Invalid Content-Range: {header}")
                start, end, total = parsed
                if start is None:  # a status query: bytes */total
                    if body:
                        raise _YouTubeError(400, "badRequest", "A status query has no body")
                    self._check_total(upload, total)
                    return self._progress(upload)
                assert end is not None
                if end - start + 1 != len(body):
                    raise _YouTubeError(
                        400,
                        "badRequest",
                        f"Content-Range {header} says {end - start + 1} bytes, "
                        f"the body has {len(body)}",
                    )
            self._check_total(upload, total)
            if total is not None:
                upload.total = total
            if start != len(upload.received):
                raise _YouTubeError(
                    400,
                    "badRequest",
                    f"Chunk starts at byte {start}, but {len(upload.received)} bytes were "
                    "received: ask with Content-Range: bytes */total and resume from there",
                )
            final = upload.total is not None and start + len(body) >= upload.total
            if upload.total is not None and start + len(body) > upload.total:
                raise _YouTubeError(400, "badRequest", "The chunk goes past the total size")
            if not final and len(body) % CHUNK_GRANULARITY:
                raise _YouTubeError(
                    400,
                    "badRequest",
                    f"A chunk other than the last must be a multiple of {CHUNK_GRANULARITY} "
                    f"bytes, not {len(body)}",
                )
            upload.received += body
            if not final:
                return self._progress(upload)
            self._finish_upload(upload, now)
            return self._video_response(upload, 201, now)

    @staticmethod
    def _check_total(upload: UploadSession, total: int | None) -> None:
        if total is not None and upload.total is not None and total != upload.total:
            raise _YouTubeError(
                400,
                "badRequest",
                f"Total size {total} differs from the announced {upload.total}",
            )

    @staticmethod
    def _progress(upload: UploadSession) -> Response:
        headers = [("X-GUploader-UploadID", upload.id)]
        if upload.received:
            headers.append(("Range", f"bytes=0-{len(upload.received) - 1}"))
        return Response(308, b"", headers)

    def _finish_upload(self, upload: UploadSession, now: datetime) -> None:
        """The last byte arrived: the video exists (call under the lock)."""
        snippet = dict(upload.resource.get("snippet") or {})
        status = dict(upload.resource.get("status") or {})
        video_id = _video_id()
        data = bytes(upload.received)
        self._videos[video_id] = Video(
            id=video_id,
            channel_id=upload.channel_id,
            snippet=snippet,
            status=status,
            uploaded_at=now,
            size=len(data),
            content_type=upload.content_type,
            data_sha256=hashlib.sha256(data).hexdigest(),
        )
        upload.video_id = video_id

    def _video_response(self, upload: UploadSession, status: int, now: datetime) -> Response:
        assert upload.video_id is not None
        video = self._videos[upload.video_id]
        return json_response(status, self._resource(video, upload.parts, now))

    def _resource(self, video: Video, parts: tuple[str, ...], now: datetime) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "kind": "youtube#video",
            "etag": hashlib.sha1(
                f"{video.id}{video.privacy_at(now)}{video.thumbnail is not None}".encode()
            ).hexdigest()[:27],
            "id": video.id,
        }
        if "snippet" in parts:
            snippet: dict[str, Any] = {
                "publishedAt": _rfc3339(video.published_at(now)),
                "channelId": video.channel_id,
                "title": video.snippet.get("title", ""),
                "description": video.snippet.get("description", ""),
                "thumbnails": _thumbnails(video.id, custom=video.thumbnail is not None),
                "channelTitle": self._titles.get(video.channel_id, ""),
            }
            if video.snippet.get("tags"):
                snippet["tags"] = list(video.snippet["tags"])
            snippet["categoryId"] = video.snippet.get("categoryId", "22")
            snippet["liveBroadcastContent"] = "none"
            snippet["localized"] = {
                "title": snippet["title"],
                "description": snippet["description"],
            }
            resource["snippet"] = snippet
        if "status" in parts:
            processed = now >= video.uploaded_at + timedelta(seconds=self.processing_seconds)
            privacy = video.privacy_at(now)
            status: dict[str, Any] = {
                "uploadStatus": "processed" if processed else "uploaded",
                "privacyStatus": privacy,
            }
            if privacy == "private" and video.status.get("publishAt"):
                status["publishAt"] = _rfc3339(_parse_rfc3339(video.status["publishAt"]))
            status.update(
                {
                    "license": video.status.get("license", "youtube"),
                    "embeddable": video.status.get("embeddable", True),
                    "publicStatsViewable": video.status.get("publicStatsViewable", True),
                    "madeForKids": bool(video.status.get("selfDeclaredMadeForKids", False)),
                }
            )
            if "selfDeclaredMadeForKids" in video.status:
                status["selfDeclaredMadeForKids"] = video.status["selfDeclaredMadeForKids"]
            resource["status"] = status
        if "statistics" in parts:
            resource["statistics"] = self._statistics(video, now)
        return resource

    @staticmethod
    def _statistics(video: Video, now: datetime) -> dict[str, str]:
        """Counts as strings, like YouTube; zeros until the video is public (a scheduled one
        grows from its publishAt); no likeCount while the owner hides likes."""
        if video.privacy_at(now) == "private":
            values = {"views": 0, "likes": 0, "comments": 0}
        else:
            values = figures("youtube", video.id, video.published_at(now), now)
        statistics = {"viewCount": str(values["views"])}
        if not video.likes_hidden:
            statistics["likeCount"] = str(values["likes"])
        statistics["favoriteCount"] = "0"
        statistics["commentCount"] = str(values["comments"])
        return statistics

    # videos.list

    def _list(self, request: Request) -> Response:
        params = request.params
        parts = _parts(params.get("part"))
        channel_id = self._channel(request)
        if not params.get("id"):
            raise _YouTubeError(
                400,
                "missingRequiredParameter",
                "No filter selected. Expected one of: id",
                domain="youtube.parameter",
                location="parameters.",
            )
        ids = [i.strip() for i in params["id"].split(",") if i.strip()]
        if len(ids) > MAX_IDS:
            raise _YouTubeError(
                400,
                "invalidFilters",
                f"The request specifies {len(ids)} video ids: at most {MAX_IDS} may be given "
                "in one request.",
                domain="youtube.parameter",
                location="id",
            )
        now = self.now()
        with self._lock:
            self._spend(1)
            items = []
            for video_id in ids:
                video = self._videos.get(video_id)
                if video is None:
                    continue
                if video.channel_id != channel_id and video.privacy_at(now) == "private":
                    continue
                items.append(self._resource(video, parts, now))
        return json_response(
            200,
            {
                "kind": "youtube#videoListResponse",
                "etag": secrets.token_urlsafe(20),
                "items": items,
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
            },
        )

    # thumbnails.set

    def _delete(self, request: Request) -> Response:
        """videos.delete: 204 No Content, 50 units; only the owning channel may delete."""
        channel_id = self._channel(request)
        video_id = request.params.get("id")
        if not video_id:
            raise _YouTubeError(400, "required", "Required parameter: id", location="id")
        with self._lock:
            video = self._videos.get(video_id)
            if video is None:
                raise _YouTubeError(
                    404,
                    "videoNotFound",
                    "The video that you are trying to delete cannot be found.",
                    location="id",
                )
            if video.channel_id != channel_id:
                raise _YouTubeError(403, "forbidden", "The video cannot be deleted by you.")
            self._spend(50)
            del self._videos[video_id]
        return Response(204, b"", [])

    def _thumbnail(self, request: Request) -> Response:
        channel_id = self._channel(request)
        video_id = request.params.get("videoId")
        if not video_id:
            raise _YouTubeError(400, "required", "Required parameter: videoId", location="videoId")
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type not in ("image/jpeg", "image/png", "application/octet-stream"):
            raise _YouTubeError(
                400,
                "badContent",
                f"Media type '{content_type}' is not supported. "
                "Valid media types: [image/jpeg, image/png, application/octet-stream]",
            )
        if not request.body:
            raise _YouTubeError(
                400, "mediaBodyRequired", "The request does not include the image content."
            )
        if len(request.body) > _MAX_THUMBNAIL:
            raise _YouTubeError(
                400,
                "imageTooLarge",
                "The provided image is too large.",
                domain="youtube.thumbnail",
            )
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(request.body)) as image:
                fmt = image.format
        except (UnidentifiedImageError, OSError, ValueError):
            fmt = None
        if fmt not in ("JPEG", "PNG"):
            raise _YouTubeError(
                400, "invalidImage", "The provided image content is invalid.",
                domain="youtube.thumbnail",
            )  # fmt: skip
        with self._lock:
            video = self._videos.get(video_id)
            if video is None:
                raise _YouTubeError(
                    404,
                    "videoNotFound",
                    "The video that you are trying to update cannot be found.",
                    domain="youtube.thumbnail",
                    location="videoId",
                )
            if video.channel_id != channel_id:
                raise _YouTubeError(
                    403,
                    "forbidden",
                    "The thumbnail can't be set for the specified video.",
                    domain="youtube.thumbnail",
                )
            self._spend(50)
            video.thumbnail = bytes(request.body)
        return json_response(
            200,
            {
                "kind": "youtube#thumbnailSetResponse",
                "etag": secrets.token_urlsafe(20),
                "items": [_thumbnails(video_id, custom=True)],
            },
        )


# --- validation and formats -----------------------------------------------------------------


def _parts(raw: str | None) -> tuple[str, ...]:
    if not raw:
        raise _YouTubeError(400, "required", "Required parameter: part", location="part")
    parts = tuple(p.strip() for p in raw.split(",") if p.strip())
    for part in parts:
        if part not in _PARTS:
            raise _YouTubeError(
                400,
                "unknownPart",
                f"'{part}'",
                domain="youtube.part",
                location="part",
            )
    return tuple(p for p in parts if p in _SERVED_PARTS) or ("id",)


def _check_resource(resource: dict[str, Any], parts: tuple[str, ...], now: datetime) -> None:
    snippet = resource.get("snippet") if "snippet" in parts else None
    if not isinstance(snippet, dict):
        raise _invalid(
            "invalidTitle", "The request metadata specifies an invalid or empty video title."
        )
    title = snippet.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 100 or _angled(title):
        raise _invalid(
            "invalidTitle", "The request metadata specifies an invalid or empty video title."
        )
    description = snippet.get("description", "")
    if (
        not isinstance(description, str)
        or len(description.encode("utf-8")) > 5000
        or _angled(description)
    ):
        raise _invalid(
            "invalidDescription", "The request metadata specifies an invalid video description."
        )
    tags = snippet.get("tags", [])
    if (
        not isinstance(tags, list)
        or not all(isinstance(t, str) and t for t in tags)
        or tags_length(tags) > 500
    ):
        raise _invalid("invalidTags", "The request metadata specifies invalid video keywords.")
    category = snippet.get("categoryId")
    if category is not None and (
        not isinstance(category, str) or category not in ASSIGNABLE_CATEGORIES
    ):
        raise _invalid(
            "invalidCategoryId", "The snippet.categoryId property specifies an invalid category ID."
        )
    status = resource.get("status") if "status" in parts else None
    if status is None:
        return
    if not isinstance(status, dict):
        raise _invalid("invalidVideoMetadata", "The request metadata is invalid.")
    privacy = status.get("privacyStatus", "public")
    if privacy not in ("public", "unlisted", "private"):
        raise _invalid("invalidVideoMetadata", f"Invalid privacyStatus: {privacy!r}")
    kids = status.get("selfDeclaredMadeForKids")
    if kids is not None and not isinstance(kids, bool):
        raise _invalid("invalidVideoMetadata", "selfDeclaredMadeForKids must be a boolean")
    if "publishAt" in status:
        when = _parse_rfc3339(status["publishAt"])
        if when is None or privacy != "private":
            raise _invalid(
                "invalidPublishAt",
                "The request metadata specifies an invalid scheduled publishing time.",
            )


def _angled(text: str) -> bool:
    return "<" in text or ">" in text


def _content_range(header: str | None) -> tuple[int | None, int | None, int | None] | None:
    """(start, end, total) from `bytes a-b/total`, `bytes */total` or `bytes a-b/*`."""
    match = _CONTENT_RANGE.fullmatch((header or "").strip())
    if match is None:
        return None
    start = int(match[1]) if match[1] is not None else None
    end = int(match[2]) if match[2] is not None else None
    total = int(match[3]) if match[3] != "*" else None
    if start is not None and end is not None and end < start:
        return None
    if start is None and total is None:
        return None
    return start, end, total


def _parse_rfc3339(value: Any) -> datetime | None:
    """An ISO 8601 date-time with a zone (Z or an offset), in UTC; None otherwise."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


def _rfc3339(moment: datetime | None) -> str:
    assert moment is not None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _video_id() -> str:
    return secrets.token_urlsafe(8)[:11]


def _thumbnails(video_id: str, *, custom: bool) -> dict[str, Any]:
    suffix = "?custom=1" if custom else ""
    return {
        name: {
            "url": f"https://i.ytimg.com/vi/{video_id}/{name}.jpg{suffix}",
            "width": w,
            "height": h,
        }
        for name, w, h in (("default", 120, 90), ("medium", 320, 180), ("high", 480, 360))
    }
