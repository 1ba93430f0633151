"""Brand fonts with a fallback chain, so a card never shows a missing-glyph box.

`assets/brand/fonts.toml` names the font *families* templates use (display, body, label) and one
fallback chain shared by all of them. `FontBook` loads that file; `FontBook.chain(family, weight)`
gives a `FontChain`: the family's font first, then the fallbacks. `FontChain.runs` splits text into
runs of one font each by looking at every font's character map (read once per file with fontTools,
cached for the process), and leaves out what no font can draw; `FontChain.uncovered` reports it.

Weights are CSS numbers or names. Variable fonts get the weight on their `wght` axis, clamped to
the font's range, every other axis at its default. A static CJK fallback (one weight only) is
drawn bolder to match: its stem (the ideograph 丨) is thickened to STEM_RATIO times the family's
own stem ("l") at the chain's weight, so extra-bold Latin does not sit next to light Han.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import tomllib
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fontpkg
import PIL
from fontTools.ttLib import TTFont
from PIL import ImageFont, features

from ifn_campaign import bundled
from ifn_campaign.cards import glyphs
from ifn_campaign.errors import FontError

# Bump when a change to fonts.py, glyphs.py or text.py can move a pixel: it is part of
# FontBook.fingerprint.
TEXT_ENGINE_VERSION = 3

# Synthetic weight for static fallbacks (see FontChain.embolden): CJK stems are drawn this share of
# the family's Latin stem at the same weight. Noto Sans CJK and Noto Sans, designed together, keep
# about 0.9-0.95 (丨 against l, Regular and Bold alike); tests/cards/test_text.py measures it.
STEM_RATIO = 0.9
_LATIN_STEM = "l"
_CJK_STEM = "\u4e28"  # 丨, a single vertical stroke

DEFAULT_FONTS_TOML = bundled.assets("brand", "fonts.toml")

WEIGHTS: Mapping[str, int] = {
    "thin": 100,
    "extralight": 200,
    "light": 300,
    "regular": 400,
    "normal": 400,
    "medium": 500,
    "semibold": 600,
    "bold": 700,
    "extrabold": 800,
    "black": 900,
}

# Zero-width characters that only steer shaping (joiners, variation selectors, emoji tags). They
# never need a glyph of their own: HarfBuzz hides them when the font lacks one, so they travel
# with the cluster they belong to and are never reported as uncovered.
_IGNORABLE_RANGES = (
    (0x200C, 0x200D),  # ZWNJ, ZWJ
    (0x034F, 0x034F),  # combining grapheme joiner
    (0xFE00, 0xFE0F),  # variation selectors
    (0xE0020, 0xE007F),  # tag characters (subdivision flags)
    (0xE0100, 0xE01EF),  # variation selectors supplement
)
_ZWJ = "\u200d"
_EMOJI_MODIFIERS = range(0x1F3FB, 0x1F400)
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)


def is_ignorable(ch: str) -> bool:
    """Whether `ch` is a zero-width steering character that needs no glyph."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _IGNORABLE_RANGES)


def _extends(ch: str) -> bool:
    """Whether `ch` continues the grapheme cluster before it instead of starting a new one."""
    return (
        unicodedata.category(ch) in ("Mn", "Mc", "Me")
        or is_ignorable(ch)
        or ord(ch) in _EMOJI_MODIFIERS
    )


def grapheme_clusters(text: str) -> Iterator[tuple[int, int]]:
    """Yield (start, end) of each user-perceived character.

    A simplified UAX #29: a base keeps its combining marks, variation selectors and emoji
    modifiers; ZWJ glues the next character on (emoji sequences); regional indicators pair up
    (flags). Good enough to never split what a reader sees as one character.
    """
    n = len(text)
    i = 0
    while i < n:
        start = i
        first = text[i]
        i += 1
        if ord(first) in _REGIONAL_INDICATORS and i < n and ord(text[i]) in _REGIONAL_INDICATORS:
            i += 1
        while i < n:
            ch = text[i]
            if _extends(ch) or text[i - 1] == _ZWJ:
                i += 1
            else:
                break
        yield start, i


@functools.cache
def _face_info(path: Path) -> tuple[frozenset[int], tuple[tuple[str, float, float, float], ...]]:
    """Codepoints a font maps and its variation axes (tag, min, default, max), once per file."""
    try:
        with TTFont(path, lazy=True) as font:
            cmap = frozenset(font.getBestCmap() or ())
            axes = tuple(
                (a.axisTag, a.minValue, a.defaultValue, a.maxValue)
                for a in (font["fvar"].axes if "fvar" in font else ())
            )
    except Exception as exc:  # any parse failure means the file is not a usable font
        raise FontError(f"cannot read font {path}: {exc}") from exc
    return cmap, axes


def coverage(path: Path) -> frozenset[int]:
    """The codepoints `path` has glyphs for (cached per file for the whole process)."""
    return _face_info(path)[0]


@functools.cache
def _load_font(path: Path, weight: int, size: int) -> ImageFont.FreeTypeFont:
    """One FreeType font per (file, weight, size): loading and setting axes is the slow part."""
    font = ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.RAQM)
    axes = _axis_values(path, weight)
    if axes:
        font.set_variation_by_axes([value for _, value in axes])
    return font


def _axis_values(path: Path, weight: int) -> tuple[tuple[str, float], ...]:
    """Every variation axis of the font with its value: the weight on `wght` (clamped to the
    font's range), the default on the others; empty for a static font."""
    return tuple(
        (tag, min(max(float(weight), lo), hi) if tag == "wght" else default)
        for tag, lo, default, hi in _face_info(path)[1]
    )


@functools.cache
def _file_digest(path: Path) -> str:
    """sha256 of a font file, once per process."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def parse_weight(weight: int | str) -> int:
    """A CSS weight (100-1000) from a number or a name such as "semibold"."""
    if isinstance(weight, bool):
        raise ValueError(f"not a font weight: {weight!r}")
    if isinstance(weight, int):
        value = weight
    elif isinstance(weight, str) and weight.strip().lower().replace("-", "") in WEIGHTS:
        value = WEIGHTS[weight.strip().lower().replace("-", "")]
    elif isinstance(weight, str) and weight.strip().isdigit():
        value = int(weight.strip())
    else:
        names = ", ".join(WEIGHTS)
        raise ValueError(f"not a font weight: {weight!r} (use 100-1000 or one of {names})")
    if not 1 <= value <= 1000:
        raise ValueError(f"font weight {value} is outside 1-1000")
    return value


@dataclass(frozen=True)
class FontSource:
    """Where one font of the book comes from, as written in fonts.toml."""

    kind: str  # "fontpkg", "package" or "path"
    name: str  # fontpkg family, "module/file" or the resolved path
    style: str = "normal"
    path: Path | None = None  # fixed file for "package" and "path"

    def resolve(self, weight: int) -> Path:
        """The font file for `weight` (static fontpkg families have one file per weight)."""
        if self.path is not None:
            return self.path
        return fontpkg.path(self.name, weight, self.style, nearest=True)

    def describe(self) -> str:
        """How fonts.toml spells this source, for error messages."""
        return f"{self.kind} {self.name!r}"


class FontChain:
    """A primary font and its fallbacks at one weight: which font draws which character.

    Index 0 is the family's own font. Equal chains (same files, same weight) compare and hash
    equal, so measurement caches keyed on a chain are shared between FontBook instances.
    """

    def __init__(self, paths: tuple[Path, ...], weight: int) -> None:
        if not paths:
            raise ValueError("a font chain needs at least one font")
        self.paths = paths
        self.weight = weight
        self._hash = hash((paths, weight))  # chains key every measurement cache
        self._covers: list[frozenset[int] | None] = [None] * len(paths)
        self._faces: list[glyphs.Face | None] = [None] * len(paths)
        self._bolder: list[float | None] = [None] * len(paths)
        self._index: dict[str, int | None] = {}
        self._primary_chars: frozenset[str] | None = None

    def __len__(self) -> int:
        return len(self.paths)

    def __repr__(self) -> str:
        return f"FontChain({self.paths[0].name} +{len(self.paths) - 1} fallbacks, {self.weight})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, FontChain)
            and self.paths == other.paths
            and self.weight == other.weight
        )

    def __hash__(self) -> int:
        return self._hash

    def _cov(self, index: int) -> frozenset[int]:
        """Coverage of font `index`, read only when a character first falls through to it."""
        cov = self._covers[index]
        if cov is None:
            cov = self._covers[index] = coverage(self.paths[index])
        return cov

    def font(self, index: int, size: int) -> ImageFont.FreeTypeFont:
        """Font `index` of the chain at `size` px, with the chain's weight (cached: same object)."""
        return _load_font(self.paths[index], self.weight, size)

    def face(self, index: int) -> glyphs.Face:
        """Font `index` of the chain with the chain's weight, for shaping and drawing text."""
        found = self._faces[index]
        if found is None:
            path = self.paths[index]
            axes = _axis_values(path, self.weight)
            found = self._faces[index] = glyphs.face(path, axes, self.embolden(index))
        return found

    def embolden(self, index: int) -> float:
        """How many ems bolder font `index` is drawn than designed: 0 for the family's own font
        and for any font with a weight axis (it gets the real weight); for a static CJK face,
        enough to bring its stem (丨) to STEM_RATIO times the family's stem ("l") at the chain's
        weight, never thinner than designed and at most glyphs.MAX_EMBOLDEN."""
        found = self._bolder[index]
        if found is None:
            found = self._bolder[index] = self._embolden(index)
        return found

    def _embolden(self, index: int) -> float:
        path = self.paths[index]
        if index == 0 or any(tag == "wght" for tag, *_ in _face_info(path)[1]):
            return 0.0
        own = glyphs.stem_width(path, (), _CJK_STEM)
        primary = self.paths[0]
        latin = glyphs.stem_width(primary, _axis_values(primary, self.weight), _LATIN_STEM)
        if own is None or latin is None:
            return 0.0
        return round(min(max(STEM_RATIO * latin - own, 0.0), glyphs.MAX_EMBOLDEN), 4)

    def index_of(self, ch: str) -> int | None:
        """The first font of the chain that has a glyph for `ch`, or None."""
        try:
            return self._index[ch]
        except KeyError:
            cp = ord(ch)
            found = next((i for i in range(len(self.paths)) if cp in self._cov(i)), None)
            self._index[ch] = found
            return found

    def covers(self, ch: str) -> bool:
        """Whether some font of the chain can draw `ch`."""
        return self.index_of(ch) is not None

    def _cluster_font(self, cluster: str) -> int | None:
        """The first font covering every visible character of a cluster, else the base's font."""
        needed = [c for c in cluster if not is_ignorable(c)]
        if not needed:
            return None
        if len(needed) == 1:
            return self.index_of(needed[0])
        cps = [ord(c) for c in needed]
        for i in range(len(self.paths)):
            cov = self._cov(i)
            if all(cp in cov for cp in cps):
                return i
        return self.index_of(needed[0])

    def runs(self, text: str) -> list[tuple[int, str]]:
        """Split `text` into (font index, substring) runs, leaving out what no font covers.

        Works per grapheme cluster: a cluster the primary covers stays in the primary, otherwise
        the first font covering all of it draws it (so a base and its marks are shaped together).
        Joiners and variation selectors ride with their cluster. A mark its cluster's font lacks
        goes to the run before if that font has it, else to the first font that has it.
        """
        if self._primary_chars is None:
            self._primary_chars = frozenset(map(chr, self._cov(0)))
        if self._primary_chars.issuperset(text):  # the common case, at C speed
            return [(0, text)] if text else []
        if not any(_extends(ch) or ch == _ZWJ or ord(ch) in _REGIONAL_INDICATORS for ch in text):
            return self._simple_runs(text)  # every character is a cluster of its own
        runs: list[tuple[int, str]] = []
        cur_index: int | None = None
        cur: list[str] = []

        def put(index: int, chars: str) -> None:
            nonlocal cur_index
            if index != cur_index and cur_index is not None:
                runs.append((cur_index, "".join(cur)))
                cur.clear()
            cur_index = index
            cur.append(chars)

        for start, end in grapheme_clusters(text):
            cluster = text[start:end]
            index = self._cluster_font(cluster)
            if index is None:  # nothing draws the base (or the cluster is only joiners)
                for ch in cluster[1:]:
                    if not is_ignorable(ch) and (i := self.index_of(ch)) is not None:
                        put(i, ch)
                continue
            cov = self._cov(index)
            kept = []
            for ch in cluster:
                if is_ignorable(ch) or ord(ch) in cov:
                    kept.append(ch)
                    continue
                if kept:
                    put(index, "".join(kept))
                    kept = []
                if cur_index is not None and ord(ch) in self._cov(cur_index):
                    put(cur_index, ch)
                elif (i := self.index_of(ch)) is not None:
                    put(i, ch)
            if kept:
                put(index, "".join(kept))
        if cur_index is not None:
            runs.append((cur_index, "".join(cur)))
        return runs

    def _simple_runs(self, text: str) -> list[tuple[int, str]]:
        """runs() for text without marks, joiners or flags: one font lookup per character."""
        runs: list[tuple[int, str]] = []
        parts: list[str] = []
        cur: int | None = None
        for ch in text:
            index = self.index_of(ch)
            if index is None:
                continue
            if index != cur and cur is not None:
                runs.append((cur, "".join(parts)))
                parts = []
            cur = index
            parts.append(ch)
        if cur is not None:
            runs.append((cur, "".join(parts)))
        return runs

    def uncovered(self, text: str) -> set[str]:
        """Characters of `text` no font of the chain can draw (runs() leaves them out)."""
        return {ch for ch in set(text) if not is_ignorable(ch) and self.index_of(ch) is None}


class FontBook:
    """The brand's font families and fallback chain, loaded from fonts.toml."""

    def __init__(
        self, path: Path, families: dict[str, FontSource], fallback: tuple[FontSource, ...]
    ) -> None:
        self.path = path
        self._families = families
        self._fallback = fallback
        self._chains: dict[tuple[str, int], FontChain] = {}

    def __repr__(self) -> str:
        return f"FontBook({self.path}, families={list(self._families)})"

    @classmethod
    def load(cls, path: Path = DEFAULT_FONTS_TOML) -> FontBook:
        """Read and check fonts.toml: a missing font file fails here, not at render time."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise FontError(f"cannot read font configuration {path}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise FontError(f"{path}: invalid TOML: {exc}") from exc
        families_raw = data.get("families")
        if not isinstance(families_raw, dict) or not families_raw:
            raise FontError(f"{path}: key 'families' must hold at least one [families.NAME]")
        families = {
            str(name): _parse_source(spec, path, f"families.{name}")
            for name, spec in families_raw.items()
        }
        fallback_raw = data.get("fallback", {})
        chain_raw = fallback_raw.get("chain", []) if isinstance(fallback_raw, dict) else None
        if not isinstance(chain_raw, list):
            raise FontError(f"{path}: key 'fallback.chain' must be a list of fonts")
        fallback = tuple(
            _parse_source(spec, path, f"fallback.chain[{i}]") for i, spec in enumerate(chain_raw)
        )
        unknown = set(data) - {"families", "fallback"}
        if unknown:
            raise FontError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
        book = cls(path, families, fallback)
        for name, source in families.items():  # fail at load on a missing family package
            book._resolve(source, 400, f"families.{name}")
        for i, source in enumerate(fallback):
            book._resolve(source, 400, f"fallback.chain[{i}]")
        return book

    def fingerprint(self) -> str:
        """A digest of everything that decides how text looks: fonts.toml, every font file it
        names (by content), the text engine's version and its libraries' versions (FreeType and
        HarfBuzz as bundled with freetype-py and uharfbuzz; Pillow's, for the Pillow fonts).
        Cards are cached by content, so changing any of these must change their key."""
        digest = hashlib.sha256()
        digest.update(f"text-engine {TEXT_ENGINE_VERSION}\0".encode())
        versions = (
            PIL.__version__,
            features.version("freetype2") or "",
            features.version("raqm") or "",
            *glyphs.VERSIONS,
        )
        digest.update("\0".join(versions).encode())
        digest.update(self.path.read_bytes())
        sources = [*self._families.values(), *self._fallback]
        paths: list[Path] = []
        for src in sources:  # every weight: a static family keeps its bold in another file
            for weight in sorted(set(WEIGHTS.values())):
                try:
                    paths.append(self._resolve(src, weight, "fingerprint"))
                except FontError:
                    continue
        for path in dict.fromkeys(paths):
            digest.update(f"\0{path.name}\0{_file_digest(path)}".encode())
        return digest.hexdigest()

    @property
    def families(self) -> tuple[str, ...]:
        """The family names templates may use."""
        return tuple(self._families)

    def _resolve(self, source: FontSource, weight: int, key: str) -> Path:
        try:
            resolved = source.resolve(weight)
        except fontpkg.FontpkgError as exc:
            raise FontError(f"{self.path}, key {key!r}: {source.describe()}: {exc}") from exc
        if not resolved.is_file():
            raise FontError(f"{self.path}, key {key!r}: font file {resolved} does not exist")
        return resolved

    def chain(self, family: str, weight: int | str) -> FontChain:
        """The family's font at `weight` followed by the fallback chain (cached)."""
        source = self._families.get(family)
        if source is None:
            known = ", ".join(self._families)
            raise FontError(f"unknown font family {family!r}: {self.path} defines {known}")
        try:
            value = parse_weight(weight)
        except ValueError as exc:
            raise FontError(f"font family {family!r} ({self.path}): {exc}") from exc
        key = (family, value)
        chain = self._chains.get(key)
        if chain is None:
            paths = [self._resolve(source, value, f"families.{family}")]
            for i, fb in enumerate(self._fallback):
                p = self._resolve(fb, value, f"fallback.chain[{i}]")
                if p not in paths:
                    paths.append(p)
            chain = self._chains[key] = FontChain(tuple(paths), value)
        return chain

    def font(self, family: str, weight: int | str, size: int) -> ImageFont.FreeTypeFont:
        """The family's own font at `weight` and `size` px (cached: the same object each time)."""
        return self.chain(family, weight).font(0, size)


def _parse_source(spec: Any, path: Path, key: str) -> FontSource:
    """One font entry of fonts.toml: exactly one of fontpkg, package + file, or path."""
    where = f"{path}, key {key!r}"
    if not isinstance(spec, dict):
        raise FontError(f'{where}: expected a table such as {{fontpkg = "Noto Sans"}}')
    kinds = [k for k in ("fontpkg", "package", "path") if k in spec]
    if len(kinds) != 1:
        raise FontError(f"{where}: give exactly one of fontpkg, package (with file) or path")
    allowed = {"fontpkg": {"fontpkg", "style"}, "package": {"package", "file"}, "path": {"path"}}
    extra = set(spec) - allowed[kinds[0]]
    if extra:
        raise FontError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
    values = {k: v for k, v in spec.items()}
    for k, v in values.items():
        if not isinstance(v, str) or not v.strip():
            raise FontError(f"{where}: {k} must be a non-empty string")
    if kinds[0] == "fontpkg":
        style = values.get("style", "normal")
        return FontSource("fontpkg", values["fontpkg"], style=style)
    if kinds[0] == "package":
        if "file" not in values:
            raise FontError(f"{where}: package needs a file")
        module, file = values["package"], values["file"]
        if not module.replace(".", "_").isidentifier() or "/" in file or "\\" in file:
            raise FontError(f"{where}: package must be a module name and file a bare file name")
        try:
            base = Path(str(importlib.resources.files(module)))
        except ModuleNotFoundError as exc:
            raise FontError(f"{where}: package {module!r} is not installed") from exc
        return FontSource("package", f"{module}/{file}", path=base / file)
    resolved = (path.parent / values["path"]).resolve()
    return FontSource("path", str(resolved), path=resolved)
