"""The console on both databases (SQLite, and PostgreSQL when IFN_TEST_DATABASE_URL is set),
with one user per role: see tests/support/console.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.console import ConsoleWorld, console_world, settings_for


@pytest.fixture
def console(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[ConsoleWorld]:
    """The console on a migrated, empty database."""
    with console_world(settings_for(db_url, tmp_path)) as world:
        yield world
