"""HTTP client for the registry contract (docs/reference/registry-contract.md): cursor pages,
retries, one error per failure.

Each page has a whole-call deadline (`registry.deadline`) and a size cap (`registry.max_bytes`),
read as it streams (`ifn_campaign.deadline`): either is retried like a timeout.

The retry loop is ours rather than urllib3's `Retry` because a page can also fail while its body
is being read (a dropped or truncated response), which urllib3 cannot retry, and because staff
should see each wait ("HTTP 429, retrying in 4.2 s") instead of a silent stall.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests
from urllib3.util import Retry

from ifn_campaign.config import RegistrySettings
from ifn_campaign.deadline import AnswerLimits, LimitPassed, send, watched_session
from ifn_campaign.errors import RegistryResponseError, RegistryUnreachable
from ifn_campaign.registry.source import Page

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_RETRY_AFTER = Retry()  # only for its Retry-After parser (seconds or an HTTP date)


def source_name(settings: RegistrySettings) -> str:
    """The registry as a sync source: the name its sync runs, cursor and sync lock go by."""
    return f"registry:{settings.base_url}"


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class RegistryClient:
    """Reads members page by page; a `MemberSource` for the sync."""

    supports_incremental = True

    def __init__(
        self,
        settings: RegistrySettings,
        token: str | None = None,
        *,
        on_retry: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.name = source_name(settings)
        self.session = watched_session()
        self.limits = AnswerLimits(
            settings.deadline, settings.max_bytes, "registry.deadline", "registry.max_bytes"
        )
        self.session.headers.update(
            {"Accept": "application/json", "Accept-Encoding": "gzip, deflate"}
        )
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self._token = token or None  # blanked in what the registry says back (its errors)
        self.on_retry = on_retry or (lambda _msg: None)
        self._sleep = sleep
        self._random = random.Random()  # noqa: S311  (jitter, not cryptography)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pages(self, since: datetime | None = None, cursor: str | None = None) -> Iterator[Page]:
        """Every page from `cursor` (or the start) of members updated at or after `since`."""
        while True:
            params: dict[str, Any] = {"limit": self.settings.page_size}
            if since is not None:
                params["updated_since"] = since.isoformat().replace("+00:00", "Z")
            if cursor:
                params["cursor"] = cursor
            body = self._get_json("/api/v1/members", params)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise RegistryResponseError(
                    "registry page is not an object with a 'data' list",
                    url=self._url("/api/v1/members"),
                )
            next_cursor = body.get("next_cursor")
            if next_cursor is not None and not isinstance(next_cursor, str):
                raise RegistryResponseError(
                    "registry page has a next_cursor that is not a string",
                    url=self._url("/api/v1/members"),
                )
            yield Page(records=body["data"], cursor=cursor, next_cursor=next_cursor or None)
            if not next_cursor:
                return
            if next_cursor == cursor:
                raise RegistryResponseError(
                    "registry returned the same cursor twice (it would loop forever)",
                    url=self._url("/api/v1/members"),
                )
            cursor = next_cursor

    def member(self, member_id: str) -> Any | None:
        """One raw member record, or None when the registry does not know it."""
        try:
            return self._get_json(f"/api/v1/members/{quote(member_id, safe='')}", {})
        except RegistryResponseError as exc:
            if exc.status == 404:
                return None
            raise

    def _url(self, path: str) -> str:
        return f"{self.settings.base_url}{path}"

    def _get_json(self, path: str, params: dict[str, Any]) -> Any:
        url = self._url(path)
        attempts = self.settings.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._attempt(url, params)
            except _Transient as exc:
                if attempt == attempts:
                    raise RegistryUnreachable(
                        f"registry at {self.settings.base_url} failed {attempts} times, "
                        f"last: {exc.reason}",
                        url=url,
                    ) from None
                delay = self._delay(attempt, exc.retry_after)
                self.on_retry(f"{exc.reason}; retry {attempt}/{attempts - 1} in {delay:.1f} s")
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        s = self.settings
        if retry_after is not None:
            if retry_after > s.retry_after_max:
                raise RegistryUnreachable(
                    f"registry asked us to wait {retry_after:.0f} s (Retry-After), more than "
                    f"registry.retry_after_max = {s.retry_after_max:.0f} s; try again later"
                )
            return retry_after
        backoff = min(s.backoff_max, s.backoff_factor * 2 ** (attempt - 1))
        return backoff + self._random.uniform(0, s.backoff_jitter)

    def _attempt(self, url: str, params: dict[str, Any]) -> Any:
        s = self.settings
        try:
            response = send(
                self.session,
                "GET",
                url,
                limits=self.limits,
                params=params,
                timeout=(s.connect_timeout, s.read_timeout),
            )
        except LimitPassed as exc:  # as a timeout: the page is asked again
            raise _Transient(str(exc)) from None
        except requests.Timeout:
            raise _Transient("timed out") from None
        except requests.RequestException as exc:
            raise _Transient(f"connection failed ({type(exc).__name__})") from None
        status = response.status_code
        if status in RETRY_STATUSES:
            header = response.headers.get("Retry-After")
            retry_after = None
            if header:
                try:
                    retry_after = _RETRY_AFTER.parse_retry_after(header)
                except Exception:  # a malformed header means: use our own backoff
                    retry_after = None
            raise _Transient(f"HTTP {status}", retry_after)
        if status in (401, 403):
            raise RegistryResponseError(
                f"registry refused access (HTTP {status}): check the registry token "
                "(IFN_REGISTRY__TOKEN or registry.token_secret_block)",
                url=url,
                status=status,
            )
        if status != 200:
            raise RegistryResponseError(
                f"registry answered HTTP {status} for {url}: "
                f"{_error_message(response, self._token)}",
                url=url,
                status=status,
            )
        try:
            return response.json()
        except (json.JSONDecodeError, requests.exceptions.JSONDecodeError):
            raise _Transient("response body is not valid JSON") from None


def _error_message(response: requests.Response, token: str | None = None) -> str:
    """A short printable summary of an error body, whatever the body holds: the registry's own
    `{"error": {"message": ...}}`, `{"error": "code", "message": ...}`, any other JSON, HTML,
    text in any encoding, or nothing. Our `token`, should the registry echo it, is blanked
    before the summary is cut, so no part of it goes on into the error, the sync run's stored
    errors or a flow's log."""
    data = response.content[:_ERROR_BODY_MAX]
    text = data.decode("utf-8", "replace")
    try:
        message = _json_message(json.loads(text))
    except ValueError:  # not JSON (or cut short): show it as text, without HTML tags
        message = _TAG.sub(" ", text)
    message = _printable(message)
    if token:
        message = message.replace(token, "[redacted]")
    return message[:200] or response.reason or "no message"


_ERROR_BODY_MAX = 1 << 20
_TAG = re.compile(r"<[^<>]{0,500}>")  # bounded: no backtracking over a hostile body


def _json_message(body: Any) -> str:
    if body is None:
        return ""
    if not isinstance(body, dict):
        return body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    error, message = body.get("error"), body.get("message")
    if isinstance(error, dict) and error.get("message"):
        error = error["message"]
    parts = [_json_message(part) for part in (error, message)]
    return ": ".join(dict.fromkeys(p for p in parts if p)) or json.dumps(body, ensure_ascii=False)


def _printable(text: str) -> str:
    """One line of printable characters: an error body must not forge log lines or carry
    terminal escapes."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())
