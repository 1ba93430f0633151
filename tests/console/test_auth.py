"""Signing in and out, the login cookie and the form token."""

from __future__ import annotations

import pytest

from tests.support.console import PASSWORD, USERS, ConsoleWorld, form_token, sign_in


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: the sign-in flow, cookie and form token; the users' queries run on both
    databases in test_login_limit.py, test_users_cli.py and test_users_page.py."""
    return sqlite_url


def test_a_page_sends_a_visitor_to_the_login_form(console: ConsoleWorld) -> None:
    answer = console.anonymous().get("/me")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fme"


def test_the_right_password_signs_in_and_sign_out_ends_it(console: ConsoleWorld) -> None:
    client = console.anonymous()
    answer = sign_in(client, USERS["viewer"])
    assert answer.status_code == 303, answer.text
    me = client.get("/me")
    assert me.status_code == 200
    assert "viewer-user" in me.text
    out = client.post("/logout", data={"csrf": form_token(me.text)})
    assert out.status_code == 303
    assert client.get("/me").status_code == 303


def test_a_wrong_password_is_refused(console: ConsoleWorld) -> None:
    client = console.anonymous()
    answer = sign_in(client, USERS["viewer"], PASSWORD + "x")
    assert answer.status_code == 401
    assert client.get("/me").status_code == 303


def test_indonesian_is_the_default_and_english_a_switch(console: ConsoleWorld) -> None:
    assert "Pengaturan Anda" in console.client("viewer").get("/me").text
    answer = console.post("viewer", "/me/language", {"language": "en"})
    assert answer.status_code == 303
    assert "Your settings" in console.client("viewer").get("/me").text
