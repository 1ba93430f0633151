"""Shared fixtures: real databases (a SQLite file; PostgreSQL when IFN_TEST_DATABASE_URL is set)
and the registry sandbox on a free loopback port."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from ifn_campaign import store
from ifn_campaign.config import MediaSettings, RegistrySettings, Settings
from ifn_sandbox.registry import RegistrySandbox

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


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ifn.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema on the test PostgreSQL, dropped afterwards."""
    if not PG_URL:
        pytest.skip("IFN_TEST_DATABASE_URL not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both databases: tests using this run on SQLite and, in CI, on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ifn.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = store.make_engine(db_url)
    store.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    eng = store.make_engine(sqlite_url)
    store.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def registry() -> Iterator[RegistrySandbox]:
    """The sample registry on a free port."""
    with RegistrySandbox() as sandbox:
        yield sandbox


def settings_for(
    sandbox: RegistrySandbox, db_url: str, media_dir: Path, **registry: object
) -> Settings:
    """Settings pointing at a sandbox, with fast retries so fault tests stay quick."""
    host_port = sandbox.url.removeprefix("http://")
    return Settings(
        database={"url": db_url},
        registry=RegistrySettings(
            base_url=sandbox.url,
            backoff_factor=0.01,
            backoff_jitter=0.01,
            read_timeout=5,
            **registry,  # type: ignore[arg-type]
        ),
        media=MediaSettings(dir=media_dir, allow_hosts=[host_port]),
    )


def point_cli_at(sandbox: RegistrySandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run the CLI in tmp_path against this sandbox, with no IFN_ setting leaking in."""
    for key in list(os.environ):
        if key.startswith("IFN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IFN_DATABASE__URL", f"sqlite:///{tmp_path / 'ifn.db'}")
    monkeypatch.setenv("IFN_REGISTRY__BASE_URL", sandbox.url)
    monkeypatch.setenv("IFN_MEDIA__DIR", str(tmp_path / "media"))
    monkeypatch.setenv("IFN_MEDIA__ALLOW_HOSTS", f'["{sandbox.url.removeprefix("http://")}"]')
    monkeypatch.setenv("IFN_CARDS__CACHE_DIR", str(tmp_path / "cards"))
