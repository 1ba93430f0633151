"""An HTML sheet of rendered cards for staff to review; member text is escaped (it is data).
Its time is shown in the display time zone (WIB by default), like every page and table."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ifn_campaign import bundled
from ifn_campaign.cards.render import RenderedCard
from ifn_campaign.cards.template import formats
from ifn_campaign.config import PlannerSettings
from ifn_campaign.errors import ConfigError, InvalidValueError

PREVIEW_TEMPLATES = bundled.templates("preview")
DISPLAY_TIMEZONE: str = PlannerSettings.model_fields["display_timezone"].default


def html_environment(folder: Path) -> Environment:
    """Jinja for the staff-facing HTML pages in `folder` (this sheet, the campaign report):
    autoescaped, because names, captions and reasons are member-supplied data."""
    return Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )


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
) -> Path:
    """preview.html in out_dir showing every card with its format and notes, saying when it was
    made (`made_at`, default now) in `display_timezone` (the settings' planner.display_timezone)."""
    from ifn_campaign.reports.campaign import when

    try:
        zone = ZoneInfo(display_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"preview: unknown time zone {display_timezone!r}") from None
    moment = made_at or datetime.now(UTC)
    if moment.tzinfo is None:
        raise InvalidValueError(
            f"preview made_at {moment} has no time zone: give an aware datetime"
        )
    env = html_environment(PREVIEW_TEMPLATES)
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
    html = env.get_template("cards.html.j2").render(
        title=title,
        cards=cards,
        members=list(members.values()),
        made=when(moment, zone),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "preview.html"
    target.write_text(html, encoding="utf-8")
    return target
