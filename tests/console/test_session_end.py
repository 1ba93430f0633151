"""Security review: what signing out, rotating addresses and trusting every proxy do to a login."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine

from ifn_campaign.config import ConsoleSettings
from ifn_campaign.console.sessions import COOKIE
from tests.support.console import (
    USERS,
    ConsoleWorld,
    console_world,
    form_token,
    settings_for,
    sign_in,
)


def test_signing_out_ends_a_copy_of_the_login_cookie_too(console: ConsoleWorld) -> None:
    """A login cookie someone copied (a shared computer, a stolen cookie) stops working when its
    owner signs out: signing out ends the login on the server, not only in this browser."""
    client = console.anonymous()
    assert sign_in(client, USERS["viewer"]).status_code == 303
    copied = client.cookies.get(COOKIE)
    assert copied
    thief = TestClient(console.app, base_url="http://127.0.0.1", follow_redirects=False)
    thief.cookies.set(COOKIE, copied)
    assert thief.get("/me").status_code == 200
    me = client.get("/me")
    assert client.post("/logout", data={"csrf": form_token(me.text)}).status_code == 303
    answer = thief.get("/me")
    assert answer.status_code == 303, "the copied cookie still works after signing out"
    assert answer.headers["location"].startswith("/login")
    # and signing in again works
    assert sign_in(client, USERS["viewer"]).status_code == 303
    assert client.get("/me").status_code == 200


def test_the_per_address_limit_counts_an_ipv6_slash_64_as_one_address(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    """One IPv6 subscriber holds a whole /64 (2^64 addresses): counting each address alone let
    them try passwords without end, one address after another."""
    limits = {"login_attempts": 3, "login_attempts_per_address": 4, "login_window_minutes": 15}
    with console_world(settings_for(db_url, tmp_path, console=limits)) as world:
        for i in range(4):
            client = TestClient(
                world.app, client=(f"2001:db8:1:2::{i + 1:x}", 5000), follow_redirects=False
            )
            answer = sign_in(client, f"nobody-{i}", "wrong-password")
            assert answer.status_code == 401
        fifth = TestClient(
            world.app, client=("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 5000), follow_redirects=False
        )
        assert sign_in(fifth, USERS["viewer"]).status_code == 429
        elsewhere = TestClient(world.app, client=("2001:db8:1:3::1", 5000), follow_redirects=False)
        assert sign_in(elsewhere, USERS["viewer"]).status_code == 303
        # an IPv4 address written as IPv6 is the IPv4 address
        for i in range(4):
            client = TestClient(
                world.app, client=("::ffff:192.0.2.10", 5000), follow_redirects=False
            )
            assert sign_in(client, f"nobody-{i}", "wrong-password").status_code == 401
        plain = TestClient(world.app, client=("192.0.2.10", 5000), follow_redirects=False)
        assert sign_in(plain, USERS["viewer"]).status_code == 429


@pytest.mark.parametrize("everyone", ["0.0.0.0/0", "::/0", " 0.0.0.0/0"])
def test_trusting_a_network_of_every_address_is_refused(everyone: str) -> None:
    """'0.0.0.0/0' trusts every visitor's X-Forwarded-For as '*' does (which create_app
    refuses): before, it was taken, and anyone could claim any address to the login limit."""
    with pytest.raises(ValidationError, match="every address"):
        ConsoleSettings(trusted_proxies=["10.0.0.7", everyone])
    assert ConsoleSettings(trusted_proxies=["10.0.0.0/8", "::1"]).trusted_proxies
