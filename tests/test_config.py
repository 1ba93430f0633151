"""Settings: TOML file, IFN_ environment overrides, secrets refused from files, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ifn_campaign.config import Settings, load_settings
from ifn_campaign.errors import ConfigError
from ifn_campaign.wiring import Resources

EXAMPLE = Path(__file__).resolve().parents[1] / "assets" / "ifn-campaign.example.toml"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("IFN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_defaults_without_a_file(tmp_path: Path) -> None:
    s = load_settings()
    assert s.database.url == f"sqlite:///{tmp_path}/var/ifn-campaign.db"  # under the cwd
    assert s.registry.page_size == 200 and s.registry.token is None
    assert s.media.max_bytes == 15 * 1024 * 1024


def test_committed_example_loads_and_matches_defaults() -> None:
    # the example's paths resolve under its own folder, as a default Settings' do under data_dir
    assert load_settings(EXAMPLE) == Settings(data_dir=EXAMPLE.parent)


def test_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "ifn-campaign.toml"
    cfg.write_text('[registry]\nbase_url = "https://registry.example/"\npage_size = 50\n')
    s = load_settings()  # ./ifn-campaign.toml is found
    assert s.registry.base_url == "https://registry.example" and s.registry.page_size == 50
    monkeypatch.setenv("IFN_REGISTRY__PAGE_SIZE", "300")
    monkeypatch.setenv("IFN_MEDIA__ALLOW_HOSTS", '["cdn.local:8080"]')
    s = load_settings()
    assert s.registry.page_size == 300 and s.media.allow_hosts == ["cdn.local:8080"]
    monkeypatch.setenv("IFN_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()


def test_token_comes_from_the_environment_and_stays_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IFN_REGISTRY__TOKEN", "tok-123456")
    s = load_settings()
    assert Resources(s).registry_token() == "tok-123456"
    assert "tok-123456" not in repr(s) and "tok-123456" not in str(s.model_dump())


def test_token_in_the_file_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[registry]\ntoken = "tok-abc"\n')
    with pytest.raises(ConfigError, match="IFN_REGISTRY__TOKEN") as info:
        load_settings(cfg)
    assert "tok-abc" not in str(info.value)


@pytest.mark.parametrize(
    "text,message",
    [
        ("[registry\n", "not valid TOML"),
        ("[registry]\npage_size = 900\n", "registry.page_size"),
        ('[registry]\nbase_url = "ftp://x"\n', "registry.base_url"),
        ("[registri]\n", "registri"),
        ("[media]\nmax_bytes = -1\n", "media.max_bytes"),
        ('[media]\nallow_hosts = "x"\n', "media.allow_hosts"),
    ],
)
def test_invalid_files_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(cfg)
    assert str(cfg) in str(info.value)


def test_binary_garbage_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match=r"c\.toml"):
        load_settings(cfg)


def test_bad_environment_value_is_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IFN_REGISTRY__PAGE_SIZE", "lots")
    with pytest.raises(ConfigError, match=r"registry\.page_size"):
        load_settings()


@pytest.mark.parametrize(
    "text,key",
    [
        ('[registry]\nbase_url = "https://ifn:pw-5c1e9a@registry.example"\n', "registry.base_url"),
        (
            '[publish]\nmedia_base_url = "https://u:pw-5c1e9a@cdn.example/c"\n',
            "publish.media_base_url",
        ),
    ],
)
def test_a_password_in_a_url_setting_is_refused_unshown(
    tmp_path: Path, text: str, key: str
) -> None:
    """A URL the code names in messages, sync runs, lock names and artifacts (`registry:<url>`)
    or hands to the platforms must not carry credentials: refused, with where a token goes, and
    the password not repeated."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=key) as info:
        load_settings(cfg)
    assert "pw-5c1e9a" not in str(info.value)
    assert "user name or password" in str(info.value)


@pytest.mark.parametrize(
    "heartbeat,lost_after",
    [(90, 60), (60, 60), (45, 60), (31, 61), (100, 120)],
)
def test_a_lost_run_wait_too_short_for_the_heartbeat_is_refused(
    tmp_path: Path, heartbeat: int, lost_after: int
) -> None:
    """A run is marked Crashed when no heartbeat comes for prefect.lost_after_seconds: with
    heartbeats further apart than half of that (one late heartbeat, or the first after a slow
    start), the server would crash runs that are alive and well. Refused when read, naming
    both keys, instead of discovered as healthy runs marked Crashed."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f"[prefect]\nheartbeat_seconds = {heartbeat}\nlost_after_seconds = {lost_after}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    message = str(info.value)
    assert "prefect.lost_after_seconds" in message and "prefect.heartbeat_seconds" in message
    assert f"at least {2 * heartbeat}" in message and str(cfg) in message


@pytest.mark.parametrize("heartbeat,lost_after", [(30, 60), (30, 120), (60, 120), (45, 600)])
def test_a_lost_run_wait_of_two_heartbeats_or_more_is_accepted(
    tmp_path: Path, heartbeat: int, lost_after: int
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f"[prefect]\nheartbeat_seconds = {heartbeat}\nlost_after_seconds = {lost_after}\n"
    )
    prefect = load_settings(cfg).prefect
    assert (prefect.heartbeat_seconds, prefect.lost_after_seconds) == (heartbeat, lost_after)


def test_a_lost_run_wait_from_the_environment_is_checked_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """IFN_PREFECT__LOST_AFTER_SECONDS is what deploy hands every run: checked the same."""
    monkeypatch.setenv("IFN_PREFECT__HEARTBEAT_SECONDS", "90")
    with pytest.raises(ConfigError, match=r"prefect\.lost_after_seconds \(120 s\)"):
        load_settings()


@pytest.mark.parametrize(
    "url,ok",
    [
        ("https://anggota.bpipi.example", True),
        ("http://127.0.0.1:8080", True),
        ("http://localhost:8080", True),
        ("http://[::1]:8080", True),
        ("http://anggota.bpipi.example", False),
        ("http://203.0.113.9:8080", False),
        ("http://127.0.0.1.evil.example", False),
    ],
)
def test_member_links_go_over_http_only_on_this_machine(tmp_path: Path, url: str, ok: bool) -> None:
    """A member link is the member's login: over plain http to another host anyone on the
    member's network could answer, or withdraw, in their name."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[member_page]\nbase_url = "{url}"\n')
    if ok:
        assert load_settings(cfg).member_page.base_url == url
    else:
        with pytest.raises(ConfigError, match=r"member_page\.base_url.*https://"):
            load_settings(cfg)


@pytest.mark.parametrize(
    "text,key",
    [
        ("[notices]\ndays_ahead = 0\n", "notices.days_ahead"),
        ('[notices]\nsmtp_host = "mail.example.org:587"\n', "notices.smtp_host"),
        ('[notices]\nsmtp_host = "smtps://mail.example.org"\n', "notices.smtp_host"),
        ('[notices]\nimap_host = "imap.example.org/INBOX"\n', "notices.imap_host"),
        ('[member_page]\nbase_url = "https://"\n', "member_page.base_url"),
        ('[member_page]\nbase_url = "https://anggota example.org"\n', "member_page.base_url"),
        ('[member_page]\nbase_url = "https://anggota.example.org/ifn/"\n', "member_page.base_url"),
        (
            '[member_page]\nbase_url = "https://anggota.example.org/?ref=1"\n',
            "member_page.base_url",
        ),
        ('[member_page]\nbase_url = "https://anggota.example.org/#x"\n', "member_page.base_url"),
        ('[showcase]\ndir = ""\n', "showcase.dir"),
        ('[notices]\nsender = "BPIPI"\n', "notices.sender"),
        ('[notices]\nsender = "IFN <ifn@bpipi>"\n', "notices.sender"),
        ('[notices]\nreply_to = "a@bpipi.id\\r\\nBcc: semua@bpipi.id"\n', "notices.reply_to"),
    ],
)
def test_notice_page_and_showcase_settings_that_cannot_work_name_the_key(
    tmp_path: Path, text: str, key: str
) -> None:
    """Each was taken and failed later, or silently: days_ahead 0 told no member before a
    post; a host with its port or scheme was 'not reachable' every run; a base_url with a
    path, a query or a fragment made every notice's page link miss /anggota/ (the page's
    forms and cards are at the server's root); showcase.dir "" was the data folder itself; a
    sender or reply_to that is no address stopped every queue run later."""
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError, match=key) as info:
        load_settings(cfg)
    assert len(str(info.value).splitlines()) == 1


def test_a_blank_smtp_host_is_unset_and_a_trailing_slash_is_dropped(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[notices]\nsmtp_host = " "\nimap_host = "::1"\n'
        '[member_page]\nbase_url = "https://anggota.example.org/"\n'
    )
    s = load_settings(cfg)
    assert s.notices.smtp_host is None and s.notices.imap_host == "::1"
    assert s.member_page.base_url == "https://anggota.example.org"
