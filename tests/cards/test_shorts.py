"""The YouTube Short: real encodes, decoded again with PyAV to check what YouTube and people see.

A member's Short (photos, text build-up, end frame) is checked frame by frame: the format YouTube
wants, silence, every text and logo pixel inside the safe zone (on the overlay layers themselves
at every frame time, and on the decoded video against the same Short without them), no black
edges, photos that move and crossfade, the network logo on the end frame, the same bytes twice.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import math
import os
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ifn_campaign.cards import photo as photos
from ifn_campaign.cards import shorts
from ifn_campaign.cards.brand import BrandKit
from ifn_campaign.cards.shorts import ShortMember, ShortVideo, make_short, member_short
from ifn_campaign.errors import IFNError, RenderError, TemplateError, VideoError
from ifn_campaign.models import MediaAsset, Member, MemberMedia, Post

CARD = Path(__file__).parents[1] / "golden" / "cards" / "sorotan-shorts_frame.png"
MEDIA = Path(__file__).parents[2] / "assets" / "sample_registry" / "media"
NOW = datetime(2026, 12, 6, tzinfo=UTC)
FPS = 30


def _member(member_id: str = "ifn-0002", photo_count: int = 3, **changes: object) -> ShortMember:
    """A sample registry member with its photos and logo, as `short_member` gives it."""
    found = tuple(
        photos.load_image(MEDIA / f"{member_id}-{k}.jpg", min_side=2036)
        for k in range(1, photo_count + 1)
    )
    values: dict[str, object] = {
        "member_id": member_id,
        "business_name": "Sepatu Kulit Cibaduyut Sentosa",
        "place": "Kota Bandung, Jawa Barat",
        "categories": ("Sepatu kulit", "Sepatu bot", "Komponen"),
        "profile_url": f"https://ifn.kemenperin.go.id/anggota/{member_id}",
        "photos": found,
        "logo": photos.load_image(MEDIA / f"{member_id}-logo.png"),
        "initials": "SK",
    }
    values.update(changes)
    return ShortMember(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def member() -> ShortMember:
    return _member()


@pytest.fixture(scope="module")
def short(
    member: ShortMember, brand: BrandKit, tmp_path_factory: pytest.TempPathFactory
) -> ShortVideo:
    """The usual case: a member with three photos, default settings."""
    return member_short(member, tmp_path_factory.mktemp("short") / "member.mp4", brand=brand)


@pytest.fixture(scope="module")
def bare(member: ShortMember, brand: BrandKit, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same Short without its text and logo layers: the photo-only timeline."""
    timeline = shorts.member_timeline(len(member.photos))
    avoid = shorts._avoid(shorts.overlay_layers(member, timeline, brand))
    stills = shorts._member_stills(member, brand, avoid)
    out = tmp_path_factory.mktemp("bare") / "bare.mp4"
    shorts._write(out, stills, timeline, (), fps=FPS, preset=shorts.PRESET, crf=20, threads=2)
    return out


def _luma(path: Path) -> Iterator[np.ndarray]:
    """The Y plane of each frame, one at a time (all of them at once would be gigabytes)."""
    with av.open(str(path)) as container:
        container.streams.video[0].thread_type = "AUTO"
        for frame in container.decode(video=0):
            yield frame.to_ndarray()[:1920]


def _frames_at(path: Path, indices: set[int]) -> dict[int, np.ndarray]:
    return {i: y.astype(np.float64) for i, y in enumerate(_luma(path)) if i in indices}


def _outside(rect: tuple[int, int, int, int]) -> np.ndarray:
    """A 1920x1080 mask of the pixels outside the safe rectangle."""
    left, top, right, bottom = rect
    mask = np.ones((1920, 1080), bool)
    mask[top:bottom, left:right] = False
    return mask


def _boxes(path: Path) -> list[str]:
    data = path.read_bytes()
    names, pos = [], 0
    while pos < len(data):
        size, name = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        names.append(name.decode("latin-1"))
        pos += size if size else len(data)
    return names


# --------------------------------------------------------------------------------------------
# the member's Short as YouTube sees it


@pytest.mark.slow
def test_a_silent_vertical_h264_short_of_6_to_15_seconds(short: ShortVideo) -> None:
    with av.open(str(short.path)) as container:
        assert not container.streams.audio  # silent: no audio stream at all
        video = container.streams.video[0]
        ctx = video.codec_context
        assert (ctx.name, ctx.pix_fmt, ctx.profile) == ("h264", "yuv420p", "High")
        assert (ctx.width, ctx.height) == (1080, 1920)
        assert video.average_rate == FPS
        assert (ctx.colorspace, ctx.color_range) == (1, 1)  # BT.709, limited range
        seconds = float(video.duration * video.time_base)
        frames = sum(1 for _ in container.decode(video=0))
    assert 6 <= seconds <= 15 and abs(seconds - short.seconds) <= 1 / FPS
    assert frames == short.frames == round(short.seconds * FPS)
    data = short.path.read_bytes()
    assert short.bytes == len(data) and short.sha256 == hashlib.sha256(data).hexdigest()
    assert os.listdir(short.path.parent) == ["member.mp4"]  # no temporary file left
    boxes = _boxes(short.path)
    assert boxes[0] == "ftyp" and boxes.index("moov") < boxes.index("mdat")


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4, 9])
def test_every_member_gets_6_to_15_seconds(count: int) -> None:
    timeline = shorts.member_timeline(count, FPS)
    assert 6 <= timeline.duration <= 15
    most = shorts.style().max_photos
    assert len(timeline.starts) == min(max(count, 1), most) + 1  # and the end frame
    assert timeline.lengths[-1] >= shorts.style().end_seconds - 1 / FPS


# --------------------------------------------------------------------------------------------
# the words and the pace are data (templates/shorts/short.toml)

_STYLE = """
[words]
ribbon = "Sorotan Anggota IFN"
profile_lead = "Lihat profil lengkap di"

[pace]
photo_seconds = 2.75
body_seconds = [5.5, 11.0]
end_seconds = 3.5
max_photos = 4
"""


_TEN_SHORT = "body_seconds = [5.5, 9.0]\nend_seconds = 3.5\nmax_photos = 10"  # 1.35 s a photo


def test_the_words_and_pace_come_from_the_template() -> None:
    import tomllib

    data = tomllib.loads(shorts.STYLE_FILE.read_text(encoding="utf-8"))
    style = shorts.style()
    assert style.ribbon == data["words"]["ribbon"]
    assert style.profile_lead == data["words"]["profile_lead"]
    assert style.end_seconds == data["pace"]["end_seconds"]
    assert style.max_photos == data["pace"]["max_photos"]


def test_a_changed_style_changes_the_short(tmp_path: Path, brand: BrandKit) -> None:
    """Other words and pace in the file give other layers and another timeline."""
    path = tmp_path / "short.toml"
    path.write_text(
        _STYLE.replace("Sorotan Anggota IFN", "Anggota Pilihan Jaringan Alas Kaki")
        .replace("end_seconds = 3.5", "end_seconds = 4.5")
        .replace("max_photos = 4", "max_photos = 2"),
        encoding="utf-8",
    )
    changed = shorts.load_style(path)
    usual = shorts.member_timeline(3, FPS)
    timeline = shorts.member_timeline(3, FPS, changed)
    assert len(timeline.starts) == 3 and len(usual.starts) == 4  # two photos and the end
    assert abs(timeline.lengths[-1] - 4.5) < 1 / FPS
    member = _member()
    ribbon = {
        name: next(layer for layer in layers if layer.name == "ribbon").image.width
        for name, layers in (
            ("usual", shorts.overlay_layers(member, usual, brand)),
            ("changed", shorts.overlay_layers(member, timeline, brand, changed)),
        )
    }
    assert ribbon["changed"] > ribbon["usual"] + 100  # the longer words, on a pill hugging them
    stills = shorts._member_stills(member, brand, (), changed)
    assert len(stills) == 3


@pytest.mark.parametrize("key", ["ribbon", "profile_lead"])
def test_words_too_long_for_one_line_are_refused(key: str, brand: BrandKit) -> None:
    """The style's words are never cut with an ellipsis: too long for one line is an error."""
    style = shorts.style().model_copy(update={key: "W" * 40})
    member = _member()
    with pytest.raises(TemplateError, match=f"short.toml, key '{key}'"):
        shorts.overlay_layers(member, shorts.member_timeline(3, FPS, style), brand, style)


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        (('ribbon = "Sorotan Anggota IFN"', 'ribbon = ""'), "ribbon", "at least 1"),
        (("end_seconds = 3.5", "end_seconds = 9.0"), None, "a 19.5 s Short"),
        (("body_seconds = [5.5, 11.0]", "body_seconds = [11.0, 5.5]"), None, "least <= most"),
        (
            ("body_seconds = [5.5, 11.0]\nend_seconds = 3.5\nmax_photos = 4", _TEN_SHORT),
            None,
            "under 1.5 s",
        ),
        (("max_photos = 4", "max_photos = 4\nmusic = true"), "music", "Extra inputs"),
        (("[pace]", "[tempo]"), "tempo", "unknown section"),
        (("photo_seconds = 2.75", "photo_seconds = 'slow'"), "photo_seconds", "number"),
        (("[words]", "[words"), None, "not valid TOML"),
    ],
)
def test_a_mistake_in_the_style_names_the_file_and_key(
    change: tuple[str, str], key: str | None, message: str, tmp_path: Path
) -> None:
    path = tmp_path / "short.toml"
    path.write_text(_STYLE.replace(*change), encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        shorts.load_style(path)
    assert str(path) in str(caught.value) and message in str(caught.value)
    if key:
        assert f"key {key!r}" in str(caught.value)
    assert shorts.load_style(shorts.STYLE_FILE) == shorts.style()  # the shipped file is fine


@pytest.mark.slow
def test_same_member_gives_the_same_bytes(
    short: ShortVideo, member: ShortMember, brand: BrandKit, tmp_path: Path
) -> None:
    again = member_short(member, tmp_path / "again.mp4", brand=brand)
    assert again.sha256 == short.sha256


# --------------------------------------------------------------------------------------------
# the safe zone


def _members_to_check() -> list[ShortMember]:
    long_name = "Koperasi Industri Alas Kaki " + "Sepatu" * 40  # one over-long word included
    return [
        _member(),
        _member("ifn-0001", 1),
        _member("ifn-0003", 0),  # logo only
        _member("ifn-0003", 0, logo=None),  # neither photo nor logo: initials
        _member(
            "ifn-0006",
            4 if (MEDIA / "ifn-0006-4.jpg").exists() else 3,
            business_name=long_name,
            place="Kabupaten Sidoarjo, Jawa Timur, " * 4,
            categories=("Sepatu olahraga", "Sepatu kulit", "Sandal", "Sepatu flat wanita"),
            profile_url="https://registry.example.org/profil/anggota/" + "x" * 80,
        ),
        _member("ifn-0002", 2, business_name="مصنع الأحذية الإندونيسي", place=""),
        _member(
            "ifn-0001",
            2,
            business_name="万达鞋业 Sepatu 皮鞋工厂 👟🔥",
            place="泗水, Jawa Timur",
            categories=("Sandal 🩴", "サンダル", "Sepatu " * 12),
        ),
    ]


@pytest.mark.parametrize("index", range(7))
def test_text_and_logo_layers_never_leave_the_safe_zone(index: int, brand: BrandKit) -> None:
    member = _members_to_check()[index]
    timeline = shorts.member_timeline(len(member.photos), FPS)
    layers = shorts.overlay_layers(member, timeline, brand)
    rect = shorts.safe_rect()
    assert rect == (0, 200, 890, 1440)  # templates/cards/formats.toml [shorts_frame] safe
    for layer in layers:  # everywhere a layer can be, slides included
        x0, y0, x1, y1 = layer.reach()
        assert rect[0] <= x0 and rect[1] <= y0 and x1 <= rect[2] and y1 <= rect[3], layer.name
    outside = _outside(rect)
    # as drawn, at every frame's time
    for i in range(timeline.frames):
        alpha = np.asarray(shorts.overlay_at(layers, timeline.time(i)).getchannel("A"))
        assert not alpha[outside].any(), f"frame {i}"
    # and something is shown: the name at the end of the photos, the logo at the end
    names = {layer.name for layer in layers}
    assert {"name", "network_logo", "profile_link", "profile_lead"} <= names
    assert ("logo_card" in names) == (not member.photos)


@pytest.mark.slow
def test_decoded_frames_outside_the_safe_zone_are_the_photos_alone(
    short: ShortVideo, bare: Path
) -> None:
    """Compare every decoded frame with the same Short made without text and logo layers:
    outside the safe rectangle only compression noise may differ; inside, the text is there."""
    outside = _outside(shorts.safe_rect())
    worst, largest, inside = 0.0, 0, []
    for with_text, photo_only in zip(_luma(short.path), _luma(bare), strict=True):
        diff = np.abs(with_text.astype(np.int16) - photo_only.astype(np.int16))
        worst = max(worst, float(np.percentile(diff[outside], 99.99)))
        largest = max(largest, int(diff[outside].max()))
        inside.append(float(diff[~outside].mean()))
    # measured: 5 and 14 levels of compression noise; a text or logo pixel differs by 100 and more
    assert worst < 12 and largest < 48, (worst, largest)
    assert max(inside) > 10  # the overlay is really in the frames compared


def test_no_frame_has_black_edges(short: ShortVideo) -> None:
    for i, y in enumerate(_luma(short.path)):
        edges = (y[:2], y[-2:], y[:, :2], y[:, -2:])
        assert min(float(edge.mean()) for edge in edges) > 30, f"frame {i}"  # black is 16


@pytest.mark.parametrize("motion", range(len(shorts._MOTIONS)))
def test_the_moving_picture_always_covers_the_frame_at_a_steady_speed(motion: int) -> None:
    still = shorts._Still(
        shorts._to_ycbcr(Image.new("RGB", shorts._STILL_SIZE, "white")), shorts._MOTIONS[motion]
    )
    width, height = shorts._STILL_SIZE
    boxes = [still.box(p) for p in np.linspace(0, 1, 61)]
    for left, top, right, bottom in boxes:
        assert left >= -1e-9 and top >= -1e-9 and right <= width + 1e-9
        assert bottom <= height + 1e-9
        assert abs((right - left) / (bottom - top) - 1080 / 1920) < 0.001  # never stretched
    steps = np.diff(np.array(boxes), axis=0)
    assert np.allclose(steps, steps[0], atol=1e-9)  # the same step every frame: constant speed
    assert np.abs(steps[0]).max() > 0.3  # and it moves


# --------------------------------------------------------------------------------------------
# what people see: the photos, the build-up, the end frame


def test_photos_follow_one_another_with_crossfades(short: ShortVideo, bare: Path) -> None:
    timeline = shorts.member_timeline(3, FPS)
    frame = {  # the frame shown at a time
        name: round(t * (timeline.frames - 1) / timeline.duration)
        for name, t in {
            "first": timeline.starts[0] + 1.0,
            "before": timeline.starts[1] - 0.02,
            "fade": timeline.starts[1] + shorts.CROSSFADE / 2,
            "after": timeline.starts[1] + shorts.CROSSFADE + 0.02,
            "second": timeline.starts[1] + 1.2,
            "third": timeline.starts[2] + 1.2,
        }.items()
    }
    neighbours = {frame["first"] + 1, frame["second"] + 1}
    y = _frames_at(bare, set(frame.values()) | neighbours)
    first, second, third = y[frame["first"]], y[frame["second"]], y[frame["third"]]
    products = slice(300, 1000)  # where the products stand, between the ribbon and the name
    assert np.abs(first - second)[products].mean() > 8
    assert np.abs(second - third)[products].mean() > 8
    # the crossfade is half of each, not a cut
    before, fade, after = y[frame["before"]], y[frame["fade"]], y[frame["after"]]
    halfway = np.abs(fade - (before + after) / 2).mean()
    assert halfway < np.abs(before - after).mean() / 4
    assert np.abs(fade - before).mean() > 3 and np.abs(fade - after).mean() > 3
    # each photo moves gently: neighbouring frames differ, but only a little
    for i in (frame["first"], frame["second"]):
        step = np.abs(y[i] - y[i + 1]).mean()
        assert 0 < step < 2.0


def test_a_tall_photo_is_cut_so_the_product_stays_clear_of_the_text(brand: BrandKit) -> None:
    """Tall photos keep the smart crop, which moves the product out from under the plates
    (square and landscape ones are shown whole, above them)."""
    tall = Image.new("RGB", (1080, 2400), (235, 232, 228))
    tall.paste((30, 30, 40), (300, 1150, 780, 1450))  # the product, a little below the middle
    source = photos.SourceImage(tall, False, tall.size)
    member = _member(photos=(source,))
    avoid = shorts._avoid(shorts.overlay_layers(member, shorts.member_timeline(1), brand))
    assert {o.name for o in avoid} == {"ribbon", "name", "place", "categories"}

    def product(avoiding: list[photos.Overlay]) -> tuple[int, int]:
        luma = shorts._Still.of_photo(source, shorts._MOTIONS[0], avoiding).planes[0]
        rows = np.flatnonzero((luma < 80).any(axis=1))
        return int(rows[0]), int(rows[-1])

    name_top = min(o.box[1] for o in avoid if o.name != "ribbon")
    ribbon_bottom = next(o.box[3] for o in avoid if o.name == "ribbon")
    assert product([])[1] > name_top  # the plain smart crop puts it under the name
    top, bottom = product(avoid)
    assert ribbon_bottom < top and bottom < name_top


def test_a_product_no_cut_can_clear_is_noted(brand: BrandKit, tmp_path: Path) -> None:
    """A tall photo the product fills from top to bottom cannot be cut clear of the plates: the
    Short is still made, and its notes say so (as a card's notes do); a clear one says nothing."""
    tall = Image.new("RGB", (1000, 2000), (235, 232, 228))
    tall.paste((30, 30, 40), (150, 100, 850, 1900))
    filled = photos.SourceImage(tall, False, tall.size)
    member = _member(photos=(filled,))
    avoid = shorts._avoid(shorts.overlay_layers(member, shorts.member_timeline(1), brand))
    notes: list[str] = []
    shorts._member_stills(member, brand, avoid, notes=notes)
    assert notes and notes[0].startswith("photo 1: product under ")
    assert "name" in notes[0] and "no cut keeps it clear" in notes[0]
    video = member_short(member, tmp_path / "noted.mp4", fps=24, brand=brand)
    assert video.notes == tuple(notes)
    clear: list[str] = []
    shorts._member_stills(_member(), brand, avoid, notes=clear)
    assert clear == []


def test_blank_categories_make_no_chips(brand: BrandKit) -> None:
    timeline = shorts.member_timeline(1)
    layers = {
        tuple(cats): {
            layer.name: layer
            for layer in shorts.overlay_layers(_member(categories=cats), timeline, brand)
        }
        for cats in (("", " ", "Sepatu"), ("Sepatu",), ("", "\u3000"))
    }
    one = layers[("Sepatu",)]["categories"].image
    assert layers[("", " ", "Sepatu")]["categories"].image.size == one.size
    assert "categories" not in layers[("", "\u3000")]


def _product_still(
    size: tuple[int, int], product: tuple[float, float, float, float], brand: BrandKit
) -> tuple[np.ndarray, list[photos.Overlay]]:
    """The first still's luma of a member whose one photo is `size` with a dark product filling
    `product` (fractions of the photo) on a studio background, and the text plates' boxes."""
    picture = Image.new("RGB", size, (235, 232, 228))
    w, h = size
    x0, y0, x1, y1 = product
    picture.paste((30, 30, 40), (round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h)))
    member = _member(photos=(photos.SourceImage(picture, False, picture.size),))
    avoid = shorts._avoid(shorts.overlay_layers(member, shorts.member_timeline(1), brand))
    return shorts._member_stills(member, brand, avoid)[0].planes[0], avoid


@pytest.mark.parametrize(
    ("size", "product"),
    [
        ((1200, 1200), (0.15, 0.08, 0.85, 0.92)),  # a square photo the product fills
        ((1600, 1200), (0.1, 0.1, 0.9, 0.9)),  # 4:3
        ((1200, 1600), (0.2, 0.05, 0.8, 0.95)),  # 3:4, the first aspect shown whole
        ((2000, 1000), (0.05, 0.3, 0.95, 0.7)),  # 2:1, a pair side by side
        ((1500, 1200), (0.3, 0.02, 0.7, 0.3)),  # the product near the photo's top edge
    ],
)
def test_a_whole_photo_keeps_the_product_clear_of_the_text(
    size: tuple[int, int], product: tuple[float, float, float, float], brand: BrandKit
) -> None:
    """Square and landscape photos are shown whole; the product in them sits between the ribbon
    and the name plate wherever the motion moves the still (issue 15: a sandal strap ran under
    the plates), shown whole (its shape kept) and as large as that band allows."""
    luma, avoid = _product_still(size, product, brand)
    rows = np.flatnonzero((luma < 80).any(axis=1))
    cols = np.flatnonzero((luma < 80).any(axis=0))
    name_top = min(o.box[1] for o in avoid if o.name != "ribbon")
    ribbon_bottom = next(o.box[3] for o in avoid if o.name == "ribbon")
    assert ribbon_bottom < rows[0] and rows[-1] < name_top, (rows[0], rows[-1])
    tall, wide = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    x0, y0, x1, y1 = product
    assert abs(wide / tall - (x1 - x0) * size[0] / ((y1 - y0) * size[1])) < 0.03  # not cut
    assert cols[0] > 0 and cols[-1] < luma.shape[1] - 1
    # as large as the band between ribbon and name allows, or the whole width
    assert tall > 0.85 * (name_top - ribbon_bottom) or wide > 0.85 * luma.shape[1] * (x1 - x0)
    # and the still is covered: no black edge where the photo was made smaller
    for edge in (luma[:4], luma[-4:], luma[:, :4], luma[:, -4:]):
        assert edge.min() > 150


def test_a_whole_photo_without_plates_to_avoid_is_centred_across_the_width() -> None:
    """No text plates to keep clear of (the plain encoder's case): the whole photo across the
    width at PHOTO_CENTRE_Y, its edges continued."""
    picture = Image.new("RGB", (1200, 1200), (235, 232, 228))
    picture.paste((30, 30, 40), (0, 300, 1200, 900))  # a band across the whole width
    still = shorts._Still.of_photo(
        photos.SourceImage(picture, False, picture.size), shorts._MOTIONS[0]
    )
    luma = still.planes[0]
    rows = np.flatnonzero((luma < 80).all(axis=1))
    middle = (shorts._STILL_SIZE[1] - 1920) / 2 + shorts.PHOTO_CENTRE_Y
    assert abs((rows[0] + rows[-1]) / 2 - middle) < 4
    assert abs((rows[-1] - rows[0] + 1) - shorts._STILL_SIZE[0] / 2) < 4


def test_a_transparent_photo_stands_on_paper(brand: BrandKit) -> None:
    """A product cut out on transparency (a PNG without background) shows on the brand's paper,
    as on the cards, not on the black its transparent pixels happen to hold."""
    cut_out = Image.new("RGBA", (1200, 1200), (0, 0, 0, 0))
    cut_out.paste((120, 60, 30, 255), (300, 400, 900, 800))
    source = photos.load_image(_png(cut_out), min_side=2036)
    assert source.has_alpha
    member = _member(photos=(source,))
    avoid = shorts._avoid(shorts.overlay_layers(member, shorts.member_timeline(1), brand))
    luma = shorts._member_stills(member, brand, avoid)[0].planes[0]
    paper = shorts._to_ycbcr(Image.new("RGB", (2, 2), brand.rgb("paper")))[0][0, 0]
    for corner in (luma[:8, :8], luma[:8, -8:], luma[-8:, :8], luma[-8:, -8:]):
        assert abs(float(corner.mean()) - float(paper)) < 3


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_name_place_and_categories_build_up_one_after_another(
    member: ShortMember, brand: BrandKit
) -> None:
    timeline = shorts.member_timeline(len(member.photos), FPS)
    layers = {layer.name: layer for layer in shorts.overlay_layers(member, timeline, brand)}
    order = [layers[name] for name in ("ribbon", "name", "place", "categories")]
    assert [layer.start for layer in order] == sorted(layer.start for layer in order)
    assert len({layer.start for layer in order}) == 4
    place = layers["place"]
    just_in = place.start + shorts.FADE / 3
    assert layers["name"].opacity(just_in) == 1.0 and 0 < place.opacity(just_in) < 1
    assert layers["categories"].opacity(just_in) == 0.0
    assert place.offset(place.start) == shorts.RISE and place.offset(place.start + 1) == 0
    # stacked top to bottom without overlapping: name, place, categories
    tops = [(layers[n].y, layers[n].y + layers[n].image.height) for n in ("name", "place")]
    assert tops[0][1] <= tops[1][0] <= layers["categories"].y
    # all on screen together, then gone before the end frame's logo is fully in
    shown = timeline.starts[-1] - 0.1
    assert all(layer.opacity(shown) == 1.0 for layer in order)
    last = timeline.duration
    assert all(layer.opacity(last) == 0.0 for layer in order)
    assert all(layers[n].opacity(last) == 1.0 for n in ("network_logo", "profile_link"))


def test_end_frame_shows_the_network_logo_and_the_profile_link(
    short: ShortVideo, member: ShortMember, brand: BrandKit
) -> None:
    timeline = shorts.member_timeline(len(member.photos), FPS)
    layers = {layer.name: layer for layer in shorts.overlay_layers(member, timeline, brand)}
    (last,) = _frames_at(short.path, {short.frames - 1}).values()
    # what the end frame should be: the brand's teal with the layers over it
    start, end = brand.gradients["hero"]
    expected = shorts._gradient(
        shorts._STILL_SIZE, brand.rgb(start), brand.rgb(end), "vertical"
    ).convert("RGBA")
    left = (shorts._STILL_SIZE[0] - 1080) // 2 + 0.0
    top = (shorts._STILL_SIZE[1] - 1920) // 2 + 0.0
    expected = expected.crop((int(left), int(top), int(left) + 1080, int(top) + 1920))
    expected.alpha_composite(shorts.overlay_at(list(layers.values()), timeline.duration))
    rgb = np.asarray(expected.convert("RGB"), dtype=np.float32) / 255.0
    want = shorts._ycbcr(rgb)[0]
    for name in ("network_logo", "profile_link", "end_name"):
        layer = layers[name]
        box = (
            slice(layer.y, layer.y + layer.image.height),
            slice(layer.x, layer.x + layer.image.width),
        )
        assert np.abs(last[box] - want[box]).mean() < 3, name
        # and the region is not just background: the logo's white sole and link plate stand out
        assert last[box].max() - last[box].min() > 120, name


@pytest.mark.parametrize(
    "url",
    [
        "https://ifn.kemenperin.go.id/anggota/ifn-0012",
        "https://registry.industri-alas-kaki.kemenperin.go.id/direktori/anggota/profil/ifn-0012"
        "?utm_source=youtube&utm_medium=shorts",
        "https://ifn.kemenperin.go.id/anggota/"
        + "sepatu-kulit-cibaduyut-sentosa-" * 3
        + "ifn-0012",
    ],
)
def test_the_profile_link_is_shown_whole(url: str, brand: BrandKit) -> None:
    """The end frame's link is where people find the member: never cut with an ellipsis (a
    link with tracking parameters was cut after two lines), on as few lines as it needs."""
    member = _member(profile_url=url)
    layers = shorts.overlay_layers(member, shorts.member_timeline(3), brand)
    link = next(layer for layer in layers if layer.name == "profile_link")
    left, _, right, _ = shorts.safe_rect()
    width = right - shorts.MARGIN - shorts._even(left + shorts.MARGIN)  # as overlay_layers
    block = shorts._link_block(brand, shorts._readable_link(url), width)
    assert link.image.width <= width
    assert "".join(block.lines) == url.removeprefix("https://")
    assert not block.truncated and block.size >= 26
    ink = np.asarray(link.image.convert("L"))  # dark letters on the paper plate
    rows = np.flatnonzero((ink < 100).any(axis=1))
    assert rows[-1] - rows[0] > block.line_height * (len(block.lines) - 1)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://ifn.kemenperin.go.id/anggota/" + "x" * 400, "does not fit whole"),
        ("https://ifn.kemenperin.go.id/anggota/\U00013000ifn-0012", "no font can draw"),
    ],
)
def test_a_profile_link_that_cannot_be_shown_whole_is_refused(
    url: str, message: str, brand: BrandKit
) -> None:
    member = _member(profile_url=url)
    with pytest.raises(VideoError, match=rf"{message}.*captions\.profile_url"):
        shorts.overlay_layers(member, shorts.member_timeline(3), brand)


@pytest.mark.slow
def test_a_member_with_one_photo_or_none_still_gets_a_full_short(
    brand: BrandKit, tmp_path: Path
) -> None:
    for count, logo in ((1, True), (0, True), (0, False)):
        member = _member("ifn-0001", count, **({} if logo else {"logo": None}))
        video = member_short(member, tmp_path / f"m{count}{logo}.mp4", fps=24, brand=brand)
        assert 6 <= video.seconds <= 15
        timeline = shorts.member_timeline(count, 24)
        layers = {layer.name: layer for layer in shorts.overlay_layers(member, timeline, brand)}
        middle = round((timeline.starts[-1] - 0.5) * 24)  # the text all built up
        (y,) = _frames_at(video.path, {middle}).values()
        name = layers["name"]
        plate = y[name.y : name.y + name.image.height, name.x : name.x + name.image.width]
        assert plate.max() - plate.min() > 100  # white letters on the teal plate
        if not count:
            card = layers["logo_card"]
            region = y[card.y : card.y + card.image.height, card.x : card.x + card.image.width]
            assert region.max() - region.min() > 60  # the logo or initials on the paper card


# --------------------------------------------------------------------------------------------
# from the database


def _store_member(
    session: Session, folder: Path, photo_files: list[Path], logo: Path | None
) -> None:
    session.add(
        Member(
            id="m1",
            source="test",
            business_name="CV Kulit Priangan",
            actor_types=["producer"],
            categories=["leather_shoes", "boots"],
            description_id="Sepatu kulit buatan tangan.",
            city="Kota Bandung",
            province="Jawa Barat",
            updated_at=NOW,
            content_hash="x",
            raw_hash="x",
            first_seen_at=NOW,
            last_seen_at=NOW,
            last_changed_at=NOW,
        )
    )
    media = [("photo", p) for p in photo_files] + ([("logo", logo)] if logo else [])
    for position, (role, source) in enumerate(media):
        sha = hashlib.sha256(source.read_bytes()).hexdigest()
        path = folder / source.name
        path.write_bytes(source.read_bytes())
        session.add(
            MediaAsset(
                sha256=sha,
                mime_type="image/jpeg",
                width=1,
                height=1,
                bytes=path.stat().st_size,
                source_url="http://x",
                fetched_at=NOW,
                path=str(path),
            )
        )
        session.flush()
        session.add(
            MemberMedia(
                member_id="m1",
                role=role,
                position=position,
                source_url="http://x",
                asset_sha256=sha,
                checked_at=NOW,
            )
        )
    session.commit()


@pytest.mark.slow
def test_a_stored_member_in_the_short(sqlite_engine: Engine, tmp_path: Path) -> None:
    files = [MEDIA / f"ifn-0002-{k}.jpg" for k in (1, 2, 3)]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a picture")
    with Session(sqlite_engine) as session:
        _store_member(session, tmp_path, [*files, broken], MEDIA / "ifn-0002-logo.png")
        found = shorts.short_member(
            session, "m1", profile_url="https://ifn.example/p/{id}", file=Path
        )
        assert found.business_name == "CV Kulit Priangan"
        assert found.place == "Kota Bandung, Jawa Barat"
        assert found.categories == ("Sepatu kulit", "Sepatu bot")
        assert found.profile_url == "https://ifn.example/p/m1"
        assert len(found.photos) == 3 and found.logo is not None  # the broken one left out
        with pytest.raises(IFNError, match="profile_url"):
            shorts.short_member(session, "m1", profile_url="https://ifn.example/{name}", file=Path)
        post = Post(
            campaign="c",
            channel="youtube",
            account="a",
            slot_at=NOW,
            member_id="m1",
            template="sorotan",
            reason_id="r",
            reason_en="r",
            state_changed_at=NOW,
            created_at=NOW,
        )
        session.add(post)
        session.commit()
        with pytest.raises(IFNError, match="no card"):
            shorts.post_video(post, tmp_path / "videos", file=Path)
        post.card_path = str(CARD)
        made = shorts.post_video(
            post, tmp_path / "videos", profile_url="https://ifn.example/{id}", file=Path
        )
        assert made == tmp_path / "videos" / f"post-{post.id}.mp4" and made.stat().st_size > 0


# --------------------------------------------------------------------------------------------
# the plain still encoder underneath (the old card-only Short, the benchmark's baseline)


def test_stills_crossfade_without_sound(tmp_path: Path) -> None:
    dark = Image.new("RGBA", (1080, 1920), (40, 40, 40, 255))  # a PIL image, with alpha
    light = tmp_path / "photo.jpg"
    Image.new("RGB", (800, 600), (215, 215, 215)).save(light)  # the wrong size: covered
    video = make_short([dark, light], tmp_path / "two.mp4", seconds=4.5, fps=24, preset="ultrafast")
    assert video.seconds == 6.0  # a request under 6 s is clamped
    with av.open(str(video.path)) as container:
        assert not container.streams.audio
        stream = container.streams.video[0]
        assert (stream.width, stream.height, stream.average_rate) == (1080, 1920, 24)
    means = [frame.mean() for frame in _luma(video.path)]
    assert len(means) == 144

    def at(seconds: float) -> int:  # the frame shown at a time
        return round(seconds * 143 / 6)

    assert means[0] < 60 and means[-1] > 190
    # the stills overlap from 2.75 to 3.25 s: a gradual, monotonic fade there, none elsewhere
    fade = means[at(2.7) : at(3.3)]
    assert all(b >= a - 0.5 for a, b in itertools.pairwise(fade))
    assert 60 < means[at(3.0)] < 190
    before, after = means[: at(2.7)], means[at(3.3) :]
    assert max(before) - min(before) < 1
    assert max(after) - min(after) < 1


def test_missing_frame_file(tmp_path: Path) -> None:
    missing = tmp_path / "gone.png"
    with pytest.raises(VideoError, match=r"frame 1 .*unreadable") as info:
        make_short([CARD, missing], tmp_path / "out.mp4")
    assert isinstance(info.value, RenderError)
    assert (info.value.frame, info.value.path) == (1, missing)
    assert not (tmp_path / "out.mp4").exists()


def test_frame_that_is_not_an_image(tmp_path: Path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(VideoError, match="not_an_image"):
        make_short([text], tmp_path / "out.mp4")
    assert sorted(os.listdir(tmp_path)) == ["notes.png"]


@pytest.mark.parametrize("seconds", [0, -3, math.nan, math.inf])
def test_nonsense_length_is_refused(seconds: float, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="seconds"):
        make_short([CARD], tmp_path / "out.mp4", seconds=seconds)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"fps": 29}, "fps"), ({"preset": "warp"}, "preset"), ({"threads": 0}, "threads")],
)
def test_bad_encoder_settings_are_refused(kwargs: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        make_short([CARD], tmp_path / "out.mp4", **kwargs)
    with pytest.raises(ValueError, match=message):
        member_short(_member("ifn-0001", 0), tmp_path / "out.mp4", **kwargs)


def test_requests_are_clamped_to_6_to_15_seconds() -> None:
    assert shorts._timing(2.0, 30) == (180, 6.0)
    assert shorts._timing(9.5, 24) == (228, 9.5)
    assert shorts._timing(40.0, 60) == (900, 15.0)


def test_too_many_or_no_frames(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one frame"):
        make_short([], tmp_path / "out.mp4")
    with pytest.raises(ValueError, match="at most 5"):
        make_short([CARD] * 6, tmp_path / "out.mp4", seconds=6)


def test_output_folder_that_cannot_be_made(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(VideoError, match="cannot write to"):
        make_short([CARD], blocker / "out.mp4")
    with pytest.raises(VideoError, match="is a directory"):
        make_short([CARD], tmp_path)


def test_failure_midway_leaves_the_old_file_and_no_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "member.mp4"
    out.write_bytes(b"the previous video")
    made = shorts._frame

    def failing(stills, timeline, layers, index):  # type: ignore[no-untyped-def]
        if index == 10:
            raise RuntimeError("boom")
        return made(stills, timeline, layers, index)

    monkeypatch.setattr(shorts, "_frame", failing)
    with pytest.raises(RuntimeError, match="boom"):
        member_short(_member("ifn-0001", 1), out, preset="ultrafast")
    assert os.listdir(tmp_path) == ["member.mp4"]
    assert out.read_bytes() == b"the previous video"
