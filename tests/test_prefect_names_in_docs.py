"""Every Prefect setting the docs tell an operator to set is one Prefect 3.8 reads, under its
current name: an old alias (`PREFECT_API_DATABASE_CONNECTION_URL`) still works today but one
page saying it and another the new name leaves the operator guessing which is right."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prefect.settings import Settings
from prefect.settings.legacy import _get_settings_fields

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]
NAME = re.compile(r"(?<![A-Z0-9_])PREFECT_[A-Z0-9_]*[A-Z0-9]")


def _named(page: Path) -> set[str]:
    return set(NAME.findall(page.read_text(encoding="utf-8")))


def test_the_docs_name_prefect_settings() -> None:
    assert "PREFECT_SERVER_DATABASE_CONNECTION_URL" in _named(ROOT / "docs/how-to/go-live.md")
    assert "PREFECT_SERVER_DATABASE_CONNECTION_URL" in _named(
        ROOT / "docs/how-to/several-workers.md"
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_prefect_setting_named_is_current(page: Path) -> None:
    fields = _get_settings_fields(Settings)
    for name in _named(page):
        assert name in fields, f"{name}: not a Prefect setting"
        current = fields[name].name
        assert current == name, f"{name}: Prefect's current name is {current}"
