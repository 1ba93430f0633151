"""Text shaped by HarfBuzz and drawn from FreeType glyph bitmaps cached per size.

Pillow rasterises every glyph of every line it draws, and a variable font's glyph (outline
deltas, then hinting) costs about 8 us: 0.4 to 1 ms a line, most of a card's text time. A card
set repeats the same glyphs at the same sizes (fits land on whole pixel sizes), so each glyph is
rendered once per size and a line is assembled from the cached bitmaps: a quarter of the time.
Shaping is HarfBuzz's, as in Pillow's raqm layout (same advances, ligatures, kerning, marks and
Arabic joining), so layout and drawing use one engine: a run's ink box holds every pixel drawn
for it (the glyph bitmaps' boxes, which may have blank edges).

Synthetic weight: a static fallback face lighter than the text around it (the CJK face next to
extra-bold Latin) is drawn `embolden` ems bolder: FreeType thickens each outline
(FT_Outline_EmboldenXY) and HarfBuzz widens the advances by the same amount (its synthetic bold),
so measuring and drawing still agree.

Thread-safe: a lock per face guards its FreeType size and its caches, and faces are made under
a module lock (FreeType's library must not open two faces at once).
"""

from __future__ import annotations

import ctypes
import functools
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import freetype
import numpy as np
import uharfbuzz as hb
from numpy.typing import NDArray

from ifn_campaign.errors import FontError

# Outlines only: an embedded bitmap strike would draw some sizes differently from the rest.
_LOAD_FLAGS = freetype.FT_LOAD_DEFAULT | freetype.FT_LOAD_NO_BITMAP
# glyph bitmaps kept in this process (all faces) before every face's cache starts over; each
# entry also costs about _ENTRY bytes of Python objects besides its pixels
_CACHE_BYTES = 48 * 1024 * 1024
_ENTRY = 400
# Shaping language, fixed: HarfBuzz would take it from the process locale, and a language's own
# glyph forms (OpenType `locl`) would then change the pixels with the machine's settings.
_LANGUAGE = "id"
_FACES_LOCK = threading.Lock()
MAX_EMBOLDEN = 0.08  # em: past this, synthetic bold closes the counters of dense ideographs
_CACHED: list[Face] = []  # faces holding glyphs, for the process-wide budget
_cached_bytes = 0

VERSIONS = (
    "freetype " + ".".join(map(str, freetype.version())),
    "uharfbuzz " + hb.__version__,
)


@dataclass(frozen=True)
class Glyph:
    """A glyph's coverage bitmap ("L" values) and where it sits: `left` from the pen, `top`
    rows above the baseline (FreeType's bitmap_left and bitmap_top). Empty glyphs (space)
    have no bitmap."""

    bitmap: NDArray[np.uint8] | None
    left: int
    top: int


@dataclass(frozen=True)
class Run:
    """A shaped run at one size, in visual order: glyph ids with their whole-pixel offsets
    from the run's pen origin and baseline (x right, y up), and the advance in pixels."""

    glyphs: tuple[tuple[int, int, int], ...]
    advance: float


class Face:
    """One font file at one set of variation axis values, at any pixel size, `embolden` ems
    bolder than drawn (0: as designed)."""

    def __init__(
        self, path: Path, axes: Sequence[tuple[str, float]], embolden: float = 0.0
    ) -> None:
        if not (math.isfinite(embolden) and 0.0 <= embolden <= MAX_EMBOLDEN):
            raise ValueError(f"embolden must be 0..{MAX_EMBOLDEN} em, not {embolden!r}")
        self.path = path
        self.embolden = embolden
        self._lock = threading.Lock()
        self._axes = dict(axes)
        try:
            with _FACES_LOCK:
                self._ft = freetype.Face(str(path))
                if axes:
                    self._ft.set_var_design_coords([value for _, value in axes])
            blob = hb.Blob.from_file_path(str(path))
        except (freetype.FT_Exception, OSError) as exc:
            raise FontError(f"cannot load font {path}: {exc}") from exc
        self._hb_face = hb.Face(blob)
        self._size = 0
        self._fonts: dict[int, hb.Font] = {}
        self._glyphs: dict[tuple[int, int], Glyph] = {}

    def _hb_font(self, size: int) -> hb.Font:
        font = self._fonts.get(size)
        if font is None:
            font = hb.Font(self._hb_face)
            if self._axes:
                font.set_variations(self._axes)
            font.scale = (size * 64, size * 64)
            if self.embolden:
                # advances widen by what the outlines gain (not in place), as FreeType draws
                font.synthetic_bold = (self.embolden, self.embolden, False)
            self._fonts[size] = font
        return font

    def shape(self, text: str, size: int, rtl: bool) -> Run:
        """`text` shaped at `size` px in one direction (cached per face)."""
        return _shape(self, text, size, rtl)

    def _shape(self, text: str, size: int, rtl: bool) -> Run:
        buf = hb.Buffer()
        buf.add_str(text)
        buf.direction = "rtl" if rtl else "ltr"
        buf.language = _LANGUAGE
        buf.guess_segment_properties()
        with self._lock:
            font = self._hb_font(size)
            hb.shape(font, buf, {})
        placed = []
        pen = 0
        for info, pos in zip(buf.glyph_infos, buf.glyph_positions, strict=True):
            x = (pen + pos.x_offset + 32) >> 6
            y = (pos.y_offset + 32) >> 6
            placed.append((info.codepoint, x, y))
            pen += pos.x_advance
        return Run(tuple(placed), pen / 64)

    def glyph(self, gid: int, size: int) -> Glyph:
        """Glyph `gid` rendered at `size` px (hinted, antialiased), cached."""
        key = (size, gid)
        found = self._glyphs.get(key)
        if found is not None:
            return found
        with self._lock:
            if self._size != size:
                self._ft.set_pixel_sizes(0, size)
                self._size = size
            try:
                self._ft.load_glyph(gid, _LOAD_FLAGS)
                slot = self._ft.glyph
                if self.embolden:
                    full = round(self.embolden * size * 64)
                    # a dense glyph (鷹, 鑫) gains no more than its narrow counters can take
                    slot.render(freetype.FT_RENDER_MODE_NORMAL)
                    gap = _narrow_gap(_pixels(slot.bitmap))
                    room = full if math.isinf(gap) else round(_GAP_SHARE * gap * 64)
                    self._ft.load_glyph(gid, _LOAD_FLAGS)
                    slot = self._ft.glyph
                    _thicken(slot, min(full, room), full // 2)
                slot.render(freetype.FT_RENDER_MODE_NORMAL)
            except freetype.FT_Exception as exc:
                raise FontError(f"font {self.path.name}: glyph {gid} at {size} px: {exc}") from exc
            pixels = _pixels(slot.bitmap)
            rows, width = (0, 0) if pixels is None else pixels.shape
            found = Glyph(pixels, slot.bitmap_left, slot.bitmap_top)
            self._glyphs[key] = found
        _count(self, rows * width + _ENTRY)
        return found

    def metrics(self, size: int) -> tuple[int, int]:
        """(ascent, descent) in whole pixels at `size`, both positive, rounded up (as Pillow's
        getmetrics)."""
        with self._lock:
            if self._size != size:
                self._ft.set_pixel_sizes(0, size)
                self._size = size
            m = self._ft.size
            return (m.ascender + 63) >> 6, (-m.descender + 63) >> 6

    def ink(self, text: str, size: int, rtl: bool) -> tuple[int, int, int, int] | None:
        """A box holding every pixel `draw` sets for the run at pen (0, baseline 0): (left, top,
        right, bottom), y down (the union of its glyph bitmaps); None when no glyph has one."""
        return _ink(self, text, size, rtl)

    def draw(
        self, into: NDArray[np.uint8], x: int, baseline: int, text: str, size: int, rtl: bool
    ) -> None:
        """Draw the run into an "L" array with its pen at (x, baseline). Overlapping glyphs
        keep the stronger coverage (as Pillow's FreeType renderer does); whatever falls outside
        the array is clipped."""
        rows, cols = into.shape
        for gid, gx, gy in self.shape(text, size, rtl).glyphs:
            glyph = self.glyph(gid, size)
            if glyph.bitmap is None:
                continue
            left = x + gx + glyph.left
            top = baseline - gy - glyph.top
            h, w = glyph.bitmap.shape
            if left >= 0 and top >= 0 and left + w <= cols and top + h <= rows:
                view = into[top : top + h, left : left + w]
                np.maximum(view, glyph.bitmap, out=view)
                continue
            x0, y0 = max(left, 0), max(top, 0)
            x1, y1 = min(left + w, cols), min(top + h, rows)
            if x1 > x0 and y1 > y0:
                view = into[y0:y1, x0:x1]
                np.maximum(view, glyph.bitmap[y0 - top : y1 - top, x0 - left : x1 - left], out=view)


def _pixels(bitmap: freetype.Bitmap) -> NDArray[np.uint8] | None:
    """A rendered glyph slot's bitmap as a rows x width array (None when empty)."""
    rows, width, pitch = bitmap.rows, bitmap.width, bitmap.pitch
    if not (rows and width):
        return None
    raw = ctypes.string_at(bitmap._FT_Bitmap.buffer, rows * abs(pitch))
    pixels = np.frombuffer(raw, np.uint8).reshape(rows, abs(pitch))[:, :width]
    if pitch < 0:  # rows stored bottom-up
        pixels = pixels[::-1]
    return np.ascontiguousarray(pixels)


_GAP_SHARE = 0.6  # synthetic bold may take this share of a glyph's narrow counters


def _narrow_gap(pixels: NDArray[np.uint8] | None) -> float:
    """The width of a glyph's narrow counters, in pixels: the lower quartile of the white runs
    between two pieces of ink, along rows and columns (inf when there are none)."""
    if pixels is None:
        return math.inf
    ink = pixels >= 128
    runs = []
    for lines in (ink, ink.T):
        for line in lines:
            where = np.flatnonzero(line)
            if where.size > 1:
                gaps = np.diff(where) - 1
                runs.append(gaps[gaps > 0])
    found = np.concatenate(runs) if runs else np.zeros(0)
    return float(np.percentile(found, 25)) if found.size else math.inf


def _thicken(slot: freetype.GlyphSlot, strength: int, shift: int) -> None:
    """Make a loaded outline `strength` (26.6 pixels) wider and taller and move it `shift`
    right: HarfBuzz's synthetic bold widens the advance by the face's full strength, and half of
    that keeps the ink centred in it."""
    if slot.format != freetype.FT_GLYPH_FORMAT_OUTLINE:
        return
    outline = ctypes.byref(slot.outline._FT_Outline)
    if strength > 0:
        error = freetype.raw.FT_Outline_EmboldenXY(outline, strength, strength)
        if error:
            raise freetype.FT_Exception(error)
    freetype.raw.FT_Outline_Translate(outline, shift, 0)


@functools.cache
def stem_width(path: Path, axes: tuple[tuple[str, float], ...], char: str) -> float | None:
    """How wide `char` is drawn, in ems (unhinted): for a glyph that is a single vertical stroke
    ("l" in a sans, the ideograph "丨") this is the font's stem at these axis values. None when
    the font has no such glyph. Cached per font, axes and character."""
    with _FACES_LOCK:
        try:
            ft = freetype.Face(str(path))
            if axes:
                ft.set_var_design_coords([value for _, value in axes])
            if not ft.get_char_index(char):
                return None
            ft.set_char_size(1000 * 64)
            ft.load_char(char, freetype.FT_LOAD_NO_HINTING | freetype.FT_LOAD_NO_BITMAP)
            box = ft.glyph.outline.get_bbox()
        except (freetype.FT_Exception, OSError) as exc:
            raise FontError(f"cannot load font {path}: {exc}") from exc
    return (box.xMax - box.xMin) / 64 / 1000


@functools.lru_cache(maxsize=8192)
def _shape(face: Face, text: str, size: int, rtl: bool) -> Run:
    return face._shape(text, size, rtl)


@functools.lru_cache(maxsize=8192)
def _ink(face: Face, text: str, size: int, rtl: bool) -> tuple[int, int, int, int] | None:
    box: tuple[int, int, int, int] | None = None
    for gid, gx, gy in face.shape(text, size, rtl).glyphs:
        glyph = face.glyph(gid, size)
        if glyph.bitmap is None:
            continue
        h, w = glyph.bitmap.shape
        x0, y0 = gx + glyph.left, -gy - glyph.top
        if box is None:
            box = (x0, y0, x0 + w, y0 + h)
        else:
            box = (min(box[0], x0), min(box[1], y0), max(box[2], x0 + w), max(box[3], y0 + h))
    return box


def _count(face: Face, size: int) -> None:
    """Add a cached glyph to the process-wide budget; over it, every face starts over (the glyphs
    in use come back at once, and a card set needs only a few thousand)."""
    global _cached_bytes
    with _FACES_LOCK:
        if face not in _CACHED:
            _CACHED.append(face)
        _cached_bytes += size
        if _cached_bytes <= _CACHE_BYTES:
            return
        faces, _CACHED[:] = list(_CACHED), []
        _cached_bytes = 0
    for each in faces:
        with each._lock:
            each._glyphs.clear()


_FACES: dict[tuple[Path, tuple[tuple[str, float], ...], float], Face] = {}
_MAKE_LOCK = threading.Lock()


def face(path: Path, axes: tuple[tuple[str, float], ...], embolden: float = 0.0) -> Face:
    """The one Face per font file, axis values and emboldening in this process (made once, even
    when two threads ask at the same time)."""
    key = (path, axes, embolden)
    found = _FACES.get(key)
    if found is None:
        with _MAKE_LOCK:
            found = _FACES.get(key)
            if found is None:
                found = _FACES[key] = Face(path, axes, embolden)
    return found
