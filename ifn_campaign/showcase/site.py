"""The public showcase: a static site of the members IFN featured, as plain files any static host
serves (`ifn-campaign showcase --out DIR`, and after each publish run when `showcase.dir` is set).

Who is on it: an active member with a feature in the ledger whose consent is in force at `now`
(`ifn_campaign.registry.consent`), and who did not withdraw on their own page since the consent
they have; a member who withdrew, or was suspended or deleted, is gone at the next build. What is
shown of them: the public business facts and, of the personal fields (owner name, phone,
WhatsApp, e-mail), only those the member allowed, through the captions' consent-gated
`MemberView` (the one "what is public" rule: the description loses a sentence that carries an
unconsented phone number too); never a photo of a person. Their features are listed only on
channels they still consent to, of posts that are published and not being taken down: the card
(copied by its content hash) and the permalink.

The fairness page counts the whole features ledger per province and per actor type against the
membership share (`ledger.shares_by_all`, the console's fairness numbers), drawn with the
console's SVG charts.

Member data is data: every page is autoescaped Jinja (`templates/showcase/`, which
`templates.dir` may restyle), names sit in bidi isolates, and no file name comes from member data
(pages are named by a slug of the id plus its hash, cards by their SHA-256). The site is built in
a temporary folder beside `out` and swapped in at once (an atomic exchange where the system has
one), so a host never serves half a site and the files of members who left are gone.

Indonesian first: its pages are the site's root; the same pages in English are under `en/`
(`texts.py` holds the words of both).
"""

from __future__ import annotations

import ctypes
import errno
import functools
import glob
import hashlib
import os
import re
import secrets
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, Template, TemplateNotFound, TemplateSyntaxError
from jinja2 import TemplateError as JinjaTemplateError
from markupsafe import Markup
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ifn_campaign import bundled
from ifn_campaign.captions.context import DATE_PATTERNS, MemberView, labels
from ifn_campaign.cards.preview import html_environment
from ifn_campaign.channels.channel import Channel
from ifn_campaign.config import Settings
from ifn_campaign.console.charts import Bar, share_chart
from ifn_campaign.console.i18n import Formats
from ifn_campaign.errors import FileAccessError, InvalidValueError, TemplateError
from ifn_campaign.models import (
    Feature,
    Member,
    MemberStatus,
    MemberWithdrawal,
    Post,
    PostState,
)
from ifn_campaign.posts import ledger
from ifn_campaign.registry.consent import consents_to, in_force_clause
from ifn_campaign.reports.page import web_link
from ifn_campaign.showcase.texts import LANGUAGES, TEXTS

__all__ = [
    "MARKER",
    "Cards",
    "PublicMember",
    "PublicPost",
    "ShowcaseReport",
    "build_showcase",
    "collect",
    "fingerprint",
    "slug",
]

# a file in the root of every showcase we write: a folder without it is not replaced (so
# `--out ~` never swaps a home folder away)
MARKER = ".ifn-showcase"
CARD_SUFFIXES = {".jpg": ".jpg", ".jpeg": ".jpg", ".png": ".png", ".webp": ".webp"}
CHANNEL_NAMES = {channel.value: channel.label for channel in Channel}
PROFILE_URLS = {
    Channel.INSTAGRAM: "https://www.instagram.com/{handle}/",
    Channel.FACEBOOK: "https://www.facebook.com/{handle}",
    Channel.YOUTUBE: "https://www.youtube.com/@{handle}",
}
ASSETS = ("showcase.css", "showcase.js")
SLUG_ROOM = 40  # characters of the readable part of a slug


@dataclass(frozen=True)
class PublicPost:
    """One feature as the site shows it: where and when, its card and its public link."""

    channel: str
    channel_name: str
    featured_at: datetime
    when: str
    permalink: str | None
    card: str | None  # "kartu/<sha256>.jpg", relative to the site's root


@dataclass(frozen=True)
class Mention:
    """A consented social account: the platform, the handle and its profile address."""

    platform: str
    handle: str
    url: str


@dataclass(frozen=True)
class Group:
    """A province or category with its page's slug and its members on the site."""

    slug: str
    label: str
    count: int


@dataclass(frozen=True)
class PublicMember:
    """What the site shows of one featured member: only public and consented fields."""

    slug: str
    name: str
    place: str
    province: str
    province_slug: str
    categories: list[tuple[str, str]]  # (slug, label)
    actor_types: list[str]
    materials: list[str]
    description: str
    founded: int | None
    team: str
    capacity: str
    markets: list[str]
    certifications: list[str]
    website: str | None
    mentions: list[Mention]
    personal: list[tuple[str, str]]  # (label, value): only fields the member allowed
    posts: list[PublicPost]

    @property
    def last(self) -> PublicPost:
        return self.posts[0]


@dataclass
class ShowcaseReport:
    """What a build wrote: the folder, its members, pages and cards, and what it left out."""

    out: Path
    members: int = 0
    pages: int = 0
    cards: int = 0
    features: int = 0
    notes: list[str] = field(default_factory=list)
    unchanged: bool = False  # nothing to show changed since the site there was built

    def line(self) -> str:
        """The build in one line (the CLI and the publish run's artifact)."""
        if self.unchanged:
            return f"showcase: unchanged since its last build in {self.out}"
        return (
            f"showcase: {self.members} member(s), {self.features} feature(s), "
            f"{self.pages} page(s), {self.cards} card(s) in {self.out}"
        )


# --- names ---------------------------------------------------------------------------------


def slug(text: str) -> str:
    """A file name for `text` (a member id, a province, a category): its letters and digits in
    ASCII, then 12 hex characters of its SHA-256: nothing in it can climb out of its folder
    ('../x', '/etc', 'CON', an RTL mark all come out safe), and two texts share a name only if
    those 12 digits of their hashes meet (practically never)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    readable = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:SLUG_ROOM].strip("-")
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{readable}-{digest}" if readable else digest


# --- what is shown ---------------------------------------------------------------------------


def collect(
    session: Session,
    settings: Settings,
    now: datetime,
    *,
    cards: Cards,
    lang: str = "id",
    notes: list[str] | None = None,
) -> list[PublicMember]:
    """The featured members at `now` as readers of `lang` see them, most recently featured
    first; `cards` collects the card files to copy. A member whose stored row cannot be read
    (a hand edit left a list field as something else) is left out, and said in `notes`."""
    rows = session.execute(_featured(now)).all()
    zone = ZoneInfo(settings.planner.display_timezone)
    fmt = Formats(lang, zone)
    members: dict[str, Member] = {}
    posts: dict[str, list[PublicPost]] = {}
    for member, feature, post in rows:
        if not consents_to(member, str(feature.channel), now):
            continue  # a channel the member no longer consents to is not shown
        members.setdefault(member.id, member)
        posts.setdefault(member.id, []).append(
            PublicPost(
                channel=str(feature.channel),
                channel_name=CHANNEL_NAMES.get(str(feature.channel), str(feature.channel)),
                featured_at=feature.featured_at,
                when=_when(fmt, feature.featured_at, lang),
                permalink=web_link(feature.permalink or post.permalink),
                card=cards.name(settings, post.card_path),
            )
        )
    shown = []
    for member in members.values():
        try:
            shown.append(_public(member, posts[member.id], settings, fmt, now, lang))
        except (AttributeError, TypeError, ValueError, KeyError) as exc:
            if notes is not None:
                notes.append(
                    f"member {member.id!r} left out: its stored profile is unreadable ({exc})"
                )
    return shown


def _featured(now: datetime) -> Any:
    """(member, feature, post) of every feature the site may show at `now`, newest first:
    active members with consent in force who did not withdraw on their page since, features
    of published posts not being taken down (channel consent is checked per row after)."""
    withdrew = exists(
        select(MemberWithdrawal.id).where(
            MemberWithdrawal.member_id == Member.id,
            MemberWithdrawal.at >= Member.consent_granted_at,
        )
    )
    return (
        select(Member, Feature, Post)
        .join(Feature, Feature.member_id == Member.id)
        .join(Post, Post.id == Feature.post_id)
        .where(
            Member.status == MemberStatus.ACTIVE,
            in_force_clause(now),
            ~withdrew,
            Post.state == PostState.PUBLISHED,
            Post.takedown_requested_at.is_(None),  # type: ignore[union-attr]
            # no `featured_at <= now`: a published post is out, whatever the date it carries
            # (the demo's clock runs two weeks ahead of the one a later build runs on)
        )
        .order_by(Feature.featured_at.desc(), Feature.id.desc())
    )


def fingerprint(session: Session, settings: Settings, now: datetime) -> str:
    """What the site at `now` is made of, as one SHA-256: every shown row (the member's
    profile by its content hash, consent, status; each feature, its link and card), the
    fairness numbers, the templates, assets and this package's code (name, size, time). Two
    builds with the same fingerprint write the same site (but for its 'updated' line)."""
    digest = hashlib.sha256()
    for member, feature, post in session.execute(_featured(now)):
        digest.update(
            repr(
                (
                    member.id,
                    member.content_hash,
                    member.status,
                    member.consent_granted_at,
                    member.consent_withdrawn_at,
                    member.consent_channels,
                    member.consent_fields_allowed,
                    feature.id,
                    feature.channel,
                    feature.featured_at,
                    feature.permalink,
                    post.permalink,
                    post.card_path,
                )
            ).encode()
        )
    digest.update(repr(ledger.shares_by_all(session, now)).encode())
    folders = [*bundled.template_dirs("showcase", settings.templates.dir)]
    folders += [bundled.assets("showcase"), Path(__file__).parent]  # and this code
    for folder in folders:
        for file in sorted(folder.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                info = file.stat()
                digest.update(repr((str(file), info.st_size, info.st_mtime_ns)).encode())
    return digest.hexdigest()


MADE_PATTERNS = {"id": "d MMMM y HH.mm", "en": "d MMMM y HH:mm"}


def _when(fmt: Formats, moment: datetime, lang: str) -> str:
    """A feature's time as captions say it ('Selasa, 3 November 2026 pukul 19.00 WIB',
    'Tuesday, 3 November 2026 at 19:00 WIB'), in the display zone with its abbreviation
    (CLDR's English has none for WIB and would print '+0700')."""
    pattern = DATE_PATTERNS[lang].removesuffix(" z")
    return f"{fmt.datetime(moment, pattern)} {fmt.zone_name(moment)}"


class Cards:
    """The cards a site shows: each named by its content ('kartu/<sha256>.jpg'), so the same
    card twice is one file and no name comes from data; each file read once per build."""

    def __init__(self) -> None:
        self.files: dict[str, Path] = {}  # site name -> the file in the card cache
        self._named: dict[Path, str | None] = {}

    def name(self, settings: Settings, stored: str | None) -> str | None:
        """The card's name on the site, or None when there is no card file."""
        if not stored:
            return None
        file = settings.path(stored)
        if file not in self._named:
            self._named[file] = self._hash(file, settings)
        return self._named[file]

    def _hash(self, file: Path, settings: Settings) -> str | None:
        suffix = CARD_SUFFIXES.get(file.suffix.lower())
        if suffix is None or not file.is_file():
            return None
        # a card path pointing at another file of this machine (a hand edit, a link out of the
        # cache) must not put that file on a public site: only the data and cards folders
        real = file.resolve()
        folders = [settings.base.resolve(), settings.path(settings.cards.cache_dir).resolve()]
        if not any(real.is_relative_to(folder) for folder in folders):
            return None
        digest = hashlib.sha256()
        try:
            with file.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError as exc:
            raise FileAccessError(f"cannot read the card {file}: {exc}") from None
        name = f"kartu/{digest.hexdigest()}{suffix}"
        self.files[name] = file
        return name


_PERSONAL = ("owner_name", "phone", "whatsapp", "email")


def _public(
    member: Member,
    posts: list[PublicPost],
    settings: Settings,
    fmt: Formats,
    now: datetime,
    lang: str,
) -> PublicMember:
    """The member through the captions' consent-gated view, in `lang`."""
    view = MemberView(member, "web", lang, [], settings.captions.profile_url, now)
    mentions = []
    for platform, address in PROFILE_URLS.items():
        handle = view.mention(platform).removeprefix("@")
        if handle:
            url = address.format(handle=quote(handle, safe=""))
            mentions.append(Mention(platform.label, handle, url))
    personal = [(name, getattr(view, name)) for name in _PERSONAL]
    province = member.province or ""
    return PublicMember(
        slug=slug(member.id),
        name=view.name,
        place=view.origin,
        province=view.province or TEXTS[lang]["unknown"],
        province_slug=slug(province),
        categories=[
            (slug(code), label)
            for code, label in zip(member.categories, view.categories, strict=True)
        ],
        actor_types=view.actor_types,
        materials=view.materials,
        description=view.description,
        founded=view.founded,
        team=fmt.number(view.team),
        capacity=fmt.number(view.capacity),
        markets=view.markets,
        certifications=view.certifications,
        website=web_link(view.website),
        mentions=mentions,
        personal=[(TEXTS[lang][name], value) for name, value in personal if value],
        posts=posts,
    )


def _groups(members: Sequence[PublicMember]) -> tuple[list[Group], list[Group]]:
    """The provinces and categories of the members shown, by name."""
    provinces: dict[str, tuple[str, int]] = {}
    categories: dict[str, tuple[str, int]] = {}
    for member in members:
        label, count = provinces.get(member.province_slug, (member.province, 0))
        provinces[member.province_slug] = (label, count + 1)
        for code, name in dict(member.categories).items():
            label, count = categories.get(code, (name, 0))
            categories[code] = (label, count + 1)

    def listed(found: dict[str, tuple[str, int]]) -> list[Group]:
        groups = [Group(key, label, count) for key, (label, count) in found.items()]
        return sorted(groups, key=lambda g: (g.label.casefold(), g.slug))

    return listed(provinces), listed(categories)


# --- fairness ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fairness:
    """One dimension of the fairness page: its rows and their chart."""

    dimension: str
    title: str
    rows: list[ledger.Share]
    labels: dict[str | None, str]
    chart: Markup | None


def _fairness(
    every: dict[ledger.Dimension, list[ledger.Share]], fmt: Formats, lang: str
) -> tuple[list[Fairness], int]:
    """Features per province and per actor type against the members' shares (the ledger's
    numbers, `ledger.shares_by_all`), named in `lang`, with the console's charts."""
    t = TEXTS[lang]
    found = []
    for dimension, title in (("province", t["by_province"]), ("actor_type", t["by_actor_type"])):
        rows = every[dimension]  # type: ignore[index]
        kind = "provinces" if dimension == "province" else "actor_types"
        names = {
            s.value: (labels(kind, [s.value], lang)[0] if s.value is not None else t["unknown"])
            for s in rows
        }
        bars = [
            Bar(
                label=names[s.value],
                feature_share=s.feature_share,
                member_share=s.member_share,
                feature_text=t["feature_bar"].format(
                    share=fmt.percent(s.feature_share), n=fmt.number(s.features)
                ),
                member_text=t["member_bar"].format(
                    share=fmt.percent(s.member_share), n=fmt.number(s.members)
                ),
            )
            for s in rows
        ]
        chart = (
            share_chart(
                bars,
                chart_id=f"chart-{dimension}",
                title=title,
                feature_name=t["feature_share"],
                member_name=t["member_share"],
                describe=lambda b: f"{b.label}: {b.feature_text}, {b.member_text}.",
            )
            if bars
            else None
        )
        found.append(Fairness(dimension, title, rows, names, chart))
    total = sum(s.features for s in every["province"])
    return found, total


# --- writing -------------------------------------------------------------------------------


class _Pages:
    """The showcase templates (a user's `templates.dir/showcase` first), loaded once; a slip in
    a restyled page is a TemplateError naming its file, as the report's and the preview's."""

    def __init__(self, settings: Settings) -> None:
        self.env: Environment = html_environment(
            bundled.template_dirs("showcase", settings.templates.dir)
        )
        self._loaded: dict[str, Template] = {}

    def render(self, name: str, **variables: Any) -> str:
        try:
            template = self._loaded.get(name) or self.env.get_template(name)
        except TemplateSyntaxError as exc:
            where = f"line {exc.lineno}: " if exc.lineno else ""
            raise TemplateError(f"{where}{exc.message}", file=exc.filename or name) from None
        except TemplateNotFound:
            raise TemplateError("page template not found", file=name) from None
        self._loaded[name] = template
        try:
            return template.render(**variables)
        except JinjaTemplateError as exc:
            raise TemplateError(str(exc), file=template.filename or name) from None


def build_showcase(
    session: Session,
    settings: Settings,
    out: Path,
    *,
    now: datetime,
    when_changed: bool = False,
) -> ShowcaseReport:
    """Write the showcase of the members featured at `now` to the folder `out`, replacing the
    site there in one step; what was written. A failure (a card that cannot be read, a slip in a
    restyled template, a full disk) leaves the old site as it was and raises.

    With `when_changed` (the publish run's rebuild, every few minutes), a site whose
    `fingerprint` is the one the folder was built from is left as it is (`unchanged`)."""
    if now.tzinfo is None:
        raise InvalidValueError(f"showcase now {now} has no time zone: give an aware datetime")
    out = Path(os.path.normpath(out.expanduser().absolute()))
    _check_target(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileAccessError(f"cannot build the showcase beside {out}: {exc}") from None
    with _one_build_at_a_time(out):
        _check_target(out)  # again: another build may have made it while we waited
        for stale in _leftovers(out):  # a killed build's; no other build runs now
            shutil.rmtree(stale, ignore_errors=True)
        try:
            building = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
        except OSError as exc:
            raise FileAccessError(f"cannot build the showcase beside {out}: {exc}") from None
        report = ShowcaseReport(out=out)
        made_of = fingerprint(session, settings, now)
        if when_changed and _built_from(out) == made_of:
            shutil.rmtree(building, ignore_errors=True)
            report.unchanged = True
            return report
        try:
            building.chmod(0o755)  # mkdtemp makes it 0700: a web server's user must read it
            _write(session, settings, building, now, report)
            (building / MARKER).write_text(
                "ifn-campaign showcase: this folder is replaced whole at each build\n"
                f"fingerprint: {made_of}\n",
                encoding="utf-8",
            )
            old = _swap(building, out)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return report


@contextmanager
def _one_build_at_a_time(out: Path) -> Iterator[None]:
    """Hold a lock file beside `out` (`.<name>.lock`) for the build: the CLI and a publish run
    building the same folder take turns. Where the system has no flock, builds are not held
    back (each still swaps its whole site in)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover (not POSIX)
        yield
        return
    lock = out.with_name(f".{out.name}.lock")
    try:
        handle = lock.open("a")
    except OSError as exc:
        raise FileAccessError(f"cannot make the showcase's lock file {lock}: {exc}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _built_from(out: Path) -> str | None:
    """The fingerprint the site in `out` was built from, if it says."""
    try:
        text = (out / MARKER).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    found = re.search(r"^fingerprint: ([0-9a-f]{64})$", text, re.MULTILINE)
    return found.group(1) if found else None


def _leftovers(out: Path) -> list[Path]:
    """Folders a killed build left beside `out` (a half-built site, an old one not yet
    deleted); never served, removed by the next build."""
    names = (f".{glob.escape(out.name)}.building-*", f".{glob.escape(out.name)}.old-*")
    return sorted(p for name in names for p in out.parent.glob(name) if p.is_dir())


def _check_target(out: Path) -> None:
    """Refuse to replace anything that is not a showcase we wrote: a file, or a folder with
    other things in it and no MARKER."""
    if out.is_symlink():
        raise FileAccessError(
            f"{out} is a symbolic link: give the folder it points to ({out.resolve()}), which "
            "is replaced whole; the link then shows each new site"
        )
    if out.exists() and not out.is_dir():
        raise FileAccessError(
            f"{out} is not a folder: give a folder (new or empty) for the showcase"
        )
    if out.is_dir() and not (out / MARKER).is_file():
        try:
            empty = next(out.iterdir(), None) is None
        except OSError as exc:
            raise FileAccessError(f"cannot read {out}: {exc}") from None
        if not empty:
            raise FileAccessError(
                f"{out} holds other files and is not a showcase folder (no {MARKER} in it): "
                "nothing was replaced; give a new or empty folder"
            )


def _write(
    session: Session, settings: Settings, root: Path, now: datetime, report: ShowcaseReport
) -> None:
    """Every file of the site into `root`: Indonesian at the root, each other language in a
    folder of its name, the cards and assets once."""
    zone = ZoneInfo(settings.planner.display_timezone)
    cards = Cards()
    every = ledger.shares_by_all(session, now)
    pages = _Pages(settings)
    files: list[tuple[str, str]] = []
    members: list[PublicMember] = []
    for lang in LANGUAGES:
        fmt = Formats(lang, zone)
        notes = report.notes if lang == LANGUAGES[0] else None
        members = collect(session, settings, now, cards=cards, lang=lang, notes=notes)
        files += _language(pages, lang, members, _fairness(every, fmt, lang), fmt, now)
        if lang == LANGUAGES[0]:
            report.members = len(members)
            report.features = sum(len(m.posts) for m in members)
    try:
        for name, html in files:
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(html, encoding="utf-8")
        for name in ASSETS:
            shutil.copyfile(bundled.assets("showcase", name), root / name)
        (root / "kartu").mkdir(exist_ok=True)
        for name, source in cards.files.items():
            _place_card(source, root / name)
    except OSError as exc:
        raise FileAccessError(f"cannot write the showcase in {root}: {exc}") from None
    report.pages = len(files)
    report.cards = len(cards.files)
    missing = sum(1 for m in members for p in m.posts if p.card is None)
    if missing:
        report.notes.append(f"{missing} feature(s) without a card file: shown without a card")


def _language(
    pages: _Pages,
    lang: str,
    members: list[PublicMember],
    fairness: tuple[list[Fairness], int],
    fmt: Formats,
    now: datetime,
) -> list[tuple[str, str]]:
    """The pages of one language: (path in the site, HTML)."""
    prefix = "" if lang == LANGUAGES[0] else f"{lang}/"
    other = LANGUAGES[1] if lang == LANGUAGES[0] else LANGUAGES[0]
    other_prefix = "" if other == LANGUAGES[0] else f"{other}/"
    provinces, categories = _groups(members)
    common: dict[str, Any] = {
        "t": TEXTS[lang],
        "lang": lang,
        "provinces": provinces,
        "categories": categories,
        "made": fmt.datetime(now, MADE_PATTERNS[lang]) + f" {fmt.zone_name(now)}",
        "count": len(members),
        "percent": fmt.percent,
    }

    cards: dict[tuple[str, str], Markup] = {}

    def card(up: str, member: PublicMember) -> Markup:
        """A member's card in a list (`_member_card.html.j2`), rendered once for each depth
        of page it is shown on: the index, then its province's and categories' pages."""
        key = (up, member.slug)
        if key not in cards:
            html = pages.render(
                "_member_card.html.j2", m=member, root=up, base=up + prefix, **common
            )
            cards[key] = Markup(html)  # noqa: S704 (autoescaped by the template)
        return cards[key]

    def page(path: str, template: str, **variables: Any) -> tuple[str, str]:
        """`path` in this language, with the links every page needs: `root` (the site's
        root: assets, cards), `base` (this language's root), `other` (this page in the other
        language); `card(member)` is a member's card in a list."""
        up = "../" * (prefix + path).count("/")
        html = pages.render(
            template,
            root=up,
            base=up + prefix,
            other=up + other_prefix + path,
            other_lang=other,
            card=functools.partial(card, up),
            **common,
            **variables,
        )
        return prefix + path, html

    made = [page("index.html", "index.html.j2", members=members)]
    for group in provinces:
        chosen = [m for m in members if m.province_slug == group.slug]
        made.append(
            page(
                f"provinsi/{group.slug}.html",
                "index.html.j2",
                members=chosen,
                group=group,
                kind="province",
            )
        )
    for group in categories:
        chosen = [m for m in members if group.slug in dict(m.categories)]
        made.append(
            page(
                f"kategori/{group.slug}.html",
                "index.html.j2",
                members=chosen,
                group=group,
                kind="category",
            )
        )
    for member in members:
        made.append(page(f"anggota/{member.slug}.html", "member.html.j2", member=member))
    made.append(
        page("keadilan.html", "fairness.html.j2", fairness=fairness[0], features=fairness[1])
    )
    return made


def _place_card(source: Path, target: Path) -> None:
    """The card in the site: a hard link to the cached file where one can be made (a rebuild
    every publish run copies nothing), else a copy."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


# --- the swap ------------------------------------------------------------------------------

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(first: Path, second: Path) -> bool:
    """Swap two folders in one step (Linux renameat2 RENAME_EXCHANGE); False where the system
    or the file system has no such call."""
    try:
        call = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    done = call(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise FileAccessError(f"cannot put the new showcase at {second}: {os.strerror(code)}")


def _swap(new: Path, out: Path) -> Path | None:
    """Put the folder `new` at `out`; the old site's folder to delete, if there was one."""
    try:
        if not out.exists():
            new.rename(out)
            return None
        if _exchange(new, out):
            return new  # it now holds the old site
        # no exchange here: two renames, the old site out of the way for an instant only
        old = out.with_name(f".{out.name}.old-{secrets.token_hex(4)}")
        out.rename(old)
        new.rename(out)
        return old
    except OSError as exc:
        raise FileAccessError(f"cannot put the new showcase at {out}: {exc}") from None
