"""The card preview sheet: its time in the display time zone (WIB by default) like every other
page, member text escaped, and a clear error for a bad clock or zone. Chromium checks its
colours and phone layout in tests/reports/test_pages_browser.py."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from ifn_campaign.cards.preview import export, write_preview
from ifn_campaign.cards.render import RenderedCard
from ifn_campaign.errors import IFNError

MADE = datetime(2026, 12, 6, 6, 30, tzinfo=UTC)  # 13:30 in Jakarta


def _card(tmp_path: Path, member_id: str = "ifn-0002") -> RenderedCard:
    path = tmp_path / "cache" / f"{member_id}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (1080, 1350), "#0E4A55").save(path, "JPEG")
    return RenderedCard(member_id, "sorotan", "ig_portrait", path, 1080, 1350, False, False, ())


def _sheet(tmp_path: Path, **kwargs: object) -> str:
    card = _card(tmp_path)
    out = tmp_path / "preview"
    files = export([card], out)
    names = {"ifn-0002": "<b>Sepatu</b> Jaya"}
    page = write_preview([card], files, names, out, **kwargs)  # type: ignore[arg-type]
    return " ".join(page.read_text(encoding="utf-8").split())


def test_the_sheet_says_when_it_was_made_in_wib_by_default(tmp_path: Path) -> None:
    page = _sheet(tmp_path, made_at=MADE)
    assert "1 card, made Sun 2026-12-06 13:30 WIB." in page
    assert "UTC" not in page
    assert "&lt;b&gt;Sepatu&lt;/b&gt; Jaya" in page and "<b>Sepatu" not in page
    assert 'href="ifn-0002/sorotan-ig_portrait.jpg"' in page


def test_the_sheet_follows_the_configured_display_zone(tmp_path: Path) -> None:
    page = _sheet(tmp_path, made_at=MADE, display_timezone="Asia/Makassar")
    assert "made Sun 2026-12-06 14:30 WITA." in page


def test_the_sheet_defaults_to_the_wall_clock(tmp_path: Path) -> None:
    before = datetime.now(UTC)
    page = html.unescape(_sheet(tmp_path))
    made = page.split("card, made ", 1)[1].split(" WIB.", 1)[0]
    stamp = datetime.strptime(made, "%a %Y-%m-%d %H:%M")
    assert abs(stamp - before.replace(tzinfo=None, second=0, microsecond=0)).total_seconds() in (
        7 * 3600,
        7 * 3600 + 60,
    )


def test_a_bad_clock_or_zone_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IFNError, match="no time zone"):
        _sheet(tmp_path, made_at=datetime(2026, 12, 6, 6, 30))
    with pytest.raises(IFNError, match="unknown time zone 'Asia/Atlantis'"):
        _sheet(tmp_path, made_at=MADE, display_timezone="Asia/Atlantis")
