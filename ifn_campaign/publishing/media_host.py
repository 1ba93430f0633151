"""Where Instagram and Facebook fetch our cards from: they take an `image_url`, not the bytes.

Production serves `cards.cache_dir` at `publish.media_base_url` (any static web server or a CDN
bucket synced from that folder; files are content-addressed, so they never change once written).
The demo and the tests use `MediaHost`, a static server on loopback that the sandboxes fetch from.
"""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ifn_campaign.errors import MediaHostError


def public_url(base_url: str, root: Path, path: Path) -> str:
    """The URL a platform fetches `path` from, given that `root` is served at `base_url`."""
    try:
        relative = path.resolve().relative_to(root.resolve())
    except ValueError:
        raise MediaHostError(
            f"{path} is not inside the served folder {root}: cards must be drawn into "
            "cards.cache_dir to be published"
        ) from None
    return base_url.rstrip("/") + "/" + quote(relative.as_posix())


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def list_directory(self, path: Any) -> None:  # never list the folder
        self.send_error(404)
        return None


class MediaHost:
    """A read-only static server for one folder on 127.0.0.1 (a free port unless given)."""

    def __init__(self, root: Path, port: int = 0) -> None:
        self.root = root
        handler = functools.partial(_Quiet, directory=str(root))
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> MediaHost:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> MediaHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
