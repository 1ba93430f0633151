"""A small Graph API client (Instagram content publishing, Facebook Page posts) that never posts
twice by itself.

Every call says whether it is safe to repeat (`idempotent`). What the client does when a call
fails:

| failure                                          | idempotent call      | creating call         |
|--------------------------------------------------|----------------------|-----------------------|
| connection refused, connect timeout (never sent) | retried with backoff | retried with backoff  |
| read timeout, dropped or cut answer              | retried with backoff | `GraphOutcomeUnknown` |
| codes 1, 2, HTTP 5xx (Meta may have acted)       | retried with backoff | `GraphOutcomeUnknown` |
| no whole answer within `deadline` seconds        | retried with backoff | `GraphOutcomeUnknown` |
| an answer over `max_bytes` (refused unread)      | retried with backoff | `GraphOutcomeUnknown` |
| rate limit 4, 17, 32, 613, 80001, 80002          | `GraphRateLimited`   | `GraphRateLimited`    |
| anything else                                    | its `GraphError` class, at once              |

The read timeout bounds each wait for bytes; `deadline` bounds the whole answer (headers and
body: a server dripping a byte at a time is cut off) and `max_bytes` its body, read as it
streams (`ifn_campaign.deadline`).

`GraphOutcomeUnknown` means: the post may exist. The caller reconciles with the platform
(`instagram.find_published`, `facebook.find_scheduled`, ...) before trying again.

Rate limits: Meta asks clients to stop calling once limited (calls made while blocked extend
the block), so the client raises `GraphRateLimited` and remembers until when it is blocked;
every later call raises the same error without touching the network until then. The usage
headers (`x-app-usage`, `x-business-use-case-usage`) are read on every answer (`last_usage`):
at `usage_threshold` percent or more the client pauses before its next call, longer the closer
to 100%, and an `estimated_time_to_regain_access` above zero blocks it like a rate limit.

The access token goes in an `Authorization` header, never in a URL, so it appears in no log
line, no exception text and no `repr` (one exception: `debug_token`, as Meta takes its
`input_token` only in the query; messages still name the path alone, and urllib3's DEBUG line
for the request has the value blanked by `ifn_campaign.secrets.guard_http_logs`).

```python
client = GraphClient("https://graph.facebook.com/v25.0", token)
client.get(f"/{ig_user_id}", fields="username")
client.post(f"/{ig_user_id}/media_publish", {"creation_id": container}, idempotent=False)
```
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.util import Retry

from ifn_campaign.deadline import AnswerLimits, DeadlinePassed, LimitPassed, send, watched_session
from ifn_campaign.errors import (
    GraphContainerExpired,
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
from ifn_campaign.secrets import guard_http_logs

__all__ = [
    "INSTAGRAM_PUBLISH",
    "PAGE_PUBLISH",
    "RATE_LIMIT_CODES",
    "GraphClient",
    "Usage",
    "error_from_answer",
    "node_id",
]

RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80001, 80002})
APP_LIMIT_CODES = frozenset({4, 17})  # the app's (or its user's) budget: every account stops
TRANSIENT_CODES = frozenset({1, 2})
TOKEN_SUBCODES = {
    458: "the app was removed from the account",
    459: "the user must log in to Facebook to fix a checkpoint",
    460: "the password was changed",
    463: "the token expired",
    464: "the user is not confirmed",
    467: "the user logged out",
    492: "the user lost their role on the Page",
}
INSTAGRAM_PUBLISH = ("instagram_basic", "instagram_content_publish")
"""The permissions Instagram publishing needs (named in `GraphPermissionMissing`)."""
PAGE_PUBLISH = ("pages_manage_posts", "pages_read_engagement")
"""The permissions Facebook Page posting needs."""
_KNOWN_PERMISSIONS = (*INSTAGRAM_PUBLISH, *PAGE_PUBLISH, "pages_show_list", "business_management")
_REJECTIONS = {
    368: "Meta blocked this post for a policy reason (the account may be temporarily "
    "restricted): a person must check the post and the account in Meta Business Suite",
    506: "Facebook refused a duplicate of a recent post (same text within 24 h): "
    "change the text or check whether it already went out",
    2207051: "Instagram flagged this post as spam: change the caption (fewer hashtags, links, "
    "mentions) and check the account in the Instagram app",
    2207050: "the Instagram account is restricted or inactive: open the Instagram app to see why",
    2207004: "the image is larger than 8 MB: export a smaller JPEG",
    2207005: "the image format is not accepted: use an sRGB JPEG 320-1440 px wide",
    2207009: "the image aspect ratio is outside 4:5 .. 1.91:1: re-crop the card",
    2207010: "the caption breaks Instagram's limits (2,200 characters, hashtags, 20 mentions)",
    2207027: "the container is not ready to publish (still processing, expired or already "
    "published): check its status",
    2207028: "the carousel is invalid (2 to 10 image items of this account)",
}
_IMAGE_CODES = {36000: 2207004, 36001: 2207005, 36003: 2207009}
_RETRY_AFTER = Retry()  # only for its Retry-After parser
_NODE = re.compile(r"[0-9]+(?:_[0-9]+)?")
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Usage:
    """What the usage headers of the last answer said (percentages of Meta's budgets).

    `app`: `x-app-usage` (call_count, total_time, total_cputime). `business`: per object id,
    the entries of `x-business-use-case-usage`. `percent`: the highest percentage of all.
    `regain_after`: seconds until access is back (`estimated_time_to_regain_access`), 0 if fine.
    """

    app: Mapping[str, int] = field(default_factory=dict)
    business: Mapping[str, list[Mapping[str, Any]]] = field(default_factory=dict)

    @property
    def percent(self) -> int:
        values = [v for v in self.app.values() if isinstance(v, int | float)]
        for entries in self.business.values():
            for entry in entries:
                values += [
                    entry[k]
                    for k in ("call_count", "total_time", "total_cputime")
                    if isinstance(entry.get(k), int | float)
                ]
        return int(max(values, default=0))

    @property
    def app_percent(self) -> int:
        """The highest `x-app-usage` percentage: the budget every account of the app shares."""
        return int(max((v for v in self.app.values() if isinstance(v, int | float)), default=0))

    @property
    def regain_after(self) -> float:
        minutes = [
            entry.get("estimated_time_to_regain_access")
            for entries in self.business.values()
            for entry in entries
        ]
        return 60.0 * max((m for m in minutes if isinstance(m, int | float)), default=0)


class _Retry(Exception):
    """An attempt failed in a way that may be repeated (carries the error to raise at the end)."""

    def __init__(self, error: GraphError) -> None:
        super().__init__(str(error))
        self.error = error


class GraphClient:
    """Calls the Graph API at `base_url` (including the version, e.g. `.../v25.0`) with `token`.

    `retries` more attempts after the first, for calls that may be repeated; the wait before
    retry n is `backoff_factor * 2**(n-1)` capped at `backoff_max`, plus up to `jitter` seconds
    (or a server's Retry-After, if not above `backoff_max`). `deadline`: seconds a whole answer
    may take; `max_bytes`: the largest body read (the names in `*_setting` are what messages
    tell staff to change). `rate_limit_wait`: how long to stop
    after a rate limit that does not say. At `usage_threshold` percent of any usage header the
    next call waits `backoff_max * (percent - threshold + 1) / (100 - threshold + 1)` seconds.
    `sleep` and `clock` (monotonic seconds) are swappable for tests.

    One client per token and per worker: the rate-limit block and the pause live in the client
    (not shared between processes, not locked between threads).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        deadline: float = 60.0,
        max_bytes: int = 8 << 20,
        deadline_setting: str = "Tuning.graph_deadline",
        max_bytes_setting: str = "Tuning.json_max_bytes",
        retries: int = 4,
        backoff_factor: float = 0.5,
        backoff_max: float = 30.0,
        jitter: float = 0.5,
        usage_threshold: int = 80,
        usage_stop: int = 100,
        rate_limit_wait: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        session: requests.Session | None = None,
    ) -> None:
        if not token:
            raise ValueError("GraphClient needs an access token")
        self.base_url = base_url.rstrip("/")
        self.__token = token
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.limits = AnswerLimits(deadline, max_bytes, deadline_setting, max_bytes_setting)
        self.retries = retries
        self.backoff_factor = backoff_factor
        self.backoff_max = backoff_max
        self.jitter = jitter
        self.usage_threshold = usage_threshold
        self.usage_stop = usage_stop
        self.rate_limit_wait = rate_limit_wait
        self._sleep = sleep
        self._clock = clock
        self._owns_session = session is None
        self.session = watched_session(session)
        self._random = random.Random()  # noqa: S311 (jitter, not cryptography)
        self.last_usage: Usage | None = None
        """The usage headers of the most recent answer (None before the first)."""
        self._pause = 0.0
        self._blocked_until: float | None = None
        self._blocked_error: GraphRateLimited | None = None

    def __repr__(self) -> str:
        return f"GraphClient({self.base_url!r}, token=<hidden>)"

    def blocked(self) -> GraphRateLimited | None:
        """The limit this client is keeping to (from an error or the usage headers), with
        `retry_after` the seconds left, or None: callers persist it for other runs."""
        if self._blocked_until is None or self._blocked_error is None:
            return None
        left = self._blocked_until - self._clock()
        if left <= 0:
            return None
        self._blocked_error.retry_after = left
        return self._blocked_error

    def close(self) -> None:
        """Close the session if the client made it."""
        if self._owns_session:
            self.session.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the three verbs

    def get(
        self,
        path: str,
        *,
        idempotent: bool = True,
        permissions: tuple[str, ...] = (),
        **params: Any,
    ) -> dict[str, Any]:
        """GET `path` with query `params`; a read, retried on transient failures."""
        return self._call("GET", path, params, None, None, idempotent, permissions)

    def post(
        self,
        path: str,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        *,
        idempotent: bool = False,
        permissions: tuple[str, ...] = (),
        **params: Any,
    ) -> dict[str, Any]:
        """POST form `data` (multipart with `files`, whose contents must be bytes so a retry can
        resend them). Not repeated after an unknown outcome unless `idempotent`."""
        return self._call("POST", path, params, data, files, idempotent, permissions)

    def delete(
        self, path: str, *, idempotent: bool = True, permissions: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """DELETE `path`. Deleting twice does no harm, so it is retried; a retry after a lost
        answer may meet `GraphNotFound` (already gone)."""
        return self._call("DELETE", path, {}, None, None, idempotent, permissions)

    def pages(self, path: str, *, max_pages: int = 10, **params: Any) -> Iterator[dict[str, Any]]:
        """The items of a listing edge, page by page through `paging.cursors.after` (the `next`
        URL is not followed: Meta puts the token in it). At most `max_pages` pages."""
        for _ in range(max_pages):
            body = self.get(path, **params)
            data = body.get("data")
            if not isinstance(data, list):
                raise GraphRejected(
                    f"GET {path}: the answer has no 'data' list", method="GET", path=path
                )
            yield from (item for item in data if isinstance(item, dict))
            paging = body.get("paging") if isinstance(body.get("paging"), dict) else {}
            cursors = paging.get("cursors") if isinstance(paging.get("cursors"), dict) else {}
            after = cursors.get("after")
            if not paging.get("next") or not isinstance(after, str) or not after:
                return
            params = {**params, "after": after}

    def debug_token(self) -> dict[str, Any]:
        """What Meta says of this client's own token (`GET /debug_token`, the token inspecting
        itself): `data` with `is_valid`, `type` (PAGE, USER), `profile_id` (the Page),
        `scopes`, `expires_at` (0: never) and, when not valid, `error` {code, subcode,
        message}. A token Meta refuses outright raises `GraphTokenInvalid` instead.

        The one call whose URL carries the token (`input_token`: Meta takes it nowhere
        else); errors and log lines name the path only, never the query."""
        guard_http_logs()  # the token is in the URL urllib3 logs at DEBUG
        body = self.get("/debug_token", input_token=self.__token)
        data = body.get("data")
        if not isinstance(data, dict):
            raise GraphRejected(
                "GET /debug_token: the answer has no 'data' object",
                method="GET",
                path="/debug_token",
            )
        return data

    # the loop

    def _call(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        data: Mapping[str, Any] | None,
        files: Mapping[str, Any] | None,
        idempotent: bool,
        permissions: tuple[str, ...],
    ) -> dict[str, Any]:
        path = "/" + path.lstrip("/")
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            self._wait_for_budget(method, path)
            try:
                return self._attempt(method, path, params, data, files, idempotent, permissions)
            except _Retry as retry:
                error = retry.error
                if attempt == attempts:
                    raise error from None
                delay = self._delay(attempt, getattr(error, "retry_after", None))
                if delay is None:
                    raise error from None
                _log.warning(
                    "Graph %s %s: %s; retry %d/%d in %.1f s",
                    method,
                    path,
                    _short(error),
                    attempt,
                    attempts - 1,
                    delay,
                )
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _wait_for_budget(self, method: str, path: str) -> None:
        if self._blocked_until is not None:
            left = self._blocked_until - self._clock()
            if left > 0 and self._blocked_error is not None:
                error = self._blocked_error
                again = GraphRateLimited(
                    f"{method} {path}: not called, Meta's rate limit is still in force for "
                    f"{left:.0f} s (from: {error})",
                    retry_after=left,
                    code=error.code,
                    subcode=error.subcode,
                    message=error.message,
                    type=error.type,
                    is_transient=True,
                    fbtrace_id=error.fbtrace_id,
                    http_status=error.http_status,
                    user_title=error.user_title,
                    user_msg=error.user_msg,
                    method=method,
                    path=path,
                )
                again.scope = error.scope
                raise again
            self._blocked_until = self._blocked_error = None
        if self._pause > 0:
            pause, self._pause = self._pause, 0.0
            _log.info("Graph usage at %d%%: pausing %.1f s", self._usage_percent(), pause)
            self._sleep(pause)

    def _usage_percent(self) -> int:
        return self.last_usage.percent if self.last_usage is not None else 0

    def _delay(self, attempt: int, retry_after: float | None) -> float | None:
        if retry_after is not None:
            return retry_after if retry_after <= self.backoff_max else None
        backoff = min(self.backoff_max, self.backoff_factor * 2 ** (attempt - 1))
        return backoff + self._random.uniform(0, self.jitter)

    def _attempt(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        data: Mapping[str, Any] | None,
        files: Mapping[str, Any] | None,
        idempotent: bool,
        permissions: tuple[str, ...],
    ) -> dict[str, Any]:
        where = {"method": method, "path": path}
        try:
            response = send(
                self.session,
                method,
                self.base_url + path,
                limits=self.limits,
                params=params or None,
                data=data,
                files=files,
                headers={"Authorization": f"Bearer {self.__token}", "Accept": "application/json"},
                timeout=(self.connect_timeout, self.read_timeout),
                allow_redirects=False,
            )
        except LimitPassed as exc:
            cut = exc.error if isinstance(exc, DeadlinePassed) else None
            if isinstance(cut, requests.RequestException) and _never_sent(cut):
                raise _Retry(
                    GraphTransient(f"{method} {path}: could not connect ({exc})", **where)
                ) from None
            if idempotent:
                raise _Retry(GraphTransient(f"{method} {path}: {exc}", **where)) from None
            raise GraphOutcomeUnknown(
                f"{method} {path}: {exc}, after the request was sent, so it may or may not "
                "have taken effect; reconcile with the platform before trying again",
                **where,
            ) from None
        except requests.RequestException as exc:
            reason = _network_reason(exc)
            if _never_sent(exc):
                raise _Retry(
                    GraphTransient(f"{method} {path}: could not connect ({reason})", **where)
                ) from None
            if idempotent:
                raise _Retry(GraphTransient(f"{method} {path}: {reason}", **where)) from None
            raise GraphOutcomeUnknown(
                f"{method} {path}: {reason} after the request was sent, so it may or may not "
                "have taken effect; reconcile with the platform before trying again",
                **where,
            ) from None
        usage = self._read_usage(response)
        body = _json(response)
        # Meta's error body is the error whatever the status: a 200 carrying one (a proxy, a
        # batch) is not an answer missing everything asked, nor a rate limit to call again
        failed = isinstance(body, dict) and isinstance(body.get("error"), dict)
        if 200 <= response.status_code < 300 and not failed:
            if isinstance(body, dict):
                return body
            problem = GraphTransient(
                f"{method} {path}: HTTP {response.status_code} with an unreadable body",
                http_status=response.status_code,
                **where,
            )
            if idempotent:
                raise _Retry(problem)
            raise GraphOutcomeUnknown(
                f"{problem}; it may have taken effect: reconcile before trying again",
                cause=problem,
                http_status=response.status_code,
                **where,
            )
        error = error_from_answer(
            response.status_code,
            body,
            method=method,
            path=path,
            retry_after=_retry_after(response),
            permissions=permissions,
            media_url=_media_url(data, params),
            token=self.__token,
        )
        if isinstance(error, GraphRateLimited):
            if usage is not None and usage.regain_after > 0:
                wait = usage.regain_after  # estimated_time_to_regain_access
            else:
                wait = error.retry_after or self.rate_limit_wait
            error.retry_after = wait
            app_wide = error.code in APP_LIMIT_CODES
            if usage is not None and usage.app_percent >= 100:
                app_wide = True
            error.scope = "app" if app_wide else "account"
            self._block(error, wait)
            raise error
        if isinstance(error, GraphTransient):
            if idempotent:
                raise _Retry(error)
            raise GraphOutcomeUnknown(
                f"{error}; Meta may have acted on it: reconcile with the platform before "
                "trying again",
                cause=error,
                **_fields_of(error),
            )
        raise error

    def _block(self, error: GraphRateLimited, seconds: float) -> None:
        until = self._clock() + seconds
        if self._blocked_until is None or until > self._blocked_until:
            self._blocked_until, self._blocked_error = until, error

    def _read_usage(self, response: requests.Response) -> Usage | None:
        app = _header_json(response, "x-app-usage")
        business = _header_json(response, "x-business-use-case-usage")
        if app is None and business is None:
            return None
        usage = Usage(
            app={k: v for k, v in (app or {}).items() if isinstance(v, int | float)},
            business={
                k: [e for e in v if isinstance(e, dict)]
                for k, v in (business or {}).items()
                if isinstance(v, list)
            },
        )
        self.last_usage = usage
        percent = usage.percent
        if percent >= self.usage_threshold:
            span = max(1, 100 - self.usage_threshold + 1)
            share = min(1.0, (percent - self.usage_threshold + 1) / span)
            self._pause = self.backoff_max * share
        if 200 <= response.status_code < 300:
            self._stop_early(usage)
        return usage

    def _stop_early(self, usage: Usage) -> None:
        """Stop calling well before Meta does: at `usage_stop` percent, or when an answer says
        access must be regained, this client blocks itself (the app's budget: app-wide)."""
        app_wide = usage.app_percent >= self.usage_stop
        if not app_wide and usage.regain_after <= 0 and usage.percent < self.usage_stop:
            return
        wait = max(usage.regain_after, self.rate_limit_wait if usage.percent >= 100 else 0.0)
        if usage.percent >= self.usage_stop:
            wait = max(wait, self.rate_limit_wait)
        which = "the app's" if app_wide else "the account's"
        error = GraphRateLimited(
            f"Meta reports {which} call budget at {usage.percent}%: not calling it for "
            f"{wait / 60:.0f} min (stopping at {self.usage_stop}%, before Meta's block)",
            retry_after=wait,
            is_transient=True,
        )
        error.scope = "app" if app_wide else "account"
        self._block(error, wait)


# --- answers to errors ----------------------------------------------------------------------


def error_from_answer(
    status: int,
    body: Any,
    *,
    method: str | None = None,
    path: str | None = None,
    retry_after: float | None = None,
    permissions: tuple[str, ...] = (),
    media_url: str | None = None,
    token: str | None = None,
) -> GraphError:
    """The `GraphError` subclass for an error answer (HTTP status and parsed JSON body)."""
    raw = body.get("error") if isinstance(body, dict) else None
    raw = raw if isinstance(raw, dict) else {}

    def text(key: str) -> str | None:
        value = raw.get(key)
        return _scrub(str(value), token) if value is not None else None

    def number(key: str) -> int | None:
        value = raw.get(key)
        if isinstance(value, bool):
            return None
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    code, subcode = number("code"), number("error_subcode")
    fields: dict[str, Any] = {
        "code": code,
        "subcode": subcode,
        "message": text("message"),
        "type": text("type"),
        "is_transient": raw.get("is_transient")
        if isinstance(raw.get("is_transient"), bool)
        else None,
        "fbtrace_id": text("fbtrace_id"),
        "http_status": status,
        "user_title": text("error_user_title"),
        "user_msg": text("error_user_msg"),
        "method": method,
        "path": path,
    }
    call = f"{method} {path}: " if method and path else ""
    ref = _reference(fields)
    meta = fields["user_msg"] or fields["message"] or "no error message"

    if code in RATE_LIMIT_CODES or (code is None and status == 429):
        return GraphRateLimited(
            f"{call}rate limited by Meta ({meta}); stop calling and try again after the wait {ref}",
            retry_after=retry_after,
            **fields,
        )
    if code in (102, 190):
        why = TOKEN_SUBCODES.get(subcode or 0, "the token is no longer valid")
        return GraphTokenInvalid(
            f"{call}the account's access token was refused ({why}). The account needs "
            "re-authorisation by staff: a Page admin logs in again and reconnects the Page and "
            "its Instagram account, then the new token is stored as the account's secret "
            f"{ref}",
            **fields,
        )
    if code == 10 or (code is not None and 200 <= code <= 299):
        named = tuple(p for p in _KNOWN_PERMISSIONS if p in (fields["message"] or ""))
        missing = named or permissions
        which = ", ".join(missing) if missing else "a permission this call needs"
        return GraphPermissionMissing(
            f"{call}the token lacks permission {which}. Staff must reconnect the account "
            f"granting {which} (a Page admin, in Meta Business settings) {ref}",
            permissions=missing,
            **fields,
        )
    if code == 9:
        return GraphPublishLimit(
            f"{call}the account has used up its rolling 24 h limit ({meta}); publish later {ref}",
            **fields,
        )
    if subcode in (2207008, 2207020):  # the container is older than 24 h, or gone
        return GraphContainerExpired(
            f"{call}the Instagram container expired (not published within 24 h); nothing went "
            f"out: make a new container ({meta}) {ref}",
            **fields,
        )
    if code == 9004 or subcode == 2207052:
        url = media_url or "the media URL"
        return GraphMediaFetchFailed(
            f"{call}Meta could not fetch {url}: it must be public, fast and the real image {ref}",
            url=media_url,
            **fields,
        )
    if code in TRANSIENT_CODES or status >= 500 or fields["is_transient"] is True:
        return GraphTransient(
            f"{call}temporary Graph API failure ({meta}) {ref}", retry_after=retry_after, **fields
        )
    if code == 100 and subcode == 33:
        return GraphNotFound(
            f"{call}the object does not exist (any more) or this token may not see it {ref}",
            **fields,
        )
    reason = _REJECTIONS.get(subcode or 0) or _REJECTIONS.get(code or 0)
    if code in _IMAGE_CODES:
        reason = _REJECTIONS[_IMAGE_CODES[code]]
    return GraphRejected(f"{call}{reason or 'Meta refused the call'} ({meta}) {ref}", **fields)


def _reference(fields: Mapping[str, Any]) -> str:
    parts = [f"HTTP {fields['http_status']}"]
    if fields["code"] is not None:
        code = str(fields["code"])
        if fields["subcode"] is not None:
            code += f"/{fields['subcode']}"
        parts.append(f"code {code}")
    if fields["fbtrace_id"]:
        parts.append(f"fbtrace_id {fields['fbtrace_id']}")
    return "[" + ", ".join(parts) + "]"


def _fields_of(error: GraphError) -> dict[str, Any]:
    return {
        "code": error.code,
        "subcode": error.subcode,
        "message": error.message,
        "type": error.type,
        "is_transient": error.is_transient,
        "fbtrace_id": error.fbtrace_id,
        "http_status": error.http_status,
        "user_title": error.user_title,
        "user_msg": error.user_msg,
        "method": error.method,
        "path": error.path,
    }


def _scrub(text: str, token: str | None) -> str:
    return text.replace(token, "<token>") if token else text


def _short(error: GraphError) -> str:
    if error.code is not None:
        return f"HTTP {error.http_status} code {error.code}"
    if error.http_status is not None:
        return f"HTTP {error.http_status}"
    return str(error).partition(": ")[2] or str(error)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _header_json(response: requests.Response, name: str) -> dict[str, Any] | None:
    raw = response.headers.get(name)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _retry_after(response: requests.Response) -> float | None:
    header = response.headers.get("Retry-After")
    if not header:
        return None
    try:
        return float(_RETRY_AFTER.parse_retry_after(header))
    except Exception:  # a malformed header means: use our own backoff
        return None


def _media_url(data: Mapping[str, Any] | None, params: Mapping[str, Any]) -> str | None:
    for source in (data or {}, params):
        for key in ("image_url", "video_url", "url"):
            value = source.get(key)
            if isinstance(value, str):
                return value
    return None


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request provably never reached the server (nothing can have happened)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def _network_reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, requests.ReadTimeout):
        return "no answer within the read timeout"
    if _never_sent(exc):
        return "connection refused or unreachable"
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return "the connection was lost before the whole answer arrived"
    return f"network failure ({type(exc).__name__})"


def node_id(value: str, what: str = "Graph object id") -> str:
    """`value` if it looks like a Graph id (digits, or digits_digits for Page posts).

    Ids go into URL paths; this keeps anything else (a caption, a path, a URL) out of them.
    """
    if not isinstance(value, str) or not _NODE.fullmatch(value):
        raise ValueError(f"{what} must be digits (or digits_digits), not {value!r}")
    return value
