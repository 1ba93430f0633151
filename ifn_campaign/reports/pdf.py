"""The report page printed to PDF with WeasyPrint: the same HTML file, its print rules (A4,
page numbers in the margin) and its inline SVG charts kept as vectors.

WeasyPrint rather than Chromium's print: it is a Python library that needs only Pango (a
Debian package every desktop and most servers have), so the report server runs no browser.
A PDF that cannot be made (WeasyPrint or Pango missing, a file that cannot be written) is a
clear error; the HTML page, written before, stays. The PDF is written whole or not at all (a
temporary file renamed into place), as the pages are.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import ImageFile

from ifn_campaign.errors import FileAccessError, NotInstalledError
from ifn_campaign.files import write_atomically

__all__ = ["PDF_NAMES", "write_pdf"]

if TYPE_CHECKING:
    from weasyprint import HTML

PDF_NAMES = {"id": "laporan-ifn.pdf", "en": "ifn-report.pdf"}
# Images go in at most at this resolution of their printed size: a 1080x1350 card printed
# 34 mm tall needs 400 px of its 1350 (as drawn, a card weighs about 110 KB in the PDF).
PRINT_DPI = 300


def write_pdf(
    page: Path,
    target: Path,
    *,
    html: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Print the HTML file `page` to `target` (cards and links resolved beside the page) and
    return `target`. `html`, when given, is printed instead of the file's text, as if it were
    the file (`ifn_campaign.reports.page.print_html`: the page with the PDF's gallery).
    `progress` hears one line per step: a big month takes minutes to lay out."""
    say = progress or (lambda _line: None)
    try:
        html_class = _weasyprint_html()
    except (ImportError, OSError) as exc:  # OSError: WeasyPrint found, Pango (its C side) not
        raise NotInstalledError(
            f"the PDF needs WeasyPrint and Pango ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'not importable'}): install the "
            "package with `pip install weasyprint` and Pango with `apt-get install "
            f"libpango-1.0-0 libpangoft2-1.0-0`; the HTML page is at {page}"
        ) from None
    try:
        source = (
            html_class(string=html, base_url=str(page))
            if html is not None
            else html_class(filename=str(page), base_url=str(page.parent))
        )
        say(f"laying out the PDF of {page.name} (WeasyPrint)")
        started = time.monotonic()
        document = source.render(dpi=PRINT_DPI)  # images keep it, and are cut to it when drawn
        say(
            f"{len(document.pages)} A4 pages laid out in {time.monotonic() - started:.0f} s; "
            f"writing {target.name}"
        )
        # whole or not at all: a full disk (or a crash) keeps last run's PDF, never half of one
        write_atomically(target, document.write_pdf())
    except OSError as exc:
        raise FileAccessError(
            f"cannot write the report's PDF to {target}: {exc}; the HTML page is at {page}"
        ) from None
    return target


def _weasyprint_html() -> type[HTML]:
    """WeasyPrint's HTML class, with Pillow left strict.

    Importing WeasyPrint sets Pillow's process-wide `ImageFile.LOAD_TRUNCATED_IMAGES`, which
    would make every later decode in this process (member photos for cards, the registry's media
    check) accept a cut-off file as a whole one, grey-filled. The report only embeds images we
    made ourselves, so it needs no such leniency: the flag is put back off.
    """
    try:
        from weasyprint import HTML
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = False
    return HTML
