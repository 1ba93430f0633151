"""The console's safety, checked across every route the app has (so every page that lands is
covered without being named): login required, the role below refused, form tokens, security
headers, cookie flags, forwarded headers only from trusted proxies, session expiry and ending,
and no open redirect."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from ifn_campaign.cli.app import main
from ifn_campaign.console.sessions import COOKIE, Cookie, Signer, session_key
from ifn_campaign.errors import InvalidValueError
from ifn_campaign.models import LoginFailure, StaffRole, StaffUser
from tests.support.console import (
    PASSWORD,
    USERS,
    ConsoleWorld,
    console_world,
    form_token,
    settings_for,
    sign_in,
)
from tests.support.console_hostile import store_hostile
from tests.support.console_routes import Route, console_routes, database_rows, role_below

PROXY = "10.0.0.7"
OUTSIDER = "203.0.113.9"


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: the app's guards (roles, form tokens, headers, cookies, proxies, redirects) sit
    above the database; the users' and login failures' queries run on both databases in
    test_login_limit.py, test_users_cli.py and test_users_page.py, hostile rows in
    test_hostile_pages.py and test_robust_inputs.py."""
    return sqlite_url


@pytest.fixture
def world(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[ConsoleWorld]:
    """The console on a database holding the hostile sample members and their posts."""
    with console_world(settings_for(db_url, tmp_path)) as console:
        with console.session() as session:
            store_hostile(session)
        yield console


def _routes(app: object) -> list[Route]:
    routes = console_routes(app)  # type: ignore[arg-type]
    assert routes, "no routes found"
    return routes


def _guarded(world: ConsoleWorld, method: str) -> list[Route]:
    return [r for r in _routes(world.app) if r.method == method and not r.public]


def test_every_route_needs_a_role_or_is_listed_as_public(console: ConsoleWorld) -> None:
    """A new route that forgot its `staff: Viewer` (or `act: ...Act`) fails here."""
    unguarded = [str(r) for r in _routes(console.app) if r.role is None and not r.public]
    assert unguarded == []


def test_every_form_post_checks_the_form_token(console: ConsoleWorld) -> None:
    """Every POST goes through an `...Act` dependency (role, then form token), but signing in."""
    posts = [r for r in _routes(console.app) if r.method not in ("GET", "HEAD")]
    assert [str(r) for r in posts if not r.form_token and not r.public] == []
    assert {"POST /login", "POST /logout"} <= {str(r) for r in posts}


def test_every_page_sends_an_anonymous_visitor_to_sign_in(console: ConsoleWorld) -> None:
    client = console.anonymous()
    for route in _guarded(console, "GET"):
        path = route.fill()
        answer = client.get(path)
        assert answer.status_code == 303, f"{route}: {answer.status_code}"
        where = urlsplit(answer.headers["location"])
        assert where.path == "/login", route
        assert parse_qs(where.query)["next"] == [path], route


def test_every_form_post_refuses_an_anonymous_visitor(console: ConsoleWorld) -> None:
    client = console.anonymous()
    token = form_token(client.get("/login").text)  # a real token, of a visitor not signed in
    for route in _guarded(console, "POST"):
        answer = client.post(route.fill(), data={"csrf": token})
        assert answer.status_code == 401, f"{route}: {answer.status_code}"


def test_the_role_just_below_is_refused_everywhere(world: ConsoleWorld) -> None:
    """Each route answers 403 to a user of the role just below the one it needs, before any
    lookup (ids that do not exist still give 403, not 404), and changes nothing."""
    checked = 0
    with world.session() as session:
        before = database_rows(session)
    for route in _routes(world.app):
        if route.public or route.role is None:
            continue
        below = role_below(route.role)
        if below is None:
            continue
        client = world.client(below.value)
        for path in {route.fill(), route.fill(default="999999")}:
            if route.method == "GET":
                answer = client.get(path)
            else:
                token = form_token(client.get("/me").text)
                answer = client.post(path, data={"csrf": token, "post": "1", "version": "0"})
            assert answer.status_code == 403, f"{route} as {below}: {answer.status_code}"
            checked += 1
    with world.session() as session:
        assert database_rows(session) == before
    assert checked, "no route needs more than a viewer"


def test_the_roles_needed_are_the_issues(console: ConsoleWorld) -> None:
    """Users are managed by admins only; the pages themselves are for every viewer."""
    for route in _routes(console.app):
        if route.path.startswith("/users"):
            assert route.role == StaffRole.ADMIN, route
        if route.method == "GET" and route.path in ("/", "/me", "/review", "/calendar"):
            assert route.role == StaffRole.VIEWER, route


def test_a_form_post_without_or_with_another_sessions_token_is_refused(
    world: ConsoleWorld,
) -> None:
    admin = world.client("admin")
    other = form_token(world.client("viewer").get("/me").text)
    own = form_token(admin.get("/me").text)
    assert other != own
    with world.session() as session:
        before = database_rows(session)
    posts = _guarded(world, "POST")
    assert posts
    for route in posts:
        fields = {"post": "1", "version": "0", "language": "en", "reason": "x", "caption": "x"}
        # a token of other letters too: compare_digest raises on text that is not ASCII
        for data in (fields, *({**fields, "csrf": c} for c in ("", other, "é" * 64))):
            answer = admin.post(route.fill(), data=data)
            assert answer.status_code == 403, f"{route} with {data.get('csrf')!r}: {answer}"
    with world.session() as session:
        assert database_rows(session) == before
    # the login form too
    login = world.anonymous()
    login.get("/login")
    for csrf in (other, "é" * 64):
        answer = login.post(
            "/login", data={"csrf": csrf, "name": USERS["admin"], "password": PASSWORD}
        )
        assert answer.status_code == 403, csrf
    assert login.get("/me").status_code == 303


def _assert_headers(answer: object, what: str) -> None:
    headers = answer.headers  # type: ignore[attr-defined]
    csp = headers.get("content-security-policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, what
    assert directives.get("frame-ancestors") == ["'none'"], what
    assert directives.get("script-src") == ["'self'"], what
    assert directives.get("object-src") == ["'none'"], what
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("x-frame-options") == "DENY", what
    if headers.get("content-type", "").startswith("text/html"):
        assert "no-store" in headers.get("cache-control", ""), what


def test_security_headers_on_every_answer(world: ConsoleWorld) -> None:
    admin, viewer, anonymous = world.client("admin"), world.client("viewer"), world.anonymous()
    for route in _routes(world.app):
        if route.method != "GET":
            continue
        for client in (admin, viewer, anonymous):
            answer = client.get(route.fill())
            _assert_headers(answer, f"{route}: {answer.status_code}")
    for answer in (
        anonymous.get("/static/console.css"),
        admin.get("/no-such-page"),
        admin.post("/logout", data={}),  # 403: no form token
        anonymous.post("/me/language", data={}),  # 401
        admin.get("/login?next=/me"),  # 303
    ):
        _assert_headers(answer, f"{answer.request.method} {answer.request.url}")


def _set_cookie(answer: object) -> str:
    cookies = [
        value
        for name, value in answer.headers.multi_items()  # type: ignore[attr-defined]
        if name == "set-cookie" and value.startswith(f"{COOKIE}=")
    ]
    assert len(cookies) == 1, cookies
    return cookies[0].lower()


def _login(client: TestClient, headers: dict[str, str] | None = None) -> object:
    page = client.get("/login", headers=headers)
    return client.post(
        "/login",
        data={"csrf": form_token(page.text), "name": USERS["viewer"], "password": PASSWORD},
        headers=headers,
    )


def test_the_login_cookie_is_httponly_lax_and_secure_only_over_https(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    settings = settings_for(db_url, tmp_path, console={"trusted_proxies": [PROXY]})
    https = {"x-forwarded-proto": "https"}
    with console_world(settings) as world:
        plain = _set_cookie(_login(world.anonymous()))
        assert "httponly" in plain and "samesite=lax" in plain and "path=/" in plain
        assert "secure" not in plain
        served_https = TestClient(
            world.app, base_url="https://console.example", follow_redirects=False
        )
        assert "secure" in _set_cookie(_login(served_https))
        proxied = TestClient(
            world.app,
            base_url="http://console.example",
            client=(PROXY, 4000),
            follow_redirects=False,
        )
        cookie = _set_cookie(_login(proxied, https))
        assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
        # the same header from anyone else is ignored
        direct = TestClient(
            world.app,
            base_url="http://console.example",
            client=(OUTSIDER, 4000),
            follow_redirects=False,
        )
        assert "secure" not in _set_cookie(_login(direct, https))


def test_the_login_limit_counts_the_address_a_trusted_proxy_gives_and_no_other(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    settings = settings_for(db_url, tmp_path, console={"trusted_proxies": [PROXY]})
    with console_world(settings) as world:
        proxied = TestClient(world.app, client=(PROXY, 4000), follow_redirects=False)
        forwarded = {"x-forwarded-for": "198.51.100.23"}
        assert sign_in(proxied, USERS["viewer"], "wrong-password-1").status_code == 401
        proxied.headers.update(forwarded)
        assert sign_in(proxied, USERS["viewer"], "wrong-password-2").status_code == 401
        direct = TestClient(world.app, client=(OUTSIDER, 4000), follow_redirects=False)
        direct.headers.update({"x-forwarded-for": "192.0.2.55"})
        assert sign_in(direct, USERS["viewer"], "wrong-password-3").status_code == 401
        with world.session() as session:
            addresses = list(
                session.scalars(select(LoginFailure.address).order_by(LoginFailure.id))
            )
        assert addresses == [PROXY, "198.51.100.23", OUTSIDER]


def _cookie_for(world: ConsoleWorld, user: str, signer: Signer) -> str:
    with world.session() as session:
        row = session.scalars(select(StaffUser).where(StaffUser.name == user)).one()
        return signer.dump(Cookie.anonymous().signed_in(row.id or 0, row.session_epoch))


def test_a_login_expires_after_session_hours(console: ConsoleWorld) -> None:
    key = session_key(console.settings)
    hours = console.settings.console.session_hours
    max_age = hours * 3600
    fresh = Signer(key, max_age, clock=lambda: time.time() - max_age + 120)
    old = Signer(key, max_age, clock=lambda: time.time() - max_age - 120)
    client = console.anonymous()
    client.cookies.set(COOKIE, _cookie_for(console, USERS["viewer"], fresh))
    assert client.get("/me").status_code == 200
    client = console.anonymous()
    client.cookies.set(COOKIE, _cookie_for(console, USERS["viewer"], old))
    answer = client.get("/me")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


def test_a_cookie_signed_with_another_key_is_ignored(console: ConsoleWorld) -> None:
    forged = Signer(os.urandom(32).hex().encode(), 3600)
    client = console.anonymous()
    client.cookies.set(COOKIE, _cookie_for(console, USERS["admin"], forged))
    assert client.get("/me").status_code == 303
    client = console.anonymous()
    client.cookies.set(
        COOKIE, _cookie_for(console, USERS["admin"], console.app.state.console.signer)
    )
    assert client.get("/me").status_code == 200


@pytest.mark.parametrize("command", ["passwd", "disable"])
def test_users_passwd_and_disable_end_open_logins(
    console: ConsoleWorld,
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = console.client("editor")
    other = console.client("viewer")
    made = client.post("/me/feed", data={"csrf": form_token(client.get("/me").text)})
    feed = re.search(r"/feed/[\w-]+\.ics", made.text)
    assert feed is not None, made.text
    assert client.get(feed.group(0)).status_code == 200
    for key in list(os.environ):
        if key.startswith("IFN_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("IFN_DATABASE__URL", str(console.settings.database.url))
    monkeypatch.setenv("IFN_DATA_DIR", str(tmp_path))
    secret = tmp_path / "password"
    secret.write_text("ganti-sandi-baru-2026\n")
    args = ["users", command, USERS["editor"]]
    args += ["--password-file", str(secret)] if command == "passwd" else []
    assert main(args) == 0
    answer = client.get("/me")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    assert other.get("/me").status_code == 200  # nobody else's
    assert console.anonymous().get(feed.group(0)).status_code == 404  # nor the calendar feed
    again = console.anonymous()
    answer = sign_in(again, USERS["editor"], "ganti-sandi-baru-2026")
    assert answer.status_code == (303 if command == "passwd" else 401)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/me",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
    ],
)
def test_no_open_redirect_after_signing_in(console: ConsoleWorld, target: str) -> None:
    client = console.anonymous()
    page = client.get("/login", params={"next": target})
    assert page.status_code == 200
    assert 'name="next" value="/"' in page.text
    answer = client.post(
        "/login",
        data={
            "csrf": form_token(page.text),
            "name": USERS["viewer"],
            "password": PASSWORD,
            "next": target,
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    # signed in already: the login form sends on, to this console only
    assert client.get("/login", params={"next": target}).headers["location"] == "/"
    assert client.get("/login", params={"next": "/me?x=1"}).headers["location"] == "/me?x=1"


def test_trusting_every_address_is_refused(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """'*' would let any visitor claim any address and https."""
    settings = settings_for(db_url, tmp_path, console={"trusted_proxies": ["*"]})
    with (
        pytest.raises(InvalidValueError, match=r"console\.trusted_proxies"),
        console_world(settings),
    ):
        pass


def test_a_bug_answers_the_error_page_with_the_security_headers(
    console: ConsoleWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """An unexpected exception is logged with its traceback; the visitor gets a 500 page that
    carries the headers like every other answer, and nothing of the exception."""

    def broken() -> None:
        raise RuntimeError("secret detail of the bug")

    console.app.add_api_route("/broken/{token}", broken)
    answer = console.anonymous().get("/broken/feed-token-123")
    assert answer.status_code == 500
    _assert_headers(answer, "500")
    assert "secret detail" not in answer.text
    assert "secret detail of the bug" in caplog.text
    assert "/broken/{token}" in caplog.text and "feed-token-123" not in caplog.text
