"""Reach in the console: the Fairness page's reach table per province, category and actor type
(total, median of the features read, not read yet, share of reach beside share of members), a
member's features with their latest figures on the member page, and the ledger CSV's reach
columns; readings written straight to the database (tests/support/insights.py), hostile member
text, both languages, SQLite and PostgreSQL; and the two pages in chromium at a phone's width
and at 1280 px (shot to tests/output/browser/reach-*.png)."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from ifn_campaign.models import InsightReading, Post, PostState, ReadingState, StaffUser
from tests.support.browser import chromium
from tests.support.console import (
    PASSWORD,
    USERS,
    ConsoleWorld,
    add_role_users,
    console_world,
    settings_for,
)
from tests.support.console_hostile import check_page
from tests.support.console_server import served_console
from tests.support.insights import add_reading
from tests.support.ledger import add_member, add_post
from tests.support.page_checks import (
    MIN_CONTRAST,
    contrast_rows,
    low_contrast,
    sideways,
    svg_text_contrast,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

NOW = datetime(2026, 12, 1, 3, tzinfo=UTC)
HOSTILE = "Zqx <script>alert(1)</script> Jawa\u202eTengah"
OUTPUT = Path(__file__).resolve().parents[1] / "output" / "browser"


def _day(n: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, n, hour, tzinfo=UTC)


def store_reach(session: Session) -> dict[str, int]:
    """ifn-1 (Jawa Barat) reached 100 (7d, after 40 at 1d) on Instagram and 1,300 on
    Facebook; ifn-2 (a hostile province, sandals then boots) reached 50 on YouTube, has an
    Instagram feature not read yet and a Facebook one read at 8 then gone from the platform;
    ifn-3 (Jawa Barat) never featured. The posts by name."""
    add_member(session, "ifn-1", business_name="Sepatu Satu")
    add_member(session, "ifn-2", province=HOSTILE, categories=["sandals", "boots"])
    add_member(session, "ifn-3")
    ids: dict[str, int] = {}
    for name, member, day, channel in (
        ("ig", "ifn-1", 2, "instagram"),
        ("fb", "ifn-1", 3, "facebook"),
        ("yt", "ifn-2", 4, "youtube"),
        ("unread", "ifn-2", 20, "instagram"),
        ("gone", "ifn-2", 21, "facebook"),
    ):
        ids[name] = add_post(
            session,
            member,
            PostState.PUBLISHED,
            channel,
            slot_at=_day(day),
            featured_at=_day(day),
            published_at=_day(day),
            permalink=f"https://example.org/{name}",
        )
    add_reading(session, ids["ig"], "1d", 40, {"reach": 40, "likes": 1})
    add_reading(
        session,
        ids["ig"],
        "7d",
        100,
        {"reach": 100, "likes": 9, "comments": 2, "saved": 1, "shares": 3, "views": 180},
    )
    add_reading(
        session, ids["fb"], "7d", 1300, {"post_total_media_view_unique": 1300, "reactions": 12}
    )
    add_reading(session, ids["yt"], "1d", 50, {"views": 50, "likes": 4, "comments": 0})
    add_reading(session, ids["unread"], "1h", None, state=ReadingState.RETRY)
    add_reading(session, ids["gone"], "1h", 8, {"reactions": 0, "comments": 0})
    add_reading(session, ids["gone"], "1d", None, state=ReadingState.GONE)
    session.get_one(Post, ids["gone"]).remote_gone_at = _day(22, 1)
    session.commit()
    return ids


def language(session: Session, lang: str) -> None:
    session.execute(update(StaffUser).values(language=lang))
    session.commit()


@pytest.fixture
def world(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[ConsoleWorld]:
    with console_world(settings_for(db_url, tmp_path), clock=lambda: NOW) as world:
        with world.session() as session:
            store_reach(session)
            language(session, "en")
        yield world


def text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def reach_tables(page: str) -> list[str]:
    """The text of each reach table, in page order (province, category, actor type)."""
    return [text(t) for t in re.findall(r'<table class="reach">.*?</table>', page, re.S)]


def get(world: ConsoleWorld, url: str) -> str:
    answer = world.client("viewer").get(url)
    assert answer.status_code == 200, answer.text
    return answer.text


def test_fairness_page_reach_tables(world: ConsoleWorld) -> None:
    page = get(world, "/fairness")
    province, category, actor = reach_tables(page)
    head = "Province Reach Median reach Not read yet Share of members Share of reach Difference"
    assert province.startswith("Reach of the features, against the members " + head)
    # 100 and 1,300: an even count, the median is 700; 2 of 3 members, 96% of the reach
    assert "Jawa Barat 1,400 700 0 66.7% 96% +29.4%" in province
    # 50 and 8 read (median 29), the Instagram one not read yet: left out, not 0
    assert f"{HOSTILE} 58 29 1 33.3% 4% -29.4%" in province
    # ifn-2 counts under sandals, its first category, never under boots
    assert "Sandal & selop / Sandals & slides 58 29 1 33.3% 4% -29.4%" in category
    assert "Bot" not in category
    assert "Produsen / Producer 1,458 75 1 100% 100% 0%" in actor
    shown = text(page)
    assert "Reach of these features: 1,458; not read yet: 1." in shown
    assert "never counted as 0" in shown
    assert check_page(page) == []  # the hostile province: escaped, in <bdi>


def test_fairness_reach_for_a_period_with_nothing_read(world: ConsoleWorld) -> None:
    page = get(world, "/fairness?from=2026-11-20&to=2026-11-20")
    province = reach_tables(page)[0]
    # one feature, not read yet: no reach, no median, no share of reach to compare
    assert f"{HOSTILE} — — 1 33.3% — —" in province
    assert "Jawa Barat — — 0 66.7% — —" in province
    assert "Reach of these features: 0; not read yet: 1." in text(page)


def test_fairness_reach_in_indonesian(world: ConsoleWorld) -> None:
    with world.session() as session:
        language(session, "id")
    province = reach_tables(get(world, "/fairness"))[0]
    assert "Jangkauan" in province and "Belum terbaca" in province
    assert "Jawa Barat 1.400 700 0 66,7% 96% +29,4%" in province


def test_member_page_features_with_figures(world: ConsoleWorld) -> None:
    page = get(world, "/members/ifn-1")
    shown = text(page)
    assert "Figures" in shown and "Reach is accounts reached on Instagram" in shown
    # the 7d reading replaces the 1d one; 19:00 WIB on 9 November
    assert "Reach 100 at 7d, read Mon, 9 Nov 2026 19.00" in shown
    assert "likes 9 · comments 2 · shares 3 · saved 1 · views 180" in shown
    assert "Reach 1,300 at 7d, read Tue, 10 Nov 2026 19.00 reactions 12" in shown
    assert "Not read yet" not in shown
    page = get(world, "/members/ifn-2")
    shown = text(page)
    assert "Reach 50 at 1d, read Thu, 5 Nov 2026 19.00 likes 4 · comments 0" in shown
    assert "Not read yet" in shown
    assert "Reach 8 at 1h" in shown and "Gone from the platform Sun, 22 Nov 2026 08.00" in shown
    assert check_page(page) == []


def test_member_page_figures_in_indonesian(world: ConsoleWorld) -> None:
    with world.session() as session:
        language(session, "id")
    shown = text(get(world, "/members/ifn-2"))
    assert "Jangkauan 50" in shown and "Belum terbaca" in shown and "suka 4" in shown
    assert "Sudah hilang dari platform" in shown


def test_ledger_csv_has_each_features_reach(
    world: ConsoleWorld,
) -> None:
    answer = world.client("viewer").get("/exports/ledger.csv")
    assert answer.status_code == 200
    found = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))
    by_link = {r["permalink"].rsplit("/", 1)[1]: (r["reach"], r["reach_mark"]) for r in found}
    assert by_link == {
        "ig": ("100", "7d"),
        "fb": ("1300", "7d"),
        "yt": ("50", "1d"),
        "unread": ("", ""),  # not read yet: blank, never 0
        "gone": ("8", "1h"),
    }


# --- in chromium ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("width", [390, 1280])
def test_reach_pages_in_chromium(
    sqlite_engine: Engine, sqlite_url: str, tmp_path: Path, width: int
) -> None:
    settings = settings_for(sqlite_url, tmp_path)
    """Staff on a phone read Indonesian, at a desk English."""
    with Session(sqlite_engine) as session:
        add_role_users(session)
        store_reach(session)
        language(session, "id" if width < 800 else "en")
    with chromium() as browser, served_console(settings, clock=lambda: NOW) as url:
        _look(browser, url, width, "Belum terbaca" if width < 800 else "Not read yet")


def _look(browser: Browser, url: str, width: int, unread: str) -> None:
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
        page.goto(f"{url}/login", wait_until="load")
        page.fill("#name", USERS["viewer"])
        page.fill("#password", PASSWORD)
        with page.expect_navigation(wait_until="load"):
            page.click("form[action='/login'] [type=submit]")
        OUTPUT.mkdir(parents=True, exist_ok=True)
        for name, path in (("fairness", "/fairness"), ("member", "/members/ifn-2")):
            page.goto(f"{url}{path}", wait_until="load")
            page.screenshot(path=str(OUTPUT / f"reach-{name}-{width}.png"), full_page=True)
            assert sideways(page) == 0, f"{name} scrolls sideways at {width} px"
            rows = contrast_rows(page)
            # the charts' SVG text is judged against what the chart draws under it
            others = [r for r in rows if r["bg"] != "an image (svg)"]
            assert others and not low_contrast(others), low_contrast(others)
            faint = [text for ratio, text in svg_text_contrast(page) if ratio < MIN_CONTRAST]
            assert not faint, f"chart text under {MIN_CONTRAST}:1 on {name}: {faint}"
        page.goto(f"{url}/fairness", wait_until="load")
        table = page.locator("table.reach").first
        assert table.is_visible()
        assert unread in table.inner_text()
        # the hostile province is shown as text, in its own bidi isolate
        assert page.locator("table.reach bdi", has_text="Zqx <script>").count() == 1
        assert problems == [], problems
    finally:
        context.close()


def test_member_page_says_a_late_reading(world: ConsoleWorld) -> None:
    """The Facebook 7d reading taken 5 days 3 hours after its mark (late after 42 hours)."""
    with world.session() as session:
        session.execute(
            update(InsightReading)
            .where(InsightReading.mark == "7d", InsightReading.reach == 1300)
            .values(read_at=_day(15, 15))
        )
        session.commit()
        language(session, "en")
    page = get(world, "/members/ifn-1")
    shown = text(page)
    assert "Reach 1,300 at 7d, read late (5d 3h after the mark) Sun, 15 Nov 2026 22.00" in shown
    assert "Reach 100 at 7d, read Mon, 9 Nov 2026 19.00" in shown  # on time: nothing said
    assert check_page(page) == []
    with world.session() as session:
        language(session, "id")
    shown = text(get(world, "/members/ifn-1"))
    assert "pada 7d, dibaca terlambat (5d 3h setelah waktunya)" in shown
