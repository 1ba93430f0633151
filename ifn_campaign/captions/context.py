"""What a caption template may see of a member, gated by consent, and the helpers it may call.

Personal data (owner name, phone, WhatsApp, e-mail, owner photo) reaches a caption only when the
member's consent record allows that field; otherwise the template gets an empty string and the
omission is recorded, so a template asking for it still renders (UU PDP: consent first;
docs/explanation/consent.md). A handle becomes a mention only on a channel the member
consented to. Consent counts only once in force at the caption's time
(`ifn_campaign.registry.consent`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from datetime import datetime
from functools import cache, cached_property
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_decimal

from ifn_campaign import bundled
from ifn_campaign.models import Member
from ifn_campaign.registry.consent import ConsentState, allowed_fields, consent_at, listed
from ifn_campaign.registry.record import stored_map, vocabulary

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
        return self._consented and field in allowed_fields(self._member)

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
            ("phone", stored_map(self._member.contact).get("phone")),
            ("whatsapp", stored_map(self._member.contact).get("whatsapp")),
            ("email", stored_map(self._member.contact).get("email")),
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
        """The city or regency as readers of the caption's language write it: 'Kab. Bogor' in
        Indonesian, 'Bogor Regency' in English ('Kota Bandung' is plain 'Bandung')."""
        return city_name(self._member.city or "", self._lang)

    @property
    def province(self) -> str:
        """The province in the caption's language ('Jawa Timur', 'East Java')."""
        province = self._member.province or ""
        return labels("provinces", [province], self._lang)[0] if province else ""

    @property
    def sentra(self) -> str:
        return self._member.sentra or ""

    @property
    def place(self) -> str:
        """City and province, the province left out when the city already says it."""
        return _place(self.city, self.province)

    @property
    def origin(self) -> str:
        """Where the member works, ready to follow 'Dari' / 'From': the sentra named once.

        'sentra Ciomas, Kab. Bogor, Jawa Barat'; 'sentra Sidoarjo, Jawa Timur' (not 'sentra
        Sidoarjo, Kab. Sidoarjo': the regency is the sentra's namesake); the place alone
        without a sentra. English: 'the Sidoarjo footwear centre, East Java'."""
        sentra = self.sentra
        if not sentra:
            return self.place
        city = "" if _same_place(sentra, self._member.city or "") else self.city
        if _SENTRA_WORD.match(sentra):  # "Sentra Sepatu Cibaduyut" says "sentra" itself
            named = sentra
        else:
            named = SENTRA_PHRASE.get(self._lang, SENTRA_PHRASE["id"]).format(sentra=sentra)
        return ", ".join(p for p in (named, _place(city, self.province)) if p)

    @cached_property  # `founded` and `markets` read it too; redacting it is the costly part
    def description(self) -> str:
        """The description in the caption's language. An English caption without an English
        description gets '' (never the Indonesian text under an English headline)."""
        if self._lang == "en":
            return self._redacted(self._member.description_en or "")
        return self._redacted(self._member.description_id)

    @property
    def founded(self) -> int | None:
        """The founding year, or None when the description shown already gives it: a caption
        says 'sejak 1978' once, not in the member's words and again in ours."""
        year = self._member.year_founded
        if year is None or re.search(rf"(?<!\d){year}(?!\d)", self.description):
            return None
        return year

    @property
    def team(self) -> int | None:
        """The number of people working there, or None when the description shown already gives
        it ('12 tenaga kerja', '12 people'): said once, as `founded`."""
        count = self._member.employees
        return None if count is None or _says_count(self.description, count, _PEOPLE) else count

    @property
    def capacity(self) -> int | None:
        """Pairs a month, or None when the description shown already gives them ('5.000 pasang',
        '5,000 pairs'): said once, as `founded`."""
        pairs = self._member.capacity_pairs_per_month
        return None if pairs is None or _says_count(self.description, pairs, _PAIRS) else pairs

    @property
    def markets(self) -> list[str]:
        """Export markets (country names), or [] when the description shown names every one of
        them already, by any name countries.toml knows ('pelanggan di Malaysia dan Brunei'
        needs no 'Pasar ekspor: Malaysia dan Brunei Darussalam' line)."""
        codes = self._member.export_markets
        text = self.description
        if codes and all(_mentions(text, code, self._lang) for code in codes):
            return []
        return self.export_markets

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
        """Country names in the caption's language; in English with 'the' where a sentence
        needs it ('the United States', 'the Netherlands')."""
        names = [country(code, self._lang) for code in self._member.export_markets]
        if self._lang == "en":
            names = [f"the {n}" if _WITH_THE.match(n) else n for n in names]
        return names

    @property
    def certifications(self) -> list[str]:
        """One item per scheme, its numbers together: 'ISO 9001:2015 (QMS/1/ID, QMS/2/ID)',
        not the scheme's name twice; the same certificate listed twice counts once; a number
        that begins with its scheme's name stands alone ('SNI 6449:2019')."""
        numbers: dict[str, dict[str, None]] = {}
        for cert in self._member.certifications:
            scheme = _scheme(" ".join(str(cert.get("scheme") or "").split()), self._lang)
            number = " ".join(str(cert.get("number") or "").split())
            if scheme and re.match(rf"{re.escape(scheme)}(?!\w)", number, re.IGNORECASE):
                # the number says it ('SNI 6449:2019', not 'SNI SNI 6449:2019'): an item alone
                numbers.setdefault(f"\0{number.casefold()}", {}).setdefault(number)
            elif scheme or number:
                numbers.setdefault(scheme, {}).setdefault(number)
        items = []
        for scheme, found in numbers.items():
            listed = [n for n in found if n]
            if scheme.startswith("\0"):
                items.extend(listed)
            elif len(listed) > 1 and scheme:
                items.append(f"{scheme} ({', '.join(listed)})")
            else:
                items.append(" ".join(p for p in (scheme, *listed) if p))
        return [self._redacted(item) for item in items]

    @property
    def website(self) -> str:
        return str(stored_map(self._member.contact).get("website") or "")

    @property
    def profile_url(self) -> str:
        return self._profile_url.format(id=self._member.id)

    def mention(self, platform: str | None = None) -> str:
        """'@handle' on this (or the given) platform when given and consented to, else ''."""
        platform = platform or self._channel
        handle = stored_map(self._member.socials).get(platform)
        if (
            not handle
            or not self._consented
            or platform not in listed(self._member.consent_channels)
        ):
            return ""
        return f"@{handle}"

    # personal data: only with consent --------------------------------------------------------
    @property
    def owner_name(self) -> str:
        return self._personal("owner_name", self._member.owner_name)

    @property
    def phone(self) -> str:
        return self._personal("phone", stored_map(self._member.contact).get("phone"))

    @property
    def whatsapp(self) -> str:
        return self._personal("whatsapp", stored_map(self._member.contact).get("whatsapp"))

    @property
    def email(self) -> str:
        return self._personal("email", stored_map(self._member.contact).get("email"))


# English country names read in a sentence with "the": the United States, the Netherlands
_WITH_THE = re.compile(
    r"^(?:United |Netherlands$|Philippines$|Czechia$|Czech Republic$|Dominican Republic$"
    r"|Central African Republic$|Bahamas$|Maldives$|Gambia$|Comoros$|Seychelles$"
    r"|.* Islands$|U\.S\. )"
)
SENTRA_PHRASE = {"id": "sentra {sentra}", "en": "the {sentra} footwear centre"}
_REGENCY = re.compile(r"^(?:kab\.\s*|kabupaten\s+)(?P<name>.+)$", re.IGNORECASE)
_CITY = re.compile(r"^kota\s+(?:adm\.\s+|administrasi\s+)?(?P<name>.+)$", re.IGNORECASE)
_SENTRA_WORD = re.compile(r"^sentra\s+(?:sepatu\s+|alas\s+kaki\s+)?", re.IGNORECASE)


def city_name(city: str, lang: str) -> str:
    """'Kab. Bogor' for Indonesian readers; 'Bogor Regency' and 'Bandung' for English ones."""
    if lang != "en":
        return city
    if regency := _REGENCY.match(city):
        return f"{_compass_first(regency['name'])} Regency"
    if town := _CITY.match(city):
        return _compass_first(town["name"])
    return _compass_first(city)


# Indonesian puts the compass word after the name, English before it: Jakarta Selatan is South
# Jakarta, Kab. Bandung Barat West Bandung Regency (as the provinces: Jawa Barat, West Java)
_COMPASS = {
    "barat daya": "Southwest",
    "barat laut": "Northwest",
    "tenggara": "Southeast",
    "timur laut": "Northeast",
    "utara": "North",
    "selatan": "South",
    "barat": "West",
    "timur": "East",
    "tengah": "Central",
    "pusat": "Central",
}
_COMPASS_AFTER = re.compile(
    r"^(?P<name>.+?)\s+(?P<way>" + "|".join(_COMPASS) + r")$", re.IGNORECASE
)


def _compass_first(name: str) -> str:
    """'Jakarta Selatan' -> 'South Jakarta'; a name without a compass word as it is."""
    found = _COMPASS_AFTER.match(" ".join(name.split()))
    if not found:
        return name
    return f"{_COMPASS[' '.join(found['way'].casefold().split())]} {found['name']}"


def _core(name: str) -> str:
    """A place's own name, casefolded: 'Kab. Sidoarjo', 'Kota Sidoarjo', 'Sentra Sepatu
    Sidoarjo' and 'Sidoarjo' are all 'sidoarjo'."""
    name = " ".join(name.split())
    for pattern in (_REGENCY, _CITY):
        if found := pattern.match(name):
            name = found["name"]
    return _SENTRA_WORD.sub("", name).casefold()


def _names(name: str, text: str) -> bool:
    """Whether the casefolded text names `name` as whole words."""
    return bool(re.search(rf"(?<!\w){re.escape(name.casefold())}(?!\w)", text))


# what a count in a description counts: people, or pairs of footwear (a number shortly before)
_PEOPLE = re.compile(
    r"\b(?:tenaga kerja|karyawan|pekerja|perajin|penjahit|orang|people|employees|workers|staff"
    r"|craftsmen|artisans)\b",
    re.IGNORECASE,
)
_PAIRS = re.compile(r"\b(?:pasang|pairs)\b", re.IGNORECASE)
_NUMBER = re.compile(
    r"(?<![\d.,])\d{1,3}(?:[.,]\d{3})+(?![\d]|[.,]\d)|(?<![\d.,])\d+(?![\d]|[.,]\d)"
)


def _says_count(text: str, value: int, unit: re.Pattern[str]) -> bool:
    """Whether the text gives `value` (written 5000, 5.000 or 5,000) as a count of `unit`:
    the unit's word within three words after the number ('12 tenaga kerja', '5.000 pasang
    per bulan', '12 skilled people'); 'minimal order 12 kodi' is not a team of 12."""
    for number in _NUMBER.finditer(text):
        if int(re.sub(r"[.,]", "", number[0])) != value:
            continue
        after = " ".join(text[number.end() :].split()[:4])  # the number's next words
        if unit.search(after):
            return True
    return False


def _mentions(text: str, code: str, lang: str) -> bool:
    """Whether the text names the country: by CLDR's name, the caption's name or a short one
    from countries.toml. A name in capitals (AS, UK) counts only as written: 'us' is a word."""
    entry = _country_names(lang).get(code, {})
    names = {_territories(lang).get(code, code), country(code, lang), *entry.get("also", [])}
    folded = text.casefold()
    for name in names:
        if name.isupper():
            if re.search(rf"(?<![\w.]){re.escape(name)}(?![\w]|\.\w)", text):
                return True
        elif _names(name, folded):
            return True
    return False


def _same_place(sentra: str, city: str) -> bool:
    """The sentra bears the city's own name ('Sidoarjo' in 'Kab. Sidoarjo'), so naming the
    city after it would say the name twice."""
    return bool(city) and _names(_core(city), _core(sentra))


def _place(city: str, province: str) -> str:
    """'Kab. Bogor, Jawa Barat'; 'Yogyakarta' (not 'Yogyakarta, Yogyakarta')."""
    if city and province and _names(province, city.casefold()):
        return city
    return ", ".join(p for p in (city, province) if p)


def daftar(items: Iterable[object], lang: str = "id") -> str:
    """A list as a sentence says it, with CLDR's patterns for the language (Babel):
    'a, b, dan c' in Indonesian, 'a, b, and c' in (US) English, 'a dan b', 'a', ''. Empty items
    are dropped. When an item has a comma of its own the items are set apart with semicolons
    ('kulit sapi; PU, TPU; dan karet'), so a reader still sees where each ends."""
    words = [" ".join(str(item).split()) for item in items if item is not None]
    words = [w for w in words if w]
    if len(words) < 2:
        return words[0] if words else ""
    patterns = dict(_list_patterns(lang))
    if any("," in w for w in words):
        patterns = {k: v.replace(", ", "; ") for k, v in patterns.items()}
    if len(words) == 2:
        return patterns["2"].format(*words)
    text = patterns["start"].format(words[0], words[1])
    for word in words[2:-1]:
        text = patterns["middle"].format(text, word)
    return patterns["end"].format(text, words[-1])


@cache
def _list_patterns(lang: str) -> dict[str, str]:
    return dict(Locale.parse(LOCALES.get(lang, "id_ID")).list_patterns["standard"])


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


COUNTRIES_FILE = bundled.templates("captions", "countries.toml")


@cache
def _country_names(lang: str) -> dict[str, dict[str, Any]]:
    """countries.toml's entries for the language: a caption's name and the short names."""
    with COUNTRIES_FILE.open("rb") as fh:
        table = tomllib.load(fh)
    return dict(table.get("en" if lang == "en" else "id", {}))


CERTIFICATIONS_FILE = COUNTRIES_FILE.with_name("certifications.toml")


@cache
def _schemes(lang: str) -> dict[str, str]:
    """certifications.toml's names for the language, keyed by the casefolded scheme."""
    with CERTIFICATIONS_FILE.open("rb") as fh:
        table = tomllib.load(fh).get(lang, {})
    return {" ".join(k.split()).casefold(): " ".join(str(v).split()) for k, v in table.items()}


def _scheme(scheme: str, lang: str) -> str:
    """A certificate scheme as the caption's language names it ('Sertifikat Halal' is a
    'Halal certificate' in English); a scheme the file does not list as written."""
    return _schemes(lang).get(scheme.casefold(), scheme) if scheme else scheme


def country(code: str, lang: str = "id") -> str:
    """The country's name as a caption prints it: countries.toml's where CLDR's is a formal
    one ('Hong Kong', not 'Hong Kong DAK Tiongkok'), else CLDR's ('Brunei Darussalam')."""
    named = _country_names(lang).get(code, {}).get("name")
    return str(named) if named else _territories(lang).get(code, code)


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
