"""Captions from templates staff edit: a sandboxed Jinja2, then each platform's rules.

Templates live in templates/captions/<campaign>/<channel>.<lang>.j2, falling back to
templates/captions/default/. Instagram and Facebook templates define the blocks `body` and
`footer`; YouTube templates define `title`, `body`, `footer` and `tags` (one per line). Hashtags
are added by code (hashtags.toml), so every caption gets valid, de-duplicated, capped tags.
Member text is passed as data only: `{{ }}` inside a business name is printed, never evaluated.
When a caption is too long the body is shortened at a word boundary; the name (first sentence),
the footer (link) and the hashtags stay, and what was cut is recorded.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    pass_context,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ifn_campaign import bundled
from ifn_campaign.captions import rules
from ifn_campaign.captions.context import MemberView, angka, country, daftar, tanggal
from ifn_campaign.captions.hashtags import HASHTAGS_FILE, load_hashtag_table, member_hashtags
from ifn_campaign.channels.channel import Channel
from ifn_campaign.errors import CaptionTemplateError, IFNError
from ifn_campaign.models import Member, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ifn_campaign.config import Settings

CAPTIONS_DIR = bundled.templates("captions")
CHANNELS = tuple(Channel)
LANGUAGES = ("id", "en")
TITLES_FILE = "titles.toml"  # campaign titles in other languages, next to the template folders
ALT_TEXT_CHARS = 1000  # Instagram's alt_text limit (docs/reference/platforms.md)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class CampaignInfo:
    """The campaign a caption is written for (the planner passes the real one)."""

    slug: str = "default"
    title: str = "Sorotan Anggota IFN"
    hashtags: tuple[str, ...] = ()


@dataclass
class Caption:
    """One channel's copy: `text` for Instagram and Facebook; title, text and tags for YouTube."""

    channel: str
    lang: str
    template: str
    text: str
    title: str = ""
    tags: list[str] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)
    omitted: list[str] = field(default_factory=list)
    cuts: list[rules.Cut] = field(default_factory=list)
    violations: list[rules.Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Instagram only: the card described for screen readers, and the consented @handle to tag
    alt_text: str = ""
    user_tags: list[str] = field(default_factory=list)


def preview_captions(
    writer: CaptionWriter, session: Session, member_ids: Sequence[str], lang: str
) -> dict[str, list[tuple[str, str]]]:
    """Each member's captions on every channel in `lang`, as (label, text) pairs to show under
    their cards on a preview sheet; a caption that cannot be written is shown as why not, so one
    broken template does not hide the other cards."""
    shown: dict[str, list[tuple[str, str]]] = {}
    for member_id in member_ids:
        member = session.get(Member, member_id)
        if member is None:
            continue
        for channel in CHANNELS:
            try:
                caption = writer.write(member, channel, lang)
            except IFNError as exc:
                shown.setdefault(member_id, []).append((channel, f"(no caption: {exc})"))
                continue
            text = f"{caption.title}\n\n{caption.text}" if caption.title else caption.text
            shown.setdefault(member_id, []).append((f"{channel} caption", text))
    return shown


def clean(text: str) -> str:
    """No control characters, no trailing spaces, at most one blank line in a row."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


class CaptionWriter:
    """Renders caption templates for members; one environment, templates compiled once."""

    def __init__(
        self,
        limits: rules.Limits | None = None,
        *,
        profile_url: str = "https://ifn.kemenperin.go.id/anggota/{id}",
        directory: Path = CAPTIONS_DIR,
        templates_dir: Path | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`templates_dir` (the settings' templates.dir): its `captions/` files are used instead
        of those of the same path in `directory`, template by template (titles.toml and
        hashtags.toml too); the others stay `directory`'s."""
        self.limits = limits or rules.Limits()
        self.clock = clock  # consent is judged at `write(at=...)`, else at this clock
        self.profile_url = profile_url
        self.directory = directory
        own = templates_dir / "captions" if templates_dir is not None else None
        self.search_path = [own, directory] if own is not None and own.is_dir() else [directory]
        self.env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(self.search_path),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(tanggal=_tanggal, angka=_angka, negara=_negara, daftar=_daftar)
        titles = self.source(TITLES_FILE) or directory / TITLES_FILE
        self.titles = campaign_titles(titles, self.shown(TITLES_FILE))
        hashtags = self.source(HASHTAGS_FILE.name) if own is not None else None
        self.hashtag_table = load_hashtag_table(hashtags) if hashtags is not None else None

    @classmethod
    def from_settings(cls, cfg: Settings) -> CaptionWriter:
        """The writer the settings describe (limits, profile link, the user's templates), the
        same for every caller: compose, the CLI and the demo."""
        return cls(
            cfg.captions.limits(),
            profile_url=cfg.captions.profile_url,
            templates_dir=cfg.templates.dir,
        )

    def source(self, name: str) -> Path | None:
        """The file `name` (relative to the captions folder) is read from: the first folder of
        the search path that has it."""
        for folder in self.search_path:
            if (folder / name).is_file():
                return folder / name
        return None

    def shown(self, name: str) -> str:
        """How an error names a template: a user's file by its full path (so staff know it is
        theirs, not the shipped one), a shipped one by its name under the captions folder."""
        path = self.source(name)
        return str(path) if path is not None and path != self.directory / name else name

    def template_name(self, campaign: str, channel: str, lang: str) -> str:
        for folder in (campaign, "default"):
            name = f"{folder}/{channel}.{lang}.j2"
            if self.source(name) is not None:
                return name
        raise CaptionTemplateError(
            f"no caption template for {channel} in {lang!r}", file=f"{campaign}/{channel}.{lang}.j2"
        )

    def write(
        self,
        member: Member,
        channel: str,
        lang: str = "id",
        *,
        campaign: CampaignInfo | None = None,
        slot: datetime | None = None,
        at: datetime | None = None,
    ) -> Caption:
        """The caption as it would be posted; personal data and mentions only with consent in
        force at `at` (compose passes its clock; previews use the writer's clock)."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        campaign = campaign or CampaignInfo()
        notes: list[str] = []
        if lang not in LANGUAGES:
            notes.append(f"language {lang!r} has no templates; Indonesian used")
            lang = "id"
        name = self.template_name(campaign.slug, channel, lang)
        omitted: list[str] = []
        view = MemberView(member, channel, lang, omitted, self.profile_url, at or self.clock())
        shown = dataclasses.replace(campaign, title=self.campaign_title(campaign.title, lang))
        blocks = self._render_blocks(
            name, {"member": view, "campaign": shown, "slot": slot, "lang": lang}
        )
        cap = {
            Channel.INSTAGRAM: self.limits.instagram_hashtags,
            Channel.FACEBOOK: self.limits.facebook_hashtags,
            Channel.YOUTUBE: self.limits.youtube_tags_max,
        }[channel]
        hashtags = member_hashtags(
            member.categories,
            member.province,
            member.sentra,
            member.actor_types,
            campaign.hashtags,
            cap,
            self.hashtag_table,
        )
        caption = Caption(channel, lang, name, "", hashtags=hashtags, omitted=omitted, notes=notes)
        if channel == Channel.YOUTUBE:
            self._youtube(caption, blocks, view.name)
        else:
            self._post(caption, blocks, view.name)
        if channel == Channel.INSTAGRAM:
            alt = " ".join(blocks.get("alt_text", "").split())
            caption.alt_text, _ = rules.shorten(alt, ALT_TEXT_CHARS)
            handle = view.mention()  # the same consent rule as the caption's @mention
            caption.user_tags = [handle.removeprefix("@")] if handle else []
        return caption

    def campaign_title(self, title: str, lang: str) -> str:
        """The campaign's title in the caption's language: titles.toml gives the English one
        ('Sorotan Anggota IFN' -> 'IFN Member Spotlight'); a title it does not list is shown as
        written (staff may have written it in English, or it is a name like 'Harbolnas 12.12')."""
        return self.titles.get(lang, {}).get(title, title)

    def _render_blocks(self, name: str, variables: dict[str, Any]) -> dict[str, str]:
        try:
            template = self.env.get_template(name)
            context = template.new_context(variables)
            return {
                block: clean("".join(render(context))) for block, render in template.blocks.items()
            }
        except TemplateSyntaxError as exc:
            raise CaptionTemplateError(
                exc.message or str(exc), file=self.shown(name), line=exc.lineno
            ) from None
        except TemplateNotFound as exc:
            raise CaptionTemplateError(
                f"template {exc.name} not found", file=self.shown(name)
            ) from None
        except Exception as exc:  # a template error, or a Python one (`name + 1`) in a template
            try:  # rendering blocks directly skips Jinja's traceback rewriting: ask for it
                self.env.handle_exception()
            except Exception as rewritten:
                line = _template_line(rewritten, name)
            else:  # pragma: no cover  (handle_exception always raises)
                line = None
            message = str(exc) if isinstance(exc, TemplateError) else f"{type(exc).__name__}: {exc}"
            raise CaptionTemplateError(message, file=self.shown(name), line=line) from None

    def _post(self, caption: Caption, blocks: dict[str, str], member_name: str) -> None:
        instagram = caption.channel == Channel.INSTAGRAM
        limit = self.limits.instagram_chars if instagram else self.limits.facebook_chars
        cap = self.limits.instagram_hashtags if instagram else self.limits.facebook_hashtags
        body, footer = blocks.get("body", ""), blocks.get("footer", "")
        # hashtags and mentions the template or the member's own text already carries count
        # against the caps: ours fill what is left, theirs beyond the caps lose their # or @
        body = _demote(body, "#", cap, caption, "body")
        footer = _demote(footer, "#", cap - len(rules.hashtags_in(body)), caption, "footer")
        if instagram:
            most = self.limits.instagram_mentions
            body = _demote(body, "@", most, caption, "body")
            footer = _demote(footer, "@", most - len(rules.mentions_in(body)), caption, "footer")
        carried = rules.hashtags_in(body + "\n" + footer)  # Instagram counts repeats too
        present = {h.casefold() for h in carried}
        room_for_tags = max(0, cap - len(carried))
        ours = [h for h in caption.hashtags if h.casefold() not in present][:room_for_tags]
        while True:
            tail = "\n\n".join(p for p in (footer, " ".join(ours)) if p)
            if len(tail) <= limit or not ours:
                break
            ours.pop()  # the footer must stay; our hashtags give way first
        if len(tail) > limit:
            tail, removed = rules.shorten(tail, limit)
            caption.cuts.append(rules.Cut("footer", removed, f"over {limit:,} characters"))
            body = ""
        caption.hashtags = ours
        room = limit - len(tail) - (2 if tail and body else 0)
        if len(body) > room:
            body, removed = rules.shorten(body, max(room, 0), protect=_protect(body, member_name))
            if removed:
                caption.cuts.append(rules.Cut("body", removed, f"over {limit:,} characters"))
            if len(body) > room:  # even the protected part does not fit: drop the body
                caption.cuts.append(rules.Cut("body", body, f"over {limit:,} characters"))
                body = ""
        caption.text = "\n\n".join(p for p in (body, tail) if p)
        check = rules.check_instagram if instagram else rules.check_facebook
        caption.violations = check(caption.text, self.limits)

    def _youtube(self, caption: Caption, blocks: dict[str, str], member_name: str) -> None:
        title = rules.youtube_safe(blocks.get("title", "").replace("\n", " "))
        if len(title) > self.limits.youtube_title_chars:
            title, removed = rules.shorten(
                title, self.limits.youtube_title_chars, protect=_protect(title, member_name)
            )
            caption.cuts.append(rules.Cut("title", removed, "over 100 characters"))
        tail = "\n\n".join(
            p for p in (blocks.get("footer", ""), " ".join(caption.hashtags[:3])) if p
        )
        tail = rules.youtube_safe(tail)
        body = rules.youtube_safe(blocks.get("body", ""))
        budget = self.limits.youtube_description_bytes - rules.utf8_bytes(tail) - 2
        if rules.utf8_bytes(body) > budget:
            body, removed = rules.shorten(
                body, max(budget, 0), measure=rules.utf8_bytes, protect=_protect(body, member_name)
            )
            caption.cuts.append(rules.Cut("description", removed, "over 5,000 bytes"))
        wanted = [t.strip() for t in blocks.get("tags", "").split("\n") if t.strip()]
        wanted += [h.lstrip("#") for h in caption.hashtags]
        # YouTube splits tags at commas: a comma inside a name must not make two tags
        wanted = [" ".join(rules.youtube_safe(t).replace(",", " ").split()) for t in wanted]
        wanted = [t for t in dict.fromkeys(wanted) if t]
        tags, dropped = rules.fit_tags(
            wanted, self.limits.youtube_tags_chars, self.limits.youtube_tags_max
        )
        if dropped:
            caption.cuts.append(rules.Cut("tags", ", ".join(dropped), "over 500 characters"))
        caption.title = title
        caption.text = "\n\n".join(p for p in (body, tail) if p)
        caption.tags = tags
        caption.violations = rules.check_youtube(title, caption.text, tags, self.limits)


def _demote(text: str, sign: str, cap: int, caption: Caption, field: str) -> str:
    """Keep the first `cap` #tags (or @mentions) of a text; later ones become plain words."""
    spans = rules.token_spans(text, sign)
    if len(spans) <= cap:
        return text
    extra = spans[cap:]
    for start, _end in reversed(extra):
        text = text[:start] + text[start + 1 :]
    what = "hashtags" if sign == "#" else "mentions"
    removed = " ".join(f"{sign}…" for _ in extra)
    caption.cuts.append(rules.Cut(field, removed, f"more than {cap} {what}: {len(extra)} unlinked"))
    return text


def _protect(text: str, name: str) -> int:
    """Shortening never cuts into the member's name where it first appears."""
    at = text.find(name) if name else -1
    return at + len(name) if at >= 0 else 0


def _template_line(exc: BaseException, name: str) -> int | None:
    """The template line of a render-time error, from Jinja's rewritten traceback."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename and frame.filename.replace("\\", "/").endswith(name):
            return frame.lineno
    return None


@pass_context
def _tanggal(context: Any, moment: datetime | None) -> str:
    return tanggal(moment, context.get("lang", "id"))


@pass_context
def _angka(context: Any, value: Any) -> str:
    return angka(value, context.get("lang", "id"))


@pass_context
def _negara(context: Any, code: str) -> str:
    return country(code, context.get("lang", "id"))


@pass_context
def _daftar(context: Any, items: Any) -> str:
    if isinstance(items, str):  # a lone string would become a list of its letters
        raise TypeError("daftar takes a list, not a string")
    return daftar(items, context.get("lang", "id"))


def campaign_titles(path: Path, shown: str | None = None) -> dict[str, dict[str, str]]:
    """Campaign titles by language, from titles.toml; no file, no translations. A malformed
    file is a CaptionTemplateError naming it (as `shown`, else its file name), as a broken
    template would be."""
    label = shown or path.name
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise CaptionTemplateError(f"cannot read campaign titles: {exc}", file=label) from None
    titles: dict[str, dict[str, str]] = {}
    for lang, table in data.items():
        if lang not in LANGUAGES or not isinstance(table, dict):
            raise CaptionTemplateError(
                f"[{lang}] is not a language table (one of {', '.join(LANGUAGES)})", file=label
            )
        for source, title in table.items():
            if not isinstance(title, str) or not title.strip():
                raise CaptionTemplateError(
                    f"[{lang}] {source!r}: the title must be a non-empty string", file=label
                )
        titles[lang] = {source: " ".join(title.split()) for source, title in table.items()}
    return titles


def check_edit(
    channel: str,
    text: str,
    limits: rules.Limits,
    *,
    title: str = "",
    tags: list[str] | None = None,
) -> list[rules.Violation]:
    """Staff's own caption for one post, held to the same platform rules as a template's."""
    if channel == Channel.INSTAGRAM:
        return rules.check_instagram(text, limits)
    if channel == Channel.FACEBOOK:
        return rules.check_facebook(text, limits)
    if channel == Channel.YOUTUBE:
        return rules.check_youtube(title, text, tags or [], limits)
    raise ValueError(f"unknown channel {channel!r}")
