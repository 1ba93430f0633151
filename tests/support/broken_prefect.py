"""A Prefect server that answers badly, on loopback: the one stand-in the orchestration and
publishing tests use for a server that fails (HTTP 5xx), lacks an API (404) or is in maintenance."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def broken_prefect_server(
    status: int,
    body: bytes = b"{}",
    *,
    healthy: bool = True,
    headers: dict[str, str] | None = None,
    delay: float = 0.0,
) -> Iterator[str]:
    """Its API URL for the block: `/health` answers `true` when `healthy`, every other request
    (any method) gets `status` with `body` and `headers`, after `delay` seconds (a slow one)."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            ok = healthy and self.path.endswith("/health")
            if not ok and delay:
                time.sleep(delay)
            answer = b"true" if ok else body
            self.send_response(200 if ok else status)
            for name, value in ({} if ok else headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = do_PATCH = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/api"
    finally:
        server.shutdown()
        server.server_close()
