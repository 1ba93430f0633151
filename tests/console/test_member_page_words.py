"""The member's page in the words a footwear business owner uses: their profile's labels in
Indonesian as the trade says them (the showcase's words for the same fields)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ifn_campaign.members.links import issue_link
from tests.support.console import console_world, settings_for
from tests.support.ledger import add_member

NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """SQLite only: the words come from the catalogue, not the database."""
    return sqlite_url


def test_materials_are_bahan_not_materi(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """'Materi' is a lesson's material; leather, PU and rubber are 'bahan'."""
    settings = settings_for(db_url, tmp_path)
    with console_world(settings, clock=lambda: NOW) as world:
        with world.session() as s:
            add_member(s, "m1", materials=["cow_leather", "pu"])
            token = issue_link(s, settings, "m1", now=NOW)
            s.commit()
        page = world.anonymous().get(f"/anggota/{token}?lang=id").text
        assert "<dt>Bahan</dt>" in page
        assert "Materi" not in page
