"""The database: engine creation, Alembic migrations, and the guard against an unmigrated schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, Text, cast, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from ifn_campaign.errors import (
    DatabaseUnavailable,
    DatabaseURLError,
    MigrationFailed,
    NotMigratedError,
)

MIGRATIONS = Path(__file__).parent / "migrations"


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        return "<unparseable database URL>"


def parse_url(url: str) -> URL:
    """`url` parsed, or `DatabaseURLError` quoting it with any password blanked: a URL that
    does not parse (a missing ':' after the driver, a port that is not a number) may still
    hold one, and SQLAlchemy's own masking needs a URL it can parse."""
    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        raise DatabaseURLError(
            f"database URL {_masked(url)!r} is not a SQLAlchemy URL; write it as "
            "dialect+driver://user:password@host:port/database"
        ) from None


def _masked(url: str) -> str:
    """An unparsable URL with what may be a password (after the user name's ':', up to the
    last '@') blanked."""
    head, at, host = url.rpartition("@")
    if not at:
        return url
    start = head.find("//")
    colon = head.find(":", start + 2 if start >= 0 else 0)
    return url if colon < 0 else f"{head[: colon + 1]}***@{host}"


PG_CONNECT_TIMEOUT = 10  # seconds; `?connect_timeout=` in the URL overrides it


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get WAL, foreign keys and a busy timeout."""
    parsed = parse_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
            # an unreachable host must fail in seconds with a message, not hang every command
            kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT}
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise DatabaseURLError(f"no driver for {safe_url(url)}: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    script = ScriptDirectory.from_config(_alembic_config(create_engine("sqlite://")))
    head = script.get_current_head()
    assert head is not None
    return head


def shown_url(engine: Engine) -> str:
    """The engine's URL for messages: password masked, and a SQLite file opened by
    `existing_engine` shown as the plain path the settings name."""
    url = engine.url
    db = url.database or ""
    if url.get_backend_name() == "sqlite" and url.query.get("uri") and db.startswith("file:"):
        return f"sqlite:///{unquote(db.removeprefix('file:'))}"
    return url.render_as_string(hide_password=True)


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        detail = getattr(exc, "orig", None) or exc
        raise DatabaseUnavailable(
            f"cannot open database {shown_url(engine)}: "
            f"{type(exc).__name__}: {str(detail).strip().splitlines()[0]}"
        ) from None


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Migrate to `revision`; returns (before, after)."""
    before = current_revision(engine)
    try:
        command.upgrade(_alembic_config(engine), revision)
    except SQLAlchemyError as exc:  # its text adds the whole statement and a link: first line
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise MigrationFailed(
            f"migration failed: {type(exc).__name__}: {detail}; fix the database, then run "
            "`ifn-campaign db upgrade` again"
        ) from None
    return before, current_revision(engine) or ""


def require_migrated(engine: Engine) -> None:
    """Refuse to work on a database whose schema is not at this code's head."""
    current = current_revision(engine)
    head = head_revision()
    if current != head:
        where = shown_url(engine)
        state = "has no ifn-campaign tables" if current is None else f"is at revision {current}"
        raise NotMigratedError(
            f"database {where} {state}, this version needs {head}: run `ifn-campaign db upgrade`"
        )


NO_DATABASE_HINT = "run `ifn-campaign db upgrade` to create it, then `ifn-campaign sync`"
DEMO_CONFIG = Path("var/demo/ifn-campaign.toml")  # what `ifn-campaign demo` writes


def _no_database(path: Path) -> DatabaseUnavailable:
    hint = NO_DATABASE_HINT
    if DEMO_CONFIG.is_file():  # a newcomer after `make demo` most likely wants its data
        hint += f"; for the demo's data: export IFN_CONFIG={DEMO_CONFIG.absolute()}"
    return DatabaseUnavailable(f"no database at {path.absolute()}; {hint}")


def existing_engine(url: str) -> Engine:
    """An engine on a database that must already exist: a SQLite file that is not there is an
    error, and opening never creates one (SQLite's `mode=rw` URI fails instead of creating the
    file, so nothing is left behind even if the file vanishes after the check). Only `db
    upgrade` and the demo create databases; every other command uses this."""
    parsed = parse_url(url)
    db = parsed.database
    if (
        parsed.get_backend_name() != "sqlite"
        or not db
        or db == ":memory:"
        or parsed.query.get("uri")
    ):
        return make_engine(url)  # a server database, memory, or a URI the settings spelled out
    path = Path(db)
    if not path.is_file():
        raise _no_database(path)
    rw = parsed.set(database=f"file:{quote(str(path.absolute()))}").update_query_dict(
        {"mode": "rw", "uri": "true"}
    )
    return make_engine(rw.render_as_string(hide_password=False))


def open_store(url: str) -> Engine:
    """An engine on an existing, migrated database, or a clear error saying what to run."""
    engine = existing_engine(url)
    require_migrated(engine)
    return engine


def like_pattern(text: str) -> str:
    """`text` for a LIKE pattern with escape character '\\': its own '%', '_' and '\\' match
    themselves, never as wildcards."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def json_list_has(column: Any, value: str) -> Any:
    """SQL: the JSON list in `column` holds the string `value`, on SQLite and PostgreSQL alike
    (the list's text as SQLAlchemy wrote it, searched for the value's JSON form with its
    quotes, so 'shoe' never matches 'shoes')."""
    return cast(column, Text).like(f"%{like_pattern(json.dumps(value))}%", escape="\\")
