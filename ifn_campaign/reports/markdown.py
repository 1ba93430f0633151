"""Member-supplied text inside markdown (Prefect artifacts): shown literally, never as markup.

Business names, places, captions and reasons come from the registry and are data: a `|` must not
open a table column, `<script>` must not become HTML, `[x](y)` must not become a link, and a
right-to-left name or a stray direction override must not reorder the rest of the line.
"""

from __future__ import annotations

import unicodedata

__all__ = ["escape_markdown"]

# CommonMark lets a backslash escape any ASCII punctuation; these are the ones that can start
# markup (emphasis, code, links, images, HTML, headings, tables, strikethrough, entities).
_SPECIAL = "|`*_[]<>#!&~"
# Unicode's isolates: FIRST STRONG ISOLATE ... POP DIRECTIONAL ISOLATE close whatever direction
# overrides or embeddings the text opened, so it cannot reorder its neighbours.
_FSI, _PDI = "\u2068", "\u2069"


def escape_markdown(text: str, *, isolate: bool = False) -> str:
    """`text` as literal markdown that stays in one table cell: backslashes and markup
    characters escaped, line breaks and control characters turned into spaces. `isolate` wraps
    it in a Unicode bidi isolate (for member text shown next to other text)."""
    out = "".join(
        " " if ch in "\u2028\u2029" or unicodedata.category(ch) == "Cc" else ch for ch in text
    )
    out = out.replace("\\", "\\\\")
    for ch in _SPECIAL:
        out = out.replace(ch, "\\" + ch)
    return f"{_FSI}{out}{_PDI}" if isolate else out
