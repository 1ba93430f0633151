"""One registry record, validated and normalised (pydantic), or every reason it cannot be stored.

The registry is outside our control: anything may be missing, wrong or hostile. `parse_record`
never raises on bad data; it returns either a normalised `MemberRecord` or the list of reasons,
so one bad record is quarantined and never stops the rest of its page.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
import unicodedata
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

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
    ValidationError,
    field_validator,
)

SOURCE_ERRORS = "_source_errors"  # problems a source found in the raw row (e.g. a ragged CSV line)
UNEXPECTED = "record: could not be validated"  # reason prefix when a validator itself failed
VOCABULARY_FILE = Path(__file__).resolve().parents[2] / "assets" / "vocabulary.toml"
# C0/C1 controls (except \t and \n, which are whitespace), zero-width space, BOM, the bidi marks,
# embeddings, overrides and isolates. ZWNJ/ZWJ (U+200C/D) stay: emoji sequences and several
# scripts need them.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
_SPACES = re.compile(r"[^\S\n]+")  # any Unicode whitespace but a line break
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SLUG = re.compile(r"[^a-z0-9]+")
_HANDLE = re.compile(r"^[A-Za-z0-9._-]{1,50}$")  # Instagram/TikTok/Facebook/YouTube handles
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
    """'Cow Leather' and 'cow-leather' are the same word: cow_leather."""
    if not isinstance(value, str):
        return value
    return _SLUG.sub("_", unicodedata.normalize("NFKD", value).lower()).strip("_")


def _unique(values: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen


def _listify(value: Any) -> Any:
    return [] if value is None else value


def _known(kind: str) -> Any:
    def check(values: list[str]) -> list[str]:
        known = vocabulary()[kind]
        unknown = [v for v in values if v not in known]
        if unknown:
            raise ValueError(f"unknown {kind.replace('_', ' ')} {', '.join(map(repr, unknown))}")
        return _unique(values)

    return check


def _http_url(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > 2048:
        raise ValueError("URL longer than 2048 characters")
    if not re.match(r"^https?://[^\s/?#@]+(?:[/?#]\S*)?$", value, re.I):
        raise ValueError(f"not an http(s) URL: {value[:80]!r}")
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
Url = Annotated[str | None, BeforeValidator(clean_text), AfterValidator(_http_url)]
UtcTime = Annotated[AwareDatetime, AfterValidator(_utc)]
Slug = Annotated[str, BeforeValidator(slug), Field(min_length=1, max_length=64)]
SlugList = Annotated[list[Slug], BeforeValidator(_listify)]
Channel = Literal["instagram", "facebook", "youtube"]


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Certification(_Part):
    scheme: Annotated[Text, Field(max_length=120)]
    number: Annotated[Text | None, Field(max_length=120)] = None


class Contact(_Part):
    email: Annotated[str | None, BeforeValidator(clean_text), AfterValidator(_email)] = None
    phone: Annotated[str | None, BeforeValidator(clean_text), AfterValidator(_phone)] = None
    whatsapp: Annotated[str | None, BeforeValidator(clean_text), AfterValidator(_phone)] = None
    website: Url = None


Handle = Annotated[str | None, BeforeValidator(clean_text)]


class Socials(_Part):
    instagram: Annotated[Handle, AfterValidator(_handle_on("instagram"))] = None
    facebook: Annotated[Handle, AfterValidator(_handle_on("facebook"))] = None
    youtube: Annotated[Handle, AfterValidator(_handle_on("youtube"))] = None
    tiktok: Annotated[Handle, AfterValidator(_handle_on("tiktok"))] = None
    marketplaces: Annotated[
        list[Annotated[str, BeforeValidator(clean_text), AfterValidator(_http_url)]],
        BeforeValidator(_listify),
        AfterValidator(_unique),
    ] = []


class Photo(_Part):
    url: Annotated[str, BeforeValidator(clean_text), AfterValidator(_http_url)]
    alt: Annotated[Text | None, Field(max_length=1000)] = None


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
    """A registry member as the contract in DESIGN.md describes it, normalised."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: Annotated[str, BeforeValidator(clean_text), Field(pattern=_ID.pattern)]
    business_name: Annotated[Text, Field(min_length=1, max_length=200)]
    actor_types: Annotated[list[Slug], Field(min_length=1), AfterValidator(_known("actor_types"))]
    categories: Annotated[SlugList, AfterValidator(_known("categories"))] = []
    materials: Annotated[SlugList, AfterValidator(_unique)] = []
    description_id: Annotated[LongText, Field(min_length=1, max_length=5000)]
    description_en: Annotated[LongText | None, Field(max_length=5000)] = None
    city: Annotated[Text | None, Field(max_length=120)] = None
    province: Annotated[Text | None, Field(max_length=120)] = None
    sentra: Annotated[Text | None, Field(max_length=120)] = None
    year_founded: Annotated[int | None, Field(ge=1800)] = None
    employees: Annotated[int | None, Field(ge=0, le=1_000_000)] = None
    capacity_pairs_per_month: Annotated[int | None, Field(ge=0, le=1_000_000_000)] = None
    export_markets: Annotated[
        list[Annotated[str, AfterValidator(_country)]],
        BeforeValidator(_listify),
        AfterValidator(_unique),
    ] = []
    certifications: Annotated[
        list[Certification], BeforeValidator(_listify), AfterValidator(_unique)
    ] = []
    contact: Annotated[Contact, BeforeValidator(lambda v: v or {})] = Contact()
    socials: Annotated[Socials, BeforeValidator(lambda v: v or {})] = Socials()
    owner_name: Annotated[Text | None, Field(max_length=200)] = None
    logo_url: Url = None
    photos: Annotated[list[Photo], BeforeValidator(_listify), Field(max_length=10)] = []
    consent: Annotated[Consent, BeforeValidator(lambda v: v or {})] = Consent()
    status: Annotated[Literal["active", "suspended", "deleted"], BeforeValidator(slug)]
    updated_at: UtcTime

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
        )
        return data

    def content_hash(self) -> str:
        """Changes exactly when the normalised profile changes (not when only updated_at does)."""
        canonical = json.dumps(
            self.model_dump(mode="json", exclude={"updated_at"}),
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def _reason(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"]) or "record"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"{where}: required field is missing"
    if error["type"] == "string_type" and error.get("input") is None:
        return f"{where}: required field is empty"
    return f"{where}: {message}"


def record_id(raw: Any) -> str | None:
    """The id of a raw record if it has a usable one, for the quarantine."""
    if isinstance(raw, dict) and isinstance(raw.get("id"), str | int):
        text = clean_text(str(raw["id"]))
        return text[:256] if text else None
    return None


def parse_record(raw: Any) -> MemberRecord | list[str]:
    """The normalised record, or every reason it is unusable (never raises on bad data)."""
    if not isinstance(raw, dict):
        return [f"record: expected a JSON object, got {type(raw).__name__}"]
    found = raw.get(SOURCE_ERRORS)
    found = [found] if isinstance(found, str) else found if isinstance(found, list) else []
    reasons = [r for r in found if isinstance(r, str) and r]
    try:
        record = MemberRecord.model_validate(raw)
    except ValidationError as exc:
        return _unique(reasons + [_reason(e) for e in exc.errors()])
    except Exception as exc:  # a library choking on odd input must not stop the page
        return [*reasons, f"{UNEXPECTED}: {type(exc).__name__}: {str(exc)[:200]}"]
    return reasons or record
