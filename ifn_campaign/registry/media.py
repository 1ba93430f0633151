"""The one safe way to fetch a member's logo or photo.

Member data is hostile until proven otherwise, and a URL in it must never become a request to our
own network: only http(s); the host must be public unless allow-listed; every address a name
resolves to is checked before connecting, and the address actually connected to is checked again
after (so DNS rebinding and redirects to internal hosts are refused too); the body is capped while
streaming; the type is sniffed from the bytes by Pillow, never taken from Content-Type; the image is
fully decoded under a pixel cap; the whole fetch (every hop, headers and body) has one deadline that
a watchdog enforces by shutting the socket down, so a server dripping bytes cannot hold a worker.
Accepted files are stored content-addressed by SHA-256; a fetcher decodes the same bytes (same
SHA-256) only once.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import socket
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from http.client import InvalidURL
from pathlib import Path
from typing import ClassVar
from urllib.parse import urljoin, urlsplit

from PIL import Image, UnidentifiedImageError
from requests.certs import where as ca_bundle
from urllib3 import PoolManager, Timeout
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    LocationValueError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.response import BaseHTTPResponse

from ifn_campaign.config import MediaSettings
from ifn_campaign.deadline import Deadlines, Watchdog, Watched
from ifn_campaign.errors import MediaRefused
from ifn_campaign.files import write_atomically

__all__ = [
    "FetchedMedia",
    "MediaFetcher",
    "NotModified",
    "address_refusal",
    "store_path",
    "url_refusal",
]

ALLOWED_FORMATS = {
    "JPEG": ".jpg",
    "MPO": ".jpg",  # phone JPEGs carrying extra pictures: an ordinary JPEG first
    "PNG": ".png",
    "WEBP": ".webp",
    "GIF": ".gif",
}
METADATA_ADDRESSES = {
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "fd00:ec2::254")
}
MAX_URL_LENGTH = 2048  # what browsers and CDNs reliably accept; longer is not an image link
# Characters no URL we fetch may hold, even percent-encoded by a library on our behalf: controls
# (CR/LF would split a request), blanks, invisible formatting, lone surrogates.
_NOT_IN_URL = frozenset({"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known prefix: the IPv4 address is embedded
_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024
USER_AGENT = "ifn-campaign media fetcher (+https://ifn.kemenperin.go.id)"
_PROLOGUE = ((b"<?", b"?>"), (b"<!--", b"-->"), (b"<!doctype", b">"))
_VERIFIED_MAX = 4096  # SHA-256s of accepted bytes a fetcher remembers (about 1 MiB)


def _looks_like_svg(data: bytes) -> bool:
    """An SVG document: Pillow cannot read it, but the member should hear "unsupported format".

    A plain scan (no regex: nested repetition over hostile bytes backtracks catastrophically).
    """
    head = data[:4096].removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    while True:
        for opening, closing in _PROLOGUE:
            if head.startswith(opening):
                end = head.find(closing, len(opening))
                if end < 0:
                    return False
                head = head[end + len(closing) :].lstrip()
                break
        else:
            return head.startswith(b"<svg") and head[4:5] in (b">", b"/", b" ", b"\t", b"\r", b"\n")


def address_refusal(address: str) -> str | None:
    """Why we will not connect to `address`, or None if it is a public address."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(
        address.split("%", 1)[0]
    )
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv6 forms that reach an IPv4 address: check that address (NAT64 reaches 10/8 too)
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
    if ip in METADATA_ADDRESSES:
        return "metadata_address"
    if ip.is_loopback:
        return "loopback_address"
    if ip.is_link_local:
        return "link_local_address"
    if ip.is_multicast:
        return "multicast_address"
    if ip.is_unspecified or ip.is_reserved:  # before is_private, which also covers some of them
        return "reserved_address"
    if ip.is_private:
        return "private_address"
    if not ip.is_global:
        return "reserved_address"
    return None


def url_refusal(url: str) -> tuple[str, str] | None:
    """Why `url` is never fetched whatever its host resolves to, as (reason, detail), or None.

    Decided from the text alone, so a refusal is permanent until the URL changes. A backslash is
    refused: browsers read it as '/', Python's parser does not, so the two disagree on the host.
    """
    if not url.strip():  # a photo the registry sent without a URL
        return "invalid_url", "empty: no URL given"
    if len(url) > MAX_URL_LENGTH:
        return "url_too_long", f"{len(url):,} characters, at most {MAX_URL_LENGTH:,}"
    for char in url:
        if char == "\\" or unicodedata.category(char) in _NOT_IN_URL:
            return "invalid_url", f"holds U+{ord(char):04X}"
    try:
        parts = urlsplit(url)
        hostname, _port = parts.hostname, parts.port
    except ValueError:  # e.g. "http://[::1/" or a port out of range
        return "invalid_url", "cannot be parsed"
    if parts.scheme.lower() not in ("http", "https"):
        return "unsupported_scheme", f"scheme {parts.scheme or 'none (a relative URL)'!r}"
    if not hostname:
        return "invalid_url", "no host"
    if "@" in parts.netloc:
        return "credentials_in_url", "URL carries credentials (user@host)"
    return None


class _AddressRefused(Exception):  # an internal carrier that becomes MediaRefused
    """Raised inside urllib3's connect; deliberately not an OSError so nothing retries it."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class _Guard:
    """Checks a host before connecting and the peer after; knows the allow-list."""

    allow: ClassVar[frozenset[str]] = frozenset()

    host: str
    port: int

    def _allowed(self) -> bool:
        return self.host in self.allow or f"{self.host}:{self.port}" in self.allow

    def _check_resolved(self) -> None:
        if self._allowed():
            return
        try:
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            return  # urllib3 reports the resolution failure itself
        for info in infos:
            address = str(info[4][0])
            reason = address_refusal(address)
            if reason:
                raise _AddressRefused(reason, f"{self.host} resolves to {address}")

    def _check_peer(self, sock: socket.socket) -> None:
        if self._allowed():
            return
        address = str(sock.getpeername()[0])
        reason = address_refusal(address)
        if reason:
            sock.close()
            raise _AddressRefused(reason, f"{self.host} connected to {address}")


class _GuardedHTTPConnection(_Guard, Watched, HTTPConnection):
    def _new_conn(self) -> socket.socket:
        self._check_resolved()
        sock = super()._new_conn()
        self._check_peer(sock)
        return sock


class _GuardedHTTPSConnection(_Guard, Watched, HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        self._check_resolved()
        sock = super()._new_conn()
        self._check_peer(sock)
        return sock


def _guarded_pools(allow: frozenset[str]) -> PoolManager:
    """urllib3 pools whose connections refuse non-public addresses not on `allow`.

    urllib3 itself, not requests: requests' session layer (merging settings, cookies, hooks,
    re-wrapping the response) cost about 0.5 ms of CPU a fetch, half of a fetch's. No proxy is
    read from the environment (one would hide the address we actually reach), no cookies kept,
    no retries; certificates are verified against requests' CA bundle, as before.
    """
    http_conn = type("HTTPConn", (_GuardedHTTPConnection,), {"allow": allow})
    https_conn = type("HTTPSConn", (_GuardedHTTPSConnection,), {"allow": allow})
    pools = PoolManager(
        maxsize=16,
        retries=False,
        headers={"User-Agent": USER_AGENT, "Accept": "*/*"},
        cert_reqs="CERT_REQUIRED",
        ca_certs=ca_bundle(),
    )
    pools.pool_classes_by_scheme = {
        "http": type("HTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
        "https": type("HTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
    }
    return pools


@dataclass(frozen=True)
class FetchedMedia:
    """A verified image, already written to the content-addressed store."""

    sha256: str
    mime_type: str
    width: int
    height: int
    size: int
    etag: str | None
    path: Path


@dataclass(frozen=True)
class NotModified:
    """The server confirmed our stored copy (ETag) is current."""

    etag: str | None


def store_path(media_dir: Path, sha256: str, suffix: str) -> Path:
    return media_dir / sha256[:2] / f"{sha256}{suffix}"


class MediaFetcher:
    """Fetches, verifies and stores media; each refusal is a `MediaRefused` with a stable reason."""

    def __init__(
        self, settings: MediaSettings, *, stored: Callable[[Path], str] | None = None
    ) -> None:
        self.settings = settings
        # a fetched file's path as a media row keeps it: `Settings.stored` (relative to the data
        # folder, so a worker started anywhere, or a moved data folder, finds it), else absolute
        self.stored: Callable[[Path], str] = stored if stored is not None else str
        self.pools = _guarded_pools(frozenset(settings.allow_hosts))
        # SHA-256 -> (format, width, height) of bytes this fetcher fully verified: the same bytes
        # again (one logo on many members) skip the decode, about 1 ms of CPU a fetch
        self._verified: dict[str, tuple[str, int, int]] = {}
        self._verified_lock = threading.Lock()
        self._deadlines = Deadlines(name="media-deadlines")

    def close(self) -> None:
        self.pools.clear()
        self._deadlines.close()

    def __enter__(self) -> MediaFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, url: str, *, etag: str | None = None) -> FetchedMedia | NotModified:
        """Fetch `url` (conditionally when `etag` is known) and store it, or raise MediaRefused."""
        deadline = time.monotonic() + self.settings.fetch_deadline
        with Watchdog(deadline, self._deadlines) as watchdog:
            data, new_etag = self._download(url, etag, deadline, watchdog)
        if data is None:
            return NotModified(new_etag)
        return self._accept(data, new_etag, url)

    def _download(
        self, url: str, etag: str | None, deadline: float, watchdog: Watchdog
    ) -> tuple[bytes | None, str | None]:
        """The body and ETag of `url` after redirects; (None, etag) when not modified."""
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            self._check_url(current, original=url)
            response = self._get(current, etag, original=url, watchdog=watchdog)
            with response:  # closed unless read to the end (then back in its pool)
                if response.status in _REDIRECTS and response.headers.get("Location"):
                    try:
                        current = urljoin(current, response.headers["Location"])
                    except ValueError:
                        raise MediaRefused(
                            "invalid_url", "redirect to an unparsable URL", url=url
                        ) from None
                    continue
                if response.status == 304 and etag:
                    return None, response.headers.get("ETag", etag)
                if response.status != 200:
                    raise MediaRefused("http_status", f"answered HTTP {response.status}", url=url)
                data = self._read_capped(response, url, deadline, watchdog)
                return data, response.headers.get("ETag")
        raise MediaRefused(
            "too_many_redirects", f"more than {self.settings.max_redirects} redirects", url=url
        )

    def _check_url(self, current: str, *, original: str) -> None:
        """Every hop's URL, before anything is sent: see `url_refusal`."""
        refusal = url_refusal(current)
        if refusal is not None:
            reason, detail = refusal
            if current != original:
                detail = f"{detail}, redirected to {current[:200]!r}"
            raise MediaRefused(reason, detail, url=original)

    def _get(
        self, current: str, etag: str | None, *, original: str, watchdog: Watchdog
    ) -> BaseHTTPResponse:
        headers = {"If-None-Match": etag} if etag else {}
        # the watchdog cuts sockets waiting for an answer, not a connect: a hop begun near the
        # deadline gets only what is left of it, and none once it has passed
        left = watchdog.at - time.monotonic()
        if left <= 0:
            raise MediaRefused("timeout", "fetch took too long", url=original)
        try:
            return self.pools.request(
                "GET",
                current,
                headers=self.pools.headers | headers,
                preload_content=False,
                redirect=False,
                timeout=Timeout(
                    connect=min(self.settings.connect_timeout, left),
                    read=self.settings.read_timeout,
                ),
            )
        except _AddressRefused as exc:
            raise MediaRefused(exc.reason, exc.detail, url=original) from None
        except (ConnectTimeoutError, ReadTimeoutError) as exc:
            if not isinstance(exc, NewConnectionError):  # a refused connect is no timeout
                raise MediaRefused("timeout", f"no answer from {current}", url=original) from None
            if watchdog.fired:
                raise MediaRefused("timeout", "fetch took too long", url=original) from None
            raise MediaRefused(
                "unreachable", f"{type(exc).__name__} for {current}", url=original
            ) from None
        except (InvalidURL, LocationValueError):
            # LocationValueError: urllib3 finds a bad host label only when connecting
            raise MediaRefused("invalid_url", f"cannot use {current!r}", url=original) from None
        except (Urllib3Error, OSError, ValueError) as exc:  # ValueError: a header http refuses
            if watchdog.fired:
                raise MediaRefused("timeout", "fetch took too long", url=original) from None
            raise MediaRefused(
                "unreachable", f"{type(exc).__name__} for {current}", url=original
            ) from None

    def _read_capped(
        self, response: BaseHTTPResponse, url: str, deadline: float, watchdog: Watchdog
    ) -> bytes:
        cap = self.settings.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise MediaRefused("too_large", f"{declared} bytes declared, cap {cap}", url=url)
        buf = bytearray()
        try:
            for chunk in response.stream(_CHUNK):
                buf += chunk
                if len(buf) > cap:
                    raise MediaRefused("too_large", f"over {cap} bytes", url=url)
                if time.monotonic() > deadline:
                    raise MediaRefused("timeout", "download took too long", url=url)
        except (Urllib3Error, OSError) as exc:
            cause = exc.args[0] if exc.args else None
            if (
                watchdog.fired
                or isinstance(exc, ReadTimeoutError)
                or isinstance(cause, ReadTimeoutError)
            ):
                raise MediaRefused("timeout", "download took too long", url=url) from None
            raise MediaRefused(
                "truncated", f"connection broke: {type(exc).__name__}", url=url
            ) from None
        if watchdog.fired:  # a body without length ends "normally" when the watchdog cuts it
            raise MediaRefused("timeout", "download took too long", url=url)
        return bytes(buf)

    def _accept(self, data: bytes, etag: str | None, url: str) -> FetchedMedia:
        sha = hashlib.sha256(data).hexdigest()
        fmt, width, height = self._verified_once(sha, data, url)
        path = store_path(self.settings.dir, sha, ALLOWED_FORMATS[fmt])
        if not path.exists():
            write_atomically(path, data)
        mime = "image/jpeg" if fmt == "MPO" else Image.MIME.get(fmt, "application/octet-stream")
        return FetchedMedia(sha, mime, width, height, len(data), etag, path)

    def _verified_once(self, sha: str, data: bytes, url: str) -> tuple[str, int, int]:
        """`_verify` for bytes this fetcher has not accepted yet; identical bytes (same SHA-256)
        already passed the full check under the same settings. Refusals are not remembered."""
        with self._verified_lock:
            known = self._verified.get(sha)
        if known is not None:
            return known
        verified = self._verify(data, url)
        with self._verified_lock:
            if len(self._verified) >= _VERIFIED_MAX:
                del self._verified[next(iter(self._verified))]  # the oldest
            self._verified[sha] = verified
        return verified

    def _verify(self, data: bytes, url: str) -> tuple[str, int, int]:
        """Sniff the format from the bytes and decode fully under the pixel cap."""
        if not data:
            raise MediaRefused("not_an_image", "empty body", url=url)
        # No warnings.catch_warnings() here: it is not thread-safe and fetches run in parallel.
        # Pillow raises DecompressionBombError itself past 2x MAX_IMAGE_PIXELS; below that our own
        # cap is checked from the header, before load() decodes anything.
        try:
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format or ""
                width, height = image.size
                if fmt not in ALLOWED_FORMATS:
                    raise MediaRefused("unsupported_format", f"{fmt or 'unknown'} image", url=url)
                if width * height > self.settings.max_pixels:
                    raise MediaRefused(
                        "too_many_pixels",
                        f"{width}x{height} exceeds {self.settings.max_pixels} pixels",
                        url=url,
                    )
                image.load()
        except MediaRefused:
            raise
        except UnidentifiedImageError:
            if _looks_like_svg(data):
                raise MediaRefused("unsupported_format", "SVG image", url=url) from None
            raise MediaRefused(
                "not_an_image", "bytes are not a known image format", url=url
            ) from None
        except Image.DecompressionBombError:
            raise MediaRefused("too_many_pixels", "decompression bomb", url=url) from None
        except Exception as exc:  # hostile bytes reach C decoders: any failure is a corrupt image
            raise MediaRefused(
                "corrupt_image", f"cannot decode: {type(exc).__name__}: {exc}", url=url
            ) from None
        return fmt, width, height
