"""Each platform's text rules as data and pure functions: count, check, shorten.

The numbers come from docs/reference/platforms.md; where Meta's own pages disagree the
strict value is the default and the number is a field of `Limits`, so a setting can loosen it
without code.
Nothing here knows about templates or members: the caption writer renders text, then asks these
functions whether it fits and, if not, what to cut.

Counting units, because every platform counts differently:

- Instagram and Facebook count *characters*. We count Python code points (`len`). That is what
  the Graph API documents and never under-counts a letter, but an emoji ZWJ sequence such as
  👩‍💻 is three code points (woman, joiner, laptop) and counts as three, and a flag as two.
  Over-counting is the safe side: a caption we accept is never refused for length.
- The YouTube title counts characters the same way; the description counts bytes of UTF-8
  (`utf8_bytes`), so "é" costs 2 and an emoji 4.
- YouTube tags count their characters, a comma between tags and two quotes around any tag
  with a space (`youtube_tags_length`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

__all__ = [
    "Cut",
    "Limits",
    "Violation",
    "check_facebook",
    "check_instagram",
    "check_youtube",
    "fit_tags",
    "hashtags_in",
    "mentions_in",
    "shorten",
    "utf8_bytes",
    "youtube_safe",
    "youtube_tags_length",
]

ELLIPSIS = "…"


@dataclass(frozen=True)
class Violation:
    """One rule a text breaks, in plain words staff can act on."""

    field: str
    reason: str


@dataclass(frozen=True)
class Cut:
    """What shortening removed from a field, kept so the post's record shows it."""

    field: str
    removed: str
    reason: str


@dataclass(frozen=True)
class Limits:
    """Every platform's text limits; the defaults are the strict documented values.

    `instagram_hashtags`: the Graph API reference says 30, but Instagram has refused more than 5
    since December 2025. `facebook_hashtags` and `youtube_tags_max` are our own editorial caps,
    not platform rules: a post stuffed with tags reads as spam.
    """

    instagram_chars: int = 2200
    instagram_hashtags: int = 5
    instagram_mentions: int = 20
    facebook_chars: int = 63206
    facebook_hashtags: int = 10
    youtube_title_chars: int = 100
    youtube_description_bytes: int = 5000
    youtube_tags_chars: int = 500
    youtube_tags_max: int = 15


# --- counting ---------------------------------------------------------------------------------


def utf8_bytes(text: str) -> int:
    """Length in bytes of UTF-8, how YouTube measures a description.

    A lone surrogate (only possible in text decoded with errors="surrogateescape") counts as the
    3 bytes it would take, instead of raising."""
    return len(text.encode("utf-8", "surrogatepass"))


def _is_word_char(ch: str) -> bool:
    """Letter (any script), combining mark, decimal digit or underscore: a hashtag character."""
    return ch == "_" or unicodedata.category(ch)[0] in "LN" or _is_mark(ch)


def _is_mark(ch: str) -> bool:
    """A combining mark that belongs to a word (Thai vowels, Devanagari virama, accents).

    Enclosing marks (the keycap of 1️⃣) and variation selectors (the emoji-style ❤️) are not: they
    dress a symbol, not a letter."""
    cp = ord(ch)
    if 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF:
        return False
    return unicodedata.category(ch) in ("Mn", "Mc")


def _mask_links(text: str) -> str:
    """The text with every URL and e-mail address blanked out (same length, so indexes hold).

    A `#` in https://ifn.id/#anggota or an `@` in budi@contoh.id is not a tag or a mention."""
    chars = list(text)
    for start, end in _link_spans(text):
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _link_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each whitespace-separated token that is a URL or an e-mail address."""
    start = None
    for i, ch in enumerate(text + " "):
        if not ch.isspace():
            if start is None:
                start = i
            continue
        if start is not None:
            token = text[start:i].lower()
            is_url = "://" in token or token.startswith("www.")
            at = token.find("@")
            # An e-mail: something before the @ and a dotted domain after it.
            is_email = at > 0 and "." in token[at + 1 :].strip(".")
            if is_url or is_email:
                yield start, i
            start = None


def _tokens(text: str, sigil: str, extra: str = "") -> list[str]:
    """Every `sigil` + word in `text`, as Instagram links them."""
    return [text[a:b] for a, b in _spans(text, sigil, extra)]


def token_spans(text: str, sigil: str) -> list[tuple[int, int]]:
    """(start, end) of each hashtag ("#") or mention ("@") that the counts above count."""
    if sigil == "@":
        return _spans(text, "@", ".")
    return [
        (a, b) for a, b in _spans(text, "#") if not text[a + 1 : b].replace("_", "").isdecimal()
    ]


def _spans(text: str, sigil: str, extra: str = "") -> list[tuple[int, int]]:
    masked = _mask_links(text)
    found: list[tuple[int, int]] = []
    i = 0
    n = len(masked)
    while i < n:
        if masked[i] != sigil or (i > 0 and _is_word_char(masked[i - 1])):
            i += 1
            continue
        j = i + 1
        while j < n and (_is_word_char(masked[j]) or masked[j] in extra):
            j += 1
        body = masked[i + 1 : j].rstrip(extra)  # "@budi." at a sentence end is @budi
        if body and not _is_mark(body[0]):
            found.append((i, i + 1 + len(body)))
        i = max(j, i + 1)
    return found


def hashtags_in(text: str) -> list[str]:
    """Every hashtag Instagram would link in `text`, in order, repeats included.

    `#` followed by letters (any script), digits, combining marks or underscores, not preceded by a
    word character (so "C#" and "a#b" are not tags) and not inside a URL or e-mail address.
    A numbers-only tag ("#1", "#2025") is not a hashtag on Instagram and is not returned."""
    return [t for t in _tokens(text, "#") if not t[1:].replace("_", "").isdecimal()]


def mentions_in(text: str) -> list[str]:
    """Every @-mention in `text`, in order, repeats included (dots allowed inside, not at the end);
    the @ of an e-mail address is not a mention."""
    return _tokens(text, "@", ".")


def youtube_tags_length(tags: Sequence[str]) -> int:
    """Length of `tags` the way YouTube counts it against its 500-character limit.

    Each tag's characters, one comma between tags, and 2 more for the quotes YouTube puts around a
    tag containing a space: ["sepatu", "sepatu kulit"] is 6 + 1 + 12 + 2 = 21."""
    return sum(_tag_cost(t) for t in tags) + max(len(tags) - 1, 0)


def _tag_cost(tag: str) -> int:
    # Any whitespace, not only U+0020: stricter than YouTube may be, never looser.
    return len(tag) + (2 if any(ch.isspace() for ch in tag) else 0)


def fit_tags(tags: Sequence[str], limit: int, max_count: int) -> tuple[list[str], list[str]]:
    """Tags in priority order, kept while they fit `limit` (YouTube's count) and `max_count`.

    A tag that does not fit is dropped but later, shorter ones are still tried. Blank tags and
    repeats (ignoring case) are dropped too: they would only cost length. Returns (kept, dropped).
    """
    kept: list[str] = []
    dropped: list[str] = []
    seen: set[str] = set()
    used = 0
    for tag in tags:
        key = tag.strip().casefold()
        cost = _tag_cost(tag) + (1 if kept else 0)
        if not key or key in seen or len(kept) >= max_count or used + cost > limit:
            dropped.append(tag)
            continue
        kept.append(tag)
        seen.add(key)
        used += cost
    return kept, dropped


def youtube_safe(text: str) -> str:
    """`text` without `<` and `>`, which YouTube refuses in titles and descriptions.

    They become the single angle quotes ‹ and › (U+2039, U+203A): they look alike, so "<3" or
    "harga > 100rb" still read the same, where deleting them would change the meaning. Note each
    replacement is 3 bytes of UTF-8 instead of 1: apply this before measuring a description."""
    return text.replace("<", "‹").replace(">", "›")


# --- shortening -------------------------------------------------------------------------------

_ZWJ = "\u200d"


def _extends_cluster(prev: str, ch: str) -> bool:
    """Whether `ch` belongs to the user-perceived character that `prev` is part of.

    A simplified UAX #29, enough never to split what a reader sees as one character: combining
    marks (also enclosing ones), variation selectors, joiners, emoji modifiers and tag characters
    stay with their base; the character after a ZWJ is glued on (emoji sequences); a high surrogate
    keeps its low surrogate."""
    cp = ord(ch)
    return (
        prev == _ZWJ
        or unicodedata.category(ch) in ("Mn", "Mc", "Me")
        or cp in (0x200C, 0x200D)
        or 0xFE00 <= cp <= 0xFE0F
        or 0x1F3FB <= cp <= 0x1F3FF  # skin tones
        or 0xE0020 <= cp <= 0xE007F  # tags (subdivision flags)
        or 0xE0100 <= cp <= 0xE01EF
        or (0xDC00 <= cp <= 0xDFFF and 0xD800 <= ord(prev) <= 0xDBFF)
    )


def _cluster_starts(text: str) -> list[int]:
    """Indexes where a user-perceived character starts, plus len(text): the safe cut points."""
    starts = [0] if text else []
    regional = False  # inside a pair of regional indicators (a flag)
    for i in range(1, len(text)):
        ch = text[i]
        pair = 0x1F1E6 <= ord(ch) <= 0x1F1FF and 0x1F1E6 <= ord(text[i - 1]) <= 0x1F1FF
        if pair and not regional:  # the second of a pair joins the first
            regional = True
            continue
        regional = False
        if not _extends_cluster(text[i - 1], ch):
            starts.append(i)
    starts.append(len(text))
    return starts


def _strippable(ch: str) -> bool:
    """Whitespace or punctuation that should not sit before an ellipsis ("kulit,…", "dan -…").

    Closing brackets and quotes stay: "(Bandung)…" is right, "(Bandung…" is not."""
    return ch.isspace() or unicodedata.category(ch) in ("Po", "Pd", "Ps", "Pi", "Pc")


def _kept_ends(text: str) -> list[int]:
    """For each cut point i, where the kept text ends once trailing space and punctuation go."""
    ends = [0] * (len(text) + 1)
    for i in range(1, len(text) + 1):
        ends[i] = ends[i - 1] if _strippable(text[i - 1]) else i
    return ends


def _longest(candidates: Sequence[int], fits: Callable[[int], bool]) -> int | None:
    """The largest candidate for which `fits` holds, assuming it holds for a prefix of them."""
    lo, hi = 0, len(candidates)
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(candidates[mid]):
            lo = mid + 1
        else:
            hi = mid
    return candidates[lo - 1] if lo else None


def shorten(
    text: str,
    limit: int,
    *,
    measure: Callable[[str], int] = len,
    protect: int = 0,
    ellipsis: str = ELLIPSIS,
) -> tuple[str, str]:
    """`text` cut to fit `limit` as measured by `measure`, and what was removed.

    Cuts at a word boundary (whitespace), drops trailing space and punctuation and adds `ellipsis`,
    keeping as much as fits. It never cuts before `protect` (the end of what must stay, such as the
    sentence naming the member). Only when no word boundary fits (one very long word, or a protected
    part longer than the limit) does it cut inside a word, and then still between user-perceived
    characters, never inside an emoji, accent or surrogate pair. The caller sees that the protected
    part was cut when `len(text) - len(removed) < protect`.

    Always `kept + removed == text` and `new_text == kept + ellipsis` (the ellipsis is left out
    only when even it does not fit, or when nothing but trailing whitespace was removed).
    `measure` must not shrink when text grows (true of `len` and `utf8_bytes`).
    Returns (new_text, removed), with removed == "" when `text` already fits.
    """
    if measure(text) <= limit:
        return text, ""
    stripped = text.rstrip()
    if measure(stripped) <= limit:
        return stripped, text[len(stripped) :]
    starts = _cluster_starts(text)
    whole = set(starts)
    protect = next(s for s in starts if s >= min(max(protect, 0), len(text)))  # whole characters
    kept = _kept_ends(text)
    if measure(ellipsis) > limit:
        ellipsis = ""

    def fits(end: int) -> bool:
        return measure(text[:end] + ellipsis) <= limit

    def candidates(points: Sequence[int], floor: int) -> list[int]:
        """Where the kept text ends for each cut point: increasing, whole characters, not empty."""
        out: list[int] = []
        for point in points:
            end = max(kept[point], floor)
            if end > 0 and end in whole and (not out or end > out[-1]):
                out.append(end)
        return out

    # Word boundaries: just before a whitespace that follows a non-space, at or after `protect`;
    # `protect` itself when it ends a word.
    points = [protect] if protect == len(text) or not _is_word_char(text[protect]) else []
    points += [
        i
        for i in range(max(protect, 1), len(text))
        if text[i].isspace() and not text[i - 1].isspace()
    ]
    best = _longest(candidates(points, protect), fits)
    if best is None:
        # No word fits: cut inside a word, between whole characters, after `protect` if it fits.
        floor = protect if fits(protect) else 0
        best = _longest(candidates([s for s in starts if s >= floor], floor), fits) or 0
    return text[:best] + ellipsis, text[best:]


# --- checks -----------------------------------------------------------------------------------


def _over(count: int, unit: str, platform: str, allowed: int) -> str:
    return f"{count:,} {unit}; {platform} allows {allowed:,}"


def _angles(text: str, what: str) -> Violation | None:
    found = [c for c in "<>" if c in text]
    if not found:
        return None
    shown = " and ".join(f"'{c}'" for c in found)
    return Violation(what, f"contains {shown}; YouTube forbids '<' and '>' in the {what}")


def check_instagram(caption: str, limits: Limits) -> list[Violation]:
    """Every Instagram rule `caption` breaks: characters, hashtags, @-mentions.

    Hashtags and mentions are counted with repeats: whether Instagram counts a repeated tag once
    is not documented, so we take the strict reading."""
    found: list[Violation] = []
    if len(caption) > limits.instagram_chars:
        found.append(
            Violation(
                "caption", _over(len(caption), "characters", "Instagram", limits.instagram_chars)
            )
        )
    tags = len(hashtags_in(caption))
    if tags > limits.instagram_hashtags:
        found.append(
            Violation("caption", _over(tags, "hashtags", "Instagram", limits.instagram_hashtags))
        )
    mentions = len(mentions_in(caption))
    if mentions > limits.instagram_mentions:
        found.append(
            Violation(
                "caption", _over(mentions, "@-mentions", "Instagram", limits.instagram_mentions)
            )
        )
    return found


def check_facebook(text: str, limits: Limits) -> list[Violation]:
    """Facebook's character limit and our editorial hashtag cap for a Page post's text."""
    found: list[Violation] = []
    if len(text) > limits.facebook_chars:
        found.append(
            Violation("text", _over(len(text), "characters", "Facebook", limits.facebook_chars))
        )
    tags = len(hashtags_in(text))
    if tags > limits.facebook_hashtags:
        found.append(
            Violation(
                "text",
                f"{tags:,} hashtags; our limit for Facebook posts is {limits.facebook_hashtags:,}",
            )
        )
    return found


def check_youtube(
    title: str, description: str, tags: Sequence[str], limits: Limits
) -> list[Violation]:
    """Every YouTube rule a video's title, description and tags break."""
    found: list[Violation] = []
    if not title.strip():
        found.append(Violation("title", "the title is empty; YouTube requires one"))
    elif len(title) > limits.youtube_title_chars:
        found.append(
            Violation(
                "title", _over(len(title), "characters", "YouTube", limits.youtube_title_chars)
            )
        )
    size = utf8_bytes(description)
    if size > limits.youtube_description_bytes:
        found.append(
            Violation(
                "description",
                _over(size, "bytes of UTF-8", "YouTube", limits.youtube_description_bytes),
            )
        )
    for text, what in ((title, "title"), (description, "description")):
        angles = _angles(text, what)
        if angles:
            found.append(angles)
    length = youtube_tags_length(tags)
    if length > limits.youtube_tags_chars:
        found.append(
            Violation(
                "tags",
                _over(
                    length,
                    "characters as YouTube counts tags",
                    "YouTube",
                    limits.youtube_tags_chars,
                ),
            )
        )
    if len(tags) > limits.youtube_tags_max:
        found.append(
            Violation("tags", f"{len(tags):,} tags; our limit is {limits.youtube_tags_max:,}")
        )
    return found
