"""Hashtags: cleaning any phrase into a valid tag, merging without case duplicates, the table."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ifn_campaign.captions.hashtags import (
    HASHTAGS_FILE,
    clean_hashtag,
    load_hashtag_table,
    member_hashtags,
    merge_hashtags,
)
from ifn_campaign.captions.rules import hashtags_in
from ifn_campaign.errors import CaptionTemplateError
from ifn_campaign.registry.record import vocabulary


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("#Bangga Buatan Indonesia!", "#BanggaBuatanIndonesia"),
        ("sepatu kulit", "#SepatuKulit"),
        ("IndonesiaMelangkah", "#IndonesiaMelangkah"),
        ("#IndonesiaMelangkah", "#IndonesiaMelangkah"),
        ("##sepatu", "#Sepatu"),
        ("iPhone case", "#iPhoneCase"),  # a word with capitals is kept as written
        ("Jawa-Barat", "#JawaBarat"),
        ("Women's flats", "#WomensFlats"),  # apostrophes join, they do not split
        ("Women’s flats", "#WomensFlats"),
        ("Sneakers & kasual", "#SneakersKasual"),
        ("sepatu_kulit", "#Sepatu_kulit"),
        ("Sepatu👟Keren ❤️", "#SepatuKeren"),  # emoji stripped
        ("1️⃣ sepatu", "#1Sepatu"),  # keycap marks dropped with the emoji
        ("Tahun 2025", "#Tahun2025"),
        ("ภาษา ไทย", "#ภาษาไทย"),  # non-Latin letters and their marks kept
        ("日本 語", "#日本語"),
        ("مرحبا", "#مرحبا"),
        ("e\u0301te\u0301", "#Été"),  # NFC
        ("straße", "#Straße"),  # ß has no one-letter capital
        ("Sepatu\u200bKulit", "#SepatuKulit"),  # zero-width space separates
    ],
)
def test_clean_hashtag(word: str, expected: str) -> None:
    assert clean_hashtag(word) == expected


@pytest.mark.parametrize(
    "word",
    ["", " ", "#", "!!!", "👟❤️", "2025", "#2025", "12 34", "_", "#__", "1_2", "\u0301", "١٢٣"],
)
def test_clean_hashtag_refuses(word: str) -> None:
    assert clean_hashtag(word) is None


def test_clean_hashtag_length() -> None:
    assert clean_hashtag("a" * 99) == "#A" + "a" * 98  # 100 with the '#'
    assert clean_hashtag("a" * 100) is None  # a cut-off tag would be another tag


def test_merge_dedupes_regardless_of_case_first_spelling_wins() -> None:
    assert merge_hashtags([["#SepatuKulit"], ["#sepatukulit", "sepatu kulit"]], 5) == [
        "#SepatuKulit"
    ]
    assert merge_hashtags([["sepatukulit"], ["SepatuKulit"]], 5) == ["#Sepatukulit"]
    assert merge_hashtags([["Straße"], ["STRASSE"]], 5) == ["#Straße"]  # casefold


def test_merge_order_cap_and_junk() -> None:
    groups = [["Kampanye"], ["IndonesiaMelangkah", "!!!", "2025"], ["SepatuKulit"], ["JawaBarat"]]
    assert merge_hashtags(groups, 10) == [
        "#Kampanye",
        "#IndonesiaMelangkah",
        "#SepatuKulit",
        "#JawaBarat",
    ]
    assert merge_hashtags(groups, 2) == ["#Kampanye", "#IndonesiaMelangkah"]
    assert merge_hashtags(groups, 0) == []
    assert merge_hashtags(groups, -1) == []
    assert merge_hashtags([], 5) == []


# --- the table --------------------------------------------------------------------------------


def test_shipped_table_is_valid_and_covers_the_vocabulary() -> None:
    table = load_hashtag_table()
    assert table["always"] == ["IndonesiaMelangkah", "BanggaBuatanIndonesia"]
    assert set(table["categories"]) == set(vocabulary()["categories"])  # type: ignore[arg-type]
    assert set(table["actor_types"]) == set(vocabulary()["actor_types"])  # type: ignore[arg-type]
    for province in ("Jawa Barat", "Jawa Timur", "Jawa Tengah", "Banten", "DKI Jakarta", "Bali"):
        assert province in table["provinces"]  # type: ignore[operator]


def test_member_hashtags_order() -> None:
    tags = member_hashtags(
        ["leather_shoes", "boots"],
        "Jawa Barat",
        "Sentra Sepatu Cibaduyut",
        ["producer"],
        ["Sorotan"],
        20,
    )
    assert tags == [
        "#Sorotan",
        "#IndonesiaMelangkah",
        "#BanggaBuatanIndonesia",
        "#SepatuCibaduyut",
        "#SepatuKulit",
        "#SepatuBoots",
        "#JawaBarat",
        "#ProdusenSepatu",
    ]
    # Instagram's default cap keeps the most important five.
    assert member_hashtags(["leather_shoes"], "Jawa Barat", "Cibaduyut", ["brand"], [], 5) == [
        "#IndonesiaMelangkah",
        "#BanggaBuatanIndonesia",
        "#SepatuCibaduyut",
        "#SepatuKulit",
        "#JawaBarat",
    ]


def test_member_hashtags_lookup_is_forgiving_and_unknowns_add_nothing() -> None:
    assert member_hashtags(["leather_shoes"], "  jawa   barat ", None, [], [], 10) == [
        "#IndonesiaMelangkah",
        "#BanggaBuatanIndonesia",
        "#SepatuKulit",
        "#JawaBarat",
    ]
    assert member_hashtags(["unknown"], "Papua", "Sentra Lain", ["other"], [], 10) == [
        "#IndonesiaMelangkah",
        "#BanggaBuatanIndonesia",
    ]
    # A campaign tag equal to an `always` tag ignoring case keeps the campaign's spelling.
    assert member_hashtags([], None, None, [], ["#indonesiamelangkah"], 10) == [
        "#Indonesiamelangkah",
        "#BanggaBuatanIndonesia",
    ]


def test_member_hashtags_with_own_table() -> None:
    table = {
        "always": ["Satu"],
        "categories": {"sandals": ["Sandal Jepit", "sandaljepit"]},
        "sentra": {"Ciomas": ["SandalCiomas"], "Bogor Raya": ["BogorRaya"]},
        "provinces": {},
        "actor_types": {"brand": ["Merek"]},
    }
    assert member_hashtags(
        ["sandals"], "Jawa Barat", "Sentra Sandal Ciomas, Bogor Raya", ["brand"], [], 10, table
    ) == ["#Satu", "#SandalCiomas", "#BogorRaya", "#SandalJepit", "#Merek"]
    # Whole words only: "Ciomasan" is not Ciomas.
    assert member_hashtags([], None, "Ciomasan", [], [], 10, table) == ["#Satu"]
    assert member_hashtags([], None, None, [], [], 10, {}) == []


def test_table_mistakes_name_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "syntax.toml"
    bad.write_text('always = ["A"]\n[categories\n', encoding="utf-8")
    with pytest.raises(CaptionTemplateError) as err:
        load_hashtag_table(bad)
    assert err.value.file == str(bad.resolve())
    assert err.value.line == 2

    wrong = tmp_path / "wrong.toml"
    wrong.write_text(
        'always = "A"\nextra = 1\n[categories]\nsneakers = ["!!!"]\nboots = [1]\n'
        '[provinces]\nBali = ["Bali"]\n',
        encoding="utf-8",
    )
    with pytest.raises(CaptionTemplateError) as err:
        load_hashtag_table(wrong)
    message = str(err.value)
    assert "always must be a list of strings" in message
    assert "categories.sneakers: '!!!' is not a usable hashtag" in message
    assert "categories.boots must be a list of strings" in message
    assert "unknown key(s) extra" in message

    with pytest.raises(CaptionTemplateError, match="cannot read"):
        load_hashtag_table(tmp_path / "missing.toml")


def test_table_file_location() -> None:
    assert HASHTAGS_FILE.parts[-3:] == ("templates", "captions", "hashtags.toml")


# --- properties -------------------------------------------------------------------------------

PHRASES = st.text(
    st.one_of(
        st.characters(exclude_categories=("Cs",)),
        st.sampled_from([" ", "#", "_", "1", "'", "\u0301", "\ufe0f", "\u20e3", "👟", "ß", "ǆ"]),
    ),
    max_size=40,
)


def _valid_body(body: str) -> bool:
    """Letters, decimal digits, underscores, and combining marks that follow one of those."""
    return (
        bool(body)
        and unicodedata.category(body[0])[0] != "M"
        and all(ch == "_" or ch.isdecimal() or unicodedata.category(ch)[0] in "LM" for ch in body)
        and not all(ch == "_" or ch.isdecimal() for ch in body)
    )


@settings(max_examples=400, deadline=None)
@given(PHRASES)
def test_clean_hashtag_property(word: str) -> None:
    tag = clean_hashtag(word)
    if tag is None:
        return
    assert tag.startswith("#")
    assert _valid_body(tag[1:])
    assert len(tag) <= 100
    assert tag == unicodedata.normalize("NFC", tag)
    assert clean_hashtag(tag) == tag  # idempotent
    assert hashtags_in(f"Halo {tag} ya") == [tag]  # Instagram links all of it


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(PHRASES, max_size=6), max_size=5), st.integers(-1, 12))
def test_merge_hashtags_property(groups: list[list[str]], cap: int) -> None:
    merged = merge_hashtags(groups, cap)
    assert len(merged) <= max(cap, 0)
    keys = [unicodedata.normalize("NFC", t.casefold()) for t in merged]
    assert len(keys) == len(set(keys))
    assert all(clean_hashtag(t) == t for t in merged)
