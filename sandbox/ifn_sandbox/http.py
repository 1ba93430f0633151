"""What every local sandbox shares: a loopback HTTP server, fault injection, a log of every call.

A sandbox is a `Sandbox` subclass that answers `Request`s with `Response`s in `_route`; this
module owns the socket, so faults can delay an answer, replace it with an error, drop the
connection (optionally after reading only part of the request body, as an upload cut mid-way),
cut the answer's body short, send the answer a byte at a time, or send a body of any size.
The registry, Graph API and YouTube sandboxes all use it.

```python
with SomeSandbox() as sandbox:                        # binds 127.0.0.1 on a free port
    sandbox.faults.add(Fault("/v25.0/", "status", status=503))
    requests.get(f"{sandbox.url}/v25.0/me")           # -> 503 with the platform's error body
    sandbox.advance(3600)                             # the sandbox clock, not the wall clock
    [r.path for r in sandbox.requests]                # every call, with headers, body, status
```

Faults are matched by path prefix, in the order added; `Fault.from_dict` reads one from JSON
(the `/_sandbox/faults` control endpoint and the CLI).
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "Clock",
    "Fault",
    "FaultKind",
    "FaultList",
    "Headers",
    "Request",
    "RequestLog",
    "RequestRecord",
    "Response",
    "Sandbox",
    "json_response",
]

FaultKind = Literal["slow", "status", "drop", "truncate", "drip", "huge"]
_FAULT_KINDS = ("slow", "status", "drop", "truncate", "drip", "huge")
Clock = Callable[[], datetime]
"""What a sandbox asks for the time: an aware datetime (naive ones are taken as UTC)."""


# --- faults -----------------------------------------------------------------------------------


@dataclass
class Fault:
    """One injected failure for requests whose path starts with `path`.

    Kinds: `slow` waits `delay` seconds, then answers normally; `status` answers `status`
    with the sandbox's own error body for it, or with `body` (any JSON) when given, or with
    `text` as it is (a proxy's HTML page, a cut JSON text), plus `headers` and `Retry-After:
    retry_after`; `content_type` replaces the Content-Type of either (a broken or hostile
    server's answer); `drop` closes the connection without an answer
    (with `body_bytes`, after reading only that many bytes of the request body, which the
    sandbox keeps, like a server whose client died mid-upload); `truncate` answers with half
    the body, then closes; `drip` sends the whole answer (status line, headers, body) one byte
    every `delay` seconds, as a broken or hostile server that never quite stops; `huge`
    answers 200 with a JSON body of `size` bytes, made as it is sent (with a Content-Length
    unless `declare` is false: then the body ends when the connection closes).

    `method` (e.g. "PUT") narrows it to requests with that method. `after` matching requests
    pass untouched first, then the fault fires `times` times (0 or None: forever). `seen` and
    `fired` count what happened, for assertions.
    """

    path: str
    kind: FaultKind
    status: int = 500
    delay: float = 1.0
    retry_after: int | float | str | None = None
    times: int | None = 1
    after: int = 0
    body: Any = None
    headers: dict[str, str] | None = None
    body_bytes: int | None = None
    method: str | None = None
    text: str | None = None
    content_type: str | None = None
    size: int = 64 * 1024 * 1024
    declare: bool = True
    seen: int = field(default=0, init=False, compare=False)
    fired: int = field(default=0, init=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in _FAULT_KINDS:
            raise ValueError(
                f"fault kind must be one of {', '.join(_FAULT_KINDS)}, not {self.kind!r}"
            )
        if not isinstance(self.path, str) or not self.path.startswith("/"):
            raise ValueError(f"fault path must start with '/', not {self.path!r}")
        if not isinstance(self.status, int) or not 200 <= self.status <= 599:
            raise ValueError(f"fault status must be an HTTP status 200..599, not {self.status!r}")
        if not isinstance(self.delay, int | float) or self.delay < 0:
            raise ValueError(f"fault delay must be a number of seconds >= 0, not {self.delay!r}")
        if self.times is not None and (not isinstance(self.times, int) or self.times < 0):
            raise ValueError(f"fault times must be an int >= 0 or None, not {self.times!r}")
        if not isinstance(self.after, int) or self.after < 0:
            raise ValueError(f"fault after must be an int >= 0, not {self.after!r}")
        if self.body is not None:
            try:
                json.dumps(self.body)
            except (TypeError, ValueError):
                raise ValueError("fault body must be JSON-serialisable") from None
        if self.headers is not None and not (
            isinstance(self.headers, dict)
            and all(
                isinstance(k, str) and isinstance(v, str) and not _has_newline(k + v)
                for k, v in self.headers.items()
            )
        ):
            raise ValueError("fault headers must map header names to one-line strings")
        if self.method is not None and (
            not isinstance(self.method, str) or not self.method.isalpha()
        ):
            raise ValueError(f"fault method must be an HTTP method like 'PUT', not {self.method!r}")
        if self.text is not None and (not isinstance(self.text, str) or self.body is not None):
            raise ValueError("fault text must be a string, and not given with body")
        if self.content_type is not None and (
            not isinstance(self.content_type, str) or _has_newline(self.content_type)
        ):
            raise ValueError("fault content_type must be a one-line string")
        if not isinstance(self.size, int) or isinstance(self.size, bool) or self.size < 16:
            raise ValueError(f"fault size must be a number of bytes >= 16, not {self.size!r}")
        if not isinstance(self.declare, bool):
            raise ValueError(f"fault declare must be true or false, not {self.declare!r}")
        if self.body_bytes is not None:
            if self.kind != "drop":
                raise ValueError("fault body_bytes only goes with kind 'drop'")
            if not isinstance(self.body_bytes, int) or self.body_bytes < 0:
                raise ValueError(f"fault body_bytes must be an int >= 0, not {self.body_bytes!r}")

    @classmethod
    def from_dict(cls, data: Any) -> Fault:
        """A fault from JSON (the control endpoint); unknown keys are refused, not ignored."""
        if not isinstance(data, dict):
            raise ValueError("a fault is a JSON object")
        allowed = {f.name for f in fields(cls) if f.init}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(str(exc)) from None

    @property
    def exhausted(self) -> bool:
        """True once it has fired as often as it should."""
        return bool(self.times) and self.fired >= (self.times or 0)


def _has_newline(text: str) -> bool:
    return "\r" in text or "\n" in text


class FaultList:
    """The faults of one sandbox, checked in order; the first that fires answers the request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        """Append a fault and return it (to assert on its counters later)."""
        if not isinstance(fault, Fault):
            raise TypeError("FaultList.add takes a Fault")
        with self._lock:
            self._faults.append(fault)
        return fault

    def extend(self, faults: Iterable[Fault]) -> None:
        """Append several faults."""
        for fault in faults:
            self.add(fault)

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def __iter__(self) -> Iterator[Fault]:
        with self._lock:
            return iter(list(self._faults))

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

    def __getitem__(self, index: int) -> Fault:
        with self._lock:
            return self._faults[index]

    def match(self, path: str, method: str | None = None) -> Fault | None:
        """The fault that fires for this request, counting it, or None."""
        with self._lock:
            for fault in self._faults:
                if not path.startswith(fault.path) or fault.exhausted:
                    continue
                if fault.method is not None and fault.method.upper() != (method or "").upper():
                    continue
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                fault.fired += 1
                return fault
        return None


# --- requests and the request log -------------------------------------------------------------


class Headers(dict[str, str]):
    """Request headers with case-insensitive lookup, as HTTP means them."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__()
        for name, value in items:
            self[name.lower()] = value

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        """Case-insensitive `dict.get`."""
        return super().get(name.lower(), default)


@dataclass
class RequestRecord:
    """One request the sandbox received (control endpoints excluded).

    `body` is what arrived (part of it for a `drop` fault with `body_bytes`); `status` is the
    answer's HTTP status, or None while it is being answered or when the connection was dropped.
    """

    method: str
    path: str
    query: str
    headers: Headers
    at: float
    body: bytes = b""
    status: int | None = None
    done_at: float | None = None  # when the answer was ready (None: dropped or still running)

    @property
    def params(self) -> dict[str, str]:
        """The query parameters, first value of each."""
        return {k: v[0] for k, v in parse_qs(self.query, keep_blank_values=True).items()}

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


Request = RequestRecord
"""What a sandbox's `_route` receives: the same object the log keeps."""


class RequestLog:
    """Thread-safe list of `RequestRecord`s, so tests can assert on what a client sent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        """Record one request."""
        with self._lock:
            self._records.append(record)

    def clear(self) -> None:
        """Forget every request so far."""
        with self._lock:
            self._records.clear()

    def __iter__(self) -> Iterator[RequestRecord]:
        with self._lock:
            return iter(list(self._records))

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def __getitem__(self, index: int) -> RequestRecord:
        with self._lock:
            return self._records[index]

    def matching(self, path_prefix: str, method: str | None = None) -> list[RequestRecord]:
        """The requests whose path starts with `path_prefix` (and with this method, if given)."""
        return [
            r
            for r in self
            if r.path.startswith(path_prefix) and (method is None or r.method == method)
        ]


# --- responses --------------------------------------------------------------------------------


@dataclass
class Response:
    """What a route answers. `gzipped` is an optional faster way to the gzip body."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    is_json: bool = False
    gzipped: Callable[[], bytes] | None = None


def json_response(
    status: int, payload: Any, headers: list[tuple[str, str]] | None = None
) -> Response:
    """A JSON answer (UTF-8; gzipped when the client accepts it)."""
    body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")
    return Response(status, body, list(headers or []), is_json=True)


def _accepts_gzip(header: str | None) -> bool:
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() not in ("gzip", "x-gzip", "*"):
            continue
        q = params.strip().lower()
        if q.startswith("q="):
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
        return True
    return False


# --- the base sandbox -------------------------------------------------------------------------


class Sandbox:
    """A loopback HTTP server with faults, a request log, a lock and a clock.

    Subclasses implement `_route` (and may override the other underscore hooks). The clock is
    `clock()` plus whatever `advance` added, so tests move time without sleeping.
    """

    name: ClassVar[str] = "sandbox"
    max_body: ClassVar[int] = 4 * 1024 * 1024
    """The largest request body accepted (413 above it)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        public_host: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.public_host = public_host
        self.faults = FaultList()
        self.requests = RequestLog()
        self._lock = threading.RLock()
        self._clock: Clock = clock or (lambda: datetime.now(UTC))
        self._offset = timedelta()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> Any:
        """Bind and serve in a daemon thread; returns the sandbox."""
        self._bind()
        assert self._server is not None
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and every open connection."""
        server, self._server = self._server, None
        if server is None:
            return
        if self._thread is not None:
            server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        server.server_close()
        server.close_connections()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _bind(self) -> None:
        if self._server is not None:
            raise RuntimeError("the sandbox is already running")
        self._server = _Server((self.host, self.port), _Handler)
        self._server.sandbox = self
        self.port = self._server.server_address[1]
        self._on_bind()

    @property
    def url(self) -> str:
        """Base URL clients use, e.g. http://127.0.0.1:54321."""
        if not self.port:
            raise RuntimeError("the sandbox has no port until it is started")
        return f"http://{self.public_host or self.host}:{self.port}"

    # time

    def now(self) -> datetime:
        """The sandbox's current time (aware, UTC)."""
        moment = self._clock()
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        with self._lock:
            return moment.astimezone(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        """Move the sandbox clock forward (never back); returns the new time."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

    # hooks for subclasses

    def _on_bind(self) -> None:
        """Called once the port is known."""

    def _route(self, request: Request) -> Response:
        raise NotImplementedError

    def _control(self, method: str, path: str, body: bytes) -> Response:
        """Test-only endpoints under /_sandbox/ (not logged, not subject to faults)."""
        if path == "/_sandbox/faults":
            try:
                payload = json.loads(body) if body else None
            except ValueError:
                return self._status_error(400, "the body is not JSON", None)
            if method == "DELETE":
                self.faults.clear()
                return json_response(200, {"faults": 0})
            if method == "POST":
                items = payload if isinstance(payload, list) else [payload]
                try:
                    added = [Fault.from_dict(item) for item in items]
                except ValueError as exc:
                    return self._status_error(400, str(exc), None)
                self.faults.extend(added)
                return json_response(201, {"added": len(added), "faults": len(self.faults)})
        return self._status_error(404, f"no such control endpoint: {method} {path}", None)

    def _status_error(self, status: int, message: str, request: Request | None) -> Response:
        """This sandbox's error body for a bare status (injected faults, transport errors)."""
        return json_response(status, {"error": {"code": status, "message": message}})

    def _fault_response(self, fault: Fault, request: Request) -> Response:
        """The answer of a `status` fault: its `body` if given, else `_status_error`."""
        headers = list((fault.headers or {}).items())
        if fault.retry_after is not None:
            value = fault.retry_after
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            headers.append(("Retry-After", str(value)))
        if fault.text is not None or fault.content_type is not None:
            if fault.text is not None:
                raw = fault.text.encode("utf-8", "surrogatepass")
            else:
                raw = json.dumps(fault.body, ensure_ascii=False).encode("utf-8", "surrogatepass")
            kind = fault.content_type or "text/html; charset=utf-8"
            return Response(fault.status, raw, [*headers, ("Content-Type", kind)])
        if fault.body is not None:
            return json_response(fault.status, fault.body, headers)
        response = self._status_error(
            fault.status, f"injected fault: status {fault.status}", request
        )
        response.headers.extend(headers)
        return response

    def _partial(self, request: Request) -> None:
        """A request whose connection a `drop` fault cut after `body_bytes` bytes of body."""

    def _finish(self, request: Request, response: Response) -> Response:
        """Last look at every answer (routes and faults alike), e.g. to add usage headers."""
        return response


# --- HTTP -------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    sandbox: Sandbox

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def track(self, conn: socket.socket, *, open_: bool) -> None:
        with self._open_lock:
            (self._open.add if open_ else self._open.discard)(conn)

    def close_connections(self) -> None:
        """Idle keep-alive connections would otherwise hold handler threads after stop()."""
        with self._open_lock:
            conns, self._open = list(self._open), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ifn-sandbox/1"
    sys_version = ""
    timeout = 60  # idle keep-alive connections end eventually
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, open_=True)

    def finish(self) -> None:
        self.server.track(self.connection, open_=False)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: a test run would drown in one line per request."""

    def version_string(self) -> str:
        return f"ifn-{self.server.sandbox.name}/1"

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self) -> None:
        sandbox = self.server.sandbox
        split = urlsplit(self.path)
        path, query = split.path, split.query
        if path.startswith("/_sandbox/"):
            body = self._read_body(None)
            if body is not None:
                self._send(self._safely(lambda: sandbox._control(self.command, path, body), None))
            return
        fault = sandbox.faults.match(path, self.command)
        partial = fault is not None and fault.kind == "drop" and fault.body_bytes is not None
        body = self._read_body(fault.body_bytes if partial and fault is not None else None)
        if body is None:
            return
        request = RequestRecord(
            self.command, path, query, Headers(self.headers.items()), time.time(), body
        )
        sandbox.requests.append(request)
        if fault is not None and fault.kind == "drop":
            if partial:
                with contextlib.suppress(Exception):
                    sandbox._partial(request)
            self._drop()
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        if fault is not None and fault.kind == "huge":
            request.status = 200
            self._send_huge(fault.size, declare=fault.declare)
            return
        if fault is not None and fault.kind == "status":
            response = self._safely(lambda: sandbox._fault_response(fault, request), request)
        else:
            response = self._safely(lambda: sandbox._route(request), request)
        response = self._safely(lambda: sandbox._finish(request, response), request)
        request.status = response.status
        request.done_at = time.time()
        if fault is not None and fault.kind == "drip":
            self._drip(response, fault.delay)
            return
        self._send(response, truncate=fault is not None and fault.kind == "truncate")

    def _safely(self, route: Callable[[], Response], request: Request | None) -> Response:
        try:
            return route()
        except Exception as exc:  # the sandbox must answer, whatever the data holds
            message = f"sandbox error: {type(exc).__name__}: {exc}"
            try:
                return self.server.sandbox._status_error(500, message, request)
            except Exception:
                return Sandbox._status_error(self.server.sandbox, 500, message, request)

    def _read_body(self, at_most: int | None) -> bytes | None:
        """The request body; None when an error was already sent. `at_most`: read only so much."""
        length_text = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            self._send(self.server.sandbox._status_error(411, "send a Content-Length", None))
            self.close_connection = True
            return None
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            length = -1
        if not 0 <= length <= self.server.sandbox.max_body:
            self.close_connection = True
            self._send(
                self.server.sandbox._status_error(
                    413, "request body too large or Content-Length invalid", None
                )
            )
            return None
        if at_most is not None:
            length = min(length, at_most)
        chunks = []
        while length > 0:
            try:
                chunk = self.rfile.read(min(length, 1 << 16))
            except OSError:
                chunk = b""
            if not chunk:
                break
            chunks.append(chunk)
            length -= len(chunk)
        return b"".join(chunks)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _drip(self, response: Response, every: float) -> None:
        """The answer one byte every `every` seconds, until it is all sent, the client goes
        or the sandbox stops; then the connection is closed."""
        self.close_connection = True
        lines = [f"HTTP/1.1 {response.status} {self.responses.get(response.status, ('',))[0]}"]
        headers = list(response.headers)
        if response.is_json:
            headers.append(("Content-Type", "application/json; charset=utf-8"))
        headers += [("Content-Length", str(len(response.body))), ("Connection", "close")]
        lines += [f"{name}: {value}" for name, value in headers]
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + response.body
        try:
            for i in range(len(raw)):
                if self.server.sandbox._server is None:
                    break
                self.wfile.write(raw[i : i + 1])
                self.wfile.flush()
                time.sleep(every)
        except OSError:
            pass
        self._drop()

    def _send_huge(self, size: int, *, declare: bool) -> None:
        """200 with a JSON object of `size` bytes, made while it is sent (never held whole)."""
        self.close_connection = True
        head, tail = b'{"data": [], "padding": "', b'"}'
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            if declare:
                self.send_header("Content-Length", str(size))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(head)
            left = size - len(head) - len(tail)
            block = b"x" * (1 << 16)
            while left > 0 and self.server.sandbox._server is not None:
                piece = block[: min(left, len(block))]
                self.wfile.write(piece)
                left -= len(piece)
            self.wfile.write(tail)
        except OSError:
            pass
        self._drop()

    def _send(self, response: Response, *, truncate: bool = False) -> None:
        body = response.body
        headers = list(response.headers)
        if response.is_json:
            headers.append(("Content-Type", "application/json; charset=utf-8"))
            headers.append(("Vary", "Accept-Encoding"))
            if body and _accepts_gzip(self.headers.get("Accept-Encoding")):
                if response.gzipped is not None:
                    body = response.gzipped()
                else:
                    body = gzip.compress(body, compresslevel=1, mtime=0)
                headers.append(("Content-Encoding", "gzip"))
        try:
            self.send_response(response.status)
            for name, value in headers:
                self.send_header(name, value)
            if response.status != 304:
                self.send_header("Content-Length", str(len(body)))
            if truncate:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and response.status != 304:
                self.wfile.write(body[: len(body) // 2] if truncate else body)
        except OSError:
            self.close_connection = True
            return
        if truncate:
            self._drop()
