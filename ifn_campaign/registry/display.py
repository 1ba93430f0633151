"""Member text shown to staff (a terminal, a table): every invisible character made visible.

Registry text is data. An ESC would start a terminal escape sequence (colours, cursor moves, a new
window title), a CR or LF would break a table row or forge a line of output, a direction override
would reorder what follows. Shown through `visible`, each such character is written as its Python
escape (`\\x1b`, `\\r`, `\\u202e`): staff see what the registry sent, and the terminal does nothing.
"""

from __future__ import annotations

__all__ = ["visible"]

_KEPT = frozenset("\u200c\u200d")  # the joiners: emoji sequences and several scripts need them


def visible(text: str) -> str:
    """`text` with every character that is not printable written as its escape."""
    return "".join(c if c.isprintable() or c in _KEPT else repr(c)[1:-1] for c in text)
