"""Sync benchmark: generated registries served by the sandbox in another process.

For each registry size it measures, in this process:
- baseline: paging through the registry with the client and discarding the records (the floor
  set by HTTP and JSON alone);
- full sync (profiles only, then with media) into a fresh SQLite database;
- no-change re-sync (the nightly case), whose goal is 10,000 members in under 10 s;
- peak Python memory (tracemalloc) of each, which must not grow with the registry size;
- a full sync with media, and a hostile one: a page whose one logo is served 1 byte a second.

Run: `make bench`, or with other sizes and PostgreSQL:
`.venv/bin/python bench/sync_bench.py --sizes 2500 10000 --media-members 2000`,
`.venv/bin/python bench/sync_bench.py --sizes --media-members 10000 --hostile \
--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test`.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from machine import describe as describe_machine
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from ifn_campaign import store
from ifn_campaign.config import MediaSettings, RegistrySettings
from ifn_campaign.registry.client import RegistryClient
from ifn_campaign.registry.media import MediaFetcher
from ifn_campaign.registry.sync import sync_members


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of process `pid` so far (Linux /proc), or 0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def served(n: int, pids: list[int] | None = None) -> Iterator[str]:
    """A generated registry of n members in a separate process, so it does not skew our memory.
    Its process id is appended to `pids`, to read the CPU it spends serving."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "ifn_campaign.cli.app", "sandbox", "registry"),
            *("--port", str(port), "--generated", str(n)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if pids is not None:
        pids.append(proc.pid)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                requests.get(f"{url}/api/v1/members?limit=1", timeout=30)
                break
            except requests.RequestException:  # not listening yet, or busy drawing the data
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def database(base_url: str | None, workdir: Path, name: str) -> Iterator[Engine]:
    """A fresh migrated database: a SQLite file, or a new schema on `base_url` (dropped after)."""
    if base_url is None:
        engine = store.make_engine(f"sqlite:///{workdir / f'{name}.db'}")
        store.upgrade(engine)
        yield engine
        engine.dispose()
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = store.make_engine(url.render_as_string(hide_password=False))
    try:
        store.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def trickling() -> Iterator[str]:
    """An image server that sends its headers, then one body byte a second (a hostile host)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def drip(conn: socket.socket) -> None:
        with conn, suppress(OSError):
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n")
            conn.sendall(b"Content-Length: 1000000\r\n\r\n")
            for _ in range(600):
                if stop.wait(1.0):
                    return
                conn.sendall(b"\xff")

    def accept() -> None:
        with suppress(OSError):
            while not stop.is_set():
                conn, _ = server.accept()
                threading.Thread(target=drip, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        server.close()


def _unique(data: bytes, index: int) -> bytes:
    """`data` (a JPEG or PNG) made unique by a comment holding `index`: same pixels, so the
    same decode work as a distinct picture of that size, but a SHA-256 of its own."""
    text = f"ifn-bench {index}".encode()
    if data.startswith(b"\xff\xd8"):  # JPEG: a COM segment right after SOI
        return data[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + data[2:]
    chunk = b"tEXt" + b"Comment\x00" + text  # PNG: a text chunk right after IHDR
    body = len(chunk[4:]).to_bytes(4, "big") + chunk + zlib.crc32(chunk).to_bytes(4, "big")
    return data[:33] + body + data[33:]


def serve_unique_images(port: int, registry: str) -> None:
    """Serve /u/{index}/{name}: the registry sandbox's image `name` (its /media/{name}, read
    once) made unique by `index`."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    files: dict[str, tuple[bytes, str]] = {}

    def image(name: str) -> tuple[bytes, str]:
        if name not in files:
            got = requests.get(f"{registry}/media/{name}", timeout=30)
            got.raise_for_status()
            files[name] = (got.content, got.headers["Content-Type"])
        return files[name]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()  # headers and body are two writes: no Nagle wait between them
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            _, _, index, name = self.path.split("/", 3)
            data, content_type = image(name)
            body = _unique(data, int(index))
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # the fetcher's workers connect at once (the default is 5)
        daemon_threads = True

    Server(("127.0.0.1", port), Handler).serve_forever()


@contextmanager
def unique_media(registry: str, pids: list[int]) -> Iterator[str]:
    """Give every member of the served registry its own logo and photos (unique bytes, served
    by another process, whose id is appended to `pids`), as a real registry's photos are;
    yields that server's host:port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-unique-images", str(port), "--images-from", registry],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pids.append(proc.pid)
    images = f"http://127.0.0.1:{port}/u"
    try:
        with requests.Session() as http:
            cursor: str | None = None
            index = 0
            while True:
                params: dict[str, Any] = {"limit": 500} | ({"cursor": cursor} if cursor else {})
                page = http.get(f"{registry}/api/v1/members", params=params, timeout=30).json()
                for member in page["data"]:
                    name = member["logo_url"].rsplit("/", 1)[-1]
                    index += 1
                    member["logo_url"] = f"{images}/{index}/{name}"
                    for photo in member.get("photos") or []:
                        index += 1
                        photo["url"] = f"{images}/{index}/{photo['url'].rsplit('/', 1)[-1]}"
                    http.post(f"{registry}/_sandbox/members", json=member, timeout=30)
                cursor = page.get("next_cursor")
                if not cursor:
                    break
            for _ in range(600):  # until it listens
                with suppress(requests.RequestException):
                    http.get(f"{images}/0/gen-logo-0.png", timeout=30).raise_for_status()
                    break
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
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


def _profile_rows(
    n: int, sync: Callable[[Engine, bool], Any], timing: Engine, memory: Engine
) -> list[tuple[str, int, float, float]]:
    rows: list[tuple[str, int, float, float]] = []
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
    return rows


def bench_size(
    n: int, media_members: int, db_url: str | None, workdir: Path, unique: bool = False
) -> list[tuple[str, int, float, float]]:
    rows: list[tuple[str, int, float, float]] = []
    if n:
        with served(n) as url:
            settings = RegistrySettings(base_url=url, page_size=500)

            def page_only() -> int:
                with RegistryClient(settings) as client:
                    return sum(len(p.records) for p in client.pages())

            seconds, count = timed(page_only)
            assert count == n
            rows.append(("baseline: page through registry", n, seconds, peak_mib(page_only)))

            def sync(engine: Engine, full: bool) -> Any:
                with RegistryClient(settings) as client:
                    return sync_members(engine, client, None, full=full)

            with (
                database(db_url, workdir, f"timing-{n}") as timing,
                database(db_url, workdir, f"memory-{n}") as memory,
            ):
                rows += _profile_rows(n, sync, timing, memory)

    if media_members:
        pids: list[int] = []
        with (
            served(media_members, pids) as url,
            database(db_url, workdir, "media") as engine,
            unique_media(url, pids) if unique else nullcontext(None) as images,
        ):
            hosts = [url.removeprefix("http://"), *([images] if images else [])]
            media = MediaSettings(dir=workdir / "media", allow_hosts=hosts)

            def with_media() -> Any:
                settings = RegistrySettings(base_url=url, page_size=500)
                with RegistryClient(settings) as client, MediaFetcher(media) as fetcher:
                    return sync_members(engine, client, fetcher, full=True)

            cpu, served_cpu = time.process_time(), sum(map(cpu_seconds, pids))
            seconds, result = timed(with_media)
            cpu = time.process_time() - cpu
            served_cpu = sum(map(cpu_seconds, pids)) - served_cpu
            fetches = result.run.media_fetched + result.run.media_reused
            kind = "unique media" if unique else "media"
            what = f"full sync with {kind} ({fetches} fetches, {cpu:.0f} s CPU)"
            print(
                f"# servers' CPU during the sync with media: {served_cpu:.1f} s, "
                f"{result.run.media_refused} refused",
                flush=True,
            )
            rows.append((what, media_members, seconds, -1))
    return rows


def bench_hostile(n: int, db_url: str | None, workdir: Path) -> list[tuple[str, int, float, float]]:
    """One page of `n` members, one of whose logos trickles in at 1 byte a second.

    Rows: the time until the page (members and media rows) was committed, and the whole sync.
    """
    with served(n) as url, trickling() as slow, database(db_url, workdir, "hostile") as engine:
        member = requests.get(f"{url}/api/v1/members/gen-000001", timeout=10).json()
        member["logo_url"] = f"http://{slow}/logo.jpg"
        requests.post(f"{url}/_sandbox/members", json=member, timeout=10).raise_for_status()
        host = url.removeprefix("http://")
        media = MediaSettings(dir=workdir / "hostile-media", allow_hosts=[host, slow])
        committed: list[float] = []
        started = time.perf_counter()

        def page_done(*_: Any) -> None:
            committed.append(time.perf_counter() - started)

        with (
            RegistryClient(RegistrySettings(base_url=url, page_size=500)) as client,
            MediaFetcher(media) as fetcher,
        ):
            result = sync_members(engine, client, fetcher, full=True, progress=page_done)
        seconds = time.perf_counter() - started
        refused = result.run.media_refused
    return [
        ("hostile: page committed (1 logo at 1 B/s)", n, committed[0], -1),
        (f"hostile: whole sync ({refused} refused)", n, seconds, -1),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[2500, 10000])
    parser.add_argument("--media-members", type=int, default=2000)
    parser.add_argument(
        "--hostile", type=int, default=0, metavar="N", help="also a page of N with a 1 B/s logo"
    )
    parser.add_argument(
        "--database-url", help="a PostgreSQL URL (a fresh schema each); default: SQLite files"
    )
    parser.add_argument(
        "--unique-media",
        action="store_true",
        help="the media sync with unique image bytes per logo and photo (default: 4 shared images)",
    )
    parser.add_argument("--serve-unique-images", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--images-from", help=argparse.SUPPRESS)  # the registry sandbox's URL
    args = parser.parse_args()
    if args.serve_unique_images:
        serve_unique_images(args.serve_unique_images, args.images_from)
        return
    db_url = args.database_url
    print(f"# sync benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"# {describe_machine()},")
    print(
        f"# Python {platform.python_version()}, "
        f"{'PostgreSQL' if db_url else 'SQLite file'} database, sandbox in a second process"
    )
    print(f"# load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print()
    print(
        f"| {'what':<44} | {'members':>8} | {'seconds':>8} | {'members/s':>9} | {'peak MiB':>8} |"
    )
    print(f"|{'-' * 46}|{'-' * 10}:|{'-' * 10}:|{'-' * 11}:|{'-' * 10}:|")
    with tempfile.TemporaryDirectory() as tmp:
        runs: list[Callable[[], list[tuple[str, int, float, float]]]] = [
            lambda n=n: bench_size(n, 0, db_url, Path(tmp)) for n in args.sizes
        ]
        if args.media_members:
            runs.append(
                lambda: bench_size(0, args.media_members, db_url, Path(tmp), args.unique_media)
            )
        if args.hostile:
            runs.append(lambda: bench_hostile(args.hostile, db_url, Path(tmp)))
        for run in runs:
            for what, count, seconds, peak in run():
                rate = count / seconds if seconds else 0
                mib = f"{peak:.1f}" if peak >= 0 else "-"
                print(
                    f"| {what:<44} | {count:>8} | {seconds:>8.2f} | {rate:>9.0f} | {mib:>8} |",
                    flush=True,
                )
    print(f"# load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print()
    print("goal: no-change re-sync of 10,000 members under 10 s; peak memory flat across sizes")


if __name__ == "__main__":
    main()
