"""Settings: one TOML file, every key overridable by an `IFN_...` environment variable.

Read once (`load_settings`) and passed in; nothing else reads the environment but the secret
lookup (`ifn_campaign.secrets`). Nested keys use a double underscore: `registry.page_size` is
`IFN_REGISTRY__PAGE_SIZE`. Secrets (the registry token, platform tokens) are accepted only from
the environment or a Prefect Secret block, never from the file, so a committed or shared config
can never leak one.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tempfile
import threading
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from ifn_campaign.errors import SettingsError

CONFIG_ENV = "IFN_CONFIG"
DEFAULT_CONFIG_FILE = Path("ifn-campaign.toml")
_LOADING = threading.Lock()
SECRET_KEYS: tuple[tuple[str, str], ...] = (("registry", "token"), ("member_page", "secret"))


class DatabaseSettings(BaseModel):
    """Where members, posts and the ledger live."""

    url: str = Field(
        "sqlite:///var/ifn-campaign.db",
        description="SQLAlchemy URL; SQLite (WAL mode) by default, PostgreSQL via postgresql+psycopg://",
    )


class RegistrySettings(BaseModel):
    """How to reach the IFN member registry."""

    base_url: str = Field(
        "http://127.0.0.1:8765", description="Registry root; the sample registry's by default"
    )
    token: SecretStr | None = Field(
        None, description="Bearer token; environment only (IFN_REGISTRY__TOKEN)"
    )
    token_secret_block: str | None = Field(
        None,
        description="Name of the secret holding the bearer token, read as every secret is: "
        "IFN_SECRET_<NAME>, else the Prefect Secret block of that name",
    )
    page_size: int = Field(200, ge=1, le=500, description="Members per page (1..500)")
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to connect")
    read_timeout: float = Field(30.0, gt=0, description="Seconds to wait for a response")
    deadline: float = Field(
        120.0,
        gt=0,
        description="Seconds one page may take in all (headers and body): a registry sending "
        "a byte at a time is cut off, and the page tried again",
    )
    max_bytes: int = Field(
        32 * 1024 * 1024,
        ge=64 * 1024,
        description="Largest page read, in bytes (decoded); a bigger one is refused while it "
        "streams, and tried again",
    )
    retries: int = Field(5, ge=0, le=20, description="Retries on 429, 5xx and broken connections")
    backoff_factor: float = Field(0.5, ge=0, description="Exponential backoff base in seconds")
    backoff_max: float = Field(30.0, ge=0, description="Longest backoff between retries")
    backoff_jitter: float = Field(0.5, ge=0, description="Random seconds added to each backoff")
    retry_after_max: float = Field(
        120.0, ge=0, description="Longest Retry-After we honour before giving up"
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        _no_credentials(
            value, "put the token in IFN_REGISTRY__TOKEN or registry.token_secret_block"
        )
        return value.rstrip("/")


def loopback(host: str | None) -> bool:
    """Whether `host` names this machine (a secret may cross it unencrypted)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _no_credentials(url: str, instead: str) -> None:
    """A URL setting never holds a user name or password: the URL is shown in messages, sync
    runs, lock names and Prefect artifacts. (The message does not repeat the URL.)"""
    if "@" in urlsplit(url).netloc:
        raise ValueError(f"a user name or password in the URL is refused: {instead}")


class MediaSettings(BaseModel):
    """The safe fetcher's limits for member logos and product photos."""

    dir: Path = Field(Path("var/media"), description="Content-addressed media store")
    max_bytes: int = Field(15 * 1024 * 1024, gt=0, description="Largest file fetched, in bytes")
    max_pixels: int = Field(
        40_000_000, gt=0, description="Largest image, in pixels (decompression bombs)"
    )
    allow_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts (or host:port) fetched even though they resolve to a non-public address",
    )
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to connect")
    read_timeout: float = Field(20.0, gt=0, description="Seconds between bytes")
    fetch_deadline: float = Field(
        20.0, gt=0, description="Seconds one fetch may take in all (every hop, headers and body)"
    )
    max_redirects: int = Field(5, ge=0, le=20, description="Redirects followed, each re-checked")
    workers: int = Field(
        8, ge=1, le=64, description="Parallel media fetches, run while the next pages are written"
    )


class SyncSettings(BaseModel):
    """What a sync does besides storing profiles."""

    fetch_media: bool = Field(True, description="Fetch logos and photos of new or changed members")


class LogSettings(BaseModel):
    """Where the CLI writes what the terminal does not show: the traceback of an unexpected
    error (the terminal gets one `error:` line). Secrets are blanked before writing."""

    file: Path = Field(
        Path("var/log/ifn-campaign.log"), description="Rotating log file under the data directory"
    )
    max_bytes: int = Field(1_000_000, ge=10_000, description="Size at which the file rotates")
    backups: int = Field(5, ge=1, le=100, description="Rotated files kept (.1 ... .N)")


class TemplatesSettings(BaseModel):
    """A user's own templates, kept outside the install so an upgrade never overwrites them."""

    dir: Path | None = Field(
        None,
        description="Folder of your own templates, laid out as the shipped ones (cards/, "
        "captions/, report/, preview/, shorts/, campaigns/): each file there is used instead of "
        "the shipped file of the same path, every other file stays the shipped one. Unset: only "
        "the shipped templates. planner.campaigns_dir, when set, replaces the campaigns instead",
    )


class CardsSettings(BaseModel):
    """Where promo cards are drawn and previewed."""

    cache_dir: Path = Field(
        Path("var/cards"), description="Content-addressed card files (unchanged cards are reused)"
    )
    preview_dir: Path = Field(
        Path("var/preview"), description="`render` writes files and preview here"
    )
    template: str = Field("sorotan", description="Card template used when none is named")


class CaptionsSettings(BaseModel):
    """Caption rules that are settings because the platforms' own pages disagree."""

    instagram_hashtags: int = Field(
        5, ge=0, le=30, description="Hashtags per Instagram caption (Instagram enforces 5)"
    )
    facebook_hashtags: int = Field(10, ge=0, le=30, description="Hashtags per Facebook post")
    youtube_tags: int = Field(15, ge=0, le=50, description="Tags per YouTube video")
    profile_url: str = Field(
        "https://ifn.kemenperin.go.id/anggota/{id}",
        description="A member's IFN profile link; {id} is the registry id",
    )
    language: str = Field("id", pattern="^(id|en)$", description="Default caption language")

    def limits(self) -> Any:
        from ifn_campaign.captions.rules import Limits

        return Limits(
            instagram_hashtags=self.instagram_hashtags,
            facebook_hashtags=self.facebook_hashtags,
            youtube_tags_max=self.youtube_tags,
        )


def _zone(value: str) -> str:
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(value)
    except (KeyError, ValueError, OSError):  # OSError: "Asia" is a directory
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


class PlannerSettings(BaseModel):
    """Where campaigns live and how plans are shown."""

    campaigns_dir: Path | None = Field(
        None,
        description="Folder holding every campaign file (*.toml), used alone; unset: the shipped "
        "campaigns, each replaced or joined by the file of that name in templates.dir/campaigns",
    )
    display_timezone: str = Field(
        "Asia/Jakarta", description="Time zone for showing slots (stored in UTC)"
    )

    @field_validator("display_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _zone(value)


class InstagramSettings(BaseModel):
    """Instagram's limits that Meta's own pages disagree on (strict values by default)."""

    posts_per_24h: int = Field(
        50, ge=1, le=100, description="API-published posts per account per rolling 24 hours"
    )
    graph_url: str = Field(
        "https://graph.facebook.com/v25.0", description="Graph API root for Instagram"
    )
    container_wait_seconds: float = Field(
        300,
        ge=0,
        description="How long one publish waits for Instagram to finish its containers "
        "(carousel items, then the post); a slower one is tried again by a later run",
    )


class FacebookSettings(BaseModel):
    """Facebook Page limits."""

    posts_per_24h: int = Field(
        0, ge=0, description="Our own cap per Page per rolling 24 hours; 0 = no cap"
    )
    graph_url: str = Field("https://graph.facebook.com/v25.0", description="Graph API root")
    schedule_max_days: int = Field(
        30, ge=1, le=75, description="Native scheduling window (Meta's pages say 30 or 75 days)"
    )
    photo_upload: Literal["url", "file"] = Field(
        "url",
        description="How cards reach Facebook: fetched from publish.media_base_url, or uploaded",
    )


class YouTubeSettings(BaseModel):
    """YouTube's upload bucket, per day in Pacific time (when Google resets it)."""

    uploads_per_day: int = Field(100, ge=1, description="videos.insert calls per day")
    api_url: str = Field(
        "https://www.googleapis.com/youtube/v3", description="YouTube Data API root"
    )
    upload_url: str = Field(
        "https://www.googleapis.com/upload/youtube/v3", description="YouTube upload root"
    )
    token_url: str = Field(
        "https://oauth2.googleapis.com/token", description="OAuth token endpoint"
    )
    tokeninfo_url: str = Field(
        "https://oauth2.googleapis.com/tokeninfo",
        description="Google's tokeninfo endpoint (`doctor` reads a token's scopes there)",
    )
    upload_ahead_hours: int = Field(
        24, ge=0, le=24 * 30, description="Upload this early; YouTube publishes at the slot"
    )
    category_id: str = Field("22", description="Video category (22: People & Blogs)")
    quota_units_per_day: int = Field(
        10_000, ge=1, description="The Cloud project's Data API quota (units a day, Pacific time)"
    )


class PublishSettings(BaseModel):
    """How due posts are published."""

    media_base_url: str = Field(
        "http://127.0.0.1:8770",
        description="Public URL where the card folder (cards.cache_dir) is served to the platforms",
    )
    lease_seconds: int = Field(
        900, ge=60, description="A claimed post another worker may take over after this long"
    )
    max_posts: int = Field(200, ge=1, description="Posts one publish run handles at most")
    max_attempts: int = Field(
        5,
        ge=1,
        description="Tries of one post (failed tries and takeovers after a crash) before it fails",
    )
    account_concurrency: int = Field(
        2, ge=1, description="Posts of one account in flight at once, across every worker"
    )
    account_posts_per_minute: float = Field(
        20, ge=0, description="Posts one account starts per minute, across every worker (0: any)"
    )
    max_lateness: timedelta = Field(
        timedelta(hours=6),
        gt=timedelta(0),
        description="A post the publisher would send later than this after its slot is held as "
        "missed for staff to decide (seconds, 'HH:MM:SS' or ISO 8601 such as 'PT6H')",
    )
    lead_seconds: float = Field(
        60,
        ge=0,
        le=600,
        description="A run takes posts whose slot is at most this many seconds away (workers "
        "start scheduled runs a little early) and waits for the slot before a post goes live",
    )
    usage_stop_percent: int = Field(
        90,
        ge=1,
        le=100,
        description="At this Graph usage (x-app-usage, x-business-use-case-usage) the account, "
        "or the whole app, is left alone for a while, before Meta blocks it at 100%",
    )

    @field_validator("media_base_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        _no_credentials(value, "the platforms fetch the cards from it without credentials")
        return value


class ReportSettings(BaseModel):
    """Where the monthly report pages go, and how much of the gallery its PDF prints."""

    dir: Path = Field(
        Path("var/report"),
        description="Folder of the report pages (<dir>/<YYYY-MM>/index.html), the `report` "
        "deployment's output",
    )
    pdf_cards: int = Field(
        60,
        ge=0,
        le=1000,
        description="Cards the PDF's gallery shows at most: the posts that reached furthest, "
        "shared among the channels (the HTML page shows every card). A bigger month's PDF "
        "says how many are left out",
    )


class ConsoleSettings(BaseModel):
    """The staff console (`ifn-campaign console`): where it listens, how long a login lasts, who
    may set forwarded headers, how many wrong passwords are let through."""

    host: str = Field(
        "127.0.0.1", description="Address the console listens on (loopback: only this machine)"
    )
    port: int = Field(8080, ge=1, le=65535, description="Port the console listens on")
    session_secret: SecretStr | None = Field(
        None,
        description="Key that signs login cookies (IFN_CONSOLE__SESSION_SECRET); unset: a random "
        "key kept in `<data_dir>/console.key` (mode 0600), made on first start",
    )
    session_hours: float = Field(
        12, gt=0, le=24 * 30, description="A login lasts this long, then staff sign in again"
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses (or networks, `10.0.0.0/8`) of reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed; from anyone else they are ignored",
    )
    login_attempts: int = Field(
        5, ge=1, description="Wrong passwords allowed per user name in `login_window_minutes`"
    )
    login_attempts_per_address: int = Field(
        20, ge=1, description="Wrong passwords allowed per client address in the window"
    )
    login_window_minutes: int = Field(
        15, ge=1, description="The window the login limits count in; the lock lifts after it"
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _not_everyone(cls, value: list[str]) -> list[str]:
        """A /0 network is every address (as '*', which the console refuses): any visitor
        could then claim any client address and https."""
        for entry in value:
            try:
                network = ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                continue  # an address, a host name or '*': checked where they are used
            if network.prefixlen == 0:
                raise ValueError(
                    f"{entry!r} is every address: name the reverse proxy's address or network "
                    "(docs/console/behind-proxy.md)"
                )
        return value


MARK = re.compile(r"^([1-9][0-9]{0,3})([hd])$")


def mark_delta(mark: str) -> timedelta:
    """How long after a post went live a reading named `mark` ("1h", "7d") is due."""
    found = MARK.match(mark)
    if found is None:
        raise ValueError(f"{mark!r} is not a reading time: write hours or days, e.g. 1h, 7d")
    number, unit = int(found.group(1)), found.group(2)
    return timedelta(hours=number) if unit == "h" else timedelta(days=number)


class InsightsSettings(BaseModel):
    """Reading each published post's figures back from its platform (ifn_campaign/insights): at
    each of `read_after` after it went live, in batches, within the publisher's blocks and a
    share of YouTube's daily quota."""

    enabled: bool = Field(True, description="Read metrics back at all")
    read_after: list[str] = Field(
        ["1h", "1d", "7d", "28d"],
        min_length=1,
        description="When to read a post's figures after it went live (hours h or days d)",
    )
    batch: int = Field(50, ge=1, le=50, description="Posts per platform call (50 at most)")
    max_readings: int = Field(
        5_000, ge=1, le=100_000, description="Readings one run takes at most (the rest wait)"
    )
    youtube_quota_share: float = Field(
        0.1,
        gt=0,
        le=1,
        description="Share of youtube.quota_units_per_day insights may spend in a day",
    )
    max_attempts: int = Field(
        6, ge=1, le=50, description="Tries of one reading before it is given up as failed"
    )
    retry_base_seconds: float = Field(
        900.0, gt=0, description="First wait before a failed reading is tried again"
    )
    retry_max_seconds: float = Field(
        12 * 3600.0, gt=0, description="Longest wait between tries of one reading"
    )
    late_share: float = Field(
        0.25,
        ge=0,
        le=10,
        description="A reading taken more than this share of its mark after it was due is late",
    )
    late_min_hours: float = Field(
        2.0,
        ge=0,
        le=24 * 30,
        description="... and never counts as late within this many hours of its due time",
    )
    advice_min_posts: int = Field(
        4, ge=2, le=100, description="Posts a weekday and hour needs before slot advice speaks"
    )
    advice_weeks: int = Field(
        26, ge=4, le=520, description="Weeks of an account's history slot advice looks at"
    )

    @field_validator("read_after")
    @classmethod
    def _marks(cls, value: list[str]) -> list[str]:
        marks = [v.strip().lower() for v in value]
        for mark in marks:
            mark_delta(mark)
        if len(set(marks)) != len(marks):
            raise ValueError("names a reading time twice")
        return sorted(marks, key=mark_delta)


class NoticesSettings(BaseModel):
    """Telling members about their features (ifn_campaign/notices): a notice `days_ahead` days
    before an approved post's slot, an update when its slot or caption changes or it is
    cancelled, and the links once it is live. By e-mail over SMTP, and by a message through
    Apprise (WhatsApp, ...) where a URL is configured; only to contact details the member allowed
    (`consent.fields_allowed`). Without `smtp_host` no e-mail goes out: notices wait, and
    `ifn-campaign notices` says why."""

    enabled: bool = Field(True, description="Compose and send member notices at all")
    days_ahead: int = Field(
        3,
        ge=1,  # 0 made the window the slot's very instant: no member was ever told before
        le=30,
        description="Days before a post's slot its member is told (once approved)",
    )
    receipt_days: int = Field(
        7,
        ge=1,
        le=60,
        description="Days after a feature went live its member gets a receipt with its reach",
    )
    sender: str = Field(
        "Indonesia Footwear Network (BPIPI) <ifn@bpipi.id>",
        description="The From of every e-mail (an address the SMTP server lets us send as)",
    )
    reply_to: str | None = Field(None, description="Where members' replies go (Reply-To)")
    smtp_host: str | None = Field(None, description="SMTP server; unset: no e-mail is sent")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 TLS)")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description="starttls (port 587), tls (implicit, port 465), none (a relay on this "
        "machine or the demo's local server only)",
    )
    smtp_user: str | None = Field(None, description="SMTP login name; unset: no login")
    smtp_password_secret: str | None = Field(
        None, description="Name of the secret holding the SMTP password (IFN_SECRET_<NAME>)"
    )
    smtp_timeout: float = Field(30.0, gt=0, description="Seconds to wait for the SMTP server")
    imap_host: str | None = Field(
        None,
        description="IMAP server of the sending mailbox, whose Sent folder keeps what SMTP "
        "accepted: a send cut off before it was marked is looked up there by its Message-ID "
        "instead of being sent again; unset: staff decide such a notice",
    )
    imap_port: int = Field(993, ge=1, le=65535, description="IMAP port (993 TLS)")
    imap_security: Literal["tls", "starttls", "none"] = Field("tls", description="IMAP security")
    imap_user: str | None = Field(None, description="IMAP login name (default: smtp_user)")
    imap_password_secret: str | None = Field(
        None, description="Name of the secret holding the IMAP password (default: the SMTP one)"
    )
    imap_sent_folder: str = Field("Sent", description="The folder the server files sent mail in")
    apprise_url_secret: str | None = Field(
        None,
        description="Name of the secret holding an Apprise URL with {whatsapp} or {phone} where "
        "the member's number goes (e.g. whatsapp://TOKEN@FROM_ID/{whatsapp}); unset: e-mail only",
    )
    max_attempts: int = Field(
        8, ge=1, le=50, description="Sends tried on temporary failures before a notice fails"
    )
    retry_base_seconds: float = Field(
        60.0, gt=0, description="First wait after a temporary failure; doubles each time"
    )
    retry_max_seconds: float = Field(6 * 3600.0, gt=0, description="Longest wait between tries")
    batch: int = Field(200, ge=1, le=10_000, description="Notices sent per run at most")
    overdue_minutes: int = Field(
        60,
        ge=15,
        description="A notice still not sent this long after it was queued is shown to staff as "
        "waiting too long (Today, `ifn-campaign status`, `notices list`), with the last reason",
    )
    lease_seconds: float = Field(
        900.0,
        ge=60,
        description="A sending notice whose claim is older than this is taken over by the next "
        "run (its worker died): sent again if it never reached the end of the message, else "
        "looked up by its Message-ID",
    )

    @field_validator("sender", "reply_to")
    @classmethod
    def _mail_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # taken as written, a bad one failed every run later (the Message-IDs are made under
        # the sender's domain, the From and Reply-To are built from them)
        address = parseaddr(value)[1]
        domain = address.rpartition("@")[2]
        if (
            any(c in value for c in "\r\n")
            or "@" not in address
            or not re.fullmatch(r"[A-Za-z0-9.-]+\.[A-Za-z0-9-]+", domain)
        ):
            raise ValueError(
                f"{value!r} is not an e-mail address: write it as 'Name <user@example.org>' or "
                "user@example.org"
            )
        return value

    @field_validator("smtp_host", "imap_host")
    @classmethod
    def _host_name(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None  # "" is unset: nothing is sent (or looked up) there
        value = value.strip()
        try:
            ipaddress.ip_address(value)
            return value  # an address, IPv6 with its colons included
        except ValueError:
            pass
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
            # 'mail.example.org:587' or 'smtps://...' failed every run as 'not reachable'
            raise ValueError(
                f"{value!r} is not a host name: give the name alone (mail.example.org); the port "
                "and the security are settings of their own"
            )
        return value


class MemberPageSettings(BaseModel):
    """The member's own page (a signed, expiring link in each notice, no login), served by the
    console's app under /anggota/."""

    base_url: str = Field(
        "http://127.0.0.1:8080",
        description="Public address of the console the links in notices point at "
        "(https://... behind the reverse proxy)",
    )
    secret: SecretStr | None = Field(
        None,
        description="Key that signs member links (IFN_MEMBER_PAGE__SECRET); unset: a random key "
        "kept in `<data_dir>/member-page.key` (mode 0600), made on first use",
    )
    link_days: int = Field(30, ge=1, le=366, description="Days a member link stays valid")
    answers_per_hour: int = Field(
        20, ge=1, description="Answers one member link may send in an hour"
    )
    requests_per_address: int = Field(
        120,
        ge=1,
        description="Member-page requests (bad links included) one client address may make in "
        "an hour",
    )

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        _no_credentials(value, "the member page needs no login")
        parts = urlsplit(value)
        if not parts.hostname or any(c.isspace() for c in value):
            raise ValueError("has no server name: write it as https://anggota.example.org")
        if parts.path.strip("/") or parts.query or parts.fragment or value.endswith(("?", "#")):
            # every link of every notice starts with it, and the page's forms, cards and styles
            # are at /anggota/ and /static/ of that server: anything after the name breaks them
            raise ValueError(
                "must be the server's address alone (https://anggota.example.org), without a "
                "path, '?' or '#': the member page is at /anggota/ on that server"
            )
        if value.startswith("http://") and not loopback(parts.hostname):
            # the link is the member's login: in clear text anyone on their network may answer,
            # or withdraw, in their name
            raise ValueError(
                "http:// only for this machine (127.0.0.1, localhost): members open the links "
                "from anywhere and each carries their page's key; use https:// (the console "
                "behind its TLS reverse proxy)"
            )
        return value.rstrip("/")


class ShowcaseSettings(BaseModel):
    """The public showcase (`ifn-campaign showcase --out DIR`), a static site of featured
    members; with `dir` set, rebuilt after each publish run."""

    dir: Path | None = Field(
        None,
        description="Folder the showcase is rebuilt in after each publish run; unset: only by hand",
    )

    @field_validator("dir", mode="before")
    @classmethod
    def _not_blank(cls, value: Any) -> Any:
        # "" would be the data folder itself (paths resolve under it): unset it instead
        if isinstance(value, str) and not value.strip():
            raise ValueError("is empty: give the folder the site is written to, or leave it out")
        return value


class SchedulesSettings(BaseModel):
    """When the deployments run: five-field cron strings in `timezone`, one per flow, named as
    the flow; an empty string leaves a deployment without a schedule (run it by hand)."""

    timezone: str = Field("Asia/Jakarta", description="Time zone the cron strings are read in")
    sync_registry: str = Field("0 2 * * *", description="Member sync: daily at 02:00")
    plan_campaign: str = Field("0 3 * * 1", description="Planning: Mondays at 03:00")
    compose: str = Field("0 4 * * *", description="Cards, captions and Shorts: daily at 04:00")
    publish_due: str = Field("*/5 * * * *", description="Publishing: every 5 minutes")
    reconcile: str = Field("15 * * * *", description="Reconciliation: hourly at :15")
    report: str = Field("0 6 1 * *", description="Last month's report: the 1st at 06:00")
    notices: str = Field("*/15 * * * *", description="Member notices: every 15 minutes")
    insights: str = Field("40 * * * *", description="Reading metrics back: hourly at :40")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _zone(value)

    @field_validator(
        "sync_registry",
        "plan_campaign",
        "compose",
        "publish_due",
        "reconcile",
        "report",
        "notices",
        "insights",
    )
    @classmethod
    def _five_fields(cls, value: str) -> str:
        # Prefect checks each field when the deployments are built; this catches the usual slip
        # (a sixth, seconds field, or a missing one) as soon as the settings are read.
        value = " ".join(value.split())
        if value and len(value.split()) != 5:
            raise ValueError(
                f"{value!r} is not a five-field cron string (minute hour day month weekday)"
            )
        return value


class PrefectSettings(BaseModel):
    """How the flows run under Prefect: the work pool `deploy` registers to, and how composing
    fans out (a process pool on this machine, or a Dask cluster when one is named)."""

    work_pool: str = Field("ifn-campaign", description="Work pool `ifn-campaign deploy` uses")
    card_workers: int = Field(
        0, ge=0, le=64, description="Processes drawing cards and Shorts; 0 = one per core"
    )
    chunk_size: int = Field(
        20, ge=1, le=1000, description="Posts per compose task (a task costs ~55 ms in Prefect)"
    )
    dask_address: str | None = Field(
        None, description="Dask scheduler (tcp://host:8786) to compose on instead of processes"
    )
    heartbeat_seconds: int = Field(
        30, ge=30, description="Seconds between a running flow's heartbeats to the Prefect server"
    )
    lost_after_seconds: int = Field(
        120,
        ge=60,
        description="A flow run without a heartbeat for this long is marked Crashed by the "
        "server (its worker or process died), so the next run is not held back by it; at "
        "least twice heartbeat_seconds",
    )

    @field_validator("work_pool")
    @classmethod
    def _prefect_name(cls, value: str) -> str:
        if not value or any(ch in value for ch in "/%&<>"):
            raise ValueError("must be a non-empty name without / % & < >")
        return value

    @model_validator(mode="after")
    def _heartbeats_before_lost(self) -> PrefectSettings:
        # the server marks a run Crashed when no heartbeat comes for lost_after_seconds: with
        # less than two heartbeats in that time, one late heartbeat crashes a run that is alive
        least = 2 * self.heartbeat_seconds
        if self.lost_after_seconds < least:
            raise ValueError(
                f"prefect.lost_after_seconds ({self.lost_after_seconds} s) must be at least "
                f"{least} s, twice prefect.heartbeat_seconds ({self.heartbeat_seconds} s): a "
                "run whose heartbeats are further apart would be marked Crashed while it is "
                "still running; raise lost_after_seconds or lower heartbeat_seconds"
            )
        return self


class AccountSettings(BaseModel):
    """One account we post to. Secrets are named here and read from IFN_SECRET_<NAME> or the
    Prefect Secret block of that name, never from this file."""

    model_config = {"extra": "forbid"}

    ig_user_id: str | None = Field(None, description="Instagram: the IG user id")
    page_id: str | None = Field(None, description="Facebook: the Page id")
    channel_id: str | None = Field(None, description="YouTube: the channel id")
    token_secret: str | None = Field(None, description="Graph: name of the access token secret")
    app_id: str | None = Field(
        None,
        description="Graph: the Meta app of the token (accounts of one app share its app-level "
        "rate limit); unset: every Graph account is taken to be of one app",
    )
    client_id: str | None = Field(None, description="YouTube: OAuth client id")
    client_secret_secret: str | None = Field(
        None, description="YouTube: name of the OAuth client secret's secret"
    )
    refresh_token_secret: str | None = Field(
        None, description="YouTube: name of the refresh token's secret"
    )


class Settings(BaseSettings):
    """All settings; see `assets/ifn-campaign.example.toml` for a documented example."""

    model_config = SettingsConfigDict(
        env_prefix="IFN_", env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )
    _toml_data: ClassVar[dict[str, Any]] = {}
    # the settings file being read (set by load_settings under _LOADING, as _toml_data is): its
    # folder is the base of relative paths when data_dir is unset
    _toml_file: ClassVar[Path | None] = None

    data_dir: Path | None = Field(
        None,
        description="Folder every relative path setting (database file, media, cards, preview, "
        "report, log, templates, campaigns) is resolved against, fixed when settings are read; "
        "unset: the settings file's folder, else the working directory at start",
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    media: MediaSettings = Field(default_factory=MediaSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    templates: TemplatesSettings = Field(default_factory=TemplatesSettings)
    cards: CardsSettings = Field(default_factory=CardsSettings)
    captions: CaptionsSettings = Field(default_factory=CaptionsSettings)
    planner: PlannerSettings = Field(default_factory=PlannerSettings)
    instagram: InstagramSettings = Field(default_factory=InstagramSettings)
    facebook: FacebookSettings = Field(default_factory=FacebookSettings)
    youtube: YouTubeSettings = Field(default_factory=YouTubeSettings)
    publish: PublishSettings = Field(default_factory=PublishSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    notices: NoticesSettings = Field(default_factory=NoticesSettings)
    insights: InsightsSettings = Field(default_factory=InsightsSettings)
    member_page: MemberPageSettings = Field(default_factory=MemberPageSettings)
    showcase: ShowcaseSettings = Field(default_factory=ShowcaseSettings)
    schedules: SchedulesSettings = Field(default_factory=SchedulesSettings)
    prefect: PrefectSettings = Field(default_factory=PrefectSettings)
    accounts: dict[str, dict[str, AccountSettings]] = Field(
        default_factory=dict, description="channel -> account name -> account"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _DictSource(settings_cls, cls._toml_data))

    @model_validator(mode="after")
    def _absolute_paths(self) -> Settings:
        """Fix the data folder and make every relative path setting absolute under it, here and
        not where a path is used: a Prefect process worker runs each flow in a temporary working
        folder that it deletes afterwards, so a path left relative would land there."""
        base = data_folder(self.data_dir, type(self)._toml_file)
        self.data_dir = base
        self.database = self.database.model_copy(
            update={"url": sqlite_url_under(self.database.url, base)}
        )
        self.media = self.media.model_copy(update={"dir": _under(base, self.media.dir)})
        self.log = self.log.model_copy(update={"file": _under(base, self.log.file)})
        self.cards = self.cards.model_copy(
            update={
                "cache_dir": _under(base, self.cards.cache_dir),
                "preview_dir": _under(base, self.cards.preview_dir),
            }
        )
        self.report = self.report.model_copy(update={"dir": _under(base, self.report.dir)})
        if self.templates.dir is not None:
            self.templates = self.templates.model_copy(
                update={"dir": _under(base, self.templates.dir)}
            )
        if self.planner.campaigns_dir is not None:
            self.planner = self.planner.model_copy(
                update={"campaigns_dir": _under(base, self.planner.campaigns_dir)}
            )
        if self.showcase.dir is not None:
            self.showcase = self.showcase.model_copy(
                update={"dir": _under(base, self.showcase.dir)}
            )
        return self

    @property
    def base(self) -> Path:
        """The data folder (data_dir as fixed when the settings were read)."""
        return self.data_dir if self.data_dir is not None else Path.cwd()

    def path(self, stored: str | os.PathLike[str]) -> Path:
        """A file path as stored in the database (relative to the data folder, or absolute)
        as the absolute path to open: the one way every reader of a stored path finds the file."""
        return _under(self.base, Path(stored))

    def stored(self, path: str | os.PathLike[str]) -> str:
        """A file path as the database keeps it: relative to the data folder when inside it (so
        the folder can move, and a worker started elsewhere finds it), else absolute."""
        full = _under(self.base, Path(path))
        try:
            return full.relative_to(self.base).as_posix()
        except ValueError:
            return str(full)


# tempfile's own names: "tmp", 8 characters of its random alphabet, then any suffix
_TEMPORARY_NAME = re.compile(r"tmp[a-z0-9_]{8}")


def _under(base: Path, path: Path) -> Path:
    """`path` as an absolute, normalised path, a relative one taken under `base`."""
    path = path.expanduser()
    return Path(os.path.normpath(path if path.is_absolute() else base / path))


def temporary_folder(path: Path) -> Path | None:
    """The temporary folder `path` lies in, if any: a folder Python's tempfile made directly in
    tempfile.gettempdir(), named tmp + 8 random characters (+ a suffix), as a Prefect process
    worker's per-run working folder (/tmp/tmpab12cd34prefect) is. pytest's folders and folders
    made by hand are not temporary in this sense."""
    temp = Path(os.path.realpath(tempfile.gettempdir()))
    real = Path(os.path.realpath(path))
    for folder in (real, *real.parents):
        if folder.parent == temp and _TEMPORARY_NAME.match(folder.name):
            return folder
    return None


def data_folder(data_dir: Path | None, settings_file: Path | None) -> Path:
    """The absolute data folder: data_dir if set (a relative one under the settings file's
    folder, else the working directory), else the settings file's folder, else the working
    directory. A folder taken from the working directory (or a relative path) that lies in a
    temporary folder is refused: a Prefect process worker deletes it after the run."""
    if data_dir is not None and data_dir.expanduser().is_absolute():
        return _under(Path("/"), data_dir)  # the operator's explicit choice, taken as it is
    if settings_file is not None:
        anchor, chosen = _under(Path.cwd(), settings_file).parent, settings_file.is_absolute()
    else:
        anchor, chosen = Path.cwd(), False
    base = anchor if data_dir is None else _under(anchor, data_dir)
    temporary = None if chosen else temporary_folder(base)
    if temporary is not None:
        raise SettingsError(
            f"the data folder {base} is inside {temporary}, a temporary folder the Prefect "
            "worker deletes after the run: set data_dir (IFN_DATA_DIR) to an absolute folder "
            "(run `ifn-campaign deploy` again: it sets one for every run on a worker), or give "
            "the settings file (IFN_CONFIG or --config) as an absolute path"
        )
    return base


def sqlite_url_under(url: str, base: Path) -> str:
    """A SQLite URL with a relative file made absolute under `base` (sqlite:///var/x.db ->
    sqlite:////data/var/x.db); in-memory databases and other databases are left as they are."""
    found = re.match(r"(sqlite(?:\+\w+)?:///)([^?]*)(\?.*)?$", url)
    if found is None:
        return url
    prefix, file, query = found.group(1), found.group(2), found.group(3) or ""
    if not file or file == ":memory:" or file.startswith(("/", "file:")):
        return url
    return f"{prefix}{_under(base, Path(file))}{query}"


class _DictSource(PydanticBaseSettingsSource):
    """Feeds the already-parsed TOML file to pydantic-settings, lowest priority."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._data)


def config_path(explicit: Path | None, environ: Mapping[str, str] | None = None) -> Path | None:
    """The file to read: `--config`, else $IFN_CONFIG, else ./ifn-campaign.toml if it exists
    (`~` expanded, as in every path setting: `--config=~/ifn.toml` reaches us unexpanded)."""
    env = os.environ if environ is None else environ
    if explicit is not None:
        return explicit.expanduser()
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser()
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.exists() else None


def read_toml(path: Path) -> dict[str, Any]:
    """Parse the settings file, refusing secrets in it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"settings file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"settings file {path} cannot be read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"settings file {path} is not valid TOML: {exc}") from None
    for section, key in SECRET_KEYS:
        if isinstance(data.get(section), dict) and key in data[section]:
            env_name = f"IFN_{section.upper()}__{key.upper()}"
            raise SettingsError(
                f"settings file {path}: {section}.{key} is a secret and is not read from files; "
                f"set {env_name} or {section}.{key}_secret_block instead"
            )
    return data


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Load settings from the file (if any), the environment and `overrides`, in rising priority."""
    source = config_path(path)
    data = read_toml(source) if source is not None else {}
    where = f"settings file {source}" if source else "settings"
    with _LOADING:  # the file's data reaches pydantic-settings through class attributes
        Settings._toml_data, Settings._toml_file = data, source
        try:
            return _build(where, overrides)
        finally:
            Settings._toml_data, Settings._toml_file = {}, None


def _build(where: str, overrides: dict[str, Any]) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"{where} (or IFN_... variables) invalid: {problems}") from None
