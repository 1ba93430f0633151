"""The campaign report and the card preview sheet as staff see them: in a real browser.

Playwright for Python drives Debian's `chromium` (/usr/bin/chromium; never a downloaded browser
build, never `playwright install`). The pages are the demo's own: `ifn-campaign demo` runs in a
temporary folder, then its database is given a post in every PostState and the report is made
again the way the demo makes it. In each page, every text (text nodes, generated content,
markers, placeholders, alt text) must have a WCAG contrast of at least 4.5:1 against what is
drawn under it (computed in the page: CONTRAST_JS in tests/support/page_checks.py), post panels
stay light, and at a phone's width (390 px) nothing makes the page scroll sideways.
Every request that is not file:// or 127.0.0.1 is blocked, and the pages make none.

Screenshots (full pages at 1280 and 390 px, one panel per state; the preview sheet with its first
SHEET_SHOT_MEMBERS members) go to tests/output/browser/ (git-ignored), to be looked at. Missing
chromium or playwright FAILS the test (`make test` installs both); IFN_BROWSER_TESTS=0 skips it
on a machine that cannot run a browser.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.config import PlannerSettings, Settings
from ifn_campaign.models import PostState
from ifn_campaign.reports.page import collect, when, write_html
from ifn_sandbox.demo import DEMO_WEEKS
from tests.support.browser import chromium
from tests.support.demo import DemoRun, run_demo
from tests.support.page_checks import (
    MIN_CONTRAST,
    broken_images,
    contrast_rows,
    low_contrast,
    outside_charts,
    sideways,
    svg_text_contrast,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# the first test also waits for the demo (30 s on a quiet machine, 2 min on a loaded one)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

OUTPUT = Path(__file__).resolve().parents[1] / "output" / "browser"
PIXEL = (  # a 1x1 PNG: a photo under text
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
DESKTOP, PHONE = 1280, 390
SHOT_TIMEOUT_MS = 120_000
# The demo's preview sheet (60 members, 360 cards) is some 66,000 px tall and a full-page shot of
# it takes a minute: it is checked whole, and photographed with its first members only.
SHEET_SHOT_MEMBERS = 4
ZONE = PlannerSettings.model_fields["display_timezone"].default
DEMO_CLOCK = "the demo's clock, moved forward"


@dataclass
class Opened:
    page: Page
    blocked: list[str]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium under Playwright; missing either fails (IFN_BROWSER_TESTS=0 skips)."""
    with chromium() as launched:
        yield launched


def _open(browser: Browser, page_file: Path, width: int) -> Opened:
    """The page in a fresh context `width` px wide; requests off this machine are blocked and
    recorded. Every <details> is opened so captions are checked too."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    blocked: list[str] = []

    def guard(route: Any) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme == "file" or (
            parts.scheme in ("http", "https") and parts.hostname == "127.0.0.1"
        ):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.goto(page_file.resolve().as_uri(), wait_until="load")
    page.evaluate("() => document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    page.evaluate(
        "() => Promise.all([...document.images].map((i) => { i.loading = 'eager';"
        " return i.complete ? null : new Promise((ok) => { i.onload = i.onerror = ok; }); }))"
    )
    return Opened(page, blocked)


# --- the checker itself ---------------------------------------------------------------------


def _wcag(fg: tuple[float, ...], bg: tuple[float, ...]) -> float:
    """WCAG 2.x contrast of two sRGB colours (0-255), to check the page's arithmetic."""

    def luminance(c: tuple[float, ...]) -> float:
        lin = [
            v / 255 / 12.92 if v / 255 <= 0.04045 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in c
        ]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _over(top: tuple[float, ...], alpha: float, base: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(t * alpha + b * (1 - alpha) for t, b in zip(top, base, strict=True))


def test_the_contrast_check_catches_what_it_must(browser: Browser) -> None:
    """The old bug (labels keeping their grey and dark colours on a dark-green panel) and faint
    text are caught; alpha, opacity and gradient stops are composited as the browser does; and
    so is text that is not a text node or not over its ancestors: generated content, markers,
    placeholders, a broken image's alt text, a link, text over a positioned sibling's background
    (even one hit testing skips) or over a photo, colours in any CSS syntax."""
    white, ink, teal = (255, 255, 255), (26, 26, 31), (14, 74, 85)
    page = browser.new_page()
    try:
        page.set_content(
            """<style>
              .tag::before { content: "BARU "; color: #aaa; }
              .pill::after { content: "ok"; color: #fff; background: #0E4A55; }
              input.faint::placeholder { color: #bbb; }
              li.pale::marker { color: #ccc; }
            </style>
            <body style="background:#fff;margin:0">
            <article style="background:#3B6B3E;color:#fff"><h3 style="color:#07303A">Name</h3>
              <small style="color:#5F5A53">ifn-0001</small><p>white on green</p></article>
            <p style="color:#999">faint grey</p>
            <div style="opacity:.3"><p style="color:#000">faded black</p></div>
            <header style="background:linear-gradient(#fff,#0E4A55);color:#fff">
              <p>half on white</p></header>
            <p style="color:rgba(26,26,31,.5)">half-transparent ink</p>
            <p style="color:#1A1A1F;background:rgba(14,74,85,.8)">ink on teal at 80 %</p>
            <div style="background:#0E4A55"><p style="opacity:.9;color:#fff">white at 90 %</p></div>
            <p class="tag">generated before</p>
            <p class="pill">pill after</p>
            <input class="faint" placeholder="faint placeholder">
            <ul><li class="pale">pale marker</li></ul>
            <p><a href="#x" style="color:#aaa">faint link</a></p>
            <div style="position:relative;height:40px">
              <div style="position:absolute;inset:0;background:#0E4A55;pointer-events:none"></div>
              <p style="position:relative;margin:0;color:#1A1A1F">ink over a dark sibling</p></div>
            <div style="position:relative;height:40px">
              <img src="PIXEL" style="position:absolute;inset:0;height:40px">
              <p style="position:relative;margin:0;color:#fff">white over a photo</p></div>
            <div style="position:relative;height:40px">
              <img src="PIXEL" style="position:absolute;inset:0;height:40px">
              <span style="position:absolute;color:#fff;background:#1A1A1F">white pill</span>
            </div>
            <div style="background:oklch(0.3 0.05 200)">
              <p style="color:#1A1A1F">ink on oklch</p></div>
            <img alt="a card that is gone" src="gone.jpg" style="color:#ccc">
            <p style="color:#1A1A1F;-webkit-text-fill-color:#ccc">pale fill</p>
            <div style="position:relative"><p style="margin:0;color:#1A1A1F">ink under a scrim</p>
              <div style="position:absolute;inset:0;background:rgba(14,74,85,.8)"></div></div>
            <div style="filter:invert(1)"><p style="color:#1A1A1F">inverted ink</p></div>
            </body>""".replace("PIXEL", PIXEL)
        )
        found = contrast_rows(page)
    finally:
        page.close()
    rows = {r["text"]: r for r in found if r["what"] == "text"}
    assert rows["white on green"]["ratio"] == pytest.approx(6.25, abs=0.01)
    assert rows["Name"]["ratio"] < 3 and rows["ifn-0001"]["ratio"] < 3  # the panel bug
    assert rows["faint grey"]["ratio"] == pytest.approx(2.85, abs=0.01)
    faded = _over((0, 0, 0), 0.3, white)
    assert rows["faded black"]["ratio"] == pytest.approx(_wcag(faded, white), abs=0.01)
    assert rows["half on white"]["ratio"] == pytest.approx(1.0)  # the worst stop counts
    half_ink = _over(ink, 0.5, white)
    assert rows["half-transparent ink"]["ratio"] == pytest.approx(_wcag(half_ink, white), abs=0.01)
    behind = _over(teal, 0.8, white)
    assert rows["ink on teal at 80 %"]["ratio"] == pytest.approx(_wcag(ink, behind), abs=0.01)
    faded_white = _over(white, 0.9, teal)
    assert rows["white at 90 %"]["ratio"] == pytest.approx(_wcag(faded_white, teal), abs=0.01)
    assert rows["faint link"]["ratio"] == pytest.approx(_wcag((170,) * 3, white), abs=0.01)
    assert rows["ink over a dark sibling"]["ratio"] == pytest.approx(_wcag(ink, teal), abs=0.01)
    assert rows["white over a photo"]["ratio"] == 0 and "image" in rows["white over a photo"]["bg"]
    # a solid pill over the photo hides it: judged on the pill
    assert rows["white pill"]["ratio"] == pytest.approx(_wcag(white, ink), abs=0.01)
    assert rows["ink on oklch"]["ratio"] < 2  # a dark panel in oklch is not transparent
    assert rows["pale fill"]["ratio"] < 2  # chromium paints the fill colour, not `color`
    scrim = _wcag(_over(teal, 0.8, ink), _over(teal, 0.8, white))  # painted over text and ground
    assert rows["ink under a scrim"]["ratio"] == pytest.approx(scrim, abs=0.01)
    assert rows["inverted ink"]["ratio"] == 0 and "filter" in rows["inverted ink"]["bg"]
    other = {(r["what"], r["text"].strip()): r["ratio"] for r in found if r["what"] != "text"}
    assert other[("::before", "BARU")] == pytest.approx(_wcag((170,) * 3, white), abs=0.01)
    assert other[("::after", "ok")] == pytest.approx(_wcag(white, teal), abs=0.01)
    assert other[("::placeholder", "faint placeholder")] < 2
    assert other[("::marker", "disc")] < 2
    assert other[("alt", "a card that is gone")] < 2
    flagged = low_contrast(found).splitlines()
    assert len(flagged) == 18, "\n".join(flagged)
    assert not [f for f in flagged if "white on green" in f or "white at 90 %" in f]
    assert not [f for f in flagged if "'ok'" in f]


# --- the demo's pages -----------------------------------------------------------------------


@dataclass
class Demo:
    folder: Path  # var/demo of a fresh `ifn-campaign demo`
    as_of: datetime  # the demo's clock after publishing: the end of its window
    report: Path  # the report made again with a post in every state
    posts: dict[str, int]  # state -> a post in that state


# What staff read in a post waiting on them (the publisher writes such texts).
TROUBLE = {
    PostState.FAILED: (
        "(#10) Application does not have permission for this action: POST https://graph."
        "facebook.com/v21.0/17841400000000000/media_publish?creation_id=17895000000000000000",
        "give the token instagram_content_publish, then approve it again",
    ),
    PostState.NEEDS_REAUTH: (
        "Error validating access token: the session has been invalidated",
        "re-authorise the Facebook Page in Business Settings, then approve it again",
    ),
    PostState.MISSED: (
        "its slot passed 9 h ago (publish.max_lateness 6 h)",
        "ifn-campaign missed publish-now ID, move ID --at TIME, or cancel ID",
    ),
}

LONG_NAME = "UD.SepatuKulitAsliPengrajinCibaduyutKotaBandungJawaBaratIndonesia"


def _every_state(db: Path) -> dict[str, int]:
    """Give the demo's last posts every state but published (which the others keep), with the
    fields such posts have: no card before composed, no link unless published, what happened
    and what to do for the ones waiting on staff (an error quoting a long URL), a reason for the
    cancelled one, and one card file gone (its placeholder is text too). The member waiting on
    re-authorisation gets a name with no break in it, as registries hold (LONG_NAME)."""
    states = [s for s in PostState if s != PostState.PUBLISHED]
    with sqlite3.connect(db) as conn:
        ids = [  # the published window's posts (the staff-picks week after it is not in it)
            row[0]
            for row in conn.execute(
                "SELECT id FROM post WHERE campaign = 'sorotan-demo' ORDER BY slot_at, id"
            )
        ]
        assert len(ids) > len(states), ids
        chosen = dict(zip(states, ids[-len(states) :], strict=True))
        for state, post_id in chosen.items():
            error, action = TROUBLE.get(state, (None, None))
            conn.execute(
                "UPDATE post SET state = ?, permalink = NULL, published_at = NULL,"
                " remote_id = NULL, last_error = ?, error_action = ?, cancel_reason = ?"
                " WHERE id = ?",
                (
                    state.value,
                    error,
                    action,
                    "dibatalkan / cancelled: double booked"
                    if state == PostState.CANCELLED
                    else None,
                    post_id,
                ),
            )
            conn.execute("DELETE FROM feature WHERE post_id = ?", (post_id,))
            if state == PostState.PLANNED:
                conn.execute(
                    "UPDATE post SET card_path = NULL, thumbnail_path = NULL, caption = NULL,"
                    " title = NULL WHERE id = ?",
                    (post_id,),
                )
        conn.execute(
            "UPDATE post SET card_path = ? WHERE id = ?",
            (str(db.parent / "cards" / "gone.jpg"), chosen[PostState.COMPOSED]),
        )
        conn.execute(
            "UPDATE member SET business_name = ? WHERE id = (SELECT member_id FROM post"
            " WHERE id = ?)",
            (LONG_NAME, chosen[PostState.NEEDS_REAUTH]),
        )
        published = next(i for i in ids if i not in chosen.values())
    return {str(k): v for k, v in chosen.items()} | {PostState.PUBLISHED.value: published}


@pytest.fixture(scope="module")
def demo(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """`ifn-campaign demo` through the installed entry point (the session's run, copied), then a
    post in every state and the report made again with the demo's clock, as `_demo_report`
    makes it."""
    run = demo_run
    assert run.returncode == 0, (run.stdout[-2000:], run.stderr[-2000:])
    home = tmp_path_factory.mktemp("demo")
    if run.day_before == run.day_after:
        shutil.copytree(run.home, home, dirs_exist_ok=True)
    else:  # a run across midnight WIB plans from a day we cannot know: run again
        run = run_demo(home, timeout=240)
        assert run.returncode == 0, (run.stdout[-2000:], run.stderr[-2000:])
    day = run.day_before
    zone = ZoneInfo(ZONE)
    folder = home / "var" / "demo"
    as_of = datetime.combine(day, time(), zone) + timedelta(weeks=DEMO_WEEKS)  # plan_stage's end
    posts = _every_state(folder / "ifn-campaign.db")
    # card paths are stored relative to the data folder: the demo's working directory
    cwd = Path.cwd()
    os.chdir(home)
    try:
        with Session(store.open_store(f"sqlite:///{folder / 'ifn-campaign.db'}")) as session:
            report = collect(
                session,
                since=as_of - timedelta(weeks=DEMO_WEEKS),
                until=as_of,
                as_of=as_of,
                file=Settings(data_dir=folder).path,
            )
        page = write_html(
            report,
            home / "every-state",
            display_timezone=ZONE,
            made_at=datetime.now(UTC),
            data_clock=DEMO_CLOCK,
        )
    finally:
        os.chdir(cwd)
    assert {p.state for p in report.posts} == set(PostState)
    return Demo(folder, as_of, page, posts)


def _shoot(page: Page, name: str) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    target = OUTPUT / name
    page.screenshot(path=str(target), full_page=True, timeout=SHOT_TIMEOUT_MS)
    return target


def test_the_demos_own_report_reads_well_and_names_its_clock(browser: Browser, demo: Demo) -> None:
    """The page `ifn-campaign demo` wrote itself: every post published on the moved clock."""
    opened = _open(browser, demo.folder / "report" / "index.en.html", DESKTOP)
    try:
        rows = outside_charts(contrast_rows(opened.page))
        assert len(rows) > 100 and not low_contrast(rows), low_contrast(rows)
        assert not [t for t in svg_text_contrast(opened.page) if t[0] < MIN_CONTRAST]
        header = " ".join(opened.page.inner_text("header").split())
        assert f"Data as of {when(demo.as_of, ZoneInfo(ZONE))} ({DEMO_CLOCK}); made on " in header
        made = header.rsplit("made on ", 1)[1].rstrip(".")
        assert made.endswith(" WIB") and made != when(demo.as_of, ZoneInfo(ZONE))
        assert broken_images(opened.page) == []  # every card the page links is there
        _shoot(opened.page, "demo-report-1280.png")
        assert opened.blocked == []
    finally:
        opened.page.context.close()


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_every_state_reads_well_on_a_light_panel(browser: Browser, demo: Demo, width: int) -> None:
    opened = _open(browser, demo.report, width)
    page = opened.page
    try:
        rows = outside_charts(contrast_rows(page))
        assert not low_contrast(rows), (
            f"text under {MIN_CONTRAST}:1 at {width} px:\n{low_contrast(rows)}"
        )
        checked = {(r["panel"], r["classes"]) for r in rows}
        for state in PostState:
            panel = f"post-{demo.posts[state.value]}"
            assert (panel, f"state state-{state.value}") in checked, (state, panel)
            background = page.eval_on_selector(
                f"#{panel}", "(e) => getComputedStyle(e).backgroundColor"
            )
            assert background == "rgb(255, 255, 255)", (state, background)  # panels stay light
            badge = page.eval_on_selector(
                f"#{panel} .state", "(e) => [e.offsetWidth, e.offsetHeight, e.textContent]"
            )
            assert badge[2] == state.value and badge[1] < 30 and badge[0] < 150, badge  # a pill
        for state in (PostState.FAILED, PostState.NEEDS_REAUTH, PostState.MISSED):
            error, action = TROUBLE[state]
            panel = page.inner_text(f"#post-{demo.posts[state.value]}")
            assert error in panel and action in panel
        links = [r for r in rows if r["tag"] == "a"]
        assert links and all(r["ratio"] >= MIN_CONTRAST for r in links)
        assert sideways(page) == 0, f"the page scrolls sideways at {width} px"
        assert broken_images(page) == []  # the gone card is a placeholder, never a broken image
        _shoot(page, f"report-every-state-{width}.png")
        if width == DESKTOP:
            for state in PostState:
                page.locator(f"#post-{demo.posts[state.value]}").screenshot(
                    path=str(OUTPUT / f"panel-{state.value}.png")
                )
        assert opened.blocked == []
    finally:
        page.context.close()


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
def test_the_demos_preview_sheet_reads_well(browser: Browser, demo: Demo, width: int) -> None:
    sheet = demo.folder / "preview" / "preview.html"
    opened = _open(browser, sheet, width)
    page = opened.page
    try:
        rows = contrast_rows(page)
        assert len(rows) > 50 and not low_contrast(rows), low_contrast(rows)
        made = " ".join(page.inner_text("body > p").split())
        assert made.endswith(" WIB.") and "UTC" not in made, made
        assert broken_images(page) == []
        assert sideways(page) == 0, f"the sheet scrolls sideways at {width} px"
        page.evaluate(
            "(n) => [...document.querySelectorAll('body > section')].slice(n)"
            ".forEach((s) => s.remove())",
            SHEET_SHOT_MEMBERS,
        )
        _shoot(page, f"preview-{width}.png")
        assert opened.blocked == []
    finally:
        page.context.close()


def test_a_page_reaching_off_this_machine_is_blocked(browser: Browser, tmp_path: Path) -> None:
    """The route guard itself: a page asking for an outside font and image gets nothing."""
    page_file = tmp_path / "outside.html"
    page_file.write_text(
        '<link rel="stylesheet" href="https://fonts.example.com/css">'
        '<img src="http://203.0.113.9/x.png"><p>x</p>',
        encoding="utf-8",
    )
    opened = _open(browser, page_file, PHONE)
    try:
        assert sorted(opened.blocked) == [
            "http://203.0.113.9/x.png",
            "https://fonts.example.com/css",
        ]
    finally:
        opened.page.context.close()


def test_chromium_resolves_no_host_name(browser: Browser) -> None:
    """Below the route guard: with no route at all, a name (even localhost, which needs no
    network) does not resolve, while 127.0.0.1 is reached."""
    from playwright.sync_api import Error as PlaywrightError

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<p>here</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    context = browser.new_context()
    try:
        page = context.new_page()
        port = server.server_address[1]
        page.goto(f"http://127.0.0.1:{port}/")
        assert page.inner_text("p") == "here"
        with pytest.raises(PlaywrightError, match="ERR_NAME_NOT_RESOLVED"):
            page.goto(f"http://localhost:{port}/")
    finally:
        context.close()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("switch", ["on", "off"])
def test_a_machine_without_chromium_fails_unless_turned_off(switch: str, tmp_path: Path) -> None:
    """CI without chromium must go red, not skip quietly: the module run with a PATH that has
    no chromium fails and says how to install it; IFN_BROWSER_TESTS=0 skips instead."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IFN_")}
    env["PATH"] = str(Path(sys.executable).parent)  # the venv's tools, not /usr/bin/chromium
    if switch == "off":
        env["IFN_BROWSER_TESTS"] = "0"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
            "-k",
            "catches_what_it_must",
            str(Path(__file__)),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    if switch == "on":
        assert run.returncode != 0, run.stdout[-2000:]
        assert "chromium is not installed" in run.stdout and "1 error" in run.stdout, run.stdout
    else:
        assert run.returncode == 0 and "1 skipped" in run.stdout, run.stdout[-2000:]


# --- the set-up that installs chromium ------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
_FAKE_APT = """#!/bin/sh
echo "apt-get $*" >> "$LOG"
case "$1" in update) : > "$LOG.updated"; exit 0;; esac
[ -f "$LOG.updated" ] || exit 100  # a fresh image has no package lists yet
: > "$BIN/chromium"
case "$*" in *poppler-utils*) : > "$BIN/pdftoppm";; esac
exit 0
"""
_FAKE_SUDO = """#!/bin/sh
echo "sudo $*" >> "$LOG"
[ "$1" = -n ] && shift
exec "$@"
"""


def _make_n(target: str, tmp_path: Path) -> str:
    """What `make TARGET` would run from a fresh clone (no venv yet), as `make -n` prints it."""
    make = shutil.which("make")
    assert make, "make is missing (`make test` needs it)"
    return subprocess.run(
        [make, "-n", "--no-print-directory", "-C", str(ROOT), f"VENV={tmp_path / 'venv'}", target],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_make_test_installs_chromium_and_make_demo_does_not(tmp_path: Path) -> None:
    """The demo draws cards and writes pages; it needs no browser, so a newcomer's `make demo`
    never asks for sudo to install one. `make test` does install it (its `chromium` step)."""
    assert "apt-get install -y chromium" not in _make_n("demo", tmp_path)
    assert "apt-get install -y chromium" in _make_n("test", tmp_path)


def _install_step(source: str, tmp_path: Path) -> str:
    """The shell that installs chromium when missing: the Makefile's `chromium` step (which
    `make test` runs) as `make -n` prints it, or .ci/run's block."""
    if source == "make":
        return _make_n("chromium", tmp_path)
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    start = script.index('if [ "${IFN_BROWSER_TESTS:-1}" != 0 ]')
    return script[start : script.index("\nfi\n", start) + 4]


@pytest.mark.parametrize("source", ["make", "ci"])
@pytest.mark.parametrize(
    "machine",
    ["user with sudo", "root", "user without sudo", "has chromium", "has both", "turned off"],
)
def test_the_set_up_installs_debians_chromium_when_missing(
    source: str, machine: str, tmp_path: Path
) -> None:
    """From a fresh clone on a machine without chromium, `make` and .ci/run install Debian's
    package with apt-get (updating the package lists when the first try finds none; as root, or
    through sudo, which CI runs with -n so it never waits for a password), never a downloaded
    browser build; without root or sudo they stop with the command to run. Run with stand-in
    id, sudo and apt-get on a PATH of their own."""
    bin_dir, log = tmp_path / "bin", tmp_path / "log"
    bin_dir.mkdir()
    tools = {"apt-get": _FAKE_APT, "id": f"#!/bin/sh\necho {0 if machine == 'root' else 1000}\n"}
    if machine == "user with sudo":
        tools["sudo"] = _FAKE_SUDO
    if machine in ("has chromium", "has both"):
        tools["chromium"] = "#!/bin/sh\n"
    if machine == "has both":
        tools["pdftoppm"] = "#!/bin/sh\n"
    for name, text in tools.items():
        (bin_dir / name).write_text(text, encoding="utf-8")
        (bin_dir / name).chmod(0o755)
    env = {"PATH": str(bin_dir), "LOG": str(log), "BIN": str(bin_dir), "HOME": str(tmp_path)}
    if machine == "turned off":
        env["IFN_BROWSER_TESTS"] = "0"
    step = _install_step(source, tmp_path)
    shell = (
        ["/bin/sh", "-c", step]
        if source == "make"
        else ["/bin/bash", "-c", f"set -euo pipefail\n{step}"]
    )
    run = subprocess.run(shell, env=env, capture_output=True, text=True, timeout=60)
    calls = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    assert not [c for c in calls if "playwright" in c or "wget" in c or "curl" in c]
    if machine in ("has both", "turned off"):
        assert run.returncode == 0 and calls == [], (calls, run.stderr)
    elif machine in ("user without sudo", "has chromium"):  # poppler-utils still missing
        assert run.returncode != 0 and calls == []
        assert "apt-get install -y chromium" in run.stderr and "not root" in run.stderr
    else:
        assert run.returncode == 0, run.stderr
        assert (bin_dir / "chromium").exists()
        assert (bin_dir / "pdftoppm").exists()  # poppler-utils: the report's PDF test
        sudo = {
            "root": "",
            "user with sudo": "sudo -n " if source == "ci" else "sudo ",
        }[machine]
        installs = [c for c in calls if c.startswith(sudo + "apt-get")]
        assert installs == [
            f"{sudo}apt-get install -y chromium poppler-utils",
            f"{sudo}apt-get update",
            f"{sudo}apt-get install -y chromium poppler-utils",
        ], calls
