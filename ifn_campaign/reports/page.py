"""The campaign report: what staff planned, made and published in a period, and what failed.

`collect` reads every post whose slot lies in a window (with its member, card, caption, reason,
state, link and, for failures, what to do) and the features ledger for the same window; the other
functions only format that one snapshot: `write_html` a self-contained page with a gallery of the
cards (`templates/report/report.html.j2`, which staff may restyle), and `summary_markdown`,
`posts_table` and `card_links` the data for Prefect artifacts.

Names, places, captions and reasons are member-supplied data: the page is autoescaped and puts
them in bidi isolates; markdown escapes them (`ifn_campaign.reports.markdown`). Times are stored in
UTC
and shown in the display time zone (WIB by default).

Two clocks, both given by the caller, never read here: the data clock (`collect(as_of=...)`, when
waits are measured: the wall clock, or the demo's clock moved forward slot by slot) and the wall
clock the page was made at (`write_html(made_at=...)`); the page says so when they differ.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ifn_campaign import bundled
from ifn_campaign.config import PlannerSettings, ReportSettings
from ifn_campaign.errors import FileAccessError, InvalidValueError
from ifn_campaign.files import write_atomically
from ifn_campaign.models import Feature, Member, Post, PostState
from ifn_campaign.posts import ledger
from ifn_campaign.posts.ledger import Dimension, Tally, Waiting
from ifn_campaign.reports.gallery import PrintGallery, print_gallery
from ifn_campaign.reports.markdown import escape_markdown
from ifn_campaign.reports.reach import ReachSummary, collect_reach
from ifn_campaign.reports.words import LANGS, PAGE_NAMES, Lang, Words, check_lang

__all__ = [
    "REPORT_TEMPLATES",
    "STATE_MEANING",
    "CampaignReport",
    "LedgerSummary",
    "PostLine",
    "card_links",
    "collect",
    "posts_table",
    "print_html",
    "summary_markdown",
    "web_link",
    "when",
    "window_text",
    "write_html",
    "zone_abbr",
]

REPORT_TEMPLATES = bundled.templates("report")
DISPLAY_TIMEZONE: str = PlannerSettings.model_fields["display_timezone"].default
PDF_CARDS: int = ReportSettings.model_fields["pdf_cards"].default
# Where each state stands in the pipeline, in its order, and what (if anything) comes next.
STATE_MEANING: dict[str, str] = {
    PostState.PLANNED: "picked; card and caption not made yet (ifn-campaign compose)",
    PostState.COMPOSED: "card and caption made; waiting for review (ifn-campaign review)",
    PostState.APPROVED: "approved; goes out at its slot (ifn-campaign publish)",
    PostState.SCHEDULED: "handed to the platform, which publishes it at the slot",
    PostState.PUBLISHING: "being published right now",
    PostState.PUBLISHED: "out, with its link",
    PostState.FAILED: "failed: staff to act (see what to do)",
    PostState.NEEDS_REAUTH: "the account needs re-authorisation (see what to do)",
    PostState.MISSED: "not sent: its slot passed too long ago; staff decide (see what to do)",
    PostState.CANCELLED: "cancelled, with the reason",
}
NEEDS_STAFF = frozenset({PostState.FAILED, PostState.NEEDS_REAUTH, PostState.MISSED})
GAP_ROWS = 10
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)
# a data clock this far from the wall clock is a different clock, and the page says so
CLOCK_SLACK = timedelta(minutes=1)


@dataclass(frozen=True)
class PostLine:
    """One post in the window with everything staff ask about it. `last_error` and
    `error_action` are set only for posts waiting on staff (failed, needs_reauth): an old,
    since-resolved error on a post that went on is not news."""

    post_id: int
    campaign: str
    member_id: str
    business_name: str
    city: str | None
    province: str | None
    channel: str
    account: str
    slot_at: datetime
    state: str
    reason_id: str
    reason_en: str
    caption: str | None
    title: str | None
    card_path: str | None
    thumbnail_path: str | None
    permalink: str | None
    published_at: datetime | None
    last_error: str | None
    error_action: str | None
    cancel_reason: str | None

    @property
    def needs_staff(self) -> bool:
        return self.state in NEEDS_STAFF

    @property
    def place(self) -> str:
        return ", ".join(p for p in (self.city, self.province) if p)


@dataclass(frozen=True)
class LedgerSummary:
    """The features ledger for the window (`ifn_campaign.posts.ledger`): features per province,
    primary category and primary actor type, plus who is still waiting, as of the report's
    `as_of`."""

    features: int
    by_province: list[Tally]
    by_category: list[Tally]
    by_actor_type: list[Tally]
    never_featured: int
    fairness_gap: list[Waiting]

    @property
    def gap_days(self) -> int | None:
        """The longest wait of an eligible member, in days; None when nobody is eligible."""
        return self.fairness_gap[0].days if self.fairness_gap else None


@dataclass(frozen=True)
class CampaignReport:
    """Posts with slots in [since, until) (either end open when None), ordered by slot, with
    counts per state (pipeline order) and per channel, and the ledger for the same window, as of
    the data clock `as_of`. `recorded_until` is the latest publication the database records
    (any post, any feature): later than the wall clock only where the data was made on a clock
    moved forward (the demo's), which the page then says. `reach` is the period's reach
    evidence (`ifn_campaign.reports.reach`), empty for a window open at either end."""

    since: datetime | None
    until: datetime | None
    as_of: datetime
    posts: list[PostLine]
    by_state: dict[str, int]
    by_channel: dict[str, int]
    ledger: LedgerSummary
    recorded_until: datetime | None = None
    reach: ReachSummary = field(default_factory=ReachSummary)

    @property
    def failures(self) -> list[PostLine]:
        return [p for p in self.posts if p.needs_staff]


def collect(
    session: Session,
    *,
    since: datetime | None,
    until: datetime | None,
    as_of: datetime,
    file: Callable[[str], Path],
    display_timezone: str = DISPLAY_TIMEZONE,
) -> CampaignReport:
    """Read the report for slots in [since, until) from the database (reads only). `as_of` is the
    data clock: when the never-featured and fairness-gap waits are measured (the caller's now;
    the demo's clock after it published its calendar). `file` turns a stored card path into
    the file (the settings' `path`: under the data folder). Weeks and slots of the reach
    evidence are the `display_timezone`'s."""
    for name, moment in (("since", since), ("until", until), ("as_of", as_of)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidValueError(
                f"report {name} {moment} has no time zone: give an aware datetime"
            )
    if since is not None and until is not None and until <= since:
        raise InvalidValueError(f"the report window ends ({until}) before it starts ({since})")
    query = (
        select(
            Post,
            Member.business_name,
            Member.city,
            Member.province,
            Feature.permalink,
            Feature.featured_at,
        )
        .join(Member, Member.id == Post.member_id)
        .outerjoin(Feature, Feature.post_id == Post.id)
        .order_by(Post.slot_at, Post.channel, Post.id)
    )
    if since is not None:
        query = query.where(Post.slot_at >= since)
    if until is not None:
        query = query.where(Post.slot_at < until)
    posts = [
        _line(post, name, city, province, link, featured_at, file)
        for post, name, city, province, link, featured_at in session.execute(query)
    ]
    states = Counter(p.state for p in posts)
    by_state = {state.value: states[state] for state in PostState if states[state]}
    by_state |= {state: n for state, n in sorted(states.items()) if state not in by_state}
    channels = Counter(p.channel for p in posts)
    by_channel = dict(sorted(channels.items(), key=lambda kv: (-kv[1], kv[0])))
    dimensions: tuple[Dimension, ...] = ("province", "category", "actor_type")
    tallies = {d: ledger.features_by(session, d, since, until) for d in dimensions}
    summary = LedgerSummary(
        features=sum(t.count for t in tallies["province"]),
        by_province=tallies["province"],
        by_category=tallies["category"],
        by_actor_type=tallies["actor_type"],
        never_featured=len(ledger.never_featured(session, now=as_of)),
        fairness_gap=ledger.fairness_gap(session, as_of, limit=GAP_ROWS),
    )
    # the publisher never records a publication after its own clock: a later one was made on a
    # clock moved forward
    recorded = [
        session.scalar(select(func.max(Post.published_at))),
        session.scalar(select(func.max(Feature.featured_at))),
    ]
    recorded_until = max((m for m in recorded if m is not None), default=None)
    reach = (
        collect_reach(
            session, since=since, until=until, as_of=as_of, zone=ZoneInfo(display_timezone)
        )
        if since is not None and until is not None
        else ReachSummary()
    )
    return CampaignReport(
        since, until, as_of, posts, by_state, by_channel, summary, recorded_until, reach
    )


def _line(
    post: Post,
    name: str,
    city: str | None,
    province: str | None,
    feature_link: str | None,
    featured_at: datetime | None,
    file: Callable[[str], Path],
) -> PostLine:
    assert post.id is not None
    stuck = post.state in NEEDS_STAFF
    return PostLine(
        post_id=post.id,
        campaign=post.campaign,
        member_id=post.member_id,
        business_name=name,
        city=city,
        province=province,
        channel=post.channel,
        account=post.account,
        slot_at=post.slot_at,
        state=post.state,
        reason_id=post.reason_id,
        reason_en=post.reason_en,
        caption=post.caption,
        title=post.title,
        card_path=str(file(post.card_path)) if post.card_path else None,
        thumbnail_path=str(file(post.thumbnail_path)) if post.thumbnail_path else None,
        permalink=post.permalink or feature_link,
        published_at=post.published_at or featured_at,
        last_error=post.last_error if stuck else None,
        error_action=(post.error_action or "approve it again, or cancel it") if stuck else None,
        cancel_reason=post.cancel_reason,
    )


# --- shown to people ------------------------------------------------------------------------


def month_window(month: str | None, zone: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """[first day, first day of the next month) of `month` ("YYYY-MM") in `zone`; by default the
    month before `now`'s (the monthly report looks back at a finished month)."""
    if month is None:
        first_this = now.astimezone(zone).date().replace(day=1)
        start = (first_this - timedelta(days=1)).replace(day=1)
    else:
        # strptime alone takes "26-01" as the year 26 and " 2026-01" as 2026
        if not _MONTH.fullmatch(month) or month < "0002":
            raise InvalidValueError(f"month {month!r}: write it as YYYY-MM (e.g. 2026-11)")
        start = date(int(month[:4]), int(month[5:]), 1)
    try:
        end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return (
            datetime.combine(start, time(), zone).astimezone(UTC),
            datetime.combine(end, time(), zone).astimezone(UTC),
        )
    except OverflowError:  # 9999-12 has no next month
        raise InvalidValueError(f"month {month!r}: write it as YYYY-MM (e.g. 2026-11)") from None


def when(moment: datetime, zone: ZoneInfo) -> str:
    """'Mon 2026-01-12 19:00 WIB': the display zone's wall clock with its abbreviation."""
    return f"{moment.astimezone(zone):%a %Y-%m-%d %H:%M} {zone_abbr(zone, moment)}"


def zone_abbr(zone: ZoneInfo, moment: datetime) -> str:
    """The zone's abbreviation at that moment (WIB for Asia/Jakarta), else its name."""
    return moment.astimezone(zone).tzname() or zone.key


def window_text(report: CampaignReport, zone: ZoneInfo) -> str:
    """The window in words; `until` is exclusive (the CLI passes the midnight after the last
    day)."""
    start = f"from {when(report.since, zone)}" if report.since else ""
    end = f"before {when(report.until, zone)}" if report.until else ""
    if start and end:
        return f"slots {start} to {end}"
    if start or end:
        return f"slots {start or end}" + (" onwards" if start else "")
    return "every slot"


def web_link(url: str | None) -> str | None:
    """The URL if it is an http(s) link we may put in an href; None otherwise (a `javascript:`
    or malformed permalink is shown as text, never linked)."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def _file(path: str | None) -> Path | None:
    """A card's path (made absolute by `collect`) if the file is there."""
    if not path:
        return None
    file = Path(path)
    return file if file.is_file() else None


# --- Prefect artifacts (markdown and a table) -----------------------------------------------


def _md(text: str) -> str:
    return escape_markdown(text)


def _member(text: str) -> str:
    """Member-supplied text (names, places, reasons naming a province) in a bidi isolate."""
    return escape_markdown(text, isolate=True)


def _md_link(label: str, url: str) -> str:
    """A markdown link whose destination cannot break out of its parentheses."""
    return f"[{label}]({quote(url, safe=':/?#@!$&+,;=%~-._*')})"


def summary_markdown(report: CampaignReport, *, display_timezone: str = DISPLAY_TIMEZONE) -> str:
    """The report for a Prefect markdown artifact: counts per state (with what each means) and
    per channel, every failure with what happened and what to do, and the ledger numbers."""
    zone = ZoneInfo(display_timezone)
    abbr = zone_abbr(zone, report.as_of)
    lines = [f"# Campaign report: {window_text(report, zone)}", ""]
    if not report.posts:
        lines += ["Nothing was planned in this window: no posts.", ""]
    else:
        lines += [
            f"{_plural(len(report.posts), 'post')}, {len(report.failures)} waiting on staff.",
            "",
            "| state | posts | what it means |",
            "|---|---:|---|",
        ]
        lines += [
            f"| {escape_markdown(s)} | {n} | {STATE_MEANING.get(s, '')} |"
            for s, n in report.by_state.items()
        ]
        lines += ["", "| channel | posts |", "|---|---:|"]
        lines += [f"| {_md(c)} | {n} |" for c, n in report.by_channel.items()]
    if report.failures:
        lines += [
            "",
            "## Failures: what to do",
            "",
            f"| post | member | channel | slot ({abbr}) | state | what happened | what to do |",
            "|---:|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {p.post_id} | {_member(p.business_name)} ({_md(p.member_id)}) "
            f"| {_md(p.channel)}/{_md(p.account)} | {when(p.slot_at, zone)} "
            f"| {escape_markdown(p.state)} "
            f"| {_md(p.last_error or '')} | {_md(p.error_action or '')} |"
            for p in report.failures
        ]
    led = report.ledger
    if led.fairness_gap:
        top = led.fairness_gap[0]
        gap = (
            f"fairness gap {_plural(top.days, 'day')} "
            f"({_member(top.business_name)}, {_md(top.member_id)})"
        )
    else:
        gap = "no eligible member waiting"
    lines += [
        "",
        "## Features ledger",
        "",
        f"{_plural(led.features, 'feature')} in the window; "
        f"{_plural(led.never_featured, 'member')} never featured; {gap}.",
    ]
    for title, tallies in (
        ("province", led.by_province),
        ("category", led.by_category),
        ("actor type", led.by_actor_type),
    ):
        if tallies:
            lines += ["", f"| {title} | features |", "|---|---:|"]
            lines += [f"| {_member(t.label)} | {t.count} |" for t in tallies]
    return "\n".join(lines) + "\n"


def posts_table(
    report: CampaignReport, *, display_timezone: str = DISPLAY_TIMEZONE
) -> list[dict[str, str]]:
    """One row per post for `prefect.artifacts.create_table_artifact`. The Prefect UI renders
    markdown in table cells, so member text is escaped and the permalink is a link."""
    zone = ZoneInfo(display_timezone)
    rows = []
    for p in report.posts:
        link = web_link(p.permalink)
        rows.append(
            {
                "post": str(p.post_id),
                "member": f"{_member(p.business_name)} ({_md(p.member_id)})",
                "channel": f"{_md(p.channel)}/{_md(p.account)}",
                "time": when(p.slot_at, zone),
                "state": escape_markdown(p.state),
                "alasan": _member(p.reason_id),
                "reason": _member(p.reason_en),
                "permalink": _md_link(escape_markdown(p.channel), link)
                if link
                else _md(p.permalink or ""),
            }
        )
    return rows


def card_links(report: CampaignReport, *, display_timezone: str = DISPLAY_TIMEZONE) -> str:
    """Markdown linking every rendered card (and YouTube thumbnail) as a file:// URI on the
    machine that ran the flow; a card whose file is gone is said to be missing."""
    zone = ZoneInfo(display_timezone)
    lines = ["# Cards", ""]
    for p in report.posts:
        if not p.card_path:
            continue
        head = (
            f"- post {p.post_id}, {_member(p.business_name)} ({_md(p.member_id)}), "
            f"{_md(p.channel)}/{_md(p.account)}, {when(p.slot_at, zone)}: "
        )
        links = []
        for label, path in (("card", p.card_path), ("thumbnail", p.thumbnail_path)):
            if path is None:
                continue
            file = _file(path)
            links.append(
                f"[{label}]({file.resolve().as_uri()})"
                if file
                else f"{label} file missing ({_md(path)})"
            )
        lines.append(head + ", ".join(links))
    if len(lines) == 2:
        lines.append("No cards rendered for posts in this window.")
    return "\n".join(lines) + "\n"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# --- the HTML page --------------------------------------------------------------------------


@dataclass(frozen=True)
class CardImage:
    """A card as the page shows it: `src` relative to the page when the file is there."""

    path: str
    src: str | None

    @property
    def missing(self) -> bool:
        return self.src is None


def _card_image(path: str | None, out_dir: Path) -> CardImage | None:
    """Point at the card where it lies (nothing is copied): a URL-quoted path relative to the
    page, or a file:// URI when no relative path exists (another drive)."""
    if not path:
        return None
    file = _file(path)
    if file is None:
        return CardImage(path, None)
    try:
        relative = Path(os.path.relpath(file.resolve(), out_dir.resolve())).as_posix()
    except ValueError:
        return CardImage(path, file.resolve().as_uri())
    return CardImage(path, quote(relative))


def write_html(
    report: CampaignReport,
    out_dir: Path,
    *,
    display_timezone: str,
    made_at: datetime,
    data_clock: str | None = None,
    templates_dir: Path | None = None,
    lang: str = "id",
) -> Path:
    """Write the page in both languages, `out_dir/index.html` (Indonesian) and
    `out_dir/index.en.html` (English), each linking to the other (creating the folder), and
    return the path of `lang`'s: what went out with its reach, reach per channel and week with
    charts, the fairness tables in features and in reach, the best and worst slots, failures
    and what was done, first features, the ledger, then the gallery of every post's card.

    `made_at` is the wall clock the page is made at. When the report's data clock (`as_of`)
    is CLOCK_SLACK or more away from it, the page says both in one line, naming the data clock
    with `data_clock` ("the demo's clock, moved forward") when given. When the data records a
    publication CLOCK_SLACK or more after `made_at` (a report made on the wall clock over the
    demo's data, whose clock ran ahead), the page says that instead.

    `templates_dir/report/report.html.j2` (the settings' templates.dir), when there, restyles
    the page; a slip in it is a TemplateError naming that file."""
    chosen = check_lang(lang)
    if made_at.tzinfo is None:
        raise InvalidValueError(
            f"report made_at {made_at} has no time zone: give an aware datetime"
        )
    pages = {
        language: _page(
            report,
            out_dir,
            Words(language, ZoneInfo(display_timezone)),
            made_at=made_at,
            data_clock=data_clock,
            templates_dir=templates_dir,
        )
        for language in LANGS
    }
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for language, html in pages.items():
            # whole or not at all: a full disk (or a crash) keeps last run's page, never half
            write_atomically(out_dir / PAGE_NAMES[language], html.encode("utf-8"))
    except OSError as exc:
        raise FileAccessError(f"cannot write the report to {out_dir}: {exc}") from None
    return out_dir / PAGE_NAMES[chosen]


def print_html(
    report: CampaignReport,
    out_dir: Path,
    *,
    display_timezone: str,
    made_at: datetime,
    data_clock: str | None = None,
    templates_dir: Path | None = None,
    lang: str = "id",
    cards: int = PDF_CARDS,
) -> tuple[str, PrintGallery | None]:
    """The `lang` page as the PDF prints it (links resolved from `out_dir`, where `write_html`
    put the pages), and its gallery's selection: the page itself when the period has at most
    `cards` posts (selection None), else a gallery of the `cards` posts that reached furthest,
    shared among the channels (`ifn_campaign.reports.gallery`), with a note saying how many
    are left to the HTML page. Same arguments as `write_html`, for the same page."""
    words = Words(check_lang(lang), ZoneInfo(display_timezone))
    if made_at.tzinfo is None:
        raise InvalidValueError(
            f"report made_at {made_at} has no time zone: give an aware datetime"
        )
    reach = {p.post_id: p.reach for p in report.reach.posts}
    printed = print_gallery(report.posts, reach, list(report.by_channel), cards)
    html = _page(
        report,
        out_dir,
        words,
        made_at=made_at,
        data_clock=data_clock,
        templates_dir=templates_dir,
        printed=printed,
    )
    return html, printed


def _period(report: CampaignReport, words: Words) -> str:
    """The window in the page's words: "Bulan November 2026" for a calendar month."""
    t, zone = words.t, words.zone
    since, until = report.since, report.until
    if since and until:
        start, end = since.astimezone(zone), until.astimezone(zone)
        if (start.day, start.time(), end.day, end.time()) == (1, time(), 1, time()) and (
            (end.year * 12 + end.month) - (start.year * 12 + start.month) == 1
        ):
            return t["period_month"].format(month=words.month(since))
        return t["window_from_to"].format(start=words.when(since), end=words.when(until))
    if since:
        return t["window_from"].format(start=words.when(since))
    if until:
        return t["window_to"].format(end=words.when(until))
    return t["window_all"]


def _page(
    report: CampaignReport,
    out_dir: Path,
    words: Words,
    *,
    made_at: datetime,
    data_clock: str | None,
    templates_dir: Path | None,
    printed: PrintGallery | None = None,
) -> str:
    """The page in one language; with `printed`, the page for the PDF, whose gallery shows
    that selection and says how many posts it leaves to the HTML page."""
    from ifn_campaign.cards.brand import BrandKit
    from ifn_campaign.cards.preview import render_page
    from ifn_campaign.reports.charts import report_charts

    zone, t, palette = words.zone, words.t, BrandKit.load().palette

    def item(p: PostLine) -> dict[str, Any]:
        return {
            "post": p,
            "when": words.when(p.slot_at),
            "published": words.when(p.published_at) if p.published_at else None,
            "card": _card_image(p.card_path, out_dir),
            "thumbnail": _card_image(p.thumbnail_path, out_dir),
            "link": web_link(p.permalink),
        }

    items = [item(p) for p in report.posts]
    gallery: list[tuple[str | None, list[dict[str, Any]]]] = [(None, items)]
    gallery_note = None
    if printed is not None:
        gallery = [
            (
                t["gallery_channel"].format(
                    channel=channel, shown=words.number(len(posts)), total=words.number(total)
                ),
                [item(p) for p in posts],
            )
            for channel, total, posts in printed.by_channel
        ]
        gallery_note = t["gallery_print_note"].format(
            shown=words.number(printed.shown),
            total=words.number(printed.total),
            left=words.number(printed.left_out),
            page=PAGE_NAMES[words.lang],
        )
    other_clock = abs(report.as_of - made_at) >= CLOCK_SLACK
    recorded = report.recorded_until
    ahead = recorded is not None and recorded - made_at >= CLOCK_SLACK and not other_clock
    led = report.ledger
    other: Lang = "en" if words.lang == "id" else "id"
    return render_page(
        bundled.template_dirs("report", templates_dir),
        "report.html.j2",
        w=words,
        t=t,
        lang=words.lang,
        other_lang=other,
        other_page=PAGE_NAMES[other],
        report=report,
        reach=report.reach,
        charts=report_charts(report.reach, words, palette),
        went_out=[(p, web_link(p.permalink)) for p in report.reach.posts],
        reach_by_post={p.post_id: p.reach for p in report.reach.posts},
        window=window_text(report, zone),
        period=_period(report, words),
        made=words.when(made_at),
        as_of=words.when(report.as_of),
        data_clock=(data_clock or t["data_clock"]) if other_clock else None,
        recorded_until=words.when(recorded) if ahead and recorded else None,
        zone=zone.key,
        zone_abbr=zone_abbr(zone, made_at),
        items=items,
        gallery=gallery,
        gallery_note=gallery_note,
        failures=[i for i in items if i["post"].needs_staff],
        states=[(s, n, t.get(f"state_{s}", "")) for s, n in report.by_state.items()],
        ledger=led,
        tallies=[
            (t["dim_province"], led.by_province),
            (t["dim_category"], led.by_category),
            (t["dim_actor_type"], led.by_actor_type),
        ],
        gap=[
            {
                "wait": w,
                "last": words.when(w.last_featured_at) if w.last_featured_at else None,
                "since": words.when(w.waiting_since),
            }
            for w in led.fairness_gap
        ],
        palette=palette,
    )
