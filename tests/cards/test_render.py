"""Rendering cards: every format, determinism, the cache, fallbacks, broken images, golden images.

Golden images live in tests/golden/cards/; refresh them on purpose with `make goldens`
(IFN_UPDATE_GOLDENS=1), then look at them before committing.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from ifn_campaign.cards import photo as photos
from ifn_campaign.cards import render as render_mod
from ifn_campaign.cards.brand import BrandKit
from ifn_campaign.cards.render import CardData, Renderer, Stopwatch, _Canvas, photo_side
from ifn_campaign.cards.template import (
    BackgroundLayer,
    ShapeLayer,
    TextLayer,
    formats,
    kept_clear,
    load_all,
)
from ifn_campaign.errors import RenderError

SAMPLE_MEDIA = Path(__file__).resolve().parents[2] / "assets" / "sample_registry" / "media"
GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "cards"
UPDATE = os.environ.get("IFN_UPDATE_GOLDENS") == "1"


@pytest.fixture(scope="module")
def templates(brand: BrandKit) -> dict:
    return load_all(palette=brand.palette)


def _data(
    name: str = "Sepatu Kulit Priangan",
    photo: str | None = "ifn-0002-1.jpg",
    logo: str | None = "ifn-0002-logo.png",
    **kw: object,
) -> CardData:
    values: dict[str, object] = {
        "member_id": "ifn-0002",
        "business_name": name,
        "place": "Kota Bandung, Jawa Barat",
        "tagline": "Sepatu kulit buatan tangan dari Cibaduyut sejak 1998.",
        "sentra": "Cibaduyut",
        "actor_type": "producer",
        "actor_label": "Produsen",
        "categories": ("Sepatu kulit", "Sepatu bot"),
        "initials": "SK",
    }
    if photo:
        values["photo"] = photos.load_image(SAMPLE_MEDIA / photo, min_side=1920)
        values["photo_sha"] = photo
    if logo:
        values["logo"] = photos.load_image(SAMPLE_MEDIA / logo)
        values["logo_sha"] = logo
    values.update(kw)
    return CardData(**values)  # type: ignore[arg-type]


def test_every_format_is_a_baseline_srgb_jpeg_of_the_exact_size(
    brand: BrandKit, templates: dict, tmp_path: Path
) -> None:
    cards = Renderer(brand, templates, tmp_path).render(_data(), "sorotan")
    assert {c.format for c in cards} == set(formats())
    for card in cards:
        fmt = formats()[card.format]
        with Image.open(card.path) as img:
            assert img.format == "JPEG" and img.mode == "RGB"
            assert img.size == (fmt.width, fmt.height)
            assert not img.info.get("progressive") and not img.info.get("progression")
            assert "exif" not in img.info and "icc_profile" not in img.info
        assert card.path.stat().st_size <= 8 * 1024 * 1024
        if card.format.startswith("ig_"):
            assert 0.8 <= fmt.width / fmt.height <= 1.91


def test_same_inputs_give_byte_identical_cards(
    brand: BrandKit, templates: dict, tmp_path: Path
) -> None:
    first = Renderer(brand, templates, tmp_path / "a").render(_data(), "sorotan")
    second = Renderer(brand, templates, tmp_path / "b").render(_data(), "sorotan")
    for a, b in zip(first, second, strict=True):
        assert a.path.name == b.path.name
        assert a.path.read_bytes() == b.path.read_bytes()


def test_a_card_is_the_same_alone_or_with_its_set(
    brand: BrandKit, templates: dict, tmp_path: Path
) -> None:
    # plates, pills and one member's photo cuts are shared between formats: never the bytes
    whole = Renderer(brand, templates, tmp_path / "all").render(_data(), "sorotan")
    for card in whole:
        [alone] = Renderer(brand, templates, tmp_path / card.format).render(
            _data(), "sorotan", [card.format]
        )
        assert alone.path.name == card.path.name
        assert alone.path.read_bytes() == card.path.read_bytes()


def test_files_are_in_place_when_render_returns_and_a_write_failure_is_raised(
    brand: BrandKit, templates: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # files are written by a thread while the next format is drawn: render waits for them,
    # even when the disk is slow
    real_write = render_mod._write

    def slow_write(path: Path, data: bytes) -> None:
        time.sleep(0.2)
        real_write(path, data)

    monkeypatch.setattr(render_mod, "_write", slow_write)
    renderer = Renderer(brand, templates, tmp_path / "cards")
    cards = renderer.render(_data(), "sorotan")
    for card in cards:
        with Image.open(card.path) as img:
            img.load()  # whole, not a file still being written
    assert not list((tmp_path / "cards").rglob(".part-*"))
    monkeypatch.setattr(render_mod, "_write", real_write)
    # an output folder that cannot be made: the error reaches the caller, nothing is reported
    blocked = tmp_path / "blocked"
    blocked.write_bytes(b"a file where the card folder should be")
    with pytest.raises(NotADirectoryError):
        Renderer(brand, templates, blocked).render(_data(), "sorotan")


def test_a_card_that_fails_midway_leaves_the_earlier_files_whole(
    brand: BrandKit, templates: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_encode = render_mod._encode
    calls: list[str] = []

    def failing_encode(image: Image.Image, fmt: object, png: bool) -> bytes:
        calls.append(getattr(fmt, "id", ""))
        if len(calls) == 3:
            raise RenderError("encoder broke on the third card")
        return real_encode(image, fmt, png)  # type: ignore[arg-type]

    monkeypatch.setattr(render_mod, "_encode", failing_encode)
    renderer = Renderer(brand, templates, tmp_path)
    with pytest.raises(RenderError, match="third card"):
        renderer.render(_data(), "sorotan")
    written = sorted(p for p in tmp_path.rglob("*.jpg"))
    assert len(written) == 2
    for path in written:
        with Image.open(path) as img:
            img.load()
    assert not list(tmp_path.rglob(".part-*"))


def test_a_write_that_fails_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "ab" / "card.jpg"
    # the temporary file is made, then the write fails (as on a full disk): it is removed
    with pytest.raises(TypeError):
        render_mod._write(target, "not bytes")  # type: ignore[arg-type]
    assert not target.exists()
    assert not list(tmp_path.rglob(".part-*"))


def test_unchanged_cards_come_from_the_cache(
    brand: BrandKit, templates: dict, tmp_path: Path
) -> None:
    renderer = Renderer(brand, templates, tmp_path)
    first = renderer.render(_data(), "sorotan", ["ig_square"])
    stamp = first[0].path.stat().st_mtime_ns
    again = renderer.render(_data(), "sorotan", ["ig_square"])
    assert again[0].cached and again[0].path == first[0].path
    assert again[0].path.stat().st_mtime_ns == stamp
    changed = renderer.render(_data(name="Sepatu Kulit Priangan Baru"), "sorotan", ["ig_square"])
    assert not changed[0].cached and changed[0].path != first[0].path


def test_a_cached_card_keeps_the_notes_its_layers_made(
    brand: BrandKit, templates: dict, tmp_path: Path
) -> None:
    """Notes that come from drawing a layer (a name shortened to fit, a product under the
    ribbon) are kept with the card: a renderer that finds the card in its cache, this one or a
    new one on the same folder, reports them too; without them the card is drawn again."""
    data = _data(name="Sepatu " * 43)  # too long for the name's box: shortened to fit
    first = Renderer(brand, templates, tmp_path).render(data, "sorotan", ["ig_square", "story"])
    assert all("business_name: text shortened to fit" in card.notes for card in first)
    for renderer in (Renderer(brand, templates, tmp_path), Renderer(brand, templates, tmp_path)):
        again = renderer.render(data, "sorotan", ["ig_square", "story"])
        assert [c.cached for c in again] == [True, True]
        assert [c.notes for c in again] == [c.notes for c in first]
    stored = first[0].path.with_suffix(".notes.json")
    for broken in (None, b"{not json", b'{"a": 1}'):
        if broken is None:
            stored.unlink()
        else:
            stored.write_bytes(broken)
        [card] = Renderer(brand, templates, tmp_path).render(data, "sorotan", ["ig_square"])
        assert not card.cached and card.notes == first[0].notes
        assert stored.is_file()


def test_png_on_request(brand: BrandKit, templates: dict, tmp_path: Path) -> None:
    [card] = Renderer(brand, templates, tmp_path).render(_data(), "sorotan", ["fb_feed"], png=True)
    with Image.open(card.path) as img:
        assert img.format == "PNG" and img.size == (1200, 630)


def test_member_without_photo_gets_the_logo_card(
    brand: BrandKit, templates: dict, tmp_path: Path
) -> None:
    renderer = Renderer(brand, templates, tmp_path)
    cards = renderer.render(_data(photo=None), "sorotan", ["ig_portrait"])
    assert cards[0].template == "sorotan-logo"
    bare = renderer.render(_data(photo=None, logo=None), "sorotan", ["ig_portrait"])
    assert bare[0].template == "sorotan-logo"  # initials stand in for the logo


def test_small_photo_is_flagged_low_resolution(
    brand: BrandKit, templates: dict, tmp_path: Path
) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (40, 40), (120, 80, 40)).save(buf, "JPEG")
    tiny = photos.load_image(buf.getvalue())
    data = dataclasses.replace(_data(photo=None), photo=tiny, photo_sha="tiny")
    [card] = Renderer(brand, templates, tmp_path).render(data, "sorotan", ["ig_portrait"])
    assert card.low_resolution and any("low resolution" in n for n in card.notes)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "A",
        "Sepatu {{ config }} Jaya <script>",
        "S" * 80,
        "Sepatu " * 43,
        "SEPATU KULIT ASLI CIBADUYUT BANDUNG JAWA BARAT",
        "Sepatu Hoki 鞋行 👟",
        "أحذية إندونيسيا الجلدية",
        "Sepatu\x00\x07 Kontrol\u202e",
    ],
)
def test_hostile_and_odd_names_render(
    brand: BrandKit, templates: dict, tmp_path: Path, name: str
) -> None:
    cards = Renderer(brand, templates, tmp_path).render(
        _data(name=name), "sorotan", ["ig_square", "fb_feed"]
    )
    assert all(c.path.exists() for c in cards)


def test_unknown_template_and_format(brand: BrandKit, templates: dict, tmp_path: Path) -> None:
    renderer = Renderer(brand, templates, tmp_path)
    with pytest.raises(RenderError, match="no card template 'nope'"):
        renderer.render(_data(), "nope")
    with pytest.raises(RenderError, match="no format 'poster'"):
        renderer.render(_data(), "sorotan", ["poster"])


def test_photo_side_is_the_largest_photo_box(templates: dict) -> None:
    assert photo_side(templates["sorotan"], ["ig_square"]) == 1080
    # the story's photo box is 1080x1027 and fb_feed's 600x630; the story's blurred photo
    # background is cut at an eighth of the canvas (240 px), so it needs no more
    assert photo_side(templates["sorotan"], ["story", "fb_feed"]) == 1080
    assert photo_side(templates["sorotan"], ["fb_feed"]) == 630
    # a template that shows no photo: the longest canvas side, as before
    assert photo_side(templates["sorotan-logo"], ["story"]) == 1920


def _similar(a: Image.Image, b: Image.Image) -> tuple[float, float]:
    """Mean absolute difference and share of strongly different pixels, at quarter size."""
    size = (a.width // 4, a.height // 4)
    x = np.asarray(a.convert("RGB").resize(size), dtype=np.int16)
    y = np.asarray(b.convert("RGB").resize(size), dtype=np.int16)
    diff = np.abs(x - y).max(axis=2)
    return float(diff.mean()), float((diff > 48).mean())


@pytest.mark.parametrize(
    "template,format_id",
    [(name, f) for name, t in sorted(load_all().items()) for f in t.formats],
)
def test_golden_images(
    brand: BrandKit, templates: dict, tmp_path: Path, template: str, format_id: str
) -> None:
    data = _data(photo=None) if template == "sorotan-logo" else _data()
    [card] = Renderer(brand, templates, tmp_path).render(data, template, [format_id])
    golden = GOLDEN / f"{template}-{format_id}.png"
    with Image.open(card.path) as img:
        rendered = img.convert("RGB")
    if UPDATE or not golden.exists():
        if not UPDATE:
            pytest.fail(f"no golden image {golden.name}: run `make goldens` and look at it")
        golden.parent.mkdir(parents=True, exist_ok=True)
        rendered.resize((rendered.width // 2, rendered.height // 2), Image.LANCZOS).save(
            golden, optimize=True
        )
        return
    with Image.open(golden) as img:
        expected = img.convert("RGB").resize(rendered.size, Image.LANCZOS)
    mean, strong = _similar(rendered, expected)
    assert mean < 3.0 and strong < 0.01, f"{golden.name}: mean {mean:.2f}, strong {strong:.3%}"


@pytest.mark.parametrize("format_id", ["ig_portrait", "fb_feed"])
def test_golden_cjk_name(brand: BrandKit, templates: dict, tmp_path: Path, format_id: str) -> None:
    """A brand with a Chinese name (issue 15): the Han characters come from the CJK fallback,
    drawn as bold as the extra-bold Latin beside them; refreshed with the others (make goldens)."""
    data = _data(name="Sepatu 金鹰 Jaya 鞋业", tagline="金鹰: sepatu kulit buatan tangan.")
    [card] = Renderer(brand, templates, tmp_path).render(data, "sorotan", [format_id])
    golden = GOLDEN / f"cjk-sorotan-{format_id}.png"
    with Image.open(card.path) as img:
        rendered = img.convert("RGB")
    if UPDATE or not golden.exists():
        if not UPDATE:
            pytest.fail(f"no golden image {golden.name}: run `make goldens` and look at it")
        rendered.resize((rendered.width // 2, rendered.height // 2), Image.LANCZOS).save(
            golden, optimize=True
        )
        return
    with Image.open(golden) as img:
        expected = img.convert("RGB").resize(rendered.size, Image.LANCZOS)
    mean, strong = _similar(rendered, expected)
    assert mean < 3.0 and strong < 0.01, f"{golden.name}: mean {mean:.2f}, strong {strong:.3%}"
    assert not [n for n in card.notes if "dropped" in n]  # every character had a font


def test_the_cache_key_covers_the_decoded_size(
    brand: BrandKit, templates: dict, tmp_path: Path
) -> None:
    """A photo decoded for one format only is smaller than for all: not the same card."""
    renderer = Renderer(brand, templates, tmp_path / "cards")
    path = tmp_path / "big.jpg"
    with Image.open(SAMPLE_MEDIA / "ifn-0002-1.jpg") as source:
        source.resize((4050, 3240)).save(path, quality=80)
    small = dataclasses.replace(_data(), photo=photos.load_image(path, min_side=600))
    large = dataclasses.replace(_data(), photo=photos.load_image(path, min_side=1920))
    [a] = renderer.render(small, "sorotan", ["fb_feed"])
    [b] = renderer.render(large, "sorotan", ["fb_feed"])
    assert a.path != b.path and not b.cached


def test_the_cache_key_covers_the_resampler(
    brand: BrandKit, templates: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another OpenCV build may resample to other pixels: its cards are not served from the
    cache made by this one."""
    renderer = Renderer(brand, templates, tmp_path / "cards")
    [a] = renderer.render(_data(), "sorotan", ["fb_feed"])
    monkeypatch.setattr(photos, "RESAMPLER", "opencv 0.0.0-other")
    [b] = renderer.render(_data(), "sorotan", ["fb_feed"])
    assert a.path != b.path and not b.cached


def test_static_plates_look_the_same_as_drawing_every_layer(
    brand: BrandKit, templates: dict, tmp_path: Path
) -> None:
    """Member-independent layers are drawn once per template and format and reused."""
    renderer = Renderer(brand, templates, tmp_path)
    renderer.render(_data(), "sorotan", ["ig_portrait"])
    renderer.render(_data(name="Sandal Lain"), "sorotan", ["ig_portrait"])
    assert {k[:2] for k in renderer._plates} == {("sorotan", "ig_portrait")}
    fmt = formats()["ig_portrait"]
    layers = templates["sorotan"].layers_for("ig_portrait")
    plated, _ = _Canvas(brand, _data(), fmt, Stopwatch(), {}).draw(layers, {}, "sorotan")
    direct, _ = _Canvas(brand, _data(), fmt, Stopwatch(), {}).draw(layers)
    mean, strong = _similar(plated, direct)
    assert mean < 0.5 and strong == 0.0


# --- safe zones, the badge pill and the network logo, measured on the drawn image -----------


def _drawn(brand: BrandKit, data: CardData, format_id: str, layers: list) -> np.ndarray:
    """The card drawn layer by layer (no plates), as an array."""
    image, _ = _Canvas(brand, data, formats()[format_id], Stopwatch(), {}).draw(layers)
    return np.asarray(image, dtype=np.int16)


def _unseen(layer: object) -> ShapeLayer:
    """A stand-in that draws nothing in the layer's box: the photo's crop, which keeps the
    product clear of every box drawn over it, is then the same as on the real card."""
    return ShapeLayer(
        name=layer.name,  # type: ignore[attr-defined]
        type="shape",
        when=layer.when,  # type: ignore[attr-defined]
        box=layer.box,  # type: ignore[attr-defined]
        color="paper",
        opacity=0.0,
    )


@pytest.mark.parametrize("name", ["Sepatu Kulit Priangan", "Sepatu " * 43, "鞋行 Sepatu Hoki 👟"])
@pytest.mark.parametrize("template", ["sorotan", "sorotan-logo"])
@pytest.mark.parametrize("format_id", ["story", "shorts_frame"])
def test_the_platform_bars_cover_only_photo_and_background(
    brand: BrandKit, templates: dict, template: str, format_id: str, name: str
) -> None:
    """Render the card, and again with every text, badge, chip and logo layer drawing nothing:
    every pixel they change lies inside the format's safe zone (the bars of Stories, YouTube's
    title row and button column see only the photo, the background and decoration)."""
    data = _data(name=name) if template == "sorotan" else _data(name=name, photo=None)
    layers = list(templates[template].layers_for(format_id))
    whole = _drawn(brand, data, format_id, layers)
    bare = _drawn(brand, data, format_id, [_unseen(x) if kept_clear(x) else x for x in layers])
    changed = np.abs(whole - bare).max(axis=2) > 0
    left, top, right, bottom = formats()[format_id].safe_rect()
    assert changed[top:bottom, left:right].mean() > 0.03  # the text and logos are there
    outside = changed.copy()
    outside[top:bottom, left:right] = False
    rows, cols = np.nonzero(outside)
    assert not rows.size, f"drawn outside the safe zone at y={rows[:3]}, x={cols[:3]}"


def _measure_pill(brand: BrandKit, layer: TextLayer, format_id: str) -> tuple[int, int, int]:
    """The pill drawn alone on a dark ground: (left padding, right padding, pill width) in
    pixels, from the pill's pixels (teal or lighter) and its white letters."""
    ground = BackgroundLayer(name="ground", type="background", fill={"color": "ink"})
    image = _drawn(brand, _data(), format_id, [ground, layer])
    pill = np.flatnonzero((image[..., 1] > 50).any(axis=0))  # teal G 74, ink G 26
    letters = np.flatnonzero((image[..., 0] > 140).any(axis=0))  # white on teal R 14
    assert pill.size and letters.size
    return letters[0] - pill[0], pill[-1] - letters[-1], pill[-1] - pill[0] + 1


@pytest.mark.parametrize("format_id", list(formats()))
def test_the_ribbon_pill_hugs_its_text_with_even_padding(
    brand: BrandKit, templates: dict, format_id: str
) -> None:
    [ribbon] = [x for x in templates["sorotan"].layers_for(format_id) if x.name == "ribbon"]
    fmt = formats()[format_id]
    left, right, width = _measure_pill(brand, ribbon, format_id)
    assert abs(left - right) <= 2, (left, right)
    assert left >= 0.01 * min(fmt.width, fmt.height)  # room either side of the letters
    # the box is the most the pill may take; the pill follows the text, not the box
    assert width < ribbon.box.pixels(fmt.width, fmt.height)[2] * 0.95
    short = ribbon.model_copy(update={"text": "Sorotan"})
    s_left, s_right, s_width = _measure_pill(brand, short, format_id)
    assert abs(s_left - s_right) <= 2 and abs(s_left - left) <= 2
    assert s_width < width * 0.6


@pytest.mark.parametrize("template", ["sorotan", "sorotan-logo", "sorotan-foto"])
def test_the_network_logo_is_drawn_at_least_its_format_minimum(
    brand: BrandKit, templates: dict, template: str
) -> None:
    ground = BackgroundLayer(name="ground", type="background", fill={"color": "ink"})
    for format_id in templates[template].formats:
        fmt = formats()[format_id]
        [logo] = [x for x in templates[template].layers_for(format_id) if x.name == "network_logo"]
        bare = _drawn(brand, _data(), format_id, [ground])
        alone = _drawn(
            brand, _data(), format_id, [ground, logo.model_copy(update={"backdrop": None})]
        )
        rows, cols = np.nonzero(np.abs(alone - bare).max(axis=2))
        height = rows.max() - rows.min() + 1
        assert fmt.logo_min_px <= height <= fmt.logo_min_px * 1.6, (format_id, height)
        assert 0.3 < (cols.max() - cols.min() + 1) / height < 0.5  # the whole mark, not a part
        if logo.backdrop:  # its light plate hugs it with `pad` on every side
            plated = _drawn(brand, _data(), format_id, [ground, logo])
            p_rows, p_cols = np.nonzero(np.abs(plated - bare).max(axis=2))
            pad = round(logo.pad * min(fmt.width, fmt.height))
            assert pad > 0
            for got, want in [
                (p_rows.min(), rows.min() - pad),
                (p_rows.max(), rows.max() + pad),
                (p_cols.min(), cols.min() - pad),
                (p_cols.max(), cols.max() + pad),
            ]:
                assert abs(got - want) <= 1, (format_id, got, want)


@settings(max_examples=300, deadline=None)
@given(
    width=st.integers(1, 5000),
    height=st.integers(1, 5000),
    fmt=st.sampled_from(sorted(formats())),
)
def test_the_blurred_ground_covers_any_photo_shape(width: int, height: int, fmt: str) -> None:
    """The story's blurred ground is cut from photos of every shape (a 1x5000 strip, a 1500x1000
    camera photo whose centred cut lands a float hair outside it) to the exact format size."""
    size = (formats()[fmt].width, formats()[fmt].height)
    source = photos.SourceImage(
        image=Image.new("RGB", (width, height), (120, 80, 40)),
        has_alpha=False,
        original_size=(width, height),
    )
    ground = render_mod._blurred(source, size, radius=40.0, darken=0.3)
    assert ground.size == size
    assert ground.mode == "RGB"


# --- what the smart crop keeps the product clear of -----------------------------------------


def test_an_overlay_is_what_its_layer_draws_not_the_box_it_may_take(
    brand: BrandKit, templates: dict
) -> None:
    """The crop keeps the product clear of what each layer draws over the photo: the ribbon's
    pill (narrower than its box), a one-line tagline at the foot of its two-line box, the
    chips drawn, the logo on its plate. Each layer drawn alone on a plain ground changes
    pixels only inside its overlay, and its overlay is no larger than what it changed."""
    ground = BackgroundLayer(name="ground", type="background", fill={"color": "ink"})
    data = _data(tagline="Sepatu kulit.")  # one short line in a box for two
    for format_id in templates["sorotan"].formats:
        fmt = formats()[format_id]
        layers = templates["sorotan"].layers_for(format_id)
        canvas = _Canvas(brand, data, fmt, Stopwatch(), {})
        canvas.layers = layers
        [photo] = [x for x in layers if x.name == "photo"]
        px, py, _, _ = photo.box.pixels(fmt.width, fmt.height)
        overlays = {o.name: o.box for o in canvas._overlays(photo)}
        assert "tagline" in overlays, (format_id, overlays)
        assert ("ribbon" in overlays) == (fmt.height > fmt.width * 0.8), format_id
        bare = _drawn(brand, data, format_id, [ground])
        for layer in layers:
            if layer.name not in overlays or layer.type == "shape":
                continue
            alone = _drawn(brand, data, format_id, [ground, layer])
            rows, cols = np.nonzero(np.abs(alone - bare).max(axis=2))
            left, top, right, bottom = overlays[layer.name]
            drawn = (cols.min() - px, rows.min() - py, cols.max() + 1 - px, rows.max() + 1 - py)
            # inside (the overlay is clipped to the photo), and tight within a few pixels
            assert left <= max(drawn[0], 0) and top <= max(drawn[1], 0), (layer.name, drawn)
            assert right >= drawn[2] or right >= photo.box.pixels(fmt.width, fmt.height)[2]
            assert bottom >= drawn[3] or bottom >= photo.box.pixels(fmt.width, fmt.height)[3]
            assert left >= drawn[0] - 6 and top >= drawn[1] - 6, (format_id, layer.name)
            assert right <= drawn[2] + 6 and bottom <= drawn[3] + 6, (format_id, layer.name)
            box = layer.box.pixels(fmt.width, fmt.height)
            if layer.name == "ribbon":
                assert right - left < box[2] * 0.95  # the pill, not its box
            if layer.name == "tagline" and format_id != "fb_feed":
                assert bottom - top < box[3] * 0.7  # one line of two


@pytest.mark.parametrize("format_id", ["story", "shorts_frame"])
def test_the_platform_bars_are_overlays_of_the_photo(
    brand: BrandKit, templates: dict, format_id: str
) -> None:
    """The product under Instagram's top bar or YouTube's button column is as hidden as under
    the ribbon: the bands outside the safe zone that meet the photo are overlays too."""
    fmt = formats()[format_id]
    layers = templates["sorotan"].layers_for(format_id)
    canvas = _Canvas(brand, _data(), fmt, Stopwatch(), {})
    canvas.layers = layers
    [photo] = [x for x in layers if x.name == "photo"]
    px, py, _, _ = photo.box.pixels(fmt.width, fmt.height)
    overlays = {o.name: o.box for o in canvas._overlays(photo)}
    assert overlays["the platform's top bar"] == (-px, -py, fmt.width - px, fmt.safe.top - py)
    if fmt.safe.right:
        column = fmt.width - fmt.safe.right - px
        assert overlays["the platform's button column"] == (
            column,
            -py,
            fmt.width - px,
            fmt.height - py,
        )
    assert "the platform's bottom bar" not in overlays  # the photo stops above it
    for format_id in ("ig_portrait", "fb_feed"):  # no bars: none
        canvas = _Canvas(brand, _data(), formats()[format_id], Stopwatch(), {})
        canvas.layers = templates["sorotan"].layers_for(format_id)
        [photo] = [x for x in canvas.layers if x.name == "photo"]
        assert not [o for o in canvas._overlays(photo) if o.name.startswith("the platform")]


def test_a_product_under_the_shorts_buttons_is_noted_with_how_much(
    brand: BrandKit, templates: dict, tmp_path: Path
) -> None:
    """A pair of soles seen from above (ifn-0011's photo) cannot be cut clear of everything
    on the Shorts frame: the note names what covers it, YouTube's button column included, each
    with the share of the product it covers; a sliver (under REPORTED_SHARE) is not named."""
    data = _data(photo="ifn-0011-1.jpg")
    [card] = Renderer(brand, templates, tmp_path).render(data, "sorotan", ["shorts_frame"])
    [note] = [n for n in card.notes if "product under" in n]
    assert note.startswith("photo: product under ") and note.endswith("(no crop keeps it clear)")
    named = dict(
        (name, int(share))
        for name, share in re.findall(r"([a-z_' ]+) \((\d+)%\)", note.split("under ", 1)[1])
    )
    assert "the platform's button column" in {k.strip() for k in named}, note
    assert all(share >= photos.REPORTED_SHARE * 100 - 0.5 for share in named.values()), note
