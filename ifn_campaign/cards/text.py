"""Text that always fits its box: clean-up, wrapping, auto-fit by binary search, ellipsis, drawing.

`fit_text` finds the largest font size in [min_size, max_size] at which the text, wrapped at word
boundaries, fits the box in at most `max_lines` lines; only when even `min_size` does not fit does
it cut the text and end it with an ellipsis. `draw_text` draws the result. Both use the same
line geometry, built from the very bitmap box FreeType rasterises each run into (not from nominal
font metrics), and drawing is clipped to the box, so the ink of a fitted block is inside its box
to the pixel, with no antialiasing tolerance.

Lines may mix fonts (brand font, script and emoji fallbacks): each line is split into runs of one
font and one direction, measured and drawn run by run. Right-to-left text (Arabic, Hebrew) is
ordered with the Unicode bidirectional algorithm (`cards.bidi`) and each run is shaped
by HarfBuzz and drawn from cached FreeType glyphs (`glyphs`), so Arabic letters join and read from
right to left.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from ifn_campaign.cards import bidi
from ifn_campaign.cards.fonts import FontChain, grapheme_clusters, is_ignorable
from ifn_campaign.errors import TextLayoutError

ELLIPSIS = "…"
_NBSP = "\u00a0"
_NO_BREAK_SPACES = frozenset("\u00a0\u2007\u202f")
_CACHE = 1 << 15

# Force breaks inside an over-long word prefer to fall right after one of these.
_HYPHENS = frozenset("-/\u2010\u2011\u2012\u2013\u2014\\_")
# CJK: a line may break between ideographs or kana (no spaces there), but not before closing
# punctuation or small kana, nor after opening punctuation (basic kinsoku shori).
_NO_BREAK_BEFORE = frozenset(
    "、。，．・：；？！ー）」』】〕〉》〙〗｝］｠’”,.!?:;)]}%…‥々〻ゝゞヽヾぁぃぅぇぉっゃゅょゎゕゖ"
    "ァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ"
)
# Punctuation an ellipsis replaces at the end of a cut line.
_TRAILING = " ,;:.-\u2013\u2014\u3001\u3002\uff0c\u060c"
_NO_BREAK_AFTER = frozenset("（「『【〔〈《〘〖｛［｟‘“([{")


@dataclass(frozen=True)
class TextBlock:
    """Text fitted to a box: the chosen size and the lines to draw.

    `width` and `height` are the extent of the lines' ink as `draw_text` places them;
    `dropped` holds characters no font of the chain can draw (left out, never drawn as boxes).
    `rtl` is the paragraph direction (from the first strong character) and `line_spacing` the
    spacing the block was fitted with: `draw_text` needs both to place lines as measured.
    """

    size: int
    lines: tuple[str, ...]
    truncated: bool
    width: int
    height: int
    line_height: int
    dropped: frozenset[str]
    rtl: bool = False
    line_spacing: float = 1.15


def normalize_text(text: str, *, uppercase: bool = False) -> str:
    """One clean paragraph: NFC, control and invisible format characters removed, spaces collapsed.

    Every kind of whitespace and line break becomes one space (cards hold one paragraph); no-break
    spaces stay (they join words) and become plain no-break spaces; ZWJ/ZWNJ and emoji tags stay
    because shaping and emoji sequences need them.
    """
    if uppercase:
        text = text.upper()
    text = unicodedata.normalize("NFC", text)
    out: list[str] = []
    for ch in text:
        if ch in _NO_BREAK_SPACES:
            out.append(_NBSP)
        elif ch.isspace():
            out.append(" ")
        else:
            cat = unicodedata.category(ch)
            if cat == "Cc" or (cat == "Cf" and not is_ignorable(ch)):
                continue  # private-use and unassigned characters stay: reported as dropped
            out.append(ch)
    return re.sub(" {2,}", " ", "".join(out)).strip(" ")


def _strip_dropped(text: str, dropped: set[str]) -> str:
    """`text` without the characters no font draws, spaces collapsed again."""
    if not dropped:
        return text
    kept = "".join(ch for ch in text if ch not in dropped)
    return re.sub(" {2,}", " ", kept).strip(" ")


# --- measuring one line ------------------------------------------------------------------------
#
# Small text is laid out and rasterised at `_scale(size)` times its size, then box-filtered down:
# FreeType hints glyphs and rounds every advance to a whole pixel, which at body sizes leaves
# visibly uneven letter spacing ("eiusm od"); at 2-3x the rounding error is a third of a pixel
# or less. Pen positions and ink boxes below are in these "big" pixels unless said otherwise.

_SUPERSAMPLE_TARGET = 64  # px: sizes below this are laid out and drawn at 2-3x, then reduced


def _scale(size: int) -> int:
    """Supersampling factor for text set at `size` px."""
    return max(1, min(3, -(-_SUPERSAMPLE_TARGET // size)))


@dataclass(frozen=True)
class _Segment:
    """A piece of a line drawn in one call: one font, one direction, at big-pixel pen offset `x`."""

    font: int
    text: str
    rtl: bool
    x: int


@dataclass(frozen=True)
class _Line:
    """A shaped line: segments in visual order, advance and ink box in big pixels (ink is None for
    a blank line), relative to the pen origin (left end of the line) and the baseline."""

    segments: tuple[_Segment, ...]
    scale: int
    advance: int
    ink: tuple[int, int, int, int] | None

    @property
    def left(self) -> int:
        """Leftmost output pixel column the line uses (the advance box starts at 0)."""
        return min(0, self.ink[0] // self.scale) if self.ink else 0

    @property
    def right(self) -> int:
        """End of the advance box or of the ink, whichever is further right, in output pixels."""
        end = self.advance if not self.ink else max(self.advance, self.ink[2])
        return -(-end // self.scale)

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def top(self) -> int:
        """First output row with ink, relative to the baseline (negative: above it)."""
        return self.ink[1] // self.scale if self.ink else 0

    @property
    def bottom(self) -> int:
        """Row after the last one with ink, relative to the baseline."""
        return -(-self.ink[3] // self.scale) if self.ink else 0


@functools.lru_cache(maxsize=_CACHE)
def _run_length(chain: FontChain, index: int, size: int, text: str, rtl: bool) -> float:
    """Advance of one run (cached: templates measure the same strings in many formats)."""
    return chain.face(index).shape(text, size, rtl).advance


@functools.lru_cache(maxsize=_CACHE)
def _run_ink(
    chain: FontChain, index: int, size: int, text: str, rtl: bool
) -> tuple[int, int, int, int] | None:
    """Ink box of one run at (0, baseline 0): the very pixels `_draw_line` draws for it, widened
    to span the advance box and the baseline (so a line's box always holds its pen travel)."""
    if not text.strip(" "):
        return None
    advance = math.ceil(_run_length(chain, index, size, text, rtl))
    ink = chain.face(index).ink(text, size, rtl)
    if ink is None:
        return (0, 0, advance, 0)
    return (min(ink[0], 0), min(ink[1], 0), max(ink[2], advance), max(ink[3], 0))


_REFERENCE = 1000  # px: the size estimates are shaped at, then scaled


@functools.lru_cache(maxsize=_CACHE)
def _em_advance(chain: FontChain, text: str, rtl: bool) -> float:
    """Advance of a line in ems (per px of size), from one shaping at a reference size.

    HarfBuzz advances are the font's own, unhinted, so they scale linearly with the size (to
    1/64 px a glyph): shaped once here, a word's width serves every size a fit tries, in every
    format, where shaping it at each size cost most of the fit. Estimates only: whether a line
    fits is always decided by shaping it at its size.
    """
    return (
        sum(
            _run_length(chain, font, _REFERENCE, part, seg_rtl)
            for font, part, seg_rtl in _segments(chain, text, rtl)
        )
        / _REFERENCE
    )


def _segments(chain: FontChain, text: str, rtl: bool) -> list[tuple[int, str, bool]]:
    """(font, substring, rtl) runs of a line in visual order."""
    runs = chain.runs(text.replace(_NBSP, " "))
    if not bidi.needs_reordering(text, rtl):
        return [(font, part, False) for font, part in runs]
    joined = "".join(part for _, part in runs)
    levels = bidi.levels(joined, rtl)
    logical: list[tuple[int, str, int]] = []
    pos = 0
    for font, part in runs:
        start = 0
        for k in range(1, len(part) + 1):
            if k == len(part) or levels[pos + k] != levels[pos + start]:
                logical.append((font, part[start:k], levels[pos + start]))
                start = k
        pos += len(part)
    order = bidi.visual_order([lv for _, _, lv in logical])
    return [(logical[i][0], logical[i][1], logical[i][2] % 2 == 1) for i in order]


@functools.lru_cache(maxsize=_CACHE)
def _shape(chain: FontChain, size: int, text: str, rtl: bool) -> _Line:
    """Place a line's segments at whole big-pixel pen positions, exactly as they will be drawn."""
    scale = _scale(size)
    big = size * scale
    segments = []
    pen = 0.0
    for font, part, seg_rtl in _segments(chain, text, rtl):
        segments.append(_Segment(font, part, seg_rtl, round(pen)))
        pen += _run_length(chain, font, big, part, seg_rtl)
    return _Line(tuple(segments), scale, round(pen), None)


@functools.lru_cache(maxsize=_CACHE)
def _measure(chain: FontChain, size: int, text: str, rtl: bool) -> _Line:
    """A shaped line with its ink box (the union of its runs' raster boxes)."""
    line = _shape(chain, size, text, rtl)
    big = size * line.scale
    ink: tuple[int, int, int, int] | None = None
    for seg in line.segments:
        box = _run_ink(chain, seg.font, big, seg.text, seg.rtl)
        if box is None:
            continue
        x0, y0, x1, y1 = box[0] + seg.x, box[1], box[2] + seg.x, box[3]
        ink = (
            (x0, y0, x1, y1)
            if ink is None
            else (min(ink[0], x0), min(ink[1], y0), max(ink[2], x1), max(ink[3], y1))
        )
    return _Line(line.segments, line.scale, line.advance, ink)


def _advance_fits(chain: FontChain, size: int, text: str, rtl: bool, width: int) -> bool:
    """Cheap test, no rasterising: does the advance alone fit?"""
    line = _shape(chain, size, text, rtl)
    return -(-line.advance // line.scale) <= width


def _fits_width(chain: FontChain, size: int, text: str, rtl: bool, width: int) -> bool:
    """Full test: advance and ink both within `width` output pixels."""
    return _advance_fits(chain, size, text, rtl, width) and (
        _measure(chain, size, text, rtl).width <= width
    )


# --- block geometry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Geometry:
    """Where the lines of a block go, in output pixels: the baseline of line i is at
    top + ascent + i * line_height from the top of the block."""

    line_height: int
    ascent: int
    top: int
    width: int
    height: int


@functools.lru_cache(maxsize=_CACHE)
def _line_box(
    chain: FontChain, size: int, fonts: frozenset[int], spacing: float
) -> tuple[int, int]:
    """(ascent, line height) of a line box, CSS style: each font used gets `spacing` x size,
    split around its own ascent and descent (half-leading), and the line box holds them all.
    So a line with an Arabic or emoji run is as tall as its tallest font needs, consistently."""
    scale = _scale(size)
    leading = spacing * size * scale
    above = below = -math.inf
    for index in sorted(fonts) or [0]:
        ascent, descent = chain.face(index).metrics(size * scale)
        above = max(above, (ascent - descent + leading) / 2)
        below = max(below, (descent - ascent + leading) / 2)
    up = math.ceil(above / scale)
    return up, max(1, up + math.ceil(below / scale))


@functools.lru_cache(maxsize=_CACHE)
def _geometry(
    chain: FontChain, size: int, lines: tuple[str, ...], rtl: bool, spacing: float
) -> _Geometry:
    """The block's exact extent: line boxes plus any ink overhanging the first or last line."""
    fonts = frozenset(f for line in lines for f, _ in chain.runs(line.replace(_NBSP, " ")))
    ascent, line_height = _line_box(chain, size, fonts, spacing)
    if not lines:
        return _Geometry(line_height, ascent, 0, 0, 0)
    measured = [_measure(chain, size, line, rtl) for line in lines]
    top = 0
    for i, m in enumerate(measured):
        if m.ink:
            top = max(top, -(ascent + i * line_height + m.top))
    height = top + len(lines) * line_height
    for i, m in enumerate(measured):
        if m.ink:
            height = max(height, top + ascent + i * line_height + m.bottom)
    width = max(m.width for m in measured)
    return _Geometry(line_height, ascent, top, width, height)


# --- wrapping ---------------------------------------------------------------------------------


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x2E80 <= cp <= 0x2FDF  # radicals
        or 0x3000 <= cp <= 0x30FF  # CJK punctuation, hiragana, katakana
        or 0x31F0 <= cp <= 0x31FF
        or 0x3400 <= cp <= 0x4DBF
        or 0x4E00 <= cp <= 0x9FFF
        or 0xF900 <= cp <= 0xFAFF
        or 0xFF00 <= cp <= 0xFFEF
        or 0x20000 <= cp <= 0x3FFFF
    )


@functools.lru_cache(maxsize=_CACHE)
def _break_points(text: str) -> tuple[int, ...]:
    """Positions where a line may end: after a space, and between CJK characters (but never
    before the last character of a CJK run, which would stand alone on its line: "Sepatu Hoki
    鞋" over "行"); plus the end."""
    boundaries = {start for start, _ in grapheme_clusters(text)}
    points = []
    for p in range(1, len(text)):
        a, b = text[p - 1], text[p]
        after_space = a == " " and b != " "
        last = p + 1 == len(text) or text[p + 1] in (" ", _NBSP) or not _is_cjk(text[p + 1])
        cjk = (
            p in boundaries
            and (_is_cjk(a) or _is_cjk(b))
            and a not in (" ", _NBSP)
            and b not in (" ", _NBSP)
            and b not in _NO_BREAK_BEFORE
            and a not in _NO_BREAK_AFTER
            and not (_is_cjk(a) and _is_cjk(b) and last)
        )
        if after_space or cjk:
            points.append(p)
    points.append(len(text))
    return tuple(points)


def _force_break(chain: FontChain, size: int, word: str, rtl: bool, width: int) -> int:
    """Where to cut a word too long for a whole line: after the last hyphen or slash that fits,
    else after the last character (grapheme) that fits; always at least one grapheme."""
    ends = [end for _, end in grapheme_clusters(word)]
    lo, hi = 0, len(ends)  # ends[:lo] fit; binary search for the longest fitting prefix
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _fits_width(chain, size, word[: ends[mid - 1]], rtl, width):
            lo = mid
        else:
            hi = mid - 1
    if lo == 0:
        return ends[0]
    best = ends[lo - 1]
    hyphen = max((e for e in ends[:lo] if word[e - 1] in _HYPHENS and e < len(word)), default=0)
    return hyphen or best


def _wrap(
    chain: FontChain,
    size: int,
    text: str,
    rtl: bool,
    width: int,
    limit: int | None,
    *,
    keep: bool = False,
) -> list[str] | None:
    """Greedy word wrap; None as soon as more than `limit` lines would be needed (or, with
    `keep`, the first `limit` lines).

    Each line is first estimated from the summed advances of its words (cached per word in
    ems, so shared by every size, line and layout), then checked exactly and corrected a word
    at a time (kerning across a space or an overhanging glyph can move the edge by a pixel or
    two).
    """
    points = _break_points(text)
    budget = width * _scale(size)
    big = size * _scale(size)
    lines: list[str] = []
    n = len(text)
    start = 0
    k = 0  # index of the first break point after `start`

    def fits(j: int) -> bool:  # do the pieces up to break point j-1 fit on the line?
        return _fits_width(chain, size, text[start : points[j - 1]].rstrip(" "), rtl, width)

    while start < n:
        if limit is not None and len(lines) >= limit:
            return lines if keep else None
        while k < len(points) and points[k] <= start:
            k += 1
        j, total, prev = k, 0.0, start
        while j < len(points):
            piece = text[prev : points[j]]
            if total + _em_advance(chain, piece.rstrip(" "), rtl) * big > budget:
                break
            total += _em_advance(chain, piece, rtl) * big
            prev = points[j]
            j += 1
        if j > k and fits(j):
            # one more word: shaped only if the estimate leaves it a chance (a quarter em more
            # than any kerning across a space); else the line would not be longer anyway
            while j < len(points):
                more = total + _em_advance(chain, text[prev : points[j]].rstrip(" "), rtl) * big
                if more > budget + big / 4 or not fits(j + 1):
                    break
                total += _em_advance(chain, text[prev : points[j]], rtl) * big
                prev = points[j]
                j += 1
        else:
            while j > k and not fits(j):
                j -= 1
        if j > k:
            end = points[j - 1]
        else:  # the next word alone is wider than the box: break inside it
            word = text[start : points[k]].rstrip(" ")
            end = start + _force_break(chain, size, word, rtl, width)
        lines.append(text[start:end].strip(" "))
        start = end
        while start < n and text[start] == " ":
            start += 1
    return lines


# --- fitting ----------------------------------------------------------------------------------


def _ellipsize(chain: FontChain, size: int, line: str, rtl: bool, width: int) -> str | None:
    """`line` cut so that it ends with an ellipsis and fits: drop whole words first."""
    candidates = [line]
    points = [p for p in _break_points(line)[:-1] if p > 0]
    candidates += [line[:p].rstrip(" ") for p in reversed(points)]
    first_word = line[: points[0]].rstrip(" ") if points else line
    ends = [end for _, end in grapheme_clusters(first_word)][:-1]
    candidates += [first_word[:e] for e in reversed(ends)]
    candidates.append("")
    for cand in candidates:
        text = (cand.rstrip(_TRAILING) or cand.rstrip(" ")) + ELLIPSIS  # "kulit…", not "kulit,…"
        if _fits_width(chain, size, text, rtl, width):
            return text
    return None


def _truncate(
    chain: FontChain, size: int, text: str, rtl: bool, width: int, allowed: int
) -> tuple[tuple[str, ...], bool]:
    """At most `allowed` lines of `text`, the last one ending in an ellipsis if text was cut."""
    every = _wrap(chain, size, text, rtl, width, allowed + 1, keep=True) or []
    kept: list[str] = []
    for line in every:
        if len(kept) == allowed or not _fits_width(chain, size, line, rtl, width):
            break
        kept.append(line)
    if len(kept) == len(every):
        return tuple(kept), False
    if len(kept) == allowed:
        last = kept.pop()
    elif kept:
        last = kept.pop()  # the next line cannot be drawn at all: end on the previous one
    else:
        last = every[0]
    ended = _ellipsize(chain, size, last, rtl, width)
    if ended is not None:
        kept.append(ended)
    return tuple(kept), True


def _estimate(
    chain: FontChain,
    text: str,
    rtl: bool,
    width: int,
    height: int,
    min_size: int,
    max_size: int,
    max_lines: int,
    spacing: float,
) -> int:
    """A first guess at the largest size that fits, from the text's length on one line and the
    line height at max_size, both scaled linearly; only used to start the search near the end."""
    length = _em_advance(chain, text, rtl)  # per px of size
    longest = max(_em_advance(chain, word, rtl) for word in text.split(" ") if word)
    fonts = frozenset(f for f, _ in chain.runs(text.replace(_NBSP, " ")))
    line = _line_box(chain, max_size, fonts, spacing)[1] / max_size
    best = 0.0
    for n in range(1, max_lines + 1):
        best = max(best, min(0.95 * n * width / max(length, 1e-9), height / (n * line)))
    best = min(best, width / max(longest, 1e-9))
    return max(min_size, min(max_size, int(best)))


def _fit(
    text: str,
    chain: FontChain,
    width: int,
    height: int,
    min_size: int,
    max_size: int,
    max_lines: int,
    spacing: float,
    rtl: bool,
) -> tuple[int, tuple[str, ...], bool]:
    """(size, lines, truncated): binary search for the largest size that fits."""

    def layout(size: int) -> tuple[str, ...] | None:
        lines = _wrap(chain, size, text, rtl, width, max_lines)
        if lines is None:
            return None
        geo = _geometry(chain, size, tuple(lines), rtl, spacing)
        return tuple(lines) if geo.width <= width and geo.height <= height else None

    # Bracket the answer around an estimate (galloping outwards from it), then bisect: the same
    # result as bisecting [min_size, max_size] (largest size that fits, size + 1 does not) in
    # about half the layouts, since the estimate is usually within a few px.
    guess = _estimate(chain, text, rtl, width, height, min_size, max_size, max_lines, spacing)
    lo: int | None = None
    lo_lines: tuple[str, ...] | None = None
    hi: int | None = None
    probe = layout(guess)
    if probe is not None:
        lo, lo_lines = guess, probe
        step = 1
        while lo < max_size:
            cand = min(max_size, lo + step)
            found = layout(cand)
            if found is None:
                hi = cand
                break
            lo, lo_lines = cand, found
            step *= 2
        if hi is None:
            return lo, lo_lines, False
    else:
        hi = guess
        step = 1
        while hi > min_size:
            cand = max(min_size, hi - step)
            found = layout(cand)
            if found is not None:
                lo, lo_lines = cand, found
                break
            hi = cand
            step *= 2
    if lo is not None and lo_lines is not None:
        while hi - lo > 1:  # invariant: lo fits, hi does not
            mid = (lo + hi) // 2
            found = layout(mid)
            if found is not None:
                lo, lo_lines = mid, found
            else:
                hi = mid
        return lo, lo_lines, False
    for allowed in range(max_lines, 0, -1):
        lines, cut = _truncate(chain, min_size, text, rtl, width, allowed)
        geo = _geometry(chain, min_size, lines, rtl, spacing)
        if geo.width <= width and geo.height <= height:
            return min_size, lines, cut
    return min_size, (), True


@functools.lru_cache(maxsize=4096)
def _fit_cached(
    text: str,
    chain: FontChain,
    width: int,
    height: int,
    min_size: int,
    max_size: int,
    max_lines: int,
    spacing: float,
    uppercase: bool,
) -> TextBlock:
    clean = normalize_text(text, uppercase=uppercase)
    dropped = chain.uncovered(clean)
    clean = _strip_dropped(clean, dropped)
    rtl = bidi.paragraph_rtl(clean)
    if not clean:
        size, lines, cut = max_size, (), False
    elif width <= 0 or height <= 0:
        size, lines, cut = min_size, (), True
    else:
        size, lines, cut = _fit(
            clean, chain, width, height, min_size, max_size, max_lines, spacing, rtl
        )
    geo = _geometry(chain, size, lines, rtl, spacing)
    return TextBlock(
        size=size,
        lines=lines,
        truncated=cut,
        width=geo.width,
        height=geo.height,
        line_height=geo.line_height,
        dropped=frozenset(dropped),
        rtl=rtl,
        line_spacing=spacing,
    )


def fit_text(
    text: str,
    chain: FontChain,
    width: int,
    height: int,
    *,
    min_size: int,
    max_size: int,
    max_lines: int,
    line_spacing: float = 1.15,
    uppercase: bool = False,
) -> TextBlock:
    """Fit `text` into a width x height box: the largest size in [min_size, max_size] at which it
    wraps into at most `max_lines` lines that fit, found by binary search.

    If even `min_size` does not fit, the text is set at `min_size` and cut after the lines that fit,
    with an ellipsis after the last whole word that fits (`truncated=True`); a box too small for
    even one line gives no lines. Words are only broken when one alone is wider than the box.
    Never raises for any text; the sizes and the line count are checked (ValueError).
    """
    if not 1 <= min_size <= max_size:
        raise ValueError(f"need 1 <= min_size <= max_size, got {min_size} and {max_size}")
    if max_lines < 1:
        raise ValueError(f"max_lines must be at least 1, got {max_lines}")
    if not line_spacing > 0:
        raise ValueError(f"line_spacing must be positive, got {line_spacing}")
    return _fit_cached(
        text, chain, width, height, min_size, max_size, max_lines, float(line_spacing), uppercase
    )


# --- drawing ----------------------------------------------------------------------------------


def _resolve_align(align: str, valign: str, rtl: bool) -> str:
    if align == "start":
        align = "right" if rtl else "left"
    elif align == "end":
        align = "left" if rtl else "right"
    if align not in ("left", "center", "right"):
        raise TextLayoutError(
            f"unknown text align {align!r}: use left, center, right, start or end"
        )
    if valign not in ("top", "middle", "bottom"):
        raise TextLayoutError(f"unknown text valign {valign!r}: use top, middle or bottom")
    return align


@functools.lru_cache(maxsize=64)
def _render(
    block: TextBlock, chain: FontChain, w: int, h: int, align: str, valign: str
) -> tuple[Image.Image, int, int] | None:
    """The block's coverage ("L", 255 = ink) over just the area its lines use inside a w x h
    box, with that area's offset in the box; None when nothing is drawn. Cached (formats of
    the same size share it): callers must not modify the image."""
    align = _resolve_align(align, valign, block.rtl)
    if not block.lines or w <= 0 or h <= 0:
        return None
    geo = _geometry(chain, block.size, block.lines, block.rtl, block.line_spacing)
    top = {"top": 0, "middle": (h - geo.height) // 2, "bottom": h - geo.height}[valign]
    placed: list[tuple[_Line, int, int]] = []
    for i, text in enumerate(block.lines):
        line = _measure(chain, block.size, text, block.rtl)
        if line.ink is None:
            continue
        if align == "left":
            x = -line.left
        elif align == "right":
            x = w - line.right
        else:
            x = (w - line.width) // 2 - line.left
        baseline = top + geo.top + geo.ascent + i * geo.line_height
        placed.append((line, x + line.left, baseline + line.top))
    if not placed:
        return None
    x0 = max(0, min(x for _, x, _ in placed))
    y0 = max(0, min(y for _, _, y in placed))
    x1 = min(w, max(x + line.width for line, x, _ in placed))
    y1 = min(h, max(y + line.bottom - line.top for line, _, y in placed))
    if x1 <= x0 or y1 <= y0:
        return None
    # every line drawn at the layout scale into one array, then box-filtered down once: a line's
    # box starts on a whole output pixel, so where lines do not overlap this is each line reduced
    # on its own; where they do (tight line spacing), the stronger coverage wins before reducing
    s = _scale(block.size)
    big = np.zeros(((y1 - y0) * s, (x1 - x0) * s), np.uint8)
    for line, x, y in placed:
        _draw_line(big, chain, block.size, line, (x - x0) * s, (y - y0) * s)
    mask = Image.fromarray(big)
    return (mask.reduce(s) if s > 1 else mask), x0, y0


def text_extent(
    block: TextBlock, chain: FontChain, w: int, h: int, align: str = "left", valign: str = "top"
) -> tuple[int, int, int, int] | None:
    """Where `draw_text` puts the block's lines in a w x h box: (x, y, width, height) of the
    area they take, relative to the box (what the text covers of anything under it); None when
    nothing is drawn. Shares `draw_text`'s cached rendering."""
    rendered = _render(block, chain, w, h, align, valign)
    if rendered is None:
        return None
    mask, x0, y0 = rendered
    return (x0, y0, mask.width, mask.height)


def text_mask(
    block: TextBlock,
    chain: FontChain,
    size: tuple[int, int],
    *,
    align: str = "left",
    valign: str = "top",
) -> Image.Image:
    """The block's coverage as an "L" mask of `size` (255 = full ink), for drawing or shadows.

    align: left, center, right, or start/end (which follow the text direction);
    valign: top, middle, bottom. Anything outside the mask is clipped, so nothing can spill.
    """
    w, h = size
    mask = Image.new("L", (max(w, 0), max(h, 0)), 0)
    rendered = _render(block, chain, w, h, align, valign)
    if rendered is not None:
        part, x0, y0 = rendered
        mask.paste(part, (x0, y0))
    return mask


def _draw_line(
    into: NDArray[np.uint8], chain: FontChain, size: int, line: _Line, left: int, top: int
) -> None:
    """Draw a line at the layout scale with the top left of its ink box at (left, top)."""
    pen_x, baseline = left - line.left * line.scale, top - line.top * line.scale
    for seg in line.segments:
        chain.face(seg.font).draw(
            into, pen_x + seg.x, baseline, seg.text, size * line.scale, seg.rtl
        )


def draw_text(
    image: Image.Image,
    block: TextBlock,
    chain: FontChain,
    box: tuple[int, int, int, int],
    *,
    fill: tuple[int, int, int] | tuple[int, int, int, int],
    align: str = "left",
    valign: str = "top",
) -> None:
    """Draw a fitted block inside box = (x, y, w, h) of an RGB or RGBA image.

    The text is rendered into a coverage mask clipped to the box and composited, so no pixel
    outside the box can change; a fill with alpha blends (RGBA images are composited "over").
    """
    if image.mode not in ("RGB", "RGBA"):
        raise TextLayoutError(f"draw_text needs an RGB or RGBA image, not {image.mode}")
    x, y, w, h = box
    rendered = _render(block, chain, w, h, align, valign)
    if rendered is None:
        return
    mask, x0, y0 = rendered
    # Only the part that lies on the image.
    left, upper = max(x + x0, 0), max(y + y0, 0)
    right = min(x + x0 + mask.width, image.width)
    lower = min(y + y0 + mask.height, image.height)
    if right <= left or lower <= upper:
        return
    if (right - left, lower - upper) != mask.size:
        mask = mask.crop((left - x - x0, upper - y - y0, right - x - x0, lower - y - y0))
    alpha = fill[3] if len(fill) == 4 else 255
    if alpha < 255:
        mask = mask.point([v * alpha // 255 for v in range(256)])
    rgb = (fill[0], fill[1], fill[2])
    if image.mode == "RGB":
        # the same pixels as pasting the colour through the mask, in half the time (Pillow
        # blends an image through a mask faster than it fills a colour through one)
        image.paste(Image.new("RGB", mask.size, rgb), (left, upper), mask)
    else:
        layer = Image.new("RGBA", mask.size, (*rgb, 0))
        layer.putalpha(mask)
        image.alpha_composite(layer, (left, upper))
