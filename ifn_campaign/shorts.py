"""A member's YouTube Short: their Shorts card and photos as a gently moving vertical video.

`make_short` turns stills (the 1080x1920 Shorts card, then any photos) into a 1080x1920 H.264
MP4 that YouTube takes as a Short (vertical, under 3 minutes): 6 to 15 seconds, a slow Ken Burns
zoom or pan on each still, half-second crossfades between them, and, if asked, a quiet generated
chord as the sound track (AAC). Without `tone` the file has no audio stream at all.

Encoding goes through PyAV, whose wheels bundle FFmpeg and libx264: no system ffmpeg is used.

How a frame is made: each still is covered (smart crop, see `cards.photo.cover`) to 6% more than
the frame once, and converted once to BT.709 limited-range Y, Cb and Cr planes (4:2:0). Every video
frame is then a fractional box of those planes resampled to the frame size, so the motion moves by
fractions of a pixel instead of jumping whole pixels; resampling the planes rather than RGB is
about half the work and skips a colour conversion per frame. Frames are made in a helper thread
while the encoder works on the previous ones.

Determinism: no randomness and fixed encoder threads, so the same stills and arguments give the
same bytes (tested); the encoders are FFmpeg's, so another PyAV version may give other bytes.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from ifn_campaign.cards import photo as photos
from ifn_campaign.errors import IFNError, ImageUnusable, VideoError
from ifn_campaign.files import file_mode

if TYPE_CHECKING:
    from ifn_campaign.models import Post

__all__ = ["MAX_SECONDS", "MIN_SECONDS", "ShortVideo", "make_short", "post_video", "video_folder"]

WIDTH, HEIGHT = 1080, 1920
MIN_SECONDS, MAX_SECONDS = 6.0, 15.0
FPS_CHOICES = (24, 25, 30, 50, 60)
ZOOM = 1.06  # how far the Ken Burns motion goes: the still is prepared this much larger
CROSSFADE = 0.5  # seconds two stills overlap
MIN_STILL_SECONDS = 1.5  # each still is on screen at least this long
SAMPLE_RATE = 48_000
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow")
_LOOKAHEAD = 4  # frames made ahead of the encoder

Frame = Path | Image.Image
_Planes = tuple[Image.Image, Image.Image, Image.Image]


@dataclass(frozen=True)
class ShortVideo:
    """A finished Short on disk; `seconds` is the exact video length (frames / fps)."""

    path: Path
    seconds: float
    width: int
    height: int
    fps: int
    frames: int
    audio: bool
    bytes: int
    sha256: str


def make_short(
    frames: Sequence[Frame],
    out: Path,
    *,
    seconds: float = 8.0,
    fps: int = 30,
    tone: bool = False,
    preset: str = "veryfast",
    crf: int = 20,
    threads: int = 2,
) -> ShortVideo:
    """Write a Short made of `frames` (shown in order) to `out`, replacing it atomically.

    `frames` are image files or Pillow images: normally the member's 1080x1920 Shorts card first,
    then photos; anything not 1080x1920 is covered to it around its subject. `seconds` outside
    6..15 is clamped into it; zero, negative or not a number is a ValueError, as are an fps not in
    24, 25, 30, 50, 60, an unknown x264 preset and more stills than fit (each needs 1.5 s).
    `tone` adds a soft chord (AAC, 48 kHz stereo) fading in and out; without it there is no audio
    stream. `threads` is fixed rather than "all cores" because x264's output depends on it: keep it
    the same everywhere to get the same bytes everywhere.

    Raises VideoError when a frame cannot be read or is not an image, or `out` cannot be written;
    a failed run leaves no file behind (the video is written to a temporary name, then renamed).
    """
    n_frames, duration = _timing(seconds, fps)
    if not frames:
        raise ValueError("a Short needs at least one frame (the member's Shorts card)")
    if preset not in PRESETS:
        raise ValueError(f"unknown x264 preset {preset!r}; use one of {', '.join(PRESETS)}")
    if not 0 <= crf <= 51:
        raise ValueError(f"crf must be 0..51, not {crf}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, not {threads}")
    timeline = _Timeline(len(frames), n_frames)
    if timeline.still_seconds(duration) < MIN_STILL_SECONDS:
        most = int((duration - CROSSFADE) // (MIN_STILL_SECONDS - CROSSFADE))
        raise ValueError(
            f"{len(frames)} frames do not fit in {duration:g} s: at most {most} "
            f"(each is shown at least {MIN_STILL_SECONDS:g} s)"
        )
    stills = [_Still.of(frame, index) for index, frame in enumerate(frames)]

    out = Path(out)
    tmp = _temporary(out)
    try:
        _encode(tmp, stills, timeline, fps=fps, tone=tone, preset=preset, crf=crf, threads=threads)
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        size = tmp.stat().st_size
        tmp.replace(out)
    except OSError as exc:
        raise VideoError(f"cannot write the video: {exc}", path=out) from exc
    except av.FFmpegError as exc:
        raise VideoError(f"the encoder failed: {exc}", path=out) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return ShortVideo(out, duration, WIDTH, HEIGHT, fps, n_frames, tone, size, digest)


def video_folder(cards_dir: Path) -> Path:
    """Where posts' Shorts are kept: beside the cards they are made from (`cards.cache_dir`)."""
    return Path(cards_dir) / "videos"


def post_video(post: Post, folder: Path) -> Path:
    """Make a YouTube post's Short from its Shorts card as `folder/post-<id>.mp4`; the file's path.

    One maker for both callers: the compose stage makes it ahead of time, the publisher makes it
    only when the file is missing at upload time, so both produce the same file.
    """
    if not post.card_path:
        raise IFNError(f"post {post.id} has no card: run `ifn-campaign compose`")
    folder.mkdir(parents=True, exist_ok=True)
    return make_short([Path(post.card_path)], folder / f"post-{post.id}.mp4").path


def _timing(seconds: float, fps: int) -> tuple[int, float]:
    """The frame count and exact length for a requested length, clamped into 6..15 s."""
    if isinstance(fps, bool) or fps not in FPS_CHOICES:
        raise ValueError(f"fps must be one of {FPS_CHOICES}, not {fps!r}")
    if not (isinstance(seconds, int | float) and math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"seconds must be a positive number, not {seconds!r}")
    n_frames = round(min(max(seconds, MIN_SECONDS), MAX_SECONDS) * fps)
    return n_frames, n_frames / fps


def _temporary(out: Path) -> Path:
    """An empty file beside `out` to encode into, so `out` appears whole or not at all."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.is_dir():
            raise VideoError(f"{out} is a directory, not a video file name", path=out)
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    except OSError as exc:
        raise VideoError(
            f"cannot write to {out.parent}: {exc.strerror or exc}; choose a writable folder",
            path=out,
        ) from exc
    try:
        os.fchmod(fd, file_mode())  # mkstemp's 0600 would hide the video from a web server
    finally:
        os.close(fd)
    return Path(name)


# --------------------------------------------------------------------------------------------
# stills and motion


@dataclass(frozen=True)
class _Motion:
    """Zoom (1 = the whole prepared still) and centre offset (-1..1 of the free margin)."""

    zoom: tuple[float, float]
    pan: tuple[float, float]


# the first still (the card) zooms in; photos after it alternate a pan and a zoom out
_MOTIONS = (
    _Motion(zoom=(1.0, ZOOM), pan=(0.0, 0.0)),
    _Motion(zoom=(ZOOM, ZOOM), pan=(-1.0, 1.0)),
    _Motion(zoom=(ZOOM, 1.0), pan=(0.0, 0.0)),
    _Motion(zoom=(ZOOM, ZOOM), pan=(1.0, -1.0)),
)


@dataclass(frozen=True)
class _Still:
    """One still covered to ZOOM times the frame, as BT.709 limited-range Y, Cb, Cr planes."""

    planes: _Planes
    motion: _Motion

    @classmethod
    def of(cls, frame: Frame, index: int) -> _Still:
        source = _source(frame, index)
        width, height = _even(WIDTH * ZOOM), _even(HEIGHT * ZOOM)
        image, _ = photos.cover(source, width, height)
        return cls(_to_ycbcr(image), _MOTIONS[index % len(_MOTIONS)])

    def at(self, progress: float) -> _Planes:
        """The frame-sized planes `progress` (0..1) of the way through this still's motion."""
        z0, z1 = self.motion.zoom
        p0, p1 = self.motion.pan
        zoom = z0 + (z1 - z0) * progress
        pan = p0 + (p1 - p0) * progress
        luma = self.planes[0]
        box_w, box_h = luma.width / zoom, luma.height / zoom
        left = (luma.width - box_w) / 2 * (1 + pan)
        top = (luma.height - box_h) / 2
        box = (left, top, left + box_w, top + box_h)
        half = tuple(v / 2 for v in box)
        bilinear = Image.Resampling.BILINEAR
        return (
            luma.resize((WIDTH, HEIGHT), bilinear, box=box),
            self.planes[1].resize((WIDTH // 2, HEIGHT // 2), bilinear, box=half),
            self.planes[2].resize((WIDTH // 2, HEIGHT // 2), bilinear, box=half),
        )


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


def _to_ycbcr(image: Image.Image) -> _Planes:
    """RGB to BT.709 limited-range Y (full size) and Cb, Cr (2x2 averaged), once per still."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    cb = (b - y) / 1.8556
    cr = (r - y) / 1.5748

    def plane(values: NDArray[np.float32]) -> Image.Image:
        return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), "L")

    def quarter(values: NDArray[np.float32]) -> NDArray[np.float32]:
        h, w = values.shape
        return values.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))

    return (plane(16 + 219 * y), plane(128 + 224 * quarter(cb)), plane(128 + 224 * quarter(cr)))


@dataclass(frozen=True)
class _Timeline:
    """Where each of `stills` stills is on screen over `frames` frames, crossfading CROSSFADE s."""

    stills: int
    frames: int

    def still_seconds(self, duration: float) -> float:
        return (duration + (self.stills - 1) * CROSSFADE) / self.stills

    def at(self, index: int, duration: float) -> list[tuple[int, float, float]]:
        """(still, motion progress, weight) for the stills visible in frame `index`."""
        length = self.still_seconds(duration)
        t = duration * index / max(1, self.frames - 1)  # the last frame ends every motion
        shown = []
        for still in range(self.stills):
            start = still * (length - CROSSFADE)
            if start - 1e-9 <= t <= start + length + 1e-9:
                progress = min(max((t - start) / length, 0.0), 1.0)
                shown.append((still, progress))
        if len(shown) == 1:
            return [(shown[0][0], shown[0][1], 1.0)]
        (a, pa), (b, pb) = shown[:2]
        x = min(max((t - b * (length - CROSSFADE)) / CROSSFADE, 0.0), 1.0)
        weight = x * x * (3 - 2 * x)  # smoothstep: the fade starts and ends softly
        return [(a, pa, 1.0 - weight), (b, pb, weight)]


def _frame(stills: Sequence[_Still], timeline: _Timeline, index: int, duration: float) -> _Planes:
    """The Y, Cb, Cr planes of video frame `index`."""
    shown = timeline.at(index, duration)
    planes = stills[shown[0][0]].at(shown[0][1])
    if len(shown) == 2 and shown[1][2] > 0:
        other = stills[shown[1][0]].at(shown[1][1])
        planes = (
            Image.blend(planes[0], other[0], shown[1][2]),
            Image.blend(planes[1], other[1], shown[1][2]),
            Image.blend(planes[2], other[2], shown[1][2]),
        )
    return planes


# --------------------------------------------------------------------------------------------
# encoding


def _video_frame(planes: _Planes, pts: int) -> av.VideoFrame:
    data = np.concatenate(
        [np.asarray(planes[0]), *(np.asarray(p).reshape(-1, WIDTH) for p in planes[1:])]
    )
    frame = av.VideoFrame.from_ndarray(data, format="yuv420p")
    frame.pts = pts
    frame.color_range = 1  # limited ("tv", "MPEG")
    frame.colorspace = frame.color_primaries = frame.color_trc = 1  # BT.709
    return frame


def _encode(
    path: Path,
    stills: Sequence[_Still],
    timeline: _Timeline,
    *,
    fps: int,
    tone: bool,
    preset: str,
    crf: int,
    threads: int,
) -> None:
    duration = timeline.frames / fps
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
        if tone:
            _add_tone(container, duration)

        def make(index: int) -> av.VideoFrame:
            return _video_frame(_frame(stills, timeline, index, duration), index)

        for frame in _ahead(make, timeline.frames):
            container.mux(video.encode(frame))
        container.mux(video.encode(None))


def _ahead(make: Callable[[int], av.VideoFrame], count: int) -> Iterator[av.VideoFrame]:
    """Frames 0..count-1, made in a helper thread a few ahead of the consumer (Pillow releases
    the GIL while resampling, so this overlaps the encoder on a second core)."""
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


def _add_tone(container: av.container.OutputContainer, seconds: float) -> None:
    """A soft C major chord, fading in over 1 s and out over 1.5 s, as an AAC stereo stream."""
    audio = container.add_stream("aac", rate=SAMPLE_RATE)
    audio.codec_context.layout = "stereo"
    audio.codec_context.bit_rate = 128_000
    samples = _chord(seconds)
    step = 1024  # the AAC frame size
    for start in range(0, samples.shape[1], step):
        chunk = np.ascontiguousarray(samples[:, start : start + step])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = start
        frame.time_base = Fraction(1, SAMPLE_RATE)
        container.mux(audio.encode(frame))
    container.mux(audio.encode(None))


def _chord(seconds: float) -> NDArray[np.float32]:
    """Two channels of a quiet chord (peak about -16 dBFS): C3, C4, E4, G4 with a slow swell,
    the right channel detuned by a fraction of a hertz for width."""
    n = round(seconds * SAMPLE_RATE)
    t = np.arange(n, dtype=np.float64) / SAMPLE_RATE
    notes = ((130.81, 0.35), (261.63, 0.3), (329.63, 0.2), (392.00, 0.15))
    channels = []
    for detune in (0.0, 0.4):
        wave = sum(level * np.sin(2 * np.pi * (freq + detune) * t) for freq, level in notes)
        channels.append(wave)
    swell = 0.85 + 0.15 * np.sin(2 * np.pi * 0.2 * t)
    fade_in = np.clip(t / 1.0, 0, 1)
    fade_out = np.clip((seconds - t) / 1.5, 0, 1)
    envelope = (
        swell * (0.5 - 0.5 * np.cos(np.pi * fade_in)) * (0.5 - 0.5 * np.cos(np.pi * fade_out))
    )
    return (0.16 * np.stack(channels) * envelope).astype(np.float32)
