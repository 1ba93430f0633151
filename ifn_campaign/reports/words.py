"""The report page's language: its labels (`templates/report/labels.toml`, Indonesian and
English) and how it writes times, dates, numbers and shares in each (CLDR through babel: "Sen
2026-11-02 19.00 WIB" and "12.345" in Indonesian, "Mon 2026-11-02 19:00 WIB" and "12,345" in
English).

The page is Indonesian by default; English is a switch (`--lang en`). Both versions are
written side by side and link to each other (`PAGE_NAMES`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, get_day_names
from babel.numbers import format_decimal, format_percent

from ifn_campaign import bundled
from ifn_campaign.errors import UnknownValueError

__all__ = ["LANGS", "PAGE_NAMES", "Lang", "Words", "check_lang", "labels"]

Lang = Literal["id", "en"]
LANGS: tuple[Lang, ...] = ("id", "en")
PAGE_NAMES: dict[Lang, str] = {"id": "index.html", "en": "index.en.html"}
_TIME = {"id": "EEE yyyy-MM-dd HH.mm", "en": "EEE yyyy-MM-dd HH:mm"}


def check_lang(lang: str) -> Lang:
    """`lang` if the report is written in it, else an UnknownValueError naming the choices."""
    if lang not in LANGS:
        # the wording of every closed value (cli.base.unknown)
        raise UnknownValueError(f"unknown language {lang!r}; valid: {', '.join(LANGS)}")
    return lang  # type: ignore[return-value]


@cache
def labels() -> dict[str, dict[str, str]]:
    """Every label of the page per language, as shipped (`templates/report/labels.toml`)."""
    with (bundled.templates("report") / "labels.toml").open("rb") as file:
        return tomllib.load(file)


@dataclass(frozen=True)
class Words:
    """One language's labels (`words.t["summary"]`) and formats, for the page template."""

    lang: Lang
    zone: ZoneInfo

    @property
    def t(self) -> dict[str, str]:
        return labels()[self.lang]

    def when(self, moment: datetime) -> str:
        """A moment on the display zone's wall clock with the zone's abbreviation."""
        local = moment.astimezone(self.zone)
        abbr = local.tzname() or self.zone.key
        return f"{format_datetime(local, _TIME[self.lang], locale=self.lang)} {abbr}"

    def day(self, day: date) -> str:
        return format_date(day, "d MMM yyyy", locale=self.lang)

    def month(self, moment: datetime) -> str:
        """The calendar month of `moment` in the display zone ("November 2026")."""
        return format_date(moment.astimezone(self.zone), "LLLL yyyy", locale=self.lang)

    def weekday(self, weekday: int) -> str:
        """The weekday's name, 0 for Monday."""
        return str(get_day_names("wide", locale=self.lang)[weekday])

    def number(self, value: float) -> str:
        return str(format_decimal(value, "#,##0", locale=self.lang))

    def share(self, value: float) -> str:
        return str(format_percent(value, "#,##0.0%", locale=self.lang))

    def group(self, dimension: str, value: str | None, label: str) -> str:
        """A ledger group in this language: a category or actor type by its vocabulary name in
        it (the ledger's label says both languages), anything else as the ledger labels it."""
        from ifn_campaign.registry.record import vocabulary

        kind = {"category": "categories", "actor_type": "actor_types"}.get(dimension)
        names = vocabulary().get(kind, {}) if kind else {}
        return names[value][self.lang] if value in names else label
