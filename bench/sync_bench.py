"""Sync benchmark: generated registries served by the sandbox in another process.

For each registry size it measures, in this process:
- baseline: paging through the registry with the client and discarding the records (the floor
  set by HTTP and JSON alone);
- full sync (profiles only, then with media) into a fresh SQLite database;
- no-change re-sync (the nightly case), whose goal is 10,000 members in under 10 s;
- peak Python memory (tracemalloc) of each, which must not grow with the registry size.

Run: `make bench`, or with other sizes:
`.venv/bin/python bench/sync_bench.py --sizes 2500 10000 --media-members 2000`.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine

from ifn_campaign import store
from ifn_campaign.config import MediaSettings, RegistrySettings
from ifn_campaign.media import MediaFetcher
from ifn_campaign.registry.client import RegistryClient
from ifn_campaign.sync import sync_members


@contextmanager
def served(n: int) -> Iterator[str]:
    """A generated registry of n members in a separate process, so it does not skew our memory."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "ifn_campaign.cli", "sandbox", "registry"),
            *("--port", str(port), "--generated", str(n)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                requests.get(f"{url}/api/v1/members?limit=1", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def peak_mib(fn: Callable[[], Any]) -> float:
    """Peak MiB of Python allocations while running fn (tracemalloc slows it, so not timed)."""
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def bench_size(n: int, media_members: int, workdir: Path) -> list[tuple[str, int, float, float]]:
    rows: list[tuple[str, int, float, float]] = []
    with served(n) as url:
        settings = RegistrySettings(base_url=url, page_size=500)

        def page_only() -> int:
            with RegistryClient(settings) as client:
                return sum(len(p.records) for p in client.pages())

        seconds, count = timed(page_only)
        assert count == n
        rows.append(("baseline: page through registry", n, seconds, peak_mib(page_only)))

        def fresh(name: str) -> Engine:
            engine = store.make_engine(f"sqlite:///{workdir / f'{name}-{n}.db'}")
            store.upgrade(engine)
            return engine

        def sync(engine: Engine, full: bool) -> Any:
            with RegistryClient(settings) as client:
                return sync_members(engine, client, None, full=full)

        timing, memory = fresh("timing"), fresh("memory")
        seconds, result = timed(lambda: sync(timing, True))
        assert result.run.new == n, result.counts()
        peak = peak_mib(lambda: sync(memory, True))
        rows.append(("full sync, profiles only", n, seconds, peak))
        seconds, result = timed(lambda: sync(timing, True))
        assert result.run.unchanged == n, result.counts()
        peak = peak_mib(lambda: sync(memory, True))
        rows.append(("no-change re-sync (full)", n, seconds, peak))
        seconds, result = timed(lambda: sync(timing, False))
        peak = peak_mib(lambda: sync(memory, False))
        rows.append(("no-change re-sync (incremental)", result.run.unchanged, seconds, peak))
        timing.dispose()
        memory.dispose()

    if media_members:
        with served(media_members) as url:
            db = f"sqlite:///{workdir / f'bench-media-{media_members}.db'}"
            engine = store.make_engine(db)
            store.upgrade(engine)
            media = MediaSettings(dir=workdir / "media", allow_hosts=[url.removeprefix("http://")])

            def with_media() -> Any:
                settings = RegistrySettings(base_url=url, page_size=500)
                with RegistryClient(settings) as client, MediaFetcher(media) as fetcher:
                    return sync_members(engine, client, fetcher, full=True)

            seconds, result = timed(with_media)
            fetches = result.run.media_fetched + result.run.media_reused
            rows.append((f"full sync with media ({fetches} fetches)", media_members, seconds, -1))
            engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2500, 10000])
    parser.add_argument("--media-members", type=int, default=2000)
    args = parser.parse_args()
    print(f"# sync benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    cpu = platform.processor() or platform.machine()
    print(f"# {platform.node()}: {cpu}, {os.cpu_count()} cores,")
    print(
        f"# Python {platform.python_version()}, SQLite file database, sandbox in a second process"
    )
    print()
    print(
        f"| {'what':<44} | {'members':>8} | {'seconds':>8} | {'members/s':>9} | {'peak MiB':>8} |"
    )
    print(f"|{'-' * 46}|{'-' * 10}:|{'-' * 10}:|{'-' * 11}:|{'-' * 10}:|")
    with tempfile.TemporaryDirectory() as tmp:
        for i, n in enumerate(args.sizes):
            media = args.media_members if i == len(args.sizes) - 1 else 0
            for what, count, seconds, peak in bench_size(n, media, Path(tmp)):
                rate = count / seconds if seconds else 0
                mib = f"{peak:.1f}" if peak >= 0 else "-"
                print(f"| {what:<44} | {count:>8} | {seconds:>8.2f} | {rate:>9.0f} | {mib:>8} |")
    print()
    print("goal: no-change re-sync of 10,000 members under 10 s; peak memory flat across sizes")


if __name__ == "__main__":
    main()
