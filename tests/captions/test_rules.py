"""Platform text rules: counting hashtags, mentions and YouTube tags, shortening, the checks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ifn_campaign.captions.rules import (
    Cut,
    Limits,
    Violation,
    _cluster_starts,
    check_facebook,
    check_instagram,
    check_youtube,
    fit_tags,
    hashtags_in,
    mentions_in,
    shorten,
    utf8_bytes,
    youtube_safe,
    youtube_tags_length,
)

TECHIE = "👩\u200d💻"  # woman + ZWJ + laptop: one emoji, three code points
FLAG = "🇮🇩"  # two regional indicators


def test_limits_defaults_are_the_strict_values() -> None:
    limits = Limits()
    assert dataclasses.asdict(limits) == {
        "instagram_chars": 2200,
        "instagram_hashtags": 5,
        "instagram_mentions": 20,
        "facebook_chars": 63206,
        "facebook_hashtags": 10,
        "youtube_title_chars": 100,
        "youtube_description_bytes": 5000,
        "youtube_tags_chars": 500,
        "youtube_tags_max": 15,
    }
    assert Limits(instagram_hashtags=30).instagram_hashtags == 30
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.instagram_chars = 1  # type: ignore[misc]
    assert Cut("body", "x", "why") == Cut("body", "x", "why")
    assert Violation("title", "r").field == "title"


# --- hashtags and mentions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Halo #SepatuKulit dari #Bandung!", ["#SepatuKulit", "#Bandung"]),
        ("#a_b, #x.y", ["#a_b", "#x"]),
        ("#ภาษาไทย #Café #日本", ["#ภาษาไทย", "#Café", "#日本"]),
        ("#2025 #1 #_1 #Tahun2025", ["#Tahun2025"]),  # numbers-only tags are not tags
        ("C#x a#b", []),  # after a word character
        ("https://ifn.id/#anggota www.ifn.id/#x budi#x@contoh.id", []),  # inside URL / e-mail
        ("##dua #", ["#dua"]),
        ("#Sama #sama #Sama", ["#Sama", "#sama", "#Sama"]),  # repeats kept
        ("#👟 #sepatu👟keren", ["#sepatu"]),
        ("", []),
    ],
)
def test_hashtags_in(text: str, expected: list[str]) -> None:
    assert hashtags_in(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Terima kasih @budi.santoso dan @toko_sepatu.", ["@budi.santoso", "@toko_sepatu"]),
        ("email budi@contoh.id atau https://x.id/@budi", []),
        ("@ @... @a", ["@a"]),
        ("(@Ayu)", ["@Ayu"]),
    ],
)
def test_mentions_in(text: str, expected: list[str]) -> None:
    assert mentions_in(text) == expected


# --- YouTube tags -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "length"),
    [
        ([], 0),
        (["sepatu"], 6),
        (["sepatu", "sepatu kulit"], 6 + 1 + 12 + 2),
        (["a", "b", "c"], 5),
        (["sepatu kulit asli"], 17 + 2),
        (["é", "日本"], 1 + 1 + 2),  # characters, not bytes
    ],
)
def test_youtube_tags_length(tags: list[str], length: int) -> None:
    assert youtube_tags_length(tags) == length


def test_fit_tags_keeps_order_skips_what_does_not_fit() -> None:
    kept, dropped = fit_tags(["sepatu", "x" * 20, "sepatu kulit", "bandung"], 21, 15)
    assert kept == ["sepatu", "sepatu kulit"]  # 21 exactly
    assert dropped == ["x" * 20, "bandung"]
    # A long tag that does not fit does not block a later short one.
    assert fit_tags(["a" * 10, "b" * 30, "c"], 12, 15) == (["a" * 10, "c"], ["b" * 30])


def test_fit_tags_count_blank_and_repeats() -> None:
    assert fit_tags(["a", "b", "c"], 500, 2) == (["a", "b"], ["c"])
    assert fit_tags(["Sepatu", " ", "sepatu", "kulit"], 500, 15) == (
        ["Sepatu", "kulit"],
        [" ", "sepatu"],
    )
    assert fit_tags([], 500, 15) == ([], [])
    kept, _ = fit_tags([f"tag nomor {i}" for i in range(100)], 500, 100)
    assert youtube_tags_length(kept) <= 500


def test_youtube_safe() -> None:
    assert youtube_safe("harga <100rb> <3") == "harga ‹100rb› ‹3"
    assert youtube_safe("biasa") == "biasa"
    assert utf8_bytes(youtube_safe("<")) == 3


def test_utf8_bytes() -> None:
    assert utf8_bytes("") == 0
    assert utf8_bytes("abc") == 3
    assert utf8_bytes("é") == 2
    assert utf8_bytes("…") == 3
    assert utf8_bytes(TECHIE) == 4 + 3 + 4
    assert utf8_bytes("\ud800") == 3  # a lone surrogate is counted, not an exception


# --- shorten ----------------------------------------------------------------------------------

SENTENCE = "Sepatu kulit asli, dari Cibaduyut dibuat tangan sejak 1998."


def test_shorten_fits_already() -> None:
    assert shorten(SENTENCE, 100) == (SENTENCE, "")
    assert shorten(SENTENCE, len(SENTENCE)) == (SENTENCE, "")
    assert shorten("", 0) == ("", "")
    assert shorten("", 10) == ("", "")


def test_shorten_at_word_boundary_drops_trailing_punctuation() -> None:
    assert SENTENCE[17:] == ", dari Cibaduyut dibuat tangan sejak 1998."
    assert shorten(SENTENCE, 20) == ("Sepatu kulit asli…", SENTENCE[17:])
    assert shorten(SENTENCE, 18) == ("Sepatu kulit asli…", SENTENCE[17:])
    assert shorten(SENTENCE, 17) == ("Sepatu kulit…", SENTENCE[12:])
    assert shorten(SENTENCE, 13) == ("Sepatu kulit…", SENTENCE[12:])
    assert shorten(SENTENCE, 12)[0] == "Sepatu…"
    assert shorten("Dari (Bandung) ke Jakarta", 17)[0] == "Dari (Bandung)…"  # closer stays
    assert shorten("Satu - dua tiga", 10)[0] == "Satu…"
    assert shorten("Satu - dua tiga", 11)[0] == "Satu - dua…"
    assert shorten("Baris satu\nbaris dua", 16)[0] == "Baris satu…"


def test_shorten_only_trailing_whitespace() -> None:
    assert shorten("abc   ", 3) == ("abc", "   ")


def test_shorten_custom_ellipsis_and_tiny_limits() -> None:
    assert shorten(SENTENCE, 20, ellipsis=" [...]") == ("Sepatu kulit [...]", SENTENCE[12:])
    assert shorten("abc def", 0) == ("", "abc def")
    assert shorten("abc def", -5) == ("", "abc def")
    assert shorten("abc def", 1) == ("…", "abc def")
    # Too small even for the ellipsis: a bare prefix, no ellipsis.
    assert shorten("abc def", 2, ellipsis="...") == ("ab", "c def")


def test_shorten_protect() -> None:
    text = "Budi Santoso dari Bandung membuat sepatu kulit"
    # Without protection the cut may go anywhere; with it, never before index 12.
    assert shorten(text, 11) == ("Budi…", text[4:])
    assert shorten(text, 20, protect=12) == ("Budi Santoso dari…", text[17:])
    assert shorten(text, 13, protect=12) == ("Budi Santoso…", text[12:])
    # A protected end in the middle of a word rounds up to the end of that word.
    assert shorten(text, 19, protect=15) == ("Budi Santoso dari…", text[17:])
    # The protected part itself does not fit: hard cut, and the caller can see it.
    new, removed = shorten(text, 10, protect=12)
    assert new == "Budi Sant…"
    assert len(text) - len(removed) < 12


def test_shorten_protect_no_boundary_after_it() -> None:
    text = "Budi: " + "x" * 50
    # The end of the protected part is a word boundary itself.
    assert shorten(text, 20, protect=4) == ("Budi…", text[4:])
    # Protected part ends inside one long word: hard cut, but after the protected part.
    text = "Budi" + "x" * 50
    assert shorten(text, 20, protect=4) == ("Budi" + "x" * 15 + "…", "x" * 35)
    assert shorten(text, 20, protect=2) == ("Budi" + "x" * 15 + "…", "x" * 35)


def test_shorten_one_long_word() -> None:
    word = "a" * 300
    assert shorten(word, 10) == ("a" * 9 + "…", "a" * 291)
    assert shorten(word, 10, measure=utf8_bytes) == ("a" * 7 + "…", "a" * 293)
    assert shorten("Sepatu " + word, 50) == ("Sepatu…", " " + word)


def test_shorten_never_splits_an_emoji() -> None:
    assert shorten(f"Keren {TECHIE} sekali", 9) == ("Keren…", f" {TECHIE} sekali")
    assert shorten(f"Keren {TECHIE} sekali", 10) == (f"Keren {TECHIE}…", " sekali")
    assert shorten(TECHIE * 3, 5) == (TECHIE + "…", TECHIE * 2)
    assert shorten(TECHIE * 3, 3) == ("…", TECHIE * 3)  # no room for a whole emoji
    assert shorten(FLAG * 3, 5) == (FLAG * 2 + "…", FLAG)
    assert shorten(FLAG * 3, 4) == (FLAG + "…", FLAG * 2)
    assert shorten("❤️❤️❤️", 4) == ("❤️…", "❤️❤️")  # heart + variation selector
    assert shorten("👍🏽👍🏽", 3) == ("👍🏽…", "👍🏽")  # skin tone stays on
    assert shorten("e\u0301" * 5, 4) == ("e\u0301…", "e\u0301" * 4)  # accent stays on


def test_shorten_bytes_never_splits_a_character() -> None:
    text = "Sepatu kulit asli dari Cibaduyut"
    assert shorten(text, 20, measure=utf8_bytes) == ("Sepatu kulit asli…", " dari Cibaduyut")
    assert shorten(text, 19, measure=utf8_bytes) == ("Sepatu kulit…", " asli dari Cibaduyut")
    accented = "é" * 10
    new, removed = shorten(accented, 10, measure=utf8_bytes)
    assert (new, removed) == ("é" * 3 + "…", "é" * 7)
    assert utf8_bytes(new) == 9
    japanese = "日本語のテキスト 日本語のテキスト"
    new, _ = shorten(japanese, 30, measure=utf8_bytes)
    assert new == "日本語のテキスト…"
    assert utf8_bytes(new) == 27


def test_shorten_long_text_is_fast() -> None:
    text = ("Sepatu kulit asli Cibaduyut. " * 3000) + "!" * 70000
    new, removed = shorten(text, 63206)
    assert len(new) <= 63206
    assert new[:-1] + removed == text


# --- checks -----------------------------------------------------------------------------------


def test_check_instagram() -> None:
    limits = Limits()
    assert check_instagram("Halo #Sepatu @budi", limits) == []
    assert check_instagram("x" * 2200, limits) == []
    caption = "x" * 2340 + " " + " ".join(f"#t{i}" for i in range(7))
    caption += " " + " ".join(f"@u{i}" for i in range(21))
    assert check_instagram(caption, limits) == [
        Violation("caption", f"{len(caption):,} characters; Instagram allows 2,200"),
        Violation("caption", "7 hashtags; Instagram allows 5"),
        Violation("caption", "21 @-mentions; Instagram allows 20"),
    ]
    assert len(caption) > 2350
    seven = " ".join(f"#t{i}" for i in range(7))
    assert check_instagram(seven, Limits(instagram_hashtags=30)) == []


def test_check_instagram_reason_wording() -> None:
    assert check_instagram("x" * 2350, Limits()) == [
        Violation("caption", "2,350 characters; Instagram allows 2,200")
    ]


def test_check_facebook() -> None:
    limits = Limits()
    assert check_facebook("x" * 63206, limits) == []
    assert check_facebook("x" * 63207, limits) == [
        Violation("text", "63,207 characters; Facebook allows 63,206")
    ]
    tags = " ".join(f"#t{i}" for i in range(11))
    assert check_facebook(tags, limits) == [
        Violation("text", "11 hashtags; our limit for Facebook posts is 10")
    ]


def test_check_youtube_ok() -> None:
    assert check_youtube("Judul", "Deskripsi", ["sepatu", "sepatu kulit"], Limits()) == []
    assert check_youtube("x" * 100, "é" * 2500, [], Limits()) == []


def test_check_youtube_every_rule() -> None:
    tags = [f"tag nomor {i:02d}" for i in range(40)]  # 12 + 2 each, commas: 40 * 14 + 39 = 599
    found = check_youtube("x" * 101 + "<", "é" * 2501 + ">", tags, Limits())
    assert found == [
        Violation("title", "102 characters; YouTube allows 100"),
        Violation("description", "5,003 bytes of UTF-8; YouTube allows 5,000"),
        Violation("title", "contains '<'; YouTube forbids '<' and '>' in the title"),
        Violation("description", "contains '>'; YouTube forbids '<' and '>' in the description"),
        Violation("tags", "599 characters as YouTube counts tags; YouTube allows 500"),
        Violation("tags", "40 tags; our limit is 15"),
    ]


def test_check_youtube_empty_title() -> None:
    assert check_youtube("  ", "", [], Limits()) == [
        Violation("title", "the title is empty; YouTube requires one")
    ]
    assert check_youtube("a <b>", "", [], Limits()) == [
        Violation("title", "contains '<' and '>'; YouTube forbids '<' and '>' in the title")
    ]


# --- properties -------------------------------------------------------------------------------

# Everything but lone surrogates, plus the characters that make cutting hard.
TEXT = st.text(
    st.one_of(
        st.characters(exclude_categories=("Cs",)),
        st.sampled_from([" ", "\n", ",", ".", "!", "\u200d", "\ufe0f", "\u0301", "🇮", "🇩", "👍"]),
        st.sampled_from(["👩", "💻", "🏽", "é", "日", "a", "b"]),
    ),
    max_size=120,
)


@settings(max_examples=400, deadline=None)
@given(
    text=TEXT,
    limit=st.integers(10, 150),
    measure=st.sampled_from([len, utf8_bytes]),
    protect=st.integers(0, 130),
)
def test_shorten_property(
    text: str, limit: int, measure: Callable[[str], int], protect: int
) -> None:
    new, removed = shorten(text, limit, measure=measure, protect=protect)
    assert measure(new) <= limit
    if not removed:
        assert new == text
        return
    kept = new.removesuffix("…")
    assert kept + removed == text
    assert text.startswith(kept)
    assert len(kept) in _cluster_starts(text)  # never inside an emoji, accent or flag
