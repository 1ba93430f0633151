"""Fixtures shared by the publishing tests (the world itself is in tests/conftest.py)."""

from __future__ import annotations

import os

import pytest

from tests.support.publishing import World


@pytest.fixture
def cli(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    """The staff CLI on the world's database (it needs nothing else to move or edit)."""
    for key in [k for k in os.environ if k.startswith("IFN_") and "SECRET" not in k]:
        monkeypatch.delenv(key)
    (world.folder / "none.toml").write_text("")
    monkeypatch.setenv("IFN_CONFIG", str(world.folder / "none.toml"))
    monkeypatch.setenv("IFN_DATABASE__URL", world.settings.database.url)
    monkeypatch.chdir(world.folder)
    return world
