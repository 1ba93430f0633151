"""The server-drawn SVG charts: well-formed XML, accessible (title, desc, text labels), palette
colours with legible text, hostile labels kept as text, no inline style."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ifn_campaign.console.charts import FEATURE_COLOUR, INK, MEMBER_COLOUR, Bar, share_chart
from tests.support.colour import contrast

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script> & "Jawa" ]]> \x07Barat \u202eok'


def _chart(bars: list[Bar]) -> str:
    return str(
        share_chart(
            bars,
            chart_id="c",
            title="Features by <province>",
            feature_name="Share of features",
            member_name="Share of members",
            describe=lambda b: f"{b.label}: {b.feature_text}, {b.member_text}.",
        )
    )


def _bars() -> list[Bar]:
    return [
        Bar("Jawa Barat", 0.75, 0.5, "75% (3)", "50% (10)"),
        Bar(HOSTILE, 0.25, 0.5, "25% (1)", "50% (10)"),
    ]


def test_the_chart_is_well_formed_and_accessible() -> None:
    root = ET.fromstring(_chart(_bars()))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.get("aria-labelledby") == "c-title c-desc"
    assert root.find(f"{SVG}title").text == "Features by <province>"  # type: ignore[union-attr]
    desc = root.find(f"{SVG}desc").text or ""  # type: ignore[union-attr]
    assert "Jawa Barat: 75% (3), 50% (10)." in desc
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Jawa Barat" in texts and "75% (3)" in texts and "50% (10)" in texts
    assert "Share of features" in texts and "Share of members" in texts


def test_bars_are_scaled_to_the_largest_share() -> None:
    root = ET.fromstring(_chart(_bars()))
    widths = [float(r.get("width") or 0) for r in root.iter(f"{SVG}rect")][2:]  # after the legend
    assert widths[0] == max(widths)
    assert abs(widths[0] - 3 * widths[2]) < 0.5  # 75% against 25%
    assert widths[1] == widths[3] and abs(widths[1] - widths[0] * 2 / 3) < 0.5


def test_hostile_labels_stay_text() -> None:
    drawn = _chart(_bars())
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn
    root = ET.fromstring(drawn)  # parses: the control character is left out
    assert HOSTILE.replace("\x07", "") in [t.text for t in root.iter(f"{SVG}text")]
    assert "style" not in drawn


def test_colours_come_from_the_palette_and_text_is_legible() -> None:
    root = ET.fromstring(_chart(_bars()))
    fills = {e.get("fill") for e in root.iter() if e.get("fill")}
    assert fills == {INK, FEATURE_COLOUR, MEMBER_COLOUR}
    for text in root.iter(f"{SVG}text"):
        assert text.get("fill") == INK
    assert contrast(INK, "#FFFFFF") >= 4.5 and contrast(INK, "#FAF6EF") >= 4.5
    # the bars beside each other and against white: told apart without colour by their labels
    assert contrast(FEATURE_COLOUR, "#FFFFFF") >= 3 and contrast(MEMBER_COLOUR, "#FFFFFF") >= 3


def test_no_groups_still_parse() -> None:
    root = ET.fromstring(_chart([]))
    assert root.find(f"{SVG}title") is not None
    assert list(root.iter(f"{SVG}rect"))[2:] == []
