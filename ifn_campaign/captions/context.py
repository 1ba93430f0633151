"""What a caption template may see of a member, gated by consent, and the helpers it may call.

Personal data (owner name, phone, WhatsApp, e-mail, owner photo) reaches a caption only when the
member's consent record allows that field; otherwise the template gets an empty string and the
omission is recorded, so a template asking for it still renders (UU PDP, DESIGN.md "consent
first"). A handle becomes a mention only on a channel the member consented to.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_decimal

from ifn_campaign.models import Member
from ifn_campaign.registry.record import vocabulary

LOCALES = {"id": "id_ID", "en": "en_US"}
JAKARTA = ZoneInfo("Asia/Jakarta")
DATE_PATTERNS = {
    "id": "EEEE, d MMMM y 'pukul' HH.mm z",
    "en": "EEEE, d MMMM y 'at' HH:mm z",
}


class MemberView:
    """Read-only, consent-gated view of a member for one channel and language."""

    def __init__(
        self,
        member: Member,
        channel: str,
        lang: str,
        omitted: list[str],
        profile_url: str,
    ) -> None:
        self._member = member
        self._channel = channel
        self._lang = lang
        self._omitted = omitted
        self._profile_url = profile_url

    def _personal(self, field: str, value: str | None) -> str:
        if not value:
            return ""
        if field in self._member.consent_fields_allowed:
            return value
        if field not in self._omitted:
            self._omitted.append(field)
        return ""

    # public business facts -------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._member.id

    @property
    def name(self) -> str:
        return self._member.business_name

    @property
    def city(self) -> str:
        return self._member.city or ""

    @property
    def province(self) -> str:
        return self._member.province or ""

    @property
    def sentra(self) -> str:
        return self._member.sentra or ""

    @property
    def place(self) -> str:
        return ", ".join(dict.fromkeys(p for p in (self.city, self.province) if p))

    @property
    def description(self) -> str:
        """The description in the caption's language, Indonesian when there is no other."""
        if self._lang == "en" and self._member.description_en:
            return self._member.description_en
        return self._member.description_id

    @property
    def actor_types(self) -> list[str]:
        return labels("actor_types", self._member.actor_types, self._lang)

    @property
    def categories(self) -> list[str]:
        return labels("categories", self._member.categories, self._lang)

    @property
    def materials(self) -> list[str]:
        return labels("materials", self._member.materials, self._lang)

    @property
    def year_founded(self) -> int | None:
        return self._member.year_founded

    @property
    def employees(self) -> int | None:
        return self._member.employees

    @property
    def capacity_pairs_per_month(self) -> int | None:
        return self._member.capacity_pairs_per_month

    @property
    def export_markets(self) -> list[str]:
        return [country(code, self._lang) for code in self._member.export_markets]

    @property
    def certifications(self) -> list[str]:
        return [
            " ".join(p for p in (c.get("scheme"), c.get("number")) if p)
            for c in self._member.certifications
        ]

    @property
    def website(self) -> str:
        return str(self._member.contact.get("website") or "")

    @property
    def profile_url(self) -> str:
        return self._profile_url.format(id=self._member.id)

    def mention(self, platform: str | None = None) -> str:
        """'@handle' on this (or the given) platform when given and consented to, else ''."""
        platform = platform or self._channel
        handle = self._member.socials.get(platform)
        if not handle or platform not in self._member.consent_channels:
            return ""
        return f"@{handle}"

    # personal data: only with consent --------------------------------------------------------
    @property
    def owner_name(self) -> str:
        return self._personal("owner_name", self._member.owner_name)

    @property
    def phone(self) -> str:
        return self._personal("phone", self._member.contact.get("phone"))

    @property
    def whatsapp(self) -> str:
        return self._personal("whatsapp", self._member.contact.get("whatsapp"))

    @property
    def email(self) -> str:
        return self._personal("email", self._member.contact.get("email"))


def labels(kind: str, words: Iterable[str], lang: str) -> list[str]:
    """Display names of vocabulary words in the language; unknown words as written."""
    table = vocabulary()[kind]
    key = "en" if lang == "en" else "id"
    return [table.get(w, {}).get(key, w.replace("_", " ")) for w in words]


@cache
def _territories(lang: str) -> dict[str, str]:
    return dict(Locale.parse(LOCALES.get(lang, "id_ID")).territories)


def country(code: str, lang: str = "id") -> str:
    return _territories(lang).get(code, code)


def tanggal(moment: datetime | None, lang: str = "id") -> str:
    """A slot time as people read it: 'Jumat, 12 Desember 2025 pukul 19.30 WIB'."""
    if moment is None:
        return ""
    return format_datetime(
        moment,
        DATE_PATTERNS.get(lang, DATE_PATTERNS["id"]),
        tzinfo=JAKARTA,
        locale=LOCALES.get(lang, "id_ID"),
    )


def angka(value: Any, lang: str = "id") -> str:
    """Numbers the Indonesian way: 1.271.000 and 5,12."""
    if value is None or value == "":
        return ""
    return format_decimal(value, locale=LOCALES.get(lang, "id_ID"))
