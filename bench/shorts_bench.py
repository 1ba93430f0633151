"""Shorts benchmark: seconds per member Short, from the stored photo files to the finished MP4.

Members come from the bundled sample registry (assets/sample_registry: real sample photos and
logos, Indonesian labels from the vocabulary) with three, two, one and no photos (the last one
logo only). Each Short is made `--repeat` times into a fresh folder; the table gives the median
wall seconds, the CPU seconds of this process (the frame thread and x264's threads included),
the video length and size. The baseline, in the same run: the card-only zoom of the old Short
(one Shorts card, 8 s, no text layers) with today's encoder settings, and with the old default
preset (veryfast). The load average before and after is printed: on 2 cores, another job's load
shows directly in the wall figures, so compare a run with its own baseline.

Goal (issue 15): under 10 s per Short on a 2-core machine.

Run: `make bench-shorts`; `--strip docs/shorts-strip.png` also rewrites the README's frame strip
(6 frames of one Short, 120 px wide each).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import av
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import machine  # noqa: E402  (bench/machine.py, beside this file)

from ifn_campaign.cards import photo as photos  # noqa: E402
from ifn_campaign.cards import shorts  # noqa: E402
from ifn_campaign.cards.brand import BrandKit  # noqa: E402
from ifn_campaign.registry.record import vocabulary  # noqa: E402

REGISTRY = ROOT / "assets" / "sample_registry"
CARD = ROOT / "tests" / "golden" / "cards" / "sorotan-shorts_frame.png"
STRIP_WIDTH = 120  # pixels per frame in the README strip


def sample_member(record: dict, photo_count: int) -> shorts.ShortMember:
    """A sample registry record as `shorts.short_member` would read it from the database, with
    its first `photo_count` photos decoded here (so decoding counts in the timing)."""
    words = vocabulary()
    media = REGISTRY / "media"
    found = tuple(
        photos.load_image(media / Path(p["url"]).name, min_side=2036)
        for p in record.get("photos", [])[:photo_count]
    )
    logo = record.get("logo_url")
    place = ", ".join(dict.fromkeys(p for p in (record.get("city"), record.get("province")) if p))
    return shorts.ShortMember(
        member_id=record["id"],
        business_name=record["business_name"],
        place=place,
        categories=tuple(
            words["categories"][c]["id"]
            for c in record.get("categories", [])
            if c in words["categories"]
        ),
        profile_url=shorts.PROFILE_URL.format(id=record["id"]),
        photos=found,
        logo=photos.load_image(media / Path(logo).name) if logo else None,
        initials="".join(w[0] for w in record["business_name"].split()[:2]).upper(),
    )


def records() -> dict[int, dict]:
    """One sample record for each photo count asked for (3, 2, 1 and 0: the logo-only one is a
    record with photos, shown without them)."""
    data = json.loads((REGISTRY / "members.json").read_text(encoding="utf-8"))
    usable = [r for r in data if r.get("logo_url") and len(r.get("photos") or []) >= 1]
    picked: dict[int, dict] = {}
    for count in (3, 2, 1, 0):
        for record in usable:
            if len(record["photos"]) >= max(count, 1) and record not in picked.values():
                picked[count] = record
                break
    return picked


def timed(
    make: Callable[[Path], shorts.ShortVideo], repeat: int
) -> tuple[float, float, shorts.ShortVideo]:
    """Median wall and CPU seconds of `repeat` runs of make(out)."""
    walls, cpus, video = [], [], None
    with tempfile.TemporaryDirectory(prefix="shorts-bench-") as folder:
        for i in range(repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            video = make(Path(folder) / f"short-{i}.mp4")
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    assert video is not None
    return statistics.median(walls), statistics.median(cpus), video


def strip(video: Path, out: Path, times: list[float]) -> Path:
    """Frames of `video` at `times` side by side, STRIP_WIDTH px each, as a small PNG."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate)
        wanted = {round(t * fps): t for t in times}
        frames = [f.to_image() for i, f in enumerate(container.decode(video=0)) if i in wanted]
    height = round(STRIP_WIDTH * 1920 / 1080)
    sheet = Image.new("RGB", (STRIP_WIDTH * len(frames), height), "white")
    for i, frame in enumerate(frames):
        sheet.paste(
            frame.resize((STRIP_WIDTH, height), Image.Resampling.LANCZOS), (i * STRIP_WIDTH, 0)
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(128, dither=Image.Dither.NONE).save(out, optimize=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="Shorts made per member (median)")
    parser.add_argument("--strip", type=Path, help="also write the README frame strip here")
    args = parser.parse_args(argv)
    brand = BrandKit.load()
    print(f"# shorts bench {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine.describe()}")
    print(f"# load average before: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(f"# repeat {args.repeat}, median; preset {shorts.PRESET}, 30 fps, crf 20, 2 x264 threads")
    rows = []
    for count, record in records().items():

        def make(out: Path, record: dict = record, count: int = count) -> shorts.ShortVideo:
            return shorts.member_short(sample_member(record, count), out, brand=brand)

        wall, cpu, video = timed(make, args.repeat)
        what = f"{record['id']}, {count} photo{'s' if count != 1 else ''}" + (
            "" if count else " (logo)"
        )
        rows.append((what, wall, cpu, video))
    for preset in (shorts.PRESET, "veryfast"):

        def card(out: Path, preset: str = preset) -> shorts.ShortVideo:
            return shorts.make_short([CARD], out, seconds=8, preset=preset)

        wall, cpu, video = timed(card, args.repeat)
        rows.append((f"baseline: card-only zoom, {preset}", wall, cpu, video))
    print(f"{'Short':<40} {'wall s':>7} {'CPU s':>6} {'video s':>8} {'frames':>6} {'MB':>5}")
    for what, wall, cpu, video in rows:
        print(
            f"{what:<40} {wall:7.2f} {cpu:6.2f} {video.seconds:8.2f} {video.frames:6d}"
            f" {video.bytes / 1e6:5.1f}"
        )
    worst = max(wall for what, wall, _, _ in rows if not what.startswith("baseline"))
    print(f"# slowest member Short: {worst:.2f} s (goal: under 10 s)")
    print(f"# load average after: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    if args.strip:
        record = records()[3]
        with tempfile.TemporaryDirectory(prefix="shorts-strip-") as folder:
            video = shorts.member_short(
                sample_member(record, 3), Path(folder) / "s.mp4", brand=brand
            )
            timeline = shorts.member_timeline(3)
            starts, end = timeline.starts, timeline.starts[-1]
            times = [
                0.3,
                1.3,
                starts[1] + shorts.CROSSFADE / 2,
                starts[2] + 1.0,
                end + 0.6,
                video.seconds - 0.05,
            ]
            made = strip(video.path, args.strip, times)
        print(f"# strip: {made} ({made.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
