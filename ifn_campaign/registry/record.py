"""One registry record, validated and normalised (pydantic), or every reason it cannot be stored.

The registry is outside our control: anything may be missing, wrong or hostile. `parse_record`
never raises on bad data; it returns either a normalised `MemberRecord` or the list of reasons,
so one bad record is quarantined and never stops the rest of its page.

Only what makes a record unusable quarantines it: no canonical id, a type the contract does not
allow, invalid Unicode, a required field missing or empty, a word outside the vocabulary, a bad
status, time, number, country or consent. Text that is merely long, a malformed handle or contact
detail, a bad media URL are data: the member is stored, the value kept, left out or refused later
by the media fetcher, and `MemberRecord.notes` says what was changed or left out and why.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import tomllib
import unicodedata
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, Literal, cast

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictInt,
    ValidationError,
    field_validator,
)

from ifn_campaign import bundled
from ifn_campaign.channels.channel import Channel as ChannelName
from ifn_campaign.registry.media import url_refusal

SOURCE_ERRORS = "_source_errors"  # problems a source found in the raw row (e.g. a ragged CSV line)
UNEXPECTED = "record: could not be validated"  # reason prefix when a validator itself failed
VOCABULARY_FILE = bundled.assets("vocabulary.toml")
# C0/C1 controls (except \t and \n, which are whitespace), zero-width space, BOM, the bidi marks,
# embeddings, overrides and isolates. ZWNJ/ZWJ (U+200C/D) stay: emoji sequences and several
# scripts need them.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # lone halves of a pair: not text at all
_SPACES = re.compile(r"[^\S\n]+")  # any Unicode whitespace but a line break
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # matched whole, never cleaned first
_SLUG = re.compile(r"[^a-z0-9]+")
_HANDLE = re.compile(r"^[A-Za-z0-9._-]{1,50}$")  # Instagram/TikTok/Facebook/YouTube handles
# Strings kept as sent (ids, links, times, country codes): the others are cleaned, and what
# cleaning removes from them is noted.
_AS_SENT = re.compile(
    r"id|logo_url|updated_at|photos\.\d+\.url|contact\.website|socials\.marketplaces\.\d+"
    r"|consent\.(?:granted_at|withdrawn_at)|export_markets\.\d+"
)
# Values that are data, not the record's identity: a bad one is left out with a note.
_LEFT_OUT = re.compile(
    r"contact\.(?:email|phone|whatsapp|website)|socials\.(?:instagram|facebook|youtube|tiktok)"
    r"|socials\.marketplaces\.\d+|materials\.\d+|city|province|sentra"
)
MAX_PHOTOS = 10  # an Instagram carousel's slides
# Text longer than this is stored whole; the note says how the output copes.
_LONG = {
    "business_name": (200, "cards fit it, captions cut it"),
    "owner_name": (200, "cards fit it, captions cut it"),
    "description_id": (5000, "captions cut it"),
    "description_en": (5000, "captions cut it"),
    "alt": (1000, "Instagram alt text is cut to 1,000"),
    "scheme": (120, "captions cut it"),
    "number": (120, "captions cut it"),
}
_HANDLE_URL = re.compile(
    r"^(?:https?://)?(?:[a-z0-9-]+\.)*(instagram|facebook|youtube|tiktok)\.com/+@?([^/?#]*)",
    re.I,
)
# First path segments of platform URLs that are not a profile (a post, a channel id, a search).
_NOT_PROFILE = frozenset(
    {
        *("", "p", "reel", "reels", "stories", "explore", "tv", "accounts", "feed", "login"),
        *("channel", "c", "user", "watch", "shorts", "playlist", "results", "search"),
        *("profile.php", "people", "pages", "groups", "share", "sharer", "sharer.php"),
        *("video", "videos", "photo", "photos", "events", "hashtag", "tag", "music", "discover"),
    }
)


@cache
def vocabulary() -> dict[str, dict[str, dict[str, str]]]:
    """Actor types, categories and materials with their Indonesian and English names."""
    with VOCABULARY_FILE.open("rb") as fh:
        return tomllib.load(fh)


def clean_text(value: Any, *, multiline: bool = False) -> Any:
    """NFC, no control or bidi-override characters, single spaces; '' becomes None.

    With `multiline`, line breaks stay (at most one blank line between paragraphs)."""
    if not isinstance(value, str):
        return value
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2029", "\n\n").replace("\u2028", "\n")
    # Controls go before NFC: a stripped control between a letter and its accent would
    # otherwise leave the pair decomposed.
    text = unicodedata.normalize("NFC", _CONTROL.sub("", text))
    if multiline:
        lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    else:
        text = _SPACES.sub(" ", text.replace("\n", " ")).strip()
    return text or None


def slug(value: Any) -> Any:
    """'Cow Leather' and 'cow-leather' are the same word: cow_leather (invisible characters go
    first, as in `clean_text`: 'b<NUL>rand' is brand)."""
    if not isinstance(value, str):
        return value
    value = unicodedata.normalize("NFKD", _CONTROL.sub("", value))
    return _SLUG.sub("_", value.lower()).strip("_")


def _controls(value: str) -> list[str]:
    """The characters `clean_text` removes from `value` (a CR becomes a line break, not removed)."""
    return _CONTROL.findall(value.replace("\r", "\n"))


def _code(char: str) -> str:
    return f"U+{ord(char):04X}"


def _unique(values: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen


def _listify(value: Any) -> Any:
    """null is an empty list; anything but a list is refused (pydantic would take a tuple)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"expected a list, got {_kind(value)}")
    return value


def _objectify(value: Any) -> Any:
    """null is an empty object; [] or "" is not (it would pass as one if tested for truth)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"expected an object, got {_kind(value)}")
    return value


def stored_map(value: Any) -> dict[str, Any]:
    """A stored row's map (`contact`, `socials`) as readers may use it: what the sync writes is
    always a map, but a hand edit or an old row may hold null, a list or a string, which reads
    as empty (no contact detail) rather than failing the page or the run that reads it."""
    return value if isinstance(value, dict) else {}


def stored_list(value: Any) -> list[Any]:
    """A stored row's list (`categories`, `certifications`, ...) as readers may use it: anything
    but a list reads as empty (see `stored_map`); its items are the caller's to check."""
    return value if isinstance(value, list) else []


def _kind(value: Any) -> str:
    kinds = {bool: "a boolean", int: "a number", float: "a number", str: "a string"}
    kinds |= {dict: "an object", list: "a list", type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


def _iso_time(value: Any) -> Any:
    """The contract's times are ISO 8601 text; pydantic would also read a unix number."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 time, got {_kind(value)}")
    if not re.match(r"\s*\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"not an ISO 8601 time: {value[:40]!r}")
    return value


def _as_sent(value: Any) -> Any:
    """Links are kept as sent (only surrounding blanks go): whether one is usable is the media
    fetcher's or the link check's decision, so a bad one never costs the member."""
    if not isinstance(value, str):
        return value
    return value.strip() or None


def _canonical_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise ValueError(
            f"{value[:80]!r} is not a canonical id (1-64 of A-Z a-z 0-9 . _ -, starting with a"
            " letter or digit); ids are never rewritten"
        )
    return value


def _known(kind: str) -> Any:
    def check(values: list[str]) -> list[str]:
        known = vocabulary()[kind]
        unknown = [v for v in values if v not in known]
        if unknown:
            raise ValueError(f"unknown {kind.replace('_', ' ')} {', '.join(map(repr, unknown))}")
        return _unique(values)

    return check


def _http_url(value: str | None) -> str | None:
    """A link we show (website, marketplace): the same rules as a media URL we fetch."""
    if value is None:
        return None
    refusal = url_refusal(value)
    if refusal is not None:
        raise ValueError(f"{refusal[0]}, {refusal[1]}: {value[:80]!r}")
    return value


def _phone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        number = phonenumbers.parse(value, "ID")
    except phonenumbers.NumberParseException:
        raise ValueError(f"not a phone number: {value[:40]!r}") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"not a possible phone number: {value[:40]!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"not an email address: {exc}") from None


def _handle(value: str | None, platform: str | None = None) -> str | None:
    """A platform handle without '@', also when given as that platform's profile URL."""
    if value is None:
        return None
    match = _HANDLE_URL.match(value)
    if match:
        site, handle = match.group(1).lower(), match.group(2)
        if platform is not None and site != platform:
            raise ValueError(f"a {site} link, not a {platform} handle: {value[:60]!r}")
        if handle.lower() in _NOT_PROFILE:
            raise ValueError(f"not a profile link (give the @handle): {value[:60]!r}")
    else:
        handle = value.removeprefix("@")
    if not _HANDLE.match(handle):
        raise ValueError(f"not a handle: {value[:60]!r}")
    return handle


def _handle_on(platform: str) -> Any:
    return lambda value: _handle(value, platform)


def _country(value: str) -> str:
    code = value.strip()
    if not re.fullmatch(r"[A-Za-z]{2}", code):  # before upper(): 'ß'.upper() is 'SS'
        raise ValueError(f"not an ISO 3166 alpha-2 country code: {value[:10]!r}")
    code = code.upper()
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"not an ISO 3166 alpha-2 country code: {value[:10]!r}")
    return code


def _utc(value: datetime) -> datetime:
    """Times are kept in UTC, so one instant written with two offsets is the same value."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("date is out of range") from None


Text = Annotated[str, BeforeValidator(clean_text)]
LongText = Annotated[str, BeforeValidator(lambda v: clean_text(v, multiline=True))]
Url = Annotated[str | None, BeforeValidator(_as_sent), AfterValidator(_http_url)]
MediaUrl = Annotated[str, BeforeValidator(lambda v: v.strip() if isinstance(v, str) else v)]
UtcTime = Annotated[AwareDatetime, BeforeValidator(_iso_time), AfterValidator(_utc)]
Slug = Annotated[str, BeforeValidator(slug), Field(min_length=1, max_length=64)]
SlugList = Annotated[list[Slug], BeforeValidator(_listify)]
Object = BeforeValidator(_objectify)
Channel = Literal[tuple(member.value for member in ChannelName)]  # type: ignore[valid-type]
"""A channel a member consents to: the names of `ifn_campaign.channels.channel.Channel`."""


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Certification(_Part):
    scheme: Text
    number: Text | None = None


class Contact(_Part):
    email: Annotated[str | None, BeforeValidator(clean_text), AfterValidator(_email)] = None
    phone: Annotated[str | None, BeforeValidator(clean_text), AfterValidator(_phone)] = None
    whatsapp: Annotated[str | None, BeforeValidator(clean_text), AfterValidator(_phone)] = None
    website: Url = None


Handle = Annotated[str | None, BeforeValidator(clean_text)]


class Socials(_Part):
    instagram: Annotated[Handle, AfterValidator(_handle_on(ChannelName.INSTAGRAM))] = None
    facebook: Annotated[Handle, AfterValidator(_handle_on(ChannelName.FACEBOOK))] = None
    youtube: Annotated[Handle, AfterValidator(_handle_on(ChannelName.YOUTUBE))] = None
    tiktok: Annotated[Handle, AfterValidator(_handle_on("tiktok"))] = None
    marketplaces: Annotated[
        list[Annotated[str, BeforeValidator(_as_sent), AfterValidator(_http_url)]],
        BeforeValidator(_listify),
        AfterValidator(_unique),
    ] = []


class Photo(_Part):
    url: MediaUrl
    alt: Text | None = None


class Consent(_Part):
    granted_at: UtcTime | None = None
    text_version: Annotated[Text | None, Field(max_length=64)] = None
    channels: Annotated[
        list[Annotated[Channel, BeforeValidator(slug)]], BeforeValidator(_listify)
    ] = []
    fields_allowed: SlugList = []
    withdrawn_at: UtcTime | None = None

    @field_validator("channels", "fields_allowed")
    @classmethod
    def _dedupe(cls, values: list[str]) -> list[str]:
        return _unique(values)


class MemberRecord(BaseModel):
    """A registry member as the contract describes it (docs/reference/registry-contract.md),
    normalised."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: Annotated[str, AfterValidator(_canonical_id)]
    business_name: Annotated[Text, Field(min_length=1)]
    actor_types: Annotated[
        list[Slug],
        BeforeValidator(_listify),
        Field(min_length=1),
        AfterValidator(_known("actor_types")),
    ]
    categories: Annotated[SlugList, AfterValidator(_known("categories"))] = []
    materials: Annotated[SlugList, AfterValidator(_unique)] = []
    description_id: Annotated[LongText, Field(min_length=1)]
    description_en: LongText | None = None
    city: Annotated[Text | None, Field(max_length=120)] = None
    province: Annotated[Text | None, Field(max_length=120)] = None
    sentra: Annotated[Text | None, Field(max_length=120)] = None
    year_founded: Annotated[StrictInt | None, Field(ge=1800)] = None
    employees: Annotated[StrictInt | None, Field(ge=0, le=1_000_000)] = None
    capacity_pairs_per_month: Annotated[StrictInt | None, Field(ge=0, le=1_000_000_000)] = None
    export_markets: Annotated[
        list[Annotated[str, AfterValidator(_country)]],
        BeforeValidator(_listify),
        AfterValidator(_unique),
    ] = []
    certifications: Annotated[
        list[Certification], BeforeValidator(_listify), AfterValidator(_unique)
    ] = []
    contact: Annotated[Contact, Object] = Contact()
    socials: Annotated[Socials, Object] = Socials()
    owner_name: Text | None = None
    logo_url: Annotated[str | None, BeforeValidator(_as_sent)] = None
    photos: Annotated[list[Photo], BeforeValidator(_listify)] = []
    consent: Annotated[Consent, Object] = Consent()
    status: Annotated[Literal["active", "suspended", "deleted"], BeforeValidator(slug)]
    updated_at: UtcTime
    _notes: list[str] = PrivateAttr(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """What validation removed from or left out of the registry's values, and why."""
        return self._notes

    @field_validator("year_founded")
    @classmethod
    def _not_future(cls, value: int | None) -> int | None:
        if value is not None and value > datetime.now(UTC).year:
            raise ValueError(f"year {value} is in the future")
        return value

    def profile(self) -> dict[str, Any]:
        """The stored profile: every field except the registry's own timestamp, JSON-ready."""
        data = self.model_dump(mode="json", exclude={"updated_at", "consent"})
        consent = self.consent
        data.update(
            consent_granted_at=consent.granted_at,
            consent_text_version=consent.text_version,
            consent_channels=list(consent.channels),
            consent_fields_allowed=list(consent.fields_allowed),
            consent_withdrawn_at=consent.withdrawn_at,
            notes=list(self._notes) or None,
        )
        return data

    def content_hash(self) -> str:
        """Changes exactly when the normalised profile or its notes change (not when only
        updated_at does). Without notes it is the hash the profile had before notes existed."""
        data = self.model_dump(mode="json", exclude={"updated_at"})
        if self._notes:  # a fixed record must be written again, if only to drop its notes
            data["notes"] = self._notes
        canonical = json.dumps(
            data,
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def _reason(error: Any) -> str:
    where = _path(error["loc"]) or "record"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"{where}: required field is missing"
    if error["type"] == "string_type" and error.get("input") is None:
        return f"{where}: required field is empty"
    return f"{where}: {message}"


def _path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def _printable(text: str) -> str:
    """Reasons and notes are stored and printed: no lone surrogate may reach them."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def record_id(raw: Any) -> str | None:
    """The id of a raw record if it is canonical: one that is not is never matched to a stored
    member (it could otherwise stand for another one)."""
    value = raw.get("id") if isinstance(raw, dict) else None
    return value if isinstance(value, str) and _ID.fullmatch(value) else None


def _texts(value: Any, path: str, part: type[BaseModel] | None = None) -> list[tuple[str, str]]:
    """Every string under `value` that the model reads, with its path (list items by index)."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, list):
        return [t for i, v in enumerate(value) for t in _texts(v, f"{path}.{i}", part)]
    if isinstance(value, dict) and part is not None:
        return [t for k in part.model_fields if k in value for t in _texts(value[k], f"{path}.{k}")]
    return []


def _inspect(raw: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(reasons, notes) from the raw strings: invalid Unicode quarantines, removed characters
    are noted with the field they came from."""
    parts: dict[str, type[BaseModel]] = {
        "certifications": Certification,
        "contact": Contact,
        "socials": Socials,
        "photos": Photo,
        "consent": Consent,
    }
    reasons: list[str] = []
    notes: list[str] = []
    for name in MemberRecord.model_fields:
        for path, text in _texts(raw.get(name), name, parts.get(name)):
            halves = _unique(_SURROGATE.findall(text))
            if halves:
                codes = ", ".join(_code(c) for c in halves[:5])
                reasons.append(f"{path}: lone surrogate {codes} (not valid Unicode text)")
            elif not _AS_SENT.fullmatch(path) and (removed := _controls(text)):
                codes = ", ".join(_code(c) for c in _unique(removed)[:5])
                notes.append(
                    f"{path}: removed {len(removed)} control or invisible character"
                    f"{'s' if len(removed) > 1 else ''} ({codes})"
                )
    return reasons, notes


def _media(raw: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """A logo or photo that cannot be read is that picture's problem, never the member's: a
    logo that is not text is left out; a photo without a URL keeps its place with an empty URL,
    which the media fetcher refuses (`invalid_url`); an alt that is not text is left out."""
    logo, photos = raw.get("logo_url"), raw.get("photos")
    fixed: dict[str, Any] = {}
    if logo is not None and not isinstance(logo, str):
        notes.append(f"logo_url: expected a URL as text, got {_kind(logo)}; no logo (left out)")
        fixed["logo_url"] = None
    if photos is not None and not isinstance(photos, list):
        notes.append(f"photos: expected a list, got {_kind(photos)}; no photos (left out)")
        fixed["photos"] = []
    elif isinstance(photos, list):
        fixed["photos"] = [_photo(item, f"photos.{i}", notes) for i, item in enumerate(photos)]
    return {**raw, **fixed} if fixed else raw


def _photo(item: Any, path: str, notes: list[str]) -> dict[str, Any]:
    """One photo item as {url, alt}: what cannot be read is noted and emptied, never guessed."""
    if not isinstance(item, dict):
        notes.append(f"{path}: expected an object with url and alt, got {_kind(item)}; refused")
        return {"url": "", "alt": None}
    url, alt = item.get("url"), item.get("alt")
    if not isinstance(url, str) or not url.strip():
        got = "missing" if url is None else "empty" if isinstance(url, str) else None
        got = got or f"expected a URL as text, got {_kind(url)}"
        notes.append(f"{path}.url: {got}: the photo has no URL to fetch, refused")
        url = ""
    if alt is not None and not isinstance(alt, str):
        notes.append(f"{path}.alt: expected text, got {_kind(alt)} (left out)")
        alt = None
    return {**item, "url": url, "alt": alt}


def _capped(raw: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """More photos than a carousel holds: the first ones are kept."""
    photos = raw.get("photos")
    if isinstance(photos, list) and len(photos) > MAX_PHOTOS:
        notes.append(f"photos: {len(photos)} given, the first {MAX_PHOTOS} kept")
        return {**raw, "photos": photos[:MAX_PHOTOS]}
    return raw


def _left_out(error: Any) -> bool:
    """A bad value of a field that is data, not identity: left out instead of quarantining.
    Wrong types are never left out: they mean the registry broke the contract."""
    return not error["type"].endswith("_type") and bool(_LEFT_OUT.fullmatch(_path(error["loc"])))


def _without(raw: dict[str, Any], locs: list[tuple[Any, ...]]) -> dict[str, Any]:
    """A copy of `raw` with the values at `locs` removed (list items) or nulled (fields)."""
    work = copy.deepcopy(raw)
    for loc in sorted(locs, key=lambda loc: [str(p).zfill(9) for p in loc], reverse=True):
        target: Any = work
        for part in loc[:-1]:
            target = target[part]
        if isinstance(target, list):
            del target[loc[-1]]
        else:
            target[loc[-1]] = None
    return work


def _long_notes(record: MemberRecord) -> list[str]:
    """Text over what the output shows is stored whole; the note says how the output copes."""
    found = [(name, getattr(record, name)) for name in ("business_name", "owner_name")]
    found += [("description_id", record.description_id), ("description_en", record.description_en)]
    for i, photo in enumerate(record.photos):
        found.append((f"photos.{i}.alt", photo.alt))
    for i, cert in enumerate(record.certifications):
        found += [(f"certifications.{i}.scheme", cert.scheme)]
        found += [(f"certifications.{i}.number", cert.number)]
    notes = []
    for path, text in found:
        limit, how = _LONG[path.rsplit(".", 1)[-1]]
        if text is not None and len(text) > limit:
            notes.append(f"{path}: {len(text):,} characters, over {limit:,}: {how}")
    return notes


def _validate(raw: dict[str, Any], notes: list[str]) -> MemberRecord | list[str]:
    """The record, leaving out (with a note) values that are data; or every reason."""
    work = raw
    for _attempt in range(3):  # leaving values out cannot make new errors; 3 is a safety net
        try:
            return MemberRecord.model_validate(work)
        except ValidationError as exc:
            errors = cast(list[Any], exc.errors())
        if not all(_left_out(e) for e in errors):
            return [_reason(e) for e in errors]
        notes += [f"{_reason(e)} (left out)" for e in errors]
        work = _without(work, [e["loc"] for e in errors])
    return [f"{UNEXPECTED}: values left out did not make it valid"]


def parse_record(raw: Any) -> MemberRecord | list[str]:
    """The normalised record with its notes, or every reason it is unusable (never raises on
    bad data)."""
    if not isinstance(raw, dict):
        return [f"record: expected a JSON object, got {type(raw).__name__}"]
    found = raw.get(SOURCE_ERRORS)
    found = [found] if isinstance(found, str) else found if isinstance(found, list) else []
    reasons = [r for r in found if isinstance(r, str) and r]
    broken, notes = _inspect(raw)
    try:
        parsed = _validate(_capped(_media(raw, notes), notes), notes)
    except Exception as exc:  # a library choking on odd input must not stop the page
        parsed = [f"{UNEXPECTED}: {type(exc).__name__}: {str(exc)[:200]}"]
    if isinstance(parsed, list) or reasons or broken:
        problems = parsed if isinstance(parsed, list) else []
        return [_printable(r) for r in _unique(reasons + broken + problems)]
    parsed._notes = [_printable(n) for n in notes + _long_notes(parsed)]
    return parsed
