"""The safe media fetcher over real HTTP on loopback: what it stores, and every way it refuses.

Refusals are asserted by their exact `reason`, because that code is stored on the member and
decides whether a later sync retries. Addresses that must be refused before connecting are
asserted with a connect spy: conftest would turn a real attempt into "unreachable" anyway.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import socket
import struct
import threading
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from ifn_campaign.config import MediaSettings
from ifn_campaign.errors import MediaRefused
from ifn_campaign.registry.media import (
    FetchedMedia,
    MediaFetcher,
    NotModified,
    _AddressRefused,
    _Guard,
    address_refusal,
    store_path,
)
from ifn_sandbox.http import Fault
from ifn_sandbox.registry import RegistrySandbox

# --- images -------------------------------------------------------------------------------------


def _encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **params)
    return buf.getvalue()


@cache
def _images() -> dict[str, bytes]:
    """Small real images of every kind the tests serve, made once."""
    rgba = Image.new("RGBA", (40, 30), (200, 30, 30, 255))
    rgba.paste((0, 0, 0, 0), (0, 0, 20, 30))  # left half fully transparent
    photo = Image.linear_gradient("L").resize((64, 48)).convert("RGB")
    return {
        "png": _encode(rgba, "PNG"),
        "jpeg": _encode(photo, "JPEG", quality=80),
        "webp": _encode(photo, "WEBP", quality=80),
        "gif": _encode(photo.convert("P"), "GIF"),
        "bmp": _encode(photo, "BMP"),
        "tiff": _encode(photo, "TIFF"),
        "big_jpeg": _encode(Image.effect_noise((256, 256), 64).convert("RGB"), "JPEG", quality=95),
    }


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@cache
def _bomb_png(width: int, height: int) -> bytes:
    """A valid one-colour 1-bit PNG: a few KB that would decode to width x height pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed pixels
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        [_png_chunk(b"IHDR", ihdr), _png_chunk(b"IDAT", idat), _png_chunk(b"IEND", b"")]
    )


SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
SVG_WITH_PROLOGUE = (
    b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?>\n<!-- made by hand -->\n'
    b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "svg11.dtd">\n<SVG viewBox="0 0 1 1"></SVG>'
)
HTML = b"<!doctype html><html><body><h1>Not found</h1><svg></svg></body></html>"

# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RegistrySandbox]:
    """One sandbox for the module (the hypothesis test needs one that outlives its examples)."""
    with RegistrySandbox(members=[]) as sb:
        for kind in ("png", "jpeg", "webp", "gif"):
            sb.add_file(f"image.{kind}", _images()[kind], f"image/{kind}")
        yield sb


@pytest.fixture(autouse=True)
def _fresh_sandbox(request: pytest.FixtureRequest) -> Iterator[None]:
    """Faults and the request log never leak from one test into the next."""
    if "sandbox" not in request.fixturenames:
        yield
        return
    sb: RegistrySandbox = request.getfixturevalue("sandbox")
    sb.faults.clear()
    sb.requests.clear()
    yield
    sb.faults.clear()


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    return tmp_path / "media"


def _host_port(sb: RegistrySandbox) -> str:
    return sb.url.removeprefix("http://")


def _settings(media_dir: Path, allow: list[str], **kw: Any) -> MediaSettings:
    """Short timeouts so every failure test stays well under a second."""
    values: dict[str, Any] = {"connect_timeout": 1.0, "read_timeout": 1.0} | kw
    return MediaSettings(dir=media_dir, allow_hosts=allow, **values)


@contextlib.contextmanager
def _fetcher(sb: RegistrySandbox, media_dir: Path, **kw: Any) -> Iterator[MediaFetcher]:
    with MediaFetcher(_settings(media_dir, [_host_port(sb)], **kw)) as fetcher:
        yield fetcher


def _stored(media_dir: Path) -> list[Path]:
    """Every file in the store, temporary ones included."""
    return sorted(p for p in media_dir.rglob("*") if p.is_file()) if media_dir.exists() else []


def _refused(fetcher: MediaFetcher, url: str, **kw: Any) -> MediaRefused:
    with pytest.raises(MediaRefused) as info:
        fetcher.fetch(url, **kw)
    assert info.value.url == url
    assert not _stored(fetcher.settings.dir), "a refusal stored something"
    return info.value


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every address a socket tries to connect to during the test."""
    seen: list[str] = []
    original = socket.socket.connect

    def spy(self: socket.socket, address: Any) -> Any:
        seen.append(str(address[0]) if isinstance(address, tuple) else str(address))
        return original(self, address)

    monkeypatch.setattr(socket.socket, "connect", spy)
    return seen


class RawServer:
    """A loopback server whose `handler(server, conn)` writes raw bytes after the request head:
    for what the sandbox cannot do (no Content-Length, dripping bytes)."""

    def __init__(self, handler: Callable[[RawServer, socket.socket], None]) -> None:
        self.handler = handler
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.stopped = threading.Event()

    def __enter__(self) -> RawServer:
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.listener.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(4096)
                if not data:
                    return
                head += data
            self.handler(self, conn)

    def drip(self, conn: socket.socket, data: bytes, every: float) -> None:
        """Send `data` one byte at a time, until done or the server stops."""
        for i in range(len(data)):
            if self.stopped.is_set():
                return
            conn.sendall(data[i : i + 1])
            time.sleep(every)


# --- accepted -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "mime", "size", "suffix"),
    [
        ("png", "image/png", (40, 30), ".png"),
        ("jpeg", "image/jpeg", (64, 48), ".jpg"),
        ("webp", "image/webp", (64, 48), ".webp"),
        ("gif", "image/gif", (64, 48), ".gif"),
    ],
)
def test_image_stored_content_addressed(
    sandbox: RegistrySandbox,
    media_dir: Path,
    kind: str,
    mime: str,
    size: tuple[int, int],
    suffix: str,
) -> None:
    """The store is keyed by SHA-256 of the exact bytes, so the path is the identity."""
    data = _images()[kind]
    sha = hashlib.sha256(data).hexdigest()
    with _fetcher(sandbox, media_dir) as fetcher:
        got = fetcher.fetch(f"{sandbox.url}/media/image.{kind}")
    assert isinstance(got, FetchedMedia)
    assert got.sha256 == sha
    assert got.path == media_dir / sha[:2] / f"{sha}{suffix}" == store_path(media_dir, sha, suffix)
    assert got.path.read_bytes() == data
    assert (got.mime_type, (got.width, got.height), got.size) == (mime, size, len(data))
    assert got.etag == f'"{sha}"'
    assert _stored(media_dir) == [got.path]


def test_png_transparency_kept(sandbox: RegistrySandbox, media_dir: Path) -> None:
    """Logos rely on alpha; the stored file is the original, not a re-encode."""
    with _fetcher(sandbox, media_dir) as fetcher:
        got = fetcher.fetch(f"{sandbox.url}/media/image.png")
    assert isinstance(got, FetchedMedia)
    with Image.open(got.path) as image:
        assert image.mode == "RGBA"
        assert image.getpixel((5, 5))[3] == 0
        assert image.getpixel((35, 5)) == (200, 30, 30, 255)


def test_etag_gives_not_modified(sandbox: RegistrySandbox, media_dir: Path) -> None:
    """A known ETag is sent as If-None-Match and a 304 stores nothing new."""
    url = f"{sandbox.url}/media/image.jpeg"
    with _fetcher(sandbox, media_dir) as fetcher:
        first = fetcher.fetch(url)
        assert isinstance(first, FetchedMedia) and first.etag
        again = fetcher.fetch(url, etag=first.etag)
    assert again == NotModified(first.etag)
    sent = [r.headers.get("If-None-Match") for r in sandbox.requests.matching("/media/")]
    assert sent == [None, first.etag]
    assert _stored(media_dir) == [first.path]


def test_changed_file_with_old_etag_is_fetched_again(
    sandbox: RegistrySandbox, media_dir: Path
) -> None:
    """A stale ETag does not hide a new image."""
    sandbox.add_file("changing.png", _images()["png"], "image/png")
    url = f"{sandbox.url}/media/changing.png"
    with _fetcher(sandbox, media_dir) as fetcher:
        first = fetcher.fetch(url)
        sandbox.add_file("changing.png", _images()["webp"], "image/webp")
        assert isinstance(first, FetchedMedia)
        second = fetcher.fetch(url, etag=first.etag)
    assert isinstance(second, FetchedMedia)
    assert second.mime_type == "image/webp" and second.etag != first.etag
    assert _stored(media_dir) == sorted([first.path, second.path])


def test_same_bytes_under_another_url_share_one_file(
    sandbox: RegistrySandbox, media_dir: Path
) -> None:
    """Two members using one logo cost one file."""
    sandbox.add_file("copy-of-logo.bin", _images()["png"], "application/octet-stream")
    with _fetcher(sandbox, media_dir) as fetcher:
        one = fetcher.fetch(f"{sandbox.url}/media/image.png")
        two = fetcher.fetch(f"{sandbox.url}/media/copy-of-logo.bin")
    assert isinstance(one, FetchedMedia) and isinstance(two, FetchedMedia)
    assert one.path == two.path and one.sha256 == two.sha256
    assert two.mime_type == "image/png"  # sniffed from the bytes, not Content-Type
    assert _stored(media_dir) == [one.path]


def test_verified_bytes_are_decoded_once_per_fetcher(
    sandbox: RegistrySandbox, media_dir: Path, decodes: list[tuple[int, int]]
) -> None:
    """One logo on many members: bytes that passed the full decode are not decoded again by
    the same fetcher (same SHA-256, same settings), and their file is written back if it went.
    Other bytes are decoded; refused bytes are checked again every time."""
    jpeg = _images()["jpeg"]
    sandbox.add_file("copy-of-photo.bin", jpeg, "application/octet-stream")
    cut = _images()["png"][: len(_images()["png"]) * 2 // 3]
    sandbox.add_file("cut-logo.png", cut, "image/png")
    with _fetcher(sandbox, media_dir) as fetcher:
        first = fetcher.fetch(f"{sandbox.url}/media/image.jpeg")
        assert isinstance(first, FetchedMedia)
        first.path.unlink()
        again = [
            fetcher.fetch(f"{sandbox.url}/media/image.jpeg"),
            fetcher.fetch(f"{sandbox.url}/media/copy-of-photo.bin"),
        ]
        other = fetcher.fetch(f"{sandbox.url}/media/image.png")
        for _ in range(2):
            with pytest.raises(MediaRefused, match="cannot decode"):
                fetcher.fetch(f"{sandbox.url}/media/cut-logo.png")
    assert again == [first, first]
    assert first.path.read_bytes() == jpeg
    assert isinstance(other, FetchedMedia) and other.mime_type == "image/png"
    assert decodes == [(64, 48), (40, 30), (40, 30), (40, 30)]


def test_a_hosts_cookie_is_never_sent_back(media_dir: Path) -> None:
    """Fetches share no state: a cookie one media host sets (tracking, or a session to tie our
    later fetches together) is not kept nor sent with later fetches."""
    cookies: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            cookies.append(self.headers.get("Cookie"))
            body = _images()["png"]
            self.send_response(200)
            self.send_header("Set-Cookie", "visitor=ifn-fetcher; Path=/")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{server.server_address[1]}"
    try:
        with MediaFetcher(_settings(media_dir, [host])) as fetcher:
            for name in ("logo.png", "photo.png"):
                assert isinstance(fetcher.fetch(f"http://{host}/{name}"), FetchedMedia)
    finally:
        server.shutdown()
        server.server_close()
    assert cookies == [None, None]


def test_redirects_within_the_limit_are_followed(sandbox: RegistrySandbox, media_dir: Path) -> None:
    """A CDN redirect or two is normal."""
    target = f"{sandbox.url}/media/image.webp"
    url = f"{sandbox.url}/redirect-chain?n=3&to={target}"
    with _fetcher(sandbox, media_dir, max_redirects=3) as fetcher:
        got = fetcher.fetch(url)
    assert isinstance(got, FetchedMedia) and got.mime_type == "image/webp"
    assert len(sandbox.requests) == 4


def test_parallel_fetches_share_one_fetcher(sandbox: RegistrySandbox, media_dir: Path) -> None:
    """Sync fetches from a thread pool: results are right, global warning filters untouched
    (warnings.catch_warnings is not thread-safe), the deadlines are kept by one thread, not a
    thread per fetch (about 0.4 ms of CPU each), and it does not outlive the fetcher."""
    filters = list(warnings.filters)
    urls = [f"{sandbox.url}/media/image.{k}" for k in ("png", "jpeg", "webp", "gif")] * 6
    started: list[str] = []
    start = threading.Thread.start

    def spy(thread: threading.Thread) -> None:
        if threading.current_thread().name.startswith("fetch"):
            started.append(thread.name)
        start(thread)

    with (
        _fetcher(sandbox, media_dir) as fetcher,
        ThreadPoolExecutor(8, thread_name_prefix="fetch") as pool,
        mock.patch.object(threading.Thread, "start", spy),
    ):
        results = list(pool.map(fetcher.fetch, urls))
    assert all(isinstance(r, FetchedMedia) for r in results)
    assert len({r.path for r in results if isinstance(r, FetchedMedia)}) == 4
    assert len(_stored(media_dir)) == 4
    assert warnings.filters == filters
    assert len([name for name in started if not name.startswith("fetch")]) <= 1
    give_up = time.monotonic() + 2
    while any(
        isinstance(t, threading.Timer) or t.name == "media-deadlines" for t in threading.enumerate()
    ):
        assert time.monotonic() < give_up, "a fetch left its deadline timer running"
        time.sleep(0.01)


# --- refused: where -----------------------------------------------------------------------------


def test_loopback_refused_unless_allow_listed(
    sandbox: RegistrySandbox, media_dir: Path, connects: list[str]
) -> None:
    """The sandbox itself is loopback: without the allow-list it is off limits, by IP or name."""
    port = sandbox.port
    with MediaFetcher(_settings(media_dir, [])) as fetcher:
        for url in (
            f"http://127.0.0.1:{port}/media/image.png",
            f"http://localhost:{port}/media/image.png",
            f"http://[::1]:{port}/media/image.png",
            f"http://127.1.2.3:{port}/media/image.png",
            f"http://2130706433:{port}/media/image.png",  # 127.0.0.1 as one number
        ):
            assert _refused(fetcher, url).reason == "loopback_address", url
    assert connects == [] and len(sandbox.requests) == 0


def test_allow_list_is_per_host_and_port(
    sandbox: RegistrySandbox, media_dir: Path, connects: list[str]
) -> None:
    """Allowing 127.0.0.1:<port> allows neither another port nor another name for it."""
    with _fetcher(sandbox, media_dir) as fetcher:
        other_port = f"http://127.0.0.1:{sandbox.port + 1}/x.png"
        assert _refused(fetcher, other_port).reason == "loopback_address"
        by_name = f"http://localhost:{sandbox.port}/media/image.png"
        assert _refused(fetcher, by_name).reason == "loopback_address"
    assert connects == []


def test_allow_listed_name_is_trusted(sandbox: RegistrySandbox, media_dir: Path) -> None:
    """Staff can allow an internal host by name (e.g. the demo registry)."""
    settings_ = _settings(media_dir, [f"localhost:{sandbox.port}"])
    with MediaFetcher(settings_) as fetcher:
        got = fetcher.fetch(f"http://localhost:{sandbox.port}/media/image.gif")
    assert isinstance(got, FetchedMedia)
    with MediaFetcher(_settings(media_dir, ["127.0.0.1"])) as fetcher:  # host without port
        assert isinstance(fetcher.fetch(f"{sandbox.url}/media/image.gif"), FetchedMedia)


INTERNAL = [
    ("http://10.0.0.1/logo.png", "private_address"),
    ("http://192.168.1.1/logo.png", "private_address"),
    ("http://172.16.0.5:8080/logo.png", "private_address"),
    ("http://[fd12:3456::1]/logo.png", "private_address"),
    ("http://169.254.1.1/logo.png", "link_local_address"),
    ("http://[fe80::1]/logo.png", "link_local_address"),
    ("http://169.254.169.254/latest/meta-data/", "metadata_address"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "metadata_address"),
    ("http://100.100.100.200/latest/meta-data/", "metadata_address"),
    ("http://224.0.0.1/logo.png", "multicast_address"),
    ("http://[ff02::1]/logo.png", "multicast_address"),
    ("http://0.0.0.0/logo.png", "reserved_address"),
    ("http://0/logo.png", "reserved_address"),
    ("http://240.0.0.1/logo.png", "reserved_address"),
    ("http://100.64.0.1/logo.png", "reserved_address"),
    ("http://192.0.2.7/logo.png", "private_address"),
    ("http://[::ffff:10.0.0.1]/logo.png", "private_address"),
    ("http://[::ffff:127.0.0.1]/logo.png", "loopback_address"),
    ("http://[::ffff:169.254.169.254]/logo.png", "metadata_address"),
    ("http://[64:ff9b::a9fe:a9fe]/logo.png", "metadata_address"),  # NAT64 of the metadata IP
    ("http://[64:ff9b::a00:1]/logo.png", "private_address"),
    ("http://[2002:a00:1::1]/logo.png", "private_address"),  # 6to4 of 10.0.0.1
]


@pytest.mark.parametrize(("url", "reason"), INTERNAL)
def test_internal_addresses_refused_before_connecting(
    media_dir: Path, connects: list[str], url: str, reason: str
) -> None:
    """Internal and cloud metadata addresses are refused from the URL alone, never contacted."""
    with MediaFetcher(_settings(media_dir, [])) as fetcher:
        assert _refused(fetcher, url).reason == reason
    assert connects == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/logo.png",
        "javascript:alert(1)",
        "data:image/png;base64,iVBORw0KGgo=",
        "gopher://127.0.0.1:70/",
        "//127.0.0.1/logo.png",
        "logo.png",
    ],
)
def test_non_http_schemes_refused(media_dir: Path, connects: list[str], url: str) -> None:
    """Only http(s) is fetched; no local files, no other protocols."""
    with MediaFetcher(_settings(media_dir, ["127.0.0.1"])) as fetcher:
        assert _refused(fetcher, url).reason == "unsupported_scheme"
    assert connects == []


@pytest.mark.parametrize("userinfo", ["user:secret@", "user@", ":secret@"])
def test_credentials_in_url_refused(
    sandbox: RegistrySandbox, media_dir: Path, userinfo: str
) -> None:
    """A URL with credentials is refused rather than sending them anywhere."""
    with _fetcher(sandbox, media_dir) as fetcher:
        url = f"http://{userinfo}{_host_port(sandbox)}/media/image.png"
        assert _refused(fetcher, url).reason == "credentials_in_url"
    assert len(sandbox.requests) == 0


@pytest.mark.parametrize(
    "url",
    [
        "http:///logo.png",
        "http://[::1/logo.png",
        "http://[not-an-ip]/logo.png",
        "http://" + "a" * 64 + ".example/logo.png",  # label too long: fails before any DNS
        "http://a..b/logo.png",
        "http://127.0.0.1:99999/logo.png",
        "http://exa mple/logo.png",
    ],
)
def test_malformed_urls_refused(media_dir: Path, connects: list[str], url: str) -> None:
    """Member data is free text: a broken URL is a refusal, never a ValueError in the sync."""
    with MediaFetcher(_settings(media_dir, [])) as fetcher:
        assert _refused(fetcher, url).reason == "invalid_url"
    assert connects == []


# --- refused: redirects -------------------------------------------------------------------------


def test_redirect_to_loopback_name_refused(
    sandbox: RegistrySandbox, media_dir: Path, connects: list[str]
) -> None:
    """The allow-listed host cannot launder a request to another loopback name or port."""
    target = f"http://localhost:{sandbox.port}/media/image.png"
    url = f"{sandbox.url}/redirect?to={target}"
    with _fetcher(sandbox, media_dir) as fetcher:
        refusal = _refused(fetcher, url)
    assert refusal.reason == "loopback_address"
    assert "localhost" in refusal.detail
    assert [r.path for r in sandbox.requests] == ["/redirect"]
    assert set(connects) == {"127.0.0.1"}  # only the one allowed connection


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/", "metadata_address"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "metadata_address"),
        ("http://10.0.0.1/logo.png", "private_address"),
        ("file:///etc/passwd", "unsupported_scheme"),
        ("http://admin:admin@127.0.0.1/", "credentials_in_url"),
    ],
)
def test_redirect_to_forbidden_target_refused_with_its_reason(
    sandbox: RegistrySandbox, media_dir: Path, connects: list[str], target: str, reason: str
) -> None:
    """Every hop is checked like the first URL; the refusal names the target's problem."""
    url = f"{sandbox.url}/redirect?to={target}"
    with _fetcher(sandbox, media_dir) as fetcher:
        assert _refused(fetcher, url).reason == reason
    assert [r.path for r in sandbox.requests] == ["/redirect"]
    assert set(connects) == {"127.0.0.1"}


def test_redirect_via_relative_location_stays_checked(
    sandbox: RegistrySandbox, media_dir: Path
) -> None:
    """A relative Location resolves against the current URL (same, allowed host)."""
    url = f"{sandbox.url}/redirect?to=/media/image.jpeg"
    with _fetcher(sandbox, media_dir) as fetcher:
        assert isinstance(fetcher.fetch(url), FetchedMedia)


def test_too_many_redirects(sandbox: RegistrySandbox, media_dir: Path) -> None:
    """A redirect loop or long chain ends after max_redirects hops."""
    url = f"{sandbox.url}/redirect-chain?n=10&to={sandbox.url}/media/image.png"
    with _fetcher(sandbox, media_dir, max_redirects=3) as fetcher:
        assert _refused(fetcher, url).reason == "too_many_redirects"
    assert len(sandbox.requests) == 4  # the first request and 3 followed redirects


# --- refused: what ------------------------------------------------------------------------------


def test_too_large_by_content_length(sandbox: RegistrySandbox, media_dir: Path) -> None:
    """A declared length over the cap is refused before reading the body."""
    data = _images()["big_jpeg"]
    sandbox.add_file("big.jpg", data, "image/jpeg")
    with _fetcher(sandbox, media_dir, max_bytes=len(data) - 1) as fetcher:
        refusal = _refused(fetcher, f"{sandbox.url}/media/big.jpg")
    assert refusal.reason == "too_large" and "declared" in refusal.detail
    with _fetcher(sandbox, media_dir, max_bytes=len(data)) as fetcher:  # exactly the cap is fine
        assert isinstance(fetcher.fetch(f"{sandbox.url}/media/big.jpg"), FetchedMedia)


def test_too_large_without_content_length(media_dir: Path) -> None:
    """A chunked body has no declared length: the cap applies while streaming."""
    chunk = b"\xff" * 4096

    def endless_chunks(server: RawServer, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n")
        conn.sendall(b"Transfer-Encoding: chunked\r\n\r\n")
        while not server.stopped.is_set():  # until the client hangs up
            conn.sendall(b"1000\r\n" + chunk + b"\r\n")

    with RawServer(endless_chunks) as server:
        settings_ = _settings(media_dir, [f"127.0.0.1:{server.port}"], max_bytes=50_000)
        with MediaFetcher(settings_) as fetcher:
            refusal = _refused(fetcher, f"{server.url}/big.jpg")
    assert refusal.reason == "too_large" and "declared" not in refusal.detail


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (HTML, "image/jpeg"),
        (b"", "image/png"),
        (b"GIF89a", "image/gif"),  # a signature and nothing else
        (b'{"error": "not here"}', "image/png"),
        (b"<!-- a -->" * 2000, "image/svg+xml"),  # a prologue that never reaches <svg>
    ],
)
def test_not_an_image(
    sandbox: RegistrySandbox, media_dir: Path, body: bytes, content_type: str
) -> None:
    """Content-Type is a claim; the bytes decide."""
    sandbox.add_file("claim.jpg", body, content_type)
    with _fetcher(sandbox, media_dir) as fetcher:
        refusal = _refused(fetcher, f"{sandbox.url}/media/claim.jpg")
    assert refusal.reason == "not_an_image"


@pytest.mark.parametrize("kind", ["svg", "svg-prologue", "bmp", "tiff"])
def test_unsupported_format(sandbox: RegistrySandbox, media_dir: Path, kind: str) -> None:
    """Real images in formats the cards cannot use (SVG may also carry scripts)."""
    data = {"svg": SVG, "svg-prologue": SVG_WITH_PROLOGUE}.get(kind) or _images()[kind]
    sandbox.add_file(
        f"logo.{kind}", data, "image/svg+xml" if kind.startswith("svg") else f"image/{kind}"
    )
    with _fetcher(sandbox, media_dir) as fetcher:
        assert _refused(fetcher, f"{sandbox.url}/media/logo.{kind}").reason == "unsupported_format"


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The sizes of images whose pixels Pillow decodes during the test."""
    seen: list[tuple[int, int]] = []
    original = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile) -> Any:
        seen.append(self.size)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return seen


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize(
    ("width", "height", "max_pixels"),
    [
        (20_000, 20_000, None),  # 400 Mpx: Pillow's own bomb limit
        (8_000, 8_000, None),  # 64 Mpx: over the default 40 Mpx cap, under Pillow's
        (100, 100, 9_999),  # a cap set in settings
    ],
)
def test_decompression_bomb_refused_without_decoding(
    sandbox: RegistrySandbox,
    media_dir: Path,
    decodes: list[tuple[int, int]],
    width: int,
    height: int,
    max_pixels: int | None,
) -> None:
    """A few KB that would decode to gigabytes are refused from the header alone."""
    data = _bomb_png(width, height)
    assert len(data) < 200_000
    sandbox.add_file("bomb.png", data, "image/png")
    kw = {} if max_pixels is None else {"max_pixels": max_pixels}
    started = time.monotonic()
    with _fetcher(sandbox, media_dir, **kw) as fetcher:
        assert _refused(fetcher, f"{sandbox.url}/media/bomb.png").reason == "too_many_pixels"
    assert decodes == []
    assert time.monotonic() - started < 1.0


def test_pixel_cap_allows_exactly_the_cap(sandbox: RegistrySandbox, media_dir: Path) -> None:
    """The cap is inclusive and the image is then fully decoded."""
    sandbox.add_file("small.png", _bomb_png(100, 100), "image/png")
    with _fetcher(sandbox, media_dir, max_pixels=10_000) as fetcher:
        got = fetcher.fetch(f"{sandbox.url}/media/small.png")
    assert isinstance(got, FetchedMedia) and (got.width, got.height) == (100, 100)


@pytest.mark.parametrize("kind", ["png", "jpeg", "webp"])
def test_truncated_image_is_corrupt(sandbox: RegistrySandbox, media_dir: Path, kind: str) -> None:
    """A file cut short (an interrupted upload) decodes partially: refused, not stored."""
    data = _images()[kind]
    sandbox.add_file(f"cut.{kind}", data[: len(data) * 2 // 3], f"image/{kind}")
    with _fetcher(sandbox, media_dir) as fetcher:
        assert _refused(fetcher, f"{sandbox.url}/media/cut.{kind}").reason == "corrupt_image"


# --- refused: the network -----------------------------------------------------------------------


def test_http_status_404_and_500(sandbox: RegistrySandbox, media_dir: Path) -> None:
    """Anything but 200 (after redirects) or 304 is refused with the status in the detail."""
    with _fetcher(sandbox, media_dir) as fetcher:
        missing = _refused(fetcher, f"{sandbox.url}/media/missing.png")
        sandbox.faults.add(Fault("/media/image.png", "status", status=500))
        broken = _refused(fetcher, f"{sandbox.url}/media/image.png")
    assert (missing.reason, broken.reason) == ("http_status", "http_status")
    assert "404" in missing.detail and "500" in broken.detail


def test_dropped_connection_is_unreachable(sandbox: RegistrySandbox, media_dir: Path) -> None:
    """The server closing without an answer is transient: the next sync retries."""
    sandbox.faults.add(Fault("/media/image.png", "drop"))
    with _fetcher(sandbox, media_dir) as fetcher:
        assert _refused(fetcher, f"{sandbox.url}/media/image.png").reason == "unreachable"
        assert isinstance(fetcher.fetch(f"{sandbox.url}/media/image.png"), FetchedMedia)


def test_truncated_body_is_truncated(sandbox: RegistrySandbox, media_dir: Path) -> None:
    """Half a body then a closed connection is not mistaken for a (corrupt) image."""
    sandbox.faults.add(Fault("/media/image.jpeg", "truncate"))
    with _fetcher(sandbox, media_dir) as fetcher:
        assert _refused(fetcher, f"{sandbox.url}/media/image.jpeg").reason == "truncated"


def test_connection_refused_is_unreachable(media_dir: Path) -> None:
    """A closed port on an allowed host."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with MediaFetcher(_settings(media_dir, [f"127.0.0.1:{port}"])) as fetcher:
        assert _refused(fetcher, f"http://127.0.0.1:{port}/x.png").reason == "unreachable"


def test_slow_answer_times_out(sandbox: RegistrySandbox, media_dir: Path) -> None:
    """No answer within read_timeout."""
    sandbox.faults.add(Fault("/media/image.png", "slow", delay=1.0))
    started = time.monotonic()
    with _fetcher(sandbox, media_dir, read_timeout=0.2) as fetcher:
        assert _refused(fetcher, f"{sandbox.url}/media/image.png").reason == "timeout"
    assert time.monotonic() - started < 0.9


@pytest.mark.parametrize(
    ("head", "body"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", b"\xff" * 100_000),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", b"\xff" * 100_000),  # no length
        (b"HTTP/1.1 200 OK\r\n", b"X-Slow: " + b"a" * 60_000 + b"\r\n\r\n"),  # dripping headers
    ],
    ids=["body", "body-without-length", "headers"],
)
def test_dripping_server_hits_the_total_deadline(media_dir: Path, head: bytes, body: bytes) -> None:
    """A byte every 50 ms never trips read_timeout; the whole fetch still ends on time."""

    def dripping(server: RawServer, conn: socket.socket) -> None:
        conn.sendall(head)
        server.drip(conn, body, every=0.05)

    with RawServer(dripping) as server:
        settings_ = _settings(
            media_dir, [f"127.0.0.1:{server.port}"], read_timeout=0.2, fetch_deadline=0.6
        )
        started = time.monotonic()
        with MediaFetcher(settings_) as fetcher:
            refusal = _refused(fetcher, f"{server.url}/slow.jpg")
        elapsed = time.monotonic() - started
    assert refusal.reason == "timeout"
    assert elapsed < 1.2  # media.fetch_deadline, whatever read_timeout allows per read


def test_fetch_running_when_the_fetcher_closes_keeps_its_deadline(media_dir: Path) -> None:
    """A sync that stops leaves its running fetches to end by their own deadline: closing the
    fetcher must not stop the thread that cuts them."""

    def dripping(server: RawServer, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        server.drip(conn, b"\xff" * 100_000, every=0.05)

    with RawServer(dripping) as server:
        settings_ = _settings(
            media_dir, [f"127.0.0.1:{server.port}"], read_timeout=0.2, fetch_deadline=0.6
        )
        fetcher = MediaFetcher(settings_)
        started = time.monotonic()
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(fetcher.fetch, f"{server.url}/slow.jpg")
            time.sleep(0.2)
            fetcher.close()
            with pytest.raises(MediaRefused) as info:
                running.result(timeout=5)
        elapsed = time.monotonic() - started
    assert info.value.reason == "timeout"
    assert elapsed < 1.2


def test_stalled_body_is_a_timeout(media_dir: Path) -> None:
    """Headers, some bytes, then silence: a timeout, not a truncation."""

    def stall(server: RawServer, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n\x89PNG")
        server.stopped.wait(1.0)

    with RawServer(stall) as server:
        settings_ = _settings(media_dir, [f"127.0.0.1:{server.port}"], read_timeout=0.2)
        with MediaFetcher(settings_) as fetcher:
            assert _refused(fetcher, f"{server.url}/stall.png").reason == "timeout"


# --- the address check --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("8.8.8.8", None),
        ("93.184.215.14", None),
        ("2606:4700:4700::1111", None),
        ("64:ff9b::808:808", None),  # NAT64 of a public address: IPv6-only networks need it
        ("2002:808:808::1", None),  # 6to4 of a public address
        ("127.0.0.1", "loopback_address"),
        ("127.255.255.254", "loopback_address"),
        ("::1", "loopback_address"),
        ("::ffff:127.0.0.1", "loopback_address"),
        ("10.0.0.1", "private_address"),
        ("172.16.0.5", "private_address"),
        ("172.31.255.255", "private_address"),
        ("192.168.1.1", "private_address"),
        ("fc00::1", "private_address"),
        ("fd12:3456::1", "private_address"),
        ("::ffff:192.168.0.1", "private_address"),
        ("64:ff9b::c0a8:1", "private_address"),
        ("169.254.1.1", "link_local_address"),
        ("fe80::1", "link_local_address"),
        ("fe80::1%eth0", "link_local_address"),
        ("169.254.169.254", "metadata_address"),
        ("169.254.170.2", "metadata_address"),
        ("100.100.100.200", "metadata_address"),
        ("fd00:ec2::254", "metadata_address"),
        ("::ffff:169.254.169.254", "metadata_address"),
        ("64:ff9b::a9fe:a9fe", "metadata_address"),
        ("224.0.0.1", "multicast_address"),
        ("239.255.255.250", "multicast_address"),
        ("ff02::1", "multicast_address"),
        ("0.0.0.0", "reserved_address"),
        ("::", "reserved_address"),
        ("240.0.0.1", "reserved_address"),
        ("255.255.255.255", "reserved_address"),
        ("100.64.0.1", "reserved_address"),
        ("::a00:1", "reserved_address"),  # deprecated IPv4-compatible form
        ("64:ff9b:1::a00:1", "reserved_address"),  # local-use NAT64
    ],
)
def test_address_refusal_table(address: str, reason: str | None) -> None:
    """Stable codes per address class, independent of Python's changing is_private ranges."""
    assert address_refusal(address) == reason


def _guard(host: str, port: int, allow: frozenset[str] = frozenset()) -> _Guard:
    guard = type("G", (_Guard,), {"allow": allow})()
    guard.host, guard.port = host, port
    return guard


def test_check_peer_refuses_loopback_peer_and_closes(sandbox: RegistrySandbox) -> None:
    """Whatever a name resolved to before, the connected peer decides."""
    sock = socket.create_connection(("127.0.0.1", sandbox.port))
    with pytest.raises(_AddressRefused) as info:
        _guard("cdn.example", sandbox.port)._check_peer(sock)
    assert info.value.reason == "loopback_address"
    assert "connected to 127.0.0.1" in info.value.detail
    assert sock.fileno() == -1


@pytest.mark.parametrize("allow", ["cdn.example", "cdn.example:{port}"])
def test_check_peer_trusts_allow_listed_name(sandbox: RegistrySandbox, allow: str) -> None:
    """An allow-listed name is trusted at both checks, by host or host:port."""
    allowed = frozenset({allow.format(port=sandbox.port)})
    with socket.create_connection(("127.0.0.1", sandbox.port)) as sock:
        _guard("cdn.example", sandbox.port, allowed)._check_peer(sock)
        assert sock.fileno() != -1
        _guard("cdn.example", sandbox.port, allowed)._check_resolved()  # no DNS lookup either


def test_dns_rebinding_caught_at_the_peer(
    sandbox: RegistrySandbox,
    media_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    connects: list[str],
) -> None:
    """A name that resolves public for the check and to loopback for the connect is refused
    after connecting and before any request is sent."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.example":
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        address = "93.184.215.14" if len(lookups) == 1 else "127.0.0.1"  # public, never dialled
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with MediaFetcher(_settings(media_dir, [])) as fetcher:
        refusal = _refused(fetcher, f"http://rebind.example:{sandbox.port}/media/image.png")
    assert refusal.reason == "loopback_address"
    assert "connected to 127.0.0.1" in refusal.detail
    assert len(lookups) == 2 and connects == ["127.0.0.1"]
    assert len(sandbox.requests) == 0


def test_name_resolving_to_internal_refused_before_connecting(
    media_dir: Path, monkeypatch: pytest.MonkeyPatch, connects: list[str]
) -> None:
    """If any address of a name is internal, the name is refused before a connect."""
    real = socket.getaddrinfo

    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "mixed.example":
            return real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with MediaFetcher(_settings(media_dir, [])) as fetcher:
        refusal = _refused(fetcher, "http://mixed.example/logo.png")
    assert refusal.reason == "metadata_address"
    assert connects == []


# --- any bytes ----------------------------------------------------------------------------------


@st.composite
def _hostile_bytes(draw: st.DrawFn) -> bytes:
    """Random bytes, or a real image with some bytes changed and maybe cut short."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=512))
    data = bytearray(_images()[draw(st.sampled_from(["png", "jpeg", "webp", "gif", "bmp"]))])
    for _ in range(draw(st.integers(0, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))])


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-media")


CONTENT_REASONS = {"not_an_image", "corrupt_image", "unsupported_format", "too_many_pixels"}


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(body=_hostile_bytes())
def test_any_bytes_are_stored_decodable_or_refused(
    sandbox: RegistrySandbox, fuzz_dir: Path, body: bytes
) -> None:
    """Whatever a server sends, the sync sees a verified file or a MediaRefused, nothing else."""
    sandbox.add_file("fuzz.jpg", body, "image/jpeg")
    with _fetcher(sandbox, fuzz_dir) as fetcher:
        try:
            got = fetcher.fetch(f"{sandbox.url}/media/fuzz.jpg")
        except MediaRefused as exc:
            assert exc.reason in CONTENT_REASONS, exc
            return
    assert isinstance(got, FetchedMedia)
    assert got.path.read_bytes() == body
    with Image.open(got.path) as image:
        image.load()
        assert image.size == (got.width, got.height)
    assert not list(fuzz_dir.rglob(".part-*"))


def test_phone_mpo_jpeg_is_accepted_as_jpeg(sandbox: RegistrySandbox, media_dir: Path) -> None:
    """Phones write MPO (a JPEG followed by more pictures); it is a JPEG for every use of ours."""
    buf = io.BytesIO()
    first = Image.new("RGB", (64, 48), (10, 120, 200))
    first.save(buf, "MPO", save_all=True, append_images=[Image.new("RGB", (64, 48), (200, 0, 0))])
    sandbox.add_file("phone.jpg", buf.getvalue(), "image/jpeg")
    with _fetcher(sandbox, media_dir) as fetcher:
        got = fetcher.fetch(f"{sandbox.url}/media/phone.jpg")
    assert isinstance(got, FetchedMedia)
    assert got.mime_type == "image/jpeg" and got.path.suffix == ".jpg"
    assert (got.width, got.height) == (64, 48)
