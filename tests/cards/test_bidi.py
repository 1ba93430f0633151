"""The bidirectional algorithm on its own: paragraph direction and the visual order of levels
(the levels themselves are checked with the drawn runs in test_text)."""

from __future__ import annotations

from ifn_campaign.cards import bidi


def test_the_first_strong_character_sets_the_paragraph_direction() -> None:
    assert bidi.paragraph_rtl("12 مرحبا Bandung")
    assert not bidi.paragraph_rtl("(Bandung) مرحبا")
    assert not bidi.paragraph_rtl("2024 !")  # no strong character: left to right


def test_only_lines_with_right_to_left_text_are_reordered() -> None:
    assert not bidi.needs_reordering("Sepatu 1998", False)
    assert bidi.needs_reordering("Sepatu 1998", True)
    assert bidi.needs_reordering("Sepatu שלום", False)
    assert bidi.needs_reordering("١٩٩٨", False)  # Arabic-Indic digits are AN


def test_visual_order_reverses_each_level_from_the_highest_down() -> None:
    assert bidi.visual_order([]) == []
    assert bidi.visual_order([0, 0, 0]) == [0, 1, 2]
    assert bidi.visual_order([1, 1, 1]) == [2, 1, 0]
    # an RTL paragraph holding a number: the number keeps its own order inside the reversal
    assert bidi.visual_order([1, 1, 2, 2, 1]) == [4, 2, 3, 1, 0]
    # an LTR paragraph holding Arabic then its number (levels of "ab مر 12")
    assert bidi.visual_order([0, 0, 0, 1, 1, 1, 2, 2]) == [0, 1, 2, 6, 7, 5, 4, 3]


def test_levels_match_the_visual_order_of_a_mixed_name() -> None:
    text = "مر (ab) 1"
    order = bidi.visual_order(bidi.levels(text, True))
    # brackets are not mirrored here: HarfBuzz mirrors them when it shapes the run right to left
    assert "".join(text[i] for i in order) == "1 )ab( رم"
