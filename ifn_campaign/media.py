"""The one safe way to fetch a member's logo or photo.

Member data is hostile until proven otherwise, and a URL in it must never become a request to our
own network: only http(s); the host must be public unless allow-listed; every address a name
resolves to is checked before connecting, and the address actually connected to is checked again
after (so DNS rebinding and redirects to internal hosts are refused too); the body is capped while
streaming; the type is sniffed from the bytes by Pillow, never taken from Content-Type; the image is
fully decoded under a pixel cap. Accepted files are stored content-addressed by SHA-256.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import os
import socket
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import requests
from PIL import Image, UnidentifiedImageError
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ifn_campaign.config import MediaSettings
from ifn_campaign.errors import MediaRefused

__all__ = ["FetchedMedia", "MediaFetcher", "NotModified", "address_refusal", "store_path"]

ALLOWED_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif"}
METADATA_ADDRESSES = {
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "fd00:ec2::254")
}
_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024
USER_AGENT = "ifn-campaign media fetcher (+https://ifn.kemenperin.go.id)"


def address_refusal(address: str) -> str | None:
    """Why we will not connect to `address`, or None if it is a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return "metadata_address"
    if ip.is_loopback:
        return "loopback_address"
    if ip.is_link_local:
        return "link_local_address"
    if ip.is_multicast:
        return "multicast_address"
    if ip.is_private:
        return "private_address"
    if not ip.is_global:
        return "reserved_address"
    return None


class _AddressRefused(Exception):  # noqa: N818  (internal carrier, becomes MediaRefused)
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


class _GuardedHTTPConnection(_Guard, HTTPConnection):
    def _new_conn(self) -> socket.socket:
        self._check_resolved()
        sock = super()._new_conn()
        self._check_peer(sock)
        return sock


class _GuardedHTTPSConnection(_Guard, HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        self._check_resolved()
        sock = super()._new_conn()
        self._check_peer(sock)
        return sock


class _GuardedAdapter(HTTPAdapter):
    """An adapter whose connections refuse non-public addresses not on `allow`."""

    def __init__(self, allow: frozenset[str]) -> None:
        http_conn = type("HTTPConn", (_GuardedHTTPConnection,), {"allow": allow})
        https_conn = type("HTTPSConn", (_GuardedHTTPSConnection,), {"allow": allow})
        self._pools = {
            "http": type("HTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("HTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
        }
        super().__init__(max_retries=0, pool_maxsize=16)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools


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
    """Fetches, verifies and stores media; every refusal is a `MediaRefused` with a stable reason."""

    def __init__(self, settings: MediaSettings) -> None:
        self.settings = settings
        self.session = requests.Session()
        self.session.trust_env = False  # a proxy would hide the address we actually reach
        self.session.headers["User-Agent"] = USER_AGENT
        adapter = _GuardedAdapter(frozenset(settings.allow_hosts))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> MediaFetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, url: str, *, etag: str | None = None) -> FetchedMedia | NotModified:
        """Fetch `url` (conditionally when `etag` is known) and store it, or raise MediaRefused."""
        deadline = time.monotonic() + self.settings.read_timeout * 3
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            self._check_url(current, original=url)
            response = self._get(current, etag, original=url)
            with response:
                if response.status_code in _REDIRECTS and response.headers.get("Location"):
                    current = urljoin(current, response.headers["Location"])
                    continue
                if response.status_code == 304 and etag:
                    return NotModified(response.headers.get("ETag", etag))
                if response.status_code != 200:
                    raise MediaRefused(
                        "http_status", f"answered HTTP {response.status_code}", url=url
                    )
                data = self._read_capped(response, url, deadline)
                return self._accept(data, response.headers.get("ETag"), url)
        raise MediaRefused(
            "too_many_redirects", f"more than {self.settings.max_redirects} redirects", url=url
        )

    def _check_url(self, current: str, *, original: str) -> None:
        parts = urlsplit(current)
        if parts.scheme not in ("http", "https"):
            raise MediaRefused(
                "unsupported_scheme",
                f"scheme {parts.scheme or 'none'!r} at {current}",
                url=original,
            )
        if not parts.hostname:
            raise MediaRefused("invalid_url", "no host", url=original)
        if parts.username or parts.password:
            raise MediaRefused("credentials_in_url", "URL carries credentials", url=original)

    def _get(self, current: str, etag: str | None, *, original: str) -> requests.Response:
        headers = {"If-None-Match": etag} if etag else {}
        try:
            return self.session.get(
                current,
                headers=headers,
                stream=True,
                allow_redirects=False,
                timeout=(self.settings.connect_timeout, self.settings.read_timeout),
            )
        except _AddressRefused as exc:
            raise MediaRefused(exc.reason, exc.detail, url=original) from None
        except requests.Timeout:
            raise MediaRefused("timeout", f"no answer from {current}", url=original) from None
        except requests.RequestException as exc:
            raise MediaRefused(
                "unreachable", f"{type(exc).__name__} for {current}", url=original
            ) from None

    def _read_capped(self, response: requests.Response, url: str, deadline: float) -> bytes:
        cap = self.settings.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise MediaRefused("too_large", f"{declared} bytes declared, cap {cap}", url=url)
        buf = bytearray()
        try:
            for chunk in response.iter_content(_CHUNK):
                buf += chunk
                if len(buf) > cap:
                    raise MediaRefused("too_large", f"over {cap} bytes", url=url)
                if time.monotonic() > deadline:
                    raise MediaRefused("timeout", "download took too long", url=url)
        except requests.RequestException as exc:
            raise MediaRefused(
                "truncated", f"connection broke: {type(exc).__name__}", url=url
            ) from None
        return bytes(buf)

    def _accept(self, data: bytes, etag: str | None, url: str) -> FetchedMedia:
        fmt, width, height = self._verify(data, url)
        sha = hashlib.sha256(data).hexdigest()
        path = store_path(self.settings.dir, sha, ALLOWED_FORMATS[fmt])
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            Path(tmp).replace(path)
        mime = Image.MIME.get(fmt, "application/octet-stream")
        return FetchedMedia(sha, mime, width, height, len(data), etag, path)

    def _verify(self, data: bytes, url: str) -> tuple[str, int, int]:
        """Sniff the format from the bytes and decode fully under the pixel cap."""
        if not data:
            raise MediaRefused("not_an_image", "empty body", url=url)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as image:
                    fmt = image.format or ""
                    width, height = image.size
                    if fmt not in ALLOWED_FORMATS:
                        raise MediaRefused(
                            "unsupported_format", f"{fmt or 'unknown'} image", url=url
                        )
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
            raise MediaRefused(
                "not_an_image", "bytes are not a known image format", url=url
            ) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise MediaRefused("too_many_pixels", "decompression bomb", url=url) from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise MediaRefused("corrupt_image", f"cannot decode: {exc}", url=url) from None
        return fmt, width, height
