"""Alembic environment: the engine comes from `ifn_campaign.store`, never from an ini file.

SQLite alters a table by building a new one and dropping the old (batch mode). With foreign
keys on, dropping a table that other rows refer to fails (`DROP TABLE post` while features and
events point at posts), so an existing database could not be migrated. As SQLite's own
procedure for altering a table says, foreign keys are switched off for the migration (they
cannot be switched inside a transaction), every reference is checked before the commit, and
they are switched on again afterwards. The whole upgrade is one transaction there too (BEGIN
is sent at once), so a failed step leaves no rebuilt table or leftover copy behind.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import ifn_campaign.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from ifn_campaign.errors import MigrationFailed

config = context.config
engine = config.attributes["engine"]


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    with connection.begin():
        if sqlite:  # the driver would begin only at the first INSERT: DDL before it stayed
            connection.exec_driver_sql("BEGIN")  # done when a later step failed
        context.configure(
            connection=connection,
            target_metadata=SQLModel.metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                table, row, parent, _ = broken[0]
                raise MigrationFailed(
                    f"migration failed: {len(broken)} row(s) refer to rows that are not there "
                    f"(first: {table} row {row} -> {parent}); nothing was changed"
                )


with engine.connect() as connection:
    if connection.dialect.name != "sqlite":
        _run(connection)
    else:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        try:
            _run(connection)
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
