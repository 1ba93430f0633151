"""The member's page in a real browser (Playwright driving Debian's chromium), at a phone's
390x844 and at 1280 px: opened from a real signed link, the three answers given as a member
gives them, and after each the database (MemberAnswer, the post's state, the withdrawal, the
cancelled posts) and the staff console (the post back in the review queue) say what happened.

The console is served for real (uvicorn on 127.0.0.1) on a SQLite database with posts composed
by the project's compose stage (real cards). Every page is shot to
tests/output/browser/member-page-<step>-<width>.png, and checked: every text's contrast, no
broken image, no sideways scrolling, no error in the browser's console (a CSP violation is one),
no request off this machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, select

from ifn_campaign.captions.writer import CaptionWriter
from ifn_campaign.cards.render import Renderer
from ifn_campaign.config import Settings
from ifn_campaign.members.links import issue_link, page_url
from ifn_campaign.models import (
    Member,
    MemberAnswer,
    MemberWithdrawal,
    Post,
    PostEvent,
    PostState,
)
from ifn_campaign.posts.compose import compose_posts
from ifn_campaign.wiring import Resources
from tests.support.browser import chromium
from tests.support.console import PASSWORD, USERS, add_role_users, settings_for
from tests.support.console_review import CAMPAIGN, _brand, _campaign, compose_review_posts
from tests.support.console_server import served_console
from tests.support.ledger import add_post
from tests.support.page_checks import (
    MIN_CONTRAST,
    broken_images,
    contrast_rows,
    low_contrast,
    sideways,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

OUTPUT = Path(__file__).resolve().parents[1] / "output" / "browser"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
MEMBER = "ifn-ig"  # compose_review_posts' member with an Instagram post


@dataclass
class Served:
    url: str  # the console's base URL
    settings: Settings
    link: str  # the member's page, as a notice gives it
    posts: list[int]  # the member's upcoming posts, first slot first

    def session(self) -> Any:
        return Resources(self.settings)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
def member_cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("member-page-cards")


@pytest.fixture
def served(
    sqlite_engine: Engine, sqlite_url: str, tmp_path: Path, member_cards: Path
) -> Iterator[Served]:
    """The member with three upcoming posts (Instagram approved, Facebook composed, a second
    Instagram scheduled) and one past feature, a staff user per role, the console served."""
    now = datetime.now(UTC).replace(microsecond=0)
    settings = settings_for(sqlite_url, tmp_path, member_page={"base_url": "http://127.0.0.1:9"})
    with Resources(settings) as resources, resources.session() as s:
        add_role_users(s, now)
        posts = compose_review_posts(settings, s, now, member_cards)
        extra = [
            add_post(
                s,
                MEMBER,
                PostState.PLANNED,
                channel,
                campaign=CAMPAIGN,
                slot_at=now.replace(minute=0, second=0) + timedelta(days=days, hours=2),
            )
            for channel, days in (("facebook", 2), ("instagram", 4))
        ]
        s.commit()
        brand, templates = _brand()
        compose_posts(
            s,
            Renderer(brand, templates, settings.cards.cache_dir),
            CaptionWriter.from_settings(settings),
            {CAMPAIGN: _campaign(CAMPAIGN, now - timedelta(days=30))},
            now - timedelta(hours=1),
            stored=settings.stored,
            file=settings.path,
            post_ids=extra,
        )
        first = s.get(Post, posts.instagram)
        assert first is not None
        first.state = PostState.APPROVED
        last = s.get(Post, extra[1])
        assert last is not None and last.state == PostState.COMPOSED, last and last.compose_notes
        last.state = PostState.SCHEDULED
        last.remote_id = "ig-container-1"
        add_post(
            s,
            MEMBER,
            PostState.PUBLISHED,
            campaign=CAMPAIGN,
            slot_at=now - timedelta(days=12),
            featured_at=now - timedelta(days=12),
            permalink="https://www.instagram.com/p/IFN123/",
        )
        member = s.get(Member, MEMBER)
        assert member is not None
        member.owner_name = "Ibu Sari Wulandari"
        member.contact = {"phone": "+62 22 555 0101", "email": "sari@example.test"}
        member.consent_fields_allowed = ["phone"]
        member.description_en = "Hand-made leather shoes from Cibaduyut."
        s.commit()
    with served_console(settings, clock=lambda: now) as url:
        live = settings.model_copy(
            update={"member_page": settings.member_page.model_copy(update={"base_url": url})}
        )
        with Resources(settings) as resources, resources.session() as s:
            link = page_url(live, issue_link(s, live, MEMBER, now=now))
            s.commit()
        yield Served(url, settings, link, [posts.instagram, extra[0], extra[1]])


@contextmanager
def tab(browser: Browser, viewport: dict[str, int]) -> Iterator[tuple[Page, list[str]]]:
    """A fresh context (a member's phone or desktop, Indonesian); what goes wrong is listed:
    console errors, answers of 400 and above, requests off this machine."""
    context = browser.new_context(viewport=viewport, locale="id-ID")
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
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    try:
        yield page, problems
    finally:
        context.close()


def check(page: Page, problems: list[str], step: str, width: int) -> None:
    """Shot to member-page-<step>-<width>.png, then legible, whole and quiet."""
    page.evaluate(
        "() => Promise.all([...document.images].map((i) => i.complete ? null :"
        " new Promise((ok) => { i.onload = i.onerror = ok; })))"
    )
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / f"member-page-{step}-{width}.png"), full_page=True)
    assert broken_images(page) == [], step
    assert sideways(page) == 0, f"{step} scrolls sideways at {width} px"
    rows = contrast_rows(page)
    assert rows, step
    assert not low_contrast(rows), f"text under {MIN_CONTRAST}:1 on {step}:\n{low_contrast(rows)}"
    assert problems == [], (step, problems)


def _submit(page: Page, selector: str) -> None:
    with page.expect_navigation(wait_until="load"):
        page.click(selector)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_a_member_answers_each_way(
    browser: Browser, served: Served, viewport: dict[str, int]
) -> None:
    width = viewport["width"]
    fine_post, change_post, scheduled = served.posts
    with tab(browser, viewport) as (page, problems):
        answer = page.goto(served.link, wait_until="load")
        assert answer is not None and answer.status == 200
        assert page.locator("html").get_attribute("lang") == "id"
        assert page.locator("h1").inner_text() == "Sepatu Kulit Cibaduyut"
        assert page.locator("article.feature").count() == 3
        assert "pukul" in page.locator(f"#post-{fine_post} h3").inner_text()
        assert page.locator("a[href='https://www.instagram.com/p/IFN123/']").count() == 1
        check(page, problems, "open", width)

        # "Sudah sesuai"
        _submit(page, f"#post-{fine_post} button.fine")
        assert page.locator("#done").inner_text().startswith("Terima kasih")
        assert "Anda menyatakan sudah sesuai" in page.locator(f"#post-{fine_post}").inner_text()
        with served.session() as resources, resources.session() as s:
            row = s.scalars(select(MemberAnswer)).one()
            assert (row.kind, row.post_id, row.address) == ("fine", fine_post, "127.0.0.1")
            assert s.get(Post, fine_post).state == PostState.APPROVED  # type: ignore[union-attr]
        check(page, problems, "fine", width)

        # "Mohon diubah" with a comment: an empty one is stopped by the browser first
        page.click(f"#post-{change_post} form.change button")
        assert page.locator(f"#comment-{change_post}").evaluate("(e) => e.validity.valueMissing")
        comment = "Mohon ganti foto utama dengan foto toko kami yang baru."
        page.fill(f"#comment-{change_post}", comment)
        _submit(page, f"#post-{change_post} form.change button")
        assert "dikirim ke staf BPIPI" in page.locator("#done").inner_text()
        with served.session() as resources, resources.session() as s:
            post = s.get(Post, change_post)
            assert post is not None and post.state == PostState.COMPOSED
            notes = s.scalars(select(PostEvent.note).where(PostEvent.post_id == change_post)).all()
            assert f"member asked for a change: {comment}" in notes
        check(page, problems, "change", width)

        # "Jangan tampilkan saya lagi": the box must be ticked
        page.click("section[aria-labelledby='stop-h'] button.danger")
        assert page.locator("#confirm-stop").evaluate("(e) => e.validity.valueMissing")
        with served.session() as resources, resources.session() as s:
            assert s.scalars(select(MemberWithdrawal)).all() == []  # the browser held it back
        page.check("#confirm-stop")
        _submit(page, "section[aria-labelledby='stop-h'] button.danger")
        assert "tidak akan ditampilkan lagi" in page.locator("#done").inner_text()
        assert page.locator("article.feature").count() == 0
        with served.session() as resources, resources.session() as s:
            member = s.get(Member, MEMBER)
            assert member is not None and member.consent_withdrawn_at is not None
            assert s.scalars(select(MemberWithdrawal)).one().source == "member page"
            for post_id in served.posts:
                assert s.get(Post, post_id).state == PostState.CANCELLED  # type: ignore[union-attr]
            kinds = s.scalars(select(MemberAnswer.kind).order_by(MemberAnswer.id)).all()
            assert kinds == ["fine", "change", "withdraw"]
        check(page, problems, "withdrawn", width)
        del scheduled

        # English, kept for the next visit
        page.goto(served.link + "?lang=en", wait_until="load")
        assert page.locator("html").get_attribute("lang") == "en"
        page.goto(served.link, wait_until="load")
        assert "Your past features" in page.inner_text("main")


def test_staff_see_the_members_answers_in_review(browser: Browser, served: Served) -> None:
    """The post the member asked to change is back in the review queue with their comment;
    staff read it there in their language (Indonesian)."""
    fine_post, change_post, _ = served.posts
    comment = "Nama usaha kami salah eja: Cibaduyut, bukan Cibadyut."
    with tab(browser, PHONE) as (page, _problems):
        page.goto(served.link, wait_until="load")
        page.fill(f"#comment-{change_post}", comment)
        _submit(page, f"#post-{change_post} form.change button")
    with tab(browser, DESKTOP) as (page, problems):
        page.goto(f"{served.url}/login", wait_until="load")
        page.fill("#name", USERS["approver"])
        page.fill("#password", PASSWORD)
        _submit(page, "form[action='/login'] [type=submit]")
        page.goto(f"{served.url}/review", wait_until="load")
        item = page.locator(f"#post-{change_post}")
        assert item.count() == 1  # back in the review queue
        assert comment in item.locator(".member-comment").inner_text()
        assert page.locator(f"#post-{fine_post}").count() == 0  # approved: not waiting
        OUTPUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUTPUT / "member-page-staff-review-1280.png"), full_page=True)
        assert problems == [], problems
