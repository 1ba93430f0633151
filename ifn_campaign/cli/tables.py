"""Tables that stay readable at any terminal width, 80 columns (or output piped to a file) included.

Every table the CLI prints declares its columns once (`Col`): dates, states, ids and counts are
`keep` columns, shown on one line and whole or not at all; free text (names, reasons) wraps and is
cut to a few lines with an ellipsis. Columns have a priority: when the table does not fit the
console's width, the lowest-priority columns are left out (a line under the table says which), so
what matters is never squeezed into a column two letters wide. `--wide` shows every column and
every cell whole, lines as long as they need (for `less -S`, or a file).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, JustifyMethod, RenderResult
from rich.table import Table
from rich.text import Text

from ifn_campaign.cli.base import out

ELLIPSIS = "…"

Wide = Annotated[
    bool,
    typer.Option(
        "--wide",
        help="Every column and every cell whole; lines may be wider than the terminal.",
    ),
]


@dataclass(frozen=True)
class Col:
    """One column: its header and how it gives way when the table does not fit.

    priority: 0 is always shown; the highest numbers are left out first when space runs short.
    keep: dates, states, ids, counts, links: one line, never wrapped or cut.
    lines: free text wraps to at most this many lines, then is cut with an ellipsis (0: whole).
    min_width: free text is never squeezed narrower than this; a column is left out instead.
    """

    header: str
    priority: int = 0
    keep: bool = False
    lines: int = 2
    min_width: int = 12
    justify: JustifyMethod = "left"


Cell = str | Text
# a rich table's box: a border on each side and one between columns, one space of padding each side
_BORDERS_AND_PADDING = 3


def _overhead(columns: int) -> int:
    return _BORDERS_AND_PADDING * columns + 1


def _widest_line(text: Text) -> int:
    return max((cell_len(line) for line in text.plain.split("\n")), default=0)


def _widest_word(text: str) -> int:
    return max((cell_len(word) for word in text.split()), default=0)


@dataclass(frozen=True)
class Layout:
    """Which columns are shown, how wide each is, and what the reader is missing."""

    shown: list[int]
    widths: dict[int, int]
    dropped: list[str]


def layout(
    columns: Sequence[Col], cells: Sequence[Sequence[Text]], width: int, wide: bool
) -> Layout:
    """Fit the columns into `width` cells: leave out the lowest priorities first, then give the
    free-text columns what is left, up to their widest cell."""
    natural: list[int] = []
    floor: list[int] = []
    for index, col in enumerate(columns):
        widest = max((_widest_line(row[index]) for row in cells), default=0)
        if col.keep:
            need = max(widest, _widest_word(col.header))
            natural.append(need)
            floor.append(need)
        else:
            full = max(widest, cell_len(col.header), 1)
            natural.append(full)
            floor.append(min(full, max(col.min_width, _widest_word(col.header))))
    shown = list(range(len(columns)))
    if wide:
        return Layout(shown, dict(enumerate(natural)), [])
    dropped: list[str] = []
    while sum(floor[i] for i in shown) + _overhead(len(shown)) > width:
        droppable = [i for i in shown if columns[i].priority > 0]
        if not droppable:
            break  # a console narrower than the essentials: rich squeezes what is left
        drop = max(droppable, key=lambda i: (columns[i].priority, i))
        shown.remove(drop)
        dropped.append(columns[drop].header)
    widths = {i: floor[i] for i in shown}
    spare = width - _overhead(len(shown)) - sum(widths.values())
    growing = [i for i in shown if not columns[i].keep and widths[i] < natural[i]]
    while spare > 0 and growing:  # share what is left evenly; narrow columns fill up first
        share = max(1, spare // len(growing))
        for i in growing:
            step = min(share, natural[i] - widths[i], spare)
            widths[i] += step
            spare -= step
        growing = [i for i in growing if widths[i] < natural[i]]
    for i in shown:  # then a kept column's header on one line, if there is room left
        if columns[i].keep and spare > 0:
            step = min(max(cell_len(columns[i].header) - widths[i], 0), spare)
            widths[i] += step
            spare -= step
    dropped.sort(key=[c.header for c in columns].index)  # named in the table's order
    return Layout(shown, widths, dropped)


def _cut(text: Text, width: int, lines: int, console: Console) -> tuple[Text, bool]:
    """The text wrapped to `width`, at most `lines` lines, the last ending in an ellipsis if cut."""
    if lines <= 0:
        return text, False
    wrapped = text.wrap(console, width, overflow="fold")
    if len(wrapped) <= lines:
        return text, False
    kept = [line.copy() for line in wrapped[:lines]]
    last = kept[-1]
    last.rstrip()
    if last.cell_len > width - 1:
        last.truncate(width - 1)
        last.rstrip()
    last.append(ELLIPSIS)
    return Text("\n").join(kept), True


class _Unbounded:
    """A table rendered at its natural width, whatever the console's (for --wide)."""

    def __init__(self, table: Table, width: int) -> None:
        self.table, self.width = table, width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from console.render(self.table, options.update_width(self.width))


@dataclass
class Fitted:
    """A table fitted to a width, with the note on what was left out or shortened."""

    table: Table
    width: int
    dropped: list[str]
    shortened: int
    wide: bool
    offers_wide: bool  # the command has --wide; else the note points at a wider terminal

    def note(self, at: int) -> str | None:
        """One line for under the table: what the reader does not see, and how to see it."""
        missing = []
        if self.dropped:
            missing.append(f"{', '.join(self.dropped)} not shown")
        if self.shortened:
            texts = "text" if self.shortened == 1 else "texts"
            missing.append(f"{self.shortened} long {texts} cut short ({ELLIPSIS})")
        if not missing:
            return None
        more = "--wide shows all" if self.offers_wide else "a wider terminal shows all"
        return f"at {at} columns: {'; '.join(missing)}; {more}"


def fit(
    columns: Sequence[Col],
    rows: Iterable[Sequence[Cell]],
    *,
    title: str | None = None,
    caption: str | None = None,
    show_header: bool = True,
    wide: bool | None = None,
    console: Console = out,
) -> Fitted:
    """A rich Table of `rows` (rich markup strings or Text) fitted to the console's width.
    `wide` is the command's --wide (None: the command has none, e.g. the demo's tables)."""
    cells = [[console.render_str(c) if isinstance(c, str) else c for c in row] for row in rows]
    for row in cells:
        if len(row) != len(columns):
            raise ValueError(f"a row has {len(row)} cells for {len(columns)} columns")
    width = console.width
    plan = layout(columns, cells, width, bool(wide))
    total = sum(plan.widths.values()) + _overhead(len(plan.shown))
    title_width = _widest_line(Text.from_markup(title)) if title else 0
    table = Table(
        title=title,
        caption=caption,
        show_header=show_header,
        min_width=title_width if wide else min(width, max(total, title_width)),
    )
    for i in plan.shown:
        col = columns[i]
        table.add_column(
            Text(col.header, no_wrap=False, overflow="fold"),  # a header may wrap, never a date
            justify=col.justify,
            width=plan.widths[i],
            no_wrap=col.keep,
            overflow="ellipsis" if col.keep else "fold",  # ellipsis only below the essentials
        )
    shortened = 0
    for row in cells:
        shown_row: list[Text] = []
        for i in plan.shown:
            cell = row[i]
            if not (columns[i].keep or wide):
                cell, cut = _cut(cell, plan.widths[i], columns[i].lines, console)
                shortened += cut
            shown_row.append(cell)
        table.add_row(*shown_row)
    return Fitted(
        table, max(total, title_width), plan.dropped, shortened, bool(wide), wide is not None
    )


def print_table(
    columns: Sequence[Col],
    rows: Iterable[Sequence[Cell]],
    *,
    title: str | None = None,
    caption: str | None = None,
    show_header: bool = True,
    wide: bool | None = None,
    console: Console = out,
) -> None:
    """Print a fitted table, and under it what was left out or shortened and how to see it."""
    fitted = fit(
        columns,
        rows,
        title=title,
        caption=caption,
        show_header=show_header,
        wide=wide,
        console=console,
    )
    show(fitted, console)


def show(fitted: Fitted, console: Console = out) -> None:
    """Print a fitted table: --wide ones uncropped at their natural width."""
    if fitted.wide:
        console.print(_Unbounded(fitted.table, fitted.width), crop=False)
        return
    console.print(fitted.table)
    if note := fitted.note(console.width):
        console.print(f"[dim]{note}[/]")
