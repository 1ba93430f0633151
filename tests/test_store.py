"""Migrations on SQLite and PostgreSQL, and the refusal to work on an unmigrated database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from ifn_campaign import store
from ifn_campaign.errors import NotMigratedError, StoreError


def test_upgrade_creates_every_table_and_is_idempotent(db_url: str) -> None:
    engine = store.make_engine(db_url)
    assert store.upgrade(engine) == (None, store.head_revision())
    tables = set(inspect(engine).get_table_names())
    assert {
        "member",
        "member_media",
        "media_asset",
        "sync_run",
        "sync_state",
        "quarantined_record",
        "alembic_version",
    } <= tables
    head = store.head_revision()
    assert store.upgrade(engine) == (head, head)
    store.require_migrated(engine)


def test_downgrade_to_base_and_up_again(db_url: str) -> None:
    from alembic import command

    engine = store.make_engine(db_url)
    store.upgrade(engine)
    command.downgrade(store._alembic_config(engine), "base")
    assert "member" not in inspect(engine).get_table_names()
    store.upgrade(engine)
    assert "member" in inspect(engine).get_table_names()


def test_unmigrated_database_is_refused_with_what_to_run(db_url: str) -> None:
    store.make_engine(db_url).connect().close()  # an existing, empty database (a missing
    # SQLite file is refused before: tests/cli/test_database.py)
    with pytest.raises(NotMigratedError, match="run `ifn-campaign db upgrade`"):
        store.open_store(db_url)


def test_sqlite_uses_wal(sqlite_url: str) -> None:
    engine = store.make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_sqlite_parent_directory_is_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'deep' / 'er' / 'ifn.db'}"
    store.upgrade(store.make_engine(url))
    assert (tmp_path / "deep" / "er" / "ifn.db").exists()


@pytest.mark.parametrize(
    "url,message",
    [
        ("not a url", "is not a SQLAlchemy URL"),
        ("nosuchdb://x/y", "no driver"),
    ],
)
def test_bad_urls_are_clear_errors(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        store.make_engine(url)


def test_unreachable_database_hides_the_password() -> None:
    engine = store.make_engine("postgresql+psycopg://bpipi:hunter2@127.0.0.1:1/ifn")
    with pytest.raises(StoreError, match="cannot open database") as info:
        store.current_revision(engine)
    assert "hunter2" not in str(info.value)
    assert "***" in str(info.value)


def test_migrations_match_the_models(db_url: str) -> None:
    """A model change without its migration fails here, not in production."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    engine = store.make_engine(db_url)
    store.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_a_postgresql_server_that_never_answers_fails_in_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A listening socket on loopback that never answers (a hung server, a firewall that
    accepts): without a connect timeout every command would hang; with one it fails fast."""
    import socket
    import time

    from sqlalchemy.exc import OperationalError

    monkeypatch.setattr(store, "PG_CONNECT_TIMEOUT", 1)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        engine = store.make_engine(f"postgresql+psycopg://ifn@127.0.0.1:{port}/ifn")
        started = time.monotonic()
        with pytest.raises(OperationalError), engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        assert time.monotonic() - started < 8
