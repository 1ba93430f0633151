"""Write the README's pictures: the cards (docs/card-*.jpg) from the golden cards, and the staff
console's Today, review and calendar pages (docs/images/console-*.png) on the demo's data.

The golden cards (tests/golden/cards) are real renders of a sample member that the tests compare
every change against and that are refreshed on purpose (`make goldens`, which runs this too), so
the README shows what the renderer makes today. The console pictures are the console as staff
see it: `ifn-campaign demo` run in a temporary folder, its console served on 127.0.0.1 with the
clock on the morning of the first post waiting for review (tests/support/console_demo.py, as
the browser tests serve it), photographed in Debian's chromium 1000 px wide, and reduced to a
palette of colours. Small files: the README's pictures stay under 300 KB together
(tests/test_docs.py). `--console-only` or `--cards-only` makes one half.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "cards"
HEIGHT = 480  # pixels; the feed card is shown at the same height as the vertical ones
CARDS = ("sorotan-ig_portrait", "sorotan-story", "sorotan-fb_feed")
IMAGES = ROOT / "docs" / "images"
CONSOLE_WIDTH = 1000  # CSS pixels, shot at 1:1
CONSOLE_COLOURS = 256  # the palette (octree: the flat colours exact, the photos banded a little)
CONSOLE_MAX_BYTES = 80_000  # each; three of them and the cards stay under the README's 300 KB
# page -> how tall a piece of it the README shows (None: the whole page)
CONSOLE_PAGES: dict[str, int | None] = {"today": None, "review": 1250, "calendar": None}


def cards() -> None:
    for name in CARDS:
        image = Image.open(GOLDEN / f"{name}.png").convert("RGB")
        width = round(image.width * HEIGHT / image.height)
        small = image.resize((width, HEIGHT), Image.Resampling.LANCZOS)
        out = ROOT / "docs" / f"card-{name.removeprefix('sorotan-')}.jpg"
        small.save(out, "JPEG", quality=82, optimize=True, progressive=True)
        print(f"{out.relative_to(ROOT)}: {small.width}x{small.height}, {out.stat().st_size} bytes")


def reduce(shot: Path, out: Path, height: int | None) -> None:
    """A screenshot cut to `height` px and saved as a small palette PNG."""
    image = Image.open(shot).convert("RGB")
    if height is not None and image.height > height:
        image = image.crop((0, 0, image.width, height))
    small = image.quantize(CONSOLE_COLOURS, method=Image.Quantize.FASTOCTREE)
    small.save(out, "PNG", optimize=True)
    size = out.stat().st_size
    print(f"{out.relative_to(ROOT)}: {small.width}x{small.height}, {size} bytes")
    if size > CONSOLE_MAX_BYTES:
        raise SystemExit(f"{out.name} is {size} bytes, over {CONSOLE_MAX_BYTES}: cut it shorter")


def console(language: str = "en") -> None:
    """The console's Today, review and calendar pages on a fresh demo, in `language`."""
    sys.path.insert(0, str(ROOT))  # the helpers the browser tests serve the console with
    from tests.support.browser import chromium
    from tests.support.console_demo import copy_demo, demo_clock, review_posts, sign_in
    from tests.support.console_server import served_console
    from tests.support.demo import run_demo

    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ifn-console-images-") as folder:
        home = Path(folder) / "home"
        home.mkdir()
        print("running `ifn-campaign demo` (a minute or two) ...", flush=True)
        run = run_demo(home)
        if run.returncode != 0:
            raise SystemExit(f"ifn-campaign demo failed:\n{run.stderr[-3000:]}")
        settings = copy_demo(home / "var" / "demo", Path(folder) / "console")
        # the week of the posts waiting (the first one may be the Sunday before it)
        last = review_posts(settings)[-1]
        week = last.slot_at.astimezone(ZoneInfo(settings.planner.display_timezone)).date()
        paths = {
            "today": "/",
            "review": "/review",
            "calendar": f"/calendar?view=week&start={week.isoformat()}",
        }
        with served_console(settings, clock=demo_clock(settings)) as url, chromium() as browser:
            context = browser.new_context(
                viewport={"width": CONSOLE_WIDTH, "height": 800}, locale=language
            )
            page = context.new_page()
            sign_in(page, url)
            page.goto(f"{url}/me", wait_until="load")
            page.select_option("#language", language)
            with page.expect_navigation(wait_until="load"):
                page.click("form[action='/me/language'] [type=submit]")
            for name, height in CONSOLE_PAGES.items():
                page.goto(url + paths[name], wait_until="load")
                page.evaluate(
                    "() => Promise.all([...document.images].map((i) => { i.loading = 'eager';"
                    " return i.complete ? null : new Promise((ok) => {"
                    " i.onload = i.onerror = ok; }); }))"
                )
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(2000)  # the video's controls drop their first spinner
                shot = Path(folder) / f"{name}.png"
                page.screenshot(path=str(shot), full_page=True)
                reduce(shot, IMAGES / f"console-{name}.png", height)
            context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    half = parser.add_mutually_exclusive_group()
    half.add_argument("--cards-only", action="store_true", help="Only the card pictures.")
    half.add_argument("--console-only", action="store_true", help="Only the console pictures.")
    parser.add_argument(
        "--language", choices=("en", "id"), default="en", help="The console's language."
    )
    args = parser.parse_args()
    if not args.console_only:
        cards()
    if not args.cards_only:
        console(args.language)


if __name__ == "__main__":
    main()
