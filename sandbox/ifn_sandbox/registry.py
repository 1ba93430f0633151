"""A local IFN registry that follows the registry contract (docs/reference/registry-contract.md),
for the demo and the tests.

It serves the bundled sample registry (or a generated one of any size) over real HTTP on loopback,
and can misbehave on purpose (slow answers, error statuses, dropped connections, truncated bodies)
so the sync client is tested against the failures it has to survive. It is a plain
`ThreadingHTTPServer` because dropping a connection or cutting a body short needs the socket;
the server, the faults and the request log live in `ifn_sandbox.http`, shared with the
platform sandboxes: import `Fault` and the rest from there.

```python
with RegistrySandbox(members=[...]) as registry:
    registry.faults.add(Fault("/api/v1/members", "status", status=503, retry_after=1))
    requests.get(f"{registry.url}/api/v1/members")
```
"""

from __future__ import annotations

import base64
import binascii
import bisect
import copy
import hashlib
import hmac
import io
import json
import mimetypes
import random
import struct
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from ifn_sandbox.bundled import assets
from ifn_sandbox.http import (
    Fault,
    Request,
    Response,
    Sandbox,
    json_response,
)

__all__ = [
    "GENERATED_MEDIA",
    "SAMPLE_REGISTRY",
    "RegistrySandbox",
    "generate_members",
    "serve",
]

SAMPLE_REGISTRY = assets("sample_registry")
"""The bundled sample registry: `members.json` and the `media/` it refers to."""

GENERATED_MEDIA = ("gen-logo-0.png", "gen-logo-1.png", "gen-photo-0.jpg", "gen-photo-1.jpg")
"""The images a sandbox in generated mode draws and serves itself, and generated members use."""

_MAX_LIMIT = 500
_DEFAULT_LIMIT = 100
_MAX_HOPS = 100
_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".mp4": "video/mp4",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}


# --- time keys and cursors --------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time_key(value: Any) -> str:
    """The sort key of an updated_at: normalised UTC text, or "" when it is not a usable time."""
    if not isinstance(value, str):
        return ""
    try:
        moment = datetime.fromisoformat(value.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        m = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return ""
    # Formatted by hand: strftime's %Y does not zero-pad years below 1000 on every platform.
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
        f".{m.microsecond:06d}Z"
    )


def _encode_cursor(key: str, member_id: str, epoch: int = 0) -> str:
    raw = json.dumps([key, member_id, epoch], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, str, int] | None:
    """(time key, id, epoch) of a cursor this registry gave out, else None."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    if (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[0], str)
        and isinstance(value[1], str)
        and isinstance(value[2], int)
    ):
        return value[0], value[1], value[2]
    return None


# --- responses --------------------------------------------------------------------------------


def _deflate(data: bytes) -> bytes:
    """Raw deflate blocks that can be concatenated with others (sync flush, no final block)."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


_DEFLATED_COMMA = _deflate(b",")
_DEFLATE_END = zlib.compressobj(1, zlib.DEFLATED, -15).flush()  # an empty final block
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def _gzip_joined(raw: bytes, pieces: list[bytes]) -> bytes:
    """A gzip body from deflated pieces of `raw`, so a page costs a CRC, not a compression."""
    trailer = struct.pack("<II", zlib.crc32(raw), len(raw) & 0xFFFFFFFF)
    return b"".join([_GZIP_HEADER, *pieces, _DEFLATE_END, trailer])


_Response = Response
_json_response = json_response


def _error(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> _Response:
    return _json_response(status, {"error": {"code": status, "message": message}}, headers)


def _etag_matches(header: str | None, etag: str) -> bool:
    for candidate in (header or "").split(","):
        candidate = candidate.strip().removeprefix("W/")
        if candidate in ("*", etag):
            return True
    return False


def _safe_media_name(name: str) -> bool:
    """Refuses anything that could leave the media folder."""
    return bool(name) and not any(bad in name for bad in ("/", "\\", "..", "\x00"))


def _member_id(raw: Any) -> str | None:
    if (
        isinstance(raw, dict)
        and isinstance(raw.get("id"), str | int)
        and not isinstance(raw.get("id"), bool)
    ):
        return str(raw["id"])
    return None


# --- the sandbox ------------------------------------------------------------------------------


class RegistrySandbox(Sandbox):
    """The registry contract served on loopback, with data and faults tests can change live."""

    name = "registry-sandbox"

    def __init__(
        self,
        members: list[Any] | None = None,
        *,
        generated: int | None = None,
        seed: int = 0,
        media_dir: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        public_host: str | None = None,
    ) -> None:
        if members is not None and generated is not None:
            raise ValueError("give either members or generated, not both")
        super().__init__(host=host, port=port, public_host=public_host)
        self.token = token
        self._files: dict[str, tuple[bytes, str]] = {}
        self._records: dict[str, Any] = {}  # internal id -> raw record
        self._entries: list[tuple[str, str]] = []  # sorted (time key, internal id)
        self._entry_of: dict[str, tuple[str, str]] = {}
        # internal id -> (JSON of the record as served, the same deflated), made once per change
        self._fragments: dict[str, tuple[bytes, bytes]] = {}
        self._anonymous = 0
        self._cursor_epoch = 0  # cursors of an earlier epoch have expired

        # the generated pool is always served, so generated members work in any sandbox
        for name, (data, content_type) in _generated_media().items():
            self._files[name] = (data, content_type)
        if generated is not None:
            members = generate_members(generated, seed)
        elif members is None:
            members = _load_sample()
        self.media_dir = Path(media_dir) if media_dir is not None else SAMPLE_REGISTRY / "media"
        for raw in members:
            self._store(raw if generated is not None else copy.deepcopy(raw))

    def start(self) -> RegistrySandbox:
        """Bind and serve in a daemon thread."""
        return super().start()  # type: ignore[no-any-return]

    def __enter__(self) -> RegistrySandbox:
        return self.start()

    def _on_bind(self) -> None:
        with self._lock:
            self._fragments.clear()  # the base URL in them may have changed
            for internal_id in self._records:
                self._fragment(internal_id)

    # data that tests change

    def upsert(self, member: dict[str, Any]) -> dict[str, Any]:
        """Add or replace a member (by id); updated_at becomes now unless the dict has one."""
        if not isinstance(member, dict):
            raise TypeError("upsert takes a member dict")
        raw = copy.deepcopy(member)
        if "updated_at" not in raw:
            raw["updated_at"] = _now()
        with self._lock:
            self._store(raw)
        return copy.deepcopy(raw)

    def remove(self, member_id: str) -> bool:
        """Delete a member from the registry entirely; False if there was none."""
        with self._lock:
            if member_id not in self._records:
                return False
            self._unindex(member_id)
            del self._records[member_id]
            return True

    def expire_cursors(self) -> None:
        """Refuse every cursor given out so far, as a registry does that rotated its cursor keys
        or keeps cursors only for a while: HTTP 400 `{"error": "invalid_cursor", ...}`."""
        with self._lock:
            self._cursor_epoch += 1

    def get(self, member_id: str) -> Any:
        """The stored raw record (a copy), or None."""
        with self._lock:
            return copy.deepcopy(self._records.get(member_id))

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def add_file(self, name: str, data: bytes, content_type: str) -> str:
        """Serve `data` at /media/{name}; returns its absolute URL once started, else its path."""
        if not _safe_media_name(name):
            raise ValueError(f"not a plain file name: {name!r}")
        with self._lock:
            self._files[name] = (bytes(data), content_type)
        return f"{self.url}/media/{name}" if self.port else f"/media/{name}"

    def _store(self, raw: Any) -> None:
        with self._lock:
            internal_id = _member_id(raw)
            if internal_id is None:
                self._anonymous += 1
                internal_id = f"\x00anonymous-{self._anonymous:06d}"
            if internal_id in self._records:
                self._unindex(internal_id)
            self._records[internal_id] = raw
            key = _time_key(raw.get("updated_at")) if isinstance(raw, dict) else ""
            entry = (key, internal_id)
            bisect.insort(self._entries, entry)
            self._entry_of[internal_id] = entry
            if self._server is not None:
                self._fragment(internal_id)

    def _unindex(self, internal_id: str) -> None:
        entry = self._entry_of.pop(internal_id)
        index = bisect.bisect_left(self._entries, entry)
        del self._entries[index]
        self._fragments.pop(internal_id, None)

    def _fragment(self, internal_id: str) -> tuple[bytes, bytes]:
        """The record as served (media URLs absolute), serialised and deflated once per change.

        Pages are then joined from these pieces: 500 members cost a join and a CRC, not a
        json.dumps and a gzip of a megabyte.
        """
        cached = self._fragments.get(internal_id)
        if cached is None:
            served = self._served(self._records[internal_id])
            text = json.dumps(served, ensure_ascii=False, default=str)
            try:
                raw = text.encode("utf-8")
            except UnicodeEncodeError:  # lone surrogates: escape them instead of failing
                raw = json.dumps(served, ensure_ascii=True, default=str).encode()
            cached = self._fragments[internal_id] = (raw, _deflate(raw))
        return cached

    def _served(self, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        out = dict(raw)
        if "logo_url" in raw:
            out["logo_url"] = self._absolute(raw["logo_url"])
        photos = raw.get("photos")
        if isinstance(photos, list):
            out["photos"] = [
                {**p, "url": self._absolute(p["url"])} if isinstance(p, dict) and "url" in p else p
                for p in photos
            ]
        return out

    def _absolute(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith("/") and not value.startswith("//"):
            return self.url + value
        return value

    # routes

    def _route(self, request: Request) -> _Response:
        method, path, query, headers = request.method, request.path, request.query, request.headers
        if path.startswith("/api/"):
            if method not in ("GET", "HEAD"):
                return _error(405, f"{method} is not allowed here", [("Allow", "GET, HEAD")])
            if self.token is not None and not self._authorised(headers.get("Authorization")):
                return _error(
                    401,
                    "missing or wrong bearer token",
                    [("WWW-Authenticate", 'Bearer realm="ifn"')],
                )
            if path == "/api/v1/members":
                return self._list(query)
            if path.startswith("/api/v1/members/"):
                return self._one(unquote(path.removeprefix("/api/v1/members/")))
            return _error(404, f"no such endpoint: {path}")
        if path.startswith("/media/"):
            if method not in ("GET", "HEAD"):
                return _error(405, f"{method} is not allowed here", [("Allow", "GET, HEAD")])
            return self._media(unquote(path.removeprefix("/media/")), headers.get("If-None-Match"))
        if path in ("/redirect", "/redirect-chain") and method in ("GET", "HEAD"):
            return self._redirect(path, query)
        return _error(404, f"no such endpoint: {path}")

    def _authorised(self, header: str | None) -> bool:
        scheme, _, credentials = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return False
        return hmac.compare_digest(credentials.strip().encode(), (self.token or "").encode())

    def _list(self, query: str) -> _Response:
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        limit = _DEFAULT_LIMIT
        if "limit" in params:
            text = params["limit"].strip()
            if not (text.isascii() and text.isdecimal()) or not 1 <= int(text) <= _MAX_LIMIT:
                return _error(400, f"limit must be an integer from 1 to {_MAX_LIMIT}")
            limit = int(text)
        since_key = None
        if "updated_since" in params:
            since_key = _time_key(params["updated_since"])
            if not since_key:
                return _error(400, "updated_since must be an ISO 8601 date-time")
        after = None
        if "cursor" in params:
            decoded = _decode_cursor(params["cursor"])
            if decoded is None:
                return _error(400, "cursor is not one this registry gave out")
            after = decoded[:2]
            if decoded[2] != self._cursor_epoch:
                message = "this cursor has expired; start again from the first page"
                return _json_response(400, {"error": "invalid_cursor", "message": message})
        with self._lock:
            start = 0
            if since_key is not None:
                start = bisect.bisect_left(self._entries, (since_key, ""))
            if after is not None:
                start = max(start, bisect.bisect_right(self._entries, after))
            page = self._entries[start : start + limit]
            parts = [self._fragment(internal_id) for _, internal_id in page]
            more = start + limit < len(self._entries)
        next_cursor = _encode_cursor(*page[-1], self._cursor_epoch) if page and more else None
        head, tail = b'{"data":[', b'],"next_cursor":%s}' % json.dumps(next_cursor).encode()
        body = b"".join([head, b",".join(raw for raw, _ in parts), tail])

        def gzipped() -> bytes:
            pieces = [_deflate(head)]
            for index, (_, deflated) in enumerate(parts):
                if index:
                    pieces.append(_DEFLATED_COMMA)
                pieces.append(deflated)
            pieces.append(_deflate(tail))
            return _gzip_joined(body, pieces)

        return _Response(200, body, is_json=True, gzipped=gzipped)

    def _one(self, member_id: str) -> _Response:
        with self._lock:
            if member_id.startswith("\x00") or member_id not in self._records:
                return _error(404, f"no member with id {member_id!r}")
            raw, deflated = self._fragment(member_id)
        return _Response(200, raw, is_json=True, gzipped=lambda: _gzip_joined(raw, [deflated]))

    def _media(self, name: str, if_none_match: str | None) -> _Response:
        if not _safe_media_name(name):
            return _error(404, "no such file")
        with self._lock:
            found = self._files.get(name)
        if found is None:
            found = self._media_file(name)
        if found is None:
            return _error(404, "no such file")
        data, content_type = found
        etag = f'"{hashlib.sha256(data).hexdigest()}"'
        headers = [("ETag", etag), ("Cache-Control", "public, max-age=60")]
        if _etag_matches(if_none_match, etag):
            return _Response(304, b"", headers)
        return _Response(200, data, [("Content-Type", content_type), *headers])

    def _media_file(self, name: str) -> tuple[bytes, str] | None:
        try:
            root = self.media_dir.resolve()
            path = (root / name).resolve()
            if not path.is_relative_to(root) or not path.is_file():
                return None
            data = path.read_bytes()
        except OSError:
            return None
        suffix = path.suffix.lower()
        guessed = _TYPES.get(suffix) or mimetypes.guess_type(path.name)[0]
        return data, guessed or "application/octet-stream"

    def _redirect(self, path: str, query: str) -> _Response:
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        to = params.get("to", "")
        if not to or any(ord(c) < 0x20 or ord(c) == 0x7F for c in to):
            return _error(400, "to must be a URL without control characters")
        hops = 1
        if path == "/redirect-chain":
            text = params.get("n", "1").strip()
            if not (text.isascii() and text.isdecimal()) or not 1 <= int(text) <= _MAX_HOPS:
                return _error(400, f"n must be an integer from 1 to {_MAX_HOPS}")
            hops = int(text)
        location = to
        if hops > 1:
            location = f"{self.url}/redirect-chain?n={hops - 1}&to={quote(to, safe='')}"
        return _json_response(302, {"location": location}, [("Location", location)])

    def _control(self, method: str, path: str, body: bytes) -> _Response:
        """Test-only endpoints, for a sandbox running in another process than the test."""
        if path == "/_sandbox/faults":
            return super()._control(method, path, body)
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            return _error(400, "the body is not JSON")
        if path == "/_sandbox/members" and method == "POST":
            if not isinstance(payload, dict):
                return _error(400, "a member is a JSON object")
            return _json_response(201, self._served(self.upsert(payload)))
        if path == "/_sandbox/expire-cursors" and method == "POST":
            self.expire_cursors()
            return _json_response(200, {"expired": True})
        if path.startswith("/_sandbox/members/") and method == "DELETE":
            member_id = unquote(path.removeprefix("/_sandbox/members/"))
            if not self.remove(member_id):
                return _error(404, f"no member with id {member_id!r}")
            return _json_response(200, {"removed": member_id})
        return _error(404, f"no such control endpoint: {method} {path}")


def _load_sample() -> list[Any]:
    path = SAMPLE_REGISTRY / "members.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"the sample registry {path} is missing; pass members= or generated="
        ) from None
    if isinstance(data, dict):
        data = data.get("data", data.get("members", []))
    if not isinstance(data, list):
        raise ValueError(f"{path} must hold a JSON list of members")
    return data


# --- generated registry -----------------------------------------------------------------------

_LEGAL = ["CV", "CV", "PT", "UD", "UD", "Koperasi", ""]
_WORDS_A = [
    "Sinar", "Karya", "Langkah", "Tapak", "Sumber", "Cipta", "Mitra", "Putra", "Putri", "Anugerah",
    "Berkah", "Cahaya", "Gemilang", "Bintang", "Mega", "Surya", "Harapan", "Insan", "Jejak", "Duta",
]  # fmt: skip
_WORDS_B = [
    "Jaya", "Abadi", "Sentosa", "Makmur", "Sejahtera", "Mandiri", "Bersama", "Lestari", "Mulia",
    "Utama", "Prima", "Nusantara", "Indah", "Rejeki", "Perkasa", "Kencana", "Sakti", "Mas", "Baru",
]  # fmt: skip
_WORDS_C = ["Footwear", "Shoes", "Sepatu", "Sandal", "Craft", "Collection"]
_WORDS_C_SUPPLIER = ["Komponen", "Leather", "Kulit", "Sol", "Material"]
_PLACES = [
    ("Jawa Timur", "Sidoarjo", "Sentra Tanggulangin"),
    ("Jawa Timur", "Mojokerto", "Sentra Sepatu Mojokerto"),
    ("Jawa Timur", "Magetan", "Sentra Kulit Magetan"),
    ("Jawa Timur", "Surabaya", None),
    ("Jawa Timur", "Pasuruan", None),
    ("Jawa Barat", "Bandung", "Sentra Sepatu Cibaduyut"),
    ("Jawa Barat", "Bogor", "Sentra Sepatu Ciomas"),
    ("Jawa Barat", "Tasikmalaya", None),
    ("Jawa Barat", "Bekasi", None),
    ("Jawa Tengah", "Surakarta", None),
    ("Jawa Tengah", "Semarang", None),
    ("Jawa Tengah", "Boyolali", None),
    ("Banten", "Tangerang", None),
    ("Banten", "Serang", None),
    ("DKI Jakarta", "Jakarta Timur", "PIK Pulogadung"),
    ("DI Yogyakarta", "Bantul", "Sentra Kulit Manding"),
    ("Bali", "Denpasar", None),
    ("Sumatera Barat", "Padang", None),
    ("Sulawesi Selatan", "Makassar", None),
]
_SHOE_CATEGORIES = {
    "sneakers": ("sneakers kasual", "casual sneakers"),
    "leather_shoes": ("sepatu kulit", "leather shoes"),
    "sandals": ("sandal dan selop", "sandals and slides"),
    "womens_flats": ("sepatu flat wanita", "women's flats"),
    "safety_shoes": ("sepatu keselamatan kerja", "safety shoes"),
    "boots": ("sepatu bot", "boots"),
}
_MATERIALS = {
    "cow_leather": ("kulit sapi", "cow leather"),
    "goat_leather": ("kulit kambing", "goat leather"),
    "sheep_leather": ("kulit domba", "sheep leather"),
    "suede": ("suede", "suede"),
    "nubuck": ("nubuk", "nubuck"),
    "synthetic_pu": ("kulit sintetis PU", "synthetic PU leather"),
    "canvas": ("kanvas", "canvas"),
    "textile": ("tekstil", "textile"),
    "rubber": ("karet", "rubber"),
    "eva": ("EVA", "EVA"),
    "tpu": ("TPU", "TPU"),
}
_MARKETS = {
    "US": ("Amerika Serikat", "the United States"),
    "BE": ("Belgia", "Belgium"),
    "CN": ("Tiongkok", "China"),
    "DE": ("Jerman", "Germany"),
    "JP": ("Jepang", "Japan"),
}
_FIRST = [
    "Budi", "Siti", "Agus", "Dewi", "Joko", "Sri", "Rudi", "Wahyu", "Rina", "Hendra", "Yuni",
    "Bambang", "Ayu", "Eko", "Fitri", "Slamet", "Nur", "Dian", "Hadi", "Lestari",
]  # fmt: skip
_LAST = [
    "Santoso", "Rahmawati", "Wijaya", "Setiawan", "Hidayat", "Saputra", "Kurniawan", "Susanti",
    "Prasetyo", "Handayani", "Nugroho", "Permata", "Gunawan", "Wibowo", "Lubis", "Siregar",
]  # fmt: skip
_CATEGORY_KEYS = sorted(_SHOE_CATEGORIES)
_MATERIAL_KEYS = sorted(_MATERIALS)
_SUPPLIER_MATERIALS = ["rubber", "eva", "tpu", "synthetic_pu", "textile", "cow_leather"]
_MARKET_KEYS = sorted(_MARKETS)
_YEAR_2025 = datetime(2025, 1, 1, tzinfo=UTC)
_PREFIXES = ["811", "812", "813", "821", "822", "852", "853", "857", "878", "896"]
_WHAT = {
    "brand": ("merek alas kaki lokal", "a local footwear brand"),
    "producer": ("produsen alas kaki", "a footwear producer"),
    "supplier": (
        "pemasok bahan dan komponen alas kaki",
        "a supplier of footwear materials and components",
    ),
}
_FIELDS_ALLOWED = ["owner_name", "owner_photo", "phone", "whatsapp", "email", "website"]


def _join_id(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " dan " + items[-1]


def _join_en(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _phone(rng: random.Random) -> str:
    return f"+62 {rng.choice(_PREFIXES)}-{rng.randrange(10000):04d}-{rng.randrange(10000):04d}"


def generate_members(
    n: int, seed: int = 0, *, media_names: list[str] | None = None
) -> list[dict[str, Any]]:
    """`n` valid, realistic members, the same for the same seed: benchmarks and demos at scale."""
    rng = random.Random(seed)
    if media_names:
        logos = photos_pool = list(media_names)
    else:
        logos = [m for m in GENERATED_MEDIA if "logo" in m]
        photos_pool = [m for m in GENERATED_MEDIA if "photo" in m]
    return [_generated_member(rng, i, logos, photos_pool) for i in range(1, n + 1)]


def _generated_member(
    rng: random.Random, i: int, logos: list[str], photos_pool: list[str]
) -> dict[str, Any]:
    """Member number `i`; every choice comes from `rng`, in a fixed order, for determinism."""
    roll = rng.random()
    if roll < 0.2:
        actor_types = ["supplier"]
    elif roll < 0.45:
        actor_types = ["brand"]
    elif roll < 0.75:
        actor_types = ["producer"]
    else:
        actor_types = ["brand", "producer"]
    supplier = actor_types == ["supplier"]
    words = [rng.choice(_WORDS_A), rng.choice(_WORDS_B)]
    if rng.random() < 0.4:
        words.append(rng.choice(_WORDS_C_SUPPLIER if supplier else _WORDS_C))
    business_name = " ".join([rng.choice(_LEGAL), *words]).strip()
    domain = "".join(words).lower()
    handle = domain[:26] + str(i % 100)
    province, city, sentra = rng.choice(_PLACES)
    if supplier:
        categories = ["components"]
        materials = rng.sample(_SUPPLIER_MATERIALS, 2)
    else:
        categories = rng.sample(_CATEGORY_KEYS, rng.randint(1, 3))
        materials = rng.sample(_MATERIAL_KEYS, rng.randint(1, 3))
    markets = [] if rng.random() < 0.55 else sorted(rng.sample(_MARKET_KEYS, rng.randint(1, 3)))
    year = rng.randint(1975, 2023)
    employees = rng.choice([rng.randint(3, 20), rng.randint(20, 150), rng.randint(150, 3000)])
    capacity = None if supplier else employees * rng.randint(40, 120)

    mats_id = _join_id([_MATERIALS[m][0] for m in materials])
    mats_en = _join_en([_MATERIALS[m][1] for m in materials])
    if categories == ["components"]:
        goods_id = f"sol, insole dan komponen berbahan {mats_id}"
        goods_en = f"soles, insoles and components in {mats_en}"
        volume_id = volume_en = ""
    else:
        goods_id = f"{_join_id([_SHOE_CATEGORIES[c][0] for c in categories])} berbahan {mats_id}"
        goods_en = f"{_join_en([_SHOE_CATEGORIES[c][1] for c in categories])} in {mats_en}"
        volume_id = f" dengan kapasitas sekitar {capacity:,} pasang per bulan".replace(",", ".")
        volume_en = f" with a capacity of about {capacity:,} pairs a month"
    export_id = export_en = ""
    if markets:
        export_id = f" Produk kami telah diekspor ke {_join_id([_MARKETS[m][0] for m in markets])}."
        export_en = f" We export to {_join_en([_MARKETS[m][1] for m in markets])}."
    place_id = f"{sentra}, {city}" if sentra else city
    description_id = (
        f"{business_name} adalah {' sekaligus '.join(_WHAT[a][0] for a in actor_types)} "
        f"dari {place_id}, {province}, yang berdiri sejak {year}. Kami membuat {goods_id}"
        f"{volume_id}.{export_id}"
    )
    description_en = (
        f"{business_name} is {' and '.join(_WHAT[a][1] for a in actor_types)} from {city}, "
        f"{province}, founded in {year}. We make {goods_en}{volume_en}.{export_en}"
    )

    updated = _YEAR_2025 + timedelta(seconds=rng.randrange(365 * 86400))
    granted = updated - timedelta(days=rng.randint(1, 200), seconds=rng.randrange(86400))
    phone = _phone(rng)
    certifications = []
    if rng.random() < 0.3:
        certifications.append({"scheme": "SNI", "number": f"SNI {rng.randint(1000, 9999)}:2019"})
    if rng.random() < 0.15:
        certifications.append(
            {"scheme": "ISO 9001:2015", "number": f"QMS-{rng.randint(10000, 99999)}"}
        )
    photo_count = rng.randint(1, 2)
    return {
        "id": f"gen-{i:06d}",
        "business_name": business_name,
        "actor_types": actor_types,
        "categories": categories,
        "materials": materials,
        "description_id": description_id,
        "description_en": description_en,
        "city": city,
        "province": province,
        "sentra": sentra,
        "year_founded": year,
        "employees": employees,
        "capacity_pairs_per_month": capacity,
        "export_markets": markets,
        "certifications": certifications,
        "contact": {
            "email": f"info@{domain}.co.id",
            "phone": phone,
            "whatsapp": phone if rng.random() < 0.7 else _phone(rng),
            "website": f"https://www.{domain}.co.id" if rng.random() < 0.6 else None,
        },
        "socials": {
            "instagram": handle,
            "facebook": handle if rng.random() < 0.7 else None,
            "youtube": handle if rng.random() < 0.3 else None,
            "tiktok": handle if rng.random() < 0.4 else None,
            "marketplaces": (
                [f"https://www.tokopedia.com/{handle}", f"https://shopee.co.id/{handle}"]
                if rng.random() < 0.5
                else []
            ),
        },
        "owner_name": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
        "logo_url": f"/media/{rng.choice(logos)}",
        "photos": [
            {"url": f"/media/{rng.choice(photos_pool)}", "alt": f"Produk {business_name}"}
            for _ in range(photo_count)
        ],
        "consent": {
            "granted_at": granted.isoformat().replace("+00:00", "Z"),
            "text_version": "2025-01",
            "channels": ["instagram", "facebook", "youtube"],
            "fields_allowed": sorted(
                rng.sample(_FIELDS_ALLOWED, rng.randint(2, len(_FIELDS_ALLOWED)))
            ),
            "withdrawn_at": None,
        },
        "status": "active",
        "updated_at": updated.isoformat().replace("+00:00", "Z"),
    }


@cache
def _generated_media() -> dict[str, tuple[bytes, str]]:
    """Four small images drawn once per process, so generated members have media to fetch."""
    from PIL import Image, ImageDraw

    palette = [((176, 58, 46), (244, 208, 63)), ((31, 97, 141), (236, 240, 241))]
    files: dict[str, tuple[bytes, str]] = {}
    for index, (back, fore) in enumerate(palette):
        logo = Image.new("RGB", (256, 256), back)
        draw = ImageDraw.Draw(logo)
        draw.ellipse((48, 48, 208, 208), fill=fore)
        draw.rectangle((96, 112, 160, 144), fill=back)
        buffer = io.BytesIO()
        logo.save(buffer, "PNG", optimize=True)
        files[f"gen-logo-{index}.png"] = (buffer.getvalue(), "image/png")

        photo = Image.new("RGB", (800, 600), fore)
        draw = ImageDraw.Draw(photo)
        draw.rectangle((0, 420, 800, 600), fill=(120, 120, 120))
        draw.rounded_rectangle((180, 260, 620, 430), radius=60, fill=back)  # a shoe, roughly
        draw.rectangle((180, 410, 640, 440), fill=(40, 40, 40))
        buffer = io.BytesIO()
        photo.save(buffer, "JPEG", quality=80)
        files[f"gen-photo-{index}.jpg"] = (buffer.getvalue(), "image/jpeg")
    return files


# --- CLI entry --------------------------------------------------------------------------------


def serve(
    host: str,
    port: int,
    *,
    generated: int | None = None,
    token: str | None = None,
    public_host: str | None = None,
    faults: list[Fault] | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the sample (or a generated) registry in this thread until Ctrl-C.

    `on_ready` receives the base URL once the socket is bound, so a caller asking for port 0
    can tell the user where it is.
    """
    sandbox = RegistrySandbox(
        generated=generated, host=host, port=port, token=token, public_host=public_host
    )
    sandbox.faults.extend(faults or [])
    sandbox._bind()
    server = sandbox._server
    assert server is not None
    if on_ready is not None:
        on_ready(sandbox.url)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.close_connections()
        sandbox._server = None
