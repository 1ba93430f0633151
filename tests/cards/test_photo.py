"""Photo and logo loading, smart crop and resizing for the promo cards.

Every input is drawn here with Pillow (no binary fixtures), plus the awkward photos of the bundled
sample registry. ICC profiles that Pillow cannot create (a CMYK press profile, an RGB profile that
is not sRGB) are written byte by byte by `_icc`, so the colour-managed paths run for real.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms, ImageDraw, ImageFile, ImageOps

from ifn_campaign.cards import photo
from ifn_campaign.cards.photo import (
    REPORTED_SHARE,
    Overlay,
    SourceImage,
    contain,
    cover,
    crop_box,
    focus_point,
    load_image,
    parent_cut,
    place,
    subject_box,
)
from ifn_campaign.errors import ImageUnusable
from ifn_campaign.registry.media import ALLOWED_FORMATS

SAMPLES = Path(__file__).resolve().parents[2] / "assets" / "sample_registry" / "media"
LIGHT = (236, 233, 228)
DARK = (28, 30, 38)


# ---------------------------------------------------------------------------------------------
# helpers


def _encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def _reason(data: bytes | Path, **kwargs: int) -> str:
    with pytest.raises(ImageUnusable) as info:
        load_image(data, **kwargs)
    return info.value.reason


def _patches(colours: list[tuple[int, ...]], mode: str = "RGB", side: int = 32) -> Image.Image:
    """A strip of flat colour patches (large enough that JPEG blocks stay flat inside)."""
    im = Image.new(mode, (side * len(colours), side))
    for i, colour in enumerate(colours):
        im.paste(colour, (i * side, 0, (i + 1) * side, side))
    return im


def _patch_means(im: Image.Image, count: int, side: int = 32) -> list[tuple[float, ...]]:
    """The mean colour of the middle of each patch (edges blur under JPEG)."""
    arr = np.asarray(im.convert("RGB"), dtype=np.float64)
    quarter = side // 4
    return [
        tuple(arr[quarter:-quarter, i * side + quarter : (i + 1) * side - quarter].mean((0, 1)))
        for i in range(count)
    ]


def _close(a: tuple[float, ...], b: tuple[float, ...], tolerance: float) -> bool:
    return max(abs(x - y) for x, y in zip(a, b, strict=True)) <= tolerance


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _one_bit_png(path: Path, width: int, height: int) -> None:
    """A complete, valid 1-bit PNG of one colour, streamed: a real bomb in a few hundred KB."""
    row = b"\x00" + bytes((width + 7) // 8)
    compressor = zlib.compressobj(9)
    chunks = [compressor.compress(row * 1000) for _ in range(height // 1000)]
    chunks.append(compressor.compress(row * (height % 1000)))
    chunks.append(compressor.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(chunks))
        + _png_chunk(b"IEND", b"")
    )


def _without_app14(jpeg: bytes) -> bytes:
    """The same JPEG with its Adobe APP14 segment removed (as a non-Adobe CMYK writer makes)."""
    out, pos = bytearray(jpeg[:2]), 2
    while pos < len(jpeg):
        marker = jpeg[pos + 1]
        if marker == 0xDA:  # start of scan: the rest is entropy-coded data
            out += jpeg[pos:]
            break
        length = struct.unpack(">H", jpeg[pos + 2 : pos + 4])[0]
        if marker != 0xEE:
            out += jpeg[pos : pos + 2 + length]
        pos += 2 + length
    return bytes(out)


# ICC profiles written by hand: Pillow can only create sRGB, LAB and XYZ profiles.


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _icc(device: bytes, space: bytes, pcs: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    """A version 2.1 ICC profile with the given tags (each tag body 4-byte aligned)."""
    table = 4 + 12 * len(tags)
    entries, data = b"", b""
    for signature, body in tags:
        data += bytes(-len(data) % 4)
        entries += signature + struct.pack(">II", 128 + table + len(data), len(body))
        data += body
    size = 128 + table + len(data)
    header = struct.pack(">I4sI4s4s4s", size, b"lcms", 0x02100000, device, space, pcs)
    header += bytes(12) + b"acsp" + b"APPL" + bytes(4) + b"none" + b"none" + bytes(8) + bytes(4)
    header += _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"lcms"
    header += bytes(128 - len(header))
    return header + struct.pack(">I", len(tags)) + entries + data


def _desc(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\x00"
    return b"desc" + bytes(4) + struct.pack(">I", len(ascii_)) + ascii_ + bytes(8 + 3 + 67)


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + bytes(4) + _s15(x) + _s15(y) + _s15(z)


def _swapped_rgb_profile() -> bytes:
    """An RGB display profile whose red primary is sRGB's blue and whose blue is sRGB's red."""
    red, green, blue = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)
    gamma = b"curv" + bytes(4) + struct.pack(">IH", 1, round(2.2 * 256))
    return _icc(
        b"mntr",
        b"RGB ",
        b"XYZ ",
        [
            (b"desc", _desc("Swapped primaries test")),
            (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
            (b"rXYZ", _xyz(*blue)),
            (b"gXYZ", _xyz(*green)),
            (b"bXYZ", _xyz(*red)),
            (b"rTRC", gamma),
            (b"gTRC", gamma),
            (b"bTRC", gamma),
        ],
    )


def _linear_grey_profile() -> bytes:
    """A greyscale profile with a linear tone curve (gamma 1.0), as some scanners embed."""
    linear = b"curv" + bytes(4) + struct.pack(">I", 0)  # no entries: identity
    return _icc(
        b"mntr",
        b"GRAY",
        b"XYZ ",
        [
            (b"desc", _desc("Linear grey test")),
            (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
            (b"kTRC", linear),
        ],
    )


# A press-like CMYK: each ink's colour on white paper, combined subtractively.
INKS = {"c": (0, 160, 225), "m": (230, 0, 125), "y": (255, 237, 0), "k": (35, 31, 32)}


def _cmyk_corner(c: int, m: int, y: int, k: int) -> tuple[int, int, int]:
    colour = np.array([255.0, 255.0, 255.0])
    for on, ink in zip((c, m, y, k), INKS.values(), strict=True):
        if on:
            colour *= np.array(ink) / 255.0
    return (round(colour[0]), round(colour[1]), round(colour[2]))


def _cmyk_profile() -> bytes:
    """A CMYK output profile: an A2B0 lut8 (2-point grid) from CMYK to Lab through the inks."""
    corners = [
        _cmyk_corner(c, m, y, k) for c in (0, 1) for m in (0, 1) for y in (0, 1) for k in (0, 1)
    ]
    strip = Image.new("RGB", (len(corners), 1))
    strip.putdata(corners)
    srgb, lab_profile = ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB")
    converted = ImageCms.profileToProfile(strip, srgb, lab_profile, outputMode="LAB")
    lab = np.frombuffer(converted.tobytes(), np.uint8).reshape(-1, 3)
    lab_bytes = (lab ^ np.array([0, 0x80, 0x80], np.uint8)).tobytes()  # signed a*b* to offset
    identity = bytes(range(256))
    lut = b"mft1" + bytes(4) + bytes([4, 3, 2, 0])
    lut += b"".join(_s15(1.0 if i % 4 == 0 else 0.0) for i in range(9))
    lut += identity * 4 + lab_bytes + identity * 3
    return _icc(
        b"prtr",
        b"CMYK",
        b"Lab ",
        [
            (b"desc", _desc("Test press CMYK")),
            (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
            (b"A2B0", lut),
        ],
    )


@pytest.fixture(scope="session")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 30000x30000 PNG (Pillow's own bomb limit) and an 8000x6000 one (over our 40 Mpx cap)."""
    folder = tmp_path_factory.mktemp("bombs")
    paths = {"huge": folder / "30000.png", "over_cap": folder / "8000x6000.png"}
    _one_bit_png(paths["huge"], 30000, 30000)
    _one_bit_png(paths["over_cap"], 8000, 6000)
    return paths


@pytest.fixture(scope="session")
def huge_jpeg() -> bytes:
    """A 12000x8000 camera-sized JPEG with a dark product right of centre."""
    im = Image.new("RGB", (12000, 8000), LIGHT)
    ImageDraw.Draw(im).rectangle((8000, 3000, 11000, 5000), fill=DARK)
    return _encode(im, "JPEG", quality=80)


def _product_photo(
    size: tuple[int, int], centre: tuple[float, float], product: tuple[int, int]
) -> Image.Image:
    """A small dark "shoe" (a sole and an upper) on a plain light studio background."""
    im = Image.new("RGB", size, LIGHT)
    draw = ImageDraw.Draw(im)
    cx, cy = centre[0] * size[0], centre[1] * size[1]
    w, h = product
    draw.rectangle((cx - w / 2, cy, cx + w / 2, cy + h / 2), fill=DARK)
    draw.ellipse((cx - w / 2, cy - h / 2, cx + w / 4, cy + h / 2), fill=DARK)
    return im


def _dark_pixels(im: Image.Image) -> int:
    return int((np.asarray(im.convert("L")) < 90).sum())


# ---------------------------------------------------------------------------------------------
# formats and metadata


def test_every_format_the_media_sync_stores_can_be_loaded() -> None:
    assert set(ALLOWED_FORMATS) <= photo._FORMATS


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_a_plain_photo_loads_as_rgb(fmt: str) -> None:
    im = _patches([(200, 40, 40), (40, 200, 40), (40, 40, 200)])
    src = load_image(_encode(im, fmt))
    assert isinstance(src, SourceImage)
    assert src.image.mode == "RGB" and not src.has_alpha
    assert src.image.size == src.original_size == (96, 32)
    assert (src.width, src.height) == (96, 32)


def test_metadata_of_the_file_is_not_carried_on() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"
    exif[0x0112] = 1
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = _encode(
        _patches([(120, 90, 60)]), "JPEG", exif=exif.tobytes(), icc_profile=icc, comment=b"x"
    )
    src = load_image(data)
    assert src.image.info == {}
    assert dict(src.image.getexif()) == {}
    assert type(src.image) is Image.Image  # not the file object, which still holds the segments


def test_a_file_path_loads_like_its_bytes(tmp_path: Path) -> None:
    data = _encode(_patches([(10, 20, 30), (200, 210, 220)]), "PNG")
    path = tmp_path / "photo.png"
    path.write_bytes(data)
    assert load_image(path).image.tobytes() == load_image(data).image.tobytes()


def test_loading_is_deterministic() -> None:
    data = (SAMPLES / "ifn-0007-2.jpg").read_bytes()
    first, second = load_image(data, min_side=600), load_image(data, min_side=600)
    assert first.image.tobytes() == second.image.tobytes()
    assert focus_point(first) == focus_point(second)
    a, _ = cover(first, 300, 533)
    b, _ = cover(second, 300, 533)
    assert a.tobytes() == b.tobytes()


def test_a_camera_mpo_is_a_jpeg_and_its_first_picture_is_used() -> None:
    first, second = _patches([(200, 30, 30)]), _patches([(30, 30, 200)])
    data = _encode(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    src = load_image(data, min_side=16)
    assert src.image.size == (16, 16)  # drafted at 1/2 like any JPEG
    assert _close(_patch_means(src.image, 1, side=16)[0], (200, 30, 30), 12)


# ---------------------------------------------------------------------------------------------
# orientation


def _landmark(size: tuple[int, int] = (96, 64)) -> Image.Image:
    """Grey, with a red block at the stored top-left corner: where it ends up shows the turn."""
    im = Image.new("RGB", size, (128, 128, 128))
    block = min(size) // 2
    im.paste((220, 20, 20), (0, 0, block, block))
    return im


def _red_corner(im: Image.Image) -> str:
    arr = np.asarray(im.convert("RGB"), dtype=np.int32)
    corners = {
        "top-left": arr[8, 8],
        "top-right": arr[8, -9],
        "bottom-left": arr[-9, 8],
        "bottom-right": arr[-9, -9],
    }
    red = [name for name, (r, g, _) in corners.items() if r > 180 and g < 80]
    assert len(red) == 1, corners
    return red[0]


@pytest.mark.parametrize(
    ("orientation", "corner"),
    [(1, "top-left"), (3, "bottom-right"), (6, "top-right"), (8, "bottom-left")],
)
def test_exif_orientation_turns_a_jpeg_upright(orientation: int, corner: str) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    src = load_image(_encode(_landmark(), "JPEG", quality=95, exif=exif.tobytes()))
    turned = orientation in (6, 8)
    assert src.image.size == ((64, 96) if turned else (96, 64))
    assert src.original_size == src.image.size
    assert _red_corner(src.image) == corner


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_pillows_exif_transpose(orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _encode(_landmark(), "PNG", exif=exif.tobytes())
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    assert load_image(data).image.tobytes() == expected.tobytes()


def test_orientation_applies_after_a_reduced_decode() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    im = _landmark((960, 640))
    src = load_image(_encode(im, "JPEG", quality=90, exif=exif.tobytes()), min_side=150)
    assert src.original_size == (640, 960)
    assert src.image.size == (160, 240)  # decoded at 1/4, then turned upright
    assert _red_corner(src.image) == "top-right"


# ---------------------------------------------------------------------------------------------
# colour


COLOURS = [(250, 250, 250), (200, 60, 40), (40, 150, 70), (50, 70, 180), (128, 128, 128)]


def test_cmyk_jpeg_without_profile_keeps_its_colours() -> None:
    """Pillow writes CMYK Adobe-style (inverted, APP14 marker), as Photoshop does."""
    data = _encode(_patches(COLOURS).convert("CMYK"), "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).info.get("adobe") is not None
    src = load_image(data)
    assert src.image.mode == "RGB"
    for got, want in zip(_patch_means(src.image, len(COLOURS)), COLOURS, strict=True):
        assert _close(got, want, 10), (got, want)


def test_plain_cmyk_jpeg_without_adobe_marker_is_not_a_negative() -> None:
    """No APP14 marker: the samples are plain CMYK; Pillow alone would show a negative."""
    cmyk = _patches(COLOURS).convert("CMYK")
    inverted = Image.eval(cmyk, lambda v: 255 - v)  # Pillow inverts again while saving
    data = _without_app14(_encode(inverted, "JPEG", quality=95))
    assert "adobe" not in Image.open(io.BytesIO(data)).info
    naive = Image.open(io.BytesIO(data)).convert("RGB")
    assert not _close(_patch_means(naive, 1)[0], COLOURS[0], 100)  # white came out dark
    src = load_image(data)
    for got, want in zip(_patch_means(src.image, len(COLOURS)), COLOURS, strict=True):
        assert _close(got, want, 10), (got, want)


def test_cmyk_jpeg_with_a_press_profile_is_converted_through_it() -> None:
    profile = _cmyk_profile()
    inks = [(0, 0, 0, 0), (255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 0, 255), (0, 255, 255, 0)]
    data = _encode(_patches(inks, "CMYK"), "JPEG", quality=95, icc_profile=profile)
    src = load_image(data)
    assert src.image.mode == "RGB"
    assert src.image.info == {}
    got = _patch_means(src.image, len(inks))
    expected = [_cmyk_corner(*(1 if v else 0 for v in ink)) for ink in inks]
    for g, e in zip(got, expected, strict=True):
        assert _close(g, e, 12), (g, e)
    # the press cyan, not the plain-arithmetic (0, 255, 255) a profile-less conversion gives
    assert got[1][1] < 200
    # and exactly what LittleCMS gives for the decoded samples
    raw = Image.open(io.BytesIO(data))
    reference = ImageCms.profileToProfile(
        raw,
        ImageCms.ImageCmsProfile(io.BytesIO(profile)),
        ImageCms.createProfile("sRGB"),
        outputMode="RGB",
    )
    diff = np.abs(np.asarray(reference, np.int16) - np.asarray(src.image, np.int16))
    assert int(diff.max()) <= 1


def test_an_srgb_profile_changes_nothing() -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    im = _patches(COLOURS)
    tagged = load_image(_encode(im, "JPEG", quality=95, icc_profile=icc))
    untagged = load_image(_encode(im, "JPEG", quality=95))
    assert tagged.image.tobytes() == untagged.image.tobytes()


def test_a_non_srgb_profile_is_converted_to_srgb() -> None:
    im = _patches([(255, 0, 0), (0, 0, 255), (255, 255, 255)])
    src = load_image(_encode(im, "PNG", icc_profile=_swapped_rgb_profile()))
    red, blue, white = _patch_means(src.image, 3)
    assert blue[0] > 200 and blue[2] < 60  # the file's "blue" primary is sRGB red
    assert red[2] > 200 and red[0] < 60
    assert _close(white, (255, 255, 255), 4)


def test_a_grey_profile_is_converted_to_srgb() -> None:
    im = Image.new("L", (32, 32), 128)
    src = load_image(_encode(im, "PNG", icc_profile=_linear_grey_profile()))
    assert src.image.mode == "RGB"
    # linear 0.5 is sRGB 188, not 128: the profile was applied
    assert _close(src.image.getpixel((5, 5)), (188, 188, 188), 2)


def test_a_broken_profile_falls_back_to_plain_conversion() -> None:
    im = _patches(COLOURS)
    src = load_image(_encode(im, "PNG", icc_profile=b"not a profile at all" * 10))
    assert src.image.tobytes() == im.tobytes()


def test_sixteen_bit_png_is_scaled_not_clipped() -> None:
    levels = np.array([[0, 16384, 32768, 49152, 65535]], dtype=np.uint16).repeat(4, axis=0)
    data = _encode(Image.fromarray(levels), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    src = load_image(data)
    assert src.image.mode == "RGB"
    row = np.asarray(src.image)[0]
    assert [int(v) for v in row[:, 0]] == [0, 64, 128, 191, 255]
    assert (row[:, 0] == row[:, 1]).all() and (row[:, 1] == row[:, 2]).all()


def test_sixteen_bit_colour_png_keeps_its_colour() -> None:
    rgb = np.zeros((4, 4, 3), dtype=np.uint16)
    rgb[...] = (40000, 20000, 60000)
    data = b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 16, 2, 0, 0, 0)),
            _png_chunk(
                b"IDAT", zlib.compress(b"".join(b"\x00" + r.astype(">u2").tobytes() for r in rgb))
            ),
            _png_chunk(b"IEND", b""),
        ]
    )
    pixel = load_image(data).image.getpixel((1, 1))
    assert _close(pixel, (156, 78, 233), 1)  # 40000/65535*255 and so on


def test_greyscale_becomes_rgb_with_equal_channels() -> None:
    im = Image.linear_gradient("L").resize((64, 64))
    src = load_image(_encode(im, "PNG"))
    arr = np.asarray(src.image)
    assert src.image.mode == "RGB"
    assert (arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all()
    assert (arr[..., 0] == np.asarray(im)).all()


def test_greyscale_with_alpha_keeps_alpha() -> None:
    im = Image.new("LA", (16, 16), (90, 0))
    im.paste((200, 255), (4, 4, 12, 12))
    src = load_image(_encode(im, "PNG"))
    assert src.image.mode == "RGBA" and src.has_alpha
    assert src.image.getpixel((0, 0))[3] == 0
    assert src.image.getpixel((8, 8)) == (200, 200, 200, 255)


def test_palette_with_transparency_keeps_alpha() -> None:
    im = Image.new("P", (20, 20), 0)
    im.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    im.paste(1, (5, 5, 15, 15))
    for fmt in ("PNG", "GIF"):
        src = load_image(_encode(im, fmt, transparency=0))
        assert src.image.mode == "RGBA" and src.has_alpha, fmt
        assert src.image.getpixel((0, 0))[3] == 0
        assert src.image.getpixel((10, 10)) == (200, 30, 30, 255)


def test_palette_without_transparency_is_rgb() -> None:
    im = _patches([(200, 30, 30), (30, 30, 200)]).convert("P", palette=Image.Palette.ADAPTIVE)
    src = load_image(_encode(im, "PNG"))
    assert src.image.mode == "RGB" and not src.has_alpha
    assert _close(_patch_means(src.image, 2)[1], (30, 30, 200), 2)


def test_colour_key_transparency_becomes_alpha() -> None:
    for mode, key, colour in (("RGB", (0, 255, 0), (200, 30, 30)), ("L", 0, 200)):
        im = Image.new(mode, (10, 10), key)
        im.paste(colour, (3, 3, 7, 7))
        src = load_image(_encode(im, "PNG", transparency=key))
        assert src.has_alpha, mode
        assert src.image.getpixel((0, 0))[3] == 0
        assert src.image.getpixel((5, 5))[3] == 255


def test_one_bit_image_becomes_black_and_white_rgb() -> None:
    im = Image.new("1", (16, 16), 0)
    im.paste(1, (0, 0, 8, 16))
    src = load_image(_encode(im, "PNG"))
    assert src.image.mode == "RGB"
    assert src.image.getpixel((2, 2)) == (255, 255, 255)
    assert src.image.getpixel((12, 2)) == (0, 0, 0)


def test_transparent_logo_stays_transparent_and_opaque_rgba_becomes_rgb() -> None:
    logo = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    ImageDraw.Draw(logo).ellipse((8, 8, 56, 56), fill=(20, 80, 160, 255))
    src = load_image(_encode(logo, "PNG"))
    assert src.image.mode == "RGBA" and src.has_alpha
    assert src.image.getpixel((0, 0))[3] == 0
    opaque = load_image(_encode(logo.convert("RGB").convert("RGBA"), "PNG"))
    assert opaque.image.mode == "RGB" and not opaque.has_alpha


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animation_gives_its_first_frame(fmt: str) -> None:
    frames = [_patches([c] * 2) for c in ((210, 30, 30), (30, 30, 210), (30, 210, 30))]
    data = _encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3
    src = load_image(data)
    assert _close(_patch_means(src.image, 1)[0], (210, 30, 30), 12)


# ---------------------------------------------------------------------------------------------
# refusals


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file_is_corrupt(fmt: str) -> None:
    rng = np.random.default_rng(1)
    noisy = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    data = _encode(noisy, fmt)
    assert _reason(data[: len(data) // 2]) == "corrupt_image"


def test_zero_byte_file_is_corrupt(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    assert _reason(empty) == "corrupt_image"
    assert _reason(b"") == "corrupt_image"


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    assert _reason(tmp_path / "gone.jpg") == "unreadable"


def test_random_bytes_are_not_an_image() -> None:
    rng = np.random.default_rng(7)
    assert _reason(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()) == "not_an_image"
    assert _reason(b"<html><body>404</body></html>") == "not_an_image"


def test_formats_the_sync_does_not_store_are_unsupported() -> None:
    im = _patches([(1, 2, 3)])
    for fmt in ("BMP", "TIFF", "ICO"):
        assert _reason(_encode(im, fmt)) == "unsupported_format", fmt
    svg = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>'
    assert _reason(svg) == "unsupported_format"


def test_decompression_bomb_is_refused_from_the_header(
    bombs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def decoded(self: ImageFile.ImageFile) -> None:
        raise AssertionError("the bomb's pixels were decoded")

    # decoding would take seconds and hundreds of MB: refused from the header, never decoded
    monkeypatch.setattr(ImageFile.ImageFile, "load", decoded)
    for name, path in bombs.items():
        assert _reason(path) == "too_many_pixels", name
        assert _reason(path.read_bytes()) == "too_many_pixels", name
    assert bombs["huge"].stat().st_size < 1_000_000


def test_max_pixels_is_the_callers_cap() -> None:
    data = _encode(Image.new("RGB", (100, 100)), "PNG")
    assert _reason(data, max_pixels=9_999) == "too_many_pixels"
    assert load_image(data, max_pixels=10_000).image.size == (100, 100)


# ---------------------------------------------------------------------------------------------
# decoding at the size needed


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_huge_jpeg_is_decoded_at_reduced_scale(huge_jpeg: bytes) -> None:
    assert _reason(huge_jpeg) == "too_many_pixels"  # 96 Mpx: over the default cap
    src = load_image(huge_jpeg, max_pixels=100_000_000, min_side=1350)
    assert src.original_size == (12000, 8000)
    # libjpeg's 1/4 scale (a full decode is ~4x the work and ~400 MB): still >= 1350 a side
    assert src.image.size == (3000, 2000)
    assert min(src.image.size) >= 1350
    # every format of the whole set can be cut from it without enlarging
    for width, height in ((1080, 1350), (1080, 1080), (1080, 1920), (1200, 630), (1280, 720)):
        out, factor = cover(src, width, height)
        assert out.size == (width, height) and factor <= 1.0


def test_other_formats_are_reduced_to_the_size_needed() -> None:
    data = _encode(Image.new("RGB", (4000, 3000), LIGHT), "PNG")
    src = load_image(data, min_side=1000)
    assert src.original_size == (4000, 3000)
    assert src.image.size == (1334, 1000)  # reduced 3x: the short side still covers 1000
    assert load_image(data, min_side=1600).image.size == (4000, 3000)  # 2x would be too small


def test_min_side_must_be_positive() -> None:
    with pytest.raises(ValueError, match="min_side"):
        load_image(b"anything", min_side=0)


def test_small_images_are_never_enlarged_on_load() -> None:
    src = load_image(_encode(Image.new("RGB", (40, 40)), "JPEG"), min_side=1350)
    assert src.image.size == src.original_size == (40, 40)


# ---------------------------------------------------------------------------------------------
# crop box


def test_crop_box_is_the_largest_box_of_the_aspect() -> None:
    assert crop_box((1600, 1200), 1.0, (0.5, 0.5)) == (200, 0, 1400, 1200)
    assert crop_box((1600, 1200), 1200 / 630, (0.5, 0.5)) == (0, 180, 1600, 1020)
    assert crop_box((1600, 1200), 9 / 16, (0.5, 0.5)) == (463, 0, 1138, 1200)


def test_crop_box_follows_the_focus_as_far_as_the_bounds_allow() -> None:
    assert crop_box((1600, 1200), 9 / 16, (0.6, 0.5)) == (623, 0, 1298, 1200)
    assert crop_box((1600, 1200), 9 / 16, (0.8, 0.5)) == (925, 0, 1600, 1200)
    assert crop_box((1600, 1200), 9 / 16, (0.0, 0.0)) == (0, 0, 675, 1200)
    assert crop_box((1200, 1600), 1.91, (0.5, 0.9)) == (0, 972, 1200, 1600)
    assert crop_box((1600, 1200), 9 / 16, (float("nan"), 7.0)) == crop_box(
        (1600, 1200), 9 / 16, (0.5, 0.5)
    )


def test_crop_box_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="aspect"):
        crop_box((10, 10), 0.0, (0.5, 0.5))
    with pytest.raises(ValueError, match="size"):
        crop_box((0, 10), 1.0, (0.5, 0.5))


@given(
    width=st.integers(1, 5000),
    height=st.integers(1, 5000),
    aspect=st.floats(0.05, 20.0),
    fx=st.floats(-1.0, 2.0),
    fy=st.floats(-1.0, 2.0),
)
def test_crop_box_is_always_inside_and_as_large_as_possible(
    width: int, height: int, aspect: float, fx: float, fy: float
) -> None:
    left, top, right, bottom = crop_box((width, height), aspect, (fx, fy))
    assert 0 <= left < right <= width and 0 <= top < bottom <= height
    assert right - left == width or bottom - top == height  # touches two opposite sides
    box_w, box_h = right - left, bottom - top
    if box_w > 1 and box_h > 1:  # one-pixel boxes cannot hold an aspect
        assert abs(box_w / box_h - aspect) <= aspect * (1 / box_w + 1 / box_h) + 1e-9
    # centred on the focus unless a border is in the way
    centre_x = (left + right) / 2
    target_x = min(max(fx, 0.0), 1.0) * width
    assert abs(centre_x - target_x) <= 1 or left == 0 or right == width


# ---------------------------------------------------------------------------------------------
# focus and smart crop


def test_focus_finds_a_small_product_off_centre_and_the_crop_keeps_it() -> None:
    im = _product_photo((1200, 800), (0.8, 0.5), (160, 100))
    src = load_image(_encode(im, "JPEG", quality=90))
    fx, fy = focus_point(src)
    assert fx > 0.65 and 0.4 < fy < 0.6
    product = _dark_pixels(im)
    for width, height in ((360, 640), (540, 540), (400, 500)):
        out, factor = cover(src, width, height)
        assert out.size == (width, height)
        kept = _dark_pixels(out) / (factor * factor)
        assert kept > 0.95 * product, (width, height)
    # a blind centre crop would have lost it
    centre = im.crop(crop_box(im.size, 9 / 16, (0.5, 0.5)))
    assert _dark_pixels(centre) < 0.2 * product


def test_focus_finds_a_product_low_in_a_portrait_photo_for_a_wide_crop() -> None:
    im = _product_photo((800, 1200), (0.5, 0.82), (300, 120))
    src = load_image(_encode(im, "PNG"))
    assert focus_point(src)[1] > 0.7
    out, factor = cover(src, 1200, 630)
    assert _dark_pixels(out) / (factor * factor) > 0.95 * _dark_pixels(im)


def test_focus_ignores_a_studio_gradient() -> None:
    """A sweep from wall to floor is background, however far it is from the corner colour."""
    im = Image.linear_gradient("L").resize((900, 600)).convert("RGB")
    im = Image.blend(im, Image.new("RGB", im.size, (255, 230, 200)), 0.6)
    ImageDraw.Draw(im).rectangle((120, 260, 240, 330), fill=DARK)
    assert focus_point(load_image(_encode(im, "PNG")))[0] < 0.3


def test_blank_image_focuses_on_the_centre() -> None:
    assert focus_point(load_image(_encode(Image.new("RGB", (300, 200), LIGHT), "PNG"))) == (
        0.5,
        0.5,
    )


def test_focus_of_a_transparent_logo() -> None:
    logo = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    ImageDraw.Draw(logo).ellipse((120, 120, 280, 280), fill=(200, 40, 40, 255))
    ImageDraw.Draw(logo).text((170, 190), "IFN", fill=(255, 255, 255, 255))
    fx, fy = focus_point(load_image(_encode(logo, "PNG")))
    assert abs(fx - 0.5) < 0.05 and abs(fy - 0.5) < 0.05
    # transparent pixels are background whatever colour they hide
    moved = Image.new("RGBA", (400, 400), (255, 255, 255, 0))
    ImageDraw.Draw(moved).rectangle((20, 20, 120, 120), fill=(0, 0, 0, 255))
    fx, fy = focus_point(load_image(_encode(moved, "PNG")))
    assert fx < 0.25 and fy < 0.25


def test_cover_computes_the_focus_once() -> None:
    src = load_image(_encode(_product_photo((600, 400), (0.3, 0.5), (80, 60)), "PNG"))
    first = focus_point(src)
    assert src._cache["focus"][0] == first
    assert cover(src, 90, 160)[0].tobytes() == cover(src, 90, 160, first)[0].tobytes()


# ---------------------------------------------------------------------------------------------
# cover and contain


def test_tiny_logo_reports_a_large_upscale() -> None:
    src = load_image(_encode(Image.new("RGB", (40, 40), (20, 80, 160)), "PNG"))
    out, factor = cover(src, 1080, 1080)
    assert out.size == (1080, 1080)
    assert factor == pytest.approx(27.0)
    out, factor = contain(src, 1080, 1350)
    assert out.size == (1080, 1350) and factor == pytest.approx(27.0)


def test_cover_downscale_reports_factor_below_one_and_keeps_mode() -> None:
    src = load_image(_encode(_product_photo((1600, 1200), (0.5, 0.5), (400, 200)), "JPEG"))
    out, factor = cover(src, 400, 500)
    assert out.size == (400, 500) and out.mode == "RGB"
    assert factor == pytest.approx(500 / 1200)
    logo = load_image(_encode(Image.new("RGBA", (200, 100), (200, 0, 0, 128)), "PNG"))
    out, _ = cover(logo, 50, 50)
    assert out.mode == "RGBA" and _close(out.getpixel((25, 25)), (200, 0, 0, 128), 1)


def test_a_cut_of_the_same_scale_is_cropped_from_the_larger_one() -> None:
    """On a square photo a 4:5-feed box and a 1:1-feed box of the same width have one scale:
    the smaller is cropped from the larger's cut, at its own place, and looks like its own
    resample; a box of another scale, or a larger one, is never cropped this way."""
    src = load_image(_encode(_product_photo((1200, 1200), (0.45, 0.55), (300, 260)), "JPEG"))
    sizes = [(1080, 605), (1080, 850), (600, 630)]
    found = parent_cut(src, (1080, 605), sizes)
    assert found is not None
    (outer_w, outer_h), (left, top) = found
    assert (outer_w, outer_h) == (1080, 850)
    assert 0 <= top <= 850 - 605 and left == 0
    outer, _ = cover(src, outer_w, outer_h)
    cropped = np.asarray(outer.crop((left, top, left + 1080, top + 605)), dtype=np.int16)
    own = np.asarray(cover(src, 1080, 605)[0], dtype=np.int16)
    assert np.abs(cropped - own).mean() < 1.5
    assert parent_cut(src, (1080, 850), sizes) is None  # the largest of its scale
    assert parent_cut(src, (600, 630), sizes) is None  # another scale
    wide = load_image(_encode(_product_photo((1600, 1000), (0.5, 0.5), (300, 260)), "JPEG"))
    assert parent_cut(wide, (1080, 605), sizes) is None  # 4:5 is height-bound there


def test_contain_pads_with_transparency_and_keeps_the_aspect() -> None:
    src = load_image(_encode(Image.new("RGB", (400, 200), (20, 80, 160)), "JPEG"))
    out, factor = contain(src, 300, 300)
    assert out.mode == "RGBA" and out.size == (300, 300)
    assert factor == pytest.approx(0.75)
    assert out.getpixel((150, 10))[3] == 0  # padding above
    assert out.getpixel((150, 150))[3] == 255
    alpha = np.asarray(out.getchannel("A"))
    rows = np.nonzero(alpha[:, 150])[0]
    assert (rows.min(), rows.max()) == (75, 224)  # 150 rows, centred


def test_transparent_edges_do_not_darken_when_resized() -> None:
    """Resampling is premultiplied: a red logo on transparent black keeps a red edge."""
    logo = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    logo.paste((230, 20, 20, 255), (50, 50, 150, 150))
    out, _ = contain(load_image(_encode(logo, "PNG")), 67, 67)
    edge = [px for px in out.getdata() if 0 < px[3] < 255]
    assert edge and all(px[0] > 200 for px in edge)


def _stripes(size: tuple[int, int]) -> Image.Image:
    """One-pixel black and white columns: all detail, finer than any shrunk output can show."""
    row = np.tile(np.array([0, 255], dtype=np.uint8), size[0] // 2)
    return Image.fromarray(np.repeat(np.repeat(row[None, :, None], size[1], 0), 3, 2))


@pytest.mark.parametrize("scale", [0.8, 0.7, 0.6])
def test_shrinking_fine_detail_aliases_no_more_than_pillows_hamming(scale: float) -> None:
    """Detail finer than the output's pixels must average out rather than fold into bands
    (moire). The bar is Pillow's Hamming filter, which the renderer used before OpenCV; a plain
    bicubic resize, without the blur, leaves bands of about 89 (standard deviation) here."""
    stripes = _stripes((1000, 200))
    src = load_image(_encode(stripes, "PNG"))
    size = (round(1000 * scale), round(200 * scale))
    out, factor = cover(src, *size)
    assert factor == pytest.approx(scale, abs=0.01)
    hamming = stripes.resize(size, Image.Resampling.HAMMING)
    ours, bar = (np.asarray(im, dtype=np.float64)[5:-5, 5:-5] for im in (out, hamming))
    assert abs(ours.mean() - 127.5) < 2
    assert ours.std() < min(bar.std() + 2, 85)


@pytest.mark.parametrize(("size", "box"), [((900, 600), (700, 500)), ((500, 500), (300, 220))])
def test_a_shrunk_photo_stays_close_to_lanczos(size: tuple[int, int], box: tuple[int, int]) -> None:
    image = _product_photo(size, (0.4, 0.6), (size[0] // 3, size[1] // 4))
    src = load_image(_encode(image, "PNG"))
    focus = focus_point(src)
    out, _ = cover(src, *box, focus)
    crop = photo.crop_box(src.image.size, box[0] / box[1], focus)
    ref = src.image.resize(box, Image.Resampling.LANCZOS, box=crop)
    diff = np.asarray(out, dtype=np.float64) - np.asarray(ref, dtype=np.float64)
    assert 10 * np.log10(255**2 / np.mean(diff**2)) > 35  # PSNR, dB


def test_flat_colour_survives_every_resize() -> None:
    src = load_image(_encode(Image.new("RGB", (640, 480), (170, 40, 90)), "PNG"))
    for width, height in ((300, 200), (500, 400), (1280, 720), (64, 48)):
        out, _ = cover(src, width, height)
        colours = out.getcolors()
        assert colours == [(width * height, (170, 40, 90))]


def test_the_pixel_array_is_made_once_and_read_only() -> None:
    src = load_image(_encode(Image.new("RGB", (64, 48), (1, 2, 3)), "PNG"))
    first = src.pixels()
    assert src.pixels() is first and first.shape == (48, 64, 3)
    assert not first.flags.writeable


def test_output_sizes_must_be_positive() -> None:
    src = load_image(_encode(Image.new("RGB", (10, 10)), "PNG"))
    with pytest.raises(ValueError):
        cover(src, 0, 10)
    with pytest.raises(ValueError):
        contain(src, 10, -1)


# ---------------------------------------------------------------------------------------------
# the bundled sample photos


def test_sample_cmyk_jpeg() -> None:
    path = SAMPLES / "ifn-0007-2.jpg"
    assert Image.open(path).mode == "CMYK"
    src = load_image(path)
    assert src.image.mode == "RGB"
    arr = np.asarray(src.image, dtype=np.float64)
    assert arr[:20, :20].mean() > 150  # a light studio background, not a negative


def test_sample_greyscale_png() -> None:
    src = load_image(SAMPLES / "ifn-0012-1.png")
    arr = np.asarray(src.image)
    assert src.image.mode == "RGB" and (arr[..., 0] == arr[..., 2]).all()


def test_sample_palette_png() -> None:
    path = SAMPLES / "ifn-0023-2.png"
    src = load_image(path)
    assert src.image.mode == "RGB"
    assert src.image.tobytes() == Image.open(path).convert("RGB").tobytes()


def test_sample_exif_rotated_jpeg() -> None:
    path = SAMPLES / "ifn-0031-1.jpg"
    expected = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    src = load_image(path)
    assert src.image.tobytes() == expected.tobytes()
    assert src.image.tobytes() != Image.open(path).convert("RGB").tobytes()


def _product_mask(im: Image.Image) -> np.ndarray:
    """Pixels unlike their row's left and right edges: the shoe on a studio sweep."""
    arr = np.asarray(im.convert("RGB"), dtype=np.float64)
    edge = max(2, arr.shape[1] // 40)
    row_bg = (arr[:, :edge].mean(axis=1) + arr[:, -edge:].mean(axis=1)) / 2
    return np.sqrt(((arr - row_bg[:, None, :]) ** 2).sum(axis=-1)) > 45


@pytest.fixture(scope="module")
def sample_shoes() -> list[tuple[str, tuple[int, int], tuple[float, float], np.ndarray]]:
    """Every sample photo, decoded small, with its focus and a mask of its shoes."""
    shoes = []
    for path in sorted(SAMPLES.glob("ifn-*-[0-9].*")):
        src = load_image(path, min_side=300)
        shoes.append((path.name, src.image.size, focus_point(src), _product_mask(src.image)))
    return shoes


@pytest.mark.parametrize("aspect", [9 / 16, 1200 / 630])
def test_sample_photos_keep_the_shoes_in_frame(
    sample_shoes: list[tuple[str, tuple[int, int], tuple[float, float], np.ndarray]],
    aspect: float,
) -> None:
    """Whenever the shoes fit a crop of this aspect at all, the smart crop keeps all of them."""
    total = 0
    for name, size, focus, mask in sample_shoes:
        ys, xs = np.nonzero(mask)
        if xs.size < 100:
            continue
        left, top, right, bottom = crop_box(size, aspect, focus)
        if xs.max() - xs.min() >= right - left or ys.max() - ys.min() >= bottom - top:
            continue  # wider (or taller) than any crop of this aspect: cover must cut it
        total += 1
        kept = mask[top:bottom, left:right].sum() / mask.sum()
        assert kept > 0.99, name
    assert total >= 20  # 23 for 9:16, 89 for 1.91:1; the others are wider than the crop


# ---------------------------------------------------------------------------------------------
# keeping the product clear of what is drawn over the photo

# The Instagram portrait card's photo box (1080x851) and what `sorotan` draws over it there, in
# the photo box's pixels: the "SOROTAN ANGGOTA IFN" pill at the top left, the tagline at the foot.
PORTRAIT = (1080, 851)
RIBBON = Overlay("ribbon", (59.0, 54.0, 556.0, 122.0))
TAGLINE = Overlay("tagline", (70.0, 695.0, 1010.0, 823.0))


def _boot(
    size: tuple[int, int], centre: tuple[float, float], product: tuple[int, int]
) -> Image.Image:
    """A dark boot (a shaft and a foot) on a light studio background."""
    im = Image.new("RGB", size, LIGHT)
    draw = ImageDraw.Draw(im)
    cx, cy = centre[0] * size[0], centre[1] * size[1]
    w, h = product
    draw.rectangle((cx - w / 2, cy + h / 4, cx + w / 2, cy + h / 2), fill=DARK)  # foot
    draw.rectangle((cx - w / 2, cy - h / 2, cx - w / 6, cy + h / 2), fill=DARK)  # shaft
    return im


def _ink_box(im: Image.Image) -> tuple[int, int, int, int]:
    """Where the dark product is in a picture, measured on its pixels."""
    box = Image.fromarray((np.asarray(im.convert("L")) < 90).astype(np.uint8) * 255).getbbox()
    assert box is not None, "no product in the picture"
    return box


def _meets(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize(
    ("size", "centre", "product", "moves"),
    [
        # landscape: the crop is the full height and slides sideways, out from under the pill
        ((1500, 800), (0.45, 0.15), (220, 200), "sideways"),
        # the boot low in the frame: the plain crop puts its foot under the tagline
        ((1400, 800), (0.5, 0.7), (300, 240), "zoom"),
        # portrait: a tall boot centred in the crop reaches down under the tagline; the crop
        # slides down so the boot stands higher (right of the pill, so it clears that too)
        ((800, 1400), (0.75, 0.5), (200, 480), "up"),
    ],
)
def test_the_crop_keeps_the_product_clear_of_the_overlays(
    size: tuple[int, int], centre: tuple[float, float], product: tuple[int, int], moves: str
) -> None:
    src = load_image(_encode(_boot(size, centre, product), "PNG"))
    naive, _ = cover(src, *PORTRAIT)
    assert any(_meets(_ink_box(naive), o.box) for o in (RIBBON, TAGLINE)), "the case is no test"

    placement = place(src, PORTRAIT, [RIBBON, TAGLINE])
    assert placement.clear and placement.moved
    out, factor = cover(src, *PORTRAIT, avoid=[RIBBON, TAGLINE])
    assert out.size == PORTRAIT
    ink = _ink_box(out)
    for overlay in (RIBBON, TAGLINE):
        assert not _meets(ink, overlay.box), (overlay.name, ink)
    # the whole boot is still in the picture, and the subject box found holds its pixels
    product_pixels = _dark_pixels(_boot(size, centre, product))
    assert _dark_pixels(out) / (factor * factor) > 0.97 * product_pixels
    assert placement.subject is not None
    sx0, sy0, sx1, sy1 = placement.subject
    assert sx0 - 3 <= ink[0] and sy0 - 3 <= ink[1] and ink[2] <= sx1 + 3 and ink[3] <= sy1 + 3
    # zoomed in only when sliding could not do it, and never past MAX_ZOOM
    assert (factor > cover(src, *PORTRAIT)[1] * 1.01) == (moves == "zoom")
    assert factor <= cover(src, *PORTRAIT)[1] * photo.MAX_ZOOM + 1e-9


def test_a_clear_plain_crop_is_kept_as_it_is() -> None:
    src = load_image(_encode(_boot((1200, 900), (0.5, 0.45), (240, 200)), "PNG"))
    placement = place(src, PORTRAIT, [RIBBON, TAGLINE])
    assert placement.clear and not placement.moved
    assert placement.box == crop_box(src.image.size, PORTRAIT[0] / PORTRAIT[1], focus_point(src))
    assert cover(src, *PORTRAIT, avoid=[RIBBON])[0].tobytes() == cover(src, *PORTRAIT)[0].tobytes()


def test_a_product_no_crop_can_clear_is_recorded_and_covered_least() -> None:
    """A boot filling the frame from top to bottom: the ribbon or the tagline must cover part of
    it whatever the crop; `blocked` says which, and the crop covers as little as it can."""
    src = load_image(_encode(_boot((1600, 900), (0.4, 0.5), (300, 860)), "PNG"))
    placement = place(src, PORTRAIT, [RIBBON, TAGLINE])
    assert not placement.clear
    assert set(placement.blocked) <= {"ribbon", "tagline"} and placement.blocked
    # each named overlay with the share of the boot it covers, none a sliver
    assert len(placement.shares) == len(placement.blocked)
    assert all(REPORTED_SHARE <= share <= 1 for share in placement.shares)
    out, _ = cover(src, *PORTRAIT, box=placement.box)
    shown = np.asarray(out.convert("L")) < 90
    naive = np.asarray(cover(src, *PORTRAIT)[0].convert("L")) < 90

    def covered(mask: np.ndarray) -> int:
        return sum(
            int(mask[round(o.box[1]) : round(o.box[3]), round(o.box[0]) : round(o.box[2])].sum())
            for o in (RIBBON, TAGLINE)
        )

    assert covered(shown) < covered(naive)


def test_an_overlay_over_an_empty_corner_of_the_subject_box_is_not_reported() -> None:
    """A boot's box has an empty corner above the toe: a logo there covers none of the boot,
    so nothing is reported even though no crop can keep the box itself clear of it."""
    im = Image.new("RGB", (1000, 800), LIGHT)
    draw = ImageDraw.Draw(im)
    draw.rectangle((100, 40, 300, 760), fill=DARK)  # shaft, nearly the full height
    draw.rectangle((100, 600, 900, 760), fill=DARK)  # foot
    src = load_image(_encode(im, "PNG"))
    logo = Overlay("network_logo", (700.0, 60.0, 1000.0, 300.0))
    placement = place(src, PORTRAIT, [logo])
    assert placement.subject is not None and _meets(placement.subject, logo.box)
    assert placement.clear
    out, _ = cover(src, *PORTRAIT, box=placement.box)
    under = np.asarray(out.convert("L"))[60:300, 700:1000] < 90
    assert not under.any()


def test_the_card_says_when_the_product_cannot_be_kept_clear(tmp_path: Path) -> None:
    """Rendered for real: a product filling the photo edge to edge is under the ribbon whatever
    the crop, and the card's notes (shown by `render`, the preview and compose) say so."""
    from ifn_campaign.cards.brand import BrandKit
    from ifn_campaign.cards.render import CardData, Renderer
    from ifn_campaign.cards.template import load_all

    brand = BrandKit.load()
    renderer = Renderer(brand, load_all(palette=brand.palette), tmp_path)

    def card(im: Image.Image) -> tuple[str, ...]:
        data = CardData(
            member_id="ifn-0002",
            business_name="Sepatu Kulit Priangan",
            place="Kota Bandung, Jawa Barat",
            tagline="Sepatu kulit buatan tangan.",
            sentra="Cibaduyut",
            actor_type="producer",
            actor_label="Produsen",
            categories=("Sepatu kulit",),
            initials="SK",
            photo=load_image(_encode(im, "PNG"), min_side=1080),
            photo_sha=str(id(im)),
        )
        [rendered] = renderer.render(data, "sorotan", ["ig_portrait"])
        return rendered.notes

    full = Image.new("RGB", (1200, 1200), LIGHT)
    ImageDraw.Draw(full).rectangle((30, 30, 1170, 1170), fill=DARK)
    notes = [n for n in card(full) if "product under" in n]
    assert notes and "ribbon" in notes[0] and notes[0].startswith("photo: ")
    # a small boot in the middle is kept clear, and nothing is said
    small = _boot((1200, 1000), (0.6, 0.45), (200, 180))
    assert not [n for n in card(small) if "product under" in n]


def test_overlays_are_data_and_outside_parts_do_not_count() -> None:
    src = load_image(_encode(_boot((1500, 800), (0.2, 0.3), (220, 200)), "PNG"))
    # the same ribbon given as a plain tuple, and a logo entirely outside the photo box
    outside = Overlay("logo", (0.0, 900.0, 200.0, 1000.0))
    named = place(src, PORTRAIT, [RIBBON, TAGLINE, outside])
    plain = place(src, PORTRAIT, [RIBBON.box, TAGLINE.box])
    assert named.box == plain.box and named.clear
    # with nothing to avoid, place is the plain smart crop
    assert place(src, PORTRAIT).box == crop_box(src.image.size, 1080 / 851, focus_point(src))
    with pytest.raises(ValueError, match="not a box"):
        Overlay("ribbon", (10.0, 10.0, 5.0, 20.0))
    with pytest.raises(ValueError, match="not inside"):
        cover(src, 100, 100, box=(0, 0, 2000, 800))


def test_a_blank_photo_has_no_subject_to_move() -> None:
    src = load_image(_encode(Image.new("RGB", (900, 600), LIGHT), "PNG"))
    assert subject_box(src) is None
    placement = place(src, PORTRAIT, [RIBBON, TAGLINE])
    assert placement.clear and not placement.moved and placement.subject is None


def test_zoom_never_makes_a_small_photo_low_resolution() -> None:
    """A photo already enlarged 1.8x may be cut at most 2/1.8 smaller: the renderer's low
    resolution flag (over 2x) must not be caused by the crop."""
    big = _boot((1400, 800), (0.5, 0.7), (300, 240))
    small = big.resize((600, 343))
    src = load_image(_encode(small, "PNG"))
    plain = cover(src, *PORTRAIT)[1]
    _, factor = cover(src, *PORTRAIT, avoid=[RIBBON, TAGLINE])
    assert plain > 1.5 and factor <= max(plain, photo.MAX_UPSCALE) + 1e-9


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    image=st.tuples(st.integers(60, 128), st.integers(60, 128)),
    out=st.sampled_from([(54, 42), (48, 48), (36, 64), (64, 34)]),
    product=st.tuples(
        st.floats(0.0, 0.9), st.floats(0.0, 0.9), st.floats(0.08, 0.5), st.floats(0.08, 0.5)
    ),
    overlays=st.lists(
        st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0.05, 0.6), st.floats(0.05, 0.4)),
        min_size=1,
        max_size=4,
    ),
)
def test_whenever_a_clear_crop_exists_the_one_found_is_clear(
    image: tuple[int, int],
    out: tuple[int, int],
    product: tuple[float, float, float, float],
    overlays: list[tuple[float, float, float, float]],
) -> None:
    """Brute force: every crop size `place` may use, at every whole-pixel position. If any of
    them shows the whole subject clear of every overlay (with the gap), `place` finds a clear
    one, and the subject in it really is clear and whole."""
    width, height = image
    px, py, pw, ph = product
    im = Image.new("RGB", image, LIGHT)
    x0, y0 = round(px * width), round(py * height)
    x1, y1 = (
        min(width, x0 + max(4, round(pw * width))),
        min(height, y0 + max(4, round(ph * height))),
    )
    ImageDraw.Draw(im).rectangle((x0, y0, x1 - 1, y1 - 1), fill=DARK)
    src = SourceImage(im, False, im.size)
    boxes = [
        Overlay(f"o{i}", (ox * out[0], oy * out[1], (ox + ow) * out[0], (oy + oh) * out[1]))
        for i, (ox, oy, ow, oh) in enumerate(overlays)
    ]
    found = subject_box(src)
    assert found is not None
    subject = (found[0] * width, found[1] * height, found[2] * width, found[3] * height)
    gap = photo._GAP * min(out)
    padded = np.array(
        [
            (
                max(b.box[0], 0) - gap,
                max(b.box[1], 0) - gap,
                min(b.box[2], out[0]) + gap,
                min(b.box[3], out[1]) + gap,
            )
            for b in boxes
            if min(b.box[2], out[0]) > max(b.box[0], 0) and min(b.box[3], out[1]) > max(b.box[1], 0)
        ]
    ).reshape(-1, 4)

    def clear_at(crop_w: int, crop_h: int) -> bool:
        lefts = np.arange(0, width - crop_w + 1)[:, None, None]
        tops = np.arange(0, height - crop_h + 1)[None, :, None]
        sx, sy = out[0] / crop_w, out[1] / crop_h
        a0, a1 = (subject[0] - lefts) * sx, (subject[2] - lefts) * sx
        b0, b1 = (subject[1] - tops) * sy, (subject[3] - tops) * sy
        inside = (a0 >= 0) & (a1 <= out[0]) & (b0 >= 0) & (b1 <= out[1])
        free = (
            (a1 <= padded[:, 0])
            | (a0 >= padded[:, 2])
            | (b1 <= padded[:, 1])
            | (b0 >= padded[:, 3])
        ).all(axis=2)
        return bool((inside[..., 0] & free).any())

    focus = focus_point(src)
    full = crop_box(im.size, out[0] / out[1], focus)
    placement = place(src, out, boxes)
    if not padded.size:  # every overlay is outside the photo box: the plain smart crop
        assert placement.box == full and placement.clear and not placement.moved
        return
    exists = any(clear_at(w, h) for w, h in photo._crop_sizes(src, full, out))
    if exists:
        assert placement.clear, placement
        assert placement.subject is not None
        s = placement.subject
        for row in padded:
            assert not _meets(s, tuple(row)), (s, row)
        if placement.moved:  # a crop moved for the overlays holds the whole subject
            assert s[0] >= -1e-3 and s[1] >= -1e-3
            assert s[2] <= out[0] + 1e-3 and s[3] <= out[1] + 1e-3
    # whatever happens the cut is a box of the output's aspect inside the image
    left, top, right, bottom = placement.box
    assert 0 <= left < right <= width and 0 <= top < bottom <= height


# ---------------------------------------------------------------------------------------------
# hostile bytes


def _seeds() -> list[bytes]:
    im = _product_photo((48, 32), (0.6, 0.5), (16, 10))
    rgba = im.convert("RGBA")
    rgba.putalpha(200)
    return [
        _encode(im, "JPEG", quality=80),
        _encode(im, "JPEG", quality=80, progressive=True),
        _encode(im.convert("CMYK"), "JPEG"),
        _encode(im, "PNG"),
        _encode(rgba, "PNG"),
        _encode(im.convert("P", palette=Image.Palette.ADAPTIVE), "GIF"),
        _encode(im, "WEBP"),
    ]


SEEDS = _seeds()


def _loads_or_refuses(data: bytes) -> None:
    try:
        src = load_image(data)
    except ImageUnusable as exc:
        assert exc.reason in {
            "not_an_image",
            "corrupt_image",
            "too_many_pixels",
            "unsupported_format",
        }
        return
    assert src.image.mode in ("RGB", "RGBA")
    assert src.has_alpha == (src.image.mode == "RGBA")
    assert src.image.width >= 1 and src.image.height >= 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_load_or_are_refused(data: bytes) -> None:
    _loads_or_refuses(data)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(range(len(SEEDS))),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    cut=st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_damaged_images_load_or_are_refused(
    seed: int, flips: list[tuple[int, int]], cut: int | None
) -> None:
    data = bytearray(SEEDS[seed])
    for position, value in flips:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    _loads_or_refuses(bytes(data))
