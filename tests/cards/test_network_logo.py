"""The brand kit holds: palette.toml is valid and its contrast claims are true, and the network
logo is deterministic, transparent and committed up to date (cards cache on its bytes)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from PIL import Image

from ifn_campaign.cards import network_logo
from ifn_campaign.cards.network_logo import (
    PALETTE_PATH,
    draw_network_logo,
    expected_files,
    main,
    png_bytes,
)
from tests.support.colour import contrast

HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")
CLAIM = re.compile(r"\b(\w+) on (\w+) (\d+\.\d+):1")
REQUIRED = {
    "primary",
    "primary_dark",
    "accent",
    "accent_light",
    "ink",
    "paper",
    "muted",
    "on_primary",
    "badge_brand",
    "badge_supplier",
    "badge_producer",
    "scrim",
}


@pytest.fixture(scope="module")
def palette() -> dict:
    """palette.toml split as the brand kit reads it: top-level strings are colours."""
    with PALETTE_PATH.open("rb") as fh:
        data = tomllib.load(fh)
    colours = {k: v for k, v in data.items() if isinstance(v, str)}
    assert set(data) - set(colours) == {"gradients"}, "only [gradients] may be a table"
    return {"colors": colours, "gradients": data["gradients"]}


def test_palette_colours_are_valid_hex(palette: dict) -> None:
    colours = palette["colors"]
    assert set(colours) >= REQUIRED
    for name, value in colours.items():
        assert HEX.match(value), f"{name} = {value!r} is not #RRGGBB"


def test_palette_gradients_name_existing_colours(palette: dict) -> None:
    gradients = palette["gradients"]
    assert 2 <= len(gradients) <= 3
    for name, stops in gradients.items():
        assert len(stops) == 2, f"gradient {name} must have two stops"
        for stop in stops:
            assert stop in palette["colors"], f"gradient {name} names unknown colour {stop!r}"


def test_palette_meets_contrast_targets(palette: dict) -> None:
    c = palette["colors"]
    assert contrast(c["ink"], c["paper"]) >= 7
    assert contrast(c["on_primary"], c["primary"]) >= 7
    for badge in ("badge_brand", "badge_supplier", "badge_producer"):
        best = max(contrast(c["on_primary"], c[badge]), contrast(c["ink"], c[badge]))
        assert best >= 4.5, f"{badge}: no badge text colour reaches 4.5:1"


def test_palette_contrast_comments_are_true(palette: dict) -> None:
    """Every "<fg> on <bg|it> N.NN:1" comment is recomputed; "it" is the colour defined next."""
    colours = palette["colors"]
    claims: list[tuple[str, str, float]] = []
    pending: list[tuple[str, str, float]] = []
    for line in PALETTE_PATH.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            pending += [(fg, bg, float(r)) for fg, bg, r in CLAIM.findall(stripped)]
            continue
        key = re.match(r"^(\w+)\s*=", stripped)
        if key and key.group(1) in colours:
            claims += [(fg, key.group(1) if bg == "it" else bg, r) for fg, bg, r in pending]
        pending = []
    assert len(claims) >= 12
    for fg, bg, claimed in claims:
        actual = contrast(colours[fg], colours[bg])
        assert abs(actual - claimed) < 0.006, f"{fg} on {bg}: claimed {claimed}, is {actual:.3f}"


def test_logo_is_deterministic() -> None:
    assert png_bytes(draw_network_logo(256)) == png_bytes(draw_network_logo(256))
    dark = png_bytes(draw_network_logo(256, on_dark=True))
    assert dark == png_bytes(draw_network_logo(256, on_dark=True))


@pytest.mark.parametrize("on_dark", [False, True])
@pytest.mark.parametrize("wordmark", [False, True])
def test_logo_is_rgba_with_transparent_corners(on_dark: bool, wordmark: bool) -> None:
    img = draw_network_logo(200, on_dark=on_dark, wordmark=wordmark)
    assert img.mode == "RGBA"
    assert img.size == (200, 200)
    for xy in ((0, 0), (199, 0), (0, 199), (199, 199)):
        assert img.getpixel(xy)[3] == 0
    alpha = img.getchannel("A")
    assert alpha.getextrema() == (0, 255)
    assert alpha.getbbox() is not None


def test_committed_logos_are_up_to_date() -> None:
    for path, data in expected_files().items():
        assert path.exists(), f"{path} missing: run python -m ifn_campaign.cards.network_logo"
        assert path.read_bytes() == data, f"{path} is stale: run the module to regenerate it"
        with Image.open(path) as img:
            assert img.mode == "RGBA"
            assert img.size == (1024, 1024)


def test_check_flags_missing_and_stale_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    light, dark = tmp_path / "logo.png", tmp_path / "logo-dark.png"
    monkeypatch.setattr(network_logo, "LOGO_PATH", light)
    monkeypatch.setattr(network_logo, "LOGO_ON_DARK_PATH", dark)
    monkeypatch.setattr(network_logo, "LOGO_SIZE", 64)  # same logic, a fraction of the time
    assert main(["--check"]) == 1
    assert main([]) == 0
    assert main(["--check"]) == 0
    mtime = light.stat().st_mtime_ns
    assert main([]) == 0
    assert light.stat().st_mtime_ns == mtime, "unchanged bytes must not be rewritten"
    dark.write_bytes(dark.read_bytes() + b"\0")
    assert main(["--check"]) == 1
