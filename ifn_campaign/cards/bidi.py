"""The Unicode bidirectional algorithm (UAX #9) for one line of card text: which characters are
right-to-left (Arabic and Hebrew names, with Latin, digits and brackets mixed in) and in what order
the runs are drawn. `text` cuts runs by level and shapes each with HarfBuzz in its direction.

python-bidi 0.6.12 (Rust unicode-bidi) orders every string we tried exactly as this does (the card
tests and 20,000 random mixes of Arabic, Hebrew, Latin, digits, brackets and spaces), but it
returns only the reordered string: shaping needs each character's level, which it shows only in
a Rust debug dump counted in UTF-8 bytes, so we keep this implementation.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

_NBSP = "\u00a0"
_STRONG_RTL = frozenset(("R", "AL"))
_EXPLICIT = frozenset(("LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"))
# Bidi paired brackets (the common part of Unicode's BidiBrackets.txt): opener -> closer.
_BRACKETS = dict(
    zip(
        "([{⁅⁽₍⌈⌊〈❨❪❬❮❰❲❴⟅⟦⟨⟪⦃⦅〈《「『【〔〖〘〚（［｛｟｢",
        ")]}⁆⁾₎⌉⌋〉❩❫❭❯❱❳❵⟆⟧⟩⟫⦄⦆〉》」』】〕〗〙〛）］｝｠｣",
        strict=True,
    )
)
_CLOSERS = frozenset(_BRACKETS.values())


def paragraph_rtl(text: str) -> bool:
    """Rule P2/P3: the paragraph is right-to-left if its first strong character is."""
    for ch in text:
        t = unicodedata.bidirectional(ch)
        if t == "L":
            return False
        if t in _STRONG_RTL:
            return True
    return False


def needs_reordering(text: str, rtl: bool) -> bool:
    """Whether the line needs the algorithm at all: a left-to-right paragraph with nothing that
    reads right to left (most names) is drawn in logical order, in one direction."""
    return rtl or any(unicodedata.bidirectional(ch) in ("R", "AL", "AN") for ch in text)


def levels(text: str, rtl: bool) -> list[int]:
    """Embedding levels of one line (UAX #9 rules W1-W7, N0-N2, I1-I2, L1).

    Explicit embeddings and isolates are not supported: text.normalize_text removes those controls.
    Boundary-neutral characters (joiners) take the type of the character before them.
    """
    base = 1 if rtl else 0
    sos = "R" if rtl else "L"
    types = [unicodedata.bidirectional(ch) or "L" for ch in text]
    n = len(types)
    prev = sos
    for i, t in enumerate(types):  # W1 (and BN, removed by X9, behaves the same here)
        if t in ("NSM", "BN"):
            types[i] = prev
        elif t in _EXPLICIT:
            types[i] = "ON"
        prev = types[i]
    last_strong = sos
    for i, t in enumerate(types):  # W2, W3
        if t in ("L", "R", "AL"):
            last_strong = t
            if t == "AL":
                types[i] = "R"
        elif t == "EN" and last_strong == "AL":
            types[i] = "AN"
    for i in range(1, n - 1):  # W4
        t, a, b = types[i], types[i - 1], types[i + 1]
        if a == b and ((t == "ES" and a == "EN") or (t == "CS" and a in ("EN", "AN"))):
            types[i] = a
    i = 0
    while i < n:  # W5
        if types[i] == "ET":
            j = i
            while j < n and types[j] == "ET":
                j += 1
            if (i > 0 and types[i - 1] == "EN") or (j < n and types[j] == "EN"):
                types[i:j] = ["EN"] * (j - i)
            i = j
        else:
            i += 1
    types = ["ON" if t in ("ES", "ET", "CS") else t for t in types]  # W6
    last_strong = sos
    for i, t in enumerate(types):  # W7
        if t in ("L", "R"):
            last_strong = t
        elif t == "EN" and last_strong == "L":
            types[i] = "L"
    _resolve_brackets(text, types, sos)  # N0
    neutral = ("B", "S", "WS", "ON")
    i = 0
    while i < n:  # N1, N2
        if types[i] in neutral:
            j = i
            while j < n and types[j] in neutral:
                j += 1
            before = sos if i == 0 else ("L" if types[i - 1] == "L" else "R")
            after = sos if j == n else ("L" if types[j] == "L" else "R")
            types[i:j] = [before if before == after else sos] * (j - i)
            i = j
        else:
            i += 1
    found = []
    for t in types:  # I1, I2
        if base == 0:
            found.append(1 if t == "R" else 2 if t in ("AN", "EN") else 0)
        else:
            found.append(2 if t in ("L", "EN", "AN") else 1)
    j = n
    while j > 0 and text[j - 1] in (" ", _NBSP):  # L1: trailing whitespace at paragraph level
        j -= 1
        found[j] = base
    return found


def _strong(t: str) -> str | None:
    """The strong direction a resolved type counts as for N0-N2 (numbers count as R)."""
    return "L" if t == "L" else "R" if t in ("R", "EN", "AN") else None


def _resolve_brackets(text: str, types: list[str], sos: str) -> None:
    """Rule N0: a bracket pair takes the direction of what it encloses (or of its context), so
    "(Bandung)" inside Arabic keeps both parentheses on the right sides. Pairs by BD16."""
    stack: list[tuple[str, int]] = []
    pairs: list[tuple[int, int]] = []
    for i, ch in enumerate(text):
        if types[i] != "ON":
            continue
        if ch in _BRACKETS:
            if len(stack) == 63:
                break
            stack.append((_BRACKETS[ch], i))
        elif ch in _CLOSERS:
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth][0] == ch:
                    pairs.append((stack[depth][1], i))
                    del stack[depth:]
                    break
    embedding = sos
    for open_at, close_at in sorted(pairs):
        inside = {_strong(t) for t in types[open_at + 1 : close_at]} - {None}
        if embedding in inside:
            found = embedding
        elif inside:
            opposite = inside.pop()
            before = next(
                (d for t in reversed(types[:open_at]) if (d := _strong(t)) is not None), sos
            )
            found = opposite if before == opposite else embedding
        else:
            continue
        types[open_at] = types[close_at] = found


def visual_order(levels: Sequence[int]) -> list[int]:
    """Rule L2: the visual order (indices) of items with these levels."""
    order = list(range(len(levels)))
    if not levels:
        return order
    odd = [lv for lv in levels if lv % 2]
    if not odd and max(levels) == 0:
        return order
    lowest_odd = min(odd) if odd else 1
    lv_of = list(levels)
    for lv in range(max(levels), lowest_odd - 1, -1):
        i = 0
        while i < len(order):
            if lv_of[i] >= lv:
                j = i
                while j < len(order) and lv_of[j] >= lv:
                    j += 1
                order[i:j] = order[i:j][::-1]
                lv_of[i:j] = lv_of[i:j][::-1]
                i = j
            else:
                i += 1
    return order
