"""The YouTube Short maker: real encodes, decoded again with PyAV to check what YouTube will see."""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from ifn_campaign import shorts
from ifn_campaign.errors import RenderError, VideoError
from ifn_campaign.shorts import ShortVideo, make_short

CARD = Path(__file__).parent / "golden" / "cards" / "sorotan-shorts_frame.png"


@pytest.fixture(scope="module")
def short(tmp_path_factory: pytest.TempPathFactory) -> ShortVideo:
    """The usual case: the member's Shorts card alone, 6 s with the tone, default encoder."""
    return make_short([CARD], tmp_path_factory.mktemp("short") / "member.mp4", seconds=6, tone=True)


def _luma(path: Path) -> Iterator[np.ndarray]:
    """The Y plane of each frame, one at a time (all of them at once would be gigabytes)."""
    with av.open(str(path)) as container:
        container.streams.video[0].thread_type = "AUTO"
        for frame in container.decode(video=0):
            yield frame.to_ndarray()[:1920]


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


def test_video_is_a_vertical_h264_short(short: ShortVideo) -> None:
    with av.open(str(short.path)) as container:
        video = container.streams.video[0]
        ctx = video.codec_context
        assert (ctx.name, ctx.pix_fmt, ctx.profile) == ("h264", "yuv420p", "High")
        assert (ctx.width, ctx.height) == (1080, 1920)
        assert video.average_rate == 30
        assert (ctx.colorspace, ctx.color_range) == (1, 1)  # BT.709, limited range
        assert abs(float(video.duration * video.time_base) - 6.0) <= 1 / 30
        assert sum(1 for _ in container.decode(video=0)) == 180
    assert (short.width, short.height, short.fps, short.frames) == (1080, 1920, 30, 180)
    assert short.seconds == 6.0


def test_result_describes_the_file(short: ShortVideo) -> None:
    data = short.path.read_bytes()
    assert short.bytes == len(data)
    assert short.sha256 == hashlib.sha256(data).hexdigest()
    assert short.audio is True
    assert os.listdir(short.path.parent) == ["member.mp4"]  # no temporary file left


def test_moov_is_before_mdat(short: ShortVideo) -> None:
    boxes = _boxes(short.path)
    assert boxes[0] == "ftyp"
    assert boxes.index("moov") < boxes.index("mdat")


def test_tone_is_a_quiet_aac_chord_that_fades(short: ShortVideo) -> None:
    with av.open(str(short.path)) as container:
        audio = container.streams.audio[0]
        ctx = audio.codec_context
        assert (ctx.name, ctx.sample_rate, ctx.layout.name) == ("aac", 48000, "stereo")
        assert abs(float(audio.duration * audio.time_base) - 6.0) <= 1 / 30
        pcm = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
    assert 0.05 < np.abs(pcm).max() < 0.25  # audible, but well under full scale
    middle = pcm[:, 2 * 48000 : 4 * 48000]
    assert np.sqrt((middle**2).mean()) > 0.02
    assert np.abs(pcm[:, :2400]).max() < 0.02  # fading in: the first 50 ms are nearly silent
    assert np.abs(pcm[:, -2400:]).max() < 0.02


def test_same_inputs_give_the_same_bytes(short: ShortVideo, tmp_path: Path) -> None:
    again = make_short([CARD], tmp_path / "again.mp4", seconds=6, tone=True)
    assert again.sha256 == short.sha256


def test_zoom_moves_smoothly(short: ShortVideo) -> None:
    kept = {}
    for i, y in enumerate(_luma(short.path)):
        if i % 30 < 2 or i == 179:  # pairs of neighbours through the video, and the last one
            kept[i] = y.astype(np.float64)
    first, last = kept[0], kept[179]
    moved = np.abs(first - last).mean()
    assert moved > 2  # the picture changes ...
    # ... because it zoomed in 6%: the middle of the first frame, enlarged, is the last frame
    crop = Image.fromarray(first.astype(np.uint8)).resize(
        (1080, 1920), Image.Resampling.BILINEAR, box=(30.57, 54.34, 1049.43, 1865.66)
    )
    assert np.abs(np.asarray(crop, dtype=np.float64) - last).mean() < moved / 3
    # subpixel motion: neighbouring frames differ only a little, and every pair does
    steps = [np.abs(kept[i] - kept[i + 1]).mean() for i in range(0, 180, 30)]
    assert all(0 < step < 1.0 for step in steps)


def test_crossfade_between_stills_without_sound(tmp_path: Path) -> None:
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
    [
        ({"fps": 29}, "fps"),
        ({"preset": "warp"}, "preset"),
        ({"threads": 0}, "threads"),
    ],
)
def test_bad_encoder_settings_are_refused(kwargs: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        make_short([CARD], tmp_path / "out.mp4", **kwargs)


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


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_output_folder_not_writable(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    try:
        with pytest.raises(VideoError, match="cannot write to"):
            make_short([CARD], folder / "out.mp4")
    finally:
        folder.chmod(0o700)


def test_failure_midway_leaves_the_old_file_and_no_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "member.mp4"
    out.write_bytes(b"the previous video")
    made = shorts._frame

    def failing(stills, timeline, index, duration):  # type: ignore[no-untyped-def]
        if index == 10:
            raise RuntimeError("boom")
        return made(stills, timeline, index, duration)

    monkeypatch.setattr(shorts, "_frame", failing)
    with pytest.raises(RuntimeError, match="boom"):
        make_short([CARD], out, preset="ultrafast")
    assert os.listdir(tmp_path) == ["member.mp4"]
    assert out.read_bytes() == b"the previous video"
