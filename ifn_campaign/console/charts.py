"""Charts drawn on the server as SVG, put inline in a page: no script, no style attribute, no
request to anywhere.

`share_chart` draws the fairness page's horizontal bars: per group, its share of the features
beside its share of the members. The SVG is built with ElementTree, which escapes every text
and attribute, so a province or member name is always text, never markup; characters XML
cannot hold at all (controls) are left out. It is accessible: `role="img"` named by its
`<title>` and described by its `<desc>` (every group's numbers), and every bar has a text label
(the table beside it says the same). Colours come from the brand palette; text is ink on
white (16.09:1), the bars' numbers are ink too.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

__all__ = ["FEATURE_COLOUR", "INK", "MEMBER_COLOUR", "Bar", "share_chart"]

INK = "#1A1A1F"  # palette: ink, text on white 16.09:1 and on paper
FEATURE_COLOUR = "#0E4A55"  # palette: primary (bars, not text)
MEMBER_COLOUR = "#C8622E"  # palette: accent (bars, not text)
WIDTH = 640
LABEL_HEIGHT = 18
BAR_HEIGHT = 14
GAP = 4
GROUP_GAP = 14
LEGEND_HEIGHT = 28
NUMBER_ROOM = 180  # right of the longest bar: its number and share ("66.7% of features (2)")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class Bar:
    """One group: its label and the two shares (0 to 1) with the numbers shown beside them."""

    label: str
    feature_share: float
    member_share: float
    feature_text: str
    member_text: str


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def share_chart(
    bars: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    feature_name: str,
    member_name: str,
    describe: Callable[[Bar], str],
) -> Markup:
    """The SVG for `bars` (one pair of bars per group), scaled to the largest share.
    `describe(bar)` is one group in words for the `<desc>`; `chart_id` makes the ids unique on
    the page. The caller translates every text."""
    top = max([b.feature_share for b in bars] + [b.member_share for b in bars] + [0.0])
    scale = (WIDTH - NUMBER_ROOM) / top if top > 0 else 0.0
    group = LABEL_HEIGHT + 2 * BAR_HEIGHT + GAP + GROUP_GAP
    height = LEGEND_HEIGHT + max(len(bars), 1) * group
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {WIDTH} {height}",
            "width": str(WIDTH),
            "height": str(height),
            "role": "img",
            "class": "chart",
            "aria-labelledby": f"{chart_id}-title {chart_id}-desc",
            "font-family": "system-ui, sans-serif",
            "font-size": "13",
        },
    )
    ET.SubElement(svg, "title", {"id": f"{chart_id}-title"}).text = _clean(title)
    ET.SubElement(svg, "desc", {"id": f"{chart_id}-desc"}).text = _clean(
        " ".join(describe(b) for b in bars)
    )
    legend = ET.SubElement(svg, "g", {"aria-hidden": "true"})
    x = 0
    for colour, name in ((FEATURE_COLOUR, feature_name), (MEMBER_COLOUR, member_name)):
        ET.SubElement(
            legend,
            "rect",
            {"x": str(x), "y": "6", "width": "14", "height": "14", "fill": colour},
        )
        ET.SubElement(legend, "text", {"x": str(x + 20), "y": "18", "fill": INK}).text = _clean(
            name
        )
        x += 24 + 8 * len(name) + 24
    y = LEGEND_HEIGHT
    for bar in bars:
        row = ET.SubElement(svg, "g", {"class": "group"})
        ET.SubElement(
            row,
            "text",
            {
                "x": "0",
                "y": str(y + 13),
                "fill": INK,
                "font-weight": "600",
                "unicode-bidi": "isolate",
            },
        ).text = _clean(bar.label)
        for offset, share, colour, shown in (
            (LABEL_HEIGHT, bar.feature_share, FEATURE_COLOUR, bar.feature_text),
            (LABEL_HEIGHT + BAR_HEIGHT + GAP, bar.member_share, MEMBER_COLOUR, bar.member_text),
        ):
            length = max(share * scale, 0.0)
            ET.SubElement(
                row,
                "rect",
                {
                    "x": "0",
                    "y": str(y + offset),
                    "width": f"{length:.1f}",
                    "height": str(BAR_HEIGHT),
                    "fill": colour,
                },
            )
            ET.SubElement(
                row,
                "text",
                {"x": f"{length + 6:.1f}", "y": str(y + offset + 11), "fill": INK},
            ).text = _clean(shown)
        y += group
    # safe: ElementTree escaped every text and attribute value written above
    return Markup(ET.tostring(svg, encoding="unicode"))  # noqa: S704
