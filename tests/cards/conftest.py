"""Fixtures shared by the card tests: the brand kit and the font book, loaded once per module."""

from __future__ import annotations

import pytest

from ifn_campaign.cards.brand import BrandKit
from ifn_campaign.cards.fonts import FontBook


@pytest.fixture(scope="module")
def brand() -> BrandKit:
    """The brand kit the cards are drawn with (palette, logos, fonts)."""
    return BrandKit.load()


@pytest.fixture(scope="module")
def book() -> FontBook:
    """The bundled fonts, with their fallback chains."""
    return FontBook.load()
