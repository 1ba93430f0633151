"""The one secret lookup (`ifn_campaign.secrets`): IFN_SECRET_<NAME>, else the Prefect Secret
block of that name; its errors say where to put the secret and never hold a value, and a Prefect
server that does not answer is not reported as a block that is not there."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import httpx
import pytest

from ifn_campaign import secrets
from ifn_campaign.errors import ConfigError
from ifn_campaign.secrets import Secrets, env_name, read_so_far


def test_the_environment_first_and_the_value_is_remembered_for_the_log() -> None:
    lookup = Secrets({"IFN_SECRET_IG_BPIPI": "tok-env-5f3a"})
    assert env_name("ig-bpipi") == "IFN_SECRET_IG_BPIPI"
    assert lookup.in_environment("ig-bpipi") and not lookup.in_environment("fb-bpipi")
    assert lookup("ig-bpipi") == "tok-env-5f3a"
    assert "tok-env-5f3a" in read_so_far()


def test_a_block_prefect_does_not_hold_is_not_found(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.exceptions import ObjectNotFound

    def missing(name: str) -> str:  # what Block.load raises on a 404
        try:
            raise ObjectNotFound(http_exc=Exception("404"))
        except ObjectNotFound as exc:
            raise ValueError(f"Unable to find block document named {name}") from exc

    monkeypatch.setattr(secrets, "prefect_secret", missing)
    with pytest.raises(ConfigError) as caught:
        Secrets({})("ig-bpipi")
    assert str(caught.value) == (
        "secret 'ig-bpipi' not found: set IFN_SECRET_IG_BPIPI or create the Prefect Secret "
        "block 'ig-bpipi'"
    )


def test_a_prefect_server_that_does_not_answer_is_not_a_missing_block(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Staff told 'not found' would create a block that is already there; the error says the
    server was not reached and how to fix that, or to set the variable."""

    def down(name: str) -> str:
        raise httpx.ConnectError("[Errno 111] Connection refused")

    monkeypatch.setattr(secrets, "prefect_secret", down)
    with pytest.raises(ConfigError) as caught:
        Secrets({})("ifn-registry-token")
    message = str(caught.value)
    assert "not found" not in message
    assert message == (
        "secret 'ifn-registry-token': IFN_SECRET_IFN_REGISTRY_TOKEN is not set and the Prefect "
        "server holding Secret blocks could not be asked (ConnectError); start it or correct "
        "PREFECT_API_URL, or set IFN_SECRET_IFN_REGISTRY_TOKEN"
    )


def test_a_real_prefect_url_where_nobody_answers() -> None:
    """The same through Prefect's own client, pointed at a closed port."""
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        temporary_settings(
            updates={PREFECT_API_URL: f"http://127.0.0.1:{port}/api", PREFECT_CLIENT_MAX_RETRIES: 0}
        ),
        pytest.raises(ConfigError, match=r"could not be asked \(ConnectError\)"),
    ):
        Secrets({})("sandbox-yt-refresh")


def test_the_settings_that_name_a_secret_are_not_blanked_as_secrets() -> None:
    """The log file and the error line blank every secret value in the environment, but a
    setting that only names a secret holds what staff must read in the error."""
    found = secrets.values_in_environment(
        {
            "IFN_REGISTRY__TOKEN": "tok-registry-1",
            "IFN_SECRET_IG_BPIPI": "tok-ig-2",
            "IFN_SECRET_YT_CLIENT_SECRET": "tok-client-3",
            "IFN_DATABASE__URL": "postgresql+psycopg://app:pw-db-4@db/ifn",
            "IFN_REGISTRY__TOKEN_SECRET_BLOCK": "ifn-registry-token",
            "IFN_ACCOUNTS__INSTAGRAM__BPIPI__TOKEN_SECRET": "ig-bpipi",
            "IFN_ACCOUNTS__YOUTUBE__BPIPI__CLIENT_SECRET_SECRET": "yt-client",
            "IFN_ACCOUNTS__YOUTUBE__BPIPI__REFRESH_TOKEN_SECRET": "yt-refresh",
            "IFN_REGISTRY__PAGE_SIZE": "200",
        }
    )
    assert found == {"tok-registry-1", "tok-ig-2", "tok-client-3", "pw-db-4"}


def test_a_missing_registry_token_block_is_named_in_the_error_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ifn_campaign import store
    from ifn_campaign.cli.app import main

    for key in [k for k in os.environ if k.startswith("IFN_")]:
        monkeypatch.delenv(key)
    url = f"sqlite:///{tmp_path / 'ifn.db'}"
    store.upgrade(store.make_engine(url))
    monkeypatch.setenv("IFN_DATABASE__URL", url)
    monkeypatch.setenv("IFN_LOG__FILE", str(tmp_path / "cli.log"))
    monkeypatch.setenv("IFN_REGISTRY__TOKEN_SECRET_BLOCK", "ifn-registry-token")

    def down(name: str) -> str:
        raise httpx.ConnectError("[Errno 111] Connection refused")

    monkeypatch.setattr(secrets, "prefect_secret", down)
    assert main(["sync"]) == 1
    line = capsys.readouterr().err.strip()
    assert line.startswith("error: secret 'ifn-registry-token': IFN_SECRET_IFN_REGISTRY_TOKEN")
