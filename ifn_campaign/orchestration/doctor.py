"""`ifn-campaign doctor`: is this installation ready to publish for real?

Going live is configuration only (docs/how-to/go-live.md): accounts with their ids and secret
names, the secrets themselves, a migrated database, a media host the platforms can fetch cards
from, and a Prefect server for the schedules. Each check returns `Check`s (ok, warn or fail, with
what to do next) and prints nothing, so the CLI and a flow can show them their own way; a warning
never fails the run.

The platform checks go through the publisher's own clients, built by the same function
(`channels.clients.channel_clients`, quick to give up) at the configured URLs, so the sandboxes
answer in tests and Meta and Google in production, and they only read: `debug_token` and one
object read per Graph account, one token refresh and Google's tokeninfo per YouTube channel;
nothing costs YouTube quota.

No message ever holds a secret: tokens stay inside the clients (their errors are scrubbed),
secrets are named, never shown, and database URLs go through `store.safe_url`.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.channels.channel import Channel
from ifn_campaign.channels.clients import QUICK, ChannelClients, channel_clients, graph_url
from ifn_campaign.channels.graph import INSTAGRAM_PUBLISH, PAGE_PUBLISH, TOKEN_SUBCODES, node_id
from ifn_campaign.channels.youtube import TokenInfo
from ifn_campaign.config import AccountSettings, Settings
from ifn_campaign.errors import (
    ConfigError,
    GraphError,
    GraphNotFound,
    GraphPermissionMissing,
    GraphRateLimited,
    GraphTokenInvalid,
    GraphTransient,
    IFNError,
    SettingsError,
    StoreError,
    YouTubeError,
    YouTubeReauthNeeded,
    YouTubeTransient,
)
from ifn_campaign.notices.smtp import SmtpConnection, SmtpTemporary
from ifn_campaign.orchestration.deployment_runs import display_url
from ifn_campaign.publishing.media_host import public_url
from ifn_campaign.registry.media import address_refusal
from ifn_campaign.secrets import Secrets, env_name

__all__ = [
    "CHANNELS",
    "Check",
    "SecretReader",
    "Status",
    "check_accounts",
    "check_campaigns",
    "check_database",
    "check_graph_account",
    "check_lost_runs",
    "check_mail_server",
    "check_media_host",
    "check_prefect",
    "check_settings",
    "check_youtube_account",
    "configured_accounts",
    "failed",
    "prefect_api_url",
    "run_checks",
]

Status = Literal["ok", "warn", "fail"]
CHANNELS = tuple(Channel)
LABELS: Mapping[Status, str] = {"ok": "ok", "warn": "warn", "fail": "FAIL"}

GRAPH_PERMISSIONS: Mapping[str, tuple[str, ...]] = {
    Channel.INSTAGRAM: INSTAGRAM_PUBLISH,
    Channel.FACEBOOK: PAGE_PUBLISH,
}
"""What each Graph channel's token must hold (a missing one fails, named)."""
INSTAGRAM_PAGE_PERMISSIONS = ("pages_read_engagement", "pages_show_list")
"""Meta's media_publish reference (some versions) also asks for one of these: a warning."""

_GOOGLE = "https://www.googleapis.com/auth/"
YOUTUBE_UPLOAD_SCOPES = frozenset(
    {
        f"{_GOOGLE}youtube.upload",
        f"{_GOOGLE}youtube",
        f"{_GOOGLE}youtube.force-ssl",
        f"{_GOOGLE}youtubepartner",
    }
)
"""Any of these lets videos.insert and thumbnails.set run."""
YOUTUBE_MANAGE_SCOPES = frozenset(
    {f"{_GOOGLE}youtube", f"{_GOOGLE}youtube.force-ssl", f"{_GOOGLE}youtubepartner"}
)
"""Any of these lets the publisher read a video's status and delete a withdrawn one."""
YOUTUBE_GRANT = f"{_GOOGLE}youtube.upload and {_GOOGLE}youtube"


@dataclass(frozen=True)
class Check:
    """One finding: `name` says what was checked (`database sqlite:///...`, `instagram/bpipi`),
    `message` what was found, `fix` the next step when something is wrong."""

    name: str
    status: Status
    message: str
    fix: str | None = None

    def line(self) -> str:
        """The one line staff read: `FAIL instagram/bpipi: token expired ... -> store ...`."""
        text = f"{LABELS[self.status]:<4} {self.name}: {self.message}"
        return f"{text} -> {self.fix}" if self.fix else text


def _ok(name: str, message: str) -> Check:
    return Check(name, "ok", message)


def _warn(name: str, message: str, fix: str | None = None) -> Check:
    return Check(name, "warn", message, fix)


def _fail(name: str, message: str, fix: str | None = None) -> Check:
    return Check(name, "fail", message, fix)


# --- settings and campaigns -----------------------------------------------------------------


def _order(key: tuple[str, str]) -> tuple[int, str, str]:
    """Instagram, Facebook, YouTube, then anything else; by name within a channel."""
    channel, name = key
    return (CHANNELS.index(channel) if channel in CHANNELS else len(CHANNELS), channel, name)


def configured_accounts(settings: Settings) -> list[tuple[str, str, AccountSettings]]:
    """(channel, name, account) for every account table, in channel order."""
    found = [
        (channel, name, account)
        for channel, named in settings.accounts.items()
        for name, account in named.items()
    ]
    return sorted(found, key=lambda item: _order((item[0], item[1])))


def check_settings(settings: Settings, config_file: Path | None = None) -> list[Check]:
    """Which file was read and which accounts it names; unknown channels and no accounts at all
    are warnings (the account checks say what each one lacks)."""
    source = str(config_file) if config_file else "no settings file (defaults and IFN_ variables)"
    accounts = configured_accounts(settings)
    names = ", ".join(f"{c}/{n}" for c, n, _ in accounts) or "none"
    checks = [_ok("settings", f"{source}; accounts: {names}")]
    for channel in sorted(set(settings.accounts) - set(CHANNELS)):
        checks.append(
            _warn(
                f"accounts.{channel}",
                f"{channel!r} is not a channel ifn-campaign publishes to ({', '.join(CHANNELS)})",
                "rename the table or remove it",
            )
        )
    if not accounts:
        checks.append(
            _warn(
                "accounts",
                "no accounts configured: nothing can be published",
                "add [accounts.<channel>.<name>] tables with ids and secret names "
                "(docs/how-to/add-account.md)",
            )
        )
    return checks


def check_campaigns(settings: Settings, today: date | None = None) -> list[Check]:
    """Every campaign still running posts on an account the settings configure (else the
    publisher refuses its posts at publish time)."""
    from ifn_campaign.planner.campaign import load_campaigns

    today = today or datetime.now(UTC).date()
    try:
        campaigns = load_campaigns(
            settings.planner.campaigns_dir, templates_dir=settings.templates.dir
        )
    except ConfigError as exc:
        return [_fail("campaigns", str(exc), "correct the campaign file")]
    running = [c for c in campaigns.values() if c.end is None or c.end >= today]  # or to come
    if not running:
        return [
            _warn(
                "campaigns",
                f"all {len(campaigns)} campaign(s) have ended: nothing will be planned",
                "add or extend a campaign in planner.campaigns_dir",
            )
        ]
    unconfigured: dict[tuple[str, str], list[str]] = {}
    for campaign in running:
        for plan in campaign.channels:
            channel = str(plan.channel)
            if plan.account not in settings.accounts.get(channel, {}):
                unconfigured.setdefault((channel, plan.account), []).append(campaign.name)
    checks = [
        _fail(
            f"{channel}/{account}",
            f"not configured, but campaign(s) {', '.join(names)} post on it",
            f"add [accounts.{channel}.{account}] (docs/how-to/add-account.md) or change the "
            "campaigns' account",
        )
        for (channel, account), names in sorted(unconfigured.items(), key=lambda kv: _order(kv[0]))
    ]
    if not checks:
        names = ", ".join(c.name for c in running)
        checks.append(
            _ok("campaigns", f"{len(running)} not over yet, all on configured accounts: {names}")
        )
    return checks


# --- database ---------------------------------------------------------------------------------


def check_database(url: str) -> tuple[list[Check], Engine | None]:
    """The database answers and is at this version's head migration. Returns the engine (the
    caller disposes of it) when it is usable, for the account checks to read."""
    name = f"database {store.safe_url(url)}"
    upgrade = "run `ifn-campaign db upgrade`"
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        return [
            _fail(name, "not a SQLAlchemy URL", "correct database.url (IFN_DATABASE__URL)")
        ], None
    db = parsed.database
    if (
        parsed.get_backend_name() == "sqlite"
        and db
        and db != ":memory:"
        and not db.startswith("file:")
        and not Path(db).exists()
    ):  # do not create an empty file just by looking
        return [_fail(name, "the database file does not exist", upgrade)], None
    try:
        engine = store.make_engine(url)
        current = store.current_revision(engine)
    except StoreError as exc:
        detail = str(exc).removeprefix(f"cannot open database {store.safe_url(url)}: ")
        return [
            _fail(name, detail, "check database.url (IFN_DATABASE__URL) and that the server runs")
        ], None
    head = store.head_revision()
    if current == head:
        return [_ok(name, f"at migration {head} (head)")], engine
    engine.dispose()
    if current is None:
        return [
            _fail(name, f"has no ifn-campaign tables (this version needs {head})", upgrade)
        ], None
    known = {script.revision for script in ScriptDirectory(str(store.MIGRATIONS)).walk_revisions()}
    if current in known:
        return [_fail(name, f"at migration {current}, this version needs {head}", upgrade)], None
    return [
        _fail(
            name,
            f"at migration {current}, which this version does not know (head {head})",
            "a newer ifn-campaign migrated it: install that version here",
        )
    ], None


def _waiting_accounts(engine: Engine | None) -> dict[tuple[str, str], datetime]:
    """Accounts the publisher leaves alone until staff run `accounts reauthorised`."""
    if engine is None:
        return {}
    from ifn_campaign.models import AccountState

    query = select(
        AccountState.channel, AccountState.account, AccountState.needs_reauth_since
    ).where(AccountState.needs_reauth_since.is_not(None))
    with Session(engine) as session:
        return {(c, a): since for c, a, since in session.execute(query) if since is not None}


# --- Prefect ------------------------------------------------------------------------------------


def prefect_api_url() -> str | None:
    """The Prefect API the flows would use (PREFECT_API_URL or the active Prefect profile);
    None means ephemeral mode: a temporary server per process."""
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    return str(url) if url else None


def check_prefect(api_url: str | None) -> tuple[Check, bool | None]:
    """The Prefect server answers `/health`. Returns the check and whether it answered (None:
    none configured), which tells the secret reader whether asking for blocks is worth it."""
    if not api_url:
        return (
            _warn(
                "prefect",
                "no Prefect server configured (PREFECT_API_URL): flows run in ephemeral mode, "
                "whose temporary server runs no schedules",
                "start one (`prefect server start`) and set PREFECT_API_URL="
                "http://<host>:4200/api, or use Prefect Cloud",
            ),
            None,
        )
    name = f"prefect {display_url(api_url)}"
    version: str | None = None
    try:
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        # get_client() reads the URL from Prefect's settings: pin it to the one being checked
        # (never an ephemeral server), keeping the rest (API key, auth string) as configured.
        with (
            temporary_settings(updates={PREFECT_API_URL: api_url}),
            get_client(sync_client=True) as client,
        ):
            problem = client.api_healthcheck()
            if problem is None:
                version = str(client.api_version())
    except Exception as exc:  # Prefect raises httpx errors, RuntimeError, ...
        problem = exc
    if problem is not None:
        text = str(problem).strip()
        detail = re.sub(r"//[^/@\s]+@", "//", text.splitlines()[0])[:160] if text else ""
        return (
            _fail(
                name,
                f"does not answer /health ({type(problem).__name__}"
                + (f": {detail})" if detail else ")"),
                "start the Prefect server (`prefect server start`) or correct PREFECT_API_URL",
            ),
            False,
        )
    return _ok(name, f"answers /health (Prefect {version})"), True


class SecretReader:
    """Secrets by name through the one lookup (`IFN_SECRET_<NAME>`, then a Prefect Secret block:
    `ifn_campaign.secrets.Secrets`), except that a Prefect server already found down is not
    asked for each one."""

    def __init__(self, prefect_reachable: bool | None, secrets: Secrets | None = None) -> None:
        self.prefect_reachable = prefect_reachable
        self.secrets = secrets if secrets is not None else Secrets()
        self._found: dict[str, str] = {}  # a check reads a secret, then its client does

    def read(self, name: str) -> str:
        """The value, or `ConfigError` saying where it was looked for (never a value)."""
        if name not in self._found:
            self._found[name] = self._look_up(name)
        return self._found[name]

    def _look_up(self, name: str) -> str:
        if self.secrets.in_environment(name):
            return self.secrets(name)
        if self.prefect_reachable is False:
            raise SettingsError(
                f"{env_name(name)} is not set and the Prefect server holding Secret blocks "
                "does not answer"
            )
        return self.secrets(name)

    def check(self, label: str, name: str, what: str) -> tuple[str | None, Check | None]:
        """(value, None), or (None, the failing check naming where to put the secret)."""
        try:
            return self.read(name), None
        except ConfigError as exc:
            detail = str(exc) if self.prefect_reachable is False else "not found"
            return None, _fail(
                label,
                f"secret {name!r} ({what}): {detail}",
                f"set {env_name(name)} or create the Prefect Secret block {name!r}",
            )


# --- media host ---------------------------------------------------------------------------------


def check_media_host(settings: Settings) -> list[Check]:
    """Instagram and Facebook fetch each card from `publish.media_base_url`: it must answer
    with the card files of `cards.cache_dir` and, for the real platforms, be public."""
    base = settings.publish.media_base_url
    name = f"media host {display_url(base)}"
    split = urlsplit(base)
    if split.scheme not in ("http", "https") or not split.hostname:
        return [
            _fail(
                name,
                "not an http(s) URL",
                "set publish.media_base_url to the public URL serving cards.cache_dir",
            )
        ]
    checks: list[Check] = []
    root = settings.cards.cache_dir
    card = _sample_card(root)
    url = public_url(base, root, card) if card else base.rstrip("/") + "/"
    try:
        timeout = (QUICK.connect_timeout, QUICK.graph_read_timeout)
        with requests.get(url, stream=True, timeout=timeout) as response:
            status = response.status_code
            kind = (response.headers.get("Content-Type") or "").split(";")[0].strip()
            length = response.headers.get("Content-Length")
    except requests.RequestException as exc:
        return [
            _fail(
                name,
                f"does not answer ({_network_reason(exc)})",
                "start the static server for cards.cache_dir, or correct publish.media_base_url",
            )
        ]
    if card is None:
        checks.append(
            _warn(
                name,
                f"answers (HTTP {status} for the root), but cards.cache_dir ({root}) has no card "
                "yet to fetch",
                "run `ifn-campaign compose`, then `ifn-campaign doctor` again",
            )
        )
    else:
        relative = card.relative_to(root).as_posix()
        size = card.stat().st_size
        if status != 200:
            checks.append(
                _fail(
                    name,
                    f"answers HTTP {status} for {relative}, a card in cards.cache_dir",
                    "serve (or sync) cards.cache_dir at publish.media_base_url",
                )
            )
        elif length is not None and length.isdigit() and int(length) != size:
            checks.append(
                _fail(
                    name,
                    f"serves {relative} with {length} bytes, the card has {size}",
                    "serve (or sync) this machine's cards.cache_dir at publish.media_base_url",
                )
            )
        elif not kind.startswith("image/"):
            checks.append(
                _warn(
                    name,
                    f"serves {relative} as {kind or 'no Content-Type'}",
                    "serve .jpg as image/jpeg",
                )
            )
        else:
            checks.append(_ok(name, f"serves {relative} ({kind}, {size} bytes)"))
    checks += _public_host_check(settings, name, split.hostname)
    return checks


def _public_host_check(settings: Settings, name: str, host: str) -> list[Check]:
    """Meta fetches cards from the internet: a loopback or private media host only works with
    the sandboxes."""
    real = sorted(
        {
            urlsplit(graph_url(settings, Channel(channel))).hostname or ""
            for channel, _, _ in configured_accounts(settings)
            if channel in GRAPH_PERMISSIONS
        }
        - {""}
    )
    real = [h for h in real if _literal_refusal(h) is None]
    if not real:
        return []
    reason = _host_refusal(host)
    if reason is None:
        return []
    return [
        _warn(
            name,
            f"{host} is not public ({reason.replace('_', ' ')}), but the accounts publish "
            f"through {', '.join(real)}, whose servers fetch every card from the internet",
            "serve cards.cache_dir at a public https URL and set publish.media_base_url to it",
        )
    ]


def _sample_card(root: Path) -> Path | None:
    """One card file under `root` (content-addressed: any one will do), or None."""
    if not root.is_dir():
        return None
    for pattern in ("*.jpg", "*.png"):
        found = next((p for p in root.rglob(pattern) if p.is_file()), None)
        if found is not None:
            return found
    return None


def _literal_refusal(host: str) -> str | None:
    """Why `host` is not public, judged without DNS: localhost or a non-public IP literal."""
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback_address"
    try:
        return address_refusal(host)
    except ValueError:
        return None  # a name: taken as public


def _host_refusal(host: str) -> str | None:
    """Why `host` is not public, resolving a name (a name that does not resolve is left to the
    reachability check)."""
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback_address"
    try:
        return address_refusal(host)
    except ValueError:
        pass  # a name
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return None
    for info in infos:
        reason = address_refusal(str(info[4][0]))
        if reason is not None:
            return reason
    return None


# --- accounts -----------------------------------------------------------------------------------


def check_accounts(
    settings: Settings, secrets: SecretReader, engine: Engine | None = None
) -> list[Check]:
    """Every configured account against its platform, through clients built as the publisher's
    are; accounts the publisher has set aside for re-authorisation are named too."""
    waiting = _waiting_accounts(engine)
    checks: list[Check] = []
    with channel_clients(settings, secrets.read, tuning=QUICK) as clients:
        for channel, name, account in configured_accounts(settings):
            if channel in GRAPH_PERMISSIONS:
                found = check_graph_account(
                    settings, channel, name, account, secrets, clients=clients
                )
            elif channel == Channel.YOUTUBE:
                found = check_youtube_account(settings, name, account, secrets, clients=clients)
            else:
                continue  # named by check_settings
            checks += found + _waiting_check(waiting, channel, name, found)
    return checks


@contextmanager
def _clients_for(
    settings: Settings, secrets: SecretReader, clients: ChannelClients | None
) -> Iterator[ChannelClients]:
    """The caller's clients, or ones made for this check alone (closed after it), built as the
    publisher's are but quick to give up."""
    if clients is not None:
        yield clients
        return
    with channel_clients(settings, secrets.read, tuning=QUICK) as made:
        yield made


def _waiting_check(
    waiting: Mapping[tuple[str, str], datetime], channel: str, name: str, found: list[Check]
) -> list[Check]:
    """The failing check of an account the publisher leaves alone (its token died), if it is."""
    since = waiting.get((channel, name))
    if since is None:
        return []
    token_ok = not any(c.status == "fail" for c in found)
    return [
        _fail(
            f"{channel}/{name}",
            f"the publisher has left this account alone since {since:%Y-%m-%d %H:%M} UTC "
            f"(its token died){'; the token works now' if token_ok else ''}",
            f"{'' if token_ok else 'store a working token, then '}run "
            f"`ifn-campaign accounts reauthorised {channel} {name}`",
        )
    ]


def check_graph_account(
    settings: Settings,
    channel: str,
    name: str,
    account: AccountSettings,
    secrets: SecretReader,
    *,
    clients: ChannelClients | None = None,
) -> list[Check]:
    """An Instagram or Facebook account: its ids and token secret are set, Meta accepts the
    token (`debug_token`), it holds the permissions publishing needs, it is a Page token for
    the configured Page (Facebook), and it can read the configured account or Page."""
    label = f"{channel}/{name}"
    channel = Channel(channel)
    id_key = "ig_user_id" if channel == Channel.INSTAGRAM else "page_id"
    missing = [key for key in (id_key, "token_secret") if not getattr(account, key)]
    if missing:
        return [
            _fail(
                label,
                f"{', '.join(missing)} not set",
                f"add {' and '.join(missing)} to [accounts.{channel}.{name}] "
                "(docs/how-to/add-account.md)",
            )
        ]
    object_id = str(getattr(account, id_key))
    try:
        node_id(object_id, id_key)
    except ValueError:
        return [
            _fail(label, f"{id_key} {object_id!r} is not a Graph id (digits)", f"correct {id_key}")
        ]
    secret_name = str(account.token_secret)
    token, missing_secret = secrets.check(label, secret_name, "the Page access token")
    if token is None:
        return [missing_secret] if missing_secret else []
    renew = _renew_graph(channel, secret_name)
    base = graph_url(settings, channel)
    checks: list[Check] = []
    with _clients_for(settings, secrets, clients) as source:
        client = source.graph(channel, name)
        summary: list[str] = []
        try:
            data: dict[str, Any] | None = client.debug_token()
        except GraphError as exc:
            refused = _graph_failure(label, exc, base, channel, secret_name)
            if refused is not None:
                return [refused]
            data = None
            checks.append(
                _warn(
                    label,
                    f"Meta would not describe the token ({_graph_code(exc)}), so its "
                    "permissions and expiry are unchecked",
                    "look the token up in Meta's Access Token Debugger",
                )
            )
        if data is not None:
            if data.get("is_valid") is not True:
                error = data.get("error") if isinstance(data.get("error"), dict) else {}
                subcode = _int(error.get("subcode"))
                why = TOKEN_SUBCODES.get(subcode or 0, "the token is no longer valid")
                code = "190" + (f"/{subcode}" if subcode else "")
                return [_fail(label, f"token refused: {why} (code {code})", renew)]
            checks += _graph_token_checks(label, channel, account, data, renew, summary)
        what = "Instagram account" if channel == Channel.INSTAGRAM else "Page"
        fields = "id,username" if channel == Channel.INSTAGRAM else "id,name"
        try:
            node = client.get(f"/{object_id}", fields=fields)
        except GraphNotFound:
            checks.append(
                _fail(
                    label,
                    f"the token cannot see {what} {object_id}",
                    f"correct {id_key}"
                    + (
                        ", and link the Instagram account to the token's Page"
                        if channel == Channel.INSTAGRAM
                        else ", or store the token of that Page"
                    ),
                )
            )
            node = None
        except GraphError as exc:
            failure = _graph_failure(label, exc, base, channel, secret_name)
            checks.append(
                failure or _fail(label, f"reading {what} {object_id}: {_graph_code(exc)}")
            )
            node = None
        if node is not None:
            shown = f"@{node['username']}" if node.get("username") else repr(node.get("name", ""))
            summary.append(f"reads {what} {shown} ({object_id})")
    if not any(c.status == "fail" for c in checks):
        checks.insert(0, _ok(label, "; ".join(summary)))
    return checks


def _renew_graph(channel: str, secret_name: str, granting: str | None = None) -> str:
    """The fix for a dead or short-handed Graph token: reconnect, store the new Page token."""
    what = " (the Page and its Instagram account)" if channel == Channel.INSTAGRAM else ""
    grant = f" granting {granting}" if granting else ""
    return (
        f"a Page admin reconnects the app{what}{grant} in Meta Business settings; store the "
        f"new Page token as {env_name(secret_name)} or Prefect Secret block {secret_name!r}"
    )


def _graph_token_checks(
    label: str,
    channel: str,
    account: AccountSettings,
    data: Mapping[str, Any],
    renew: str,
    summary: list[str],
) -> list[Check]:
    """What `debug_token` says about a valid token: permissions, type and Page, expiry."""
    checks: list[Check] = []
    scopes = {str(s) for s in data.get("scopes") or []}
    kind = str(data.get("type") or "").upper()
    expires_at = _int(data.get("expires_at")) or 0
    needed = GRAPH_PERMISSIONS[channel]
    missing = [p for p in needed if p not in scopes]
    if missing:
        checks.append(
            _fail(
                label,
                f"the token lacks permission {', '.join(missing)}",
                _renew_graph(channel, str(account.token_secret), ", ".join(missing)),
            )
        )
    if channel == Channel.INSTAGRAM and not scopes & set(INSTAGRAM_PAGE_PERMISSIONS):
        checks.append(
            _warn(
                label,
                "the token has neither pages_read_engagement nor pages_show_list, which Meta's "
                "media_publish reference also lists",
                "grant one when the app is next reconnected",
            )
        )
    if channel == Channel.FACEBOOK:
        profile = str(data.get("profile_id") or "")
        if kind and kind != "PAGE":
            checks.append(
                _fail(
                    label,
                    f"a {kind} token, not a Page token: Page posts need the Page's own token",
                    renew,
                )
            )
        elif profile and profile != account.page_id:
            checks.append(
                _fail(
                    label,
                    f"the token is Page {profile}'s, not page_id {account.page_id}",
                    "store the token of the configured Page, or correct page_id",
                )
            )
    if expires_at > 0:
        when = datetime.fromtimestamp(expires_at, UTC)
        checks.append(
            _warn(
                label,
                f"the token expires {when:%Y-%m-%d %H:%M} UTC",
                "store a Page token derived from a long-lived user token: it does not expire",
            )
        )
    summary.append(
        f"{(kind or 'unknown').title()} token valid"
        + ("" if expires_at > 0 else ", never expires")
        + f"; permissions {', '.join(p for p in needed if p in scopes) or 'none'}"
    )
    return checks


def _graph_failure(
    label: str, exc: GraphError, base: str, channel: str, secret_name: str
) -> Check | None:
    """The failing check for an error that ends the account's checks, or None."""
    if isinstance(exc, GraphTokenInvalid):
        why = TOKEN_SUBCODES.get(exc.subcode or 0, "the token is no longer valid")
        return _fail(
            label, f"token refused: {why} ({_graph_code(exc)})", _renew_graph(channel, secret_name)
        )
    if isinstance(exc, GraphRateLimited):
        return _fail(
            label,
            f"Meta rate-limits these calls right now ({_graph_code(exc)})",
            "run `ifn-campaign doctor` again later",
        )
    if isinstance(exc, GraphTransient):
        reason = exc.message or str(exc).partition(": ")[2] or str(exc)
        return _fail(
            label,
            f"the Graph API at {display_url(base)} does not answer ({reason})",
            "check the network and the graph_url setting",
        )
    if isinstance(exc, GraphPermissionMissing):
        which = ", ".join(exc.permissions) or "a permission"
        return _fail(
            label,
            f"the token lacks permission {which}",
            _renew_graph(channel, secret_name, which),
        )
    return None


def _graph_code(exc: GraphError) -> str:
    if exc.code is None:
        return f"HTTP {exc.http_status}" if exc.http_status else type(exc).__name__
    return f"code {exc.code}" + (f"/{exc.subcode}" if exc.subcode else "")


def check_youtube_account(
    settings: Settings,
    name: str,
    account: AccountSettings,
    secrets: SecretReader,
    *,
    clients: ChannelClients | None = None,
) -> list[Check]:
    """A YouTube channel: client id and secret names set, Google refreshes its token, and the
    token holds the scopes uploading, reading status and deleting need (tokeninfo)."""
    label = f"youtube/{name}"
    keys = ("client_id", "client_secret_secret", "refresh_token_secret")
    missing = [key for key in keys if not getattr(account, key)]
    if missing:
        return [
            _fail(
                label,
                f"{', '.join(missing)} not set",
                f"add {' and '.join(missing)} to [accounts.youtube.{name}] "
                "(docs/how-to/add-account.md)",
            )
        ]
    checks: list[Check] = []
    if not account.channel_id:
        checks.append(
            _warn(
                label,
                "channel_id not set",
                'add channel_id = "UC..." (YouTube Studio: Settings, Channel, Advanced settings)',
            )
        )
    client_secret, problem = secrets.check(
        label, str(account.client_secret_secret), "the OAuth client secret"
    )
    refresh_name = str(account.refresh_token_secret)
    refresh, problem2 = secrets.check(label, refresh_name, "the channel's refresh token")
    if client_secret is None or refresh is None:
        return checks + [c for c in (problem, problem2) if c is not None]
    reauthorise = (
        f"the channel owner authorises the app again (scopes {YOUTUBE_GRANT}); store the new "
        f"refresh token as {env_name(refresh_name)} or Prefect Secret block {refresh_name!r}"
    )
    with _clients_for(settings, secrets, clients) as source:
        found = _youtube_token_info(settings, source, label, name, account, reauthorise)
    if isinstance(found, Check):
        return [*checks, found]
    return _youtube_scope_checks(label, found, reauthorise) + checks


def _youtube_token_info(
    settings: Settings,
    clients: ChannelClients,
    label: str,
    name: str,
    account: AccountSettings,
    reauthorise: str,
) -> TokenInfo | Check:
    """Refresh the channel's token and ask tokeninfo about it, or the failing check."""
    yt = settings.youtube
    tokens = clients.token_source(name)
    try:
        return tokens.info(yt.tokeninfo_url)
    except YouTubeReauthNeeded:
        return _fail(
            label,
            "Google refused the refresh token (invalid_grant: revoked, unused for 6 months, "
            "or older than 7 days while the OAuth app is in testing mode)",
            reauthorise,
        )
    except YouTubeTransient as exc:
        return _fail(
            label,
            f"Google does not answer ({exc.message})",
            "check the network and youtube.token_url / youtube.tokeninfo_url",
        )
    except YouTubeError as exc:
        if exc.reason == "invalid_client":
            return _fail(
                label,
                "Google does not accept the OAuth client id or secret (invalid_client)",
                f"check client_id and the secret {account.client_secret_secret!r} against "
                "the Google Cloud console",
            )
        return _fail(label, exc.message, "run `ifn-campaign doctor` again later")


def _youtube_scope_checks(label: str, info: TokenInfo, reauthorise: str) -> list[Check]:
    missing: list[str] = []
    if not info.scopes & YOUTUBE_UPLOAD_SCOPES:
        missing.append(f"{_GOOGLE}youtube.upload (to upload videos and thumbnails)")
    if not info.scopes & YOUTUBE_MANAGE_SCOPES:
        missing.append(
            f"{_GOOGLE}youtube or youtube.force-ssl (to read a video's status and delete "
            "withdrawn videos)"
        )
    if missing:
        return [_fail(label, f"the token lacks scope {'; '.join(missing)}", reauthorise)]
    short = ", ".join(sorted(s.removeprefix(_GOOGLE) for s in info.scopes))
    return [_ok(label, f"refresh token works; scopes {short}")]


# --- the notices' mail server -----------------------------------------------------------------

MAIL_CHECK_TIMEOUT = 10.0  # seconds doctor waits for the SMTP server, at most


def check_mail_server(settings: Settings, secrets: SecretReader) -> list[Check]:
    """With notices on, the SMTP server as the sender meets it: its name resolves, it answers
    on the port, TLS (or STARTTLS) succeeds with a valid certificate, and it takes our login;
    then QUIT, nothing sent. A failure names the setting to correct; a mail server down or
    mistyped otherwise only shows as notices that wait."""
    cfg = settings.notices
    if not cfg.enabled:
        return []
    name = "notices mail server"
    if not cfg.smtp_host:
        return [
            _warn(
                name,
                "notices.smtp_host is not set: e-mail notices wait in the outbox",
                "set the [notices] SMTP settings (docs: Member notices, Configuring e-mail)",
            )
        ]
    password: str | None = None
    if cfg.smtp_password_secret:
        password, missing = secrets.check(name, cfg.smtp_password_secret, "the SMTP password")
        if missing is not None:
            return [missing]
    quick = cfg.model_copy(update={"smtp_timeout": min(cfg.smtp_timeout, MAIL_CHECK_TIMEOUT)})
    where = f"{cfg.smtp_host}:{cfg.smtp_port}"
    fix = (
        "correct the [notices] setting named, run doctor again, then "
        "`ifn-campaign notices send --now`"
    )
    try:
        with SmtpConnection(quick, password) as smtp:
            smtp.check()
    except (SmtpTemporary, IFNError) as exc:
        return [_fail(name, str(exc), fix)]
    security = {"starttls": "STARTTLS", "tls": "TLS", "none": "no encryption"}[cfg.smtp_security]
    login = f"login as {cfg.smtp_user!r} accepted" if cfg.smtp_user else "no login"
    return [_ok(name, f"{where} answers; {security}; {login}")]


# --- all together -----------------------------------------------------------------------------


def check_lost_runs(api_url: str, settings: Settings) -> Check:
    """The server marks our lost runs Crashed as the settings say: the automation `deploy` makes
    is there, matches `prefect.lost_after_seconds`, is on, and the triggers service runs
    (`ifn_campaign.orchestration.lost_runs`). A warning otherwise: the flows still run."""
    from ifn_campaign.orchestration.lost_runs import AUTOMATION_NAME, lost_run_problem

    name = "lost runs"
    try:
        from prefect.client.orchestration import get_client
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with (
            temporary_settings(updates={PREFECT_API_URL: api_url}),
            get_client(sync_client=True) as client,
        ):
            problem = lost_run_problem(client, settings)
    except Exception as exc:  # a server that answered /health a moment ago: say what broke
        return _warn(name, f"cannot read the server's automations ({type(exc).__name__})")
    if problem is not None:
        return _warn(name, *problem)
    return _ok(
        name,
        f"a run silent for {settings.prefect.lost_after_seconds} s is marked Crashed "
        f"(automation '{AUTOMATION_NAME}')",
    )


_FROM_PREFECT: Any = object()


def run_checks(
    settings: Settings,
    *,
    config_file: Path | None = None,
    prefect_url: str | None = _FROM_PREFECT,
    today: date | None = None,
    secrets: Secrets | None = None,
) -> list[Check]:
    """Every check, in the order staff fix things: settings, campaigns, database, Prefect,
    media host, then each account. `prefect_url` defaults to Prefect's own setting; `secrets`
    is the caller's lookup (`Resources.secrets`), by default one on the process's environment."""
    checks = check_settings(settings, config_file)
    checks += check_campaigns(settings, today)
    found, engine = check_database(settings.database.url)
    checks += found
    try:
        url = prefect_api_url() if prefect_url is _FROM_PREFECT else prefect_url
        prefect, reachable = check_prefect(url)
        checks.append(prefect)
        if url and reachable:
            checks.append(check_lost_runs(url, settings))
        checks += check_media_host(settings)
        reader = SecretReader(reachable, secrets)
        checks += check_mail_server(settings, reader)
        checks += check_accounts(settings, reader, engine)
    finally:
        if engine is not None:
            engine.dispose()
    return checks


def failed(checks: Iterable[Check]) -> bool:
    """True when any check failed (warnings do not count)."""
    return any(c.status == "fail" for c in checks)


# --- small helpers --------------------------------------------------------------------------


def _network_reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection refused or host unreachable"
    return type(exc).__name__


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return None
