"""Cards benchmark: every format of the "sorotan" template for N members, against the floor.

Members are built from the bundled sample registry (assets/sample_registry: the records that pass
validation and are promotable, with their real photos and logos), cycled until there are N, each
with its own id so nothing is ever served from the card cache (every pass also renders into a
fresh temporary folder), and with its own name and tagline so no text fit is served from an
earlier member's either. It measures, in worker processes that each load the brand kit and
templates once (startup, including one warm-up member per worker, is reported separately):
- per member, the whole set of formats: decode (load_image, timed here), resize and crop,
  compose, text and encode (from the renderer's Stopwatch), and the rest of `render` (cache key,
  writing the files);
- members and cards per second with 1 process and with 2 processes, and the speed-up;
- peak memory: ru_maxrss of the worker processes (Pillow's pixel buffers are allocated in C,
  where tracemalloc does not see them);
- the floor, in the same run and in 1 process: decoding each source image (photo and logo) once
  at the size the render uses, plus encoding every output JPEG (the member's cards, drawn
  beforehand and untimed) with the renderer's own encoder, and nothing else.
Goals: a member's whole set costs at most 2x the floor; 2 processes give at least 1.8x one.
Each pass also reports the CPU other processes used meanwhile: on 2 cores, any other load spoils
the 2-process figure, so a run is only clean when that column is near 0.

Run: `make bench-cards` (1000 members: about 4 minutes on 2 cores at the renderer's current
speed), or a quick look with `.venv/bin/python bench/cards_bench.py --members 100`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import PIL
from machine import describe as describe_machine
from PIL import Image, features

from ifn_campaign.cards import photo as photos
from ifn_campaign.cards.brand import BrandKit
from ifn_campaign.cards.member_card import initials, tagline
from ifn_campaign.cards.render import CardData, Renderer, Stopwatch, _encode, photo_side
from ifn_campaign.cards.template import CardFormat, formats, load_all
from ifn_campaign.errors import ImageUnusable
from ifn_campaign.registry.record import MemberRecord, parse_record, vocabulary

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "assets" / "sample_registry"
TEMPLATE = "sorotan"
LOGO_SIDE = 1024  # what member_card.card_data decodes logos at
CHUNK = 10  # members per task sent to a worker
PHASES = ("decode", "resize", "compose", "text", "encode", "other")
PHASE_LABELS = {
    "decode": "decode (load_image)",
    "resize": "resize and crop",
    "compose": "compose (draw - resize - text)",
    "text": "text (fit and draw)",
    "encode": "encode (JPEG)",
    "other": "other (cache key, file write)",
}


@dataclass(frozen=True)
class MemberSpec:
    """One bench member: the card's text fields and its image files (best photo first)."""

    fields: dict[str, Any]
    photos: tuple[Path, ...]
    logo: Path | None


@dataclass
class PassResult:
    """One pass over all members: wall time, per-member phase sums, cards and worker memory."""

    processes: int
    members: int = 0
    cards: int = 0
    seconds: float = 0.0
    startup: float = 0.0
    phases: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    startup_rss_kib: int = 0
    peak_rss_kib: int = 0
    other_cores: float | None = None  # CPU used by other processes during the pass, in cores
    steal_cores: float | None = None  # CPU the hypervisor took, in cores
    templates: dict[str, int] = field(default_factory=dict)

    def per_member_ms(self, phase: str) -> float:
        return 1000 * self.phases[phase] / max(self.members, 1)

    def total_ms(self) -> float:
        return sum(self.per_member_ms(p) for p in PHASES)


# --------------------------------------------------------------------------------------------
# members from the sample registry


def _absolute(raw: dict[str, Any]) -> dict[str, Any]:
    """Relative media URLs made absolute, as the registry sandbox serves them."""
    base = "http://registry.invalid"
    raw = dict(raw)
    if isinstance(raw.get("logo_url"), str) and raw["logo_url"].startswith("/"):
        raw["logo_url"] = base + raw["logo_url"]
    raw["photos"] = [
        {**p, "url": base + p["url"]}
        if isinstance(p, dict) and str(p.get("url", "")).startswith("/")
        else p
        for p in raw.get("photos") or []
    ]
    return raw


def _local(url: str | None) -> Path | None:
    """The bundled file behind a registry media URL (None for anything not under /media/)."""
    if not url or "/media/" not in url:
        return None
    path = SAMPLE / "media" / url.rsplit("/media/", 1)[1]
    return path if path.is_file() else None


def _pixels(path: Path) -> int:
    with Image.open(path) as im:
        return im.width * im.height


def sample_members() -> list[MemberSpec]:
    """The promotable sample members (valid, active, consent not withdrawn), as card data."""
    words = vocabulary()
    specs = []
    raw_records = json.loads((SAMPLE / "members.json").read_text(encoding="utf-8"))
    for raw in raw_records:
        record = parse_record(_absolute(raw))
        if not isinstance(record, MemberRecord):
            continue
        if record.status != "active" or record.consent.withdrawn_at is not None:
            continue
        files = [p for p in (_local(str(photo.url)) for photo in record.photos) if p]
        files.sort(key=lambda p: -_pixels(p))  # the most pixels first, as card_data does
        actor = record.actor_types[0] if record.actor_types else None
        fields = {
            "business_name": record.business_name,
            "place": ", ".join(dict.fromkeys(p for p in (record.city, record.province) if p)),
            "tagline": tagline(record.description_id),
            "sentra": record.sentra or "",
            "actor_type": actor,
            "actor_label": words["actor_types"].get(actor or "", {}).get("id", ""),
            "categories": tuple(
                words["categories"][c]["id"] for c in record.categories if c in words["categories"]
            ),
            "initials": initials(record.business_name),
            "member_id": record.id,
        }
        specs.append(MemberSpec(fields, tuple(files), _local(record.logo_url)))
    return specs


def bench_members(n: int) -> list[MemberSpec]:
    """n members cycling through the sample ones, each with its own id (so its own cache key)
    and, from the second round on, its own name and tagline (the round's number added): real
    members' names and taglines are their own, so no text fit may come from the cache of an
    earlier member. Places, badges and categories repeat, as they do among real members."""
    sample = sample_members()
    out = []
    for i in range(n):
        spec = sample[i % len(sample)]
        fields = {**spec.fields, "member_id": f"{spec.fields['member_id']}-b{i:05d}"}
        round_ = i // len(sample) + 1
        if round_ > 1:
            fields["business_name"] = f"{fields['business_name']} {round_}"
            fields["tagline"] = f"{fields['tagline'].rstrip('.')}, generasi ke-{round_}."
        out.append(MemberSpec(fields, spec.photos, spec.logo))
    return out


# --------------------------------------------------------------------------------------------
# worker side (one set of these per process)

_WORKER: dict[str, Any] = {}


def _decode(spec: MemberSpec, side: int) -> tuple[CardData, float]:
    """The member's CardData with its best usable photo and its logo, and the decode seconds."""
    started = time.perf_counter()
    photo = photo_name = logo = logo_name = None
    for path in spec.photos:
        try:
            photo, photo_name = photos.load_image(path, min_side=side), path.name
            break
        except ImageUnusable:
            continue
    if spec.logo is not None:
        with contextlib.suppress(ImageUnusable):
            logo, logo_name = photos.load_image(spec.logo, min_side=LOGO_SIDE), spec.logo.name
    seconds = time.perf_counter() - started
    data = CardData(**spec.fields, photo=photo, photo_sha=photo_name, logo=logo, logo_sha=logo_name)
    return data, seconds


def _init_worker(out_dir: str, warmup: MemberSpec) -> None:
    """Load the brand kit and templates once, and draw one warm-up member (not measured)."""
    brand = BrandKit.load()
    templates = load_all(palette=brand.palette)
    stopwatch = Stopwatch()
    side = photo_side(templates[TEMPLATE], templates[TEMPLATE].formats)
    _WORKER.update(
        brand=brand,
        templates=templates,
        stopwatch=stopwatch,
        renderer=Renderer(brand, templates, Path(out_dir), stopwatch),
        # the floor's cards, drawn untimed (members have distinct ids: nothing comes from cache)
        drafts=Renderer(brand, templates, Path(out_dir) / "drafts"),
        side=side,
        formats=formats(),
    )
    with tempfile.TemporaryDirectory() as scratch:
        data, _ = _decode(warmup, side)
        Renderer(brand, templates, Path(scratch)).render(data, TEMPLATE)
    _WORKER["ready_at"] = time.time()  # wall clock: compared with the parent's


def _usage() -> dict[str, Any]:
    """This worker's pid, peak RSS (KiB) and CPU seconds so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"pid": os.getpid(), "rss": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime}


def _ready(_: int) -> dict[str, Any]:
    """When this worker finished starting, and its usage then."""
    time.sleep(0.1)  # long enough that every worker takes one of these
    return {**_usage(), "ready_at": _WORKER["ready_at"]}


def _render_chunk(chunk: Sequence[MemberSpec]) -> dict[str, Any]:
    """Render each member's whole set of formats; per-phase seconds summed over the chunk."""
    renderer: Renderer = _WORKER["renderer"]
    stopwatch: Stopwatch = _WORKER["stopwatch"]
    sums = dict.fromkeys(PHASES, 0.0)
    cards = 0
    used: dict[str, int] = {}
    for spec in chunk:
        data, decode = _decode(spec, _WORKER["side"])
        stopwatch.seconds.clear()
        started = time.perf_counter()
        rendered = renderer.render(data, TEMPLATE)
        wall = time.perf_counter() - started
        s = stopwatch.seconds
        sums["decode"] += decode
        sums["resize"] += s["resize"]
        sums["text"] += s["text"]
        sums["compose"] += s["draw"] - s["resize"] - s["text"]
        sums["encode"] += s["encode"]
        sums["other"] += wall - s["draw"] - s["encode"]
        cards += sum(not c.cached for c in rendered)
        used[rendered[0].template] = used.get(rendered[0].template, 0) + 1
    return _chunk_result(chunk, sums, cards, used)


def _floor_chunk(chunk: Sequence[MemberSpec]) -> dict[str, Any]:
    """Decode the member's images once and encode every output JPEG; nothing else is timed.

    The JPEGs encoded are the member's own cards: drawn by the renderer into a scratch folder
    and read back (untimed), so the floor encodes the same pixels the render pass does (a
    stand-in such as the photo on a plain canvas has fewer edges and encodes faster)."""
    known: dict[str, CardFormat] = _WORKER["formats"]
    sums = dict.fromkeys(PHASES, 0.0)
    cards = 0
    for spec in chunk:
        data, decode = _decode(spec, _WORKER["side"])
        sums["decode"] += decode
        outputs = []
        for card in _WORKER["drafts"].render(data, TEMPLATE):
            with Image.open(card.path) as image:
                outputs.append((known[card.format], image.copy()))
        for fmt, image in outputs:
            started = time.perf_counter()
            _encode(image, fmt, False)
            sums["encode"] += time.perf_counter() - started
            cards += 1
    return _chunk_result(chunk, sums, cards, {})


def _chunk_result(
    chunk: Sequence[MemberSpec], sums: dict[str, float], cards: int, used: dict[str, int]
) -> dict[str, Any]:
    return {
        "members": len(chunk),
        "cards": cards,
        "phases": sums,
        "templates": used,
        **_usage(),
    }


# --------------------------------------------------------------------------------------------
# driver


def _chunks(items: Sequence[MemberSpec], size: int) -> Iterator[Sequence[MemberSpec]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _machine_cpu() -> tuple[float, float] | None:
    """CPU seconds the whole machine has been busy, and stolen by the hypervisor (Linux)."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    hz = os.sysconf("SC_CLK_TCK")
    # user nice system idle iowait irq softirq steal: busy is everything but idle and iowait
    busy = sum(ticks[:3]) + sum(ticks[5:7])
    return busy / hz, ticks[7] / hz


def _own_cpu() -> float:
    """CPU seconds of this (the parent) process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _progress(text: str, done: int) -> None:
    """Progress on stderr: one updating line on a terminal, every 100 members in a log."""
    if sys.stderr.isatty():
        print(f"\r{text}", end="", file=sys.stderr, flush=True)
    elif done % 100 == 0:
        print(text, file=sys.stderr, flush=True)


def run_pass(
    name: str,
    work: Callable[[Sequence[MemberSpec]], dict[str, Any]],
    members: Sequence[MemberSpec],
    processes: int,
) -> PassResult:
    """One pass over all members in a fresh pool and a fresh output folder."""
    result = PassResult(processes)
    ctx = multiprocessing.get_context("spawn")  # clean workers: their memory is their own
    with tempfile.TemporaryDirectory(prefix="cards-bench-") as out_dir:
        began = time.time()
        with ctx.Pool(processes, _init_worker, (out_dir, members[0])) as pool:
            ready: dict[int, dict[str, Any]] = {}
            while len(ready) < processes:  # until every worker has answered
                for answer in pool.map(_ready, range(processes * 2), chunksize=1):
                    ready[answer["pid"]] = answer
            result.startup = max(r["ready_at"] for r in ready.values()) - began
            result.startup_rss_kib = max(r["rss"] for r in ready.values())
            peaks = {pid: r["rss"] for pid, r in ready.items()}
            cpu = {pid: r["cpu"] for pid, r in ready.items()}
            # the previous pass's files still being written back would slow this pass's writes
            os.sync()
            machine_before, own_before = _machine_cpu(), _own_cpu()
            started = time.perf_counter()
            for chunk in pool.imap_unordered(work, _chunks(members, CHUNK)):
                result.members += chunk["members"]
                result.cards += chunk["cards"]
                for phase, seconds in chunk["phases"].items():
                    result.phases[phase] += seconds
                for template, count in chunk["templates"].items():
                    result.templates[template] = result.templates.get(template, 0) + count
                peaks[chunk["pid"]] = max(peaks.get(chunk["pid"], 0), chunk["rss"])
                cpu[chunk["pid"]] = max(cpu.get(chunk["pid"], 0.0), chunk["cpu"])
                _progress(f"{name}: {result.members}/{len(members)} members", result.members)
            result.seconds = time.perf_counter() - started
            machine_after, own_after = _machine_cpu(), _own_cpu()
            result.peak_rss_kib = max(peaks.values())
            if machine_before and machine_after:
                workers = sum(cpu[pid] - r["cpu"] for pid, r in ready.items())
                busy = machine_after[0] - machine_before[0]
                ours = workers + own_after - own_before
                result.other_cores = max(busy - ours, 0.0) / result.seconds
                result.steal_cores = (machine_after[1] - machine_before[1]) / result.seconds
    print(f"\r{name}: {result.members} members in {result.seconds:.1f} s", file=sys.stderr)
    return result


def _cores(p: PassResult) -> str:
    if p.other_cores is None or p.steal_cores is None:
        return "-"
    return f"{p.other_cores + p.steal_cores:.2f}"


def report(n: int, one: PassResult, two: PassResult, floor: PassResult, sample: int) -> None:
    """The markdown tables."""
    cards_per_member = one.cards / max(one.members, 1)
    turbo = "libjpeg-turbo" if features.check_feature("libjpeg_turbo") else "libjpeg"
    print(f"# cards benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"# {describe_machine()},")
    print(
        f"# Python {platform.python_version()}, Pillow {PIL.__version__} "
        f"({turbo} {features.version('jpg')}), worker processes started with spawn"
    )
    used = ", ".join(f"{k} {v}" for k, v in sorted(one.templates.items()))
    print(
        f"# {n} members cycling {sample} sample members ({used}), each with its own name and "
        f"tagline, template {TEMPLATE}, {cards_per_member:.0f} formats each, fresh output "
        "folder per pass"
    )
    print()
    print(
        f"| {'per member, whole set of formats (mean)':<40} | {'1 proc ms':>9} "
        f"| {'2 proc ms':>9} | {'floor ms':>8} |"
    )
    print(f"|{'-' * 42}|{'-' * 10}:|{'-' * 10}:|{'-' * 9}:|")
    for phase in PHASES:
        floor_ms = (
            f"{floor.per_member_ms(phase):>8.1f}" if phase in ("decode", "encode") else f"{'-':>8}"
        )
        print(
            f"| {PHASE_LABELS[phase]:<40} | {one.per_member_ms(phase):>9.1f} "
            f"| {two.per_member_ms(phase):>9.1f} | {floor_ms} |"
        )
    print(
        f"| {'total':<40} | {one.total_ms():>9.1f} | {two.total_ms():>9.1f} "
        f"| {floor.total_ms():>8.1f} |"
    )
    print(
        f"| {'total per card':<40} | {one.total_ms() / cards_per_member:>9.1f} "
        f"| {two.total_ms() / cards_per_member:>9.1f} "
        f"| {floor.total_ms() / cards_per_member:>8.1f} |"
    )
    print()
    print(
        f"| {'pass':<18} | {'procs':>5} | {'seconds':>7} | {'members/s':>9} | {'cards/s':>7} "
        f"| {'startup s':>9} | {'RSS MiB start':>13} | {'RSS MiB peak':>12} "
        f"| {'others, cores':>13} |"
    )
    print(
        f"|{'-' * 20}|{'-' * 6}:|{'-' * 8}:|{'-' * 10}:|{'-' * 8}:|{'-' * 10}:|{'-' * 14}:"
        f"|{'-' * 13}:|{'-' * 14}:|"
    )
    for what, p in (("render", one), ("render", two), ("floor", floor)):
        print(
            f"| {what:<18} | {p.processes:>5} | {p.seconds:>7.1f} "
            f"| {p.members / p.seconds:>9.1f} | {p.cards / p.seconds:>7.1f} "
            f"| {p.startup:>9.1f} | {p.startup_rss_kib / 1024:>13.0f} "
            f"| {p.peak_rss_kib / 1024:>12.0f} | {_cores(p):>13} |"
        )
    print()
    ratio = one.total_ms() / floor.total_ms()
    speedup = one.seconds / two.seconds
    print(f"whole set / floor (1 process): {ratio:.2f}x (goal <= 2x)")
    print(f"2 processes / 1 process, members/s: {speedup:.2f}x (goal >= 1.8x)")
    print(
        "startup: pool start, brand kit and templates loaded, one warm-up member per worker "
        "(excluded from seconds); RSS: ru_maxrss of the worker processes (peak of the largest "
        "worker), after startup and at the end; others: CPU that other processes (and the "
        "hypervisor's steal) used during the pass, in cores out of "
        f"{os.cpu_count()} (near 0 for a clean run)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    args = parser.parse_args()
    members = bench_members(args.members)
    sample = len(sample_members())
    floor = run_pass("floor, 1 process", _floor_chunk, members, 1)
    one = run_pass("render, 1 process", _render_chunk, members, 1)
    two = run_pass("render, 2 processes", _render_chunk, members, 2)
    report(args.members, one, two, floor, sample)


if __name__ == "__main__":
    main()
