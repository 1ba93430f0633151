"""Card text runs shaped by HarfBuzz and drawn from cached FreeType glyphs (cards/glyphs.py).

Pillow's raqm layout is the reference: the same text in the same font at the same size must come
out as the same shape in the same place, for every script the cards meet.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from ifn_campaign.cards import glyphs
from ifn_campaign.cards.fonts import FontBook, FontChain
from ifn_campaign.errors import RenderError

SAMPLES = {
    "indonesian": "Sepatu Kulit Cibaduyut, sejak 1998",
    "arabic": "متجر الأحذية الجلدية",
    "devanagari": "जूते की दुकान",
    "vietnamese": "Bình Dương giày dép",
    "chinese": "泗水鞋业有限公司",
    "emoji": "👟❤",
}


def run_of(chain: FontChain, text: str) -> tuple[int, str]:
    """The font of the chain that draws `text` (each sample is one font's, spaces aside)."""
    fonts = {index for index, part in chain.runs(text) if part.strip()}
    assert len(fonts) == 1, chain.runs(text)
    return fonts.pop(), text


def drawn(face: glyphs.Face, text: str, size: int, rtl: bool) -> tuple[np.ndarray, tuple[int, int]]:
    """The run drawn into an array with a wide margin, and where its pen origin is."""
    margin = 3 * size
    width = int(face.shape(text, size, rtl).advance) + 2 * margin
    into = np.zeros((4 * size, width), np.uint8)
    origin = (margin, 2 * size)
    face.draw(into, *origin, text, size, rtl)
    return into, origin


def ink_box(pixels: np.ndarray) -> tuple[int, int, int, int]:
    rows = np.flatnonzero(pixels.any(axis=1))
    cols = np.flatnonzero(pixels.any(axis=0))
    return (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)


@pytest.mark.parametrize("name", SAMPLES)
@pytest.mark.parametrize("weight", [400, 800])
def test_a_run_looks_as_pillow_draws_it(book: FontBook, name: str, weight: int) -> None:
    chain = book.chain("display", weight)
    index, text = run_of(chain, SAMPLES[name])
    rtl = name == "arabic"
    size = 48
    font = chain.font(index, size)
    direction = "rtl" if rtl else "ltr"
    run = chain.face(index).shape(text, size, rtl)
    bolder = chain.embolden(index)
    if bolder:
        # the static CJK face next to extra-bold Latin is drawn bolder (synthetic bold), which
        # Pillow does not do: each glyph advances that much more, and draws more ink
        strength = round(bolder * size * 64) / 64
        expected = font.getlength(text, direction=direction) + len(run.glyphs) * strength
        assert run.advance == pytest.approx(expected, abs=len(run.glyphs) / 64)
        plain = glyphs.Face(chain.paths[index], ())
        assert drawn(chain.face(index), text, size, rtl)[0].sum() > 1.3 * (
            drawn(plain, text, size, rtl)[0].sum()
        )
        return
    assert run.advance == pytest.approx(font.getlength(text, direction=direction), abs=0.02)
    ours, (ox, oy) = drawn(chain.face(index), text, size, rtl)
    mask, offset = font.getmask2(text, mode="L", anchor="ls", direction=direction)
    theirs = np.zeros_like(ours)
    reference = np.asarray(Image.frombytes("L", mask.size, bytes(mask)))
    top, left = oy + offset[1], ox + offset[0]
    theirs[top : top + reference.shape[0], left : left + reference.shape[1]] = reference
    # the same glyphs in the same place: at most a pixel apart (positions are rounded per glyph
    # here, per run in Pillow), and the same amount of ink
    a, b = ink_box(ours), ink_box(theirs)
    assert max(abs(p - q) for p, q in zip(a, b, strict=True)) <= 1, (a, b)
    assert ours.sum() == pytest.approx(theirs.sum(), rel=0.03)
    blurred = [np.asarray(Image.fromarray(x).reduce(4), float) for x in (ours, theirs)]
    assert np.abs(blurred[0] - blurred[1]).mean() < 2.0


def test_the_weight_axis_is_applied(book: FontBook) -> None:
    regular = drawn(book.chain("display", 400).face(0), "Sepatu", 60, False)[0]
    bold = drawn(book.chain("display", 800).face(0), "Sepatu", 60, False)[0]
    assert bold.sum() > 1.3 * regular.sum()


def test_arabic_letters_take_their_joined_forms(book: FontBook) -> None:
    chain = book.chain("body", 400)
    index, text = run_of(chain, "سيدوارجو")
    face = chain.face(index)
    joined = [g for g, _, _ in face.shape(text, 40, True).glyphs]
    isolated = [face.shape(ch, 40, True).glyphs[0][0] for ch in text]
    # visual order is right to left, and joining letters use their initial/medial/final forms
    assert joined != isolated[::-1]
    assert joined[-1] != isolated[0]  # the first letter (drawn rightmost) in its initial form


SCRIPTS = {
    "latin": "Sepatu kulit ÁÉÎõüŚąę fi ffl ",
    "arabic": "متجر الأحذية الجلدية ًٌٍَُِّْ ",
    "devanagari": "जूते की दुकान क्षत्रज्ञ ",
    "thai": "ร้านรองเท้า ",
    "vietnamese": "Bình Dương giày dép ",
}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    script=st.sampled_from(sorted(SCRIPTS)),
    size=st.integers(min_value=6, max_value=160),
    rtl=st.booleans(),
)
def test_the_ink_box_holds_every_pixel_drawn(
    book: FontBook, data: st.DataObject, script: str, size: int, rtl: bool
) -> None:
    text = data.draw(st.text(alphabet=st.sampled_from(SCRIPTS[script]), min_size=1, max_size=30))
    chain = book.chain("body", 400)
    fonts = [index for index, part in chain.runs(text) if part.strip()]
    if not fonts:
        return
    face = chain.face(fonts[0])  # the script's own font: its marks and offsets are exercised
    pixels, (ox, oy) = drawn(face, text, size, rtl)
    box = face.ink(text, size, rtl)
    if not pixels.any():
        return
    assert box is not None
    left, top, right, bottom = ink_box(pixels)
    assert box[0] + ox <= left and box[1] + oy <= top
    assert right <= box[2] + ox and bottom <= box[3] + oy


def test_one_face_drawn_from_many_threads_gives_the_serial_pixels(book: FontBook) -> None:
    path = book.chain("display", 700).paths[0]
    words = ["Sepatu", "Kulit", "Cibaduyut", "Mojokerto", "Sidoarjo", "Bandung"]
    serial = glyphs.Face(path, (("wght", 650.0),))
    expected = {(w, size): drawn(serial, w, size, False)[0] for w in words for size in (23, 61)}
    shared = glyphs.Face(path, (("wght", 650.0),))  # cold: every glyph is rendered in a race

    def work(offset: int) -> list[bool]:
        order = [(w, size) for size in (61, 23) for w in words[offset:] + words[:offset]]
        return [
            np.array_equal(drawn(shared, w, size, False)[0], expected[w, size]) for w, size in order
        ]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(work, range(4)))
    assert all(all(r) for r in results)


def test_faces_are_made_once_even_when_asked_for_at_once(book: FontBook) -> None:
    path = book.chain("label", 600).paths[0]
    axes = (("wght", 612.0),)
    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(lambda _: glyphs.face(path, axes), range(32)))
    assert all(f is made[0] for f in made)


def test_drawing_clips_at_the_edges(book: FontBook) -> None:
    face = book.chain("display", 700).face(0)
    whole, (ox, oy) = drawn(face, "Sepatu", 50, False)
    # the same run with its pen half off the top-left corner of a small array
    small = np.zeros((40, 60), np.uint8)
    face.draw(small, -20, 10, "Sepatu", 50, False)
    assert small.any()
    expected = whole[oy - 10 : oy - 10 + 40, ox + 20 : ox + 20 + 60]
    assert np.array_equal(small, expected)


def test_the_glyph_cache_starts_over_when_full_and_draws_the_same(
    book: FontBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = book.chain("body", 400).paths[0]
    cold = glyphs.Face(path, (("wght", 500.0),))
    first = drawn(cold, "Kerajinan sepatu", 37, False)[0]
    assert cold._glyphs
    # a budget of about two glyphs for the whole process: every face keeps starting over
    monkeypatch.setattr(glyphs, "_CACHE_BYTES", 2 * glyphs._ENTRY + 2_000)
    tiny = glyphs.Face(path, (("wght", 500.0),))
    again = drawn(tiny, "Kerajinan sepatu", 37, False)[0]
    assert np.array_equal(first, again)
    assert not cold._glyphs  # the other face's glyphs went too
    assert len(tiny._glyphs) <= 3
    assert glyphs._cached_bytes <= glyphs._CACHE_BYTES


def test_a_broken_font_file_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "Broken.ttf"
    broken.write_bytes(b"\x00\x01\x00\x00 not really a font")
    with pytest.raises(RenderError, match=r"Broken\.ttf"):
        glyphs.Face(broken, ())


def test_synthetic_bold_is_bounded_and_measured_from_the_fonts(book: FontBook) -> None:
    chain = book.chain("display", 800)
    index = chain.index_of("鞋")
    assert index is not None
    path = chain.paths[index]
    with pytest.raises(ValueError, match="embolden"):
        glyphs.Face(path, (), embolden=0.5)
    with pytest.raises(ValueError, match="embolden"):
        glyphs.Face(path, (), embolden=float("nan"))
    # the stems the weight is matched by: 丨 in the CJK face, l in the brand face (none: no glyph)
    cjk = glyphs.stem_width(path, (), "丨")
    assert cjk is not None and 0.05 < cjk < 0.12
    assert glyphs.stem_width(path, (), "\U0001f45f") is None
    latin_light = glyphs.stem_width(chain.paths[0], (("wght", 400.0),), "l")
    latin_bold = glyphs.stem_width(chain.paths[0], (("wght", 800.0),), "l")
    assert latin_light is not None and latin_bold is not None and latin_bold > 1.5 * latin_light
    # the family's own font and fonts with a weight axis are never thickened
    assert chain.embolden(0) == 0
    arabic = chain.index_of("م")
    assert arabic is not None and chain.embolden(arabic) == 0
    assert book.chain("display", 400).embolden(index) == 0 < chain.embolden(index)
