"""Today shows member notices that wait too long (a mail server mistyped or down): how many, the
oldest, the last reason in plain words and never the password; and those dropped because their
moment passed. The notices were really tried against a host that does not resolve; the page is
read in both languages, SQLite and PostgreSQL, and looked at in chromium (a shot in
tests/output/browser/today-notices-*.png)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from ifn_campaign.config import Settings
from ifn_campaign.models import Notice, StaffUser
from ifn_campaign.notices.delivery import send_due
from ifn_sandbox.mail import MailSandbox
from tests.support.browser import chromium
from tests.support.console import PASSWORD as STAFF_PASSWORD
from tests.support.console import USERS, ConsoleWorld, add_role_users, console_world
from tests.support.console_demo import sign_in
from tests.support.console_server import served_console
from tests.support.console_today import page_text, section
from tests.support.notices_delivery import (
    NOW,
    PASSWORD,
    card_png,
    make_notice,
    notice_settings,
    secrets,
    store_members,
)
from tests.support.page_checks import sideways

if TYPE_CHECKING:
    from playwright.sync_api import Browser

OUTPUT = Path(__file__).resolve().parents[1] / "output" / "browser"
LATER = NOW + timedelta(hours=3)  # the console's clock: three hours after the first try


def _seed(engine: Engine, settings: Settings, folder: Path) -> None:
    """Three e-mail notices queued an hour before NOW and tried at NOW against a mistyped
    host; one dropped yesterday as too late."""
    members = store_members(engine, 3)
    card = card_png(folder)
    with Session(engine) as session:
        for member in members:
            session.add(make_notice(member, card))
        session.add(
            make_notice(
                members[0],
                card,
                kind="after",
                state="dropped",
                last_error="too late: the post went out more than 7 days ago",
                state_changed_at=LATER - timedelta(days=1),
            )
        )
        session.commit()
    with Session(engine) as session:
        report = send_due(session, settings, secrets=secrets(), now=NOW)
    assert report.mail_server is not None and len(report.retry_later) == 3


def _settings(db_url: str, folder: Path) -> Settings:
    with MailSandbox(folder / "maildir") as mail:  # only for its shape: the host is mistyped
        made = notice_settings(db_url, folder, mail, smtp_host="smtp.gmial.invalid")
    notices = made.notices.model_copy(update={"smtp_security": "starttls"})
    return made.model_copy(update={"notices": notices})


@pytest.fixture
def world(engine: Engine, db_url: str, tmp_path: Path) -> Iterator[ConsoleWorld]:
    settings = _settings(db_url, tmp_path)
    _seed(engine, settings, tmp_path)
    with console_world(settings, clock=lambda: LATER) as made:
        yield made


def _language(world: ConsoleWorld, lang: str) -> None:
    with world.session() as session:
        session.execute(update(StaffUser).values(language=lang))
        session.commit()


def test_today_says_how_many_wait_since_when_and_why(world: ConsoleWorld) -> None:
    _language(world, "en")
    html = world.client("viewer").get("/").text
    start = html.index('class="today-summary"')
    tiles = page_text(html[start : html.index("</ul>", start)])
    assert "3 member notices waiting too long" in tiles
    text = page_text(section(html, "notices"))
    assert "Not sent more than 60 minutes after they were queued: 3" in text
    assert "the oldest since Sat, 5 Dec 2026 09.00" in text  # NOW - 1 h, in WIB
    assert "Last reason: SMTP server smtp.gmial.invalid:" in text
    assert "not reachable: the name smtp.gmial.invalid is not known (DNS: " in text
    assert "check notices.smtp_host" in text
    assert "Dropped in the last 7 days because their moment had passed: 1" in text
    assert PASSWORD not in html


def test_today_in_indonesian_and_quiet_when_nothing_waits(
    world: ConsoleWorld, engine: Engine
) -> None:
    html = world.client("viewer").get("/").text
    text = page_text(section(html, "notices"))
    assert "Belum terkirim lebih dari 60 menit setelah masuk antrean: 3" in text
    assert "smtp.gmial.invalid" in text
    with Session(engine) as session:
        session.execute(update(Notice).values(state="sent"))
        session.commit()
    html = world.client("viewer").get("/").text
    assert 'id="notices"' not in html and "waiting too long" not in html


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("width", [390, 1280])
def test_today_notices_in_chromium(
    sqlite_engine: Engine, sqlite_url: str, tmp_path: Path, width: int
) -> None:
    settings = _settings(sqlite_url, tmp_path)
    _seed(sqlite_engine, settings, tmp_path)
    with Session(sqlite_engine) as session:
        add_role_users(session)
        session.execute(update(StaffUser).values(language="id" if width < 800 else "en"))
        session.commit()
    with chromium() as browser, served_console(settings, clock=lambda: LATER) as url:
        _look(browser, url, width)


def _look(browser: Browser, url: str, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB")
    page = context.new_page()
    try:
        sign_in(page, url, USERS["viewer"], STAFF_PASSWORD)
        page.goto(f"{url}/", wait_until="load")
        OUTPUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUTPUT / f"today-notices-{width}.png"), full_page=True)
        panel = page.locator("section#notices")
        assert panel.is_visible() and "smtp.gmial.invalid" in panel.inner_text()
        panel.screenshot(path=str(OUTPUT / f"today-notices-panel-{width}.png"))
        assert sideways(page) == 0, f"Today scrolls sideways at {width} px"
    finally:
        context.close()
