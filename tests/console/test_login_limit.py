"""The login limit: per user name and per client address, kept in the database (a restart does
not reset it), lifting after the window; a right password during the lock is still refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher, Type
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ifn_campaign.console import users
from ifn_campaign.console.app import create_app
from ifn_campaign.console.login_limit import MEMBER_LINK
from ifn_campaign.members.answers import address_over_limit
from ifn_campaign.models import LoginFailure
from tests.support.console import (
    PASSWORD,
    USERS,
    ConsoleWorld,
    console_world,
    form_token,
    settings_for,
    sign_in,
)

WIB = ZoneInfo("Asia/Jakarta")
WINDOW = timedelta(minutes=15)


class Clock:
    """The console's now, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 8, 7, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(engine: Engine, db_url: str, tmp_path: Path, clock: Clock) -> Iterator[ConsoleWorld]:
    """Three wrong passwords per name, five per address, in 15 minutes."""
    limits = {"login_attempts": 3, "login_attempts_per_address": 5, "login_window_minutes": 15}
    with console_world(settings_for(db_url, tmp_path, console=limits), clock=clock) as console:
        yield console


def _client(world: ConsoleWorld, address: str = "192.0.2.10") -> TestClient:
    client = TestClient(
        world.app, client=(address, 5000), follow_redirects=False, headers={"accept-language": "en"}
    )
    return client


def _fail(client: TestClient, name: str, times: int) -> None:
    for attempt in range(times):
        answer = sign_in(client, name, f"wrong-password-{attempt}")
        assert answer.status_code == 401, answer.text


def test_a_name_is_locked_after_its_wrong_passwords_even_with_the_right_one(
    world: ConsoleWorld, clock: Clock
) -> None:
    client = _client(world)
    _fail(client, USERS["editor"], 3)
    clock.now += timedelta(minutes=2)
    answer = sign_in(_client(world, "198.51.100.4"), USERS["editor"], PASSWORD)  # another address
    assert answer.status_code == 429
    # free again 15 minutes after the first of the three: 07:15 UTC is 14.15 WIB
    assert "Try again after 14.15." in answer.text
    # another name from the first address is not locked
    assert sign_in(client, USERS["viewer"]).status_code == 303


def test_a_restart_does_not_reset_the_count(world: ConsoleWorld, clock: Clock) -> None:
    _fail(_client(world), USERS["editor"], 3)
    restarted = create_app(world.resources, clock=clock)
    client = TestClient(restarted, client=("192.0.2.10", 5000), follow_redirects=False)
    assert sign_in(client, USERS["editor"]).status_code == 429


def test_the_lock_lifts_after_the_window(world: ConsoleWorld, clock: Clock) -> None:
    client = _client(world)
    _fail(client, USERS["editor"], 3)
    clock.now += WINDOW - timedelta(seconds=1)
    assert sign_in(client, USERS["editor"]).status_code == 429
    clock.now += timedelta(seconds=2)
    assert sign_in(client, USERS["editor"]).status_code == 303


def test_an_address_is_locked_after_its_wrong_passwords_whatever_the_names(
    world: ConsoleWorld, clock: Clock
) -> None:
    client = _client(world)
    for number in range(5):
        _fail(client, f"guess-{number}", 1)
    answer = sign_in(client, USERS["admin"], PASSWORD)
    assert answer.status_code == 429
    assert "Try again after 14.15." in answer.text
    assert sign_in(_client(world, "192.0.2.11"), USERS["admin"]).status_code == 303


def test_a_right_password_clears_the_names_count(world: ConsoleWorld) -> None:
    client = _client(world)
    _fail(client, USERS["editor"], 2)
    assert sign_in(client, USERS["editor"]).status_code == 303
    fresh = _client(world, "192.0.2.20")
    _fail(fresh, USERS["editor"], 2)  # 4 in the window had the first two been kept
    assert sign_in(fresh, USERS["editor"]).status_code == 303


def test_the_names_tried_are_not_stored_as_typed(world: ConsoleWorld) -> None:
    """Staff sometimes type the password into the name field: it must not land in the table."""
    client = _client(world)
    page = client.get("/login")
    answer = client.post(
        "/login", data={"csrf": form_token(page.text), "name": PASSWORD, "password": "x"}
    )
    assert answer.status_code == 401
    with world.session() as session:
        rows = list(session.scalars(select(LoginFailure)))
    assert len(rows) == 1
    assert PASSWORD not in rows[0].user_name and rows[0].user_name != USERS["editor"]
    assert rows[0].address == "192.0.2.10"


def test_an_unknown_name_costs_an_argon2_verify_too(
    world: ConsoleWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No timing assertion: the code path. A wrong name, a disabled user and a wrong password
    each verify one argon2 hash, so none answers sooner and tells which names exist."""
    verified: list[str] = []
    original = PasswordHasher.verify

    def counting(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        verified.append(str(hash))
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    with world.session() as session:
        users.disable_user(session, USERS["viewer"], now=datetime.now(UTC))
        session.commit()
        for name, password in (
            ("nobody-here", PASSWORD),
            (USERS["viewer"], PASSWORD),
            (USERS["editor"], "not-the-password"),
        ):
            verified.clear()
            assert users.authenticate(session, name, password) is None
            assert len(verified) == 1, name
            assert verified[0].startswith("$argon2id$"), name
            # the unknown name's hash has the users' cost: same version and parameters
            assert verified[0].split("$")[2:4] == users.HASHING.dummy_hash.split("$")[2:4]
            assert verified[0].split("$")[2:4] == _user_hash(session, USERS["admin"])[2:4]


def _user_hash(session: Session, name: str) -> list[str]:
    """The user's argon2 hash split at '$': '', 'argon2id', 'v=19', 'm=...,t=...,p=...', ..."""
    return users.find_user(session, name).password_hash.split("$")


def test_production_passwords_are_argon2id_at_full_cost(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tests hash at argon2's lowest cost (tests/conftest.py); the console itself uses
    argon2id over 64 MiB, 3 passes and 4 lanes (RFC 9106 low memory), for the users' hashes and
    the unknown-name hash alike, and a hash made cheaper is upgraded at the next sign-in."""
    hasher = users.production_hasher()
    assert (hasher.type, hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (
        Type.ID,
        3,
        65536,
        4,
    )
    cheap_hashing = users.HASHING
    with Session(sqlite_engine) as session:
        users.add_user(session, "cheap-user", "viewer", PASSWORD, now=datetime.now(UTC))
        session.commit()
    monkeypatch.setattr(users, "HASHING", users.Hashing.of(hasher))
    full = "$argon2id$v=19$m=65536,t=3,p=4$"
    assert users.HASHING.dummy_hash.startswith(full)
    assert not cheap_hashing.dummy_hash.startswith(full)
    with Session(sqlite_engine) as session:
        users.add_user(session, "full-user", "viewer", PASSWORD, now=datetime.now(UTC))
        session.commit()
        assert users.find_user(session, "full-user").password_hash.startswith(full)
        assert users.authenticate(session, "full-user", PASSWORD) is not None
        assert users.authenticate(session, "full-user", "not-the-password") is None
        assert users.authenticate(session, "cheap-user", PASSWORD) is not None
        session.commit()
        assert users.find_user(session, "cheap-user").password_hash.startswith(full)


# --- the member page's bad links and staff sign-in share a table, never a limit ---------------


@pytest.fixture
def office(engine: Engine, db_url: str, tmp_path: Path, clock: Clock) -> Iterator[ConsoleWorld]:
    """Five wrong passwords per address for staff, four requests an hour for the member page."""
    settings = settings_for(
        db_url,
        tmp_path,
        console={"login_attempts": 3, "login_attempts_per_address": 5, "login_window_minutes": 15},
        member_page={"requests_per_address": 4},
    )
    with console_world(settings, clock=clock) as console:
        yield console


def test_bad_member_links_never_lock_staff_sign_in_from_the_same_address(
    office: ConsoleWorld,
) -> None:
    """An office NAT: whoever opens expired links there must not lock BPIPI's staff out."""
    client = _client(office, "203.0.113.7")
    for attempt in range(10):
        client.get(f"/anggota/{attempt}.{'A' * 43}")
    # the member page's own limit is used up from this address...
    assert client.get(f"/anggota/11.{'A' * 43}").status_code == 429
    with office.session() as session:
        names = set(session.scalars(select(LoginFailure.user_name)))
    assert names == {MEMBER_LINK}
    # ...and staff still sign in from it, the wrong passwords counted as before
    _fail(client, "guess-0", 1)
    assert sign_in(client, USERS["admin"]).status_code == 303


def test_wrong_staff_passwords_never_lock_the_member_page(
    office: ConsoleWorld, clock: Clock
) -> None:
    client = _client(office, "203.0.113.8")
    for number in range(5):
        _fail(client, f"guess-{number}", 1)
    assert sign_in(client, USERS["admin"]).status_code == 429  # staff locked from the address
    # the member page is not: a bad link is a plain 404 (rate limited would be 429)
    assert client.get(f"/anggota/1.{'A' * 43}").status_code == 404
    with office.session() as session:
        assert not address_over_limit(session, office.settings, "203.0.113.8", now=clock.now)
