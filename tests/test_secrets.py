"""The one secret lookup (`ifn_campaign.secrets`): IFN_SECRET_<NAME>, else the Prefect Secret
block of that name; its errors say where to put the secret and never hold a value, and a Prefect
server that does not answer is not reported as a block that is not there."""

from __future__ import annotations

import socket

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
