"""The staff console in a real browser, on the demo's data: what staff do in a week of review.

Playwright for Python drives Debian's chromium (tests/support/browser.py; never a downloaded
browser, never `playwright install`). The console is served for real (uvicorn on 127.0.0.1,
tests/support/console_server.py) on a copy of `ifn-campaign demo`'s data, with its admin
staf-demo given a known password and the console's clock on the morning of the first post the
demo leaves waiting for review (tests/support/console_demo.py). Every request that is not
127.0.0.1 is blocked and recorded: the pages make none.

The journey, in order (one served console for the module; a module's tests stay on one xdist
worker): sign in; every page read at 1280 and 390 px; the review queue's previews (Instagram's
caption cut with "… lainnya", the Short's <video> in a 9:16 frame, the Facebook post); a
caption typed past Instagram's limit (the live counter turns over-limit, the server refuses
and keeps the text); approve; move on the calendar (the form, then drag and drop); a member;
the fairness charts; then the same approve and move with JavaScript turned off; last, the
activity page shows what staf-demo did.

Every page is checked at both widths: a full-page screenshot in tests/output/browser/
(console-<page>-<width>.png, git-ignored, to be looked at), every text's contrast (at least
MIN_CONTRAST:1; the fairness charts' SVG text against what the chart draws under it), no broken
image, no sideways scrolling at 390 px (a wide table scrolls inside its wrapper, the page does
not), no error in the browser's console (a CSP violation is one: an inline style or script left
in a template shows here), no request off this machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ifn_campaign.config import Settings
from ifn_campaign.models import Channel, Notice, Post, PostEvent, PostState
from ifn_campaign.wiring import Resources
from tests.support.browser import chromium
from tests.support.console_demo import (
    CONSOLE_USER,
    PASSWORD,
    copy_demo,
    demo_clock,
    review_posts,
    sign_in,
)
from tests.support.console_server import served_console
from tests.support.demo import DemoRun
from tests.support.member_rows import add_notice
from tests.support.page_checks import (
    MIN_CONTRAST,
    broken_images,
    contrast_rows,
    low_contrast,
    sideways,
    svg_text_contrast,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# the first test also waits for the demo (a minute and a half, more on a loaded machine)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

OUTPUT = Path(__file__).resolve().parents[1] / "output" / "browser"
DESKTOP, PHONE = 1280, 390
WIDTHS = [DESKTOP, PHONE]
SHOT_TIMEOUT_MS = 120_000
INSTAGRAM_LIMIT = 2200  # Instagram's caption limit (settings.captions)
STAFF = f"staff:{CONSOLE_USER}"


@dataclass
class Demo:
    """The console served on a copy of the demo's data, and the posts waiting for review."""

    url: str
    settings: Settings
    first: Post  # the first post waiting: it goes out on the console clock's day
    short: Post  # the YouTube Short waiting
    feed: Post  # the first Instagram post waiting
    photo: Post  # the Facebook post waiting
    second: Post  # the Instagram post staff pinned (a carousel)

    def post(self, post_id: int) -> Post:
        with Resources(self.settings) as resources, resources.session() as session:
            found = session.get(Post, post_id)
            assert found is not None
            session.expunge(found)
        return found

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.planner.display_timezone)

    def local(self, at: datetime) -> str:
        """`at` as a datetime-local field holds it (display zone)."""
        return at.astimezone(self.zone()).strftime("%Y-%m-%dT%H:%M")


@dataclass
class Tab:
    """A page in its own browser context, and what went wrong in it."""

    page: Page
    errors: list[str] = field(default_factory=list)  # console errors, uncaught exceptions
    blocked: list[str] = field(default_factory=list)  # requests off this machine
    failed: list[str] = field(default_factory=list)  # answers 400 and above

    def clear(self) -> None:
        self.errors.clear()
        self.blocked.clear()
        self.failed.clear()

    def listen(self) -> None:
        def console(message: Any) -> None:
            if message.type == "error":
                self.errors.append(f"{message.text} ({message.location.get('url')})")

        self.page.on("console", console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        self.page.on(
            "response",
            lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )

    def go(self, url: str) -> None:
        answer = self.page.goto(url, wait_until="load")
        assert answer is not None and answer.status == 200, (url, answer and answer.status)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _notices_for_staff(settings: Settings, member_id: str) -> None:
    """An uncertain and a failed notice of a demo member (the demo's own went out), so the
    notices page is read with what staff decide there and its buttons."""
    with Resources(settings) as resources, resources.session() as session:
        for state, why in (
            ("uncertain", "the connection broke after the end of the message"),
            ("failed", "550 5.1.1 <pemilik@example.test>: no such mailbox"),
        ):
            row = session.get(Notice, add_notice(session, member_id, f"browser-{state}", state))
            assert row is not None
            row.last_error = why
        session.commit()


@pytest.fixture(scope="module")
def demo(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The session's `ifn-campaign demo`, its data copied, served on 127.0.0.1."""
    assert demo_run.returncode == 0, (demo_run.stdout[-2000:], demo_run.stderr[-2000:])
    settings = copy_demo(demo_run.home / "var" / "demo", tmp_path_factory.mktemp("console") / "d")
    waiting = review_posts(settings)
    by_channel: dict[Channel, list[Post]] = {}
    for post in waiting:
        by_channel.setdefault(post.channel, []).append(post)
    assert sorted(by_channel) == sorted(Channel), waiting  # the demo leaves one of each at least
    # the demo pins a member with photos to an Instagram slot (a carousel whatever the date)
    pinned = [p for p in by_channel[Channel.INSTAGRAM] if p.pinned and p.slides]
    others = [p for p in by_channel[Channel.INSTAGRAM] if p not in pinned]
    assert pinned and others, waiting
    _notices_for_staff(settings, others[0].member_id)
    with served_console(settings, clock=demo_clock(settings)) as url:
        yield Demo(
            url=url,
            settings=settings,
            first=waiting[0],
            short=by_channel[Channel.YOUTUBE][0],
            feed=others[0],
            photo=by_channel[Channel.FACEBOOK][0],
            second=pinned[0],
        )


@contextmanager
def anonymous(browser: Browser, width: int = DESKTOP, *, javascript: bool = True) -> Iterator[Tab]:
    """A fresh context `width` px wide, in Indonesian as staff's browsers are; requests off
    this machine are blocked and recorded."""
    context = browser.new_context(
        viewport={"width": width, "height": 900},
        locale="id-ID",
        java_script_enabled=javascript,
    )
    tab = Tab(context.new_page())

    def guard(route: Any) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname == "127.0.0.1":
            route.continue_()
        else:
            tab.blocked.append(url)
            route.abort()

    context.route("**/*", guard)
    tab.listen()
    try:
        yield tab
    finally:
        context.close()


@contextmanager
def opened(
    browser: Browser, demo: Demo, width: int = DESKTOP, *, javascript: bool = True
) -> Iterator[Tab]:
    """`anonymous`, signed in as staf-demo."""
    with anonymous(browser, width, javascript=javascript) as tab:
        sign_in(tab.page, demo.url)
        yield tab


# --- what every page must be ----------------------------------------------------------------

# Runs in the page: what sticks out of a 390 px page and is not inside a scrolling wrapper.
STICKING_OUT_JS = r"""
() => {
  const width = document.documentElement.clientWidth;
  const scrolls = (e) => {
    for (let a = e.parentElement; a; a = a.parentElement) {
      if (["auto", "scroll"].includes(getComputedStyle(a).overflowX)) return true;
    }
    return false;
  };
  return [...document.body.querySelectorAll("*")]
    .filter((e) => e.getBoundingClientRect().right > width + 1
      && (!scrolls(e) || ["absolute", "fixed"].includes(getComputedStyle(e).position)))
    .slice(0, 12)
    .map((e) => e.tagName.toLowerCase() + (e.className && typeof e.className === "string"
      ? "." + e.className.trim().replace(/\s+/g, ".") : "") + " right="
      + Math.round(e.getBoundingClientRect().right));
}
"""


def _load_images(page: Page) -> None:
    """Lazy images loaded now (the whole page is shot and checked), and waited for."""
    page.evaluate(
        "() => Promise.all([...document.images].map((i) => { i.loading = 'eager';"
        " return i.complete ? null : new Promise((ok) => { i.onload = i.onerror = ok; }); }))"
    )


def check_page(tab: Tab, name: str, width: int) -> None:
    """The page as it is now: shot to console-<name>-<width>.png, then every check."""
    page = tab.page
    _load_images(page)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(OUTPUT / f"console-{name}-{width}.png"), full_page=True, timeout=SHOT_TIMEOUT_MS
    )
    assert broken_images(page) == [], f"{name} at {width} px"
    overflow = sideways(page)
    assert overflow == 0, (
        f"{name} scrolls {overflow} px sideways at {width} px: {page.evaluate(STICKING_OUT_JS)}"
    )
    # what hides behind <details> (a caption's rest, a move form) is read too
    page.evaluate("() => document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    rows = contrast_rows(page)
    charts = [r for r in rows if r["tag"] == "text" and r["bg"] == "an image (svg)"]
    others = [r for r in rows if r not in charts]
    assert others, f"{name}: no text found"
    assert not low_contrast(others), (
        f"text under {MIN_CONTRAST}:1 on {name} at {width} px:\n{low_contrast(others)}"
    )
    drawn = svg_text_contrast(page)
    assert len(drawn) >= len(charts)
    faint = [(round(ratio, 2), text) for ratio, text in drawn if ratio < MIN_CONTRAST]
    assert not faint, f"chart text under {MIN_CONTRAST}:1 on {name} at {width} px: {faint}"
    page.evaluate("() => document.querySelectorAll('details').forEach((d) => { d.open = false; })")
    assert tab.errors == [], f"{name} at {width} px: {tab.errors}"
    assert tab.blocked == [], f"{name} at {width} px asked another host: {tab.blocked}"
    assert tab.failed == [], f"{name} at {width} px: {tab.failed}"


def _pages(demo: Demo) -> dict[str, str]:
    """Every page staff read (the activity page is read last, after the journey)."""
    week = demo.feed.slot_at.astimezone(demo.zone()).date()
    return {
        "today": "/",
        "review": "/review",
        "review-edit": f"/review/{demo.feed.id}/edit",
        "calendar": f"/calendar?view=week&start={week.isoformat()}",
        "calendar-month": f"/calendar?view=month&start={week.isoformat()}",
        "members": "/members",
        "member": f"/members/{demo.feed.member_id}",
        "fairness": "/fairness",
        "failures": "/failures",
        "notices": "/notices",
        "campaigns": "/campaigns",
        "campaign-dry-run": "/campaigns/pilihan-staf-demo/dry-run",
        "me": "/me",
        "users": "/users",
    }


# --- the journey ----------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_signing_in_leads_back_to_the_page_asked(browser: Browser, demo: Demo, width: int) -> None:
    with anonymous(browser, width) as tab:
        page = tab.page
        page.goto(f"{demo.url}/review", wait_until="load")
        assert urlsplit(page.url).path == "/login"
        check_page(tab, "login", width)
        page.fill("#name", CONSOLE_USER)
        page.fill("#password", "not the password")
        with page.expect_navigation(wait_until="load"):
            page.click("form[action='/login'] [type=submit]")
        assert page.locator("[role=alert]").count() == 1
        assert page.input_value("#name") == CONSOLE_USER  # the name is kept, not the password
        assert page.input_value("#password") == ""
        assert tab.failed == [f"401 {demo.url}/login"]  # the refused login's answer
        tab.clear()
        sign_in_again = page.url
        page.fill("#password", PASSWORD)
        with page.expect_navigation(wait_until="load"):
            page.click("form[action='/login'] [type=submit]")
        assert urlsplit(page.url).path == "/review", (sign_in_again, page.url)
        assert page.locator("header .who").inner_text().startswith(CONSOLE_USER)
        assert page.locator("html").get_attribute("lang") == "id"
        assert tab.errors == [] and tab.blocked == [], (tab.errors, tab.blocked)


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_reads_well(browser: Browser, demo: Demo, width: int) -> None:
    """Each page staff read: shot, legible, whole at a phone's width, quiet in the console."""
    with opened(browser, demo, width) as tab:
        for name, path in _pages(demo).items():
            tab.clear()
            tab.go(demo.url + path)
            check_page(tab, name, width)


def test_today_failures_and_campaigns_say_what_the_demo_holds(browser: Browser, demo: Demo) -> None:
    """Before staff act: the first post waiting goes out today and four wait; nothing failed;
    both of the demo's campaign files are read, each with its dry run a click away."""
    with opened(browser, demo) as tab:
        page = tab.page
        tab.go(demo.url + "/")
        waiting = page.locator(".today-summary a[href='/review'] strong")
        assert waiting.inner_text() == "4"
        today = page.locator("#today").inner_text()
        first = demo.first
        assert f"{first.channel}/{first.account}" in today and str(first.id) in today
        assert first.slot_at.astimezone(demo.zone()).strftime("%H.%M") in today
        with page.expect_navigation(wait_until="load"):
            page.click(".today-summary a[href='/failures']")
        assert urlsplit(page.url).path == "/failures"
        assert page.locator("main table").count() == 0  # no failed post, no account to redo
        tab.go(demo.url + "/campaigns")
        for name in ("pilihan-staf-demo", "sorotan-demo"):
            assert page.locator(f"a[href='/campaigns/{name}/dry-run']").count() == 1
        with page.expect_navigation(wait_until="load"):
            page.click("a[href='/campaigns/pilihan-staf-demo/dry-run']")
        assert page.locator("main table").count() >= 1  # the plan it would make
        assert demo.post(demo.feed.id).state == PostState.COMPOSED  # a dry run saves nothing
        assert tab.errors == [] and tab.failed == [], (tab.errors, tab.failed)


def test_the_review_queue_looks_like_each_network(browser: Browser, demo: Demo) -> None:
    with opened(browser, demo) as tab:
        page = tab.page
        tab.go(f"{demo.url}/review")
        waiting = {demo.short.id, demo.feed.id, demo.photo.id, demo.second.id}
        shown = {
            int(i.removeprefix("post-"))
            for i in page.locator("article.review-item").evaluate_all("(l) => l.map((a) => a.id)")
        }
        assert waiting <= shown

        # Instagram: the caption cut after 125 characters, the rest behind "… lainnya"
        feed = page.locator(f"#post-{demo.feed.id} .pv-instagram")
        caption = demo.feed.caption or ""
        assert len(caption) > 125
        details = feed.locator("details.pv-text")
        assert details.get_attribute("open") is None
        summary = details.locator("summary")
        assert summary.locator(".pv-more").inner_text() == "… lainnya"
        head = summary.locator("bdi").last.inner_text()
        assert _words(head) == _words(caption[:125])
        rest = details.locator(":scope > bdi")
        assert not rest.is_visible()
        summary.click()
        assert rest.is_visible()
        assert _words(head + rest.inner_text()) == _words(caption) or _words(
            head + " " + rest.inner_text()
        ) == _words(caption)

        # the carousel: the card and the member's photos, every slide loaded
        _load_images(page)
        slides = page.locator(f"#post-{demo.second.id} .pv-carousel li img")
        assert slides.count() >= 2
        assert all(w > 0 for w in slides.evaluate_all("(l) => l.map((i) => i.naturalWidth)"))

        # the YouTube Short: a <video> of the post's Short in a 9:16 frame, with its title
        short = page.locator(f"#post-{demo.short.id} .pv-youtube")
        frame = short.locator(".pv-frame").bounding_box()
        assert frame is not None and frame["height"] > 200
        assert frame["width"] / frame["height"] == pytest.approx(9 / 16, rel=0.02), frame
        video = short.locator(".pv-frame video")
        assert video.count() == 1
        source = video.locator("source").get_attribute("src")
        assert source == f"/posts/{demo.short.id}/short.mp4"
        answer = page.request.get(demo.url + source)
        assert answer.status == 200 and answer.headers["content-type"] == "video/mp4"
        assert len(answer.body()) > 10_000
        shape = video.evaluate(
            """(v) => new Promise((done) => {
                 v.addEventListener("loadedmetadata", () => done([v.videoWidth, v.videoHeight]));
                 v.addEventListener("error", () => done(["error", v.error && v.error.code]));
                 v.preload = "metadata"; v.load();
               })"""
        )
        assert shape[0] != "error", f"chromium cannot read the Short: {shape}"
        assert shape[0] / shape[1] == pytest.approx(9 / 16, rel=0.01), shape
        assert short.locator(".pv-title").inner_text() == (demo.short.title or "")

        # Facebook: the whole text over the card, no link
        photo = page.locator(f"#post-{demo.photo.id} .pv-facebook")
        assert _words(photo.locator(".pv-text").inner_text()) == _words(demo.photo.caption or "")
        assert photo.locator("img.pv-image").evaluate("(i) => i.naturalWidth") > 0
        assert photo.locator("a").count() == 0
        assert tab.errors == [] and tab.blocked == [], (tab.errors, tab.blocked)


def _words(text: str) -> list[str]:
    return text.split()


def test_a_caption_past_the_limit_is_counted_live_and_refused_by_the_server(
    browser: Browser, demo: Demo
) -> None:
    with opened(browser, demo) as tab:
        page = tab.page
        tab.go(f"{demo.url}/review")
        page.click(f"#post-{demo.feed.id} a[href='/review/{demo.feed.id}/edit']")
        page.wait_for_load_state("load")
        assert urlsplit(page.url).path == f"/review/{demo.feed.id}/edit"
        counter = page.locator("#caption-counters li[data-unit=chars]")
        assert counter.get_attribute("data-limit") == str(INSTAGRAM_LIMIT)
        assert "over" not in (counter.get_attribute("class") or "")
        typed = (demo.feed.caption or "") + "\n\n" + "Sepatu kulit asli Cibaduyut. " * 80
        assert len(typed) > INSTAGRAM_LIMIT
        page.fill("#caption", typed)  # typing: the input event the counters listen to
        assert "over" in (counter.get_attribute("class") or "")
        assert counter.locator(".n").inner_text() == f"{len(typed):,}".replace(",", ".")
        with page.expect_navigation(wait_until="load"):
            page.click("form.caption-form [type=submit]")
        refusal = page.locator(".flash .error")
        assert refusal.count() == 1
        assert re.search(r"\b2[,.]?200\b", refusal.inner_text()), refusal.inner_text()
        assert page.input_value("#caption") == typed.replace("\r\n", "\n")  # nothing typed lost
        assert "over" in (counter.get_attribute("class") or "")  # counted by the server too
        assert tab.failed == [f"422 {demo.url}/review/{demo.feed.id}/edit"]
        tab.errors[:] = [e for e in tab.errors if "422" not in e]  # the refusal's status
        assert tab.errors == [], tab.errors
        assert demo.post(demo.feed.id).caption == demo.feed.caption  # not saved


def test_approving_a_post(browser: Browser, demo: Demo) -> None:
    with opened(browser, demo) as tab:
        page = tab.page
        tab.go(f"{demo.url}/review")
        with page.expect_navigation(wait_until="load"):
            page.click(f"#post-{demo.photo.id} form[action='/review/approve'] [type=submit]")
        assert page.locator(".flash .ok").count() == 1
        assert str(demo.photo.id) in page.locator(".flash .ok").inner_text()
        assert page.locator(f"#post-{demo.photo.id}").count() == 0  # left the queue
        assert demo.post(demo.photo.id).state == PostState.APPROVED
        assert tab.errors == [] and tab.failed == [], (tab.errors, tab.failed)


def test_moving_posts_on_the_calendar_by_form_and_by_dragging(browser: Browser, demo: Demo) -> None:
    """The second Instagram post moves by its form to next week's slot; then the first one is
    dragged onto the slot that left free."""
    week = demo.feed.slot_at.astimezone(demo.zone()).date()
    to_next_week = demo.second.slot_at + timedelta(weeks=1)  # its campaign's slot, free
    with opened(browser, demo) as tab:
        page = tab.page
        tab.go(f"{demo.url}/calendar?view=week&start={week.isoformat()}")
        card = page.locator(f"#post-{demo.second.id}")
        card.locator("details.move summary").click()
        card.locator("input[name=at]").fill(demo.local(to_next_week))
        with page.expect_navigation(wait_until="load"):
            card.locator("form [type=submit]").click()
        assert page.locator(".flash .ok").count() == 1, page.locator("main").inner_text()[:2000]
        assert demo.post(demo.second.id).slot_at == to_next_week
        assert page.locator(f"#post-{demo.second.id}").count() == 0  # not in this week now

        # the slot it left is free: drag the other Instagram post onto it
        freed = page.locator(
            f".free[data-account='instagram/{demo.second.account}']"
            f"[data-at='{demo.local(demo.second.slot_at)}']"
        )
        assert freed.count() == 1
        dragged = page.locator(f"#post-{demo.feed.id}")
        assert dragged.get_attribute("draggable") == "true"  # calendar.js ran
        with page.expect_navigation(wait_until="load"):
            dragged.drag_to(freed)
        assert page.locator(".flash .ok").count() == 1, page.locator("main").inner_text()[:2000]
        assert demo.post(demo.feed.id).slot_at == demo.second.slot_at
        assert page.locator(f"#post-{demo.feed.id}").count() == 1  # still this week
        assert tab.errors == [] and tab.failed == [], (tab.errors, tab.failed)


def test_opening_a_member(browser: Browser, demo: Demo) -> None:
    with opened(browser, demo) as tab:
        page = tab.page
        tab.go(f"{demo.url}/members")
        name = page.locator(f"a[href='/members/{demo.feed.member_id}'] bdi").inner_text()
        page.fill("#q", name)
        with page.expect_navigation(wait_until="load"):
            page.press("#q", "Enter")
        assert page.locator("a[href^='/members/']").count() >= 1
        with page.expect_navigation(wait_until="load"):
            page.click(f"a[href='/members/{demo.feed.member_id}']")
        assert urlsplit(page.url).path == f"/members/{demo.feed.member_id}"
        main = page.locator("main").inner_text()
        assert name in main and demo.feed.member_id in main
        assert f"{demo.feed.id}" in main  # its post waiting for review is in its history
        assert tab.errors == [] and tab.failed == [], (tab.errors, tab.failed)


def test_the_fairness_page_draws_its_charts(browser: Browser, demo: Demo) -> None:
    with opened(browser, demo) as tab:
        page = tab.page
        tab.go(f"{demo.url}/fairness")
        charts = page.locator("svg.chart")
        assert charts.count() >= 3  # province, category, actor type
        for i in range(charts.count()):
            chart = charts.nth(i)
            assert chart.get_attribute("role") == "img"
            assert (chart.locator("title").text_content() or "").strip()
            assert chart.locator("rect").count() >= 2
            box = chart.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 50
        assert page.locator("main table").count() >= 3  # the same numbers as tables
        assert tab.errors == [] and tab.failed == [], (tab.errors, tab.failed)


def test_without_javascript_approve_and_move_work_by_their_forms(
    browser: Browser, demo: Demo
) -> None:
    """Approve the second Instagram post from the queue, then move the Short on the calendar,
    with JavaScript turned off: plain forms, <details> opening by itself."""
    later = demo.short.slot_at + timedelta(weeks=1)  # the next Sunday's slot of its account
    with opened(browser, demo, javascript=False) as tab:
        page = tab.page
        tab.go(f"{demo.url}/review")
        with page.expect_navigation(wait_until="load"):
            page.click(f"#post-{demo.second.id} form[action='/review/approve'] [type=submit]")
        assert page.locator(".flash .ok").count() == 1
        assert demo.post(demo.second.id).state == PostState.APPROVED

        day = demo.short.slot_at.astimezone(demo.zone()).date()
        tab.go(f"{demo.url}/calendar?view=week&start={day.isoformat()}")
        card = page.locator(f"#post-{demo.short.id}")
        assert card.get_attribute("draggable") is None  # no script made it draggable
        card.locator("details.move summary").click()
        card.locator("input[name=at]").fill(demo.local(later))
        with page.expect_navigation(wait_until="load"):
            card.locator("form [type=submit]").click()
        assert page.locator(".flash .ok").count() == 1, page.locator("main").inner_text()[:2000]
        assert demo.post(demo.short.id).slot_at == later
        assert tab.errors == [] and tab.failed == [], (tab.errors, tab.failed)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_activity_page_shows_what_staff_did(browser: Browser, demo: Demo, width: int) -> None:
    """Read last: the approvals and moves of this module, by staf-demo, newest first."""
    with Resources(demo.settings) as resources, resources.session() as session:
        ours = list(session.scalars(select(PostEvent).where(PostEvent.actor == STAFF)))
    done = {(e.post_id, e.to_state) for e in ours}
    assert {(demo.photo.id, PostState.APPROVED), (demo.second.id, PostState.APPROVED)} <= done
    moved = {e.post_id for e in ours if e.from_state == e.to_state}
    assert {demo.second.id, demo.feed.id, demo.short.id} <= moved, ours
    with opened(browser, demo, width) as tab:
        page = tab.page
        tab.go(f"{demo.url}/activity?actor={STAFF}")
        rows = page.locator("table.activity tbody tr")
        assert rows.count() == len(ours)
        text = page.locator("table.activity").inner_text()
        assert text.count(CONSOLE_USER) >= len(ours)
        for post_id in (demo.photo.id, demo.second.id, demo.feed.id, demo.short.id):
            assert str(post_id) in text
        check_page(tab, "activity", width)
