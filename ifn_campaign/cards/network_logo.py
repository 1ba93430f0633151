"""The IFN campaign's own network logo, drawn in code so it is reproducible and never a copy.

The mark is a shoe sole, tilted forward as if mid-step (#IndonesiaMelangkah), whose tread is a
small network of connected nodes: footwear makers linked by the network. Under it sits the
"IFN" wordmark in the brand font. It is drawn at 4x and downscaled with LANCZOS for smooth
edges, from palette.toml colours only, with no randomness, so the same code gives the same bytes.

We deliberately do not use or imitate the official IFN or BPIPI logos (see assets/brand/README.md).

Run ``python -m ifn_campaign.cards.network_logo`` to rewrite the committed PNGs, or with
``--check`` to fail when they are out of date.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
import tomllib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ifn_campaign import bundled

BRAND_DIR = bundled.assets("brand")
PALETTE_PATH = BRAND_DIR / "palette.toml"
LOGO_PATH = BRAND_DIR / "network-logo.png"
LOGO_ON_DARK_PATH = BRAND_DIR / "network-logo-on-dark.png"
LOGO_SIZE = 1024

_SUPERSAMPLE = 4
_TILT_DEG = 14.0  # forward lean of the sole: a step, not a static footprint
_MARGIN = 0.04  # clear space on each side, as a fraction of the canvas
_WORDMARK_EM = 0.25  # wordmark font size, as a fraction of the canvas
_WORDMARK_GAP = 0.06  # space between the sole and the wordmark's cap height

# Sole outline, clockwise from the toe, in sole units: x right, y down, centred on (0, 0); the
# sole is 1.0 tall. A closed Catmull-Rom spline through these gives the smooth outline.
_SOLE_POINTS: tuple[tuple[float, float], ...] = (
    (0.0, -0.50),
    (0.10, -0.48),
    (0.17, -0.41),
    (0.20, -0.30),
    (0.195, -0.18),
    (0.16, -0.05),
    (0.13, 0.08),
    (0.125, 0.22),
    (0.125, 0.34),
    (0.09, 0.45),
    (0.0, 0.50),
    (-0.09, 0.46),
    (-0.125, 0.36),
    (-0.12, 0.22),
    (-0.095, 0.08),
    (-0.12, -0.07),
    (-0.175, -0.22),
    (-0.18, -0.36),
    (-0.12, -0.46),
)

# Tread network: nodes (sole units) and the links between them (node indices).
_NODES: tuple[tuple[float, float], ...] = (
    (-0.02, -0.37),  # 0 toe
    (0.09, -0.255),  # 1 outer ball
    (-0.08, -0.20),  # 2 inner ball
    (0.04, -0.07),  # 3 arch
    (-0.02, 0.21),  # 4 heel top
    (0.02, 0.345),  # 5 heel
)
_LINKS: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (3, 4), (4, 5))


def load_palette(path: Path = PALETTE_PATH) -> dict[str, tuple[int, int, int]]:
    """Read palette.toml's colours (its top-level strings) as RGB, so the logo hard-codes none."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return {name: hex_to_rgb(value) for name, value in data.items() if isinstance(value, str)}


def hex_to_rgb(value: str) -> tuple[int, int, int]:
    """Parse "#RRGGBB"; anything else is a palette error worth failing loudly on."""
    if len(value) != 7 or not value.startswith("#"):
        raise ValueError(f"colour {value!r} is not #RRGGBB")
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


def _catmull_rom_closed(
    points: Sequence[tuple[float, float]], steps: int = 24
) -> list[tuple[float, float]]:
    """Sample a closed uniform Catmull-Rom spline: smooth curves from a few hand-placed points."""

    def blend(c0: float, c1: float, c2: float, c3: float, t: float) -> float:
        return 0.5 * (
            2 * c1
            + (c2 - c0) * t
            + (2 * c0 - 5 * c1 + 4 * c2 - c3) * t * t
            + (3 * c1 - c0 - 3 * c2 + c3) * t * t * t
        )

    out: list[tuple[float, float]] = []
    n = len(points)
    for i in range(n):
        p0, p1, p2, p3 = (points[(i + k) % n] for k in (-1, 0, 1, 2))
        for s in range(steps):
            t = s / steps
            out.append((blend(p0[0], p1[0], p2[0], p3[0], t), blend(p0[1], p1[1], p2[1], p3[1], t)))
    return out


def _transform(
    point: tuple[float, float], centre: tuple[float, float], scale: float
) -> tuple[float, float]:
    """Tilt a sole-unit point forward and place it on the canvas."""
    angle = math.radians(_TILT_DEG)
    x, y = point
    xr = x * math.cos(angle) - y * math.sin(angle)
    yr = x * math.sin(angle) + y * math.cos(angle)
    return centre[0] + xr * scale, centre[1] + yr * scale


@lru_cache(maxsize=8)
def _brand_font(px: int) -> ImageFont.FreeTypeFont:
    """Plus Jakarta Sans ExtraBold (variable font, weight axis 800) at ``px`` pixels."""
    import fontpkg

    font = ImageFont.truetype(str(fontpkg.path("Plus Jakarta Sans")), px)
    font.set_variation_by_axes([800])
    return font


def draw_network_logo(
    size: int = LOGO_SIZE, *, on_dark: bool = False, wordmark: bool = True
) -> Image.Image:
    """Draw the network logo as a square RGBA image with a transparent background.

    ``on_dark`` swaps the sole and wordmark to paper so the mark reads on primary or on photos
    under the scrim; ``wordmark=False`` gives the bare mark for small badges and avatars.
    """
    palette = load_palette()
    sole_colour = palette["paper"] if on_dark else palette["primary"]
    node_colour = palette["accent"]
    text_colour = palette["paper"] if on_dark else palette["primary_dark"]

    big = size * _SUPERSAMPLE
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))

    # Layout: fill the height (templates place the logo with "contain" in short, wide boxes, so
    # spare margin would only shrink it). The tilted sole's extent per unit of sole height is
    # measured from the outline itself, so editing the points keeps the layout right.
    outline_unit = [_transform(p, (0.0, 0.0), 1.0) for p in _catmull_rom_closed(_SOLE_POINTS)]
    xs, ys = [x for x, _ in outline_unit], [y for _, y in outline_unit]
    margin = big * _MARGIN
    baseline = big - margin
    font = _brand_font(round(big * _WORDMARK_EM)) if wordmark else None
    reserved = 0.0  # height taken by the wordmark and the gap above it
    if font is not None:
        _, cap_top, _, _ = font.getbbox("IFN", anchor="ls")
        reserved = big * _WORDMARK_GAP - cap_top
    sole_h = (big - 2 * margin - reserved) / (max(ys) - min(ys))
    centre = (
        big / 2 - sole_h * (max(xs) + min(xs)) / 2,
        margin - sole_h * min(ys),
    )

    # Sole: solid shape in its own layer; the tread network is then cut out of it as
    # transparent lines, so the background shows through like a real tread pattern.
    sole = Image.new("L", (big, big), 0)
    sole_draw = ImageDraw.Draw(sole)
    outline = [_transform(p, centre, sole_h) for p in _catmull_rom_closed(_SOLE_POINTS)]
    sole_draw.polygon(outline, fill=255)

    nodes = [_transform(p, centre, sole_h) for p in _NODES]
    line_w = round(sole_h * 0.03)
    node_r = sole_h * 0.038
    gap = sole_h * 0.022  # transparent ring around each node, keeps it crisp when small
    for a, b in _LINKS:
        sole_draw.line([nodes[a], nodes[b]], fill=0, width=line_w)
    for x, y in nodes:
        r = node_r + gap
        sole_draw.ellipse((x - r, y - r, x + r, y + r), fill=0)

    img.paste(Image.new("RGBA", (big, big), (*sole_colour, 255)), (0, 0), sole)

    draw = ImageDraw.Draw(img)
    for x, y in nodes:
        draw.ellipse((x - node_r, y - node_r, x + node_r, y + node_r), fill=(*node_colour, 255))

    if font is not None:
        draw.text((big / 2, baseline), "IFN", font=font, fill=(*text_colour, 255), anchor="ms")

    return img.resize((size, size), Image.Resampling.LANCZOS)


def png_bytes(image: Image.Image) -> bytes:
    """Encode without metadata or timestamps, so identical pixels give identical bytes."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def expected_files() -> dict[Path, bytes]:
    """The committed logo files and the bytes they must hold."""
    return {
        LOGO_PATH: png_bytes(draw_network_logo(LOGO_SIZE)),
        LOGO_ON_DARK_PATH: png_bytes(draw_network_logo(LOGO_SIZE, on_dark=True)),
    }


def stale_files() -> list[Path]:
    """Committed logo files that are missing or differ from what the code draws now."""
    return [
        path
        for path, data in expected_files().items()
        if not path.exists() or path.read_bytes() != data
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Write the logo PNGs (only when their bytes change), or with --check report stale ones."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the committed PNGs are out of date"
    )
    args = parser.parse_args(argv)

    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"out of date: {path}", file=sys.stderr)
        if stale:
            print("run: python -m ifn_campaign.cards.network_logo", file=sys.stderr)
        return 1 if stale else 0

    for path, data in expected_files().items():
        if path.exists() and path.read_bytes() == data:
            print(f"unchanged: {path} ({len(data)} bytes)")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote: {path} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
