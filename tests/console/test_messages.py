"""The console's Indonesian catalogue is complete and current: the committed .mo is the .po
compiled, every string the code and templates hold today has a translation that keeps its
placeholders, and a page read in Indonesian shows no English navigation or headings."""

from __future__ import annotations

import gettext
import io
import re
import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from ifn_campaign.console.i18n import STATE_NAMES, state_namer
from tests.support.console import ConsoleWorld

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "ifn_campaign" / "console" / "locale"
PO = LOCALE / "id" / "LC_MESSAGES" / "console.po"
MO = LOCALE / "id" / "LC_MESSAGES" / "console.mo"
PLACEHOLDER = re.compile(r"%\(\w+\)s")
# English words of the navigation and page headings that must not show in the Indonesian pages
ENGLISH = ("Today", "Review", "Calendar", "Members", "Campaigns", "Failures", "Fairness",
           "Activity", "Sign out", "Posts", "Nothing", "Notices")  # fmt: skip


def _catalogue() -> Catalog:
    with PO.open("rb") as f:
        return read_po(f)


def _texts(translations: gettext.GNUTranslations) -> dict[str, str]:
    return {k: v for k, v in translations._catalog.items() if k}  # type: ignore[attr-defined]


def test_the_committed_mo_is_the_po_compiled() -> None:
    catalogue = _catalogue()
    assert not catalogue.fuzzy, "a fuzzy catalogue is skipped by pybabel compile"
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    with MO.open("rb") as f:
        committed = gettext.GNUTranslations(f)
    expected = _texts(gettext.GNUTranslations(compiled))
    assert _texts(committed) == expected, "run `make messages` and commit console.mo"
    assert len(expected) == len([m for m in catalogue if m.id])


def test_every_extracted_string_is_translated(tmp_path: Path) -> None:
    """Extraction now (as `make messages` runs it) finds nothing the catalogue lacks."""
    pot = tmp_path / "console.pot"
    extract = ["-q", "extract", "-F", "pyproject.toml", "--no-location", "--omit-header"]
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", *extract, "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as f:
        extracted = {m.id for m in read_po(f) if m.id}
    catalogue = _catalogue()
    translated = {m.id for m in catalogue if m.id and m.string}
    assert len(extracted) > 400
    assert sorted(extracted - translated) == [], "run `make messages` and translate these"
    assert sorted({m.id for m in catalogue if m.id} - extracted) == [], "obsolete entries"


def test_translations_keep_their_placeholders() -> None:
    wrong = [
        (m.id, m.string)
        for m in _catalogue()
        if m.id and sorted(PLACEHOLDER.findall(str(m.id))) != sorted(PLACEHOLDER.findall(m.string))
    ]
    assert wrong == []


def test_post_states_read_in_the_users_language() -> None:
    indonesian, english = state_namer("id"), state_namer("en")
    assert indonesian("composed") == "siap ditinjau"
    assert indonesian("needs_reauth") == "perlu otorisasi ulang"
    assert english("needs_reauth") == "needs re-authorisation"
    assert {indonesian(s) for s in STATE_NAMES}.isdisjoint(STATE_NAMES.values())
    assert indonesian("not-a-state") == "not-a-state"
    assert indonesian(None) == ""


def _visible(html: str) -> str:
    """The page's text as read (tags, scripts and attribute values left out)."""
    return re.sub(r"<[^>]+>", " ", html)


def test_pages_in_indonesian_show_no_english_headings(console: ConsoleWorld) -> None:
    viewer = console.client("viewer")
    for url in ("/", "/review", "/calendar", "/activity", "/members", "/me", "/notices"):
        page = viewer.get(url)
        assert page.status_code == 200, url
        assert '<html lang="id"' in page.text, url
        text = _visible(page.text)
        found = [w for w in ENGLISH if re.search(rf"\b{w}\b", text)]
        assert found == [], f"{url}: {found}"
        assert "Keluar" in text and "Tinjauan" in text
