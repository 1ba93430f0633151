"""The staff console served for real (uvicorn on 127.0.0.1, a free port, in a thread) for the
browser tests: the same app `ifn-campaign console` serves, on the settings given."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import uvicorn

from ifn_campaign.config import Settings
from ifn_campaign.console.app import create_app
from ifn_campaign.models import utcnow
from ifn_campaign.wiring import Resources


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served_console(settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> Iterator[str]:
    """The console's base URL (http://127.0.0.1:PORT) while the block runs."""
    with Resources(settings) as resources:
        app = create_app(resources, clock=clock)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=_free_port(), log_level="warning", proxy_headers=False
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="console", daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the console did not start")
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{config.port}"
        finally:
            server.should_exit = True
            thread.join(timeout=15)
