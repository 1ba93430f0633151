"""Fixtures of the showcase tests: a database of featured members (friendly, hostile, withdrawn,
suspended, unconsented) with real card files, and the settings that point at them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from tests.support.showcase import Featured, featured_members


@pytest.fixture
def showcase_settings(tmp_path: Path) -> Settings:
    """Settings whose data folder is this test's (the cards are stored relative to it)."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def featured(engine: Engine, showcase_settings: Settings) -> Iterator[tuple[Session, Featured]]:
    """A session on a database holding the members of `featured_members`."""
    with Session(engine) as session:
        made = featured_members(session, showcase_settings)
        session.commit()
        yield session, made
