"""What a caption template may see of a member, gated by consent, and the helpers it may call.

Personal data (owner name, phone, WhatsApp, e-mail, owner photo) reaches a caption only when the
member's consent record allows that field; otherwise the template gets an empty string and the
omission is recorded, so a template asking for it still renders (UU PDP, DESIGN.md "consent
first"). A handle becomes a mention only on a channel the member consented to. Consent counts
only once in force at the caption's time (`ifn_campaign.consent`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_decimal

from ifn_campaign.consent import ConsentState, consent_at
from ifn_campaign.models import Member
from ifn_campaign.registry.record import vocabulary

LOCALES = {"id": "id_ID", "en": "en_US"}
JAKARTA = ZoneInfo("Asia/Jakarta")
_SENTENCE = re.compile(r"(?<=[.!?])[ \t]+")
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
        at: datetime,
    ) -> None:
        self._member = member
        self._at = at
        self._channel = channel
        self._lang = lang
        self._omitted = omitted
        self._profile_url = profile_url

    @property
    def _consented(self) -> bool:
        """Consent in force at the caption's time: without it no personal data and no mention."""
        return consent_at(self._member, self._at) is ConsentState.IN_FORCE

    def _allowed(self, field: str) -> bool:
        return self._consented and field in self._member.consent_fields_allowed

    def _omit(self, field: str) -> None:
        if field not in self._omitted:
            self._omitted.append(field)

    def _personal(self, field: str, value: str | None) -> str:
        if not value:
            return ""
        if self._allowed(field):
            return value
        self._omit(field)
        return ""

    def _redacted(self, text: str) -> str:
        """Free text with the member's own unconsented personal data taken out: an owner who
        typed their phone number into the description has not thereby agreed to publish it."""
        for field, value in (
            ("owner_name", self._member.owner_name),
            ("phone", self._member.contact.get("phone")),
            ("whatsapp", self._member.contact.get("whatsapp")),
            ("email", self._member.contact.get("email")),
        ):
            if not value or self._allowed(field):
                continue
            pattern = re.compile(
                _phone_pattern(value) if field in ("phone", "whatsapp") else re.escape(value),
                re.IGNORECASE,
            )
            kept = [s for s in _SENTENCE.split(text) if not pattern.search(s)]
            if len(kept) < len(_SENTENCE.split(text)):
                self._omit(f"{field} (in the text)")  # the whole sentence goes: it read as one
                text = " ".join(kept)
        return text

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
            return self._redacted(self._member.description_en)
        return self._redacted(self._member.description_id)

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
            self._redacted(" ".join(p for p in (c.get("scheme"), c.get("number")) if p))
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
        if not handle or not self._consented or platform not in self._member.consent_channels:
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


def _phone_pattern(e164: str) -> str:
    """A stored +62 number as people write it: +62 812-3456-7890, 0812 3456 7890, 62812..."""
    digits = e164.lstrip("+")
    national = digits[2:] if digits.startswith("62") else digits
    sep = r"[\s.\-()]*"
    body = sep.join(re.escape(d) for d in national)
    return rf"(?:\+?62{sep}|0{sep})?{body}"


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
