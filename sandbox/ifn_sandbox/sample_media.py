"""Logos and product photos for the bundled sample registry, drawn with Pillow.

The demo and the tests need pictures that look like what IFN members upload (a small brand's
monogram, studio shots of shoes, sandals, boots and outsoles) without shipping anyone's real
pictures. Everything is drawn from the member id through SHA-256, never from unseeded randomness,
so the same inputs always give byte-identical files and a rerun of this module changes nothing.

A few photos are written in awkward forms on purpose (CMYK JPEG, greyscale PNG, palette PNG, a
JPEG that needs its EXIF orientation applied) so the media converters have real cases to handle.

Run ``python -m ifn_sandbox.sample_media`` to (re)generate
``assets/sample_registry/media/`` from ``assets/sample_registry/members.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar, cast

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from ifn_sandbox.bundled import assets

__all__ = [
    "CATEGORIES",
    "ODD_PHOTOS",
    "PhotoVariant",
    "draw_logo",
    "draw_product",
    "generate",
    "main",
]

Point = tuple[float, float]
RGB = tuple[int, int, int]
Curve = tuple[Point, Point, Point]
T = TypeVar("T")
PhotoVariant = Literal["jpeg", "cmyk_jpeg", "grey_png", "palette_png", "exif_rotated_jpeg"]

REGISTRY_DIR = assets("sample_registry")
"""Where the bundled registry lives in a source checkout."""

CATEGORIES = (
    "sneakers",
    "leather_shoes",
    "sandals",
    "womens_flats",
    "safety_shoes",
    "boots",
    "components",
)
"""Categories we know how to draw; anything else is drawn as a sneaker."""

ODD_PHOTOS: dict[str, PhotoVariant] = {
    "ifn-0007-2.jpg": "cmyk_jpeg",
    "ifn-0012-1.png": "grey_png",
    "ifn-0023-2.png": "palette_png",
    "ifn-0031-1.jpg": "exif_rotated_jpeg",
}
"""Photos deliberately stored in unusual modes, keyed by file name, to exercise converters."""

JPEG_QUALITY = 85
"""Usual quality for product photos: small files with no visible artefacts on flat shapes."""
SUPERSAMPLE = 2
"""Shapes are drawn at this multiple and scaled down, which gives smooth anti-aliased edges."""

_MEDIA_URL = re.compile(r"^/media/(?P<name>(?P<id>ifn-\d{4})-(?P<n>logo|\d)\.(?P<ext>png|jpg))$")
_PHOTO_SIZES: tuple[tuple[int, int], ...] = (
    (1200, 1200),
    (1600, 1200),
    (1080, 1350),
    (1500, 1000),
    (1080, 1080),
    (1350, 1080),
)


def _digest(*parts: object) -> bytes:
    """Stable bytes to choose from: the same parts always give the same choices."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).digest()


def _pick(options: Sequence[T], digest: bytes, slot: int) -> T:
    """One option chosen by byte ``slot`` of ``digest``."""
    return options[digest[slot % len(digest)] % len(options)]


def _frac(digest: bytes, slot: int) -> float:
    """A number in [0, 1) from two bytes of ``digest``."""
    return int.from_bytes(digest[slot : slot + 2], "big") / 65536


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    """Colour ``t`` of the way from ``a`` to ``b``."""
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


_WHITE: RGB = (255, 255, 255)
_BLACK: RGB = (0, 0, 0)


def _lighten(c: RGB, t: float) -> RGB:
    """Toward white: highlights and pale linings derived from one base colour."""
    return _mix(c, _WHITE, t)


def _darken(c: RGB, t: float) -> RGB:
    """Toward black: seams, shadows and edges derived from one base colour."""
    return _mix(c, _BLACK, t)


# --------------------------------------------------------------------------------------------
# Palettes: chosen by hand so that every combination looks like a plausible product.


@dataclass(frozen=True)
class Colourway:
    """The colours of one product: main upper, a contrast panel, the sole and the laces."""

    upper: RGB
    accent: RGB
    sole: RGB
    lace: RGB


_SHOE_COLOURWAYS: tuple[Colourway, ...] = (
    Colourway((176, 112, 62), (98, 58, 32), (58, 40, 30), (226, 208, 180)),  # tan leather
    Colourway((96, 58, 38), (160, 112, 70), (38, 28, 22), (60, 40, 28)),  # dark brown
    Colourway((40, 40, 44), (110, 110, 116), (30, 30, 32), (52, 52, 56)),  # black
    Colourway((38, 56, 96), (228, 226, 218), (238, 236, 230), (240, 238, 232)),  # navy canvas
    Colourway((236, 234, 228), (196, 62, 52), (246, 246, 242), (250, 250, 248)),  # white/red
    Colourway((100, 106, 66), (212, 178, 120), (62, 54, 42), (214, 190, 150)),  # olive
    Colourway((122, 40, 50), (232, 214, 192), (52, 32, 32), (236, 224, 206)),  # maroon
    Colourway((146, 142, 136), (226, 118, 60), (244, 242, 236), (246, 244, 240)),  # grey suede
    Colourway((208, 158, 56), (62, 62, 66), (50, 46, 44), (244, 236, 214)),  # mustard
    Colourway((120, 150, 132), (246, 240, 226), (242, 238, 228), (248, 244, 236)),  # sage
    Colourway((214, 176, 160), (150, 96, 84), (236, 226, 214), (240, 230, 220)),  # dusty pink
    Colourway((30, 84, 110), (240, 168, 60), (236, 234, 228), (242, 240, 236)),  # petrol
)

_SAFETY_ACCENTS: tuple[RGB, ...] = ((244, 190, 30), (238, 120, 30), (214, 50, 40))
_SOLE_COLOURS: tuple[RGB, ...] = (
    (36, 36, 38),  # black rubber
    (186, 124, 70),  # gum rubber
    (236, 234, 226),  # white EVA
    (120, 122, 126),  # grey TPU
    (206, 170, 120),  # crepe
    (44, 70, 120),  # blue PU
)

_STUDIOS: tuple[tuple[RGB, RGB], ...] = (
    ((238, 234, 228), (206, 198, 188)),  # warm grey
    ((230, 235, 240), (196, 205, 215)),  # cool blue-grey
    ((242, 233, 222), (220, 202, 182)),  # sand
    ((228, 236, 228), (196, 212, 200)),  # sage
    ((243, 230, 228), (222, 200, 198)),  # blush
    ((237, 237, 235), (206, 206, 204)),  # neutral
    ((232, 230, 242), (204, 200, 222)),  # lavender
)

_LOGO_PAIRS: tuple[tuple[RGB, RGB], ...] = (
    ((28, 48, 92), (214, 176, 92)),  # navy and gold
    ((118, 32, 42), (240, 226, 200)),  # maroon and cream
    ((30, 82, 58), (222, 190, 110)),  # forest and gold
    ((34, 34, 36), (238, 124, 40)),  # black and orange
    ((96, 58, 34), (232, 200, 150)),  # brown and tan
    ((18, 104, 110), (250, 248, 240)),  # teal and white
    ((56, 60, 68), (214, 58, 50)),  # charcoal and red
    ((52, 44, 120), (236, 214, 170)),  # indigo and sand
    ((150, 70, 30), (250, 236, 210)),  # terracotta and cream
)


def _colourway(member_id: str, category: str, index: int) -> Colourway:
    """A member keeps one house colourway; later photos sometimes show a second one."""
    d = _digest("colour", member_id)
    base = _pick(_SHOE_COLOURWAYS, d, 0 if index % 3 else 1)
    if category == "safety_shoes":
        dark = _pick(((34, 34, 36), (84, 54, 36), (52, 56, 62)), d, 2)
        accent = _pick(_SAFETY_ACCENTS, d, 3)
        return Colourway(dark, accent, (30, 30, 32), accent)
    if category == "components":
        sole = _pick(_SOLE_COLOURS, d, index + 4)
        return Colourway(sole, _darken(sole, 0.25), sole, _lighten(sole, 0.3))
    if category in ("leather_shoes", "boots") and sum(base.sole) > 450:
        # White cupsoles belong on sneakers; dress shoes and boots get leather or rubber soles.
        sole = _pick(((52, 38, 30), (34, 32, 32), (150, 98, 58)), d, 5)
        return Colourway(base.upper, base.accent, sole, base.lace)
    return base


# --------------------------------------------------------------------------------------------
# Drawing in a unit coordinate system.


def _cubic(p0: Point, p1: Point, p2: Point, p3: Point, steps: int = 28) -> list[Point]:
    """Points along a cubic Bezier curve, without the start point."""
    out: list[Point] = []
    for i in range(1, steps + 1):
        t = i / steps
        u = 1 - t
        out.append(
            (
                u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
                u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
            )
        )
    return out


def _path(start: Point, *segments: Point | Curve) -> list[Point]:
    """A polyline from a start point, straight segments (a point) and curves (three points)."""
    pts: list[Point] = [start]
    for seg in segments:
        if len(seg) == 3:
            c1, c2, end = cast(Curve, seg)
            pts.extend(_cubic(pts[-1], c1, c2, end))
        else:
            pts.append(cast(Point, seg))
    return pts


def _offset(pts: Iterable[Point], dx: float, dy: float) -> list[Point]:
    """The same outline moved, e.g. to run stitching just inside a seam."""
    return [(x + dx, y + dy) for x, y in pts]


class _Sketch:
    """An RGBA drawing surface addressed in design units (``k`` pixels per unit).

    Products are designed on a 1000-unit-wide grid so that the shapes read the same at any photo
    size; this class turns units into pixels and adds the few effects we need (gradient fills,
    soft highlights clipped to what is already drawn, stitching).
    """

    def __init__(self, width_units: float, height_units: float, k: float) -> None:
        self.k = k
        self.img = Image.new(
            "RGBA", (round(width_units * k), round(height_units * k)), (0, 0, 0, 0)
        )
        self.draw = ImageDraw.Draw(self.img)

    def blank(self) -> _Sketch:
        """An empty surface of the same size and scale, for masks."""
        return _Sketch(self.img.width / self.k, self.img.height / self.k, self.k)

    def px(self, pts: Iterable[Point]) -> list[Point]:
        """Design units to pixels of this surface."""
        return [(x * self.k, y * self.k) for x, y in pts]

    def poly(self, pts: Sequence[Point], fill: RGB) -> None:
        """A flat, opaque shape (panels that need no shading)."""
        self.draw.polygon(self.px(pts), fill=(*fill, 255))

    def ellipse(self, cx: float, cy: float, rx: float, ry: float, fill: RGB) -> None:
        """An opaque ellipse around a centre, e.g. eyelets and ornaments."""
        k = self.k
        self.draw.ellipse(((cx - rx) * k, (cy - ry) * k, (cx + rx) * k, (cy + ry) * k), fill=fill)

    def line(self, pts: Sequence[Point], fill: RGB, width: float) -> None:
        """A polyline whose width is in design units, so it scales with the product."""
        self.draw.line(
            self.px(pts), fill=(*fill, 255), width=max(1, round(width * self.k)), joint="curve"
        )

    def shade(
        self, pts: Sequence[Point], colour: RGB, light: float = 0.18, dark: float = 0.22
    ) -> None:
        """Fill with a top-lit vertical gradient, which reads as a rounded surface."""
        p = self.px(pts)
        x0 = math.floor(min(x for x, _ in p))
        y0 = math.floor(min(y for _, y in p))
        x1 = math.ceil(max(x for x, _ in p))
        y1 = math.ceil(max(y for _, y in p))
        w, h = max(1, x1 - x0 + 1), max(1, y1 - y0 + 1)
        mask = Image.new("L", (w, h), 0)
        ImageDraw.Draw(mask).polygon([(x - x0, y - y0) for x, y in p], fill=255)
        ramp = Image.linear_gradient("L").resize((w, h), Image.Resampling.BILINEAR)
        top = Image.new("RGBA", (w, h), (*_lighten(colour, light), 255))
        bottom = Image.new("RGBA", (w, h), (*_darken(colour, dark), 255))
        self.img.paste(Image.composite(bottom, top, ramp), (x0, y0), mask)

    def dashes(
        self, pts: Sequence[Point], fill: RGB, width: float = 2.5, dash: float = 9, gap: float = 7
    ) -> None:
        """Stitching: a dashed line along a polyline."""
        on, remaining = True, dash
        current: list[Point] = [pts[0]]
        for (xa, ya), (xb, yb) in itertools.pairwise(pts):
            seg = math.hypot(xb - xa, yb - ya)
            pos = 0.0
            while seg - pos > remaining:
                pos += remaining
                t = pos / seg
                pt = (xa + (xb - xa) * t, ya + (yb - ya) * t)
                if on:
                    current.append(pt)
                    self.line(current, fill, width)
                current = [pt]
                on = not on
                remaining = dash if on else gap
            remaining -= seg - pos
            if on:
                current.append((xb, yb))
            else:
                current = [(xb, yb)]
        if on and len(current) > 1:
            self.line(current, fill, width)

    def glow(
        self, cx: float, cy: float, rx: float, ry: float, colour: RGB, opacity: float, blur: float
    ) -> None:
        """A soft highlight or shade, clipped to the pixels already drawn."""
        k = self.k
        mask = Image.new("L", self.img.size, 0)
        ImageDraw.Draw(mask).ellipse(
            ((cx - rx) * k, (cy - ry) * k, (cx + rx) * k, (cy + ry) * k), fill=round(255 * opacity)
        )
        mask = mask.filter(ImageFilter.GaussianBlur(blur * k))
        alpha = self.img.getchannel("A")
        mask = ImageChops.multiply(mask, alpha)
        solid = Image.new("RGBA", self.img.size, (*colour, 255))
        solid.putalpha(alpha)
        self.img = Image.composite(solid, self.img, mask)
        self.draw = ImageDraw.Draw(self.img)

    def finish(self) -> Image.Image:
        """Scale the supersampled drawing down to its final size."""
        w, h = self.img.size
        return self.img.resize(
            (max(1, round(w / SUPERSAMPLE)), max(1, round(h / SUPERSAMPLE))),
            Image.Resampling.LANCZOS,
        )


# --------------------------------------------------------------------------------------------
# Products. Side views face right (toe at x = 1000); flat lays face up.


def _sole_band(s: _Sketch, c: Colourway, top: float, bottom: float, toe_lift: float) -> None:
    """A midsole and outsole running heel to toe, the toe curling up a little."""
    mid = _path(
        (25, top),
        (870, top),
        ((945, top - 4), (990, top - toe_lift), (992, top - toe_lift - 8)),
        ((1000, bottom - toe_lift), (960, bottom), (880, bottom)),
        (60, bottom),
        ((30, bottom), (18, bottom - 12), (20, top + 10)),
    )
    s.shade(mid, c.sole, light=0.05, dark=0.12)
    out_top = bottom - (bottom - top) * 0.3
    outsole = _path(
        (22, out_top),
        (900, out_top),
        ((960, out_top - 2), (988, out_top - toe_lift * 0.4), (986, out_top - toe_lift * 0.3)),
        ((975, bottom - 2), (950, bottom + 2), (880, bottom + 2)),
        (60, bottom + 2),
        ((30, bottom + 2), (20, bottom - 6), (22, out_top)),
    )
    s.poly(outsole, _darken(c.sole, 0.35))


def _sneaker(s: _Sketch, c: Colourway, d: bytes) -> None:
    """A low-top lace-up sneaker in side view."""
    upper = _path(
        (40, 445),
        ((18, 380), (22, 260), (56, 196)),
        ((70, 172), (98, 168), (120, 180)),
        ((170, 206), (238, 214), (292, 186)),
        ((330, 160), (352, 110), (384, 96)),
        ((410, 86), (436, 92), (440, 112)),
        ((450, 160), (480, 206), (530, 232)),
        ((690, 280), (870, 290), (945, 332)),
        ((994, 360), (1000, 430), (965, 448)),
        (40, 448),
    )
    s.shade(upper, c.upper)
    # Heel counter and toe cap in the contrast colour.
    heel = _path(
        (36, 448),
        ((18, 380), (22, 260), (56, 196)),
        ((76, 170), (104, 170), (130, 186)),
        ((160, 250), (180, 360), (200, 448)),
    )
    s.shade(heel, c.accent, light=0.1, dark=0.18)
    toe = _path(
        (800, 448),
        ((786, 400), (796, 330), (832, 292)),
        ((890, 300), (930, 318), (945, 332)),
        ((994, 360), (1000, 430), (965, 448)),
    )
    s.shade(toe, c.accent, light=0.1, dark=0.18)
    # A side stripe, shaped per member so that brands do not all look alike.
    lift = 40 + d[5] % 50
    stripe = _path(
        (250, 440),
        ((330, 380), (430, 300 - lift * 0.4), (560, 250 + lift * 0.2)),
        (610, 264 + lift * 0.2),
        ((500, 320), (400, 380), (330, 440)),
    )
    s.shade(stripe, c.accent, light=0.12, dark=0.12)
    s.dashes(_offset(stripe[:29], 10, 10), _lighten(c.accent, 0.4), width=2)
    # Eyestay, eyelets and laces.
    eyestay = _path((392, 112), ((430, 170), (520, 236), (640, 276)))
    s.line(eyestay, _darken(c.upper, 0.25), 26)
    for i in range(6):
        x, y = eyestay[3 + i * 4]
        s.ellipse(x, y, 6, 6, _lighten(c.upper, 0.55))
        s.line([(x - 26, y - 30), (x + 24, y + 18)], c.lace, 9)
    # Collar padding and stitching.
    s.line(_path((58, 200), ((80, 178), (100, 176), (122, 188))), _darken(c.accent, 0.3), 10)
    s.dashes([(60, 430), (800, 430)], _darken(c.upper, 0.3))
    s.dashes(_offset(toe[:29], -10, 0), _darken(c.accent, 0.35))
    _sole_band(s, c, 440, 505, 26)
    s.glow(600, 300, 180, 40, _WHITE, 0.22, 30)


def _leather_shoe(s: _Sketch, c: Colourway, d: bytes) -> None:
    """A derby or oxford in polished leather, side view."""
    pointed = d[6] % 2 == 0
    toe_x = 992 if pointed else 978
    heel_block = [(40, 480), (205, 480), (198, 548), (58, 548)]
    s.shade(heel_block, _darken(c.sole, 0.1), light=0.15, dark=0.1)
    s.poly([(58, 538), (198, 538), (198, 548), (58, 548)], _darken(c.sole, 0.5))
    upper = _path(
        (44, 488),
        ((28, 430), (28, 350), (52, 290)),
        ((130, 300), (220, 316), (300, 312)),
        ((340, 290), (390, 262), (450, 258)),
        ((600, 262), (790, 310), (900, 360)),
        ((toe_x - 10, 392), (toe_x + 8, 470), (toe_x - 40, 490)),
        (44, 490),
    )
    s.shade(upper, c.upper, light=0.16, dark=0.3)
    # Quarter seam, heel seam and cap toe.
    s.line(_path((300, 312), ((318, 370), (326, 430), (318, 488))), _darken(c.upper, 0.35), 4)
    s.line(_path((120, 300), ((130, 380), (150, 440), (200, 488))), _darken(c.upper, 0.3), 3)
    cap = _path((770, 316), ((810, 370), (812, 440), (796, 488)))
    s.line(cap, _darken(c.upper, 0.35), 4)
    if d[7] % 2 == 0:  # brogue punching along the cap
        for x, y in cap[3::3]:
            s.ellipse(x - 14, y, 3.2, 3.2, _darken(c.upper, 0.45))
    # Lacing on the facing.
    facing = _path((322, 300), ((370, 272), (430, 260), (520, 266)))
    s.line(facing, _darken(c.upper, 0.2), 16)
    for i in range(4):
        x, y = facing[5 + i * 6]
        s.ellipse(x, y, 5, 5, _darken(c.upper, 0.5))
        s.line([(x - 18, y - 8), (x + 22, y + 6)], c.lace, 7)
    # Sole edge with welt stitching.
    sole = _path(
        (190, 486),
        (toe_x - 40, 486),
        ((toe_x - 4, 486), (toe_x + 2, 500), (toe_x - 30, 510)),
        (190, 510),
    )
    s.poly(sole, _darken(c.sole, 0.1))
    s.dashes([(200, 495), (toe_x - 40, 495)], _lighten(c.sole, 0.5), width=2, dash=6, gap=5)
    s.glow(880, 400, 80, 30, _WHITE, 0.42, 22)
    s.glow(120, 380, 50, 60, _WHITE, 0.2, 25)


def _flat(s: _Sketch, c: Colourway, d: bytes) -> None:
    """A women's ballet flat, side view, with a small bow on the throat."""
    pointed = d[8] % 3 == 0
    toe_x = 992 if pointed else 978
    # The lining of the far side shows through the opening.
    lining = _path((56, 326), ((200, 318), (420, 330), (640, 366)), (640, 430), (56, 430))
    s.shade(lining, _lighten(c.upper, 0.55), light=0.1, dark=0.1)
    upper = _path(
        (46, 500),
        ((32, 450), (32, 380), (54, 330)),
        ((150, 352), (330, 396), (520, 398)),
        ((620, 396), (700, 346), (800, 330)),
        ((900, 320), (toe_x, 380), (toe_x - 6, 470)),
        ((toe_x - 12, 500), (900, 506), (860, 506)),
        (46, 506),
    )
    s.shade(upper, c.upper, light=0.2, dark=0.22)
    binding = _path(
        (54, 332), ((150, 354), (330, 398), (520, 400)), ((620, 398), (700, 348), (800, 332))
    )
    s.line(binding, _darken(c.upper, 0.3), 8)
    # Bow on the throat.
    bx, by = 640, 382
    bow = _darken(c.accent, 0.05)
    s.poly([(bx, by), (bx - 56, by - 34), (bx - 62, by + 22)], bow)
    s.poly([(bx, by), (bx + 54, by - 40), (bx + 62, by + 14)], bow)
    s.ellipse(bx, by, 14, 14, _darken(c.accent, 0.25))
    # Thin sole and a little stacked heel.
    s.poly([(40, 504), (toe_x - 20, 504), (toe_x - 34, 522), (60, 522)], _darken(c.sole, 0.1))
    s.poly([(46, 518), (160, 518), (156, 546), (56, 546)], _darken(c.sole, 0.3))
    s.dashes([(70, 494), (toe_x - 50, 494)], _darken(c.upper, 0.3), width=2, dash=6, gap=5)
    s.glow(880, 390, 80, 34, _WHITE, 0.32, 22)


def _boot_sole(s: _Sketch, c: Colourway, top: float, ground: float, lugs: bool) -> None:
    """Sole for boots and safety shoes: a lugged wedge, or a stacked heel with a raised arch."""
    if lugs:
        bottom = ground + 16
        sole = _path(
            (30, top),
            (900, top),
            ((970, top), (996, top + 20), (990, top + 44)),
            ((984, bottom - 10), (960, bottom), (900, bottom)),
            (50, bottom),
            ((30, bottom), (24, bottom - 20), (30, top)),
        )
        s.shade(sole, c.sole, light=0.12, dark=0.15)
        clear = (0, 0, 0, 0)
        for i in range(15):
            x = 84 + i * 60
            notch = [
                (x, bottom - 15),
                (x + 20, bottom - 15),
                (x + 26, bottom + 2),
                (x - 6, bottom + 2),
            ]
            s.draw.polygon(s.px(notch), fill=clear)
        s.line([(40, ground - 14), (970, ground - 14)], _darken(c.sole, 0.3), 3)
        return
    sole = _path(
        (30, top),
        (900, top),
        ((970, top), (996, top + 16), (990, top + 36)),
        ((984, ground - 8), (960, ground), (900, ground)),
        (480, ground),
        ((410, ground), (370, top + 32), (300, top + 28)),
        (238, top + 28),
        (234, ground),
        (50, ground),
        ((34, ground), (28, ground - 20), (30, top)),
    )
    s.shade(sole, c.sole, light=0.12, dark=0.15)
    s.poly(
        [(48, ground - 10), (234, ground - 10), (234, ground), (50, ground)], _darken(c.sole, 0.4)
    )
    s.dashes([(44, top + 10), (970, top + 10)], _lighten(c.sole, 0.35), width=2, dash=7, gap=5)


def _safety_shoe(s: _Sketch, c: Colourway, d: bytes) -> None:
    """A mid-cut safety shoe with toe cap, padded collar and reflective band."""
    upper = _path(
        (48, 620),
        ((28, 500), (34, 300), (70, 170)),
        ((140, 140), (230, 140), (290, 156)),
        ((310, 130), (330, 110), (366, 112)),
        ((392, 116), (396, 140), (400, 170)),
        ((430, 290), (520, 380), (640, 420)),
        ((820, 450), (960, 480), (984, 560)),
        ((990, 600), (980, 620), (950, 624)),
        (48, 624),
    )
    s.shade(upper, c.upper, light=0.16, dark=0.2)
    toe_cap = _path(
        (720, 624),
        ((700, 540), (720, 460), (760, 440)),
        ((860, 454), (962, 486), (984, 560)),
        ((990, 600), (980, 620), (950, 624)),
    )
    s.shade(toe_cap, _darken(c.upper, 0.35), light=0.2, dark=0.1)
    s.dashes(_offset(toe_cap[:29], -12, 0), c.accent, width=3)
    # Padded collar and heel pull tab.
    s.line(_path((72, 176), ((140, 148), (230, 148), (288, 164))), _lighten(c.upper, 0.18), 30)
    s.poly([(48, 150), (88, 140), (92, 230), (56, 236)], c.accent)
    # Reflective band and quarter panel stitching.
    band = [(60, 330), (330, 330), (350, 360), (56, 360)]
    s.poly(band, (206, 208, 210))
    s.poly([(60, 340), (336, 340), (342, 350), (58, 350)], (240, 242, 244))
    s.dashes(_path((60, 420), ((200, 430), (380, 470), (600, 500))), c.accent, width=3)
    # Laces through hooks.
    for i in range(5):
        t = i / 4
        x, y = 392 + t * 230, 180 + t * 220
        s.ellipse(x, y, 8, 8, (180, 180, 184))
        s.line([(x - 30, y - 20), (x + 28, y + 18)], _darken(c.accent, 0.1), 10)
    _boot_sole(s, c, 616, 700, lugs=True)
    s.poly([(30, 636), (990, 636), (990, 646), (30, 646)], c.accent)
    s.glow(860, 500, 80, 30, _WHITE, 0.3, 20)


def _boot(s: _Sketch, c: Colourway, d: bytes) -> None:
    """An ankle boot: a Chelsea boot with elastic gusset, or a lace-up work boot."""
    laced = d[9] % 2 == 0
    upper = _path(
        (50, 770),
        ((26, 600), (40, 320), (70, 60)),
        (340, 60),
        ((342, 290), (368, 450), (480, 532)),
        ((700, 590), (940, 620), (984, 720)),
        ((992, 760), (970, 776), (940, 776)),
        (50, 776),
    )
    s.shade(upper, c.upper, light=0.16, dark=0.26)
    if laced:
        s.line(_path((330, 70), ((336, 250), (360, 400), (470, 500))), _darken(c.upper, 0.3), 24)
        pts = _path((330, 80), ((336, 250), (360, 400), (470, 500)))
        for x, y in pts[2::4]:
            s.ellipse(x, y, 7, 7, (196, 170, 110))
            s.line([(x - 34, y - 12), (x + 24, y + 14)], c.lace, 9)
        s.line([(60, 74), (330, 74)], _lighten(c.upper, 0.15), 24)
    else:
        gusset = _path(
            (170, 64),
            (290, 64),
            ((280, 220), (260, 360), (232, 470)),
            ((210, 360), (190, 220), (170, 64)),
        )
        s.poly(gusset, _darken(c.upper, 0.55))
        for x in range(182, 282, 12):
            s.line([(x, 70), (x + (230 - x) * 0.35, 400)], _darken(c.upper, 0.4), 3)
        s.line([(76, 112), (74, 24), (118, 24), (120, 112)], _darken(c.upper, 0.2), 12)
    s.dashes(_path((40, 560), ((300, 560), (520, 600), (700, 620))), _darken(c.upper, 0.4))
    s.line(_path((700, 600), ((740, 660), (744, 720), (730, 774))), _darken(c.upper, 0.35), 4)
    _boot_sole(s, c, 770, 840, lugs=laced)
    s.glow(860, 660, 80, 32, _WHITE, 0.3, 22)
    s.glow(170, 300, 50, 200, _WHITE, 0.12, 30)


_FOOT: list[Point] = _path(
    (36, 250),
    ((36, 170), (100, 132), (190, 130)),
    ((320, 128), (470, 110), (620, 76)),
    ((780, 44), (960, 90), (990, 220)),
    ((1004, 300), (970, 400), (860, 420)),
    ((760, 440), (650, 436), (570, 400)),
    ((480, 362), (410, 340), (320, 356)),
    ((230, 372), (120, 374), (70, 340)),
    ((44, 318), (36, 290), (36, 252)),
)
"""A left foot's sole outline, toe to the right, in a 1000 x 500 box."""


def _foot_outline(s: _Sketch, inset: float, fill: RGB) -> None:
    """A left-foot sole outline lying toe-right (big toe at the bottom), shrunk by ``inset``."""
    s.poly(_inset(_FOOT, inset), fill)


def _sandal(s: _Sketch, c: Colourway, d: bytes) -> None:
    """A slide or flip-flop seen from above (flat lay), toe to the right."""
    _foot_outline(s, 0, _darken(c.sole, 0.2))
    _foot_outline(s, 8, c.sole)
    s.shade(_inset(_FOOT, 22), _lighten(c.upper, 0.45), light=0.12, dark=0.08)
    s.glow(330, 250, 200, 70, _darken(c.upper, 0.2), 0.18, 40)
    s.dashes(_inset(_FOOT, 36), _darken(c.upper, 0.05), width=2.5)
    if d[10] % 2 == 0:  # slide: one wide strap across the forefoot
        strap = _path(
            (540, 64),
            ((610, 150), (610, 350), (540, 440)),
            (720, 450),
            ((800, 350), (800, 150), (720, 50)),
        )
        s.shade(strap, c.upper, light=0.2, dark=0.25)
        s.dashes(_offset(strap[:29], 18, 0), _lighten(c.upper, 0.35), width=2.5)
        s.dashes(_offset(strap[30:59], -18, 0), _lighten(c.upper, 0.35), width=2.5)
        s.ellipse(672, 250, 24, 24, c.accent)
        s.ellipse(672, 250, 12, 12, _darken(c.accent, 0.2))
    else:  # flip-flop: a Y strap from the toe post
        post = (800, 300)
        s.line(_path(post, ((700, 250), (600, 160), (480, 92))), _darken(c.upper, 0.1), 40)
        s.line(_path(post, ((700, 320), (600, 370), (480, 416))), _darken(c.upper, 0.1), 40)
        s.line(_path(post, ((700, 250), (600, 160), (480, 92))), c.upper, 28)
        s.line(_path(post, ((700, 320), (600, 370), (480, 416))), c.upper, 28)
        s.ellipse(post[0], post[1], 18, 18, c.accent)


def _outsole(s: _Sketch, c: Colourway, d: bytes) -> None:
    """A bottom view of a moulded outsole with tread, toe to the right."""
    _foot_outline(s, 0, _darken(c.sole, 0.2))
    s.shade(_inset(_FOOT, 8), c.sole, light=0.1, dark=0.1)
    tread = s.blank()
    pattern = d[11] % 3
    lug = (255, 255, 255, 255)
    if pattern == 0:  # chevrons on the forefoot
        for x in range(470, 980, 46):
            tread.line([(x, 40), (x + 60, 250), (x, 460)], _WHITE, 18)
    elif pattern == 1:  # hexagonal studs
        for row, y in enumerate(range(60, 460, 46)):
            for x in range(440 + (row % 2) * 26, 1000, 52):
                tread.draw.regular_polygon((x * s.k, y * s.k, 17 * s.k), 6, fill=lug)
    else:  # wavy siping
        for y in range(50, 470, 32):
            wave = [(x, y + 10 * math.sin(x / 30)) for x in range(430, 1000, 10)]
            tread.line(wave, _WHITE, 11)
    for x in range(70, 330, 40):  # bars on the heel
        tread.line([(x, 80), (x, 420)], _WHITE, 16)
    inside = s.blank()
    _foot_outline(inside, 24, _WHITE)
    grooves = ImageChops.multiply(tread.img.getchannel("A"), inside.img.getchannel("A"))
    s.img.paste(Image.new("RGBA", s.img.size, (*_darken(c.sole, 0.28), 255)), (0, 0), grooves)
    # A recessed panel in the waist with a size/brand plate.
    s.poly([(370, 190), (460, 186), (460, 314), (370, 310)], _darken(c.sole, 0.12))
    s.poly([(384, 226), (446, 224), (446, 276), (384, 274)], _lighten(c.sole, 0.2))
    s.glow(600, 180, 300, 60, _WHITE, 0.16, 40)


def _inset(pts: Sequence[Point], t: float) -> list[Point]:
    """Move every point of a closed smooth outline ``t`` units inwards along its normal."""
    if t == 0:
        return list(pts)
    n = len(pts)
    area = sum(pts[i][0] * pts[(i + 1) % n][1] - pts[(i + 1) % n][0] * pts[i][1] for i in range(n))
    sign = 1.0 if area > 0 else -1.0
    out: list[Point] = []
    for i in range(n):
        (xa, ya), (xb, yb) = pts[i - 1], pts[(i + 1) % n]
        dx, dy = xb - xa, yb - ya
        length = math.hypot(dx, dy) or 1.0
        out.append((pts[i][0] - sign * dy / length * t, pts[i][1] + sign * dx / length * t))
    return out


@dataclass(frozen=True)
class _Kind:
    """How to draw one category: the drawing, its design box, and how it is photographed."""

    draw: Callable[[_Sketch, Colourway, bytes], None]
    width: float
    height: float
    flat_lay: bool
    pitch: float = 0.0
    """Degrees to tip the toe down so that a raised heel and the forefoot both meet the floor."""


_KINDS: dict[str, _Kind] = {
    "sneakers": _Kind(_sneaker, 1020, 540, flat_lay=False),
    "leather_shoes": _Kind(_leather_shoe, 1020, 600, flat_lay=False, pitch=2.6),
    "womens_flats": _Kind(_flat, 1020, 580, flat_lay=False, pitch=1.7),
    "safety_shoes": _Kind(_safety_shoe, 1020, 740, flat_lay=False),
    "boots": _Kind(_boot, 1020, 880, flat_lay=False),
    "sandals": _Kind(_sandal, 1000, 500, flat_lay=True),
    "components": _Kind(_outsole, 1000, 500, flat_lay=True),
}


def _render_item(category: str, c: Colourway, d: bytes, width_px: int) -> Image.Image:
    """The product alone on a transparent background, ``width_px`` wide (one item or a pair)."""
    kind = _KINDS.get(category, _KINDS["sneakers"])
    k = width_px * SUPERSAMPLE / kind.width
    sketch = _Sketch(kind.width, kind.height, k)
    kind.draw(sketch, c, d)
    if kind.pitch:
        # Rotate premultiplied so transparent edges do not bleed a dark fringe.
        tipped = sketch.img.convert("RGBa").rotate(
            -kind.pitch, resample=Image.Resampling.BICUBIC, expand=True
        )
        sketch.img = tipped.convert("RGBA")
    one = sketch.finish()
    if kind.flat_lay:
        # Flat lays show a left and right pair, toes up, like a catalogue shot.
        left = one.transpose(Image.Transpose.ROTATE_90)
        right = left.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        gap = right.width // 8
        pair = Image.new("RGBA", (right.width * 2 + gap, right.height), (0, 0, 0, 0))
        pair.alpha_composite(left, (0, 0))
        pair.alpha_composite(right, (right.width + gap, 0))
        return pair
    if d[12] % 2 == 0:
        # A pair: the second shoe a step behind, slightly darker.
        back = one.resize(
            (round(one.width * 0.94), round(one.height * 0.94)), Image.Resampling.LANCZOS
        )
        shade = Image.new("RGBA", back.size, (0, 0, 0, 255))
        shade.putalpha(back.getchannel("A").point(lambda v: v * 18 // 100))
        back.alpha_composite(shade)
        dx, dy = round(one.width * 0.16), round(one.height * 0.06)
        pair = Image.new("RGBA", (one.width + dx, one.height + dy), (0, 0, 0, 0))
        pair.alpha_composite(back, (0, 0))
        pair.alpha_composite(one, (dx, dy))
        return pair
    return one


def _studio(
    size: tuple[int, int], colours: tuple[RGB, RGB], horizon: float, light_x: float
) -> Image.Image:
    """A seamless studio backdrop: lit wall fading into a slightly darker floor."""
    w, h = size
    sw, sh = max(2, w // 10), max(2, h // 10)
    top, floor = colours
    bg = Image.new("RGB", (sw, sh))
    pix = bg.load()
    assert pix is not None
    hy = horizon * sh
    for y in range(sh):
        for x in range(sw):
            if y < hy:
                t = 0.15 + 0.45 * (y / hy)
                col = _mix(top, floor, t)
            else:
                t = (y - hy) / max(1.0, sh - hy)
                col = _mix(floor, _darken(floor, 0.08), t)
            r = math.hypot((x / sw - light_x) * 1.2, y / sh - 0.35)
            pix[x, y] = _lighten(col, max(0.0, 0.35 - r * 0.5))
    bg = bg.filter(ImageFilter.GaussianBlur(max(1, sh // 14)))
    return bg.resize((w, h), Image.Resampling.BICUBIC)


def _place(
    bg: Image.Image, item: Image.Image, cx: float, bottom: float, floor: RGB, flat_lay: bool
) -> None:
    """Put the product on the backdrop with a soft shadow, in place."""
    x = round(cx - item.width / 2)
    y = round(bottom - item.height)
    alpha = item.getchannel("A")
    shadow = Image.new("L", bg.size, 0)
    if flat_lay:
        blur = max(4, item.width // 40)
        shadow.paste(alpha.point(lambda v: v * 55 // 100), (x + blur, y + blur * 2))
        shadow = shadow.filter(ImageFilter.GaussianBlur(blur))
    else:
        # Contact shadow: the silhouette squashed onto the floor line, blurred.
        bbox = alpha.getbbox() or (0, 0, item.width, item.height)
        strip_h = max(4, item.height // 12)
        strip = alpha.crop(bbox).resize((bbox[2] - bbox[0], strip_h), Image.Resampling.BILINEAR)
        strip = strip.point(lambda v: min(255, v * 3) * 70 // 100)
        shadow.paste(strip, (x + bbox[0] + item.width // 60, y + bbox[3] - strip_h // 2))
        shadow = shadow.filter(ImageFilter.GaussianBlur(max(3, item.height // 40)))
    dark = Image.new("RGB", bg.size, _darken(floor, 0.45))
    bg.paste(Image.composite(dark, bg, shadow), (0, 0))
    bg.paste(item, (x, y), item)


def _render_product(member_id: str, category: str, index: int) -> Image.Image:
    """The finished RGB product photo, before encoding."""
    d = _digest("photo", member_id, category, index)
    w, h = _pick(_PHOTO_SIZES, d, 0)
    studio = _pick(_STUDIOS, _digest("studio", member_id), index)
    kind = _KINDS.get(category, _KINDS["sneakers"])
    # Where the product sits: centred on most first photos, often off-centre later, so that a
    # smart crop has something to find.
    placement = (
        "centre" if index == 1 and d[3] % 3 else _pick(("left", "right", "centre", "low"), d, 4)
    )
    off_centre = placement in ("left", "right")
    horizon = (0.5 if h > w else 0.56) + 0.1 * _frac(d, 1)
    light_x = {"left": 0.3, "right": 0.7}.get(placement, 0.5)
    bg = _studio((w, h), studio, horizon, light_x)
    target_w = min(w * (0.6 if off_centre else 0.74), h * 1.1)
    item = _render_item(category, _colourway(member_id, category, index), d, round(target_w))
    limit_h = h * (0.8 if kind.flat_lay else 0.62)
    scale = min(1.0, target_w / item.width, limit_h / item.height)
    if scale < 1.0:
        size = (round(item.width * scale), round(item.height * scale))
        item = item.resize(size, Image.Resampling.LANCZOS)
    margin_x = item.width / 2 + w * 0.05
    cx = {"left": w * 0.34, "right": w * 0.66}.get(placement, w * 0.5)
    cx = min(max(cx, margin_x), w - margin_x)
    if kind.flat_lay:
        floor_y = (h + item.height) / 2 + (h * 0.05 if placement == "low" else 0)
    else:
        floor_y = h * (horizon + (1 - horizon) * (0.5 if placement == "low" else 0.3))
    floor_y = min(max(floor_y, item.height + h * 0.06), h * 0.94)
    _place(bg, item, cx, floor_y, studio[1], kind.flat_lay)
    return bg


def draw_product(
    member_id: str, category: str, index: int, *, variant: PhotoVariant = "jpeg"
) -> bytes:
    """A studio product photo for ``member_id``; byte-identical for the same arguments.

    ``variant`` picks an awkward encoding on purpose (see ``ODD_PHOTOS``); the picture is the same.
    """
    img = _render_product(member_id, category, index)
    buf = io.BytesIO()
    if variant == "jpeg":
        img.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True)
    elif variant == "cmyk_jpeg":
        # CMYK JPEGs carry four full-resolution channels; a lower quality keeps them near 100 KB.
        img.convert("CMYK").save(buf, "JPEG", quality=75, optimize=True)
    elif variant == "grey_png":
        img.convert("L").save(buf, "PNG", optimize=True)
    elif variant == "palette_png":
        img.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            buf, "PNG", optimize=True
        )
    elif variant == "exif_rotated_jpeg":
        # Stored on its side with Orientation 6: a viewer must rotate 90 degrees clockwise.
        exif = Image.Exif()
        exif[0x0112] = 6
        img.transpose(Image.Transpose.ROTATE_90).save(
            buf, "JPEG", quality=JPEG_QUALITY, optimize=True, exif=exif.tobytes()
        )
    else:  # pragma: no cover - Literal keeps callers honest
        raise ValueError(f"unknown photo variant {variant!r}")
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Logos.

_LEGAL_FORMS = frozenset({"CV", "PT", "UD", "PD", "KUB", "KOPERASI", "TBK"})


def _initials(business_name: str, member_id: str) -> str:
    """Up to three initials from the words of a name, skipping legal forms like CV and PT."""
    words = [w for w in re.split(r"[\s\-/&.,]+", business_name) if w]
    letters = [
        w[0].upper()
        for w in words
        if w.upper().strip("()") not in _LEGAL_FORMS and w[0].isascii() and w[0].isalpha()
    ]
    if not letters:
        return member_id[-2:]
    return "".join(letters[:3] if len(letters) <= 3 else [letters[0], letters[1], letters[-1]])


def _emblem(
    draw: ImageDraw.ImageDraw, shape: str, box: tuple[float, float, float, float], fill: RGB
) -> None:
    """One emblem outline filled with ``fill``."""
    x0, y0, x1, y1 = box
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
    if shape == "circle":
        draw.ellipse(box, fill=fill)
    elif shape == "rounded":
        draw.rounded_rectangle(box, radius=r * 0.38, fill=fill)
    elif shape == "hexagon":
        draw.regular_polygon((cx, cy, r), 6, rotation=30, fill=fill)
    elif shape == "square":
        draw.rectangle(box, fill=fill)
    else:  # shield
        pts = _path(
            (x0, y0 + r * 0.12),
            (cx, y0 - r * 0.04),
            (x1, y0 + r * 0.12),
            ((x1, cy + r * 0.5), (cx + r * 0.5, y1 - r * 0.12), (cx, y1)),
            ((cx - r * 0.5, y1 - r * 0.12), (x0, cy + r * 0.5), (x0, y0 + r * 0.12)),
        )
        draw.polygon(pts, fill=fill)


def draw_logo(member_id: str, business_name: str, palette_seed: str) -> bytes:
    """A two-colour monogram emblem as a transparent 400x400 PNG; deterministic.

    The shape follows ``member_id`` and the colours follow ``palette_seed``, so a test can change
    one without the other.
    """
    size = 400
    ss = 4
    big = size * ss
    primary, secondary = _pick(_LOGO_PAIRS, _digest("palette", palette_seed), 0)
    d = _digest("logo", member_id)
    shape = _pick(("circle", "rounded", "hexagon", "shield", "square"), d, 0)
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    pad = big * 0.06
    _emblem(draw, shape, (pad, pad, big - pad, big - pad), primary)
    # Inner keyline in the second colour, then the primary again inside it.
    ring = big * 0.045
    _emblem(draw, shape, (pad + ring, pad + ring, big - pad - ring, big - pad - ring), secondary)
    inner = ring + big * 0.018
    _emblem(draw, shape, (pad + inner, pad + inner, big - pad - inner, big - pad - inner), primary)
    text = _initials(business_name, member_id)
    font_size = {1: 0.46, 2: 0.36, 3: 0.27}.get(len(text), 0.27) * big
    font = ImageFont.load_default(size=font_size)
    stroke = round(font_size * 0.012)
    cy = big * (0.46 if shape == "shield" else 0.5)
    draw.text(
        (big / 2, cy),
        text,
        font=font,
        fill=secondary,
        anchor="mm",
        stroke_width=stroke,
        stroke_fill=secondary,
    )
    # A small ornament: a rule with a dot either side, like a workshop stamp.
    left, right = big * 0.36, big * 0.64
    rule_y = cy + font_size * 0.55
    draw.line([(left, rule_y), (right, rule_y)], fill=secondary, width=round(big * 0.012))
    for x in (left - big * 0.04, right + big * 0.04):
        r = big * 0.012
        draw.ellipse((x - r, rule_y - r, x + r, rule_y + r), fill=secondary)
    # A box filter averages the supersampled pixels without ringing, which also keeps the PNG small.
    out = img.resize((size, size), Image.Resampling.BOX)
    # Fully transparent pixels get one colour, so the PNG compresses well.
    clean = Image.new("RGBA", out.size, (0, 0, 0, 0))
    clean.paste(out, (0, 0), out.getchannel("A").point(lambda v: 255 if v else 0))
    out = clean
    buf = io.BytesIO()
    out.save(buf, "PNG", optimize=True)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Generating the media folder.


def _wanted_files(members: list[object]) -> dict[str, Callable[[], bytes]]:
    """Every media file the registry refers to, with how to draw it.

    Only relative ``/media/ifn-NNNN-...`` URLs count: hostile or external URLs in the sample
    registry (which exist on purpose) never become file names here.
    """
    wanted: dict[str, Callable[[], bytes]] = {}
    for member in members:
        if not isinstance(member, dict):
            continue
        member_id = member.get("id")
        if not isinstance(member_id, str):
            continue
        name = member.get("business_name")
        name = name if isinstance(name, str) else ""
        categories = [c for c in member.get("categories") or [] if c in CATEGORIES] or ["sneakers"]
        logo = _match(member.get("logo_url"), member_id)
        if logo and logo["n"] == "logo":
            wanted[logo["name"]] = lambda m=member_id, b=name: draw_logo(m, b, m)
        for photo in member.get("photos") or []:
            url = photo.get("url") if isinstance(photo, dict) else None
            found = _match(url, member_id)
            if not found or found["n"] == "logo":
                continue
            n = int(found["n"])
            file_name = found["name"]
            variant = ODD_PHOTOS.get(file_name, "jpeg")
            category = categories[(n - 1) % len(categories)]
            wanted[file_name] = lambda m=member_id, c=category, i=n, v=variant: draw_product(
                m, c, i, variant=v
            )
    return wanted


def _match(url: object, member_id: str) -> dict[str, str] | None:
    """The parts of a sample media URL that belongs to ``member_id``, else None."""
    if not isinstance(url, str):
        return None
    m = _MEDIA_URL.match(url)
    if m is None or m["id"] != member_id:
        return None
    return m.groupdict()


def generate(registry_dir: Path = REGISTRY_DIR, *, check: bool = False) -> list[str]:
    """Write every referenced image into ``registry_dir/media``; return the names that changed.

    Files are rewritten only when their bytes differ, and images no member refers to are removed,
    so the folder always mirrors ``members.json``. With ``check`` nothing is written.
    """
    members = json.loads((registry_dir / "members.json").read_text(encoding="utf-8"))
    media = registry_dir / "media"
    wanted = _wanted_files(members)
    changed: list[str] = []
    if not check:
        media.mkdir(parents=True, exist_ok=True)
    for file_name, render in sorted(wanted.items()):
        target = media / file_name
        data = render()
        if target.is_file() and target.read_bytes() == data:
            continue
        changed.append(file_name)
        if not check:
            target.write_bytes(data)
    if media.is_dir():
        for stale in sorted(media.iterdir()):
            if stale.suffix in (".png", ".jpg") and stale.name not in wanted:
                changed.append(stale.name)
                if not check:
                    stale.unlink()
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: regenerate the sample media, or with --check report whether it is stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--registry-dir", type=Path, default=REGISTRY_DIR)
    parser.add_argument("--check", action="store_true", help="exit 1 if any file would change")
    args = parser.parse_args(argv)
    changed = generate(args.registry_dir, check=args.check)
    for name in changed:
        print(("stale: " if args.check else "wrote: ") + name)
    print(f"{len(changed)} file(s) {'out of date' if args.check else 'changed'}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
