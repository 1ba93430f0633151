"""Member photos and logos as pixels a card can use, and where to crop them.

The media sync has already fetched, verified and stored every file, but a stored file is still
member data: it may be CMYK, palette, 16-bit, greyscale, on its side (EXIF orientation), carry a
non-sRGB ICC profile, be animated, or (if the store was tampered with or the cap was raised) be
broken or huge. `load_image` turns any of these into one shape, 8-bit sRGB "RGB" or "RGBA" with no
metadata, or refuses it with `ImageUnusable` and a stable reason code, so the renderer can fall
back to the logo-led variant and record why.

Speed: a photo is decoded once, at the largest size any format needs (`min_side`; JPEGs are
decoded at 1/2, 1/4 or 1/8 scale by libjpeg itself via `Image.draft`), and every format is derived
from that one `SourceImage` by `cover` or `contain`. Opaque images are resampled by OpenCV, whose
vectorised resize is about four times Pillow's on a card-sized photo (resampling was the largest
part of a card's cost; bench/RESULTS.md).

Smart crop: `focus_point` finds the subject by saliency (edge energy times contrast against a
model of the studio background), and `crop_box` centres the crop on it as far as the bounds allow.
`place` goes further for a photo that text and shapes are drawn over: given those overlays' boxes
(`Overlay`, in the photo box's pixels) it moves the crop, and zooms in a little if it must, so the
subject's box (`subject_box`) stays clear of them, and says which ones it could not keep clear.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageChops, ImageCms, UnidentifiedImageError

from ifn_campaign.errors import ImageUnusable

__all__ = [
    "Overlay",
    "Placement",
    "SourceImage",
    "contain",
    "cover",
    "crop_box",
    "focus_point",
    "load_image",
    "parent_cut",
    "place",
    "subject_box",
]

# The formats the media sync stores (media.ALLOWED_FORMATS), plus MPO: Pillow names a camera JPEG
# that carries extra pictures (an MPF segment, common on phones) "MPO"; it is still a JPEG.
_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "GIF"})
_JPEG_FORMATS = frozenset({"JPEG", "MPO"})
_ORIENTATION = 0x0112
_ANALYSIS_SIDE = 128  # focus_point works on a copy this long on its longest side
_FloatArray = NDArray[np.float64]

# Shrinking below this scale, photos are blurred before OpenCV's bicubic resize, by _ANTIALIAS
# times the extra blur the scale needs (both chosen on a zone plate against Lanczos; _resize).
_CUBIC_DOWN_TO = 0.85
_ANTIALIAS = 0.5
# Cards are drawn in worker processes, one per core: OpenCV's own threads would only fight them.
cv2.setNumThreads(1)
# Part of every card's cache key: another OpenCV build may resample to other pixels, and another
# crop rule (the "crop" number, bumped whenever `place` would choose other boxes) cuts others.
CROP_RULES = 2
RESAMPLER = f"opencv {cv2.__version__}; crop {CROP_RULES}"


@dataclass(frozen=True)
class SourceImage:
    """A decoded photo or logo: 8-bit sRGB, upright, no metadata, ready to crop and resize.

    `image` is "RGBA" only when some pixel is not fully opaque (`has_alpha`); an opaque RGBA file
    becomes "RGB" so the renderer can tell a transparent logo from a photo saved as PNG.
    `original_size` is the upright size of the file before any draft or reduce, so the renderer
    can report the real resolution of what the member sent.
    """

    image: Image.Image
    has_alpha: bool
    original_size: tuple[int, int]
    # focus_point and subject_box are asked once per format; once per image is enough
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _pixels: list[NDArray[np.uint8]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    def pixels(self) -> NDArray[np.uint8]:
        """The image as a read-only array, made once: every format's cut reads it, and an array
        copy of a photo costs about 1 ms."""
        if not self._pixels:
            self._pixels.append(np.asarray(self.image))
        return self._pixels[0]

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height


# --------------------------------------------------------------------------------------------
# loading


def load_image(
    source: Path | bytes, *, max_pixels: int = 40_000_000, min_side: int | None = None
) -> SourceImage:
    """Decode a stored photo or logo into upright 8-bit sRGB, or refuse it with a reason code.

    Reasons: `not_an_image`, `corrupt_image`, `too_many_pixels` (checked from the header, before
    anything is decoded), `unsupported_format`, `unreadable` (the stored file cannot be read).
    `min_side` is the largest side length the caller will need: the image is decoded (JPEG) or
    reduced (other formats) to the smallest size whose shorter side is still at least that, which
    is enough for a cover crop of any aspect at that size.
    """
    if min_side is not None and min_side < 1:
        raise ValueError(f"min_side must be positive, not {min_side}")
    data = _read(source)
    if not data:
        raise ImageUnusable("corrupt_image", "the file is empty")
    # No warnings.catch_warnings(): it is not thread-safe, and cards render in parallel.
    try:
        with Image.open(io.BytesIO(data)) as im:
            return _decode(im, max_pixels=max_pixels, min_side=min_side)
    except ImageUnusable:
        raise
    except UnidentifiedImageError:
        if _looks_like_svg(data):
            raise ImageUnusable("unsupported_format", "SVG image") from None
        raise ImageUnusable("not_an_image", "bytes are not a known image format") from None
    except Image.DecompressionBombError as exc:
        raise ImageUnusable("too_many_pixels", f"decompression bomb: {exc}") from None
    except Exception as exc:  # hostile bytes reach C decoders: any failure is a corrupt image
        raise ImageUnusable(
            "corrupt_image", f"cannot decode: {type(exc).__name__}: {exc}"
        ) from None


def _read(source: Path | bytes) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise ImageUnusable("unreadable", f"cannot read {source}: {exc.strerror or exc}") from None


def _looks_like_svg(data: bytes) -> bool:
    """An SVG is a text file Pillow cannot read: say "unsupported" rather than "not an image"."""
    return b"<svg" in data[:4096].lower()


def _decode(im: Image.Image, *, max_pixels: int, min_side: int | None) -> SourceImage:
    """Header checks, then one decode at reduced scale, then colour, alpha and orientation."""
    fmt = im.format or "unknown"
    if fmt not in _FORMATS:
        raise ImageUnusable("unsupported_format", f"{fmt} image")
    width, height = im.size
    if width < 1 or height < 1:
        raise ImageUnusable("corrupt_image", f"{width}x{height} image")
    if width * height > max_pixels:
        raise ImageUnusable("too_many_pixels", f"{width}x{height} exceeds {max_pixels} pixels")

    orientation = _orientation(im)
    icc = im.info.get("icc_profile") or None
    adobe = "adobe" in im.info  # APP14: the CMYK samples are stored inverted
    if min_side and fmt in _JPEG_FORMATS:
        # libjpeg scales by 1/2, 1/4 or 1/8 while decoding: both sides stay >= min_side
        im.draft("RGB", (min_side, min_side))
    im.load()  # the first frame only, for animated GIF, WebP and PNG

    out = _to_eight_bit(im)
    if min_side:
        out = _reduce(out, min_side)
    out = _to_srgb(out, icc if isinstance(icc, bytes) else None, adobe=adobe)
    has_alpha = out.mode == "RGBA"
    if has_alpha and out.getchannel("A").getextrema() == (255, 255):
        out = out.convert("RGB")  # an opaque RGBA file is a photo, not a transparent logo
        has_alpha = False
    if orientation in _TRANSPOSE:
        out = out.transpose(_TRANSPOSE[orientation])
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    if out is im:
        # a plain Image sharing the decoded pixels (no copy): the file object keeps its EXIF and
        # ICC in .app/.applist, and none of the member's metadata may travel on
        out = im._new(im.im)
    out.info = {}  # nothing of the member's file (EXIF, GPS, ICC, comments) travels on
    return SourceImage(image=out, has_alpha=has_alpha, original_size=(width, height))


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}  # the table ImageOps.exif_transpose uses, applied after the image is already small


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation (1 when absent or unreadable: a bad EXIF block is not a bad photo)."""
    try:
        value = im.getexif().get(_ORIENTATION, 1)
    except Exception:  # malformed EXIF is common and harmless to the pixels
        return 1
    return value if isinstance(value, int) and value in _TRANSPOSE else 1


def _to_eight_bit(im: Image.Image) -> Image.Image:
    """Any decoded mode to one of L, LA, RGB, RGBA, CMYK (transparency kept as alpha)."""
    mode = im.mode
    if mode.startswith("I"):
        return _sixteen_to_eight(im)
    if mode == "1":
        return im.convert("L")
    if mode in ("L", "RGB"):
        if "transparency" in im.info:  # a tRNS colour key: that grey or colour is transparent
            return im.convert("LA" if mode == "L" else "RGBA")
        return im
    if mode in ("LA", "La", "PA"):
        return im.convert("RGBA") if mode == "PA" else im.convert("LA")
    if mode == "P":
        return im.convert("RGBA" if im.has_transparency_data else "RGB")
    if mode in ("RGBA", "RGBa"):
        return im.convert("RGBA")
    if mode == "CMYK":
        return im
    return im.convert("RGB")  # RGBX, YCbCr, LAB, HSV


def _sixteen_to_eight(im: Image.Image) -> Image.Image:
    """16-bit greyscale to 8-bit by scaling (Pillow's own conversion clips everything to white)."""
    values = np.asarray(im).astype(np.float64)  # PNG gives I;16 (or I) holding 0..65535
    grey = Image.fromarray(np.clip(np.rint(values * (255 / 65535)), 0, 255).astype(np.uint8), "L")
    key = im.info.get("transparency")
    if isinstance(key, int) and not isinstance(key, bool):
        alpha = np.where(np.asarray(im) == key, 0, 255).astype(np.uint8)
        return Image.merge("LA", (grey, Image.fromarray(alpha, "L")))
    return grey


def _reduce(im: Image.Image, min_side: int) -> Image.Image:
    """Shrink by a whole factor (box average, fast) while the shorter side stays >= min_side."""
    factor = min(im.size) // min_side
    return im.reduce(factor) if factor >= 2 else im


def _to_srgb(im: Image.Image, icc: bytes | None, *, adobe: bool) -> Image.Image:
    """L, LA, RGB, RGBA or CMYK to sRGB RGB or RGBA through the embedded profile when usable."""
    if im.mode == "CMYK" and not adobe:
        # Pillow decodes every CMYK JPEG as Adobe-inverted; without an APP14 marker the samples
        # are plain CMYK, so undo that inversion (libjpeg's and Ghostscript's reading).
        im = ImageChops.invert(im)
    alpha = None
    if im.mode in ("LA", "RGBA"):
        alpha = im.getchannel("A")
        im = im.convert(im.mode[:-1])
    if icc is not None:
        transform = _transform(icc, im.mode)
        if transform is not None:
            try:
                converted = ImageCms.applyTransform(im, transform)
            except (ImageCms.PyCMSError, OSError, ValueError):
                converted = None
            if converted is not None:
                im = converted
    rgb = im if im.mode == "RGB" else im.convert("RGB")  # no profile: plain conversion
    if alpha is None:
        return rgb
    rgb.putalpha(alpha)
    return rgb


_ICC_SPACE = {"L": "GRAY", "RGB": "RGB", "CMYK": "CMYK"}


@functools.lru_cache(maxsize=32)
def _transform(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """A cached transform from an embedded profile to sRGB; None for sRGB or an unusable profile.

    A broken or mismatched profile is not a reason to refuse a photo: it is converted plainly.
    """
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        space = profile.profile.xcolor_space.strip()
        if space != _ICC_SPACE.get(mode):
            return None
        if space == "RGB" and "srgb" in ImageCms.getProfileDescription(profile).lower():
            return None  # already sRGB: converting would only cost time
        return ImageCms.buildTransform(
            profile, _srgb(), mode, "RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError, AttributeError):
        return None


@functools.cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


# --------------------------------------------------------------------------------------------
# where to crop


def focus_point(img: SourceImage) -> tuple[float, float]:
    """Where the subject is, as (x, y) in 0..1, found by saliency rather than assumed central.

    Product shots sit on plain studio backgrounds that may be gradients (wall, floor), so the
    background is modelled from the border (a Coons patch through the four border strips, median
    smoothed so a product touching one edge does not become background); saliency is edge energy
    times the contrast with that background. Transparent pixels are background. The point is the
    middle of the span holding the saliency (see `_middle`), so a crop that can hold the whole
    product does. Deterministic.
    """
    focus: tuple[float, float] = _analyse(img)[0]
    return focus


def subject_box(img: SourceImage) -> tuple[float, float, float, float] | None:
    """The box the subject fills, (left, top, right, bottom) in 0..1 of the image; None for a
    blank image. From the same saliency as `focus_point`, but only the faintest 0.5% at each end
    is left out (not 2%): this box is what overlays must not cover, so a shoe's toe counts."""
    box: tuple[float, float, float, float] | None = _analyse(img)[1]
    return box


_Analysis = tuple[
    tuple[float, float], tuple[float, float, float, float] | None, NDArray[np.float64] | None
]


def _analyse(img: SourceImage) -> _Analysis:
    """Focus, subject box and the saliency's summed-area table (rows + 1 x columns + 1, the
    whole summing to 1; None for a blank image), computed once per image."""
    cached = img._cache.get("focus")
    if cached is None:
        cached = img._cache["focus"] = _focus(img)
    return cached  # type: ignore[no-any-return]


def _focus(img: SourceImage) -> _Analysis:
    small = _analysis_copy(img.image)
    rgba = np.asarray(small.convert("RGBA"), dtype=np.float64)
    rgb, alpha = rgba[..., :3], rgba[..., 3] / 255.0
    grey = rgb @ np.array([0.299, 0.587, 0.114])
    if img.has_alpha:
        contrast = alpha  # on transparency, everything opaque is subject
        edges = _sobel(alpha * 255.0) + _sobel(grey) * alpha
    else:
        distance = np.sqrt(((rgb - _background(rgb)) ** 2).sum(axis=-1))
        contrast = np.clip((distance - 10.0) / 50.0, 0.0, 1.0)  # JPEG noise < 10 < subject
        edges = _sobel(grey)
    scale = float(np.percentile(edges, 98))
    energy = np.clip(edges / scale, 0.0, 1.0) if scale > 1e-6 else np.zeros_like(edges)
    saliency = contrast * (0.25 + energy) * alpha  # flat interiors count, outlines count more
    total = float(saliency.sum())
    if total < 1e-6 * saliency.size:
        return (0.5, 0.5), None, None  # a blank image has no subject
    across, down = saliency.sum(axis=0) / total, saliency.sum(axis=1) / total
    fx, fy = _middle(across), _middle(down)
    x0, x1 = _span(across, _BOX_TAIL)
    y0, y1 = _span(down, _BOX_TAIL)
    # rounded so float noise can never move a crop by a pixel between machines
    focus = (round(min(max(fx, 0.0), 1.0), 4), round(min(max(fy, 0.0), 1.0), 4))
    table = np.zeros((saliency.shape[0] + 1, saliency.shape[1] + 1))
    table[1:, 1:] = (saliency / total).cumsum(axis=0).cumsum(axis=1)
    return focus, (round(x0, 4), round(y0, 4), round(x1, 4), round(y1, 4)), table


_TAIL = 0.02
_BOX_TAIL = 0.005


def _span(mass: _FloatArray, tail: float) -> tuple[float, float]:
    """Where along one axis all but the faintest `tail` of the mass at each end lies, in 0..1."""
    cdf = np.cumsum(mass)
    low = int(np.searchsorted(cdf, tail))
    high = int(np.searchsorted(cdf, 1.0 - tail))
    return low / mass.shape[0], min(high + 1, mass.shape[0]) / mass.shape[0]


def _middle(mass: _FloatArray) -> float:
    """The middle of where the subject lies along one axis, in 0..1.

    Not the centroid: a boot's mass sits in its foot, so a crop centred on the centroid cuts the
    top of the shaft even when the whole boot would fit. The middle of the span holding all but
    the faintest 2% of saliency at each end centres the subject's extent instead.
    """
    cdf = np.cumsum(mass)
    low = int(np.searchsorted(cdf, _TAIL))
    high = int(np.searchsorted(cdf, 1.0 - _TAIL))
    return (low + high + 1) / (2 * mass.shape[0])


def _analysis_copy(image: Image.Image) -> Image.Image:
    """A copy about 128 px on its longest side: enough to find a subject, and fast."""
    scale = _ANALYSIS_SIDE / max(image.size)
    if scale >= 1.0:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BOX, reducing_gap=2.0)


def _sobel(values: _FloatArray) -> _FloatArray:
    """Gradient magnitude (3x3 Sobel, edges replicated so the frame is not an edge)."""
    p = np.pad(values, 1, mode="edge")
    gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
    gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
    return np.asarray(np.hypot(gx, gy))


def _background(rgb: _FloatArray) -> _FloatArray:
    """The background each pixel would have if it were empty: a Coons patch through the borders.

    Studio sweeps are smooth gradients in both directions; interpolating the four border strips
    follows them, where one "dominant colour" would call half a gradient the subject.
    """
    height, width = rgb.shape[:2]
    strip = max(1, min(height, width) // 40)
    top = _smooth(rgb[:strip].mean(axis=0))
    bottom = _smooth(rgb[-strip:].mean(axis=0))
    left = _smooth(rgb[:, :strip].mean(axis=1))
    right = _smooth(rgb[:, -strip:].mean(axis=1))
    u = (np.arange(width) / max(width - 1, 1))[None, :, None]
    v = (np.arange(height) / max(height - 1, 1))[:, None, None]
    c00 = (top[0] + left[0]) / 2
    c10 = (top[-1] + right[0]) / 2
    c01 = (bottom[0] + left[-1]) / 2
    c11 = (bottom[-1] + right[-1]) / 2
    # ruled_x + ruled_y - corners, where ruled_x = (1-u) left + u right, ruled_y = (1-v) top +
    # v bottom and corners is bilinear in u, v: regrouped into terms of one row or one column
    # and two full-size products (was about a dozen full-size arrays: 1.3 of focus's 3.6 ms)
    bend = c11 - c10 - c01 + c00
    rows = top[None, :, :] - c00 - (c10 - c00) * u
    cols = left[:, None, :] - (c01 - c00) * v
    across = right[:, None, :] - left[:, None, :] - bend * v
    down = bottom[None, :, :] - top[None, :, :]
    return np.asarray(rows + cols + u * across + v * down)


def _smooth(line: _FloatArray) -> _FloatArray:
    """A running median over a third of the border: a product touching an edge is not background."""
    n = line.shape[0]
    window = max(1, n // 3) | 1  # odd
    if window == 1:
        return line
    half = window // 2
    padded = np.pad(line, ((half, half), (0, 0)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)
    return np.asarray(np.median(windows, axis=-1))


def crop_box(
    size: tuple[int, int], aspect: float, focus: tuple[float, float]
) -> tuple[int, int, int, int]:
    """The largest box of `aspect` (width / height) inside `size`, centred on `focus` if it can be.

    Returns (left, top, right, bottom) in pixels, always inside the image and at least 1x1.
    """
    width, height = size
    if width < 1 or height < 1:
        raise ValueError(f"image size must be positive, not {width}x{height}")
    if not (math.isfinite(aspect) and aspect > 0):
        raise ValueError(f"aspect must be a positive number, not {aspect!r}")
    if width / height > aspect:
        box_h, box_w = height, min(width, max(1, _round(height * aspect)))
    else:
        box_w, box_h = width, min(height, max(1, _round(width / aspect)))
    fx, fy = (_unit(v) for v in focus)
    left = min(max(_round(fx * width - box_w / 2), 0), width - box_w)
    top = min(max(_round(fy * height - box_h / 2), 0), height - box_h)
    return (left, top, left + box_w, top + box_h)


# --------------------------------------------------------------------------------------------
# keeping the subject clear of what is drawn over the photo

MAX_ZOOM = 1.5  # `place` may cut a box down to 1/1.5 of the largest one to clear the subject ...
MAX_UPSCALE = 2.0  # ... but never so far that the source is enlarged past this (low resolution)
_ZOOM_STEP = 0.025  # crop widths tried: 100%, 97.5%, 95%, ... of the largest
_GAP = 0.01  # room kept between subject and overlay, as a share of the photo box's shorter side
BLOCKED_SHARE = 0.005  # hiding this much more of the subject is no reason to move the crop
# an overlay over this share of the subject's saliency is reported: less is a sliver of an edge
# (a pill over the tip of a strap), which staff would learn to ignore
REPORTED_SHARE = 0.02
_Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Overlay:
    """Something drawn over a photo: its name (the template layer's, for the report) and its box
    (left, top, right, bottom) in the photo box's own pixels, (0, 0) being its top left corner.
    A box reaching past the photo box counts only where it overlaps it."""

    name: str
    box: _Box

    def __post_init__(self) -> None:
        left, top, right, bottom = self.box
        if not all(math.isfinite(v) for v in self.box) or right < left or bottom < top:
            raise ValueError(
                f"overlay {self.name!r}: not a box (left, top, right, bottom): {self.box}"
            )


@dataclass(frozen=True)
class Placement:
    """Where `place` cuts an image: `box` in source pixels (for `cover`), the subject's box in
    the output's pixels (None: no subject found), and the overlays still over the subject when no
    crop could clear it (each over at least REPORTED_SHARE of its saliency; empty: clear).
    `moved` is True when the cut is not the plain smart crop."""

    box: tuple[int, int, int, int]
    subject: _Box | None
    blocked: tuple[str, ...]
    moved: bool
    # how much of the subject's saliency each of `blocked` covers (0..1), in the same order
    shares: tuple[float, ...] = ()

    @property
    def clear(self) -> bool:
        return not self.blocked


def place(
    img: SourceImage,
    size: tuple[int, int],
    avoid: Sequence[Overlay | _Box] = (),
    focus: tuple[float, float] | None = None,
) -> Placement:
    """Cut `img` for a `size` box so its subject stays clear of the `avoid` boxes, if it can.

    `avoid` is what will be drawn over the photo (text, ribbon, badge, chips, logo), in the photo
    box's pixels; a plain tuple is an overlay named "overlay". The plain smart crop (`crop_box`)
    is kept when it already leaves the subject's box clear, with a gap of 1% of the shorter side
    (a faint edge of the subject it cuts off is under no overlay either).
    Otherwise the crop slides, then shrinks in 2.5% steps down to 1/MAX_ZOOM of its side (never
    enlarging the original past MAX_UPSCALE), and the first size that has a clear position wins,
    at the position nearest the plain crop: at each size every position a clear crop can start at
    is tried (the edges of the regions each overlay leaves free), so a clear crop is found
    whenever one of these sizes has one. The whole subject stays in the crop. When none is clear,
    the full-size crop that hides the least of the subject (under overlays or cut off, weighed by
    its saliency) is kept, and `blocked` names the overlays over at least REPORTED_SHARE of it: a
    box corner the product does not fill is not reported.
    """
    width, height = size
    _check_size(width, height)
    if focus is None:
        focus = focus_point(img)
    full = crop_box(img.image.size, width / height, focus)
    found = subject_box(img)
    boxes = _overlays(avoid, width, height)
    if found is None:
        return Placement(full, None, (), False)
    src_w, src_h = img.image.size
    subject = (found[0] * src_w, found[1] * src_h, found[2] * src_w, found[3] * src_h)
    if not boxes:
        return _placement(full, subject, size, (), False)
    gap = _GAP * min(width, height)
    padded = np.array([(b[0] - gap, b[1] - gap, b[2] + gap, b[3] + gap) for _, b in boxes])
    if not _hits(full, subject, size, padded).any():
        return _placement(full, subject, size, (), False)
    for crop_w, crop_h in _crop_sizes(img, full, size):
        box = _clear_crop(img.image.size, (crop_w, crop_h), focus, subject, size, padded)
        if box is not None:
            return _placement(box, subject, size, (), box != full)
    table = _analyse(img)[2]
    assert table is not None  # a subject was found, so the image has saliency
    exact = np.array([b for _, b in boxes], dtype=np.float64)
    box, hidden = _least_hidden(img.image.size, full, subject, size, exact, table)
    under: dict[str, float] = {}
    for (name, _), share in zip(boxes, hidden, strict=True):
        under[name] = under.get(name, 0.0) + float(share)
    blocked = {name: share for name, share in under.items() if share >= REPORTED_SHARE}
    return _placement(
        box,
        subject,
        size,
        tuple(blocked),
        box != full,
        tuple(round(v, 4) for v in blocked.values()),
    )


def _overlays(avoid: Sequence[Overlay | _Box], width: int, height: int) -> list[tuple[str, _Box]]:
    """The overlays clipped to the photo box, each with a name; empty ones dropped."""
    named: list[tuple[str, _Box]] = []
    for item in avoid:
        overlay = item if isinstance(item, Overlay) else Overlay("overlay", tuple(item))  # type: ignore[arg-type]
        left, top, right, bottom = overlay.box
        clipped = (max(left, 0.0), max(top, 0.0), min(right, width), min(bottom, height))
        if clipped[2] > clipped[0] and clipped[3] > clipped[1]:
            named.append((overlay.name, clipped))
    return named


def _crop_sizes(
    img: SourceImage, full: tuple[int, int, int, int], size: tuple[int, int]
) -> list[tuple[int, int]]:
    """The crop sizes `place` tries, largest first: down to 1/MAX_ZOOM of the full crop's side,
    and only while the original file is enlarged at most MAX_UPSCALE times (or not at all more
    than the full crop already is)."""
    width, height = size
    full_w = full[2] - full[0]
    aspect = width / height
    src_w = img.image.size[0]
    # output pixels per pixel of the original file, for the full crop
    upscale = width / (full_w * img.original_size[0] / src_w)
    zoom_limit = min(MAX_ZOOM, max(1.0, MAX_UPSCALE / upscale))
    sizes: list[tuple[int, int]] = [(full_w, full[3] - full[1])]
    step = 1
    while True:
        crop_w = _round(full_w * (1 - _ZOOM_STEP * step))
        if crop_w < 1 or full_w / crop_w > zoom_limit + 1e-9:
            return sizes
        crop_h = min(img.image.size[1], max(1, _round(crop_w / aspect)))
        if not sizes or sizes[-1] != (crop_w, crop_h):
            sizes.append((crop_w, crop_h))
        step += 1


def _hits(
    box: tuple[int, int, int, int], subject: _Box, size: tuple[int, int], padded: NDArray[Any]
) -> NDArray[np.bool_]:
    """Which (padded) overlays the subject overlaps when `box` is cut to `size`."""
    sx, sy = size[0] / (box[2] - box[0]), size[1] / (box[3] - box[1])
    x0, x1 = (subject[0] - box[0]) * sx, (subject[2] - box[0]) * sx
    y0, y1 = (subject[1] - box[1]) * sy, (subject[3] - box[1]) * sy
    return np.asarray(
        (x0 < padded[:, 2]) & (x1 > padded[:, 0]) & (y0 < padded[:, 3]) & (y1 > padded[:, 1])
    )


def _clear_crop(
    image_size: tuple[int, int],
    crop: tuple[int, int],
    focus: tuple[float, float],
    subject: _Box,
    size: tuple[int, int],
    padded: NDArray[Any],
) -> tuple[int, int, int, int] | None:
    """The clear crop of this size nearest the focus-centred one, or None.

    The subject is clear of an overlay when it lies wholly left of, right of, above or below it:
    each is a bound on the crop's left or top edge alone. So the clear positions are a union of
    rectangles whose edges are those bounds, and the clear position nearest any point has each
    coordinate either the point's own or one of the bounds (rounded inwards): trying every such
    pair is exhaustive, and done as one array operation.
    """
    crop_w, crop_h = crop
    image_w, image_h = image_size
    sx, sy = size[0] / crop_w, size[1] / crop_h
    # the whole subject stays inside the crop
    left_lo, left_hi = (
        max(0, math.ceil(subject[2] - crop_w)),
        min(image_w - crop_w, math.floor(subject[0])),
    )
    top_lo, top_hi = (
        max(0, math.ceil(subject[3] - crop_h)),
        min(image_h - crop_h, math.floor(subject[1])),
    )
    if left_lo > left_hi or top_lo > top_hi:
        return None
    # the crop of this size centred on the focus, as far as the image allows
    want_left = min(max(_round(_unit(focus[0]) * image_w - crop_w / 2), 0), image_w - crop_w)
    want_top = min(max(_round(_unit(focus[1]) * image_h - crop_h / 2), 0), image_h - crop_h)
    lefts = _candidates(
        want_left, left_lo, left_hi, subject[2], subject[0], padded[:, 0], padded[:, 2], sx
    )
    tops = _candidates(
        want_top, top_lo, top_hi, subject[3], subject[1], padded[:, 1], padded[:, 3], sy
    )
    # clear of overlay i: subject right of its left edge... for every (left, top) pair at once
    x0 = (subject[0] - lefts[:, None]) * sx
    x1 = (subject[2] - lefts[:, None]) * sx
    y0 = (subject[1] - tops[:, None]) * sy
    y1 = (subject[3] - tops[:, None]) * sy
    free_x = (x1 <= padded[None, :, 0]) | (x0 >= padded[None, :, 2])  # (lefts, overlays)
    free_y = (y1 <= padded[None, :, 1]) | (y0 >= padded[None, :, 3])  # (tops, overlays)
    clear = (free_x[:, None, :] | free_y[None, :, :]).all(axis=2)  # (lefts, tops)
    if not clear.any():
        return None
    distance = np.abs(lefts - want_left)[:, None] * sx + np.abs(tops - want_top)[None, :] * sy
    distance = np.where(clear, distance, np.inf)
    i, j = np.unravel_index(int(np.argmin(distance)), distance.shape)
    left, top = int(lefts[i]), int(tops[j])
    return (left, top, left + crop_w, top + crop_h)


def _candidates(
    want: int,
    low: int,
    high: int,
    subject_end: float,
    subject_start: float,
    starts: NDArray[Any],
    ends: NDArray[Any],
    scale: float,
) -> NDArray[np.int64]:
    """Crop edge positions worth trying along one axis, all within [low, high]: the wanted one,
    the bounds, and for each overlay the last position that puts the subject before it and the
    first that puts it after it (ceil and floor of each, for rounding either way)."""
    before = subject_end - starts / scale  # edge >= this: the subject ends before the overlay
    after = subject_start - ends / scale  # edge <= this: the subject starts after it
    values = np.concatenate(
        [[want, low, high], np.ceil(before), np.floor(before), np.ceil(after), np.floor(after)]
    )
    return np.unique(np.clip(values, low, high).astype(np.int64))


def _least_hidden(
    image_size: tuple[int, int],
    full: tuple[int, int, int, int],
    subject: _Box,
    size: tuple[int, int],
    exact: NDArray[Any],
    table: NDArray[np.float64],
) -> tuple[tuple[int, int, int, int], NDArray[np.float64]]:
    """No clear crop: the full-size crop hiding the least of the subject's saliency (under the
    overlays, or outside the crop; the one nearest the plain crop among those within
    BLOCKED_SHARE of the least), and how much of it each overlay hides there.
    Positions tried: the edges `_clear_crop` tries, and 33 evenly spaced ones on each axis."""
    crop_w, crop_h = full[2] - full[0], full[3] - full[1]
    image_w, image_h = image_size
    sx, sy = size[0] / crop_w, size[1] / crop_h
    edges_x = _candidates(
        full[0], 0, image_w - crop_w, subject[2], subject[0], exact[:, 0], exact[:, 2], sx
    )
    edges_y = _candidates(
        full[1], 0, image_h - crop_h, subject[3], subject[1], exact[:, 1], exact[:, 3], sy
    )
    spread_x = np.rint(np.linspace(0, image_w - crop_w, 33)).astype(np.int64)
    spread_y = np.rint(np.linspace(0, image_h - crop_h, 33)).astype(np.int64)
    lefts = np.unique(np.concatenate([edges_x, spread_x]))
    tops = np.unique(np.concatenate([edges_y, spread_y]))
    fx, fy = (table.shape[1] - 1) / image_w, (table.shape[0] - 1) / image_h
    left, top = lefts[:, None, None].astype(np.float64), tops[None, :, None].astype(np.float64)
    # each overlay's box in source pixels, for every (left, top): (lefts, tops, overlays)
    under = _mass(
        table,
        (left + exact[:, 0] / sx) * fx,
        (top + exact[:, 1] / sy) * fy,
        (left + exact[:, 2] / sx) * fx,
        (top + exact[:, 3] / sy) * fy,
    )
    seen = _mass(table, left * fx, top * fy, (left + crop_w) * fx, (top + crop_h) * fy)[..., 0]
    hidden = under.sum(axis=2) + (1.0 - seen)
    distance = np.abs(lefts - full[0])[:, None] * sx + np.abs(tops - full[1])[None, :] * sy
    # hiding BLOCKED_SHARE more is no reason to move away from the plain crop
    near_best = hidden <= float(hidden.min()) + BLOCKED_SHARE
    i, j = np.unravel_index(int(np.argmin(np.where(near_best, distance, np.inf))), hidden.shape)
    box = (int(lefts[i]), int(tops[j]), int(lefts[i]) + crop_w, int(tops[j]) + crop_h)
    return box, np.asarray(under[i, j], dtype=np.float64)


def _mass(
    table: NDArray[np.float64],
    x0: NDArray[np.float64],
    y0: NDArray[np.float64],
    x1: NDArray[np.float64],
    y1: NDArray[np.float64],
) -> NDArray[np.float64]:
    """The saliency inside boxes given in the analysis copy's pixels (any shape, broadcast),
    edges rounded to whole pixels and clipped to the image, from its summed-area table."""
    rows, cols = table.shape[0] - 1, table.shape[1] - 1
    a = np.clip(np.rint(x0), 0, cols).astype(np.int64)
    b = np.clip(np.rint(y0), 0, rows).astype(np.int64)
    c = np.clip(np.rint(x1), 0, cols).astype(np.int64)
    d = np.clip(np.rint(y1), 0, rows).astype(np.int64)
    c, d = np.maximum(c, a), np.maximum(d, b)
    return np.asarray(table[d, c] - table[b, c] - table[d, a] + table[b, a])


def _placement(
    box: tuple[int, int, int, int],
    subject: _Box,
    size: tuple[int, int],
    blocked: tuple[str, ...],
    moved: bool,
    shares: tuple[float, ...] = (),
) -> Placement:
    """The result for a chosen box, with the subject's box in output pixels."""
    sx, sy = size[0] / (box[2] - box[0]), size[1] / (box[3] - box[1])
    shown = (
        (subject[0] - box[0]) * sx,
        (subject[1] - box[1]) * sy,
        (subject[2] - box[0]) * sx,
        (subject[3] - box[1]) * sy,
    )
    return Placement(box, shown, blocked, moved, shares)


def _round(value: float) -> int:
    return math.floor(value + 0.5)  # half up, the same everywhere


def _unit(value: float) -> float:
    return min(max(value, 0.0), 1.0) if math.isfinite(value) else 0.5


# --------------------------------------------------------------------------------------------
# resizing


def cover(
    img: SourceImage,
    width: int,
    height: int,
    focus: tuple[float, float] | None = None,
    *,
    avoid: Sequence[Overlay | _Box] = (),
    box: tuple[int, int, int, int] | None = None,
) -> tuple[Image.Image, float]:
    """Fill exactly width x height: crop to the aspect around the subject, then resize.

    `avoid`: boxes drawn over the result (in its pixels) that the subject should stay clear of
    (see `place`; call `place` itself to learn whether it could). `box`: cut exactly this box of
    the source instead (a `Placement.box`). Returns the image and the upscale factor (output
    pixels per source pixel; > 1 means the source was enlarged, and the renderer flags > 2 as
    low resolution).
    """
    _check_size(width, height)
    if box is None:
        if avoid:
            box = place(img, (width, height), avoid, focus).box
        else:
            if focus is None:
                focus = focus_point(img)
            box = crop_box(img.image.size, width / height, focus)
    elif not (0 <= box[0] < box[2] <= img.width and 0 <= box[1] < box[3] <= img.height):
        raise ValueError(f"crop box {box} is not inside the {img.width}x{img.height} image")
    factor = max(width / (box[2] - box[0]), height / (box[3] - box[1]))
    return _resize(img, (width, height), box, factor), factor


_SAME_SCALE = 0.002  # relative: cuts this close in scale may share one resample


def parent_cut(
    img: SourceImage, size: tuple[int, int], sizes: Sequence[tuple[int, int]]
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The cover cut among `sizes` that this one can be cropped from, and where in it.

    A template cuts the photo at several sizes; two of them often have the same scale (a
    4:5 and a 1:1 box of the same width on a landscape or square photo), and then the
    smaller crop, centred on the same focus, lies inside the larger. Cropping it from the
    larger cut saves a resample (about 3 ms a card) and differs from its own resample by
    less than 0.2% of scale. The choice depends only on the image and `sizes` (every box
    the template cuts, whatever formats are asked for), so output stays deterministic.
    Returns ((width, height) of the larger cut, (left, top) of this one in it), or None.
    """
    focus = focus_point(img)
    width, height = size
    box = crop_box(img.image.size, width / height, focus)
    factor = max(width / (box[2] - box[0]), height / (box[3] - box[1]))
    best: tuple[int, tuple[int, int], tuple[int, int]] | None = None
    for other in sizes:
        ow, oh = other
        if other == size or ow < width or oh < height:
            continue
        outer = crop_box(img.image.size, ow / oh, focus)
        sx, sy = ow / (outer[2] - outer[0]), oh / (outer[3] - outer[1])
        if abs(max(sx, sy) - factor) > _SAME_SCALE * factor:
            continue
        inside = outer[0] <= box[0] and outer[1] <= box[1]
        if not (inside and box[2] <= outer[2] and box[3] <= outer[3]):
            continue
        left = min(max(_round((box[0] - outer[0]) * sx), 0), ow - width)
        top = min(max(_round((box[1] - outer[1]) * sy), 0), oh - height)
        if best is None or ow * oh > best[0]:
            best = (ow * oh, other, (left, top))
    return None if best is None else (best[1], best[2])


def contain(img: SourceImage, width: int, height: int) -> tuple[Image.Image, float]:
    """Fit inside width x height keeping the aspect, centred on a transparent RGBA canvas.

    Returns the image and the upscale factor, as `cover` does.
    """
    _check_size(width, height)
    factor = min(width / img.width, height / img.height)
    fitted = (
        min(width, max(1, _round(img.width * factor))),
        min(height, max(1, _round(img.height * factor))),
    )
    scaled = _resize(img, fitted, (0, 0, img.width, img.height), factor)
    canvas = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    canvas.paste(scaled.convert("RGBA"), ((width - fitted[0]) // 2, (height - fitted[1]) // 2))
    return canvas, factor


def _resize(
    img: SourceImage, size: tuple[int, int], box: tuple[int, int, int, int], factor: float
) -> Image.Image:
    """A box of the image at `size`, with a filter that keeps the quality.

    The same size: a plain crop (any filter gives the same pixels, only slower). Opaque images
    (RGB, L: every photo) go through OpenCV's bicubic, after a Gaussian blur when shrinking by
    more than 15% so that detail finer than the output's pixels cannot alias (moire on knits
    and leather grain). Against Pillow's Lanczos on a zone plate, the worst case for aliasing,
    this comes within 1 dB of OpenCV's pixel-area averaging and 1.5 to 2 dB closer than Pillow's
    Hamming, in half the time of the one and a third of the other (bench/RESULTS.md). Images
    with alpha (logos) stay with Pillow, which resamples them premultiplied so transparent
    pixels never bleed their colour into the edges: bicubic up, Hamming for a small shrink, a
    whole-factor box reduce then Lanczos for a large one.
    """
    image = img.image
    if size == (box[2] - box[0], box[3] - box[1]):
        return image.crop(box) if box != (0, 0, *image.size) else image.copy()
    if image.mode in ("RGB", "L"):
        left, top, right, bottom = box
        pixels = img.pixels()[top:bottom, left:right]
        if factor < _CUBIC_DOWN_TO:
            # the blur a 1/factor shrink needs on top of the source's own pixel; 3 taps up to
            # sigma 1 (down to 0.5x: on the zone plate closer to Lanczos than a wider kernel,
            # and faster), then 2 sigma each side
            sigma = _ANTIALIAS * math.sqrt(1 / factor**2 - 1)
            side = 3 if sigma <= 1 else 2 * math.ceil(2 * sigma) + 1
            pixels = cv2.GaussianBlur(pixels, (side, side), sigmaX=sigma)
        return Image.fromarray(cv2.resize(pixels, size, interpolation=cv2.INTER_CUBIC))
    if factor > 1:
        return image.resize(size, Image.Resampling.BICUBIC, box=box)
    if factor > 0.5:
        return image.resize(size, Image.Resampling.HAMMING, box=box)
    return image.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=1.0)


def _check_size(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ValueError(f"output size must be positive, not {width}x{height}")
