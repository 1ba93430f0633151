"""A member's YouTube Short: their photos one after another, their name built up, and where to
find them.

`member_short` makes the Short a person would watch (issue 15): the member's usable photos (up to
four, the card's best photo first) one after another, each with a steady Ken Burns zoom or pan and
half-second crossfades; the member's name, place and categories fading and rising in one after
another on legible plates; then an end frame on the brand's teal with the network logo, the
member's name and "Lihat profil lengkap di" with their registry profile link as text (the words
and the pace are data: templates/shorts/short.toml). A member with no usable photo gets a warm
brand background with their logo (or initials) on a paper card, and the same build-up. The video
is silent: no licensed track ships with the project.

Safe zone: every text and logo pixel lies inside the Shorts frame's safe rectangle
(`templates/cards/formats.toml` `[shorts_frame] safe`: what YouTube's own buttons and captions
leave free) in every frame, slides included; only the moving photo runs under the platform's bars,
and it always covers the whole frame. `overlay_layers` builds the text and logo layers and
`overlay_at` draws them at any moment, so tests check the rule without decoding video.

`make_short` is the plain encoder underneath: stills shown equally long with the same motion and
crossfades and no overlay (the old card-only Short; the benchmark's baseline).

The product stays clear of the text plates: a tall photo is cut by the smart crop
(`cards.photo.cover` with the plates to avoid; `ShortVideo.notes` says when no cut can), a
square or landscape one is shown whole with its product in the band between the ribbon and the
name (`_whole`). A photo with transparency stands on the brand's paper.

How a frame is made: each still is made once at 6% more than the frame and converted once to
BT.709 limited-range Y, Cb and Cr planes (4:2:0); every frame is then an affine resample (OpenCV,
bilinear) of those planes, so the motion moves by fractions of a pixel. The overlay layers are
converted once to premultiplied Y, Cb, Cr and alpha and blended into the planes over their own
boxes only. Frames are made in a helper thread while the encoder works.

Determinism: no randomness and fixed encoder threads, so the same inputs and arguments give the
same bytes (tested); the encoders are FFmpeg's, so another PyAV version may give other bytes.
Encoding goes through PyAV, whose wheels bundle FFmpeg and libx264: no system ffmpeg is used.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import tomllib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import av
import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from ifn_campaign import bundled
from ifn_campaign.cards import photo as photos
from ifn_campaign.cards.brand import BrandKit
from ifn_campaign.cards.fonts import FontChain
from ifn_campaign.cards.render import _gradient, _rounded_mask
from ifn_campaign.cards.template import TEMPLATES_DIR, formats
from ifn_campaign.cards.text import TextBlock, draw_text, fit_text
from ifn_campaign.config import CaptionsSettings
from ifn_campaign.errors import (
    ImageUnusable,
    InvalidValueError,
    LedgerError,
    SettingsError,
    TemplateError,
    VideoError,
)
from ifn_campaign.files import temporary_beside

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ifn_campaign.models import Post

__all__ = [
    "MAX_SECONDS",
    "MIN_SECONDS",
    "OverlayLayer",
    "ShortMember",
    "ShortStyle",
    "ShortVideo",
    "make_short",
    "member_short",
    "member_timeline",
    "overlay_at",
    "overlay_layers",
    "post_video",
    "safe_rect",
    "short_member",
    "style",
    "video_folder",
]

WIDTH, HEIGHT = 1080, 1920
MIN_SECONDS, MAX_SECONDS = 6.0, 15.0
FPS_CHOICES = (24, 25, 30, 50, 60)
ZOOM = 1.06  # how far the Ken Burns motion goes: the still is prepared this much larger
CROSSFADE = 0.5  # seconds two stills overlap
MIN_STILL_SECONDS = 1.5  # each still is on screen at least this long
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow")
# superfast: a 13 s Short encodes in about 5 s on 2 cores, where veryfast took twice that
PRESET = "superfast"
_LOOKAHEAD = 4  # frames made ahead of the encoder
_log = logging.getLogger(__name__)

# The member Short's words and pace are data: templates/shorts/short.toml (ShortStyle).
STYLE_FILE = TEMPLATES_DIR.parent / "shorts" / "short.toml"
# Photos at least this wide for their height (3:4) are shown whole, centred this far down the
# frame (pixels: the middle of what the safe zone leaves above the text), blended in over FEATHER
WHOLE_FROM_ASPECT = 0.75
PHOTO_CENTRE_Y = 640
FEATHER = 48
FADE = 0.45  # an overlay layer fades (and rises) in over this long
RISE = 24  # pixels a layer rises while it fades in
MARGIN = 48  # pixels between the safe rectangle's edges and anything we draw
PROFILE_URL = CaptionsSettings.model_fields["profile_url"].default

Frame = Path | Image.Image
_Planes = tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]]
_Float = NDArray[np.float32]


@dataclass(frozen=True)
class ShortVideo:
    """A finished Short on disk; `seconds` is the exact video length (frames / fps). `notes`
    say which photos' product no cut could keep clear of the text (as a card's notes do)."""

    path: Path
    seconds: float
    width: int
    height: int
    fps: int
    frames: int
    bytes: int
    sha256: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShortMember:
    """What a member's Short shows: text as data, photos and logo decoded (`short_member` reads
    them from the database; tests and the benchmark build one directly)."""

    member_id: str
    business_name: str
    place: str
    categories: tuple[str, ...]
    profile_url: str
    photos: tuple[photos.SourceImage, ...] = ()
    logo: photos.SourceImage | None = None
    initials: str = ""


class ShortStyle(BaseModel):
    """The member Short's words and pace (templates/shorts/short.toml, `style()`): what staff may
    want to change without touching code. Figures that would make a Short outside 6..15 s or a
    photo shorter than MIN_STILL_SECONDS are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    _source: str = PrivateAttr(default=str(STYLE_FILE))  # the file errors name

    ribbon: Annotated[str, Field(min_length=1, max_length=40)]
    profile_lead: Annotated[str, Field(min_length=1, max_length=60)]
    photo_seconds: Annotated[float, Field(ge=MIN_STILL_SECONDS, le=MAX_SECONDS)]
    body_seconds: tuple[float, float]
    end_seconds: Annotated[float, Field(ge=MIN_STILL_SECONDS, le=MAX_SECONDS)]
    max_photos: Annotated[int, Field(ge=1, le=10)]

    @model_validator(mode="after")
    def _fits(self) -> ShortStyle:
        least, most = self.body_seconds
        if not 0 < least <= most:
            raise ValueError("body_seconds must be [least, most] with 0 < least <= most")
        for body in (least, most):
            total = body + self.end_seconds - CROSSFADE
            if not MIN_SECONDS <= total <= MAX_SECONDS:
                raise ValueError(
                    f"body_seconds {body:g} and end_seconds {self.end_seconds:g} make a "
                    f"{total:g} s Short; a Short is {MIN_SECONDS:g} to {MAX_SECONDS:g} s"
                )
        shortest = (most + (self.max_photos - 1) * CROSSFADE) / self.max_photos
        if shortest < MIN_STILL_SECONDS:
            raise ValueError(
                f"{self.max_photos} photos in body_seconds' {most:g} s show each for "
                f"{shortest:.2f} s, under {MIN_STILL_SECONDS:g} s: fewer photos or a longer body"
            )
        return self


def load_style(path: Path = STYLE_FILE) -> ShortStyle:
    """The Short's words and pace from a TOML file ([words] and [pace]); a TemplateError naming
    the file and the key for any mistake."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TemplateError("file not found", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"cannot read: {exc}", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"not valid TOML: {exc}", file=str(path)) from None
    flat: dict[str, Any] = {}
    for section in ("words", "pace"):
        values = data.pop(section, {})
        if not isinstance(values, dict):
            raise TemplateError("must be a table", file=str(path), key=section)
        flat.update(values)
    if data:
        raise TemplateError(
            "unknown section; use [words] and [pace]", file=str(path), key=next(iter(data))
        )
    try:
        made = ShortStyle(**flat)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"]) or None
        raise TemplateError(error["msg"], file=str(path), key=key) from None
    made._source = str(path)
    return made


_STYLES: list[ShortStyle] = []


def style() -> ShortStyle:
    """templates/shorts/short.toml, read once per process."""
    if not _STYLES:
        _STYLES.append(load_style())
    return _STYLES[0]


_style = style  # for functions whose `style` argument hides it


def safe_rect() -> tuple[int, int, int, int]:
    """(left, top, right, bottom) in pixels of the Shorts frame that no text or logo leaves."""
    return formats()["shorts_frame"].safe_rect()


# --------------------------------------------------------------------------------------------
# the public makers


def make_short(
    frames: Sequence[Frame],
    out: Path,
    *,
    seconds: float = 8.0,
    fps: int = 30,
    preset: str = PRESET,
    crf: int = 20,
    threads: int = 2,
) -> ShortVideo:
    """Write `frames` (image files or Pillow images, shown in order, equally long) as a silent
    Short to `out`, replacing it atomically; no text is added.

    Anything not 1080x1920 is covered to it around its subject. `seconds` outside 6..15 is
    clamped into it; zero, negative or not a number is a ValueError, as are an fps not in 24, 25,
    30, 50, 60, an unknown x264 preset and more stills than fit (each needs 1.5 s). `threads` is
    fixed rather than "all cores" because x264's output depends on it: keep it the same
    everywhere to get the same bytes everywhere.

    Raises VideoError when a frame cannot be read or is not an image, or `out` cannot be written;
    a failed run leaves no file behind (the video is written to a temporary name, then renamed).
    """
    _, duration = _timing(seconds, fps)
    if not frames:
        raise ValueError("a Short needs at least one frame")
    _check_encoder(preset, crf, threads)
    length = (duration + (len(frames) - 1) * CROSSFADE) / len(frames)
    if length < MIN_STILL_SECONDS:
        most = int((duration - CROSSFADE) // (MIN_STILL_SECONDS - CROSSFADE))
        raise ValueError(
            f"{len(frames)} frames do not fit in {duration:g} s: at most {most} "
            f"(each is shown at least {MIN_STILL_SECONDS:g} s)"
        )
    timeline = _Timeline.of((length,) * len(frames), fps)
    stills = [
        _Still.of(frame, index, _MOTIONS[index % len(_MOTIONS)])
        for index, frame in enumerate(frames)
    ]
    return _write(out, stills, timeline, (), fps=fps, preset=preset, crf=crf, threads=threads)


def member_short(
    member: ShortMember,
    out: Path,
    *,
    fps: int = 30,
    preset: str = PRESET,
    crf: int = 20,
    threads: int = 2,
    brand: BrandKit | None = None,
    style: ShortStyle | None = None,
) -> ShortVideo:
    """Write `member`'s Short to `out` (see the module docstring), silent; its words and pace
    from `style` (by default templates/shorts/short.toml: 8 to 13.5 s).

    Errors as `make_short`; a photo that cannot be used should have been left out by the caller
    (`short_member` does).
    """
    if isinstance(fps, bool) or fps not in FPS_CHOICES:
        raise ValueError(f"fps must be one of {FPS_CHOICES}, not {fps!r}")
    _check_encoder(preset, crf, threads)
    brand, style = brand or _brand(), style or _style()
    timeline = member_timeline(len(member.photos), fps, style)
    layers = overlay_layers(member, timeline, brand, style)
    notes: list[str] = []
    stills = _member_stills(member, brand, _avoid(layers), style, notes)
    video = _write(out, stills, timeline, layers, fps=fps, preset=preset, crf=crf, threads=threads)
    return replace(video, notes=tuple(notes))


def short_member(
    session: Session,
    member_id: str,
    *,
    profile_url: str = PROFILE_URL,
    style: ShortStyle | None = None,
    file: Callable[[str], Path],
) -> ShortMember:
    """A stored member as their Short shows them: the card's best photo first, then their other
    usable photos in their order (up to the style's max_photos), the logo, Indonesian labels,
    and the registry profile link from `profile_url` (`captions.profile_url`, `{id}` the id).
    `file` turns a stored media path into the file (the settings' `path`)."""
    from ifn_campaign.cards.member_card import card_data, slides

    most = (style or _style()).max_photos
    side = _even(HEIGHT * ZOOM)
    data = card_data(session, member_id, photo_side=side, file=file)
    found = [data.photo] if data.photo is not None else []
    if data.photo is not None:
        more = slides(session, data, side=side, most=most - 1, file=file)
        found += [s.data.photo for s in more]
    try:
        link = profile_url.format(id=member_id)
    except (KeyError, IndexError, ValueError) as exc:
        raise SettingsError(
            f"captions.profile_url {profile_url!r} is not a link template with {{id}}: {exc}"
        ) from None
    return ShortMember(
        member_id=data.member_id,
        business_name=data.business_name,
        place=data.place,
        categories=data.categories,
        profile_url=link,
        photos=tuple(p for p in found if p is not None),
        logo=data.logo,
        initials=data.initials,
    )


def video_folder(cards_dir: Path) -> Path:
    """Where posts' Shorts are kept: beside the cards they are made from (`cards.cache_dir`)."""
    return Path(cards_dir) / "videos"


def post_video(
    post: Post,
    folder: Path,
    *,
    profile_url: str = PROFILE_URL,
    session: Session | None = None,
    templates_dir: Path | None = None,
    file: Callable[[str], Path],
) -> Path:
    """Make a composed YouTube post's Short as `folder/post-<id>.mp4`; the file's path.

    One maker for both callers: the compose stage makes it ahead of time, the publisher makes it
    only when the file is missing at upload time, so both produce the same file. The member is
    read through `session`, by default the one the post is loaded in. Its words and pace are
    `templates_dir/shorts/short.toml` (the settings' templates.dir) when there, else the shipped
    style.
    """
    from sqlalchemy.orm import object_session

    if not post.card_path:
        raise LedgerError(f"post {post.id} has no card: run `ifn-campaign compose`")
    session = session or object_session(post)
    if session is None:
        raise InvalidValueError(
            f"post {post.id} is not loaded from the database: cannot read its member"
        )
    member = short_member(session, post.member_id, profile_url=profile_url, file=file)
    folder.mkdir(parents=True, exist_ok=True)
    own = bundled.template_file("shorts", STYLE_FILE.name, user=templates_dir)
    chosen = load_style(own) if own != STYLE_FILE else None
    video = member_short(member, folder / f"post-{post.id}.mp4", style=chosen)
    for note in video.notes:
        _log.warning("post %s, Short of %s: %s", post.id, post.member_id, note)
    return video.path


def _check_encoder(preset: str, crf: int, threads: int) -> None:
    if preset not in PRESETS:
        raise ValueError(f"unknown x264 preset {preset!r}; use one of {', '.join(PRESETS)}")
    if not 0 <= crf <= 51:
        raise ValueError(f"crf must be 0..51, not {crf}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, not {threads}")


def _timing(seconds: float, fps: int) -> tuple[int, float]:
    """The frame count and exact length for a requested length, clamped into 6..15 s."""
    if isinstance(fps, bool) or fps not in FPS_CHOICES:
        raise ValueError(f"fps must be one of {FPS_CHOICES}, not {fps!r}")
    if not (isinstance(seconds, int | float) and math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"seconds must be a positive number, not {seconds!r}")
    n_frames = round(min(max(seconds, MIN_SECONDS), MAX_SECONDS) * fps)
    return n_frames, n_frames / fps


_BRANDS: list[BrandKit] = []


def _brand() -> BrandKit:
    """The brand kit, loaded once per process (a compose worker makes many Shorts)."""
    if not _BRANDS:
        _BRANDS.append(BrandKit.load())
    return _BRANDS[0]


def _write(
    out: Path,
    stills: Sequence[_Still],
    timeline: _Timeline,
    layers: Sequence[OverlayLayer],
    *,
    fps: int,
    preset: str,
    crf: int,
    threads: int,
) -> ShortVideo:
    out = Path(out)
    tmp = _temporary(out)
    try:
        prepared = [_Prepared.of(layer) for layer in layers]
        _encode(tmp, stills, timeline, prepared, fps=fps, preset=preset, crf=crf, threads=threads)
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        size = tmp.stat().st_size
        tmp.replace(out)
    except OSError as exc:
        raise VideoError(f"cannot write the video: {exc}", path=out) from exc
    except av.FFmpegError as exc:
        raise VideoError(f"the encoder failed: {exc}", path=out) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return ShortVideo(out, timeline.duration, WIDTH, HEIGHT, fps, timeline.frames, size, digest)


def _temporary(out: Path) -> Path:
    """An empty file beside `out` to encode into, so `out` appears whole or not at all."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.is_dir():
            raise VideoError(f"{out} is a directory, not a video file name", path=out)
        # the umask's mode, not mkstemp's 0600, so a web server can serve the video
        return temporary_beside(out, prefix=f".{out.name}.", suffix=".part")
    except OSError as exc:
        raise VideoError(
            f"cannot write to {out.parent}: {exc.strerror or exc}; choose a writable folder",
            path=out,
        ) from exc


# --------------------------------------------------------------------------------------------
# timeline


@dataclass(frozen=True)
class _Timeline:
    """When each still is on screen: still i starts at starts[i] and lasts lengths[i] seconds,
    overlapping the next by CROSSFADE; frame i is shown at `time(i)` (the last frame ends every
    motion)."""

    starts: tuple[float, ...]
    lengths: tuple[float, ...]
    frames: int
    duration: float

    @classmethod
    def of(cls, lengths: Sequence[float], fps: int) -> _Timeline:
        """Stills of these lengths, the last stretched to a whole number of frames."""
        starts, at = [], 0.0
        for length in lengths:
            starts.append(at)
            at += length - CROSSFADE
        total = at + CROSSFADE
        frames = max(1, round(total * fps))
        duration = frames / fps
        fitted = (*lengths[:-1], lengths[-1] + duration - total)
        return cls(tuple(starts), fitted, frames, duration)

    def time(self, index: int) -> float:
        return self.duration * index / max(1, self.frames - 1)

    def at(self, t: float) -> list[tuple[int, float, float]]:
        """(still, motion progress, weight) for the one or two stills visible at `t`."""
        shown = []
        for still, (start, length) in enumerate(zip(self.starts, self.lengths, strict=True)):
            if start - 1e-9 <= t <= start + length + 1e-9:
                shown.append((still, min(max((t - start) / length, 0.0), 1.0)))
        if len(shown) == 1:
            return [(shown[0][0], shown[0][1], 1.0)]
        (a, pa), (b, pb) = shown[:2]
        weight = _smooth((t - self.starts[b]) / CROSSFADE)  # the fade starts and ends softly
        return [(a, pa, 1.0 - weight), (b, pb, weight)]


def member_timeline(photo_count: int, fps: int = 30, style: ShortStyle | None = None) -> _Timeline:
    """A member Short's stills (pace from `style`, by default templates/shorts/short.toml): each
    photo (or one logo card when there is none) photo_seconds, the photo part held between
    body_seconds, then the end frame end_seconds."""
    pace = style or _style()
    count = min(max(photo_count, 1), pace.max_photos)
    body = min(max(count * pace.photo_seconds, pace.body_seconds[0]), pace.body_seconds[1])
    each = (body + (count - 1) * CROSSFADE) / count
    return _Timeline.of((*(each,) * count, pace.end_seconds), fps)


def _smooth(x: float) -> float:
    """Smoothstep of x clamped to 0..1."""
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


# --------------------------------------------------------------------------------------------
# stills and motion


@dataclass(frozen=True)
class _Motion:
    """Zoom (1 = the whole prepared still) and centre offset (-1..1 of the free margin)."""

    zoom: tuple[float, float]
    pan: tuple[float, float]


# photos alternate a zoom in, a pan, a zoom out and a pan back; the end frame holds still
_MOTIONS = (
    _Motion(zoom=(1.0, ZOOM), pan=(0.0, 0.0)),
    _Motion(zoom=(ZOOM, ZOOM), pan=(-1.0, 1.0)),
    _Motion(zoom=(ZOOM, 1.0), pan=(0.0, 0.0)),
    _Motion(zoom=(ZOOM, ZOOM), pan=(1.0, -1.0)),
)
_HOLD = _Motion(zoom=(ZOOM, ZOOM), pan=(0.0, 0.0))
_STILL_SIZE = (2 * math.ceil(WIDTH * ZOOM / 2), 2 * math.ceil(HEIGHT * ZOOM / 2))


@dataclass(frozen=True)
class _Still:
    """One still covered to ZOOM times the frame, as BT.709 limited-range Y, Cb, Cr planes."""

    planes: _Planes
    motion: _Motion

    @classmethod
    def of(cls, frame: Frame, index: int, motion: _Motion) -> _Still:
        return cls.of_source(_source(frame, index), motion)

    @classmethod
    def of_source(
        cls,
        source: photos.SourceImage,
        motion: _Motion,
        avoid: Sequence[photos.Overlay] = (),
        notes: list[str] | None = None,
    ) -> _Still:
        """A picture covered to the still's size around its subject, kept clear of `avoid`
        (boxes in the still's pixels) when the crop can; when it cannot, what covers the
        product is added to `notes`."""
        if not avoid:
            return cls(_to_ycbcr(photos.cover(source, *_STILL_SIZE)[0]), motion)
        placement = photos.place(source, _STILL_SIZE, avoid)
        if not placement.clear and notes is not None:
            notes.append(
                ", ".join(
                    f"{over} ({share:.0%})"
                    for over, share in zip(placement.blocked, placement.shares, strict=True)
                )
            )
        image, _ = photos.cover(source, *_STILL_SIZE, box=placement.box)
        return cls(_to_ycbcr(image), motion)

    @classmethod
    def of_photo(
        cls,
        source: photos.SourceImage,
        motion: _Motion,
        avoid: Sequence[photos.Overlay] = (),
        notes: list[str] | None = None,
    ) -> _Still:
        """A member's photo: covered when it is tall, whole when cutting it to 9:16 would cut
        the product (see `_whole`); either way clear of the text plates `avoid` when it can."""
        if source.width / source.height < WHOLE_FROM_ASPECT:
            return cls.of_source(source, motion, avoid, notes)
        return cls(_to_ycbcr(_whole(source, avoid)), motion)  # always clear

    def box(self, progress: float) -> tuple[float, float, float, float]:
        """The part of the still the frame shows `progress` (0..1) of the way through the motion,
        (left, top, right, bottom) in luma pixels. Its size and position change linearly, so the
        picture moves at a constant speed; it always lies inside the still (tested), so the frame
        is always covered."""
        (z0, z1), (p0, p1) = self.motion.zoom, self.motion.pan
        height, width = self.planes[0].shape
        box_w = width / z0 + (width / z1 - width / z0) * progress
        box_h = height / z0 + (height / z1 - height / z0) * progress
        pan = p0 + (p1 - p0) * progress
        left = (width - box_w) / 2 * (1 + pan)
        top = (height - box_h) / 2
        return (left, top, left + box_w, top + box_h)

    def into(self, progress: float, out: _Planes) -> None:
        """Resample the frame `progress` of the way through the motion into `out` (Y, Cb, Cr)."""
        left, top, right, bottom = self.box(progress)
        sx, sy = (right - left) / WIDTH, (bottom - top) / HEIGHT
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        for plane, target, shift in zip(self.planes, out, (1, 2, 2), strict=True):
            # pixel centres: output pixel u samples left + (u + 0.5) * sx - 0.5 (per plane scale)
            matrix = np.array(
                [[sx, 0.0, left / shift + 0.5 * sx - 0.5], [0.0, sy, top / shift + 0.5 * sy - 0.5]]
            )
            cv2.warpAffine(
                plane,
                matrix,
                (target.shape[1], target.shape[0]),
                dst=target,
                flags=flags,
                borderMode=cv2.BORDER_REPLICATE,
            )


def _whole(source: photos.SourceImage, avoid: Sequence[photos.Overlay] = ()) -> Image.Image:
    """The whole photo across the still's width, its edges (softened along them) continuing to
    the still's edges, and the photo blended into them over FEATHER px. Product photos are mostly
    square or landscape, where a 9:16 cut of a shoe seen from the side keeps only its toe; on a
    studio background the continuation is seamless.

    With `avoid` (the text plates' boxes in the still's pixels, wherever the motion puts them),
    the product (`photos.subject_box`) is centred in the band between the plates above it and
    those below, and the photo made smaller (continued sideways too) when the product at full
    width would be taller than that band: a square photo across the width ran its product under
    the ribbon and the name (issue 15). Without either, the photo is centred at PHOTO_CENTRE_Y.
    """
    width, height = _STILL_SIZE
    centre = (height - HEIGHT) / 2 + PHOTO_CENTRE_Y
    scale = width / source.width
    subject = photos.subject_box(source) if avoid else None
    if subject is not None:
        top, bottom = _band(avoid, centre)
        room = max(bottom - top - 2 * _BAND_GAP, HEIGHT / 8)
        scale = min(scale, room / ((subject[3] - subject[1]) * source.height))
        centre = (top + bottom) / 2 - ((subject[1] + subject[3]) / 2 - 0.5) * source.height * scale
    wide = min(width, max(2, _even(source.width * scale)))
    tall = min(height, max(2, _even(source.height * scale)))
    picture = np.asarray(photos.cover(source, wide, tall)[0].convert("RGB"))  # a resize
    sides, ends = (math.inf, math.inf), (math.inf, math.inf)
    if subject is not None:  # feather only where there is no product
        sides = (subject[0] * wide, (1 - subject[2]) * wide)
        ends = (subject[1] * tall, (1 - subject[3]) * tall)
    if wide < width:
        picture = _continue(picture, width, (width - wide) // 2, clear=sides, sideways=True)
    start = round(centre - tall / 2)
    if subject is None:
        start = min(max(start, 0), height - tall)
    return Image.fromarray(_continue(picture, height, start, clear=ends))


_EDGE_ROWS = 6  # a continued edge is the mean of this many rows: more took in a product near it
_BAND_GAP = 16  # pixels kept between a whole photo's product and the plates above and below it


def _band(avoid: Sequence[photos.Overlay], centre: float) -> tuple[float, float]:
    """The rows of the still between the plates above `centre` and those below it."""
    height = _STILL_SIZE[1]
    above = [o.box[3] for o in avoid if (o.box[1] + o.box[3]) / 2 < centre]
    below = [o.box[1] for o in avoid if (o.box[1] + o.box[3]) / 2 >= centre]
    return max(above, default=0), min(below, default=height)


def _continue(
    picture: NDArray[np.uint8],
    length: int,
    start: int,
    *,
    clear: tuple[float, float] = (math.inf, math.inf),
    sideways: bool = False,
) -> NDArray[np.uint8]:
    """`picture` placed at row `start` of `length` rows (cut where it would stick out), its
    first and last rows (the outermost _EDGE_ROWS averaged, softened along the rows) continuing
    up and down to the ends, and the picture blended into them over FEATHER px, or over the
    `clear` rows at its top and bottom that hold no product (so the product is not faded).
    `sideways`: the same across columns."""
    if sideways:
        turned = np.ascontiguousarray(picture.transpose(1, 0, 2))
        return np.ascontiguousarray(
            _continue(turned, length, start, clear=clear).transpose(1, 0, 2)
        )
    if start < 0:  # cut where it sticks out, and so much less of it is clear
        picture, start, clear = picture[-start:], 0, (clear[0] + start, clear[1])
    if start + len(picture) > length:
        clear = (clear[0], clear[1] - (start + len(picture) - length))
        picture = picture[: length - start]
    tall, across = picture.shape[:2]
    first, last = (max(2, int(min(FEATHER, tall // 4, c))) for c in clear)

    def edge(rows: NDArray[np.uint8]) -> NDArray[np.float32]:
        line = rows.astype(np.float32).mean(axis=0, keepdims=True)
        return np.asarray(cv2.GaussianBlur(line, (0, 0), sigmaX=across / 24))

    # the outermost rows: the background, mostly
    above, below = edge(picture[: min(first, _EDGE_ROWS)]), edge(picture[-min(last, _EDGE_ROWS) :])
    out = np.empty((length, across, 3), np.uint8)
    out[:start] = np.rint(above).astype(np.uint8)
    out[start + tall :] = np.rint(below).astype(np.uint8)
    out[start : start + tall] = picture
    for rows, line, feather, down in (
        (slice(start, start + first), above, first, False),
        (slice(start + tall - last, start + tall), below, last, True),
    ):
        weight = np.linspace(0, 1, feather + 2, dtype=np.float32)[1:-1, None, None]
        weight = weight[::-1] if down else weight
        mixed = out[rows] * weight + line * (1 - weight)
        out[rows] = np.rint(mixed).astype(np.uint8)
    return out


def _source(frame: Frame, index: int) -> photos.SourceImage:
    if isinstance(frame, Image.Image):
        image = frame
        if image.mode not in ("RGB", "L"):
            rgba = image.convert("RGBA")
            image = Image.new("RGB", image.size, (0, 0, 0))
            image.paste(rgba, mask=rgba.getchannel("A"))  # transparency shows black
        return photos.SourceImage(image.convert("RGB"), False, image.size)
    if not isinstance(frame, str | os.PathLike):
        raise TypeError(f"frame {index} must be a path or a PIL image, not {type(frame).__name__}")
    try:
        source = photos.load_image(Path(frame), min_side=_even(WIDTH * ZOOM))
    except ImageUnusable as exc:
        raise VideoError(
            f"frame {index} ({frame}) cannot be used: {exc}", path=Path(frame), frame=index
        ) from exc
    if source.has_alpha:
        return _source(source.image, index)
    return source


def _even(value: float) -> int:
    return 2 * math.ceil(value / 2)


def _ycbcr(rgb: _Float) -> tuple[_Float, _Float, _Float]:
    """RGB in 0..1 to BT.709 limited-range Y, Cb, Cr (0..255 scale, full size, unrounded)."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 16 + 219 * y, 128 + 224 * (b - y) / 1.8556, 128 + 224 * (r - y) / 1.5748


def _quarter(values: _Float) -> _Float:
    """Each 2x2 block averaged (4:2:0 chroma)."""
    h, w = values.shape
    return values.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def _bytes(values: _Float) -> NDArray[np.uint8]:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _to_ycbcr(image: Image.Image) -> _Planes:
    """RGB to Y (full size) and Cb, Cr (2x2 averaged) planes, once per still: one OpenCV matrix
    transform (about 20 times numpy's float arithmetic on a still)."""
    rgb = np.asarray(image.convert("RGB"))
    ycc = cv2.transform(rgb, _YCBCR)
    luma = np.ascontiguousarray(ycc[..., 0])
    half = (rgb.shape[1] // 2, rgb.shape[0] // 2)
    chroma = cv2.resize(ycc[..., 1:], half, interpolation=cv2.INTER_AREA)
    return luma, np.ascontiguousarray(chroma[..., 0]), np.ascontiguousarray(chroma[..., 1])


# BT.709 limited range, from 0..255 RGB: rows Y, Cb, Cr; the last column is the offset
_YCBCR = (
    np.array(
        [
            [219 * 0.2126, 219 * 0.7152, 219 * 0.0722, 16 * 255],
            [
                -224 * 0.2126 / 1.8556,
                -224 * 0.7152 / 1.8556,
                224 * (1 - 0.0722) / 1.8556,
                128 * 255,
            ],
            [
                224 * (1 - 0.2126) / 1.5748,
                -224 * 0.7152 / 1.5748,
                -224 * 0.0722 / 1.5748,
                128 * 255,
            ],
        ]
    )
    / 255.0
)


def _avoid(layers: Sequence[OverlayLayer]) -> list[photos.Overlay]:
    """Where the photos' text plates (the layers gone by the end frame) can be, in a still's
    pixels, wherever the motion puts the still: for the smart crop to keep the product clear."""
    width, height = _STILL_SIZE
    dx, dy = (width - WIDTH) / 2, (height - HEIGHT) / 2  # the most any motion moves the still
    return [
        photos.Overlay(layer.name, (x0, y0, x1 + 2 * dx, y1 + 2 * dy))
        for layer in layers
        if layer.end is not None
        for x0, y0, x1, y1 in [layer.reach()]
    ]


def _member_stills(
    member: ShortMember,
    brand: BrandKit,
    avoid: Sequence[photos.Overlay] = (),
    style: ShortStyle | None = None,
    notes: list[str] | None = None,
) -> list[_Still]:
    """The member's photos (up to the style's max_photos, kept clear of `avoid` when they can
    be, `notes` told which cannot; or a warm brand background when there is no photo), then the
    end frame."""
    size, most = _STILL_SIZE, (style or _style()).max_photos
    if member.photos:
        paper = brand.rgb("paper")
        body = []
        for i, photo in enumerate(member.photos[:most]):
            under: list[str] = []
            body.append(
                _Still.of_photo(_on(photo, paper), _MOTIONS[i % len(_MOTIONS)], avoid, under)
            )
            if notes is not None:
                notes += [
                    f"photo {i + 1}: product under {u} (no cut keeps it clear)" for u in under
                ]
    else:
        start, end = brand.gradients["leather"]
        warm = _gradient(size, brand.rgb(start), brand.rgb(end), "diagonal")
        body = [_Still(_to_ycbcr(warm), _MOTIONS[0])]
    start, end = brand.gradients["hero"]
    closing = _gradient(size, brand.rgb(start), brand.rgb(end), "vertical")
    return [*body, _Still(_to_ycbcr(closing), _HOLD)]


def _on(source: photos.SourceImage, colour: tuple[int, int, int]) -> photos.SourceImage:
    """A photo with transparency put on `colour` (the paper the cards put it on); an opaque one
    as it is. Its transparent pixels hold any colour, often black, which the video would show."""
    if not source.has_alpha:
        return source
    flat = Image.new("RGB", source.image.size, colour)
    flat.paste(source.image, mask=source.image.getchannel("A"))
    return photos.SourceImage(flat, False, source.original_size)


# --------------------------------------------------------------------------------------------
# overlay: the text and logo layers


@dataclass(frozen=True)
class OverlayLayer:
    """One text or logo layer of a Short: an RGBA image resting at (x, y), fading and rising in
    from `start` (seconds) and, when `end` is given, fading out to nothing by `end`."""

    name: str
    image: Image.Image
    x: int
    y: int
    start: float
    end: float | None = None
    rise: int = RISE

    def opacity(self, t: float) -> float:
        shown = _smooth((t - self.start) / FADE)
        if self.end is not None:
            shown = min(shown, _smooth((self.end - t) / FADE))
        return shown

    def offset(self, t: float) -> int:
        """How far below its resting place the layer is at `t` (even, for the 4:2:0 chroma)."""
        left = 1.0 - min(max((t - self.start) / FADE, 0.0), 1.0)
        return 2 * round(self.rise * left * left / 2)  # eases out: fast, then settling

    def reach(self) -> tuple[int, int, int, int]:
        """Every pixel the layer can cover at any time: (left, top, right, bottom)."""
        return (self.x, self.y, self.x + self.image.width, self.y + self.image.height + self.rise)


def overlay_at(layers: Sequence[OverlayLayer], t: float) -> Image.Image:
    """The layers as seen at `t` seconds, composited on a transparent 1080x1920 RGBA canvas."""
    canvas = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    for layer in layers:
        opacity = layer.opacity(t)
        if opacity <= 0:
            continue
        image = layer.image
        if opacity < 1:
            image = image.copy()
            alpha = np.asarray(image.getchannel("A"), dtype=np.float32) * opacity
            image.putalpha(Image.fromarray(np.rint(alpha).astype(np.uint8)))
        canvas.alpha_composite(image, (layer.x, layer.y + layer.offset(t)))
    return canvas


def overlay_layers(
    member: ShortMember,
    timeline: _Timeline,
    brand: BrandKit | None = None,
    style: ShortStyle | None = None,
) -> list[OverlayLayer]:
    """The Short's text and logo layers, laid out inside the safe rectangle (less MARGIN):
    the ribbon, the member's logo card when there is no photo, then name, place and categories
    one after another at the bottom of the safe zone; at the end frame the network logo, the
    name again, the style's profile_lead and the profile link. Raises VideoError if any would
    leave the safe rectangle (a layout bug, never silently drawn)."""
    brand, words = brand or _brand(), style or _style()
    left, top, right, bottom = safe_rect()
    box = (_even(left + MARGIN), _even(top + MARGIN), right - MARGIN, bottom - MARGIN - RISE)
    width = box[2] - box[0]
    end_at = timeline.starts[-1]  # the end frame starts fading in
    body_end = end_at + CROSSFADE
    layers: list[OverlayLayer] = []

    for key, text, family, weight, sizes, room in (
        ("ribbon", words.ribbon.upper(), "label", "bold", (26, 30), width - 44),
        ("profile_lead", words.profile_lead, "body", "medium", (30, 38), width),
    ):  # the style's words are shown whole or not at all
        if _fit(brand, text, family, weight, sizes, room, 1, 1.15)[0].truncated:
            raise TemplateError(
                f"{text!r} does not fit on one line of the Short ({room} px at {sizes[0]} px)",
                file=words._source,
                key=key,
            )
    ribbon = _plate(
        brand,
        words.ribbon.upper(),
        "label",
        "bold",
        (26, 30),
        width,
        "on_primary",
        "primary",
        0.95,
        pad=(22, 12),
    )
    layers.append(OverlayLayer("ribbon", ribbon, box[0], box[1], 0.1, body_end))

    if not member.photos:
        card = _logo_card(brand, member, min(width, 520))
        layers.append(
            OverlayLayer(
                "logo_card",
                card,
                box[0] + _even((width - card.width) / 2),
                box[1] + 140,
                0.3,
                body_end,
            )
        )

    # bottom up: categories, place, name
    stack: list[tuple[str, Image.Image]] = []
    name = _plate(
        brand,
        member.business_name,
        "display",
        "extrabold",
        (52, 84),
        width,
        "on_primary",
        "primary",
        0.93,
        pad=(30, 24),
        lines=2,
        spacing=1.08,
    )
    stack.append(("name", name))
    if member.place:
        place = _plate(
            brand,
            member.place,
            "body",
            "semibold",
            (30, 40),
            width,
            "paper",
            "scrim",
            0.82,
            pad=(22, 14),
        )
        stack.append(("place", place))
    chips = _chips(brand, member.categories, width)
    if chips is not None:
        stack.append(("categories", chips))
    gap = 14
    y = box[3] - sum(image.height for _, image in stack) - gap * (len(stack) - 1)
    y = _even(y) - 2
    for i, (what, image) in enumerate(stack):
        layers.append(OverlayLayer(what, image, box[0], y, 0.4 + 0.6 * i, body_end))
        y += _even(image.height + gap)

    # the end frame: network logo, name, where to find the member, centred in the safe zone
    side = _even(width * 0.5)
    end = [
        ("network_logo", brand.contained("network_logo_on_dark", side, side), 0.0, 44),
        (
            "end_name",
            _text(
                brand,
                member.business_name,
                "display",
                "bold",
                (44, 64),
                width,
                "paper",
                lines=2,
                align="center",
            ),
            0.3,
            40,
        ),
        (
            "profile_lead",
            _text(
                brand,
                words.profile_lead,
                "body",
                "medium",
                (30, 38),
                width,
                "accent_light",
                align="center",
            ),
            0.55,
            16,
        ),
        ("profile_link", _link_plate(brand, _readable_link(member.profile_url), width), 0.75, 0),
    ]
    y = _even(box[1] + (box[3] - box[1] - sum(im.height + gap for _, im, _, gap in end)) / 2)
    for what, image, delay, gap in end:
        x = box[0] + _even((width - image.width) / 2)
        layers.append(OverlayLayer(what, image, x, y, end_at + 0.1 + delay, None))
        y += _even(image.height + gap)
    for layer in layers:
        _check_inside(layer, (left, top, right, bottom))
    return layers


def _check_inside(layer: OverlayLayer, rect: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = layer.reach()
    if x0 < rect[0] or y0 < rect[1] or x1 > rect[2] or y1 > rect[3]:
        raise VideoError(
            f"Short layer {layer.name!r} would reach {layer.reach()}, outside the safe zone {rect}"
        )


def _readable_link(url: str) -> str:
    """The link as people type it: without the scheme."""
    for scheme in ("https://", "http://"):
        if url.startswith(scheme):
            return url[len(scheme) :]
    return url


def _fit(
    brand: BrandKit,
    text: str,
    family: str,
    weight: str,
    sizes: tuple[int, int],
    width: int,
    lines: int,
    spacing: float,
) -> tuple[TextBlock, FontChain]:
    chain = brand.fonts.chain(family, weight)
    block = fit_text(
        text,
        chain,
        width,
        round(sizes[1] * spacing * lines * 1.25),
        min_size=sizes[0],
        max_size=sizes[1],
        max_lines=lines,
        line_spacing=spacing,
    )
    return block, chain


def _text(
    brand: BrandKit,
    text: str,
    family: str,
    weight: str,
    sizes: tuple[int, int],
    width: int,
    colour: str,
    *,
    lines: int = 1,
    spacing: float = 1.15,
    align: str = "left",
) -> Image.Image:
    """Text alone (on the end frame's calm background), `width` wide, as tall as its ink."""
    block, chain = _fit(brand, text, family, weight, sizes, width, lines, spacing)
    height = _even(max(block.height, 2))
    image = Image.new("RGBA", (_even(width), height), (0, 0, 0, 0))
    draw_text(
        image,
        block,
        chain,
        (0, 0, width, block.height),
        fill=(*brand.rgb(colour), 255),
        align=align,
    )
    return image


def _plate(
    brand: BrandKit,
    text: str,
    family: str,
    weight: str,
    sizes: tuple[int, int],
    width: int,
    colour: str,
    fill: str,
    opacity: float,
    *,
    pad: tuple[int, int],
    lines: int = 1,
    spacing: float = 1.15,
    align: str = "left",
) -> Image.Image:
    """Text on a rounded plate of `fill` (a palette colour at `opacity`), as wide as the text
    needs up to `width`: legible over any photo."""
    block, chain = _fit(brand, text, family, weight, sizes, width - 2 * pad[0], lines, spacing)
    size = (_even(block.width + 2 * pad[0]), _even(block.height + 2 * pad[1]))
    radius = min(size[1] // 2, 28)
    mask = _rounded_mask(size, radius).point(lambda v: round(v * opacity))
    image = Image.new("RGBA", size, (*brand.rgb(fill), 0))
    image.putalpha(mask)
    inner = (pad[0], pad[1], size[0] - 2 * pad[0], block.height)
    draw_text(
        image,
        block,
        chain,
        inner,
        fill=(*brand.rgb(colour), 255),
        align=align,
    )
    return image


LINK_LINES = 4  # the most lines the profile link may take on the end frame
_LINK_SIZES, _LINK_PAD = (26, 38), (26, 16)


def _link_block(brand: BrandKit, link: str, width: int) -> TextBlock:
    """The profile link fitted to `width` (the plate's padding inside it) on as few lines as it
    needs: one when it fits at a readable size (a link broken mid-word reads badly), at most
    LINK_LINES. A link cut with an ellipsis leads nowhere, so one that does not fit whole is a
    VideoError naming the setting that makes it."""
    for lines in range(1, LINK_LINES + 1):
        block, _ = _fit(
            brand, link, "label", "bold", _LINK_SIZES, width - 2 * _LINK_PAD[0], lines, 1.15
        )
        if block.dropped:
            raise VideoError(
                f"the profile link {link[:60]!r} has characters no font can draw "
                f"({''.join(sorted(block.dropped))}): check captions.profile_url"
            )
        if not block.truncated:
            return block
    raise VideoError(
        f"the profile link {link[:60]!r}... ({len(link)} characters) does not fit whole on the "
        f"Short's end frame in {LINK_LINES} lines: shorten captions.profile_url"
    )


def _link_plate(brand: BrandKit, link: str, width: int) -> Image.Image:
    """The profile link on a paper plate, whole, on the lines `_link_block` chose."""
    return _plate(
        brand,
        link,
        "label",
        "bold",
        _LINK_SIZES,
        width,
        "ink",
        "paper",
        1.0,
        pad=_LINK_PAD,
        lines=len(_link_block(brand, link, width).lines),
        align="center",
    )


def _chips(brand: BrandKit, categories: Sequence[str], width: int) -> Image.Image | None:
    """The member's categories as pale chips in one row, as many as fit (None for none)."""
    pills = []
    used = 0
    gap = 14
    for label in [c for c in categories if c.strip()][:3]:  # a blank label is no chip
        pill = _plate(
            brand,
            label,
            "label",
            "semibold",
            (28, 34),
            width,
            "ink",
            "accent_light",
            1.0,
            pad=(24, 12),
        )
        if used + pill.width > width:
            break
        pills.append(pill)
        used += pill.width + gap
    if not pills:
        return None
    row = Image.new("RGBA", (_even(used - gap), max(p.height for p in pills)), (0, 0, 0, 0))
    x = 0
    for pill in pills:
        row.alpha_composite(pill, (x, 0))
        x += pill.width + gap
    return row


def _logo_card(brand: BrandKit, member: ShortMember, side: int) -> Image.Image:
    """The member's logo (or initials) on a square paper card: the picture of a member with no
    usable photo."""
    side = _even(side)
    card = Image.new("RGBA", (side, side), (*brand.rgb("paper"), 0))
    card.putalpha(_rounded_mask((side, side), side // 10))
    inner = _even(side * 0.72)
    if member.logo is not None:
        logo, _ = photos.contain(member.logo, inner, inner)
        card.alpha_composite(logo.convert("RGBA"), ((side - inner) // 2, (side - inner) // 2))
    else:
        chain = brand.fonts.chain("display", "extrabold")
        text = member.initials or member.business_name[:1]
        block = fit_text(text, chain, inner, inner, min_size=40, max_size=side // 2, max_lines=1)
        draw_text(
            card,
            block,
            chain,
            ((side - inner) // 2, (side - inner) // 2, inner, inner),
            fill=(*brand.rgb("primary"), 255),
            align="center",
            valign="middle",
        )
    return card


@dataclass(frozen=True)
class _Prepared:
    """A layer in the video's planes: premultiplied Y, Cb, Cr and alpha (0..1), the chroma at
    half size. Its position and every box is even, so the chroma lines up with the luma."""

    layer: OverlayLayer
    y: _Float
    alpha: _Float
    cb: _Float
    cr: _Float
    alpha_half: _Float

    @classmethod
    def of(cls, layer: OverlayLayer) -> _Prepared:
        if layer.image.width % 2 or layer.image.height % 2 or layer.x % 2 or layer.y % 2:
            raise ValueError(f"overlay layer {layer.name!r} is not on even pixels")
        rgba = np.asarray(layer.image.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = np.ascontiguousarray(rgba[..., 3])
        y, cb, cr = _ycbcr(rgba[..., :3])
        return cls(
            layer, y * alpha, alpha, _quarter(cb * alpha), _quarter(cr * alpha), _quarter(alpha)
        )

    def blend(self, planes: _Planes, t: float) -> None:
        """Put the layer as it is at `t` over the frame's planes, in place."""
        opacity = self.layer.opacity(t)
        if opacity <= 0:
            return
        x, y = self.layer.x, self.layer.y + self.layer.offset(t)
        for plane, values, alpha, scale in (
            (planes[0], self.y, self.alpha, 1),
            (planes[1], self.cb, self.alpha_half, 2),
            (planes[2], self.cr, self.alpha_half, 2),
        ):
            h, w = alpha.shape
            region = plane[y // scale : y // scale + h, x // scale : x // scale + w]
            mixed = region * (1.0 - opacity * alpha) + opacity * values
            region[...] = (mixed + 0.5).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# encoding


def _frame(
    stills: Sequence[_Still],
    timeline: _Timeline,
    layers: Sequence[_Prepared],
    index: int,
) -> NDArray[np.uint8]:
    """Video frame `index` as one yuv420p array (Y rows, then Cb, then Cr)."""
    t = timeline.time(index)
    shown = timeline.at(t)
    data = np.empty((HEIGHT * 3 // 2, WIDTH), np.uint8)
    stills[shown[0][0]].into(shown[0][1], _planes(data))
    if len(shown) == 2 and shown[1][2] > 0:
        other = np.empty_like(data)
        stills[shown[1][0]].into(shown[1][1], _planes(other))
        cv2.addWeighted(data, 1.0 - shown[1][2], other, shown[1][2], 0.0, dst=data)
    planes = _planes(data)
    for layer in layers:
        layer.blend(planes, t)
    return data


def _planes(data: NDArray[np.uint8]) -> _Planes:
    """Views of the Y, Cb and Cr planes inside one yuv420p frame array."""
    quarter = HEIGHT * WIDTH // 4
    flat = data.reshape(-1)
    luma = flat[: HEIGHT * WIDTH].reshape(HEIGHT, WIDTH)
    cb = flat[HEIGHT * WIDTH : HEIGHT * WIDTH + quarter].reshape(HEIGHT // 2, WIDTH // 2)
    cr = flat[HEIGHT * WIDTH + quarter :].reshape(HEIGHT // 2, WIDTH // 2)
    return luma, cb, cr


def _video_frame(data: NDArray[np.uint8], pts: int) -> av.VideoFrame:
    frame = av.VideoFrame.from_ndarray(data, format="yuv420p")
    frame.pts = pts
    frame.color_range = 1  # limited ("tv", "MPEG")
    frame.colorspace = frame.color_primaries = frame.color_trc = 1  # BT.709
    return frame


def _encode(
    path: Path,
    stills: Sequence[_Still],
    timeline: _Timeline,
    layers: Sequence[_Prepared],
    *,
    fps: int,
    preset: str,
    crf: int,
    threads: int,
) -> None:
    keyint = max(1, fps // 2)  # YouTube asks for a closed GOP of half the frame rate
    options = {"movflags": "+faststart", "fflags": "+bitexact"}
    with av.open(str(path), "w", format="mp4", options=options) as container:
        video = container.add_stream(
            "libx264",
            rate=fps,
            options={
                "preset": preset,
                "crf": str(crf),
                "profile": "high",
                "threads": str(threads),
                "x264-params": f"keyint={keyint}:min-keyint={keyint}:scenecut=0:open-gop=0",
            },
        )
        ctx = video.codec_context
        ctx.width, ctx.height, ctx.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        ctx.time_base = Fraction(1, fps)
        ctx.color_range, ctx.colorspace, ctx.color_primaries, ctx.color_trc = 1, 1, 1, 1

        def make(index: int) -> av.VideoFrame:
            return _video_frame(_frame(stills, timeline, layers, index), index)

        for frame in _ahead(make, timeline.frames):
            container.mux(video.encode(frame))
        container.mux(video.encode(None))


def _ahead(make: Callable[[int], av.VideoFrame], count: int) -> Iterator[av.VideoFrame]:
    """Frames 0..count-1, made in a helper thread a few ahead of the consumer (OpenCV and numpy
    release the GIL while resampling, so this overlaps the encoder on a second core)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="short-frames") as pool:
        pending: deque[Future[av.VideoFrame]] = deque()
        try:
            for index in range(count):
                while len(pending) < _LOOKAHEAD and index + len(pending) < count:
                    pending.append(pool.submit(make, index + len(pending)))
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
