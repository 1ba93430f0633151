"""The test sessions' own PostgreSQL databases (tests/support/pg.py): dropped when the last
session using one ends, also when its tests left connections open; kept while another session
runs on it."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.pg import drop_database, open_database

pytestmark = pytest.mark.postgres
PG_URL = os.environ.get("IFN_TEST_DATABASE_URL")


def _exists(name: str) -> bool:
    assert PG_URL
    admin = create_engine(make_url(PG_URL))
    try:
        with admin.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            return found.first() is not None
    finally:
        admin.dispose()


def test_the_last_session_drops_its_database_with_what_its_tests_left_open() -> None:
    if not PG_URL:
        pytest.skip("IFN_TEST_DATABASE_URL not set")
    server, name = make_url(PG_URL), f"test_scratch_{uuid.uuid4().hex[:8]}"
    engine, keeper = open_database(server, name)
    other_engine, other = open_database(server, name)  # a second session on the same server
    try:
        assert _exists(name)
        leaked = create_engine(engine.url).connect()  # a test forgot to dispose its engine
        leaked.execute(text("SELECT 1"))
        keeper.close()
        engine.dispose()
        assert not drop_database(server, name)  # the other session still runs on it
        assert _exists(name)
        other.close()
        other_engine.dispose()
        assert drop_database(server, name)  # the last one: its leftover connection goes too
        assert not _exists(name)
        leaked.invalidate()  # its server side is gone: nothing to roll back
    finally:
        other.close()
        with create_engine(server, isolation_level="AUTOCOMMIT").connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
