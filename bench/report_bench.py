"""Report benchmark: the monthly report's PDF for a big month (2,000 posts), capped gallery
against the full one.

Setup (not timed): a fresh SQLite file with generated members and `--posts` published posts in
November 2026 (WIB), a third each on Instagram, Facebook and YouTube, each with its feature and
one reading with a reach; every post has its own card files (Instagram's 1080x1350 portrait,
Facebook's 1200x630 feed card, YouTube's 1080x1920 Shorts frame and 1280x720 thumbnail), drawn
by the real renderer for the bundled sample members and hard-linked per post under their own
names, so WeasyPrint (which caches an image by its URL) loads each post's card as its own. The
report is collected and both HTML pages written once, as `ifn-campaign report --month` does.

Measured, each arm in a fresh child process (`python -c`, so one arm's memory never counts in
the other's): `write_pdf` of the Indonesian page, wall time of the child and inside it, its peak
RSS (`os.wait4`'s ru_maxrss), the PDF's pages (pdfinfo, when poppler-utils is there) and size.
- capped: what `ifn-campaign report --pdf` prints, the page from `print_html` with the gallery
  capped at `--cap` cards (default: the shipped `report.pdf_cards`), images at PRINT_DPI of
  their printed size.
- full (the baseline, as the PDF was before the cap): the page file itself, every card in the
  gallery at the size it was drawn (`PRINT_DPI` switched off in the child).
The print rules of the template (fixed column widths of the long tables) are today's in both.

Run: `make bench-report`, or a quick look with `.venv/bin/python bench/report_bench.py --posts 300`.
`--no-baseline` skips the full-gallery arm (2.5 minutes and 2.1 GB at 2,000 posts on the
reference machine, bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from cards_bench import TEMPLATE, _decode, sample_members
from machine import describe as describe_machine
from sqlalchemy import insert
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.cards.brand import BrandKit
from ifn_campaign.cards.render import Renderer, photo_side
from ifn_campaign.cards.template import load_all
from ifn_campaign.config import ReportSettings
from ifn_campaign.models import Feature, InsightReading, Post, PostState
from ifn_campaign.reports.page import CampaignReport, collect, print_html, write_html
from ifn_campaign.reports.pdf import PRINT_DPI
from ifn_sandbox.sample import store_generated_members

ROOT = Path(__file__).resolve().parents[1]
ZONE = "Asia/Jakarta"
JAKARTA = ZoneInfo(ZONE)
SINCE = datetime(2026, 11, 1, tzinfo=JAKARTA).astimezone(UTC)
UNTIL = datetime(2026, 12, 1, tzinfo=JAKARTA).astimezone(UTC)
AS_OF = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
CHANNELS = ("instagram", "facebook", "youtube")
# the card each channel posts, and YouTube's thumbnail (ifn_campaign/posts/compose.py)
FORMATS = {"instagram": "ig_portrait", "facebook": "fb_feed", "youtube": "shorts_frame"}
THUMBNAIL = "yt_thumbnail"
SAMPLE_CARDS = 8  # members drawn for real; posts take their cards in turn
MEMBERS = 600

# What the child runs: one PDF from the print page's text (or the page itself), its wall time
# on its own clock, as one JSON line. "full" also switches the print resolution off, as before.
CHILD = """
import json, sys, time
from pathlib import Path
from ifn_campaign.reports import pdf
page, target, html, dpi = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
pdf.PRINT_DPI = None if dpi == "none" else int(dpi)
started = time.perf_counter()
pdf.write_pdf(page, target, html=Path(html).read_text(encoding="utf-8") if html else None)
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


@dataclass(frozen=True)
class Arm:
    name: str
    cards: int
    seconds: float
    child_seconds: float
    rss_kib: int
    pages: int | None
    pdf_bytes: int


def draw_cards(folder: Path) -> list[dict[str, Path]]:
    """Real cards of SAMPLE_CARDS sample members in every format a post uses."""
    brand = BrandKit.load()
    templates = load_all(palette=brand.palette)
    wanted = [*FORMATS.values(), THUMBNAIL]
    side = photo_side(templates[TEMPLATE], wanted)
    renderer = Renderer(brand, templates, folder)
    sets = []
    for spec in sample_members()[:SAMPLE_CARDS]:
        data, _ = _decode(spec, side)
        sets.append({card.format: card.path for card in renderer.render(data, TEMPLATE, wanted)})
    return sets


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system, or one without hard links
        shutil.copyfile(source, target)


def build_month(session: Session, posts: int, cards: list[dict[str, Path]], folder: Path) -> None:
    """`posts` published posts over the month with features, readings and their own cards."""
    members = store_generated_members(session, MEMBERS, now=AS_OF)
    session.commit()
    folder.mkdir(parents=True, exist_ok=True)
    step = (UNTIL - SINCE) / posts
    rows = []
    for i in range(posts):
        channel = CHANNELS[i % len(CHANNELS)]
        card_set = cards[i % len(cards)]
        card = folder / f"post-{i:05d}-{FORMATS[channel]}.jpg"
        _link(card_set[FORMATS[channel]], card)
        thumbnail = None
        if channel == "youtube":
            thumbnail = folder / f"post-{i:05d}-{THUMBNAIL}.jpg"
            _link(card_set[THUMBNAIL], thumbnail)
        slot = SINCE + step * i
        rows.append(
            {
                "id": i + 1,
                "campaign": "sorotan",
                "channel": channel,
                "account": f"bpipi-{channel}",
                "slot_at": slot,
                "member_id": members[i % len(members)],
                "template": TEMPLATE,
                "reason_id": "giliran berikutnya di provinsinya",
                "reason_en": "next in rotation in their province",
                "state": PostState.PUBLISHED,
                "state_changed_at": slot,
                "created_at": slot - timedelta(days=3),
                "card_path": str(card),
                "thumbnail_path": str(thumbnail) if thumbnail else None,
                "caption": "Sorotan Anggota IFN " * 8,
                "published_at": slot,
                "permalink": f"https://example.invalid/{channel}/{i}",
                "remote_id": f"r{i}",
            }
        )
    session.execute(insert(Post), rows)
    session.execute(
        insert(Feature),
        [
            {
                "post_id": r["id"],
                "member_id": r["member_id"],
                "campaign": r["campaign"],
                "channel": r["channel"],
                "account": r["account"],
                "featured_at": r["slot_at"],
                "permalink": r["permalink"],
                "created_at": r["slot_at"],
            }
            for r in rows
        ],
    )
    session.execute(
        insert(InsightReading),
        [
            {
                "post_id": r["id"],
                "mark": "7d",
                "due_at": r["slot_at"] + timedelta(days=7),
                "state": "read",
                "read_at": r["slot_at"] + timedelta(days=7),
                "attempts": 1,
                # spread out and deterministic: each channel has its own best posts
                "reach": 50 + (r["id"] * 7919) % 5000,
            }
            for r in rows
        ],
    )
    session.commit()


def pages_of(pdf: Path) -> int | None:
    tool = shutil.which("pdfinfo")
    if tool is None:
        return None
    info = subprocess.run([tool, str(pdf)], capture_output=True, text=True, check=True).stdout
    found = re.search(r"^Pages:\s+(\d+)", info, re.M)
    return int(found.group(1)) if found else None


def run_arm(name: str, cap: int | None, page: Path, report: CampaignReport) -> Arm:
    """Print the Indonesian page in a child process: its print version capped at `cap` cards
    at PRINT_DPI, or with `cap` None the page file itself with every card at full size (the
    report before the cap)."""
    out = page.parent
    html = ""
    if cap is not None:
        text, _ = print_html(
            report, out, display_timezone=ZONE, made_at=AS_OF, lang="id", cards=cap
        )
        html_file = out / f"print-{name}.html"
        html_file.write_text(text, encoding="utf-8")
        html = str(html_file)
    target = out / f"laporan-ifn-{name}.pdf"
    dpi = "none" if cap is None else str(PRINT_DPI)
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(page), str(target), html, dpi],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    answer = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name}: the PDF child failed ({os.waitstatus_to_exitcode(status)})")
    return Arm(
        name=name,
        cards=len(report.posts) if cap is None else min(cap, len(report.posts)),
        seconds=seconds,
        child_seconds=json.loads(answer)["seconds"],
        rss_kib=usage.ru_maxrss,
        pages=pages_of(target),
        pdf_bytes=target.stat().st_size,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument(
        "--cap", type=int, default=ReportSettings().pdf_cards, help="cards in the PDF's gallery"
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the full gallery arm")
    args = parser.parse_args()
    print(f"# report bench: {args.posts} posts, PDF gallery cap {args.cap}")
    print(f"machine: {describe_machine()}, Python {platform.python_version()}")
    print(f"started {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="report-bench-") as scratch:
        folder = Path(scratch)
        started = time.perf_counter()
        cards = draw_cards(folder / "drawn")
        engine = store.make_engine(f"sqlite:///{folder / 'ifn.db'}")
        store.upgrade(engine)
        with Session(engine) as session:
            build_month(session, args.posts, cards, folder / "cards")
            report = collect(
                session, since=SINCE, until=UNTIL, as_of=AS_OF, file=Path, display_timezone=ZONE
            )
        engine.dispose()
        page = write_html(report, folder / "report", display_timezone=ZONE, made_at=AS_OF)
        print(f"setup: {time.perf_counter() - started:.1f} s (cards drawn, month written)")
        arms = [run_arm("capped", args.cap, page, report)]
        print(f"- capped: {arms[-1].seconds:.1f} s", flush=True)
        if not args.no_baseline:
            arms.append(run_arm("full", None, page, report))
            print(f"- full: {arms[-1].seconds:.1f} s", flush=True)
    print()
    print(
        "| arm | cards in the PDF's gallery | image resolution | wall s (child) "
        "| s in write_pdf | peak RSS MiB | pages | PDF MiB |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for arm in arms:
        resolution = "as drawn" if arm.name == "full" else f"{PRINT_DPI} dpi of print size"
        print(
            f"| {arm.name} | {arm.cards} | {resolution} | {arm.seconds:.1f} | "
            f"{arm.child_seconds:.1f} | {arm.rss_kib / 1024:.0f} | {arm.pages or '?'} | "
            f"{arm.pdf_bytes / 2**20:.1f} |"
        )
    if len(arms) == 2:
        capped, full = arms
        print()
        print(
            f"capped against full: {full.seconds / capped.seconds:.1f}x faster, "
            f"{full.rss_kib / capped.rss_kib:.1f}x less peak memory, "
            f"{(full.pages or 0) - (capped.pages or 0)} pages fewer, "
            f"{full.pdf_bytes / capped.pdf_bytes:.1f}x smaller"
        )
    print(f"ended {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
