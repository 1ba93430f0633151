"""Write the README's card pictures (docs/card-*.jpg) from the golden cards.

The golden cards (tests/golden/cards) are real renders of a sample member that the tests compare
every change against and that are refreshed on purpose (`make goldens`, which runs this too), so
the README shows what the renderer makes today. Small JPEGs: the README's pictures stay under
300 KB together (tests/test_docs.py).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "cards"
HEIGHT = 480  # pixels; the feed card is shown at the same height as the vertical ones
CARDS = ("sorotan-ig_portrait", "sorotan-story", "sorotan-fb_feed")


def main() -> None:
    for name in CARDS:
        image = Image.open(GOLDEN / f"{name}.png").convert("RGB")
        width = round(image.width * HEIGHT / image.height)
        small = image.resize((width, HEIGHT), Image.Resampling.LANCZOS)
        out = ROOT / "docs" / f"card-{name.removeprefix('sorotan-')}.jpg"
        small.save(out, "JPEG", quality=82, optimize=True, progressive=True)
        print(f"{out.relative_to(ROOT)}: {small.width}x{small.height}, {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
