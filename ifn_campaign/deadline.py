"""One whole-call deadline and one size cap for every HTTP answer we read.

A socket timeout bounds each read, not the answer: a server sending one byte just inside every
read timeout holds a call (and the sync, publish or insights run around it) for hours, and a
body read whole into memory is as big as the server likes. So each call runs under a
`Watchdog` that shuts its sockets down once the deadline passes (one `Deadlines` thread fires
them all), and its body is streamed and refused past a cap, decoded bytes counted, so a
gzip bomb is bounded too. The media fetcher (`registry.media`) and the JSON clients (Graph,
YouTube, Google's token endpoints, the registry) share this mechanism.

```python
session = watched_session()                            # requests.Session whose sockets we cut
limits = AnswerLimits(60.0, 8 << 20, deadline_setting="graph_deadline",
                      max_bytes_setting="json_max_bytes")
response = send(session, "GET", url, limits=limits, timeout=(5, 30))   # body read, capped
```

`send` raises `DeadlinePassed` or `AnswerTooLarge` (messages name the host, the limit and the
setting); each client turns them into its own network-failure error.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = [
    "AnswerLimits",
    "AnswerTooLarge",
    "DeadlinePassed",
    "Deadlines",
    "LimitPassed",
    "Watchdog",
    "Watched",
    "send",
    "watched_session",
]

_WATCH = threading.local()  # the running call's Watchdog, per thread
_CHUNK = 64 * 1024


class Watchdog:
    """Shuts down the sockets of one call once its deadline passes.

    Entered around the call: every socket the call opens (`Watched` connections) or reuses is
    registered with it, so nothing the call waits on outlives the deadline.
    """

    def __init__(self, at: float, deadlines: Deadlines) -> None:
        self.at = at  # time.monotonic() at which the call is cut
        self._deadlines = deadlines
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._outer: Watchdog | None = None
        self.done = False
        self.fired = False

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if self.fired:
                _shutdown(sock)
            elif not self.done:
                self._socks.append(sock)

    def fire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.fired = True
            for sock in self._socks:
                _shutdown(sock)

    def __enter__(self) -> Watchdog:
        self._outer = getattr(_WATCH, "current", None)
        _WATCH.current = self
        self._deadlines.add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _WATCH.current = self._outer
        with self._lock:
            self.done = True
            self._socks.clear()


class Deadlines:
    """One thread fires the watchdogs whose deadline has passed.

    A `threading.Timer` per call started a thread per call (about 0.4 ms of CPU each). The
    thread ends once no running call is left to cut and either `close` was called or it has
    waited `linger` seconds for a new one; the next call starts it again.
    """

    def __init__(self, *, linger: float = 30.0, name: str = "http-deadlines") -> None:
        self.linger = linger
        self.name = name
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Watchdog]] = []
        self._order = itertools.count()  # ties never compare watchdogs
        self._thread: threading.Thread | None = None
        self._closing = False

    def add(self, watchdog: Watchdog) -> None:
        with self._cond:
            self._closing = False
            heapq.heappush(self._heap, (watchdog.at, next(self._order), watchdog))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name)
                self._thread.daemon = True
                self._thread.start()
            elif self._heap[0][2] is watchdog:  # earlier than the one the thread waits for
                self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)  # ended in time
                if not self._heap:
                    if self._closing or (not self._cond.wait(self.linger) and not self._heap):
                        self._thread = None
                        return
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                watchdog = heapq.heappop(self._heap)[2]
            watchdog.fire()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


class Watched:
    """A urllib3 connection whose sockets the running call's `Watchdog` may cut: a new one as
    soon as it is connected (before TLS, so a dripped handshake is cut too), a pooled one when
    it is reused for a request."""

    sock: socket.socket | None

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        watchdog = getattr(_WATCH, "current", None)
        if watchdog is not None:
            watchdog.watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> Any:
        watchdog = getattr(_WATCH, "current", None)
        if watchdog is not None and self.sock is not None:
            watchdog.watch(self.sock)
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(Watched, HTTPSConnection):
    pass


_POOLS = {
    "http": type(
        "WatchedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": _WatchedHTTPConnection}
    ),
    "https": type(
        "WatchedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": _WatchedHTTPSConnection}
    ),
}


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter over pools of `Watched` connections (also through a proxy)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


def watched_session(session: requests.Session | None = None) -> requests.Session:
    """`session` (or a new one) with watched connections for http and https: `send` needs it."""
    session = session or requests.Session()
    adapter = _WatchedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# --- limits and the call -------------------------------------------------------------------


class LimitPassed(Exception):
    """An answer broke a limit; the message names the host, the limit and its setting."""

    def __init__(self, message: str, *, host: str, error: Exception | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.host = host
        self.error = error  # what the transport raised when the watchdog cut it, if anything


class DeadlinePassed(LimitPassed):
    """No whole answer (headers and body) within the deadline: the call was cut."""


class AnswerTooLarge(LimitPassed):
    """The body is over the cap: refused unread (declared) or the rest left unread."""


@dataclass(frozen=True)
class AnswerLimits:
    """A client family's limits and the names of the settings that hold them."""

    deadline: float
    max_bytes: int
    deadline_setting: str
    max_bytes_setting: str

    def late(self, host: str, error: Exception | None = None) -> DeadlinePassed:
        return DeadlinePassed(
            f"{host} sent no whole answer within the {self.deadline:g} s deadline "
            f"({self.deadline_setting}); the call was cut off",
            host=host,
            error=error,
        )

    def too_large(self, host: str, declared: int | None = None) -> AnswerTooLarge:
        if declared is not None:
            said = f"announced an answer of {declared:,} bytes"
        else:
            said = "sent an answer of more than that"
        return AnswerTooLarge(
            f"{host} {said}; at most {self.max_bytes:,} bytes are read "
            f"({self.max_bytes_setting}); refused without reading the rest",
            host=host,
        )


def host_of(url: str) -> str:
    """The host (and port) a URL reaches, for messages: never its path or query."""
    parts = urlsplit(url)
    return parts.netloc.rpartition("@")[2] or url[:60]


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    limits: AnswerLimits,
    deadlines: Deadlines | None = None,
    **kwargs: Any,
) -> requests.Response:
    """`session.request(method, url, **kwargs)` with its body read under `limits`.

    The returned response holds its body (`content`, `json()` work as usual). Transport errors
    are requests' own, except when the deadline cut them: then `DeadlinePassed` (its `error`
    the transport's exception, to tell whether the request can have been sent). `session`
    must come from `watched_session`, or only the reads between chunks are checked.
    """
    host = host_of(url)
    at = time.monotonic() + limits.deadline
    timeout = kwargs.pop("timeout", None)
    if isinstance(timeout, tuple):  # a connect begun late gets only what is left
        timeout = (min(timeout[0], limits.deadline), timeout[1])
    with Watchdog(at, deadlines or _SHARED) as watchdog:
        try:
            response = session.request(method, url, stream=True, timeout=timeout, **kwargs)
        except requests.RequestException as exc:
            if watchdog.fired:
                raise limits.late(host, exc) from None
            raise
        try:
            _read_capped(response, limits, host, watchdog)
        except BaseException:
            response.close()  # a connection with an unread body is not reused
            raise
    return response


def _read_capped(
    response: requests.Response, limits: AnswerLimits, host: str, watchdog: Watchdog
) -> None:
    cap = limits.max_bytes
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > cap:
        raise limits.too_large(host, int(declared))
    buf = bytearray()
    try:
        for chunk in response.iter_content(_CHUNK):
            buf += chunk
            if len(buf) > cap:
                raise limits.too_large(host)
            if time.monotonic() > watchdog.at:
                raise limits.late(host)
    except requests.RequestException as exc:
        if watchdog.fired:
            raise limits.late(host, exc) from None
        raise
    if watchdog.fired:  # a body without a length ends "normally" when the watchdog cuts it
        raise limits.late(host)
    # what requests' own `content` does once it has read the body
    response._content = bytes(buf)
    response._content_consumed = True


_SHARED = Deadlines()
"""The JSON clients' deadlines thread (started on the first call, ended when idle)."""
