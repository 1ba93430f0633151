"""Slot advice on the Campaigns page: per channel and account of each campaign, the reach index
of each weekday and hour with enough posts (and how many), the campaign's own slots marked, the
weakest slot and the best alternative, and what is not judged yet; both languages, SQLite and
PostgreSQL; and the page in chromium at a phone's width and at 1280 px (shot to
tests/output/browser/campaign-advice-*.png)."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from ifn_campaign.models import StaffUser
from tests.support.browser import chromium
from tests.support.console import PASSWORD, USERS, ConsoleWorld, add_role_users, settings_for
from tests.support.console_campaigns import NOW, console_at, store_members
from tests.support.console_demo import sign_in
from tests.support.console_server import served_console
from tests.support.page_checks import contrast_rows, low_contrast, sideways
from tests.support.slot_history import add_history, weekly

if TYPE_CHECKING:
    from playwright.sync_api import Browser

FIRST = dt.date(2026, 8, 31)  # twelve weeks before the console's clock (2026-11-25)
OUTPUT = Path(__file__).resolve().parents[1] / "output" / "browser"


def store_history(session: Session) -> None:
    """instagram/bpipi: Tuesday 19:00 usual, Thursday 19:00 (a slot of sorotan-anggota) weak,
    Wednesday 19:00 strong, twelve weeks each; facebook/bpipi: three Wednesdays 18:30 only."""
    for day, reach in ((1, 1000), (3, 500), (2, 2000)):
        add_history(session, weekly(FIRST, 12, day, "19:00"), lambda at, r=reach: r)
    add_history(session, weekly(FIRST, 3, 2, "18:30"), lambda at: 800, channel="facebook")


def language(session: Session, lang: str) -> None:
    session.execute(update(StaffUser).values(language=lang))
    session.commit()


@pytest.fixture
def world(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[ConsoleWorld]:
    with console_at(db_url, tmp_path) as world:
        with world.session() as session:
            store_members(session)
            store_history(session)
        yield world


def section(page: str, campaign: str, account: str) -> str:
    """The advice block of one campaign's channel and account, as text."""
    start = page.index(f'href="/campaigns/{campaign}/dry-run"')
    head = page.rindex('<section class="panel campaign"', 0, start)
    block = page[head:start]
    found = re.search(
        rf'<section class="advice" aria-label="{re.escape(account)}">(.*?)</section>', block, re.S
    )
    assert found, f"no advice for {account} in {campaign}"
    text = re.sub(r"<[^>]+>", " ", found.group(1))
    return " ".join(html.unescape(text).split())


def test_the_advice_per_account_in_english(world: ConsoleWorld) -> None:
    with world.session() as session:
        language(session, "en")
    page = world.client("viewer").get("/campaigns")
    assert page.status_code == 200, page.text
    ig = section(page.text, "sorotan-anggota", "instagram/bpipi")
    assert (
        "Wednesday 19.00 best alternative 2.00 12 Tuesday 19.00 this campaign 1.00 12 "
        "Thursday 19.00 this campaign 0.50 12"
    ) in ig
    assert (
        "Wednesday 19.00 would replace Thursday 19.00: reach index 2.00 against 0.50, over 12 "
        "and 12 posts. Set replace_weakest_slot = true in the campaign file"
    ) in ig
    fb = section(page.text, "sorotan-anggota", "facebook/bpipi")
    assert "3 posts on Wednesday 18.30, needs 4: not judged yet." in fb
    assert "3 posts compared so far; no hour has 4 yet." in fb
    assert "Index" not in fb  # no hour has enough posts: no table at all
    yt = section(page.text, "sorotan-anggota", "youtube/bpipi")
    assert "No published post has a reading at 7d or later yet: nothing to say." in yt
    # harbolnas posts on the same Instagram account every day at 12.12: never posted then
    harbolnas = section(page.text, "harbolnas-1212", "instagram/bpipi")
    assert "No post yet, not judged: Monday 12.12, Tuesday 12.12" in harbolnas
    assert "Wednesday 19.00 best alternative 2.00 12" in harbolnas


def test_the_advice_in_indonesian(world: ConsoleWorld) -> None:
    page = world.client("viewer").get("/campaigns")
    assert page.status_code == 200, page.text
    ig = section(page.text, "sorotan-anggota", "instagram/bpipi")
    assert "Rabu 19.00" in ig and "2,00" in ig and "0,50" in ig
    assert "Kamis 19.00" in ig
    assert "would replace" not in ig and "Set replace_weakest_slot" not in ig  # translated


def test_an_opted_in_campaign_says_the_planner_does_it(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    (campaigns / "pilihan.toml").write_text(
        'name = "pilihan"\ntitle = "Pilihan"\nstart = 2026-12-01\nreplace_weakest_slot = true\n'
        '[[channels]]\nchannel = "instagram"\n[[channels.slots]]\ndays = ["selasa", "kamis"]\n'
        'time = "19:00"\n',
        encoding="utf-8",
    )
    with console_at(db_url, tmp_path, planner={"campaigns_dir": campaigns}) as world:
        with world.session() as session:
            store_members(session)
            store_history(session)
            language(session, "en")
        page = world.client("viewer").get("/campaigns")
        ig = section(page.text, "pilihan", "instagram/bpipi")
        assert "The planner makes this change at each plan (replace_weakest_slot is on)." in ig
        # the dry run says what the plan does with the slot, and plans Wednesdays
        dry = world.client("viewer").get("/campaigns/pilihan/dry-run?weeks=1")
        assert dry.status_code == 200, dry.text
        text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", dry.text)).split())
        assert (
            "instagram/ bpipi : Wednesday 19:00 replaces Thursday 19:00: reach index 2.00 vs "
            "0.50 over 12 and 12 posts"
        ) in text
        assert "Wed, 2 Dec 2026 19.00" in text and "Thu, 3 Dec 2026" not in text


# --- in chromium ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("width", [390, 1280])
def test_the_advice_in_chromium(
    sqlite_engine: Engine, sqlite_url: str, tmp_path: Path, width: int
) -> None:
    """Staff on a phone read Indonesian, at a desk English."""
    settings = settings_for(sqlite_url, tmp_path)
    with Session(sqlite_engine) as session:
        add_role_users(session)
        store_members(session)
        store_history(session)
        language(session, "id" if width < 800 else "en")
    with chromium() as browser, served_console(settings, clock=lambda: NOW) as url:
        _look(browser, url, width)


def _look(browser: Browser, url: str, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB")
    problems: list[str] = []

    def guard(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            problems.append(f"asked another host: {route.request.url}")
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    try:
        sign_in(page, url, USERS["viewer"], PASSWORD)
        page.goto(f"{url}/campaigns", wait_until="load")
        OUTPUT.mkdir(parents=True, exist_ok=True)
        first = page.locator("section.advice").first
        first.scroll_into_view_if_needed()
        page.screenshot(path=str(OUTPUT / f"campaign-advice-{width}.png"), full_page=True)
        campaign = page.locator(
            "section.campaign:has(a[href='/campaigns/sorotan-anggota/dry-run'])"
        )
        campaign.screenshot(path=str(OUTPUT / f"campaign-advice-sorotan-{width}.png"))
        assert sideways(page) == 0, f"the campaigns page scrolls sideways at {width} px"
        rows = contrast_rows(page)
        assert rows and not low_contrast(rows), low_contrast(rows)
        table = campaign.locator("table.advice").first
        assert table.is_visible()
        best = table.locator("tr.alternative")
        assert best.count() == 1 and ("Rabu" if width < 800 else "Wednesday") in best.inner_text()
        assert table.locator("tr.current").count() == 2
        assert problems == [], problems
    finally:
        context.close()
