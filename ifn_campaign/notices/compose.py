"""A member notice rendered from the staff-editable templates under `templates/notices/`.

Each kind (before, update, cancelled, after, receipt) has, per language (`id/`, `en/`), a text
template `<kind>.txt.j2` holding three blocks (`subject`, `body`: the e-mail's plain-text part,
`short`: the Apprise/WhatsApp message) and an HTML template `<kind>.html.j2` (autoescaped:
the business name and the caption are the member's and staff's data, never markup or template
code). A user's `templates.dir/notices/` overrides them file by file (`bundled.template_dirs`).

Times read as members read them: "Selasa, 8 Desember 2026 pukul 19.00 WIB", "Tuesday, 8 December
2026 at 19:00 WIB", in `planner.display_timezone`; numbers too: "12.345" in Indonesian, "12,345"
in English (a receipt's figures).
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
)
from jinja2 import TemplateError as JinjaTemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ifn_campaign import bundled
from ifn_campaign.captions.context import DATE_PATTERNS, angka
from ifn_campaign.channels.channel import Channel
from ifn_campaign.config import Settings
from ifn_campaign.errors import TemplateError
from ifn_campaign.insights.figures import Figures
from ifn_campaign.models import NoticeKind, NoticeMedium
from ifn_campaign.notices.contacts import LANGUAGES

__all__ = [
    "CHANNEL_NAMES",
    "Message",
    "NoticeFacts",
    "NoticeWriter",
    "when",
    "zone_label",
]

CHANNEL_NAMES = {channel: channel.label for channel in Channel}
# the captions' way of saying a time, as the member page and the showcase say it too (the zone
# is Indonesia's own name for it, added after)
_PATTERNS = {lang: pattern.removesuffix(" z") for lang, pattern in DATE_PATTERNS.items()}
_LOCALES = {"id": "id_ID", "en": "en_GB"}
# Indonesia's own names for its three zones; elsewhere the zone's abbreviation
_ZONE_LABELS = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}
_BLANKS = re.compile(r"\s+")
_EXTRA_BLANK_LINES = re.compile(r"\n{3,}")


def zone_label(moment: datetime, zone: ZoneInfo) -> str:
    return _ZONE_LABELS.get(zone.key) or moment.astimezone(zone).tzname() or zone.key


def when(moment: datetime, language: str, zone: ZoneInfo) -> str:
    """'Selasa, 8 Desember 2026 pukul 19.00 WIB' / 'Tuesday, 8 December 2026 at 19:00 WIB'."""
    lang = language if language in _PATTERNS else "id"
    local = moment.astimezone(zone)
    text = format_datetime(local, _PATTERNS[lang], tzinfo=zone, locale=_LOCALES[lang])
    return f"{text} {zone_label(moment, zone)}"


@dataclass(frozen=True)
class NoticeFacts:
    """What one notice says about one post: the data its templates are given (never code)."""

    kind: NoticeKind
    business_name: str
    channel: Channel
    slot_at: datetime
    page_url: str
    unsubscribe_url: str
    caption: str | None = None
    card: Path | None = None  # the post's card, attached inline when the file is there
    permalink: str | None = None
    previous_slot_at: datetime | None = None  # update: the time the member was told before
    caption_changed: bool = False  # update: the caption differs from what they were told
    account: str = ""  # the account it went out on ("bpipi")
    figures: Figures | None = None  # receipt: the latest figures (None: none read yet)
    figures_partial: bool = False  # receipt: not from the receipt's mark (read earlier)
    post_gone: bool = False  # receipt: the post is no longer on the platform


@dataclass(frozen=True)
class Message:
    """A notice as it is stored in the outbox: the subject, the plain text (for Apprise: the
    short message), the HTML (e-mail only) and the files attached inline."""

    subject: str
    text: str
    html: str | None
    attachments: list[dict[str, str]] = field(default_factory=list)


def _one_line(text: str) -> str:
    """A subject is one header line: whatever a template or the data put in it, no CR/LF."""
    return _BLANKS.sub(" ", text).strip()


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return _EXTRA_BLANK_LINES.sub("\n\n", "\n".join(lines)) + "\n"


class NoticeWriter:
    """Renders notices from `templates/notices/` (and the user's `templates.dir/notices/`)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.zone = ZoneInfo(settings.planner.display_timezone)
        self.folders = bundled.template_dirs("notices", settings.templates.dir)
        self.env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(self.folders),
            undefined=StrictUndefined,
            # .html.j2 escapes everything it is given; the text parts are not HTML
            autoescape=lambda name: bool(name and name.endswith(".html.j2")),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def _template(self, name: str) -> Template:
        try:
            return self.env.get_template(name)
        except TemplateSyntaxError as exc:
            where = f"line {exc.lineno}: " if exc.lineno else ""
            raise TemplateError(f"{where}{exc.message}", file=exc.filename or name) from None
        except TemplateNotFound:
            raise TemplateError("notice template not found", file=f"notices/{name}") from None
        except (OSError, UnicodeDecodeError) as exc:  # a staff file unreadable, or not UTF-8
            raise TemplateError(
                f"cannot be read ({type(exc).__name__}: {exc})", file=f"notices/{name}"
            ) from None

    def _render(self, template: Template, block: str | None, context: dict[str, Any]) -> str:
        try:
            if block is None:
                return template.render(context)
            if block not in template.blocks:
                raise TemplateError(
                    f"no {{% block {block} %}}", file=template.filename or template.name or "?"
                )
            ctx = template.new_context(context)
            return "".join(template.blocks[block](ctx))
        except TemplateError:
            raise
        except JinjaTemplateError as exc:
            raise TemplateError(str(exc), file=template.filename or template.name or "?") from None
        except Exception as exc:  # staff code failing as Python ({{ 1 // 0 }}, a filter's args)
            raise TemplateError(
                f"{type(exc).__name__}: {exc}", file=template.filename or template.name or "?"
            ) from None

    def _figures(self, facts: NoticeFacts, language: str) -> dict[str, Any]:
        """A receipt's figures as the member reads them ("12.345"; "" where there is none)."""
        figures = facts.figures
        metrics = figures.metrics if figures is not None else {}

        def shown(value: int | None) -> str:
            return angka(value, language) if value is not None else ""

        reach = figures.reach if figures is not None else None
        return {
            "has_figures": figures is not None,
            "reach": shown(reach),
            "reach_number": reach,
            "reach_is_views": facts.channel == Channel.YOUTUBE,  # YouTube counts views, not people
            # under the platforms' own names: Facebook gives reactions where the others give likes
            "likes": shown(metrics.get("likes")),
            "reactions": shown(metrics.get("reactions")),
            "comments": shown(metrics.get("comments")),
            # the plain numbers, for words that agree with them ("1 like", "2 likes")
            "likes_number": metrics.get("likes"),
            "reactions_number": metrics.get("reactions"),
            "comments_number": metrics.get("comments"),
            "figures_when": when(figures.read_at, language, self.zone) if figures else "",
            "figures_partial": facts.figures_partial,
            "post_gone": facts.post_gone,
            "receipt_days": self.settings.notices.receipt_days,
        }

    def context(self, facts: NoticeFacts, language: str, cid: str | None) -> dict[str, Any]:
        """The values a notice template sees (documented in templates/README.md)."""
        previous = facts.previous_slot_at
        return self._figures(facts, language) | {
            "kind": facts.kind.value,
            "language": language,
            "business_name": facts.business_name,
            "channel": CHANNEL_NAMES.get(facts.channel, str(facts.channel)),
            "account": facts.account,
            "when": when(facts.slot_at, language, self.zone),
            "previous_when": when(previous, language, self.zone) if previous else None,
            "slot_changed": previous is not None and previous != facts.slot_at,
            "caption_changed": facts.caption_changed,
            "caption": facts.caption or "",
            "card_cid": cid,
            "permalink": facts.permalink or "",
            "page_url": facts.page_url,
            "unsubscribe_url": facts.unsubscribe_url,
            "days_ahead": self.settings.notices.days_ahead,
            "link_days": self.settings.member_page.link_days,
        }

    def compose(
        self, facts: NoticeFacts, language: str, medium: NoticeMedium, *, cid: str
    ) -> Message:
        """The notice in `language` for `medium`; `cid` names the card inline (a Content-ID
        without its angle brackets) when the post has a card file."""
        lang = language if language in LANGUAGES else "id"
        card = facts.card if facts.card is not None and facts.card.is_file() else None
        attachments = []
        if card is not None:
            mime = mimetypes.guess_type(card.name)[0] or "application/octet-stream"
            attachments.append({"path": str(card), "mime": mime, "cid": cid})
        context = self.context(facts, lang, cid if card is not None else None)
        text = self._template(f"{lang}/{facts.kind.value}.txt.j2")
        subject = _one_line(self._render(text, "subject", context))
        if not subject:
            raise TemplateError("the subject is empty", file=text.filename or "?")
        if medium is NoticeMedium.APPRISE:  # a text message: no HTML, nothing attached
            return Message(subject, _tidy(self._render(text, "short", context)), None, [])
        html = self._render(self._template(f"{lang}/{facts.kind.value}.html.j2"), None, context)
        if attachments and f"cid:{cid}" not in html:
            # a card the HTML does not show (after, cancelled, a staff template without it) is
            # not sent: mail apps list an unshown inline part as a stray attachment; and the
            # text, written without it, does not say it is attached
            attachments = []
            context = context | {"card_cid": None}
        body = _tidy(self._render(text, "body", context))
        return Message(subject, body, html, attachments)
