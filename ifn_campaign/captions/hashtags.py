"""Hashtags for a member's posts: valid, de-duplicated regardless of case, capped per platform.

Which tags go with which category, province, sentra and actor type is data staff edit, in
templates/captions/hashtags.toml; this module only cleans and merges. Instagram links a tag only up
to the first character that is not a letter, digit or underscore, and refuses more than a few tags
per post, so every tag is cleaned here before it reaches a caption rather than trusted as written.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import TypeGuard

from ifn_campaign import bundled
from ifn_campaign.errors import CaptionTemplateError

HASHTAGS_FILE = bundled.templates("captions", "hashtags.toml")
MAX_HASHTAG_CHARS = 100  # including the "#"
SECTIONS = ("categories", "provinces", "sentra", "actor_types")

# Apostrophes join a word instead of splitting it: "Women's" is #Womens, not #WomenS.
_APOSTROPHES = str.maketrans("", "", "'\u2019\u02bc\u2018`")
HashtagTable = Mapping[str, object]


def _is_mark(ch: str) -> bool:
    """A combining mark that is part of a word (Thai vowels, Devanagari virama); not a variation
    selector or an enclosing mark, which only dress an emoji or a keycap."""
    cp = ord(ch)
    if 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF:
        return False
    return unicodedata.category(ch) in ("Mn", "Mc")


def _is_base(ch: str) -> bool:
    """A letter of any script, a decimal digit or an underscore."""
    return ch == "_" or unicodedata.category(ch)[0] == "L" or unicodedata.category(ch) == "Nd"


def _words(text: str) -> list[str]:
    """The runs of hashtag characters in `text`; everything else (spaces, punctuation, emoji,
    symbols, '#') separates them. A combining mark stays only right after a kept character."""
    words: list[str] = []
    current: list[str] = []
    for ch in text:
        if _is_base(ch) or (current and _is_mark(ch)):
            current.append(ch)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def _capitalise(word: str) -> str:
    """`word` with its first letter upper case, for CamelCase; a word that already has a capital
    is kept as written ("IndonesiaMelangkah", "iPhone"), and so is a first letter whose capital
    is longer ("ß" -> "SS")."""
    if any(ch.isupper() for ch in word):
        return word
    upper = word[0].upper()
    return (upper if len(upper) == 1 else word[0]) + word[1:]


def clean_hashtag(word: str) -> str | None:
    """A valid hashtag made from any phrase, or None when nothing valid remains.

    "#Bangga Buatan Indonesia!" -> "#BanggaBuatanIndonesia", "sepatu kulit" -> "#SepatuKulit":
    words are joined in CamelCase (a word with capitals is kept as written), only letters of any
    script (with their combining marks), digits and underscores remain, NFC. A tag of digits and
    underscores only is refused (Instagram does not link "#2025"), and so is one longer than 100
    characters: a cut-off tag would be a different tag nobody uses.
    """
    text = unicodedata.normalize("NFC", word.translate(_APOSTROPHES))
    body = unicodedata.normalize("NFC", "".join(_capitalise(w) for w in _words(text)))
    if not body or not any(_is_base(ch) and ch != "_" and not ch.isdecimal() for ch in body):
        return None
    tag = "#" + body
    return tag if len(tag) <= MAX_HASHTAG_CHARS else None


def _key(tag: str) -> str:
    return unicodedata.normalize("NFC", tag.casefold())


def merge_hashtags(groups: Sequence[Sequence[str]], cap: int) -> list[str]:
    """Clean every tag and keep the first `cap` distinct ones, in the order given.

    Groups come in priority order (campaign tags first, then category, region, actor type), so the
    cap drops the least important. Tags equal ignoring case are one tag: the first spelling wins.
    """
    merged: list[str] = []
    seen: set[str] = set()
    for group in groups:
        for raw in group:
            if len(merged) >= cap:
                return merged
            tag = clean_hashtag(raw)
            if tag is None or _key(tag) in seen:
                continue
            seen.add(_key(tag))
            merged.append(tag)
    return merged


# --- the table staff edit ---------------------------------------------------------------------


def load_hashtag_table(path: Path = HASHTAGS_FILE) -> dict[str, object]:
    """templates/captions/hashtags.toml, checked: `always` a list of strings, each section a table
    of lists of strings. A mistake raises CaptionTemplateError naming the file, line or key."""
    return dict(_load(path.resolve()))


@cache
def _load(path: Path) -> Mapping[str, object]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CaptionTemplateError(f"cannot read the hashtag table: {exc}", file=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise CaptionTemplateError(
            f"not valid TOML: {exc}", file=str(path), line=int(match[1]) if match else None
        ) from exc
    problems = _table_problems(data)
    if problems:
        raise CaptionTemplateError("; ".join(problems), file=str(path))
    return data


def _is_tag_list(value: object) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _table_problems(data: Mapping[str, object]) -> list[str]:
    """Every structural mistake in a hashtag table, and every tag that cleans to nothing."""
    problems: list[str] = []
    lists: list[tuple[str, object]] = [("always", data.get("always", []))]
    for section in SECTIONS:
        table = data.get(section, {})
        if not isinstance(table, dict):
            problems.append(f"[{section}] must be a table of lists of hashtags")
            continue
        lists += [(f"{section}.{key}", value) for key, value in table.items()]
    for where, value in lists:
        if not _is_tag_list(value):
            problems.append(f'{where} must be a list of strings, e.g. ["SepatuKulit"]')
            continue
        problems += [
            f"{where}: {tag!r} is not a usable hashtag"
            for tag in value
            if clean_hashtag(tag) is None
        ]
    unknown = sorted(set(data) - {"always", *SECTIONS})
    if unknown:
        problems.append(
            f"unknown key(s) {', '.join(unknown)}; known: always, {', '.join(SECTIONS)}"
        )
    return problems


def _fold(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def _lookup(section: object, name: str | None) -> list[str]:
    """The tags of `name` in one section of the table, ignoring case and spacing."""
    if not name or not isinstance(section, Mapping):
        return []
    wanted = _fold(name)
    for key, tags in section.items():
        if _fold(key) == wanted:
            return list(tags)
    return []


def _sentra_tags(section: object, sentra: str | None) -> list[str]:
    """Tags of the sentra: its exact name, else every key found as whole words in the name, so
    "Sentra Sepatu Cibaduyut" finds the `Cibaduyut` entry."""
    exact = _lookup(section, sentra)
    if exact or not sentra or not isinstance(section, Mapping):
        return exact
    words = f" {' '.join(_words(_fold(sentra)))} "
    found: list[str] = []
    for key, tags in section.items():
        if f" {' '.join(_words(_fold(key)))} " in words:
            found += tags
    return found


def member_hashtags(
    categories: Iterable[str],
    province: str | None,
    sentra: str | None,
    actor_types: Iterable[str],
    campaign_tags: Sequence[str],
    cap: int,
    table: Mapping[str, object] | None = None,
) -> list[str]:
    """The hashtags for a member's post, at most `cap`, most important first.

    Order: the campaign's own tags, the table's `always` tags, the sentra, each category, the
    province, each actor type. `table` defaults to templates/captions/hashtags.toml (read once).
    """
    data = table if table is not None else _load(HASHTAGS_FILE.resolve())
    always = data.get("always", [])
    groups: list[Sequence[str]] = [
        list(campaign_tags),
        always if _is_tag_list(always) else [],
        _sentra_tags(data.get("sentra"), sentra),
        *(_lookup(data.get("categories"), c) for c in categories),
        _lookup(data.get("provinces"), province),
        *(_lookup(data.get("actor_types"), a) for a in actor_types),
    ]
    return merge_hashtags(groups, cap)
