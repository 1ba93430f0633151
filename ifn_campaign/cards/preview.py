"""An HTML sheet of rendered cards for staff to review; member text is escaped (it is data).
Its time is shown in the display time zone (WIB by default), like every page and table."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import (
    Environment,
    FileSystemLoader,
    TemplateNotFound,
    TemplateSyntaxError,
    select_autoescape,
)
from jinja2 import TemplateError as JinjaTemplateError

from ifn_campaign import bundled
from ifn_campaign.cards.render import RenderedCard
from ifn_campaign.cards.template import formats
from ifn_campaign.config import PlannerSettings
from ifn_campaign.errors import InvalidValueError, SettingsError, TemplateError

PREVIEW_TEMPLATES = bundled.templates("preview")
DISPLAY_TIMEZONE: str = PlannerSettings.model_fields["display_timezone"].default


def html_environment(folders: Path | Sequence[Path]) -> Environment:
    """Jinja for the staff-facing HTML pages in `folders` (this sheet, the campaign report; a
    user's folder before the shipped one, `bundled.template_dirs`): autoescaped, because names,
    captions and reasons are member-supplied data."""
    return Environment(
        loader=FileSystemLoader(folders),
        autoescape=select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )


def render_page(folders: Path | Sequence[Path], name: str, **variables: Any) -> str:
    """The page `name` rendered from `folders`; a template that cannot be used (a user's
    restyled page with a slip in it) is a TemplateError naming its file and line, not a Jinja
    traceback."""
    env = html_environment(folders)
    try:
        template = env.get_template(name)
    except TemplateSyntaxError as exc:
        where = f"line {exc.lineno}: " if exc.lineno else ""
        raise TemplateError(f"{where}{exc.message}", file=exc.filename or name) from None
    except TemplateNotFound:
        raise TemplateError("page template not found", file=name) from None
    try:
        return template.render(**variables)
    except JinjaTemplateError as exc:
        raise TemplateError(str(exc), file=template.filename or name) from None


def export(cards: Sequence[RenderedCard], out_dir: Path) -> list[Path]:
    """Copy cards out of the cache under readable names: <member>/<template>-<format>.jpg."""
    paths = []
    for card in cards:
        target = out_dir / card.member_id / f"{card.template}-{card.format}{card.path.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            target.unlink()
        try:
            os.link(card.path, target)
        except OSError:  # another file system: copy instead
            shutil.copyfile(card.path, target)
        paths.append(target)
    return paths


def write_preview(
    cards: Sequence[RenderedCard],
    files: Sequence[Path],
    names: dict[str, str],
    out_dir: Path,
    title: str = "Pratinjau kartu promosi IFN",
    captions: dict[str, list[tuple[str, str]]] | None = None,
    *,
    display_timezone: str = DISPLAY_TIMEZONE,
    made_at: datetime | None = None,
    templates_dir: Path | None = None,
) -> Path:
    """preview.html in out_dir showing every card with its format and notes, saying when it was
    made (`made_at`, default now) in `display_timezone` (the settings' planner.display_timezone);
    `templates_dir/preview/cards.html.j2` (the settings' templates.dir), when there, restyles it."""
    from ifn_campaign.reports.page import when

    try:
        zone = ZoneInfo(display_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"preview: unknown time zone {display_timezone!r}") from None
    moment = made_at or datetime.now(UTC)
    if moment.tzinfo is None:
        raise InvalidValueError(
            f"preview made_at {moment} has no time zone: give an aware datetime"
        )
    members: dict[str, dict[str, object]] = {}
    known = formats()
    for card, path in zip(cards, files, strict=True):
        entry = members.setdefault(
            card.member_id,
            {
                "id": card.member_id,
                "name": names.get(card.member_id, card.member_id),
                "template": card.template,
                "cards": [],
                "captions": (captions or {}).get(card.member_id, []),
            },
        )
        entry["cards"].append(  # type: ignore[union-attr]
            {
                "href": path.relative_to(out_dir).as_posix(),
                "title": known[card.format].title,
                "width": card.width,
                "height": card.height,
                "cached": card.cached,
                "notes": card.notes,
            }
        )
    html = render_page(
        bundled.template_dirs("preview", templates_dir),
        "cards.html.j2",
        title=title,
        cards=cards,
        members=list(members.values()),
        made=when(moment, zone),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "preview.html"
    target.write_text(html, encoding="utf-8")
    return target
