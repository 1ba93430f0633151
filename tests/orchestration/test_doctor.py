"""`ifn-campaign doctor` over real HTTP against the platform sandboxes and a real SQLite file:
a ready installation passes; dead tokens, missing permissions and secrets, an unmigrated
database, an unreachable media host or Prefect server each fail with the account or thing named
and the fix; no secret is ever printed. Also the sandboxes' token endpoints the checks use
(`debug_token`, `/me`, Google's `tokeninfo`)."""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from PIL import Image
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.cli.app import main
from ifn_campaign.config import AccountSettings, Settings
from ifn_campaign.models import AccountState
from ifn_campaign.orchestration.doctor import (
    Check,
    SecretReader,
    check_accounts,
    check_campaigns,
    check_database,
    check_media_host,
    check_settings,
    check_youtube_account,
    failed,
    run_checks,
)
from ifn_campaign.publishing.media_host import MediaHost
from ifn_campaign.secrets import env_name
from ifn_sandbox.graph import ALL_SCOPES, GraphAccount, GraphSandbox
from ifn_sandbox.mail import MailSandbox
from ifn_sandbox.platforms import (
    GRAPH_SECRET,
    SECRETS,
    YT_CLIENT_SECRET,
    YT_REFRESH_SECRET,
    PlatformSandboxes,
)
from ifn_sandbox.youtube import SCOPE, YouTubeChannel, YouTubeSandbox

GOOGLE = "https://www.googleapis.com/auth/"


@dataclass
class Setup:
    platforms: PlatformSandboxes
    settings: Settings
    folder: Path
    card: Path


def _write_card(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (400, 500), (200, 40, 40)).save(path, "JPEG", quality=80)
    return path


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    """A migrated SQLite database, one card, and settings pointing at the three sandboxes (whose
    secrets they put in IFN_SECRET_* while running)."""
    url = f"sqlite:///{tmp_path / 'ifn.db'}"
    engine = store.make_engine(url)
    store.upgrade(engine)
    engine.dispose()
    card = _write_card(tmp_path / "cards" / "ab" / "abcd1234.jpg")
    with (
        PlatformSandboxes(tmp_path / "cards") as platforms,
        MailSandbox(tmp_path / "maildir") as mail,
    ):
        notices = {"smtp_host": mail.host, "smtp_port": mail.smtp_port, "smtp_security": "none"}
        settings = platforms.settings(Settings(database={"url": url}, notices=notices))
        yield Setup(platforms, settings, tmp_path, card)


@pytest.fixture
def cli(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> Setup:
    """The CLI sees the same settings through IFN_ variables, with no settings file."""
    for key in list(os.environ):
        if key.startswith("IFN_") and not key.startswith("IFN_SECRET_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(setup.folder)
    for key, value in setup.platforms.environ(setup.settings).items():
        if not key.startswith("IFN_SECRET_"):  # the sandboxes set (and restore) those
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("IFN_DATABASE__URL", setup.settings.database.url)
    mail = setup.settings.notices
    for key, value in (("HOST", mail.smtp_host), ("PORT", mail.smtp_port), ("SECURITY", "none")):
        monkeypatch.setenv(f"IFN_NOTICES__SMTP_{key}", str(value))
    return setup


@contextmanager
def secret_env(name: str, value: str | None) -> Iterator[None]:
    """Set or remove one IFN_SECRET_* for a while (not monkeypatch: the sandboxes restore those
    when they stop, and a later undo would put sandbox values back into the environment)."""
    key = env_name(name)
    saved = os.environ.get(key)
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = saved


@contextmanager
def prefect_at(url: str | None) -> Iterator[None]:
    """Prefect's API URL for the CLI (None: none configured, ephemeral mode)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if url is None:
        with temporary_settings(restore_defaults={PREFECT_API_URL}):
            yield
    else:
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main([*args, "doctor"])
    captured = capsys.readouterr()
    return code, (captured.out + captured.err).splitlines()


def line(lines: list[str], start: str) -> str:
    found = [text for text in lines if text.startswith(start)]
    assert len(found) == 1, f"{start!r} in:\n" + "\n".join(lines)
    return found[0]


def by_name(checks: list[Check], name: str) -> list[Check]:
    return [c for c in checks if c.name == name]


# --- a ready installation ----------------------------------------------------------------------


def test_ready_installation_passes(cli: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    checks = run_checks(cli.settings, prefect_url=None)
    assert not failed(checks), "\n".join(c.line() for c in checks)
    assert [c.status for c in checks if c.status != "ok"] == ["warn"]  # no Prefect server

    with prefect_at(None):
        code, lines = doctor(capsys)
    assert code == 0, "\n".join(lines)
    url = store.safe_url(cli.settings.database.url)
    head = store.head_revision()
    assert line(lines, "ok   database") == f"ok   database {url}: at migration {head} (head)"
    assert line(lines, "ok   settings: no settings file").endswith(
        "accounts: instagram/bpipi, facebook/bpipi, youtube/bpipi"
    )
    assert "3 not over yet, all on configured accounts" in line(lines, "ok   campaigns")
    assert line(lines, "ok   notices mail server").endswith(" answers; no encryption; no login")
    assert line(lines, "ok   media host").endswith(
        f": serves ab/abcd1234.jpg (image/jpeg, {cli.card.stat().st_size} bytes)"
    )
    instagram = line(lines, "ok   instagram/bpipi")
    assert "Page token valid, never expires" in instagram
    assert "instagram_basic, instagram_content_publish" in instagram and "@ifn.bpipi" in instagram
    assert "pages_manage_posts, pages_read_engagement" in line(lines, "ok   facebook/bpipi")
    assert line(lines, "ok   youtube/bpipi") == (
        "ok   youtube/bpipi: refresh token works; scopes youtube, youtube.upload"
    )
    assert line(lines, "warn prefect").startswith("warn prefect: no Prefect server configured")
    assert lines[-1] == "8 ok, 1 warning(s), 0 failed: ready"
    # read-only: no container, post or video was made, no YouTube quota spent
    assert not cli.platforms.graph.containers() and not cli.platforms.graph.posts()
    assert cli.platforms.youtube.quota_used() == 0 and not cli.platforms.youtube.videos()


# --- tokens, permissions, secrets --------------------------------------------------------------


def test_dead_tokens_name_the_account_and_the_fix(
    cli: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.platforms.graph.expire_token(GraphAccount().token)
    cli.platforms.youtube.revoke(YouTubeChannel().refresh_token)
    engine = store.open_store(cli.settings.database.url)
    with Session(engine) as session:  # the publisher had already set the account aside
        session.add(
            AccountState(
                channel="instagram",
                account="bpipi",
                needs_reauth_since=datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
            )
        )
        session.commit()
    engine.dispose()
    with prefect_at(None):
        code, lines = doctor(capsys)
    assert code == 1
    instagram = [text for text in lines if text.startswith("FAIL instagram/bpipi")]
    assert instagram == [
        "FAIL instagram/bpipi: token refused: the token expired (code 190/463) -> a Page admin "
        "reconnects the app (the Page and its Instagram account) in Meta Business settings; "
        "store the new Page token as IFN_SECRET_SANDBOX_GRAPH_TOKEN or Prefect Secret block "
        "'sandbox-graph-token'",
        "FAIL instagram/bpipi: the publisher has left this account alone since 2026-11-20 08:00 "
        "UTC (its token died) -> store a working token, then run "
        "`ifn-campaign accounts reauthorised instagram bpipi`",
    ]
    assert line(lines, "FAIL facebook/bpipi").startswith(
        "FAIL facebook/bpipi: token refused: the token expired (code 190/463) -> "
    )
    youtube = line(lines, "FAIL youtube/bpipi")
    assert "Google refused the refresh token (invalid_grant" in youtube
    assert youtube.endswith(
        f"scopes {GOOGLE}youtube.upload and {GOOGLE}youtube); store the new refresh token as "
        "IFN_SECRET_SANDBOX_YT_REFRESH or Prefect Secret block 'sandbox-yt-refresh'"
    )
    assert lines[-1].endswith("4 failed: fix the FAIL lines, then run `ifn-campaign doctor` again")


def test_token_the_platform_never_issued(setup: Setup) -> None:
    with secret_env(GRAPH_SECRET, "EAAG-never-issued-0001"):
        checks = check_accounts(setup.settings, SecretReader(None))
    assert [c.line() for c in checks if c.name == "instagram/bpipi"] == [
        "FAIL instagram/bpipi: token refused: the token is no longer valid (code 190) -> a Page "
        "admin reconnects the app (the Page and its Instagram account) in Meta Business settings; "
        "store the new Page token as IFN_SECRET_SANDBOX_GRAPH_TOKEN or Prefect Secret block "
        "'sandbox-graph-token'"
    ]


def test_missing_permission_is_named_and_expiry_warned(setup: Setup) -> None:
    account = GraphAccount()
    setup.platforms.graph.add_token(
        "limited-page-token",
        [account.page_id, account.ig_user_id],
        scopes=ALL_SCOPES - {"pages_manage_posts"},
        expires_in=5 * 86400,
    )
    with secret_env(GRAPH_SECRET, "limited-page-token"):
        checks = check_accounts(setup.settings, SecretReader(None))
    facebook = by_name(checks, "facebook/bpipi")
    assert [c.status for c in facebook] == ["fail", "warn"]
    assert facebook[0].message == "the token lacks permission pages_manage_posts"
    assert facebook[0].fix is not None and "granting pages_manage_posts" in facebook[0].fix
    assert facebook[1].message.startswith("the token expires 20")
    instagram = by_name(checks, "instagram/bpipi")  # still usable: an ok line and the warning
    assert [c.status for c in instagram] == ["ok", "warn"]
    assert "Page token valid; permissions instagram_basic" in instagram[0].message


def test_youtube_scope_missing_is_named(setup: Setup) -> None:
    upload_only = YouTubeChannel(scope=f"{GOOGLE}youtube.upload")
    with YouTubeSandbox(channels=[upload_only]) as yt:
        youtube = setup.settings.youtube.model_copy(
            update={"token_url": f"{yt.url}/token", "tokeninfo_url": f"{yt.url}/tokeninfo"}
        )
        settings = setup.settings.model_copy(update={"youtube": youtube})
        checks = check_youtube_account(
            settings, "bpipi", settings.accounts["youtube"]["bpipi"], SecretReader(None)
        )
    assert len(checks) == 1 and checks[0].status == "fail"
    assert checks[0].message == (
        f"the token lacks scope {GOOGLE}youtube or youtube.force-ssl (to read a video's status "
        "and delete withdrawn videos)"
    )
    assert checks[0].fix is not None and "authorises the app again" in checks[0].fix


def test_wrong_account_id_and_missing_keys(setup: Setup) -> None:
    accounts = {
        "instagram": {
            "bpipi": AccountSettings(ig_user_id="17841499999999999", token_secret=GRAPH_SECRET)
        },
        "facebook": {"bpipi": AccountSettings(page_id="100000000000001")},
        "youtube": {"bpipi": AccountSettings(channel_id="UCx", client_id="c.apps")},
        "tiktok": {"bpipi": AccountSettings()},
    }
    settings = setup.settings.model_copy(update={"accounts": accounts})
    checks = check_accounts(settings, SecretReader(None))
    assert [c.line() for c in checks] == [
        "FAIL instagram/bpipi: the token cannot see Instagram account 17841499999999999 -> "
        "correct ig_user_id, and link the Instagram account to the token's Page",
        "FAIL facebook/bpipi: token_secret not set -> add token_secret to "
        "[accounts.facebook.bpipi] (docs/how-to/add-account.md)",
        "FAIL youtube/bpipi: client_secret_secret, refresh_token_secret not set -> add "
        "client_secret_secret and refresh_token_secret to [accounts.youtube.bpipi] "
        "(docs/how-to/add-account.md)",
    ]
    assert [c.line() for c in check_settings(settings) if c.status != "ok"] == [
        "warn accounts.tiktok: 'tiktok' is not a channel ifn-campaign publishes to (instagram, "
        "facebook, youtube) -> rename the table or remove it"
    ]


def test_campaigns_need_configured_accounts() -> None:
    settings = Settings(accounts={"instagram": {"bpipi": AccountSettings(ig_user_id="1")}})
    after_ramadan = datetime(2027, 4, 1).date()  # only the weekly campaign is not over
    assert [c.line() for c in check_campaigns(settings, today=after_ramadan)] == [
        f"FAIL {channel}/bpipi: not configured, but campaign(s) sorotan-anggota post on it -> add "
        f"[accounts.{channel}.bpipi] (docs/how-to/add-account.md) or change the campaigns' account"
        for channel in ("facebook", "youtube")
    ]
    before = [c.line() for c in check_campaigns(settings, today=datetime(2026, 11, 25).date())]
    assert before[0].startswith(
        "FAIL facebook/bpipi: not configured, but campaign(s) harbolnas-1212, ramadan-2027, "
        "sorotan-anggota post on it"
    )
    assert check_settings(Settings())[-1].line() == (
        "warn accounts: no accounts configured: nothing can be published -> add "
        "[accounts.<channel>.<name>] tables with ids and secret names (docs/how-to/add-account.md)"
    )


@pytest.mark.slow
def test_missing_secret_with_prefect_down(cli: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    """Prefect holds the Secret blocks: with it down, a secret missing from the environment
    fails at once, naming both places it could be."""
    port = closed_port()
    with secret_env(YT_REFRESH_SECRET, None), prefect_at(f"http://127.0.0.1:{port}/api"):
        code, lines = doctor(capsys)
    assert code == 1
    assert line(lines, "FAIL prefect") == (
        f"FAIL prefect http://127.0.0.1:{port}/api: does not answer /health (ConnectError: "
        "[Errno 111] Connection refused) -> start the Prefect server (`prefect server start`) "
        "or correct PREFECT_API_URL"
    )
    assert line(lines, "FAIL youtube/bpipi") == (
        "FAIL youtube/bpipi: secret 'sandbox-yt-refresh' (the channel's refresh token): "
        "IFN_SECRET_SANDBOX_YT_REFRESH is not set and the Prefect server holding Secret blocks "
        "does not answer -> set IFN_SECRET_SANDBOX_YT_REFRESH or create the Prefect Secret "
        "block 'sandbox-yt-refresh'"
    )
    assert line(lines, "ok   instagram/bpipi") and line(lines, "ok   facebook/bpipi")


@pytest.mark.slow
def test_prefect_server_and_a_secret_block(
    setup: Setup, prefect_server_for_this_test: None
) -> None:
    """On a real Prefect server: /health answers, and a token kept only in a Secret block works."""
    from prefect.blocks.system import Secret

    Secret(value=SECRETS[GRAPH_SECRET]).save(GRAPH_SECRET, overwrite=True)
    with secret_env(GRAPH_SECRET, None):
        checks = run_checks(setup.settings)
    assert not failed(checks), "\n".join(c.line() for c in checks)
    prefect = [c for c in checks if c.name.startswith("prefect ")]
    assert len(prefect) == 1 and prefect[0].status == "ok"
    assert prefect[0].message.startswith("answers /health (Prefect 3.")
    assert [c.status for c in by_name(checks, "instagram/bpipi")] == ["ok"]


# --- database -----------------------------------------------------------------------------------


def test_database_not_migrated(tmp_path: Path) -> None:
    head = store.head_revision()
    missing = tmp_path / "none" / "ifn.db"
    checks, engine = check_database(f"sqlite:///{missing}")
    assert engine is None and not missing.parent.exists()  # looking created nothing
    assert checks[0].line() == (
        f"FAIL database sqlite:///{missing}: the database file does not exist -> run "
        "`ifn-campaign db upgrade`"
    )
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    checks, _ = check_database(f"sqlite:///{empty}")
    assert checks[0].message == f"has no ifn-campaign tables (this version needs {head})"

    behind = tmp_path / "behind.db"
    eng = store.make_engine(f"sqlite:///{behind}")
    store.upgrade(eng, "0003")
    eng.dispose()
    checks, _ = check_database(f"sqlite:///{behind}")
    assert checks[0].line() == (
        f"FAIL database sqlite:///{behind}: at migration 0003, this version needs {head} -> "
        "run `ifn-campaign db upgrade`"
    )
    with sqlite3.connect(behind) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0999'")
    checks, _ = check_database(f"sqlite:///{behind}")
    assert checks[0].message == f"at migration 0999, which this version does not know (head {head})"


# --- media host ----------------------------------------------------------------------------------


def test_media_host_unreachable_or_wrong(setup: Setup, tmp_path: Path) -> None:
    def media(**update: object) -> list[Check]:
        publish = setup.settings.publish.model_copy(update=update)
        return check_media_host(setup.settings.model_copy(update={"publish": publish}))

    port = closed_port()
    assert [c.line() for c in media(media_base_url=f"http://127.0.0.1:{port}")] == [
        f"FAIL media host http://127.0.0.1:{port}: does not answer (connection refused or host "
        "unreachable) -> start the static server for cards.cache_dir, or correct "
        "publish.media_base_url"
    ]
    other = tmp_path / "elsewhere"
    other.mkdir()
    with MediaHost(other) as wrong:
        checks = media(media_base_url=wrong.url)
    assert [c.line() for c in checks] == [
        f"FAIL media host {wrong.url}: answers HTTP 404 for ab/abcd1234.jpg, a card in "
        "cards.cache_dir -> serve (or sync) cards.cache_dir at publish.media_base_url"
    ]
    no_cards = setup.settings.model_copy(
        update={"cards": setup.settings.cards.model_copy(update={"cache_dir": other})}
    )
    checks = check_media_host(no_cards)
    assert [c.status for c in checks] == ["warn"] and "has no card yet" in checks[0].message


def test_loopback_media_host_with_real_graph_accounts_is_a_warning(setup: Setup) -> None:
    real = "https://graph.facebook.com/v25.0"  # only parsed here, never called
    settings = setup.settings.model_copy(
        update={
            "instagram": setup.settings.instagram.model_copy(update={"graph_url": real}),
            "facebook": setup.settings.facebook.model_copy(update={"graph_url": real}),
        }
    )
    checks = check_media_host(settings)
    assert [c.status for c in checks] == ["ok", "warn"]
    assert checks[1].message == (
        "127.0.0.1 is not public (loopback address), but the accounts publish through "
        "graph.facebook.com, whose servers fetch every card from the internet"
    )
    assert [c.status for c in check_media_host(setup.settings)] == ["ok"]  # sandboxes: fine


# --- settings, secrets in output ------------------------------------------------------------------


def test_bad_settings_file_is_one_failing_check(
    cli: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = cli.folder / "bad.toml"
    bad.write_text("[database\nurl = 1\n", encoding="utf-8")
    code, lines = doctor(capsys, "--config", str(bad))
    assert code == 1
    assert lines[0].startswith(f"FAIL settings: settings file {bad} is not valid TOML")
    assert lines[0].endswith("-> correct the file or the IFN_ variable")


def test_secrets_never_printed(
    cli: Setup, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    values = [*SECRETS.values(), "EAAG-never-issued-4242", "wrong-client-secret-77", "Sup3rS3cret"]
    with prefect_at(None):
        _, ok_lines = doctor(capsys)  # everything answers
    monkeypatch.setenv(
        "IFN_DATABASE__URL", f"postgresql+psycopg://ifn:Sup3rS3cret@127.0.0.1:{closed_port()}/ifn"
    )
    with (
        secret_env(GRAPH_SECRET, "EAAG-never-issued-4242"),
        secret_env(YT_CLIENT_SECRET, "wrong-client-secret-77"),
        prefect_at(None),
    ):
        code, bad_lines = doctor(capsys)
    assert code == 1
    text = "\n".join(ok_lines + bad_lines)
    for value in values:
        assert value not in text
    assert "ya29." not in text  # no YouTube access token either
    database = line(bad_lines, "FAIL database postgresql+psycopg://ifn:***@127.0.0.1:")
    assert ": OperationalError: connection failed: " in database
    assert "(invalid_client)" in line(bad_lines, "FAIL youtube/bpipi")
    assert "token refused" in line(bad_lines, "FAIL instagram/bpipi")


def test_tokens_in_urls_never_reach_a_debug_log(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    """debug_token and tokeninfo put the token in the query string, which urllib3 logs at
    DEBUG: the values are blanked there (the lines are still written, with [redacted])."""
    caplog.set_level(logging.DEBUG, logger="urllib3")
    checks = check_accounts(setup.settings, SecretReader(None))
    assert {c.status for c in checks} == {"ok"}, [c.line() for c in checks]
    logged = caplog.text
    assert "/debug_token?input_token=[redacted]" in logged
    assert "/tokeninfo?access_token=[redacted]" in logged
    for value in SECRETS.values():
        assert value not in logged
    assert "ya29." not in logged  # the YouTube access token the sandbox issued


# --- the sandboxes' token endpoints -----------------------------------------------------------


def test_graph_sandbox_debug_token_and_me() -> None:
    with GraphSandbox() as graph:
        account = graph.accounts[0]
        base = f"{graph.url}/v25.0"
        auth = {"Authorization": f"Bearer {account.token}"}

        def debug(token: str, **headers: str) -> requests.Response:
            return requests.get(
                f"{base}/debug_token",
                params={"input_token": token},
                headers=headers or auth,
                timeout=5,
            )

        data = debug(account.token).json()["data"]
        assert data["is_valid"] is True and data["type"] == "PAGE"
        assert data["profile_id"] == account.page_id and data["expires_at"] == 0
        assert data["scopes"] == sorted(ALL_SCOPES) and data["app_id"] == graph.app_id
        grants = {g["scope"]: g["target_ids"] for g in data["granular_scopes"]}
        assert grants["instagram_content_publish"] == [account.ig_user_id]
        assert grants["pages_manage_posts"] == [account.page_id]

        graph.add_token("short-lived", [account.page_id], expires_in=60, scopes=["pages_show_list"])
        graph.advance(120)
        data = debug("short-lived").json()["data"]
        assert data["is_valid"] is False and data["scopes"] == ["pages_show_list"]
        assert data["error"]["code"] == 190 and data["error"]["subcode"] == 463
        assert debug("never-issued").json() == {
            "data": {
                "error": {
                    "code": 190,
                    "message": "Invalid OAuth access token - Cannot parse access token",
                },
                "is_valid": False,
                "scopes": [],
            }
        }
        # the caller's own token must be valid: an expired one is refused like anywhere else
        refused = debug("short-lived", Authorization="Bearer short-lived")
        assert refused.status_code == 400 and refused.json()["error"]["error_subcode"] == 463
        missing = requests.get(f"{base}/debug_token", headers=auth, timeout=5)
        assert missing.status_code == 400 and missing.json()["error"]["code"] == 100

        me = requests.get(f"{base}/me", params={"fields": "id,name"}, headers=auth, timeout=5)
        assert me.json() == {"id": account.page_id, "name": account.page_name}


def test_youtube_sandbox_tokeninfo() -> None:
    narrow = YouTubeChannel(
        channel_id="UCifnBPIPIsandbox000000b",
        refresh_token="narrow-refresh-token",
        scope=f"{GOOGLE}youtube.upload",
    )
    with YouTubeSandbox(channels=[YouTubeChannel(), narrow]) as yt:

        def info(token: str) -> requests.Response:
            return requests.get(f"{yt.url}/tokeninfo", params={"access_token": token}, timeout=5)

        answer = info(yt.issue_access_token())
        body = answer.json()
        assert answer.status_code == 200 and body["scope"] == SCOPE
        assert body["aud"] == body["azp"] == yt.client_id and body["access_type"] == "offline"
        assert body["expires_in"].isdigit() and int(body["exp"]) > 0  # strings, as Google's

        granted = requests.post(
            f"{yt.url}/token",
            data={
                "grant_type": "refresh_token",
                "client_id": yt.client_id,
                "client_secret": yt.client_secret,
                "refresh_token": narrow.refresh_token,
            },
            timeout=5,
        ).json()
        assert granted["scope"] == f"{GOOGLE}youtube.upload"
        assert info(granted["access_token"]).json()["scope"] == f"{GOOGLE}youtube.upload"

        bad = info("ya29.never-issued")
        assert bad.status_code == 400
        assert bad.json() == {"error": "invalid_token", "error_description": "Invalid Value"}
        yt.expire_access_tokens()
        assert info(granted["access_token"]).status_code == 400
