"""A test session's own PostgreSQL database (test_<worker>), shared with any other test session
on the same server that runs at the same time: each session holds a keeper connection to it for
its whole run, and the last one to end drops it, with whatever connections its own tests left
open. Creating and dropping take one advisory lock on the server's database, so a session that
is starting never sees the database dropped between its CREATE and its keeper's connect."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

KEEPER = "ifn-tests-keeper"
"""The application_name of a session's keeper connection: how an ending session tells another
running session (leave the database) from connections its own tests leaked (drop them)."""
LOCK = 0x1F0_7E57  # the advisory lock key, on the IFN_TEST_DATABASE_URL database


def open_database(server: URL, name: str) -> tuple[Engine, Connection]:
    """Database `name` on `server`, created if missing, and this session's keeper connection
    to it (close it before `drop_database`)."""
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    keepers = create_engine(  # no pool: closing the keeper closes its connection
        server.set(database=name), connect_args={"application_name": KEEPER}, poolclass=NullPool
    )
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK})
            try:
                # a run killed in the middle of DROP DATABASE leaves it invalid (PostgreSQL 15.4+
                # marks it datconnlimit -2): nothing can connect to it, so it is dropped first
                invalid = conn.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :name AND datconnlimit = -2"),
                    {"name": name},
                ).first()
                if invalid is not None:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                try:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
                except DBAPIError as exc:  # there already (in use, or left by a killed run)
                    if getattr(exc.orig, "sqlstate", None) != "42P04":  # duplicate_database
                        raise
                keeper = keepers.connect()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK})
    finally:
        admin.dispose()
    return create_engine(server.set(database=name)), keeper


def drop_database(server: URL, name: str) -> bool:
    """Drop `name` unless another session's keeper is connected (that session drops it when it
    ends); connections this session's tests left open do not keep it. True if dropped."""
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": LOCK})
            try:
                others = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = :name AND application_name = :keeper"
                    ),
                    {"name": name, "keeper": KEEPER},
                ).scalar_one()
                if others:
                    return False
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                return True
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK})
    finally:
        admin.dispose()
