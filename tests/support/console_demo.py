"""The staff console on a copy of `ifn-campaign demo`'s data, for the browser tests
(tests/console/test_browser.py) and the README's screenshots (docs/make_images.py).

The demo leaves the posts of its staff-picks campaign composed and waiting for review in the
week after its published window, and a console admin with a random password. Here that admin
gets a known password, and the console a clock in that week: the morning of the first post
waiting, moving on from there as time passes (the published window is then the past, as after
a real fortnight, and Today has a post going out).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ifn_campaign.config import Settings, load_settings
from ifn_campaign.console.users import set_password
from ifn_campaign.models import Post, PostState, utcnow
from ifn_campaign.wiring import Resources
from ifn_sandbox.demo import CONSOLE_USER, REVIEW_CAMPAIGN

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = [
    "CONSOLE_USER",
    "PASSWORD",
    "REVIEW_CAMPAIGN",
    "copy_demo",
    "demo_clock",
    "review_posts",
    "sign_in",
]

PASSWORD = "sepatu-kulit-cibaduyut-demo"  # the demo admin's password in a copy
MORNING = time(7, 0)  # the console's clock starts at this hour (display zone) of the first post


def copy_demo(folder: Path, target: Path) -> Settings:
    """The demo's data folder (`var/demo` of a run) copied to `target`, its settings file
    pointing at the copy, and the demo admin's password set to PASSWORD: the settings."""
    shutil.copytree(folder, target)
    settings_file = target / "ifn-campaign.toml"
    text = settings_file.read_text(encoding="utf-8")
    settings_file.write_text(text.replace(str(folder.resolve()), str(target.resolve())))
    settings = load_settings(settings_file)
    with Resources(settings) as resources, resources.session() as session:
        set_password(session, CONSOLE_USER, PASSWORD, now=utcnow())
        session.commit()
    return settings


def review_posts(settings: Settings) -> list[Post]:
    """The staff-picks campaign's posts waiting for review, in slot order."""
    with Resources(settings) as resources, resources.session() as session:
        posts = list(
            session.scalars(
                select(Post)
                .where(Post.campaign == REVIEW_CAMPAIGN, Post.state == PostState.COMPOSED)
                .order_by(Post.slot_at, Post.id)
            )
        )
        session.expunge_all()
    return posts


def demo_clock(settings: Settings) -> Callable[[], datetime]:
    """A clock starting at MORNING (display zone) of the first post waiting for review and
    running from there at the wall clock's pace."""
    first = review_posts(settings)[0].slot_at
    local = first.astimezone(ZoneInfo(settings.planner.display_timezone))
    start = datetime.combine(local.date(), MORNING, local.tzinfo).astimezone(UTC)
    began = utcnow()
    return lambda: start + (utcnow() - began)


def sign_in(page: Page, base_url: str, name: str = CONSOLE_USER, password: str = PASSWORD) -> None:
    """Sign in through the login form, as staff do, and wait for the page it leads to."""
    page.goto(f"{base_url}/login", wait_until="load")
    page.fill("#name", name)
    page.fill("#password", password)
    with page.expect_navigation(wait_until="load"):
        page.click("form[action='/login'] [type=submit]")
    assert "/login" not in page.url, page.url
