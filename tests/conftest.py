"""Shared fixtures: real databases (a SQLite file; PostgreSQL when IFN_TEST_DATABASE_URL is set)
and the registry sandbox on a free loopback port."""

from __future__ import annotations

import fcntl
import os
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.cli import base
from ifn_campaign.cli.app import main
from ifn_campaign.config import Settings
from ifn_campaign.console import users
from ifn_sandbox.platforms import PlatformSandboxes
from ifn_sandbox.registry import RegistrySandbox
from ifn_sandbox.sample import store_generated_members
from tests.support.cli import point_cli_at
from tests.support.demo import DemoRun, run_demo
from tests.support.pg import drop_database, open_database
from tests.support.planning import NOW
from tests.support.publishing import World

# The flow tests run without a Prefect server: Prefect starts a temporary one, which takes 10-20 s
# on a 2-core machine, longer than its default wait. Set before Prefect reads its settings.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
# CI (`.ci/run`) explores the same examples every run, so a landing never hinges on a rare draw;
# `make test` on a desk draws new ones each run (and keeps what failed in .hypothesis/)
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("IFN_HYPOTHESIS_PROFILE", "default"))
PG_URL = os.environ.get("IFN_TEST_DATABASE_URL")
_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> object:
    """Tests never reach beyond this machine: any non-loopback connect fails loudly."""
    if isinstance(address, tuple) and self.family in (socket.AF_INET, socket.AF_INET6):
        host = str(address[0])
        if not (host.startswith("127.") or host == "::1" or host.startswith("::ffff:127.")):
            raise ConnectionRefusedError(f"test tried to reach {host}: only loopback is allowed")
    return _real_connect(self, address)  # type: ignore[arg-type]


socket.socket.connect = _loopback_only  # type: ignore[method-assign]


def worker_id(config: pytest.Config) -> str:
    """This xdist worker's id (gw0, gw1, ...), or "master" in a run without workers."""
    workerinput: dict[str, str] = getattr(config, "workerinput", {})
    return workerinput.get("workerid", "master")


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """Console passwords hashed with argon2id at its lowest cost in this process: the
    production parameters (3 passes over 64 MiB) cost 0.3-0.8 s a hash or sign-in on this
    machine, and every console test makes four users and signs in. Subprocesses (the CLI, the
    demo) keep the production hasher; tests/console/test_login_limit.py checks its parameters."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(users, "HASHING", users.Hashing.of(cheap))
        yield


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ifn.db'}"


@pytest.fixture(scope="session")
def pg_database(pytestconfig: pytest.Config) -> Iterator[Engine]:
    """This xdist worker's own PostgreSQL database, test_<worker> on the IFN_TEST_DATABASE_URL
    server (test_master without xdist): workers never share a catalog, so one worker's DDL
    cannot block or deadlock another's. A keeper connection to it stays open for the whole
    session, so another test session on the same server ending meanwhile cannot drop it under
    our tests (tests/support/pg.py); at the end it is dropped, with any connection our tests
    left open, unless another session's keeper is still connected (that one drops it when it
    ends)."""
    if not PG_URL:
        pytest.skip("IFN_TEST_DATABASE_URL not set")
    server = make_url(PG_URL)
    name = f"test_{worker_id(pytestconfig)}"
    engine, keeper = open_database(server, name)
    try:
        yield engine
    finally:
        keeper.close()
        engine.dispose()
        drop_database(server, name)


@pytest.fixture
def pg_url(pg_database: Engine) -> Iterator[str]:
    """A fresh schema in this worker's PostgreSQL database, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with pg_database.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = pg_database.url.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with pg_database.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both databases: tests using this run on SQLite and, in CI, on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ifn.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per test process: a test's `engine` starts from a
    copy of it (a few ms) rather than running every migration again (0.3-1 s)."""
    path = tmp_path_factory.mktemp("migrated") / "ifn.db"
    eng = store.make_engine(f"sqlite:///{path}")
    store.upgrade(eng)
    eng.dispose()
    return path


@pytest.fixture(scope="session")
def pg_migration_sql(pg_database: Engine) -> str:
    """What migrating an empty PostgreSQL schema to head sends (DDL and the alembic_version
    rows), recorded once per test process from a real upgrade: a test's schema replays it in
    one transaction and one round trip (about half the time of `store.upgrade`, which also
    reflects and loads every migration again). The reflection queries are left out: on an empty
    schema they find nothing, as they did here."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with pg_database.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = pg_database.url.update_query_dict({"options": f"-csearch_path={schema}"})
    eng = store.make_engine(url.render_as_string(hide_password=False))
    sent: list[str] = []

    def record(
        conn: object, cursor: object, statement: str, parameters: object, *_: object
    ) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            return
        assert not parameters and "%" not in statement and schema not in statement, statement
        sent.append(statement)

    event.listen(eng, "before_cursor_execute", record)
    try:
        store.upgrade(eng)
    finally:
        eng.dispose()
        with pg_database.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    return ";\n".join(sent)


def _migrated(url: str, migrated_sqlite: Path, request: pytest.FixtureRequest) -> Engine:
    """An engine on `url` at the head revision: a new SQLite file is a copy of the migrated one
    (made with SQLite's backup, whole even in WAL mode), a PostgreSQL schema replays what the
    migrations sent (`pg_migration_sql`); the revision is checked either way."""
    eng = store.make_engine(url)
    database = make_url(url).database
    if url.startswith("sqlite:") and database and not Path(database).exists():
        with sqlite3.connect(migrated_sqlite) as src, sqlite3.connect(database) as dst:
            src.backup(dst)
    elif url.startswith("postgresql") and store.current_revision(eng) is None:
        script = request.getfixturevalue("pg_migration_sql")
        with eng.begin() as conn:
            conn.exec_driver_sql(script)
    else:
        store.upgrade(eng)
    assert store.current_revision(eng) == store.head_revision()
    return eng


@pytest.fixture
def engine(db_url: str, migrated_sqlite: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    eng = _migrated(db_url, migrated_sqlite, request)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(
    sqlite_url: str, migrated_sqlite: Path, request: pytest.FixtureRequest
) -> Iterator[Engine]:
    eng = _migrated(sqlite_url, migrated_sqlite, request)
    yield eng
    eng.dispose()


@pytest.fixture
def registry() -> Iterator[RegistrySandbox]:
    """The sample registry on a free port."""
    with RegistrySandbox() as sandbox:
        yield sandbox


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on a database holding 12 generated members, two months before the planner's NOW."""
    with Session(engine) as s:
        store_generated_members(s, 12, now=NOW - timedelta(days=60))
        s.commit()
        yield s


@pytest.fixture(scope="session")
def synced_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The sample registry synced once per test process (with media, ~2 s of CPU and more of
    waiting, which some twenty modules used to repeat each); each test works on a copy of the
    database (`world`, `workdir`) and only reads the media."""
    folder = tmp_path_factory.mktemp("synced")
    env = dict(os.environ)
    try:
        with RegistrySandbox() as sandbox, pytest.MonkeyPatch.context() as mp:
            point_cli_at(sandbox, mp, folder)
            # the media are read in place by tests with data folders of their own: outside this
            # sync's data folder, the media rows keep absolute paths
            mp.setenv("IFN_DATA_DIR", str(folder / "data"))
            assert main(["db", "upgrade"]) == 0
            assert main(["sync"]) == 0
    finally:
        os.environ.clear()
        os.environ.update(env)
    yield folder


@pytest.fixture
def world(synced_db: Path, tmp_path: Path) -> Iterator[World]:
    """A copy of the synced database and the platform sandboxes, with settings for both."""
    with sqlite3.connect(synced_db / "ifn.db") as src, sqlite3.connect(tmp_path / "ifn.db") as dst:
        src.backup(dst)
    url = f"sqlite:///{tmp_path / 'ifn.db'}"
    base = Settings(database={"url": url}, media={"dir": synced_db / "media"})
    with PlatformSandboxes(tmp_path / "cards", container_ready_after=0.0) as platforms:
        engine = store.open_store(url)
        yield World(engine, platforms.settings(base), platforms, tmp_path)
        engine.dispose()


@pytest.fixture
def workdir(synced_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI run in tmp_path on a copy of the synced database (its media read in place)."""
    with sqlite3.connect(synced_db / "ifn.db") as src, sqlite3.connect(tmp_path / "ifn.db") as dst:
        src.backup(dst)  # WAL mode: a file copy could miss the last pages
    for key in list(os.environ):
        if key.startswith("IFN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IFN_DATABASE__URL", f"sqlite:///{tmp_path / 'ifn.db'}")
    monkeypatch.setenv("IFN_MEDIA__DIR", str(synced_db / "media"))
    monkeypatch.setenv("IFN_CARDS__CACHE_DIR", str(tmp_path / "cards"))
    monkeypatch.setattr(base.out, "width", 250)
    return tmp_path


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> DemoRun:
    """`ifn-campaign demo` run once per test session, whichever xdist worker asks first (under a
    file lock in the session's shared temp folder; the others wait and read what it left). Its
    folder is shared: read it, or copy it before changing anything."""
    root = tmp_path_factory.getbasetemp()
    if worker_id(pytestconfig) != "master":  # a worker's basetemp is in the session's one
        root = root.parent
    saved = root / "demo-run.json"
    with (root / "demo-run.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not saved.exists():
            home = root / "demo-run"
            home.mkdir()
            run_demo(home).save(saved)
    return DemoRun.load(saved)
