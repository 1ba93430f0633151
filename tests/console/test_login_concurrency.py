"""Signing in while other things happen, over a real socket: the password check (argon2id, 64 MiB
and about half a second of a core in production) runs beside the event loop, so the console keeps
answering everybody else meanwhile; sign-ins sent at once still meet the login limit, and no more
than PASSWORD_CHECKS of them hold their 64 MiB at a time.

The hasher here is gated: its `verify` waits until the test opens the gate, so a check in
progress is a state the test holds, not a duration it measures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, func, select

from ifn_campaign.console import users
from ifn_campaign.console.web import PASSWORD_CHECKS
from ifn_campaign.models import LoginFailure
from tests.support.console import PASSWORD, USERS, console_world, form_token, settings_for
from tests.support.console_server import served_console

GATE_SECONDS = 60  # a check never waits longer than this, whatever the test does
ANSWER_SECONDS = 20  # how long a client waits for an answer before the test fails


class GatedHasher(PasswordHasher):
    """The cheap test hasher, whose `verify` (and `hash`, once `gate_hashes` is set) waits at a
    gate and counts who is inside."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.gate = threading.Event()
        self.gate_hashes = False
        self.lock = threading.Lock()
        self.inside = 0
        self.most_inside = 0
        self.entered = threading.Semaphore(0)

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self._wait()
        try:
            return super().verify(hash, password)
        finally:
            self._leave()

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        if not self.gate_hashes:
            return super().hash(password, salt=salt)
        self._wait()
        try:
            return super().hash(password, salt=salt)
        finally:
            self._leave()

    def _wait(self) -> None:
        with self.lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        self.entered.release()
        self.gate.wait(GATE_SECONDS)

    def _leave(self) -> None:
        with self.lock:
            self.inside -= 1

    def wait_entered(self, count: int) -> None:
        for _ in range(count):
            assert self.entered.acquire(timeout=ANSWER_SECONDS), "no password check started"


@pytest.fixture
def gated(monkeypatch: pytest.MonkeyPatch) -> Iterator[GatedHasher]:
    hasher = GatedHasher()
    hashing = users.Hashing(hasher, users.HASHING.hasher.hash("dummy-password-x"))
    monkeypatch.setattr(users, "HASHING", hashing)
    try:
        yield hasher
    finally:
        hasher.gate.set()


def _client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, follow_redirects=False, timeout=ANSWER_SECONDS)


def _login_form(client: httpx.Client) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    return form_token(page.text)


def _post_login(client: httpx.Client, token: str, name: str, password: str) -> int:
    answer = client.post("/login", data={"csrf": token, "name": name, "password": password})
    return answer.status_code


def test_pages_answer_while_a_password_is_checked(
    engine: Engine, db_url: str, tmp_path: Path, gated: GatedHasher
) -> None:
    """Before, the check ran on the event loop: while one person signed in, every page, file
    and form of every other user waited (half a second a sign-in in production, as long as
    anyone cared to keep sending wrong passwords)."""
    settings = settings_for(db_url, tmp_path)
    with console_world(settings), served_console(settings) as base, ThreadPoolExecutor(1) as pool:
        signing_in = _client(base)
        token = _login_form(signing_in)
        pending = pool.submit(_post_login, signing_in, token, USERS["viewer"], PASSWORD)
        gated.wait_entered(1)
        other = _client(base)
        assert other.get("/login").status_code == 200  # before: read timeout
        assert other.get("/static/console.css").status_code == 200
        assert not pending.done()
        gated.gate.set()
        assert pending.result(timeout=ANSWER_SECONDS) == 303
        assert signing_in.get("/me").status_code == 200


@pytest.mark.slow
def test_sign_ins_sent_at_once_still_meet_the_limit(
    engine: Engine, db_url: str, tmp_path: Path, gated: GatedHasher
) -> None:
    """Six wrong passwords for one name at once, the limit three: three are checked (at most
    PASSWORD_CHECKS at a time), three refused without a check, while those wait; each
    attempt is counted before its check, so none slips past the limit meanwhile."""
    limits = {"login_attempts": 3, "login_attempts_per_address": 20}
    settings = settings_for(db_url, tmp_path, console=limits)
    with console_world(settings) as world, served_console(settings) as base:
        clients = [_client(base) for _ in range(6)]
        tokens = [_login_form(c) for c in clients]
        with ThreadPoolExecutor(6) as pool:
            answers: list[Future[int]] = [
                pool.submit(_post_login, c, t, USERS["editor"], "wrong-password")
                for c, t in zip(clients, tokens, strict=True)
            ]
            gated.wait_entered(PASSWORD_CHECKS)
            refused = [a.result(timeout=ANSWER_SECONDS) for a in _settled(answers, 3)]
            assert refused == [429, 429, 429]
            gated.gate.set()
            codes = sorted(a.result(timeout=ANSWER_SECONDS) for a in answers)
        assert codes == [401, 401, 401, 429, 429, 429]
        assert gated.most_inside <= PASSWORD_CHECKS
        with world.session() as session:
            counted = session.scalar(select(func.count()).select_from(LoginFailure))
        assert counted == 3
        # the right password later, once allowed, takes the name's count back
        right = _client(base)
        assert _post_login(right, _login_form(right), USERS["admin"], PASSWORD) == 303
        with world.session() as session:
            assert session.scalar(select(func.count()).select_from(LoginFailure)) == 3


@pytest.mark.parametrize("page", ["/users/add", "/users/{name}/password"])
def test_pages_answer_while_an_admin_sets_a_password(
    engine: Engine, db_url: str, tmp_path: Path, gated: GatedHasher, page: str
) -> None:
    """A new user's or a new password's hash, made on the Users page, runs beside the event
    loop too (before, the console stood still while it was made)."""
    settings = settings_for(db_url, tmp_path)
    with console_world(settings), served_console(settings) as base, ThreadPoolExecutor(1) as pool:
        admin = _client(base)
        gated.gate.set()
        assert _post_login(admin, _login_form(admin), USERS["admin"], PASSWORD) == 303
        gated.wait_entered(1)
        gated.gate.clear()
        gated.gate_hashes = True
        new_password = "sandi-baru-untuk-budi"
        form = {
            "csrf": form_token(admin.get("/users").text),
            "name": "budi",
            "role": "viewer",
            "password": new_password,
        }
        url = page.format(name=USERS["viewer"])
        pending = pool.submit(lambda: admin.post(url, data=form).status_code)
        gated.wait_entered(1)
        other = _client(base)
        assert other.get("/login").status_code == 200  # before: read timeout
        assert not pending.done()
        gated.gate.set()
        assert pending.result(timeout=ANSWER_SECONDS) == 303
        name = "budi" if page == "/users/add" else USERS["viewer"]
        gated.gate_hashes = False
        assert _post_login(other, _login_form(other), name, new_password) == 303


def _settled(answers: list[Future[int]], count: int) -> list[Future[int]]:
    """The first `count` answers to arrive (the rest wait at the gate)."""
    done: list[Future[int]] = []
    arrived = threading.Semaphore(0)
    for answer in answers:
        answer.add_done_callback(lambda _: arrived.release())
    for _ in range(count):
        assert arrived.acquire(timeout=ANSWER_SECONDS), f"only {len(done)} answers arrived"
        done = [a for a in answers if a.done()]
    return done[:count]
