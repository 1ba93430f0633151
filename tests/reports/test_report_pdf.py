"""The monthly report as people see it: the PDF (WeasyPrint) opened, its pages counted and each
rendered to PNG with Debian's poppler-utils (pdfinfo, pdftoppm, pdftotext) and checked not
blank, A4, its charts vector text; the HTML in Debian's chromium at desktop and phone width
(no sideways scrolling, readable contrast, charts drawn). PNGs and screenshots land in
tests/output/report/ (git-ignored), to be looked at."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.cli.app import main
from ifn_campaign.errors import NotInstalledError
from ifn_campaign.reports.page import collect, write_html
from ifn_campaign.reports.pdf import PDF_NAMES, write_pdf
from ifn_campaign.reports.words import PAGE_NAMES, labels
from tests.support.browser import chromium
from tests.support.page_checks import (
    MIN_CONTRAST,
    contrast_rows,
    low_contrast,
    outside_charts,
    sideways,
    svg_text_contrast,
)
from tests.support.report_month import AS_OF, MONTH, SINCE, UNTIL, build_month, point_cli

if TYPE_CHECKING:
    from playwright.sync_api import Browser

OUTPUT = Path(__file__).resolve().parents[1] / "output" / "report"
ZONE = "Asia/Jakarta"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is not installed: `apt-get install -y poppler-utils` (Debian's package; "
            "`make test` installs it)"
        )
    return found


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The month's pages in both languages, on SQLite (the collecting is tested on both
    databases in test_monthly.py; this is about what the page looks like)."""
    folder = tmp_path_factory.mktemp("report-pdf")
    engine = store.make_engine(f"sqlite:///{folder / 'ifn.db'}")
    store.upgrade(engine)
    with Session(engine) as session:
        build_month(session)
        report = collect(
            session, since=SINCE, until=UNTIL, as_of=AS_OF, file=Path, display_timezone=ZONE
        )
    engine.dispose()
    write_html(report, folder / MONTH, display_timezone=ZONE, made_at=AS_OF)
    yield folder / MONTH


def _pdf_pages(pdf: Path) -> tuple[int, str]:
    info = subprocess.run(
        [_tool("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    count = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))  # type: ignore[union-attr]
    size = re.search(r"^Page size:\s+(.*)$", info, re.M).group(1)  # type: ignore[union-attr]
    return count, size


def _pngs(pdf: Path, prefix: str) -> list[Path]:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for old in OUTPUT.glob(f"{prefix}-*.png"):
        old.unlink()
    subprocess.run(
        [_tool("pdftoppm"), "-r", "60", "-png", str(pdf), str(OUTPUT / prefix)],
        check=True,
        capture_output=True,
    )
    return sorted(OUTPUT.glob(f"{prefix}-*.png"))


def _ink(png: Path) -> float:
    """The share of the page's pixels that are not (near) white."""
    with Image.open(png) as image:
        grey = image.convert("L")
        histogram = grey.histogram()
    return sum(histogram[:235]) / (grey.width * grey.height)


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "id"])
def test_the_pdf_is_a4_numbered_vector_and_every_page_has_ink(pages: Path, lang: str) -> None:
    pdf = write_pdf(pages / PAGE_NAMES[lang], pages / PDF_NAMES[lang])  # type: ignore[index]
    assert pdf.read_bytes().startswith(b"%PDF-")
    count, size = _pdf_pages(pdf)
    assert 3 <= count <= 30, count
    assert "(A4)" in size, size
    pngs = _pngs(pdf, f"month-{lang}")
    assert len(pngs) == count
    blank = [(p.name, round(_ink(p), 4)) for p in pngs if _ink(p) < 0.01]
    assert not blank, blank
    text = subprocess.run(
        [_tool("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    t = labels()[lang]
    # the charts are vectors: their legend and labels are text in the PDF, not pixels
    assert text.count(t["share_reach"]) >= 2 and "Jawa Barat" in text
    assert re.search(rf"\b{count}\s*/\s*{count}\b", text)  # page numbers in the margin
    assert "<script>" in text  # member text printed as written, not run or dropped
    if lang == "en":
        assert "belum terbaca" not in text and "not read yet" in text
    else:
        assert "belum terbaca" in text and "not read yet" not in text


def test_a_pdf_that_cannot_be_made_is_a_clear_error_and_the_page_stays(
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Session(engine) as session:
        build_month(session)
    folder = point_cli(engine, monkeypatch, tmp_path)
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as if WeasyPrint were not installed
    with pytest.raises(NotInstalledError, match="WeasyPrint and Pango"):
        write_pdf(folder / "x.html", folder / "x.pdf")
    assert main(["report", "--month", MONTH, "--pdf"]) != 0
    err = " ".join(capsys.readouterr().err.split())
    assert "WeasyPrint" in err and "apt-get install" in err, err
    assert (folder / MONTH / "index.html").is_file() and not (
        folder / MONTH / "laporan-ifn.pdf"
    ).exists()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.mark.slow
@pytest.mark.parametrize(("lang", "width"), [("id", 1280), ("en", 1280), ("en", 390)])
def test_the_page_in_chromium(browser: Browser, pages: Path, lang: str, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        page.goto((pages / PAGE_NAMES[lang]).resolve().as_uri(), wait_until="load")  # type: ignore[index]
        assert sideways(page) == 0, f"the page scrolls sideways at {width} px"
        rows = outside_charts(contrast_rows(page))
        assert len(rows) > 50 and not low_contrast(rows), low_contrast(rows)
        charts = page.eval_on_selector_all(
            "figure.chart svg", "(es) => es.map((e) => [e.clientWidth, e.clientHeight])"
        )
        assert len(charts) == 5 and all(w > 200 and h > 50 for w, h in charts), charts
        weak = [(r, t) for r, t in svg_text_contrast(page) if r < MIN_CONTRAST]
        assert not weak, weak
        OUTPUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUTPUT / f"month-{lang}-{width}.png"), full_page=True)
    finally:
        context.close()
