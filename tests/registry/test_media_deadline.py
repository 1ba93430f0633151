"""Issue 14 item 9, review: `media.fetch_deadline` bounds the whole fetch, also a redirect hop
whose connection is still being set up when the deadline passes (the watchdog only cuts sockets
that are waiting for an answer)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ifn_campaign.config import MediaSettings
from ifn_campaign.errors import MediaRefused
from ifn_campaign.registry.media import MediaFetcher


@contextlib.contextmanager
def unanswered_connects() -> Iterator[int]:
    """A port whose accept queue is full, so a new connection hangs in its handshake (the SYN
    is dropped), like a host that swallows packets."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


@contextlib.contextmanager
def late_redirect(to: str, after: float) -> Iterator[int]:
    """A host that answers every request with a redirect to `to`, `after` seconds late."""
    listener = socket.create_server(("127.0.0.1", 0))

    def answer(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.recv(65536)
            time.sleep(after)
            conn.sendall(
                f"HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\n\r\n".encode()
            )

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def test_a_redirect_to_a_host_that_never_completes_the_handshake_ends_at_the_deadline(
    tmp_path: Path,
) -> None:
    """The first hop answers just before the deadline; the next hop's connect must not add a
    whole `media.connect_timeout` after it (it did: 0.5 + 3 s for a 0.8 s deadline)."""
    with unanswered_connects() as dead, late_redirect(f"http://127.0.0.1:{dead}/x", 0.5) as port:
        settings = MediaSettings(
            dir=tmp_path / "media",
            allow_hosts=[f"127.0.0.1:{port}", f"127.0.0.1:{dead}"],
            connect_timeout=3.0,
            read_timeout=5.0,
            fetch_deadline=0.8,
        )
        with MediaFetcher(settings) as fetcher:
            started = time.monotonic()
            with pytest.raises(MediaRefused) as refused:
                fetcher.fetch(f"http://127.0.0.1:{port}/logo.png")
            elapsed = time.monotonic() - started
    assert refused.value.reason == "timeout"
    assert elapsed < 1.3
