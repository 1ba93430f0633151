"""The console's two languages: Indonesian first, English by a switch per user.

Every string is English in the templates and code and goes through gettext; the Indonesian
catalogue (`ifn_campaign/console/locale/id/LC_MESSAGES/console.po`, compiled to `.mo` by
`make messages`) translates it. Dates and numbers follow Babel's id_ID (or en_GB), times are
shown in the display time zone (WIB by default).
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal, format_percent

__all__ = ["LANGUAGES", "LOCALES", "STATE_NAMES", "Formats", "state_namer", "translations"]

LANGUAGES = ("id", "en")
LOCALES = {"id": "id_ID", "en": "en_GB"}
DOMAIN = "console"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of `language` (English is the source text: no catalogue)."""
    if language == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[language])


def N_(text: str) -> str:
    """Marks a string for `make messages` where it is translated later (at render time)."""
    return text


# A post's state as staff read it (the badges): the English words, translated per language.
STATE_NAMES: dict[str, str] = {
    "planned": N_("planned"),
    "composed": N_("composed"),
    "approved": N_("approved"),
    "scheduled": N_("scheduled"),
    "publishing": N_("publishing"),
    "published": N_("published"),
    "failed": N_("failed"),
    "needs_reauth": N_("needs re-authorisation"),
    "missed": N_("missed"),
    "cancelled": N_("cancelled"),
}


def state_namer(language: str) -> Callable[[object], str]:
    """The `state_name` filter of a language's templates: `{{ post.state|state_name }}` reads
    'siap ditinjau' in Indonesian; a value that is not a post state is shown as it is."""
    gettext_ = translations(language).gettext

    def state_name(state: object) -> str:
        key = str(getattr(state, "value", state) or "")
        return gettext_(STATE_NAMES[key]) if key in STATE_NAMES else key

    return state_name


class Formats:
    """Dates, times and numbers for one language and zone: the Jinja filters of a page."""

    def __init__(self, language: str, zone: ZoneInfo) -> None:
        self.locale = LOCALES[language]
        self.zone = zone

    def shown(self, moment: datetime) -> datetime:
        """`moment`, or for an absurd stored time the display zone cannot hold (a consent date
        of 9999-12-31 23:59 UTC is in the year 10000 in WIB) the nearest one it can: a page
        shows it instead of failing."""
        try:
            moment.astimezone(self.zone)
        except OverflowError:
            edge = datetime.max if moment.year > 1 else datetime.min
            return edge.replace(tzinfo=self.zone)
        return moment

    def datetime(self, moment: datetime | None, format: str = "medium") -> str:
        if moment is None:
            return ""
        moment = self.shown(moment)
        return format_datetime(moment, format, tzinfo=self.zone, locale=self.locale)

    def when(self, moment: datetime | None) -> str:
        """'Sel, 8 Des 2026 19.00' in the display zone: how the console shows a slot."""
        if moment is None:
            return ""
        moment = self.shown(moment)
        return format_datetime(moment, "EEE, d MMM y HH.mm", tzinfo=self.zone, locale=self.locale)

    def time(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        moment = self.shown(moment)
        return format_time(moment, "HH.mm", tzinfo=self.zone, locale=self.locale)

    def date(self, day: date | datetime | None, format: str = "medium") -> str:
        if day is None:
            return ""
        if isinstance(day, datetime):
            day = self.shown(day).astimezone(self.zone).date()
        return format_date(day, format, locale=self.locale)

    def number(self, value: float | int | None) -> str:
        return "" if value is None else format_decimal(value, locale=self.locale)

    def fixed(self, value: float | None, digits: int = 2) -> str:
        """A number with exactly `digits` decimals ('1,30' in Indonesian): an index or a ratio,
        where '1,3' beside '1,25' reads as less precise."""
        if value is None:
            return ""
        return format_decimal(value, "#,##0." + "0" * digits, locale=self.locale)

    def percent(self, value: float | None) -> str:
        return "" if value is None else format_percent(value, "#,##0.#%", locale=self.locale)

    def zone_name(self, moment: datetime) -> str:
        """'WIB' for Asia/Jakarta (the abbreviation the zone database gives)."""
        return self.shown(moment).astimezone(self.zone).tzname() or str(self.zone)
