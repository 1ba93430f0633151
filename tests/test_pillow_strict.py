"""Pillow stays strict in every process of ours, whatever our dependencies do on import.

Pillow's decode settings are process-wide globals, and a dependency may flip them (importing
WeasyPrint turns `ImageFile.LOAD_TRUNCATED_IMAGES` on). With it on, a member's cut-off photo
decodes as a whole one, grey-filled, and the card renderer and the registry's media check both
take it. A CI run once failed this way: a report test ran before a card test on the same worker.
The check runs in a fresh interpreter that imports every module of ours and prints a PDF, as a
console process serving a report and then rendering cards would.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = textwrap.dedent(
    """
    import importlib, io, pkgutil, sys
    from pathlib import Path
    from PIL import Image, ImageFile

    before = (ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS)
    import flows, ifn_campaign
    for package in (ifn_campaign, flows):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)

    from ifn_campaign.reports.pdf import write_pdf

    folder = Path(sys.argv[1])
    page = folder / "page.html"
    page.write_text("<html><body><h1>Laporan</h1></body></html>", encoding="utf-8")
    write_pdf(page, folder / "page.pdf")
    assert (folder / "page.pdf").read_bytes().startswith(b"%PDF"), "no PDF written"

    after = (ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS)
    assert after == before, f"Pillow's globals changed: {before} -> {after}"

    from ifn_campaign.cards.photo import ImageUnusable, load_image

    buffer = io.BytesIO()
    Image.new("RGB", (1200, 900), (180, 90, 40)).save(buffer, "JPEG", quality=95)
    try:
        load_image(buffer.getvalue()[:2000])
    except ImageUnusable as exc:
        print("refused", exc.reason)
    else:
        print("accepted a truncated JPEG")
    """
)


@pytest.mark.slow
def test_no_import_or_pdf_leaves_pillow_lenient_about_truncated_images(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "refused corrupt_image"
