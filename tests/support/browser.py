"""Debian's chromium under Playwright for the page checks (the report, the preview sheet, the
docs site): never a downloaded browser build, never `playwright install`."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pings",
    "--dns-prefetch-disable",
    # no host name resolves: nothing chromium does on its own (updates, prefetch, safe browsing)
    # can reach a server, whatever the route guard sees; the tests' pages use file:// only
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's chromium under Playwright; missing either fails (IFN_BROWSER_TESTS=0 skips)."""
    if os.environ.get("IFN_BROWSER_TESTS") == "0":
        pytest.skip("IFN_BROWSER_TESTS=0: the browser checks are turned off on this machine")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "playwright is not installed: `make test` installs the dev extra (the Python "
            "package only; it drives Debian's chromium, no browser download)"
        )
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "chromium is not installed: `apt-get install -y chromium` (Debian's package; "
            "`make test` installs it), or set IFN_BROWSER_TESTS=0 to skip the browser checks"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            launched.close()
