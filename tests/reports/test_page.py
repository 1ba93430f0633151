"""The campaign report on real data: the sample registry synced, a campaign planned by the planner
(with its real reasons), cards and captions composed, one post published to the platform sandbox
(permalink and ledger entry), one failed on a missing permission, one scheduled natively on
Facebook, one cancelled, one whose card file was deleted, the rest still planned. One member's
name, city and province are hostile. Every test reads that one database."""

from __future__ import annotations

import html
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest
from markupsafe import escape
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ifn_campaign import store
from ifn_campaign.captions.writer import CaptionWriter
from ifn_campaign.cards.brand import BrandKit
from ifn_campaign.cards.render import Renderer
from ifn_campaign.cards.template import load_all
from ifn_campaign.cli import base
from ifn_campaign.cli.app import main
from ifn_campaign.config import Settings
from ifn_campaign.models import Feature, Member, Post, PostState
from ifn_campaign.planner.plan import plan_campaign
from ifn_campaign.posts import ledger
from ifn_campaign.posts.compose import compose_posts
from ifn_campaign.posts.lifecycle import move
from ifn_campaign.publishing.publisher import Publisher
from ifn_campaign.reports.markdown import escape_markdown
from ifn_campaign.reports.page import (
    REPORT_TEMPLATES,
    CampaignReport,
    card_links,
    collect,
    posts_table,
    summary_markdown,
    when,
    write_html,
)
from ifn_sandbox.graph import GraphAccount
from ifn_sandbox.platforms import PlatformSandboxes
from tests.support.colour import contrast
from tests.support.planning import LIMITS, OFF
from tests.support.publishing import campaign

NOW = datetime.now(UTC)
JAKARTA = ZoneInfo("Asia/Jakarta")
SINCE, UNTIL = NOW - timedelta(days=3), NOW + timedelta(days=3)
HOSTILE_NAME = (
    '<script>alert("x")</script> Sepatu "Kulit" \'Jaya\' | *tebal* [klik](javascript:alert(1)) '
    "\u202eكرامة أحذية\u202c 👟🇮🇩 " + "Panjang" * 60
)
HOSTILE_CITY = "<img src=x onerror=alert(1)>"
HOSTILE_PROVINCE = "Jawa | Timur <b>"


@dataclass
class Scenario:
    url: str
    folder: Path
    posts: dict[str, int]  # role -> post id
    hostile: str  # the hostile member's id


def _session(scenario: Scenario) -> Session:
    return Session(store.open_store(scenario.url))


@pytest.fixture(scope="module")
def scenario(
    synced_db: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Scenario]:
    folder = tmp_path_factory.mktemp("report")
    with sqlite3.connect(synced_db / "ifn.db") as src, sqlite3.connect(folder / "ifn.db") as dst:
        src.backup(dst)
    url = f"sqlite:///{folder / 'ifn.db'}"
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    c = campaign(
        channels=[
            {"channel": "instagram", "slots": [{"days": every_day, "time": "19:00"}]},
            {"channel": "facebook", "slots": [{"days": every_day, "time": "12:00"}]},
        ],
        diversity={"max_in_a_row": OFF, "max_per_week": OFF},
    )
    base_settings = Settings(database={"url": url}, media={"dir": synced_db / "media"})
    brand = BrandKit.load()
    with PlatformSandboxes(folder / "cards", container_ready_after=0.0) as platforms:
        cfg = platforms.settings(base_settings)
        # the scenario publishes days-old slots after the fact: no lateness cut-off for it
        late_ok = cfg.publish.model_copy(update={"max_lateness": timedelta(days=30)})
        cfg = cfg.model_copy(update={"publish": late_ok})
        engine: Engine = store.open_store(url)
        renderer = Renderer(brand, load_all(palette=brand.palette), cfg.cards.cache_dir)
        with Session(engine) as session:
            plan_campaign(session, c, LIMITS, SINCE, UNTIL, SINCE)
            session.commit()
            posts = session.scalars(select(Post).order_by(Post.slot_at, Post.id)).all()
            ig_past = [p for p in posts if p.channel == "instagram" and p.slot_at < NOW]
            ig_future = [p for p in posts if p.channel == "instagram" and p.slot_at > NOW]
            fb_later = [
                p for p in posts if p.channel == "facebook" and p.slot_at > NOW + timedelta(hours=1)
            ]
            roles = {
                "published": ig_past[0].id or 0,
                "failed": ig_past[1].id or 0,
                "scheduled": fb_later[0].id or 0,
                "missing_card": ig_future[0].id or 0,
                "cancelled": ig_future[1].id or 0,
            }
            hostile = session.get(Member, ig_past[0].member_id)
            assert hostile is not None
            hostile_id = hostile.id
            hostile.business_name, hostile.city = HOSTILE_NAME, HOSTILE_CITY
            hostile.province = HOSTILE_PROVINCE
            session.commit()
            composed = [roles[r] for r in ("published", "failed", "scheduled", "missing_card")]
            result = compose_posts(
                session,
                renderer,
                CaptionWriter(),
                {c.name: c},
                SINCE - timedelta(days=1),
                stored=str,
                file=Path,
                post_ids=composed,
            )
            assert sorted(result.composed) == sorted(composed), result
            cancelled = session.get(Post, roles["cancelled"])
            assert cancelled is not None
            move(
                session,
                cancelled,
                PostState.CANCELLED,
                actor="staff:test",
                now=NOW,
                note="dibatalkan / cancelled: <b>double booked</b>",
            )
            for role in ("published", "scheduled"):
                post = session.get(Post, roles[role])
                assert post is not None
                move(session, post, PostState.APPROVED, actor="staff:test", now=NOW)
            session.commit()
            missing = session.get(Post, roles["missing_card"])
            assert missing is not None and missing.card_path
            Path(missing.card_path).unlink()
        first = Publisher(engine, cfg, clock=lambda: NOW).run()
        assert first.published == [roles["published"]] and not first.failed, first
        with Session(engine) as session:  # then the token loses its publishing permission
            failing = session.get(Post, roles["failed"])
            assert failing is not None
            move(session, failing, PostState.APPROVED, actor="staff:test", now=NOW)
            session.commit()
        account = GraphAccount()
        platforms.graph.add_token(
            account.token, [account.page_id, account.ig_user_id], scopes=["instagram_basic"]
        )
        second = Publisher(engine, cfg, clock=lambda: NOW).run()
        assert [pid for pid, _ in second.failed] == [roles["failed"]], second
        engine.dispose()
    yield Scenario(url, folder, roles, hostile_id)


@pytest.fixture(scope="module")
def report(scenario: Scenario) -> CampaignReport:
    with _session(scenario) as session:
        return collect(session, since=SINCE, until=UNTIL, as_of=NOW, file=Path)


def _page(report: CampaignReport, out_dir: Path, zone: str = "Asia/Jakarta") -> str:
    """The English page (these checks read its words; test_monthly.py checks both)."""
    page = write_html(report, out_dir, display_timezone=zone, made_at=NOW, lang="en")
    return page.read_text(encoding="utf-8")


@pytest.mark.slow
def test_every_post_is_in_the_report_with_its_reason_state_and_link(
    scenario: Scenario, report: CampaignReport, tmp_path: Path
) -> None:
    with _session(scenario) as session:
        stored = session.scalars(select(Post).order_by(Post.slot_at, Post.id)).all()
        members = {m.id: m for m in session.scalars(select(Member))}
    assert [p.post_id for p in report.posts] == [p.id for p in stored]
    lines = {line.post_id: line for line in report.posts}
    published = lines[scenario.posts["published"]]
    assert published.state == PostState.PUBLISHED
    assert published.permalink and published.permalink.startswith("https://")
    assert published.published_at is not None
    failed = lines[scenario.posts["failed"]]
    assert failed.state == PostState.FAILED and failed.needs_staff
    assert failed.last_error and "instagram_content_publish" in failed.last_error
    assert failed.error_action
    assert report.failures == [failed]
    assert lines[scenario.posts["scheduled"]].state == PostState.SCHEDULED
    cancelled = lines[scenario.posts["cancelled"]]
    assert cancelled.cancel_reason and "double booked" in cancelled.cancel_reason
    assert sum(report.by_state.values()) == len(stored) == sum(report.by_channel.values())
    assert list(report.by_state) == [s for s in PostState if s in report.by_state]  # in order
    assert report.by_state[PostState.PUBLISHED] == report.by_state[PostState.FAILED] == 1
    for line in report.posts:
        assert line.business_name == members[line.member_id].business_name
        assert line.reason_id and line.reason_en and line.reason_id != line.reason_en
        if line.state not in (PostState.FAILED, PostState.NEEDS_REAUTH):
            assert line.last_error is None and line.error_action is None

    page = _page(report, tmp_path / "out")
    indonesian = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    for line in report.posts:
        article = page.split(f'<article id="post-{line.post_id}"', 1)[1].split("</article>")[0]
        assert str(escape(line.reason_en)) in article  # each page in its language
        assert str(escape(line.reason_id)) not in article
        in_id = indonesian.split(f'<article id="post-{line.post_id}"', 1)[1].split("</article>")
        assert str(escape(line.reason_id)) in in_id[0]
        assert f'state state-{line.state}">{line.state}<' in article
    assert f'href="{escape(published.permalink)}"' in page
    failures = page.split("Failures and what was done")[1].split("Members featured")[0]
    assert str(escape(failed.last_error)) in failures
    assert str(escape(failed.error_action)) in failures
    assert "&lt;b&gt;double booked&lt;/b&gt;" in page

    table = posts_table(report)
    assert [row["post"] for row in table] == [str(p.post_id) for p in report.posts]
    assert set(table[0]) == {
        "post",
        "member",
        "channel",
        "time",
        "state",
        "alasan",
        "reason",
        "permalink",
    }
    row = next(r for r in table if r["post"] == str(published.post_id))
    assert row["permalink"].startswith("[instagram](https://") and row["permalink"].endswith(")")
    assert urlsplit(row["permalink"][len("[instagram](") : -1]).path == (
        urlsplit(published.permalink).path
    )
    markdown = summary_markdown(report)
    assert "## Failures: what to do" in markdown
    assert escape_markdown(failed.error_action) in markdown
    assert "instagram\\_content\\_publish" in markdown


def test_cards_are_linked_where_they_lie_and_a_missing_one_is_a_placeholder(
    scenario: Scenario, report: CampaignReport, tmp_path: Path
) -> None:
    out_dir = tmp_path / "elsewhere" / "report"
    page = _page(report, out_dir)
    assert not (out_dir / "cards").exists() and sorted(p.name for p in out_dir.iterdir()) == [
        "index.en.html",
        "index.html",
    ]  # nothing copied
    sources = re.findall(r'<img src="([^"]+)"', page)
    lines = {line.post_id: line for line in report.posts}
    with_cards = [
        line
        for line in report.posts
        if line.card_path and line.post_id != scenario.posts["missing_card"]
    ]
    assert len(sources) == len(with_cards) == 3
    for src, line in zip(sources, with_cards, strict=True):
        assert src.startswith("../../")  # relative to the page, not absolute
        assert (out_dir / unquote(src)).resolve() == Path(line.card_path or "").resolve()
    missing = lines[scenario.posts["missing_card"]]
    article = page.split(f'<article id="post-{missing.post_id}"')[1].split("</article>")[0]
    assert "card file missing" in article and str(escape(missing.card_path)) in article
    assert "<img" not in article
    planned = next(line for line in report.posts if line.state == PostState.PLANNED)
    article = page.split(f'<article id="post-{planned.post_id}"')[1].split("</article>")[0]
    assert "no card yet (planned)" in article
    assert "<script" not in page and "http://" not in page.split("<main>")[0]  # self-contained
    outside_charts = re.sub(r"<svg.*?</svg>", "", page, flags=re.S)  # url(#id): the chart's own
    assert "@import" not in page and "<link" not in page and "url(" not in outside_charts
    assert "--primary: #0E4A55" in page  # the brand palette

    links = card_links(report)
    for line in with_cards:
        uri = Path(line.card_path or "").resolve().as_uri()
        assert f"[card]({uri})" in links
        assert Path(unquote(urlsplit(uri).path)).is_file()
    assert f"card file missing ({escape_markdown(missing.card_path or '')})" in links


def test_a_state_colours_its_badge_never_a_panel() -> None:
    """Every state has its colours, and a `.state-<state>` rule only sets colour variables: the
    badge and the panel's edge use them, the panel stays white (a state once painted whole panels
    dark green under grey and dark text). Badge text passes 4.5:1 on its badge. A check without
    a browser; tests/reports/test_pages_browser.py measures the rendered page."""
    page = (REPORT_TEMPLATES / "report.html.j2").read_text(encoding="utf-8")
    css = page.split("<style>", 1)[1].split("</style>", 1)[0]
    css = re.sub(r"\{%.*?%\}|\{\{.*?\}\}|/\*.*?\*/", "", css, flags=re.S)  # Jinja, comments
    palette = {f"--{k.replace('_', '-')}": v for k, v in BrandKit.load().palette.items()}

    def colour(value: str) -> str:
        named = re.fullmatch(r"var\((--[a-z-]+)\)", value)
        return palette[named.group(1)] if named else value

    states: dict[str, dict[str, str]] = {}
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declared = dict(
            (name.strip(), value.strip())
            for name, value in (d.split(":", 1) for d in body.split(";") if d.strip())
        )
        named = re.findall(r"\.state-([a-z_]+)", selector)
        if named:
            assert all(name.startswith("--") for name in declared), (selector, declared)
            for state in named:
                states.setdefault(state, {}).update(declared)
    assert set(states) == {s.value for s in PostState}
    for state, declared in states.items():
        fg, bg = colour(declared["--state-fg"]), colour(declared["--state-bg"])
        assert contrast(fg, bg) >= 4.5, (state, fg, bg, contrast(fg, bg))
        assert "--state-edge" in declared, state
    article = re.search(r"\barticle \{([^}]*)\}", css)
    assert article and "background: var(--panel)" in article.group(1)
    assert "--panel: #FFFFFF" in css


def test_hostile_member_text_is_escaped_in_html_and_markdown(
    scenario: Scenario, report: CampaignReport, tmp_path: Path
) -> None:
    page = _page(report, tmp_path)
    assert "<script>" not in page and "<img src=x" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert f"<h3><bdi>{escape(HOSTILE_NAME)}</bdi></h3>" in page  # whole, and isolated
    assert f"<bdi>{escape(HOSTILE_CITY)}, {escape(HOSTILE_PROVINCE)}</bdi>" in page
    assert "👟🇮🇩" in page
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs and not [h for h in hrefs if "javascript" in h.lower()]
    outside_charts = re.findall(r'href="([^"]*)"', re.sub(r"<svg.*?</svg>", "", page, flags=re.S))
    assert all(h.startswith(("https://", "../")) or h == "index.html" for h in outside_charts)
    alt = re.findall(r'alt="([^"]*)"', page)
    assert any("&lt;script&gt;" in a for a in alt)

    name = escape_markdown(HOSTILE_NAME, isolate=True)
    for text in (summary_markdown(report), card_links(report)):
        assert "<script>" not in text and "<img" not in text
        assert not re.search(r"(?<!\\)\]\(javascript", text)
    assert "\\[klik\\](javascript" in card_links(report)
    table = posts_table(report)
    row = next(r for r in table if r["post"] == str(scenario.posts["published"]))
    assert row["member"] == f"{name} ({escape_markdown(scenario.hostile)})"
    assert "\\<script\\>" in row["member"] and "\\|" in row["member"] and "\\[klik\\]" in name
    assert row["member"].count("\u202e") == 1 and name.startswith("\u2068")
    assert name.endswith("\u2069")  # the override cannot leak past the isolate
    markdown = summary_markdown(report)
    assert escape_markdown(HOSTILE_PROVINCE, isolate=True) in markdown  # the ledger's province
    for table_block in markdown.split("\n\n"):  # no member text opens or closes a column
        rows = [r for r in table_block.splitlines() if r.startswith("|")]
        if rows:
            cells = {len(re.findall(r"(?<!\\)\|", r)) for r in rows}
            assert len(cells) == 1, table_block


def test_times_are_shown_in_the_display_time_zone(report: CampaignReport, tmp_path: Path) -> None:
    line = report.posts[0]
    wib = line.slot_at.astimezone(JAKARTA)
    utc = line.slot_at.astimezone(UTC)
    page = _page(report, tmp_path / "wib")
    article = page.split(f'<article id="post-{line.post_id}"')[1].split("</article>")[0]
    assert f"{wib:%a %Y-%m-%d %H:%M} WIB" in article
    assert f"{utc:%Y-%m-%d %H:%M}" not in article
    assert "Times shown in WIB (Asia/Jakarta)" in page
    row = posts_table(report)[0]
    assert row["time"] == f"{wib:%a %Y-%m-%d %H:%M} WIB"
    assert f"{SINCE.astimezone(JAKARTA):%Y-%m-%d %H:%M} WIB" in summary_markdown(report)

    amsterdam = ZoneInfo("Europe/Amsterdam")
    local = line.slot_at.astimezone(amsterdam)
    other = _page(report, tmp_path / "ams", "Europe/Amsterdam")
    assert f"{local:%a %Y-%m-%d %H:%M} {local.tzname()}" in other and " WIB" not in other
    table = posts_table(report, display_timezone="Europe/Amsterdam")
    assert table[0]["time"].endswith(str(local.tzname()))


def test_the_page_says_when_it_was_made_and_when_its_data_clock_differs(
    scenario: Scenario, report: CampaignReport, tmp_path: Path
) -> None:
    """The demo publishes on a clock moved forward: its page must not pass that clock off as the
    time it was made, and the waits are measured on the data clock, not the wall clock."""
    from ifn_campaign.errors import IFNError

    ahead = NOW + timedelta(days=12)
    with _session(scenario) as session:
        moved = collect(session, since=SINCE, until=UNTIL, as_of=ahead, file=Path)
    made = NOW + timedelta(minutes=2)
    target = write_html(
        moved,
        tmp_path / "demo",
        display_timezone="Asia/Jakarta",
        made_at=made,
        data_clock="the demo's clock, moved forward",
        lang="en",
    )
    page = " ".join(html.unescape(target.read_text(encoding="utf-8")).split())
    as_of, made_text = when(ahead, JAKARTA), when(made, JAKARTA)
    assert made_text.endswith(" WIB") and as_of.endswith(" WIB")
    line = f"Data as of {as_of} (the demo's clock, moved forward); made on {made_text}."
    assert page.count(line) == 1
    header = page.split("</header>", 1)[0]
    assert f"Longest waiting (as of {as_of})" in page and header.count(made_text) == 1
    for wait in moved.ledger.fairness_gap:  # waits are measured on the data clock
        assert wait.days == max((ahead - wait.waiting_since).days, 0)
    assert (moved.ledger.gap_days or 0) >= 11  # twelve days on, less the sync's few seconds
    unnamed = write_html(
        moved, tmp_path / "x", display_timezone="Asia/Jakarta", made_at=made, lang="en"
    )
    assert f"Data as of {as_of} (the data's clock); made on" in html.unescape(
        unnamed.read_text(encoding="utf-8")
    )

    same = " ".join(_page(report, tmp_path / "same").split())  # one clock: no such line
    assert "Data as of" not in same and f"made {when(NOW, JAKARTA)}" in same
    assert "Data recorded up to" not in same
    with pytest.raises(IFNError, match=r"made_at .* time zone"):
        write_html(report, tmp_path / "naive", display_timezone="UTC", made_at=datetime(2026, 1, 1))


def test_a_wall_clock_page_over_data_from_a_moved_clock_says_so(
    scenario: Scenario, tmp_path: Path
) -> None:
    """`ifn-campaign report` after the demo: the page is made on the wall clock, but the demo
    published on its clock moved weeks ahead. A page listing publications later than the time
    it was made says so (once, with that time), instead of showing them without a word."""
    with _session(scenario) as session:
        latest = session.scalar(select(func.max(Post.published_at)))
        assert latest is not None
        made = latest - timedelta(hours=1)  # as if the publisher's clock ran an hour ahead
        earlier = collect(session, since=SINCE, until=UNTIL, as_of=made, file=Path)
        after = collect(session, since=SINCE, until=UNTIL, as_of=latest, file=Path)
    assert earlier.recorded_until == latest
    target = write_html(
        earlier, tmp_path / "w", display_timezone="Asia/Jakarta", made_at=made, lang="en"
    )
    page = " ".join(html.unescape(target.read_text(encoding="utf-8")).split())
    made_text = when(made, JAKARTA)
    line = (
        f"Data recorded up to {when(latest, JAKARTA)}, later than this page was made "
        f"({made_text}): the data was made on a clock moved forward"
    )
    assert page.count(line) == 1 and "Data as of" not in page
    assert page.split("</header>", 1)[0].count(made_text) == 1
    # made once the publication happened: one clock, no such line
    same = write_html(
        after, tmp_path / "s", display_timezone="Asia/Jakarta", made_at=latest, lang="en"
    )
    same_page = same.read_text(encoding="utf-8")
    assert "Data recorded up to" not in same_page and "Data as of" not in same_page


def test_ledger_numbers_are_the_ledgers(scenario: Scenario, report: CampaignReport) -> None:
    led = report.ledger
    with _session(scenario) as session:
        assert led.by_province == ledger.features_by(session, "province", SINCE, UNTIL)
        assert led.by_category == ledger.features_by(session, "category", SINCE, UNTIL)
        assert led.by_actor_type == ledger.features_by(session, "actor_type", SINCE, UNTIL)
        assert led.never_featured == len(ledger.never_featured(session, now=report.as_of))
        assert led.fairness_gap == ledger.fairness_gap(session, report.as_of, limit=10)
        features = session.scalar(
            select(func.count())
            .select_from(Feature)
            .where(Feature.featured_at >= SINCE, Feature.featured_at < UNTIL)
        )
    assert led.features == features == 1
    assert [(t.value, t.count) for t in led.by_province] == [(HOSTILE_PROVINCE, 1)]
    assert led.never_featured > 0 and led.gap_days is not None
    assert led.gap_days == led.fairness_gap[0].days
    markdown = summary_markdown(report)
    assert f"1 feature in the window; {led.never_featured} members never featured" in markdown
    assert f"fairness gap {led.gap_days} days" in markdown


def test_an_empty_window_is_a_valid_report(scenario: Scenario, tmp_path: Path) -> None:
    long_ago = datetime(2001, 1, 1, tzinfo=JAKARTA)
    with _session(scenario) as session:
        empty = collect(
            session, since=long_ago, until=long_ago + timedelta(days=30), as_of=NOW, file=Path
        )
    assert empty.posts == [] and empty.by_state == {} and empty.by_channel == {}
    assert empty.failures == [] and empty.ledger.features == 0
    page = _page(empty, tmp_path)
    assert "Nothing was planned" in page and "</html>" in page and "<article" not in page
    assert "Mon 2001-01-01 00:00 WIB" in page
    assert "Nothing was planned in this window" in summary_markdown(empty)
    assert posts_table(empty) == []
    assert "No cards rendered" in card_links(empty)


def test_a_window_must_be_aware_and_in_order(scenario: Scenario) -> None:
    from ifn_campaign.errors import IFNError

    with _session(scenario) as session, pytest.raises(IFNError, match="before it starts"):
        collect(session, since=UNTIL, until=SINCE, as_of=NOW, file=Path)
    with _session(scenario) as session, pytest.raises(IFNError, match=r"since .* time zone"):
        collect(session, since=datetime(2026, 1, 1), until=None, as_of=NOW, file=Path)
    with _session(scenario) as session, pytest.raises(IFNError, match=r"as_of .* time zone"):
        collect(session, since=SINCE, until=UNTIL, as_of=datetime(2026, 1, 1), file=Path)


def test_escape_markdown() -> None:
    assert escape_markdown("a|b\nc\r\nd\u2028e") == "a\\|b c  d e"
    assert escape_markdown("[x](y) <b> *i* `c` \\ & ~s~") == (
        "\\[x\\](y) \\<b\\> \\*i\\* \\`c\\` \\\\ \\& \\~s\\~"
    )
    assert escape_markdown("\u202eabc", isolate=True) == "\u2068\u202eabc\u2069"


def _cli(scenario: Scenario, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("IFN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IFN_DATABASE__URL", scenario.url)
    monkeypatch.setattr(base.out, "width", 200)


def test_cli_report_writes_the_page_and_prints_a_summary(
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _cli(scenario, monkeypatch, tmp_path)
    assert main(["report"]) == 0  # the last 30 days to 14 days ahead, into var/report
    printed = capsys.readouterr().out
    page = tmp_path / "var" / "report" / "index.html"
    assert page.is_file() and str(page.resolve()) in printed.replace("\n", "")
    for state in ("planned", "published", "failed", "cancelled"):
        assert state in printed
    assert "1 post(s) waiting on staff" in printed and "features in the window: 1" in printed

    day = SINCE.astimezone(JAKARTA).date()
    assert main(["report", "--since", f"{day}", "--until", f"{day}", "--out", "one-day"]) == 0
    one_day = (tmp_path / "one-day" / "index.en.html").read_text(encoding="utf-8")
    assert f"{day:%Y-%m-%d} 00:00 WIB to before" in one_day
    capsys.readouterr()

    assert main(["report", "--since", "2001-01-01", "--until", "2001-01-31"]) == 0
    assert "nothing was planned: no posts" in capsys.readouterr().out


def test_cli_report_refuses_bad_dates(
    scenario: Scenario,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _cli(scenario, monkeypatch, tmp_path)
    assert main(["report", "--since", "12/01/2026"]) == 1
    assert "error:" in capsys.readouterr().err
    assert main(["report", "--since", "2026-02-01", "--until", "2026-01-01"]) == 1
    assert "before --since" in capsys.readouterr().err


def test_month_window_is_a_calendar_month_in_the_display_zone() -> None:
    from zoneinfo import ZoneInfo

    from ifn_campaign.errors import IFNError
    from ifn_campaign.reports.page import month_window

    wib = ZoneInfo("Asia/Jakarta")
    now = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)  # already 1 December in Jakarta
    since, until = month_window(None, wib, now)
    assert (since.astimezone(wib).date(), until.astimezone(wib).date()) == (
        date(2026, 11, 1),
        date(2026, 12, 1),
    )
    assert since == datetime(2026, 10, 31, 17, 0, tzinfo=UTC)
    since, until = month_window("2026-12", wib, now)
    assert until.astimezone(wib).date() == date(2027, 1, 1)
    with pytest.raises(IFNError, match="YYYY-MM"):
        month_window("Desember", wib, now)
