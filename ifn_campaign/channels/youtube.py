"""YouTube Data API v3 client for the publisher: OAuth refresh, resumable uploads, thumbnails,
video status. One method per remote step, so the publisher can record each step before it.

```python
tokens = TokenSource(GOOGLE_TOKEN_URL, OAuthCredentials(client_id, client_secret, refresh))
youtube = YouTubeClient(YOUTUBE_API_URL, YOUTUBE_UPLOAD_URL, tokens)
session_url = youtube.start_upload(path, snippet, status)   # store it at once
video = youtube.upload(session_url, path)                    # store video["id"] at once
youtube.set_thumbnail(video["id"], thumbnail_path)
youtube.video_status(video["id"]).privacy                    # "private" until publishAt
```

Exactly once: the protocol for the publisher
--------------------------------------------
A YouTube video exists only once *every* byte of an upload session has arrived; the session URL
is the handle on that one future video. So:

1. `video_resource(snippet, status)` (also run inside `start_upload`) checks the metadata with no
   network call: a post that breaks a rule fails here with `YouTubeInvalidMetadata`.
2. Record the intent, call `start_upload`, store the session URL before anything else. Repeating
   this step is harmless (a session without bytes never becomes a video; it only uses one of the
   project's 100 `videos.insert` calls of the day), so a crash before the URL was stored may
   simply start a new session.
3. Record the intent, call `upload(session_url, path)`, store the returned `video["id"]` at once.
   `upload` first asks the session how far it got (`resume_status`), then sends only the bytes
   the server lacks, and re-asks after any broken connection, timeout or 5xx. If the session had
   already finished it returns the video without sending a byte. Calling `upload` again on the
   same session is therefore always safe, also after a crash in the middle of it.
4. Once the final chunk may have gone out, the outcome is settled *only* through that session
   (`resume_status` or `upload` on the same URL): never by a new session, which would make a
   second video. While a session URL is stored and no video id, the only ways on are
   `resume_status`/`upload` on it, or, on `UploadSessionGone`, back to step 2.
5. `UploadSessionGone` (404/410) means the session expired unfinished (about a week) or never
   existed: no video was made, starting over is safe. A finished session keeps answering with
   its video, so reconcile within days, not weeks. If `upload` itself sent the final chunk and
   then hears 404/410 it raises `YouTubeOutcomeUnknown` instead: staff must look at the channel.
6. `set_thumbnail` after the video id is stored; it is idempotent (costs 50 units each time).
7. Native scheduling: `status={"privacyStatus": "private", "publishAt": <aware datetime>}`;
   YouTube makes the video public at that time (a past time: at once). `video_status` shows
   `privacy == "private"` and `publish_at` until then, then `"public"`.

What each error means for the post: `YouTubeQuotaExceeded` wait until `resets_at` (never
retried here); `YouTubeUploadLimit` the channel's cap, try on a later day; `YouTubeTransient`
(`YouTubeRateLimited`, `YouTubeUnreachable`) try again later, with the same session;
`YouTubeReauthNeeded` the post waits in needs_reauth until staff re-authorise the channel;
`YouTubeInvalidMetadata` fix the title, description, tags or schedule.

There is no `find_video`: docs/reference/platforms.md (and so the sandbox) covers neither
`search.list` nor the uploads playlist, and the session URL already answers "did it become a
video?". Note Google's own rule: videos uploaded by an unverified API project created after
2020-07-28 are locked to private until the project passes Google's audit.

Secrets: access tokens, the refresh token and the client secret are never logged, never in an
exception message or a repr; log lines and messages show the session URL without its upload id.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from os import PathLike
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import requests
from urllib3.util import Retry

from ifn_campaign.captions.rules import Limits, check_youtube
from ifn_campaign.channels.adapter import Again, Outgoing, RemoteCopy, Sent, Sought, Steps
from ifn_campaign.channels.channel import Channel
from ifn_campaign.deadline import AnswerLimits, LimitPassed, send, watched_session
from ifn_campaign.errors import (
    ChannelError,
    UploadSessionGone,
    YouTubeError,
    YouTubeInvalidMetadata,
    YouTubeOutcomeUnknown,
    YouTubeQuotaExceeded,
    YouTubeRateLimited,
    YouTubeReauthNeeded,
    YouTubeRefused,
    YouTubeThumbnailRefused,
    YouTubeUnreachable,
    YouTubeUploadLimit,
    YouTubeVideoNotFound,
)
from ifn_campaign.secrets import guard_http_logs

__all__ = [
    "CHUNK_GRANULARITY",
    "GOOGLE_TOKEN_URL",
    "YOUTUBE_API_URL",
    "YOUTUBE_UPLOAD_URL",
    "OAuthCredentials",
    "TokenInfo",
    "TokenSource",
    "UploadProgress",
    "VideoStatus",
    "YouTubeChannel",
    "YouTubeClient",
    "quota_resets_at",
    "shorts_link",
    "video_resource",
]

log = logging.getLogger(__name__)

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL, not a secret)
YOUTUBE_API_URL = "https://www.googleapis.com/youtube/v3"
YOUTUBE_UPLOAD_URL = "https://www.googleapis.com/upload/youtube/v3"
CHUNK_GRANULARITY = 256 * 1024
"""Every upload chunk but the last is a multiple of this many bytes."""

PACIFIC = ZoneInfo("America/Los_Angeles")
PRIVACY_STATUSES = ("public", "unlisted", "private")
THUMBNAIL_MAX_BYTES = 2 * 1024 * 1024
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
STATISTICS_IDS = 50  # videos.list: ids per call
_FIELD_REASONS = {
    "title": "invalidTitle",
    "description": "invalidDescription",
    "tags": "invalidTags",
    "categoryId": "invalidCategoryId",
    "publishAt": "invalidPublishAt",
}
_RETRY_AFTER = Retry()  # only for its Retry-After parser (seconds or an HTTP date)

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def quota_resets_at(now: datetime) -> datetime:
    """When YouTube's daily quota resets after `now`: the next midnight in Los Angeles, in UTC."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    local_day = now.astimezone(PACIFIC).date()
    midnight = datetime.combine(local_day + timedelta(days=1), day_time(0), tzinfo=PACIFIC)
    return midnight.astimezone(UTC)


# --- OAuth ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OAuthCredentials:
    """An OAuth client and one channel's refresh token. The repr shows only the client id."""

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)


@dataclass(frozen=True)
class TokenInfo:
    """What Google's tokeninfo endpoint says of an access token: the scopes the channel's owner
    granted, the OAuth client it was issued to (`audience`) and its seconds left."""

    scopes: frozenset[str]
    audience: str | None
    expires_in: int | None


class TokenSource:
    """Access tokens from Google's token endpoint (refresh_token grant), cached until `margin`
    before they expire. Thread-safe. It does not retry: a network failure, no whole answer
    within `deadline` seconds, an answer over `max_bytes` or a 5xx raises `YouTubeUnreachable`
    / `YouTubeRateLimited` and `YouTubeClient`'s retry loop tries again."""

    def __init__(
        self,
        token_url: str,
        credentials: OAuthCredentials,
        *,
        clock: Clock | None = None,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        deadline: float = 60.0,
        max_bytes: int = 8 << 20,
        margin: timedelta = timedelta(seconds=60),
    ) -> None:
        self.token_url = token_url
        self._credentials = credentials
        self.clock: Clock = clock or _utc_now
        self._owns_session = session is None
        self._session = watched_session(session)
        self._timeout = timeout
        self._limits = AnswerLimits(
            deadline, max_bytes, "Tuning.token_deadline", "Tuning.json_max_bytes"
        )
        self._margin = margin
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at: datetime | None = None
        self.refreshes = 0
        """How many times a token was fetched (for tests and diagnostics)."""

    def __repr__(self) -> str:
        return (
            f"TokenSource({self.token_url!r}, client_id={self._credentials.client_id!r}, "
            f"cached={self._token is not None})"
        )

    def close(self) -> None:
        """Close the HTTP session if this token source made it."""
        if self._owns_session:
            self._session.close()

    @property
    def expires_at(self) -> datetime | None:
        """When the cached access token expires (None before the first refresh)."""
        return self._expires_at

    def token(self) -> str:
        """A valid access token, refreshed when none is cached or it expires within `margin`."""
        with self._lock:
            now = self._now()
            if (
                self._token is not None
                and self._expires_at is not None
                and now < self._expires_at - self._margin
            ):
                return self._token
            self._token, self._expires_at = self._refresh(now)
            return self._token

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token (YouTube answered 401); with `token`, only if it is that one."""
        with self._lock:
            if token is None or token == self._token:
                self._token = None
                self._expires_at = None

    def _now(self) -> datetime:
        now = self.clock()
        return now if now.tzinfo is not None else now.replace(tzinfo=UTC)

    def info(self, tokeninfo_url: str) -> TokenInfo:
        """Google's tokeninfo for a current access token (refreshed first if needed), to learn
        which scopes were granted. Costs no quota. The endpoint takes the token in the query
        string; no message shows it. Raises like `token()`, and `YouTubeError` with reason
        `invalid_token` when Google does not know the token."""
        guard_http_logs()  # the token is in the URL urllib3 logs at DEBUG
        token = self.token()
        try:
            response = send(
                self._session,
                "GET",
                tokeninfo_url,
                limits=self._limits,
                params={"access_token": token},
                timeout=self._timeout,
            )
        except LimitPassed as exc:
            raise YouTubeUnreachable(f"Google's tokeninfo endpoint: {exc}") from None
        except requests.Timeout:
            raise YouTubeUnreachable("Google's tokeninfo endpoint timed out") from None
        except requests.RequestException as exc:
            raise YouTubeUnreachable(
                f"Google's tokeninfo endpoint could not be reached ({type(exc).__name__})"
            ) from None
        status = response.status_code
        body = _json(response)
        if status == 200 and isinstance(body, dict):
            try:
                expires_in: int | None = int(body.get("expires_in"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                expires_in = None
            audience = body.get("aud") or body.get("audience")
            return TokenInfo(
                scopes=frozenset(str(body.get("scope") or "").split()),
                audience=str(audience) if audience else None,
                expires_in=expires_in,
            )
        error = str(body.get("error") or "") if isinstance(body, dict) else ""
        if status == 429 or status >= 500:
            raise YouTubeRateLimited(
                f"Google's tokeninfo endpoint answered HTTP {status}", status=status, reason=error
            )
        if error == "invalid_token":
            self.invalidate(token)
        raise YouTubeRefused(
            f"Google's tokeninfo endpoint answered HTTP {status} ({error or 'no error code'})",
            status=status,
            reason=error or None,
        )

    def _refresh(self, now: datetime) -> tuple[str, datetime]:
        c = self._credentials
        form = {
            "grant_type": "refresh_token",
            "client_id": c.client_id,
            "client_secret": c.client_secret,
            "refresh_token": c.refresh_token,
        }
        try:
            response = send(
                self._session,
                "POST",
                self.token_url,
                limits=self._limits,
                data=form,
                timeout=self._timeout,
            )
        except LimitPassed as exc:
            raise YouTubeUnreachable(f"Google's token endpoint: {exc}") from None
        except requests.Timeout:
            raise YouTubeUnreachable("Google's token endpoint timed out") from None
        except requests.RequestException as exc:
            raise YouTubeUnreachable(
                f"Google's token endpoint could not be reached ({type(exc).__name__})"
            ) from None
        self.refreshes += 1
        status = response.status_code
        body = _json(response)
        error = str(body.get("error") or "") if isinstance(body, dict) else ""
        if status == 200 and isinstance(body, dict) and isinstance(body.get("access_token"), str):
            try:
                expires_in = float(body.get("expires_in", 3600))
            except (TypeError, ValueError):
                expires_in = 3600.0
            log.debug("YouTube access token refreshed, valid for %.0f s", expires_in)
            return body["access_token"], now + timedelta(seconds=expires_in)
        if status == 200:  # a success whose token cannot be read: lost on the way, not refused
            raise YouTubeUnreachable(
                "Google's token endpoint answered HTTP 200 without a readable access token"
            )
        if error == "invalid_grant":
            raise YouTubeReauthNeeded(
                "the YouTube channel needs re-authorisation by staff: Google refused its refresh "
                "token (invalid_grant: revoked, unused for 6 months, or older than 7 days while "
                "the OAuth app is in testing mode)",
                status=status,
                reason=error,
            )
        if status == 429 or status >= 500:
            raise YouTubeRateLimited(
                f"Google's token endpoint answered HTTP {status}", status=status, reason=error
            )
        if error == "invalid_client":
            raise YouTubeRefused(
                "Google does not accept the OAuth client id/secret (invalid_client): check the "
                f"client {c.client_id!r} in the Google Cloud console",
                status=status,
                reason=error,
            )
        raise YouTubeRefused(
            f"Google's token endpoint answered HTTP {status} ({error or 'no error code'})",
            status=status,
            reason=error or None,
        )


# --- values -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadProgress:
    """How far an upload session got: `received` bytes of `total`; `video` once `done`."""

    received: int
    total: int
    done: bool = False
    video: dict[str, Any] | None = None

    @property
    def video_id(self) -> str | None:
        """The new video's id once done."""
        return str(self.video["id"]) if self.video and "id" in self.video else None


@dataclass(frozen=True)
class VideoStatus:
    """A video's status part: privacy now, the scheduled time while still private, processing."""

    video_id: str
    privacy: str
    publish_at: datetime | None
    upload_status: str
    failure_reason: str | None = None
    rejection_reason: str | None = None
    made_for_kids: bool | None = None
    # snippet.publishedAt: when the video became public (a scheduled one: its publishAt); the
    # upload time while it is still private
    published_at: datetime | None = None

    @property
    def url(self) -> str:
        """The public watch link (works once the video is public)."""
        return f"https://www.youtube.com/watch?v={self.video_id}"


# --- metadata ---------------------------------------------------------------------------------


def video_resource(
    snippet: Mapping[str, Any], status: Mapping[str, Any], *, limits: Limits | None = None
) -> dict[str, Any]:
    """The video resource for `videos.insert`, or `YouTubeInvalidMetadata` naming every rule
    broken. No network call.

    Checks YouTube's own rules (docs/reference/platforms.md, counted as `captions.limits` counts
    them): title 1-100 characters, description at most 5,000 bytes of UTF-8, no `<` or `>` in
    either, tags at most 500 characters as YouTube counts them, `categoryId` a string of digits,
    `privacyStatus` given and one of public, unlisted, private, `publishAt` only with private and
    with a time zone (an aware datetime is turned into RFC 3339 UTC, a fraction of a second
    rounded up; a past time is allowed and publishes at once). The editorial cap on the number
    of tags belongs to the caption writer, not here.
    """
    limits = limits or Limits()
    problems: list[tuple[str, str]] = []
    snippet = dict(snippet)
    status = dict(status)
    title = snippet.get("title")
    description = snippet.get("description", "")
    tags = snippet.get("tags", [])
    if not isinstance(title, str):
        problems.append(("title", "the title must be text"))
        title = ""
    if not isinstance(description, str):
        problems.append(("description", "the description must be text"))
        description = ""
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) and t for t in tags):
        problems.append(("tags", "tags must be a list of non-empty strings"))
        tags = []
    # Our editorial tag count is not a YouTube rule: lift it to the count given.
    platform = replace(limits, youtube_tags_max=max(limits.youtube_tags_max, len(tags)))
    problems += [(v.field, v.reason) for v in check_youtube(title, description, tags, platform)]
    if "tags" in snippet:
        snippet["tags"] = list(tags)
    category = snippet.get("categoryId")
    if category is not None and not (
        isinstance(category, str) and category.isascii() and category.isdigit()
    ):
        problems.append(
            ("categoryId", f"categoryId must be a string of digits like '22', not {category!r}")
        )
    privacy = status.get("privacyStatus")
    if privacy not in PRIVACY_STATUSES:
        problems.append(
            ("privacyStatus", f"privacyStatus must be one of {', '.join(PRIVACY_STATUSES)}")
        )
    kids = status.get("selfDeclaredMadeForKids")
    if kids is not None and not isinstance(kids, bool):
        problems.append(("selfDeclaredMadeForKids", "selfDeclaredMadeForKids must be true/false"))
    if "publishAt" in status:
        when = _publish_at(status["publishAt"])
        if when is None:
            problems.append(
                ("publishAt", "publishAt must be an ISO 8601 date-time with a time zone")
            )
        else:
            status["publishAt"] = when
        if privacy != "private":
            problems.append(("publishAt", "publishAt needs privacyStatus 'private'"))
    if problems:
        reason = _FIELD_REASONS.get(problems[0][0], "invalidVideoMetadata")
        raise YouTubeInvalidMetadata(
            "the YouTube video metadata breaks a rule: "
            + "; ".join(f"{name}: {why}" for name, why in problems),
            violations=problems,
            reason=reason,
        )
    return {"snippet": snippet, "status": status}


def _publish_at(value: Any) -> str | None:
    """RFC 3339 UTC to the second; a datetime with a fraction of a second is rounded up, so a
    video scheduled for it is never public before that moment."""
    if isinstance(value, datetime):
        moment = value
        if moment.microsecond:
            moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    elif isinstance(value, str) and "T" in value:
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: Any) -> datetime | None:
    text = _publish_at(value)
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


# --- the client -------------------------------------------------------------------------------


class _Transient(Exception):
    """One attempt failed for a reason that passes (retried by the loops below)."""

    def __init__(
        self,
        reason: str,
        *,
        kind: type[YouTubeError] = YouTubeRateLimited,
        retry_after: float | None = None,
        status: int | None = None,
        google_reason: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.retry_after = retry_after
        self.status = status
        self.google_reason = google_reason


class YouTubeClient:
    """The YouTube calls the publisher needs, each with timeouts and its own retry loop.

    `api_url` is e.g. https://www.googleapis.com/youtube/v3 and `upload_url`
    https://www.googleapis.com/upload/youtube/v3 (the sandbox: `{sandbox.url}/youtube/v3` and
    `{sandbox.url}/upload/youtube/v3`). Rate limits, 429, 5xx and lost connections are retried
    `retries` times with exponential backoff plus jitter (or the server's Retry-After, up to
    `retry_after_max`); quotaExceeded never. A 401 refreshes the access token once.

    The read timeout bounds each wait for bytes; `deadline` the whole answer of a call (a
    server dripping bytes is cut off), and a call sending a body (an upload chunk, a
    thumbnail) gets one more second per `upload_min_rate` bytes it sends. `max_bytes` caps
    the answer's body, read as it streams. Either counts as a lost connection: retried, and
    an upload is resumed from what the session holds.
    """

    def __init__(
        self,
        api_url: str,
        upload_url: str,
        tokens: TokenSource,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        deadline: float = 90.0,
        upload_min_rate: float = 32 * 1024,
        max_bytes: int = 8 << 20,
        retries: int = 4,
        backoff_factor: float = 1.0,
        backoff_max: float = 64.0,
        backoff_jitter: float = 1.0,
        retry_after_max: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        chunk_size: int = 8 * CHUNK_GRANULARITY,
        limits: Limits | None = None,
        clock: Clock | None = None,
        session: requests.Session | None = None,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        if chunk_size <= 0 or chunk_size % CHUNK_GRANULARITY:
            raise ValueError(f"chunk_size must be a positive multiple of {CHUNK_GRANULARITY}")
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self.api_url = api_url.rstrip("/")
        self.upload_url = upload_url.rstrip("/")
        self.tokens = tokens
        self.timeout = (connect_timeout, read_timeout)
        self.answer_limits = AnswerLimits(
            deadline, max_bytes, "Tuning.youtube_deadline", "Tuning.json_max_bytes"
        )
        self.upload_min_rate = upload_min_rate
        self.retries = retries
        self.backoff_factor = backoff_factor
        self.backoff_max = backoff_max
        self.backoff_jitter = backoff_jitter
        self.retry_after_max = retry_after_max
        self.chunk_size = chunk_size
        self.limits = limits or Limits()
        self.clock: Clock = clock or tokens.clock
        self.session = watched_session(session)
        self.on_retry = on_retry or (lambda _message: None)
        self._sleep = sleep
        self._random = random.Random()  # noqa: S311 (jitter, not cryptography)

    def __repr__(self) -> str:
        return f"YouTubeClient({self.api_url!r}, {self.upload_url!r})"

    def close(self) -> None:
        """Close the HTTP session."""
        self.session.close()

    def __enter__(self) -> YouTubeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- uploads

    def start_upload(
        self,
        video_path: str | PathLike[str] | None,
        snippet: Mapping[str, Any],
        status: Mapping[str, Any],
        *,
        size: int | None = None,
        content_type: str | None = None,
    ) -> str:
        """Open a resumable upload session for a video file (or `size` bytes of `content_type`)
        and return its URL. Validates the metadata first (`video_resource`): nothing is sent
        when it breaks a rule. Harmless to repeat: no video exists until all bytes arrive."""
        resource = video_resource(snippet, status, limits=self.limits)
        if video_path is not None:
            path = Path(video_path)
            size = path.stat().st_size if size is None else size
            if content_type is None:
                guessed = mimetypes.guess_type(path.name)[0] or ""
                content_type = guessed if guessed.startswith("video/") else None
        if size is None or size <= 0:
            raise ValueError("start_upload needs a non-empty video file or a positive size")
        content_type = content_type or "video/mp4"
        response = self._call(
            "POST",
            f"{self.upload_url}/videos",
            what="upload",
            ok=(200, 201),
            params={"uploadType": "resumable", "part": "snippet,status"},
            data=json.dumps(resource, ensure_ascii=False).encode("utf-8"),
            headers={
                "Content-Type": "application/json; charset=UTF-8",
                "X-Upload-Content-Length": str(size),
                "X-Upload-Content-Type": content_type,
            },
        )
        location = response.headers.get("Location", "")
        if not location.startswith(("https://", "http://")):
            raise YouTubeRefused(
                "YouTube opened an upload session but sent no session URL (Location)",
                status=response.status_code,
            )
        log.info("YouTube upload session opened (%d bytes, %s)", size, content_type)
        return location

    def resume_status(self, session_url: str, total: int) -> UploadProgress:
        """Ask an upload session how far it got (`PUT`, empty body, `bytes */total`); retried
        like any call. `done` with the video once every byte arrived. `UploadSessionGone` when
        the session expired or never existed (then no video was made from it)."""
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._query(session_url, total)
            except _Transient as exc:
                self._wait_or_give_up(exc, attempt, attempts, "asking the upload session")
        raise AssertionError("unreachable")

    def upload(
        self,
        session_url: str,
        path: str | PathLike[str],
        *,
        on_progress: Callable[[UploadProgress], None] | None = None,
        fresh: bool = False,
    ) -> dict[str, Any]:
        """Send the file to an upload session and return the new video resource.

        `fresh=True` for a session this process has just opened: it holds nothing yet, so the
        first chunk goes at once (one call fewer). Otherwise it asks the session first and sends
        only what it lacks, in chunks of `chunk_size` (the last
        one any size) with `Content-Range`; after a broken connection, a timeout, a rate limit or
        a 5xx it waits, asks again and resumes from the server's `Range`. Safe to call again on
        the same session: a finished one returns its video without sending a byte.
        `on_progress` is called after every chunk the server acknowledged (an exception from it
        stops the upload; the session stays resumable).
        """
        path = Path(path)
        total = path.stat().st_size
        self._check_session_url(session_url)
        attempts = self.retries + 1
        failures = 0
        progress = UploadProgress(received=0, total=total, done=False) if fresh else None
        final_sent = False
        with path.open("rb") as file:
            while True:
                try:
                    if progress is None:
                        progress = self._query(session_url, total)
                    if progress.done:
                        assert progress.video is not None
                        log.info("YouTube upload finished: video %s", progress.video_id)
                        return progress.video
                    start = progress.received
                    file.seek(start)
                    chunk = file.read(self.chunk_size)
                    if not chunk or start + len(chunk) > total:
                        raise YouTubeRefused(
                            f"the file {path.name} is not the {total} bytes announced "
                            "(it changed during the upload)"
                        )
                    final = start + len(chunk) == total
                    final_sent = final_sent or final
                    progress = None  # unknown until the server answers
                    answer = self._attempt(
                        "PUT",
                        session_url,
                        what="session",
                        ok=(200, 201, 308),
                        data=chunk,
                        headers={
                            "Content-Range": f"bytes {start}-{start + len(chunk) - 1}/{total}"
                        },
                    )
                    progress = _progress(answer, total)
                    if not progress.done and progress.received <= start:
                        raise _Transient("the server kept none of the chunk")
                    failures = 0
                    if on_progress is not None:
                        on_progress(progress)
                except UploadSessionGone as gone:
                    if final_sent:
                        raise YouTubeOutcomeUnknown(
                            "the last chunk of the YouTube upload was sent, then the session "
                            "disappeared: the video may exist. Do not upload it again; staff must "
                            "check the channel in YouTube Studio",
                            status=gone.status,
                            reason=gone.reason,
                        ) from None
                    raise
                except _Transient as exc:
                    failures += 1
                    progress = None
                    self._wait_or_give_up(exc, failures, attempts, "uploading")

    # --- videos

    def video_status(self, video_id: str) -> VideoStatus:
        """The video's status now (videos.list, 1 unit); `YouTubeVideoNotFound` when the video
        is gone or this channel may not see it."""
        response = self._call(
            "GET",
            f"{self.api_url}/videos",
            what="video",
            ok=(200,),
            params={"id": video_id, "part": "id,status,snippet"},
        )
        body = _json(response)
        items = body.get("items") if isinstance(body, dict) else None
        item = next(
            (i for i in items or [] if isinstance(i, dict) and i.get("id") == video_id), None
        )
        if item is None:
            raise YouTubeVideoNotFound(
                f"YouTube video {video_id} does not exist (any more) or this channel cannot see it",
                video_id=video_id,
                status=200,
            )
        status = item.get("status") or {}
        return VideoStatus(
            video_id=video_id,
            privacy=str(status.get("privacyStatus", "")),
            publish_at=_parse_time(status.get("publishAt")),
            upload_status=str(status.get("uploadStatus", "")),
            failure_reason=status.get("failureReason"),
            rejection_reason=status.get("rejectionReason"),
            made_for_kids=status.get("madeForKids"),
            published_at=_parse_time((item.get("snippet") or {}).get("publishedAt")),
        )

    def video_statistics(self, video_ids: Sequence[str]) -> Any:
        """videos.list with part=statistics for up to 50 videos in one call (1 quota unit,
        whatever the number of ids): the answer's JSON as YouTube gave it (None when it is not
        JSON), a `videoListResponse` whose `items` carry each video's `statistics` (counts as
        strings; `likeCount` absent when the owner hides likes). A video missing from it is
        deleted, or not one this channel may see. The caller checks every part of it
        (`insights.platforms.read_youtube`): nothing in it is trusted here."""
        if not 1 <= len(video_ids) <= STATISTICS_IDS:
            raise ValueError(f"videos.list takes 1 to {STATISTICS_IDS} ids, not {len(video_ids)}")
        response = self._call(
            "GET",
            f"{self.api_url}/videos",
            what="statistics",
            ok=(200,),
            params={"id": ",".join(video_ids), "part": "statistics", "maxResults": "50"},
        )
        return _json(response)

    def delete_video(self, video_id: str) -> None:
        """videos.delete (50 units): take a video down, scheduled or public (consent withdrawn).
        `YouTubeVideoNotFound` when it is already gone."""
        self._call(
            "DELETE",
            f"{self.api_url}/videos",
            what="video",
            ok=(204,),
            params={"id": video_id},
        )

    def set_thumbnail(self, video_id: str, path: str | PathLike[str]) -> dict[str, Any]:
        """Set a custom thumbnail (JPEG or PNG, at most 2 MB; 50 units). Idempotent. Returns
        YouTube's thumbnail URLs by size."""
        path = Path(path)
        data = path.read_bytes()
        if data.startswith(b"\xff\xd8\xff"):
            content_type = "image/jpeg"
        elif data.startswith(b"\x89PNG\r\n\x1a\n"):
            content_type = "image/png"
        else:
            raise YouTubeThumbnailRefused(
                f"thumbnail {path.name} is not a JPEG or PNG image; YouTube takes only those"
            )
        if len(data) > THUMBNAIL_MAX_BYTES:
            raise YouTubeThumbnailRefused(
                f"thumbnail {path.name} is {len(data):,} bytes; YouTube takes at most "
                f"{THUMBNAIL_MAX_BYTES:,}"
            )
        response = self._call(
            "POST",
            f"{self.upload_url}/thumbnails/set",
            what="thumbnail",
            ok=(200,),
            params={"videoId": video_id},
            data=data,
            headers={"Content-Type": content_type},
        )
        body = _json(response)
        items = body.get("items") if isinstance(body, dict) else None
        return dict(items[0]) if items and isinstance(items[0], dict) else {}

    # --- HTTP

    def _query(self, session_url: str, total: int) -> UploadProgress:
        self._check_session_url(session_url)
        answer = self._attempt(
            "PUT",
            session_url,
            what="session",
            ok=(200, 201, 308),
            data=b"",
            headers={"Content-Range": f"bytes */{total}"},
        )
        return _progress(answer, total)

    def _check_session_url(self, session_url: str) -> None:
        """The bearer token goes only to the upload host we were configured with."""
        ours, theirs = urlsplit(self.upload_url), urlsplit(session_url)
        if (ours.scheme, ours.netloc) != (theirs.scheme, theirs.netloc):
            raise YouTubeRefused(
                f"the upload session URL is not on {ours.scheme}://{ours.netloc}; refusing to "
                "send the channel's token elsewhere"
            )

    def _call(
        self, method: str, url: str, *, what: str, ok: tuple[int, ...], **kwargs: Any
    ) -> requests.Response:
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._attempt(method, url, what=what, ok=ok, **kwargs)
            except _Transient as exc:
                self._wait_or_give_up(exc, attempt, attempts, f"{method} {_safe(url)}")
        raise AssertionError("unreachable")

    def _wait_or_give_up(self, exc: _Transient, attempt: int, attempts: int, doing: str) -> None:
        if attempt >= attempts:
            raise exc.kind(
                f"YouTube failed {attempts} times while {doing}; last: {exc.reason}. "
                "Try again later (an upload: with the same session)",
                attempts=attempts,
                retry_after=exc.retry_after,
                status=exc.status,
                reason=exc.google_reason,
            ) from None
        if exc.retry_after is not None and exc.retry_after > self.retry_after_max:
            raise exc.kind(
                f"YouTube asked us to wait {exc.retry_after:.0f} s while {doing} (more than "
                f"{self.retry_after_max:.0f} s); try again later",
                attempts=attempt,
                retry_after=exc.retry_after,
                status=exc.status,
                reason=exc.google_reason,
            ) from None
        delay = self._delay(attempt, exc.retry_after)
        message = (
            f"YouTube: {exc.reason} while {doing}; retry {attempt}/{attempts - 1} in {delay:.1f} s"
        )
        log.warning("%s", message)
        self.on_retry(message)
        self._sleep(delay)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        backoff = min(self.backoff_max, self.backoff_factor * 2 ** (attempt - 1))
        return backoff + self._random.uniform(0, self.backoff_jitter)

    def _attempt(
        self,
        method: str,
        url: str,
        *,
        what: str,
        ok: tuple[int, ...],
        params: dict[str, str] | None = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        """One call (sent twice only when a 401 made us refresh the token). Returns an answer
        whose status is in `ok`; raises `_Transient` for what may be retried, else an error."""
        for refreshed in (False, True):
            try:
                token = self.tokens.token()
            except (YouTubeUnreachable, YouTubeRateLimited) as exc:
                raise _Transient(exc.message, kind=type(exc), status=exc.status) from None
            try:
                response = send(
                    self.session,
                    method,
                    url,
                    limits=self._limits_for(data),
                    params=params,
                    data=data,
                    headers={**(headers or {}), "Authorization": f"Bearer {token}"},
                    timeout=self.timeout,
                )
            except LimitPassed as exc:  # as a lost connection: retried, an upload resumed
                raise _Transient(str(exc), kind=YouTubeUnreachable) from None
            except requests.Timeout:
                raise _Transient("timed out", kind=YouTubeUnreachable) from None
            except requests.RequestException as exc:
                raise _Transient(
                    f"connection failed ({type(exc).__name__})", kind=YouTubeUnreachable
                ) from None
            if response.status_code in ok:
                return response
            if response.status_code == 401 and not refreshed:
                log.info("YouTube refused the access token (401); refreshing it")
                self.tokens.invalidate(token)
                continue
            self._raise_for(response, what)
        raise AssertionError("unreachable")

    def _limits_for(self, data: bytes | None) -> AnswerLimits:
        """The call's limits: a call sending bytes gets time to send them at the slowest
        rate we accept (`upload_min_rate`), on top of the deadline for the answer."""
        if not data or self.upload_min_rate <= 0:
            return self.answer_limits
        extra = len(data) / self.upload_min_rate
        return replace(
            self.answer_limits,
            deadline=self.answer_limits.deadline + extra,
            deadline_setting="Tuning.youtube_deadline + bytes / Tuning.youtube_upload_min_rate",
        )

    def _raise_for(self, response: requests.Response, what: str) -> NoReturn:
        status = response.status_code
        message, reason, domain = _google_error(response)
        context = {"status": status, "reason": reason, "domain": domain}
        if status in (403, 429) and reason in QUOTA_REASONS:
            resets_at = quota_resets_at(self.clock())
            raise YouTubeQuotaExceeded(
                f"YouTube quota exceeded ({domain or 'youtube.quota'}): nothing more today; it "
                f"resets at {resets_at:%Y-%m-%d %H:%M} UTC (midnight in Los Angeles)",
                resets_at=resets_at,
                **context,
            )
        if status == 429 or status >= 500 or (status == 403 and reason in RATE_LIMIT_REASONS):
            raise _Transient(
                f"HTTP {status} {reason or ''}".strip(),
                retry_after=_retry_after(response),
                status=status,
                google_reason=reason,
            )
        if what == "session" and status in (404, 410):
            raise UploadSessionGone(
                f"the YouTube upload session is gone (HTTP {status}): it expired or never "
                "existed, and no video was made from it; start a new upload",
                **context,
            )
        if status == 401:
            raise YouTubeRefused(
                "YouTube refused a freshly refreshed access token (401): check that the channel's "
                "authorisation has the youtube.upload scope",
                **context,
            )
        if status == 400 and reason == "uploadLimitExceeded":
            raise YouTubeUploadLimit(f"YouTube upload limit: {message}", **context)
        if what == "thumbnail" and status in (400, 413):
            raise YouTubeThumbnailRefused(f"YouTube refused the thumbnail: {message}", **context)
        if (
            status == 400
            and reason
            and (
                reason in _FIELD_REASONS.values()
                or (domain == "youtube.video" and reason.startswith("invalid"))
            )
        ):
            raise YouTubeInvalidMetadata(
                f"YouTube refused the video metadata ({reason}): {message}", **context
            )
        if status == 404 and reason == "videoNotFound":
            video_id = response.request.url or ""
            raise YouTubeVideoNotFound(
                f"YouTube video not found: {message}",
                video_id=_param(video_id, "videoId") or _param(video_id, "id") or "",
                **context,
            )
        raise YouTubeRefused(
            f"YouTube answered HTTP {status} ({reason or 'no reason'}): {message}", **context
        )


# --- helpers ----------------------------------------------------------------------------------


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _google_error(response: requests.Response) -> tuple[str, str | None, str | None]:
    """(message, reason, domain) from {"error": {"code", "message", "errors": [...]}}."""
    body = _json(response)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return (response.reason or "no message")[:200], None, None
    message = str(error.get("message") or response.reason or "no message")[:300]
    items = error.get("errors")
    first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
    reason = first.get("reason") or error.get("status")
    domain = first.get("domain")
    return message, str(reason) if reason else None, str(domain) if domain else None


def _retry_after(response: requests.Response) -> float | None:
    header = response.headers.get("Retry-After")
    if not header:
        return None
    try:
        return float(_RETRY_AFTER.parse_retry_after(header))
    except Exception:  # a malformed header means: use our own backoff
        return None


def _progress(response: requests.Response, total: int) -> UploadProgress:
    """An upload session's answer: 308 with `Range: bytes=0-N` (none: nothing yet), or the
    video (200/201)."""
    if response.status_code in (200, 201):
        video = _json(response)
        if not isinstance(video, dict) or not isinstance(video.get("id"), str):
            # every byte is in, so the video exists: only this answer was unreadable (cut,
            # garbled). No refusal (the post would fail with its video up): the session is
            # asked again, and answers with the video
            raise _Transient(
                f"HTTP {response.status_code} for the finished upload without a readable video id",
                kind=YouTubeUnreachable,
                status=response.status_code,
            )
        return UploadProgress(received=total, total=total, done=True, video=video)
    header = response.headers.get("Range")
    if not header:
        return UploadProgress(received=0, total=total)
    try:
        unit, _, span = header.partition("=")
        first, _, last = span.partition("-")
        if unit.strip() != "bytes" or int(first) != 0:
            raise ValueError(header)
        received = int(last) + 1
    except ValueError:
        raise YouTubeRefused(f"YouTube sent an unreadable Range header: {header[:60]!r}") from None
    return UploadProgress(received=min(received, total), total=total)


def _safe(url: str) -> str:
    """A URL without its query (an upload session id is a capability: not for logs)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _param(url: str, name: str) -> str | None:
    values = parse_qs(urlsplit(url).query).get(name)
    return values[0] if values else None


def shorts_link(video_id: str) -> str:
    """The public link of a Short."""
    return f"https://www.youtube.com/shorts/{video_id}"


class YouTubeChannel:
    """One YouTube channel as a `ChannelAdapter` over its `YouTubeClient`. Publishing is
    `start_upload` then `upload` (natively scheduled with `publishAt`), the session URL stored
    in between, then the thumbnail; videos go in `category_id`."""

    channel = Channel.YOUTUBE
    can_take_down = True

    def __init__(self, client: YouTubeClient, *, category_id: str = "22") -> None:
        self.client = client
        self.category_id = category_id

    def publish(self, outgoing: Outgoing, steps: Steps) -> Sent:
        """Upload session -> the bytes -> the thumbnail; private with `publishAt` when the
        slot is ahead (YouTube makes it public then). A stored session is asked how far it
        got, so the bytes are never sent twice and no second video is made."""
        client = self.client
        if steps.recorded("remote_id") is None:
            video = steps.video()
            snippet: dict[str, Any] = {
                "title": outgoing.title,
                "description": outgoing.caption,
                "tags": list(outgoing.tags),
                "categoryId": self.category_id,
            }
            status: dict[str, Any] = {"selfDeclaredMadeForKids": False}
            if outgoing.slot_at > outgoing.now:
                status |= {"privacyStatus": "private", "publishAt": outgoing.slot_at}
            else:
                status |= {"privacyStatus": "public"}
            fresh = steps.recorded("upload_session_url") is None
            if fresh:
                steps.step("yt_session")
                session_url = client.start_upload(video, snippet, status)
                steps.called("yt_session")
                steps.remember("yt_session", upload_session_url=session_url)
            resource = self._upload(steps, video, fresh=fresh)
            steps.called("yt_upload")
            steps.remember("yt_upload", remote_id=str(resource["id"]))
        video_id: str | None = steps.recorded("remote_id")
        if outgoing.thumbnail_path and steps.recorded("publish_step") != "yt_done":
            steps.step("yt_thumbnail")
            refused: Exception | None = None
            try:
                client.set_thumbnail(video_id or "", outgoing.thumbnail_path)
            except (ChannelError, OSError) as exc:  # OSError: the file cannot be read
                refused = exc
            steps.called("yt_thumbnail")
            steps.aside("yt_thumbnail", refused)
        return Sent(
            live=outgoing.slot_at <= outgoing.now,
            link=lambda: shorts_link(video_id) if video_id else None,
        )

    def _upload(self, steps: Steps, video: Path, *, fresh: bool) -> dict[str, Any]:
        """The video resource once its bytes are all in. Over the attempt cap only the
        session is asked (a read): an earlier try may have finished the upload, and that video
        is the post; nothing more is sent."""
        url = steps.recorded("upload_session_url") or ""
        if steps.capped:
            try:
                progress = self.client.resume_status(url, video.stat().st_size)
            except UploadSessionGone:
                progress = None  # the session made no video
            if progress is not None and progress.done and progress.video is not None:
                return progress.video
        steps.step("yt_upload")  # over the cap, this refuses: nothing more is sent
        try:
            # a session opened just now holds nothing: no need to ask it first
            return self.client.upload(url, video, fresh=fresh)
        except UploadSessionGone:
            steps.remember(upload_session_url=None)  # no video was made: a new session
            raise Again("upload session expired: starting over") from None

    def __repr__(self) -> str:
        return f"YouTubeChannel({self.client.api_url!r})"

    def find(self, sought: Sought) -> RemoteCopy | None:
        """The video the sought upload session became, or None: a video exists only once its
        session has every byte, so the session is the one place to look (a session that is
        gone made no video; without a session nothing was sent)."""
        if not sought.upload_session_url or not sought.upload_size:
            return None
        try:
            progress = self.client.resume_status(sought.upload_session_url, sought.upload_size)
        except UploadSessionGone:
            return None
        if not progress.done or progress.video_id is None:
            return None
        return self.read_back(progress.video_id)

    def read_back(self, remote_id: str) -> RemoteCopy:
        """Public or still private (scheduled), its Shorts link, and when it went public."""
        status = self.client.video_status(remote_id)
        public = status.privacy == "public"
        return RemoteCopy(
            remote_id,
            live=public,
            link=shorts_link(remote_id),
            live_at=status.published_at if public else None,
        )

    def take_down(self, remote_id: str) -> None:
        self.client.delete_video(remote_id)
