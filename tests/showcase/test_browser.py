"""The showcase as visitors see it: served by a plain static server on 127.0.0.1 and opened in
Debian's chromium (Playwright; never a downloaded browser) at 1280 and 390 px.

Every text has a WCAG contrast of at least 4.5:1 against what is under it (CONTRAST_JS in
tests/support/page_checks.py), no page scrolls sideways on a phone, every card loads, no request
leaves the site, the filter narrows the list with script and the per-province and per-category
pages do it without. Screenshots go to tests/output/browser/showcase-*.png, to be looked at.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.models import PostState
from ifn_campaign.showcase import build_showcase, slug
from tests.support.browser import chromium
from tests.support.ledger import add_member, add_post
from tests.support.page_checks import (
    MIN_CONTRAST,
    broken_images,
    contrast_rows,
    low_contrast,
    sideways,
    svg_text_contrast,
)
from tests.support.showcase import HOSTILE_ID, NOW, card_file, day, featured_members

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

OUTPUT = Path(__file__).resolve().parents[1] / "output" / "browser"
DESKTOP, PHONE = 1280, 390
MORE = [  # (id, name, province, categories, actor type, colour)
    ("ifn-c1", "CV Sandal Jepit Mandiri", "DI Yogyakarta", ["sandals"], "producer", (180, 71, 43)),
    (
        "ifn-c2",
        "Boots Tangguh Cibaduyut",
        "Jawa Barat",
        ["boots", "safety_shoes"],
        "brand",
        (7, 48, 58),
    ),
    ("ifn-c3", "Sol Karet Prima", "Jawa Timur", ["components"], "supplier", (95, 90, 83)),
    ("ifn-c4", "Sneakers Lokal Bandung", "Jawa Barat", ["sneakers"], "brand", (14, 74, 85)),
]
# cards as each channel's are drawn: a Facebook card is landscape, a Short's is a phone tall
CHANNELS = {"ifn-c1": ("facebook", (1200, 630)), "ifn-c3": ("youtube", (1080, 1920))}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The showcase of a few members built and served over HTTP on 127.0.0.1; its address."""
    from ifn_campaign import store

    base = tmp_path_factory.mktemp("showcase")
    settings = Settings(data_dir=base / "data")
    engine: Engine = store.make_engine(f"sqlite:///{base / 'ifn.db'}")
    store.upgrade(engine)
    with Session(engine) as session:
        featured_members(session, settings)
        for n, (member_id, name, province, categories, actor, colour) in enumerate(MORE):
            add_member(
                session,
                member_id,
                business_name=name,
                province=province,
                city="Kota Bandung" if province == "Jawa Barat" else None,
                categories=categories,
                actor_types=[actor],
                description_id=f"{name} membuat alas kaki untuk pasar dalam dan luar negeri.",
                year_founded=2001 + n,
            )
            channel, size = CHANNELS.get(member_id, ("instagram", (540, 540)))
            add_post(
                session,
                member_id,
                PostState.PUBLISHED,
                channel,
                slot_at=day(12 + n),
                featured_at=day(12 + n),
                permalink=f"https://www.instagram.com/p/C{n}/",
                card_path=card_file(settings, member_id, colour, size),
            )
        session.commit()
        build_showcase(session, settings, base / "site", now=NOW + timedelta(days=1))
    engine.dispose()
    handler = functools.partial(_Quiet, directory=str(base / "site"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _open(browser: Browser, url: str, width: int, *, script: bool = True) -> tuple[Page, list[str]]:
    """The page `width` px wide; every request away from 127.0.0.1 is blocked and recorded."""
    context = browser.new_context(
        viewport={"width": width, "height": 844 if width == PHONE else 900},
        java_script_enabled=script,
    )
    blocked: list[str] = []

    def guard(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.goto(url, wait_until="load")
    page.evaluate(
        "() => Promise.all([...document.images].map((i) => { i.loading = 'eager';"
        " return i.complete ? null : new Promise((ok) => { i.onload = i.onerror = ok; }); }))"
    )
    return page, blocked


PAGES = {
    "index": "/index.html",
    "member": f"/anggota/{slug('ifn-a')}.html",
    "hostile": f"/anggota/{slug(HOSTILE_ID)}.html",
    "province": f"/provinsi/{slug('Jawa Barat')}.html",
    "fairness": "/keadilan.html",
    "en-index": "/en/index.html",
    "en-member": f"/en/anggota/{slug('ifn-a')}.html",
    "landscape": f"/anggota/{slug('ifn-c1')}.html",
}

# Runs in the page: each card drawn cropped (the box's shape is not the image's and the image
# covers it), as "src natural-ratio box-ratio"
CROPPED_JS = r"""
() => [...document.images].filter((i) => i.naturalWidth).flatMap((i) => {
  const box = i.getBoundingClientRect();
  const natural = i.naturalWidth / i.naturalHeight, shown = box.width / box.height;
  const fit = getComputedStyle(i).objectFit;
  const crops = (fit === "cover" || fit === "none") && Math.abs(natural / shown - 1) > 0.02;
  return crops ? [`${i.src} ${natural.toFixed(2)} ${shown.toFixed(2)}`] : [];
})
"""


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_reads_well(browser: Browser, site: str, name: str, width: int) -> None:
    page, blocked = _open(browser, site + PAGES[name], width)
    try:
        OUTPUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUTPUT / f"showcase-{name}-{width}.png"), full_page=True)
        assert not blocked, blocked
        assert not broken_images(page)
        rows = contrast_rows(page)
        charts = [r for r in rows if r["tag"] == "text" and r["bg"] == "an image (svg)"]
        assert not (bad := low_contrast([r for r in rows if r not in charts])), bad
        drawn = svg_text_contrast(page)  # the fairness charts' text against what they draw
        assert len(drawn) >= len(charts)
        assert not [(ratio, text) for ratio, text in drawn if ratio < MIN_CONTRAST]
        assert sideways(page) == 0
        # a card is the member's advert: a Facebook card cut square loses the business name
        assert page.evaluate(CROPPED_JS) == []
        errors = page.evaluate("() => document.querySelectorAll('script:not([src])').length")
        assert errors == 0  # no inline script: the page's own policy would refuse it anyway
    finally:
        page.context.close()


def test_the_filter_narrows_the_list_with_script(browser: Browser, site: str) -> None:
    page, _ = _open(browser, site + "/index.html", DESKTOP)
    try:
        form = page.locator("#saring")
        assert form.is_visible()
        members = page.locator("li.member")
        assert members.count() == 6
        page.select_option("#f-province", slug("Jawa Barat"))
        shown = [n for n in members.all() if n.is_visible()]
        assert len(shown) == 3
        assert page.locator("#f-count").inner_text() == "3 dari 6 anggota"
        page.select_option("#f-category", slug("boots"))
        shown = [n.locator(".name").inner_text() for n in members.all() if n.is_visible()]
        assert shown == ["Boots Tangguh Cibaduyut"]
        page.select_option("#f-category", slug("sandals"))  # sandals: none in Jawa Barat
        assert not [n for n in members.all() if n.is_visible()]
        assert page.locator("#f-none").is_visible()
        page.screenshot(path=str(OUTPUT / "showcase-filter-1280.png"), full_page=True)
    finally:
        page.context.close()


def test_without_script_the_group_pages_do_the_filtering(browser: Browser, site: str) -> None:
    page, _ = _open(browser, site + "/index.html", PHONE, script=False)
    try:
        assert not page.locator("#saring").is_visible()
        assert page.locator("li.member").count() == 6
        page.get_by_role("link", name="Jawa Barat").first.click()
        page.wait_for_load_state("load")
        assert page.url.endswith(PAGES["province"])
        assert page.locator("li.member").count() == 3
        page.get_by_role("link", name="Sepatu Kulit Nusantara").click()
        page.wait_for_load_state("load")
        assert page.url.endswith(PAGES["member"])
        assert page.get_by_role("link", name="Lihat unggahan di Instagram").count() == 1
        page.get_by_role("link", name="English").click()  # the same page in English
        page.wait_for_load_state("load")
        assert page.url.endswith("/en" + PAGES["member"])
        assert page.get_by_role("link", name="See the post on Instagram").count() == 1
    finally:
        page.context.close()
