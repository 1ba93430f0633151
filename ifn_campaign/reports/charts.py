"""The report's charts, drawn with matplotlib as SVG text to embed in the page (and so in its
PDF, as vectors).

Deterministic: the SVG backend only (no display, no Agg), text kept as text (`svg.fonttype:
none`, so it stays searchable and small), a fixed `svg.hashsalt` and no date in the metadata:
the same data gives the same bytes. Labels are member data (provinces, names): mathtext is off
(`text.parse_math`), so `$x$` is drawn as written, never parsed, and long labels are cut.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use("svg")  # before pyplot could ever be imported: no GUI backend, no Agg

from matplotlib import rc_context
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from ifn_campaign.reports.reach import ReachSummary
from ifn_campaign.reports.words import Words

__all__ = ["CHART_GROUPS", "LABEL_CHARS", "bars", "grouped_bars", "report_charts"]

_ID_REFERENCE = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')
LABEL_CHARS = 32  # a label longer than this is cut with an ellipsis
_STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "ifn-campaign-report",
    "text.usetex": False,
    "text.parse_math": False,
    "font.family": ["DejaVu Sans"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _label(text: str) -> str:
    """One line, at most LABEL_CHARS characters: control characters and line breaks are spaces."""
    flat = "".join(" " if not ch.isprintable() else ch for ch in text).strip()
    return flat if len(flat) <= LABEL_CHARS else flat[: LABEL_CHARS - 1] + "…"


def _svg(figure: Figure, title: str, key: str) -> str:
    """The figure as an <svg> element (no XML prolog, no date), titled for screen readers. Its
    element ids (matplotlib numbers them from 1 in every figure) start with `key`, so several
    charts inline in one page never share one, nor a clip path or marker."""
    buffer = io.StringIO()
    with warnings.catch_warnings():
        # text is written as text (svg.fonttype none): a glyph DejaVu lacks only sizes the
        # layout a little off; the reader's font draws it
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        FigureCanvasSVG(figure).print_svg(buffer, metadata={"Date": None, "Title": title})
    text = buffer.getvalue()
    return _ID_REFERENCE.sub(rf"\1{key}-\2", text[text.index("<svg") :])


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    key: str,
    colour: str,
    ink: str,
    number: Callable[[float], str] = "{:,.0f}".format,
) -> str:
    """A horizontal bar chart, one bar per label in the given order (first on top), each with
    its value written beside it (`number` formats it: the page's language has its own digits
    grouping)."""
    shown = [_label(label) for label in labels]
    with rc_context(_STYLE | {"text.color": ink, "axes.labelcolor": ink}):
        figure = Figure(figsize=(6.4, 0.45 + 0.32 * max(len(shown), 1)), layout="constrained")
        axes = figure.add_subplot()
        positions = list(range(len(shown)))
        axes.barh(positions, values, color=colour, height=0.6)
        axes.set_yticks(positions, shown)
        axes.invert_yaxis()
        axes.tick_params(colors=ink, labelsize=8)
        top = max(values, default=0) or 1
        axes.set_xlim(0, top * 1.18)
        for position, value in zip(positions, values, strict=True):
            axes.text(value + top * 0.01, position, number(value), va="center")
        axes.xaxis.set_visible(False)
        axes.spines["bottom"].set_visible(False)
        return _svg(figure, title, key)


def grouped_bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], str]],
    *,
    title: str,
    key: str,
    ink: str,
) -> str:
    """Horizontal bars in groups: per label one bar per series (name, values, colour), values as
    percentages of 1.0, with a legend naming the series."""
    shown = [_label(label) for label in labels]
    count = max(len(series), 1)
    height = 0.8 / count
    with rc_context(_STYLE | {"text.color": ink, "axes.labelcolor": ink}):
        figure = Figure(
            figsize=(6.4, 0.8 + 0.22 * count * max(len(shown), 1)), layout="constrained"
        )
        axes = figure.add_subplot()
        for index, (name, values, colour) in enumerate(series):
            positions = [i + (index - (count - 1) / 2) * height for i in range(len(shown))]
            axes.barh(positions, [v * 100 for v in values], height=height, color=colour, label=name)
        axes.set_yticks(list(range(len(shown))), shown)
        axes.invert_yaxis()
        axes.tick_params(colors=ink, labelsize=8)
        axes.xaxis.set_major_formatter("{x:.0f}%")
        axes.set_xlim(0, None)
        # above the bars, in one row: never over a bar
        axes.legend(
            loc="lower left", bbox_to_anchor=(0, 1.0), ncols=count, fontsize=8, frameon=False
        )
        return _svg(figure, title, key)


CHART_GROUPS = 10  # groups drawn per fairness chart (the table lists them all)


def report_charts(reach: ReachSummary, words: Words, palette: dict[str, str]) -> dict[str, str]:
    """The report's charts in one language, by name: `channel` and `week` (reach), and
    `fair-<dimension>` (shares of features, reach and membership of the first CHART_GROUPS
    groups); a chart with nothing to draw is left out."""
    t, ink = words.t, palette["ink"]
    charts: dict[str, str] = {}
    read = [c for c in reach.by_channel if c.read]
    if read:
        charts["channel"] = bars(
            [c.channel for c in read],
            [c.reach for c in read],
            title=t["reach_channel"],
            key="chart-channel",
            colour=palette["primary"],
            ink=ink,
            number=words.number,
        )
    if reach.read:
        charts["week"] = bars(
            [f"{words.day(w.start)} – {words.day(w.end)}" for w in reach.by_week],
            [w.reach for w in reach.by_week],
            title=t["reach_week"],
            key="chart-week",
            colour=palette["accent"],
            ink=ink,
            number=words.number,
        )
    for dimension, groups in reach.fairness.items():
        shown = groups[:CHART_GROUPS]
        if not any(g.features for g in shown):
            continue
        charts[f"fair-{dimension}"] = grouped_bars(
            [words.group(dimension, g.value, g.label) for g in shown],
            [
                (t["share_features"], [g.feature_share for g in shown], palette["primary"]),
                (t["share_reach"], [g.reach_share for g in shown], palette["accent"]),
                (t["share_members"], [g.member_share for g in shown], palette["muted"]),
            ],
            title=t[f"dim_{dimension}"],
            key=f"chart-fair-{dimension}",
            ink=ink,
        )
    return charts
