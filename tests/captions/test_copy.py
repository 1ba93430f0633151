"""Captions read as a copywriter would write them (issue 15).

Lists end with "dan" / "and" (Babel's CLDR patterns), every fact is said once (the sentra's name,
the founding year, the export markets), an English caption is English from the headline down and
never carries the Indonesian description, and the lint flags a phrase of four or more words said
twice in one caption. The shipped templates and the golden captions pass that lint, for the
sample members and for generated sample-like members.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ifn_campaign.captions.context import MemberView, city_name, daftar
from ifn_campaign.captions.lint import (
    caption_repeats,
    lint,
    repeated_phrases,
    words,
)
from ifn_campaign.captions.writer import (
    CAPTIONS_DIR,
    CHANNELS,
    LANGUAGES,
    CampaignInfo,
    Caption,
    CaptionWriter,
)
from ifn_campaign.errors import CaptionTemplateError
from ifn_campaign.models import Member
from ifn_campaign.registry.record import MemberRecord, parse_record, vocabulary
from ifn_sandbox.registry import SAMPLE_REGISTRY
from ifn_sandbox.sample import member_from_record, sample_members

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "captions"
SAMPLES = {m.id: m for m in sample_members()}
WRITER = CaptionWriter()
NOW = datetime(2026, 12, 6, tzinfo=UTC)


def _record(**changes: object) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "ifn-9101",
        "business_name": "Sepatu Kulit Priangan",
        "actor_types": ["producer"],
        "categories": ["leather_shoes"],
        "description_id": "Sepatu kulit buatan tangan dari perajin kampung.",
        "city": "Kota Bandung",
        "province": "Jawa Barat",
        "sentra": "Cibaduyut",
        "socials": {"instagram": "kulitpriangan"},
        "consent": {
            "granted_at": "2025-01-01T00:00:00Z",
            "channels": ["instagram", "facebook", "youtube"],
            "fields_allowed": [],
        },
        "status": "active",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    base.update(changes)
    return base


def _member(**changes: object) -> Member:
    record = parse_record(_record(**changes))
    assert isinstance(record, MemberRecord), record
    return member_from_record(record)


def _view(member: Member, lang: str, channel: str = "facebook") -> MemberView:
    return MemberView(member, channel, lang, [], WRITER.profile_url, NOW)


def _body(caption: Caption) -> str:
    """The caption without its hashtags (they repeat the sentra and province on purpose)."""
    return re.sub(r"(?<!\w)#\w+", "", caption.title + "\n" + caption.text)


def _count(number: int, text: str) -> int:
    return len(re.findall(rf"(?<!\d){number}(?!\d)", text))


# the list helper -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "items,lang,expected",
    [
        ([], "id", ""),
        ([], "en", ""),
        (["sepatu kulit"], "id", "sepatu kulit"),
        (["leather shoes"], "en", "leather shoes"),
        (["sepatu kulit", "boots"], "id", "sepatu kulit dan boots"),
        (["leather shoes", "boots"], "en", "leather shoes and boots"),
        (["a", "b", "c"], "id", "a, b, dan c"),
        (["a", "b", "c"], "en", "a, b, and c"),  # US English: the serial comma
        (["a", "b", "c", "d"], "id", "a, b, c, dan d"),
        (["a", "b", "c", "d"], "en", "a, b, c, and d"),
        (
            ["sandal & selop", "sepatu flat wanita", "sepatu kulit"],
            "id",
            "sandal & selop, sepatu flat wanita, dan sepatu kulit",
        ),
        (["sandals & slides", "women's flats"], "en", "sandals & slides and women's flats"),
        # an item with its own comma: semicolons keep the items apart
        (["kulit sapi", "PU, TPU", "karet"], "id", "kulit sapi; PU, TPU; dan karet"),
        (["cow leather", "PU, TPU", "rubber"], "en", "cow leather; PU, TPU; and rubber"),
        (["PU, TPU", "karet"], "id", "PU, TPU dan karet"),
        # blanks and None are no items; spaces are tidied
        (["  kulit   sapi ", "", None, " ", "karet"], "id", "kulit sapi dan karet"),
        (["a", "b", "c"], "jv", "a, b, dan c"),  # a language without templates: Indonesian
        ([1978, 2009], "id", "1978 dan 2009"),
    ],
)
def test_daftar_joins_a_list_as_a_sentence_says_it(
    items: list[object], lang: str, expected: str
) -> None:
    assert daftar(items, lang) == expected


def test_daftar_in_a_template_follows_the_caption_language_and_refuses_a_string(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "default"
    folder.mkdir()
    for lang in LANGUAGES:
        (folder / f"facebook.{lang}.j2").write_text(
            "{% block body %}{{ member.name }}: {{ member.categories | daftar }}{% endblock %}",
            encoding="utf-8",
        )
    writer = CaptionWriter(directory=tmp_path)
    member = _member(categories=["leather_shoes", "sandals", "boots"])
    assert writer.write(member, "facebook", "id").text.startswith(
        "Sepatu Kulit Priangan: Sepatu kulit, Sandal & selop, dan Sepatu bot"
    )
    assert writer.write(member, "facebook", "en").text.startswith(
        "Sepatu Kulit Priangan: Leather shoes, Sandals & slides, and Boots"
    )
    (folder / "instagram.id.j2").write_text(
        "{% block body %}\n{{ member.name | daftar }}{% endblock %}", encoding="utf-8"
    )
    with pytest.raises(CaptionTemplateError, match="daftar takes a list") as info:
        writer.write(member, "instagram")
    assert info.value.line == 2


@pytest.mark.parametrize("member_id", ["ifn-0001", "ifn-0049", "ifn-0059"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_shipped_captions_end_their_lists_with_dan_or_and(member_id: str, lang: str) -> None:
    member = SAMPLES[member_id]
    view = _view(member, lang)
    conjunction = " dan " if lang == "id" else " and "
    for channel in CHANNELS:
        text = WRITER.write(member, channel, lang).text
        categories = daftar([c.lower() for c in view.categories], lang)
        assert conjunction in categories and categories in text
        if channel == "facebook":
            assert f"{daftar(view.materials, lang)}." in text
    assert ", karet." not in WRITER.write(member, "facebook", "id").text  # not "a, b, karet"


# facts once ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentra,city,province,lang,expected",
    [
        ("Sidoarjo", "Kab. Sidoarjo", "Jawa Timur", "id", "sentra Sidoarjo, Jawa Timur"),
        (
            "Sidoarjo",
            "Kab. Sidoarjo",
            "Jawa Timur",
            "en",
            "the Sidoarjo footwear centre, East Java",
        ),
        ("Magetan", "Kabupaten Magetan", "Jawa Timur", "id", "sentra Magetan, Jawa Timur"),
        ("Tangerang", "Kota Tangerang", "Banten", "id", "sentra Tangerang, Banten"),
        ("Ciomas", "Kab. Bogor", "Jawa Barat", "id", "sentra Ciomas, Kab. Bogor, Jawa Barat"),
        (
            "Ciomas",
            "Kab. Bogor",
            "Jawa Barat",
            "en",
            "the Ciomas footwear centre, Bogor Regency, West Java",
        ),
        # a different place that shares a word is still named
        (
            "Tangerang",
            "Kota Tangerang Selatan",
            "Banten",
            "id",
            "sentra Tangerang, Kota Tangerang Selatan, Banten",
        ),
        # a sentra whose name says "sentra" itself is not "sentra Sentra ..."
        (
            "Sentra Sepatu Cibaduyut",
            "Kota Bandung",
            "Jawa Barat",
            "id",
            "Sentra Sepatu Cibaduyut, Kota Bandung, Jawa Barat",
        ),
        (
            "Sentra Sepatu Sidoarjo",
            "Kab. Sidoarjo",
            "Jawa Timur",
            "id",
            "Sentra Sepatu Sidoarjo, Jawa Timur",
        ),
        (None, "Kab. Gianyar", "Bali", "id", "Kab. Gianyar, Bali"),
        (None, "Kota Yogyakarta", "DI Yogyakarta", "id", "Kota Yogyakarta, DI Yogyakarta"),
        (None, "Kota Yogyakarta", "DI Yogyakarta", "en", "Yogyakarta"),
        (None, "Jakarta Timur", "DKI Jakarta", "en", "East Jakarta"),
        ("Sidoarjo", None, "Jawa Timur", "id", "sentra Sidoarjo, Jawa Timur"),
        ("Sidoarjo", None, None, "en", "the Sidoarjo footwear centre"),
        (None, None, None, "id", ""),
    ],
)
def test_origin_names_the_sentra_once(
    sentra: str | None, city: str | None, province: str | None, lang: str, expected: str
) -> None:
    member = _member(sentra=sentra, city=city, province=province)
    assert _view(member, lang).origin == expected


def test_a_member_with_no_place_is_from_nowhere_in_particular() -> None:
    member = _member(sentra=None, city=None, province=None)
    assert "Produsen sepatu kulit.\n" in WRITER.write(member, "instagram").text
    assert "Producer of leather shoes.\n" in WRITER.write(member, "instagram", "en").text
    youtube = WRITER.write(member, "youtube", "en").text
    assert youtube.startswith("Sepatu Kulit Priangan, a producer of leather shoes from Indonesia.")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("channel", CHANNELS)
def test_sentra_named_after_its_regency_is_named_once(channel: str, lang: str) -> None:
    caption = WRITER.write(SAMPLES["ifn-0049"], channel, lang)
    body = caption.text  # the YouTube title names the regency, as a title should
    assert "Sidoarjo, Kab. Sidoarjo" not in body and "Sidoarjo, Sidoarjo" not in body
    assert len(re.findall(r"Sidoarjo", re.sub(r"#\w+", "", body))) == 1


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("channel", ["instagram", "facebook"])
def test_every_sample_members_founding_year_is_said_exactly_once(channel: str, lang: str) -> None:
    for member in SAMPLES.values():
        if member.year_founded is None:
            continue
        text = WRITER.write(member, channel, lang).text
        assert _count(member.year_founded, text) == 1, (member.id, text)


def test_a_year_the_description_gives_is_not_given_again() -> None:
    member = SAMPLES["ifn-0049"]  # "Usaha keluarga sejak 1978" / "A family business since 1978"
    facebook = WRITER.write(member, "facebook").text
    assert "Usaha keluarga sejak 1978" in facebook and "Berdiri sejak" not in facebook
    assert "Kini didukung 34 tenaga kerja dengan kapasitas 5.000 pasang per bulan." in facebook
    english = WRITER.write(member, "facebook", "en").text
    assert "A family business since 1978" in english and "Founded in" not in english
    assert "A team of 34 people with a capacity of 5,000 pairs a month." in english
    instagram = WRITER.write(member, "instagram").text
    assert "Kapasitas produksinya 5.000 pasang per bulan." in instagram
    # the year in only one language's description: the other caption says it
    only_en = _member(year_founded=1978, description_en="Making shoes since 1978.")
    assert "Berdiri sejak 1978." in WRITER.write(only_en, "instagram").text
    assert "Founded in" not in WRITER.write(only_en, "instagram", "en").text
    # a longer number holding the digits is not the year
    coded = _member(year_founded=1978, description_id="Bersertifikat SNI 197801.")
    assert _view(coded, "id").founded == 1978


def test_one_employee_is_a_person() -> None:
    one = WRITER.write(_member(year_founded=2020, employees=1), "facebook", "en").text
    assert "Founded in 2020, with 1 person." in one
    both = WRITER.write(
        _member(year_founded=2020, employees=3, capacity_pairs_per_month=100), "facebook", "en"
    ).text
    assert "Founded in 2020, with 3 people and a capacity of 100 pairs a month." in both
    capacity = WRITER.write(
        _member(year_founded=2020, capacity_pairs_per_month=100), "facebook", "en"
    ).text
    assert "Founded in 2020, a capacity of 100 pairs a month." in capacity


def test_export_markets_the_description_names_are_not_listed_again() -> None:
    bali = SAMPLES["ifn-0072"]  # "... pembeli di Australia, Jepang, dan Prancis"
    for channel in ("instagram", "facebook", "youtube"):
        text = WRITER.write(bali, channel).text
        assert text.count("Australia") == 1 and "Pasar ekspor" not in text
    named_some = _member(export_markets=["MY", "SG"], description_id="Pelanggan di Malaysia.")
    text = WRITER.write(named_some, "facebook").text
    assert "Pasar ekspor: Malaysia dan Singapura." in text
    english = _member(export_markets=["MY", "BN"], description_en="Sold in Malaysia and Brunei.")
    assert _view(english, "en").markets == []
    assert _view(english, "id").markets == ["Malaysia", "Brunei Darussalam"]
    # English names that need "the" in a sentence get it; the description may name them without
    west = _member(export_markets=["US", "NL", "MY"], description_en="Sold in the US.")
    assert _view(west, "en").markets == ["the United States", "the Netherlands", "Malaysia"]
    assert "Export markets: the United States, the Netherlands, and Malaysia." in (
        WRITER.write(west, "facebook", "en").text
    )
    assert _view(west, "id").markets == ["Amerika Serikat", "Belanda", "Malaysia"]
    named = _member(
        export_markets=["US", "NL"], description_en="Sold in United States and Netherlands."
    )
    assert _view(named, "en").markets == []


def test_a_market_the_description_names_by_its_short_name_is_not_listed_again() -> None:
    """'Brunei' in the member's words is Brunei Darussalam: ifn-0021's Indonesian captions said
    'Pelanggan kami tersebar hingga Malaysia dan Brunei.' and then 'Pasar ekspor: Malaysia dan
    Brunei Darussalam.' The class: CLDR's formal name against the name people write."""
    rasyid = SAMPLES["ifn-0021"]
    for channel in CHANNELS:
        for lang in ("id", "en"):
            text = WRITER.write(rasyid, channel, lang).text
            assert text.count("Brunei") == 1, (channel, lang, text)
    for code, lang, says in [
        ("US", "id", "Diekspor ke AS dan Malaysia."),
        ("US", "id", "Pembeli kami dari A.S. dan Malaysia."),
        ("US", "en", "Sold in the USA and Malaysia."),
        ("GB", "id", "Dijual di Inggris dan Malaysia."),
        ("GB", "en", "Sold in the UK and Malaysia."),
        ("KR", "id", "Diekspor ke Korea dan Malaysia."),
        ("AE", "en", "Sold in the UAE and Malaysia."),
        ("AE", "id", "Dijual di UEA dan Malaysia."),
        ("TR", "en", "Sold in Turkey and Malaysia."),
    ]:
        field = "description_en" if lang == "en" else "description_id"
        member = _member(export_markets=[code, "MY"], **{field: says})
        assert _view(member, lang).markets == [], (code, lang, says)
    # an abbreviation counts only as written: 'us' is a pronoun, 'as' a word
    us = _member(export_markets=["US"], description_en="Made for us by hand.")
    assert _view(us, "en").markets == ["the United States"]
    as_word = _member(export_markets=["US"], description_id="Sepatu as roda kuat.")
    assert _view(as_word, "id").markets == ["Amerika Serikat"]
    # another market that shares a word is not the country
    latin = _member(export_markets=["US"], description_en="Sold across South America.")
    assert _view(latin, "en").markets == ["the United States"]
    latin = _member(export_markets=["US"], description_id="Dijual ke Amerika Latin.")
    assert _view(latin, "id").markets == ["Amerika Serikat"]


@pytest.mark.parametrize("lang", ["id", "en"])
def test_country_names_read_as_a_copywriter_writes_them(lang: str) -> None:
    """CLDR's formal names ('Hong Kong DAK Tiongkok', 'Myanmar (Burma)') are not caption copy."""
    member = _member(export_markets=["HK", "MO", "MM", "PS"])
    names = _view(member, lang).export_markets
    assert names[:3] == ["Hong Kong", "Makau" if lang == "id" else "Macao", "Myanmar"]
    assert names[3] == ("Palestina" if lang == "id" else "Palestine")
    text = WRITER.write(member, "facebook", lang).text
    assert "DAK" not in text and "SAR" not in text and "(" not in text.split("#")[0]


def test_a_certificate_number_that_names_its_scheme_does_not_say_it_again() -> None:
    """{'scheme': 'SNI', 'number': 'SNI 6449:2019'} read 'Sertifikasi: SNI SNI 6449:2019' (the
    registry sandbox's generated members carry such certificates)."""
    member = _member(
        certifications=[
            {"scheme": "SNI", "number": "SNI 6449:2019"},
            {"scheme": "sni", "number": "SNI 7530:2019"},
            {"scheme": "ISO 9001:2015", "number": "QMS/1/ID"},
            {"scheme": "TKDN", "number": "TKDN-4051/2024"},
            {"scheme": "SNI", "number": "SNIX-1"},  # another word: the scheme is said
        ]
    )
    assert _view(member, "id").certifications == [
        "SNI 6449:2019",
        "SNI 7530:2019",
        "ISO 9001:2015 QMS/1/ID",
        "TKDN-4051/2024",
        "SNI SNIX-1",
    ]
    both = _member(
        certifications=[
            {"scheme": "SNI", "number": "SNI 6449:2019"},
            {"scheme": "SNI", "number": "SNI 7530:2019"},
        ]
    )
    assert _view(both, "en").certifications == ["SNI 6449:2019", "SNI 7530:2019"]
    text = WRITER.write(member, "facebook").text
    assert "SNI SNI 6" not in text and "Sertifikasi: SNI 6449:2019, SNI 7530:2019" in text


def test_english_captions_name_a_certificate_scheme_in_english() -> None:
    """ifn-0049's English caption read 'Certified: Sertifikat Halal ID35654294563096976.'"""
    hoki = SAMPLES["ifn-0049"]
    english = WRITER.write(hoki, "facebook", "en").text
    assert "Certified: Halal certificate ID35654294563096976." in english
    assert "Sertifikat" not in english
    assert (
        "Sertifikasi: Sertifikat Halal ID35654294563096976." in WRITER.write(hoki, "facebook").text
    )
    spaced = _member(certifications=[{"scheme": " sertifikat  HALAL ", "number": "ID1"}])
    assert _view(spaced, "en").certifications == ["Halal certificate ID1"]
    assert _view(spaced, "id").certifications == ["sertifikat HALAL ID1"]


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("lang", ["id", "en"])
def test_a_team_or_capacity_the_description_gives_is_not_given_again(
    channel: str, lang: str
) -> None:
    """'Bengkel kecil dengan 12 tenaga kerja dan kapasitas 5.000 pasang per bulan.' was followed
    by 'Berdiri sejak 2001, kini didukung 12 tenaga kerja dengan kapasitas 5.000 pasang per
    bulan.': the class of 'sejak 1978' twice, for the team and the capacity."""
    member = _member(
        description_id="Bengkel kecil dengan 12 tenaga kerja dan kapasitas 5.000 pasang per bulan.",
        description_en="A small workshop of 12 people making 5,000 pairs a month.",
        capacity_pairs_per_month=5000,
        employees=12,
        year_founded=2001,
    )
    text = WRITER.write(member, channel, lang).text
    assert len(re.findall(r"(?<![\d.,])5[.,]000(?!\d)", text)) == 1, text
    assert len(re.findall(r"(?<![\d.,])12(?!\d)", text)) == 1, text
    if channel != "youtube":  # the YouTube templates do not give the year
        assert _count(2001, text) == 1, text
    view = _view(member, lang)
    assert view.capacity is None and view.team is None
    assert view.capacity_pairs_per_month == 5000 and view.employees == 12  # the raw values stay
    # a number the description gives for something else is not the team or the capacity
    other = _member(
        description_id="Minimal order 12 kodi, ukuran 5000.",
        description_en="Minimum order 12 dozen, size 5,000.",
        capacity_pairs_per_month=5000,
        employees=12,
    )
    assert _view(other, lang).capacity == 5000 and _view(other, lang).team == 12


# English captions are English -------------------------------------------------------------------


@pytest.mark.parametrize("channel", CHANNELS)
def test_english_captions_never_carry_the_indonesian_description(channel: str) -> None:
    for member in SAMPLES.values():
        caption = WRITER.write(member, channel, "en")
        said = _ngrams(words(caption.title + "\n" + caption.text, member.business_name))
        indonesian = _ngrams(words(member.description_id, member.business_name))
        assert not said & indonesian, (member.id, sorted(said & indonesian)[:3])
        if member.description_en:
            assert " ".join(member.description_en.split()) in " ".join(caption.text.split())


@pytest.mark.parametrize("channel", CHANNELS)
def test_english_headlines_are_english(channel: str) -> None:
    caption = WRITER.write(SAMPLES["ifn-0001"], channel, "en")
    headline = caption.title if channel == "youtube" else caption.text.split("\n")[0]
    assert "IFN Member Spotlight" in headline and "Sorotan" not in caption.title + caption.text
    indonesian = WRITER.write(SAMPLES["ifn-0001"], channel, "id")
    assert "Sorotan Anggota IFN" in indonesian.title + indonesian.text
    harbolnas = CampaignInfo(
        slug="harbolnas-1212", title="Harbolnas 12.12: Belanja Alas Kaki Lokal"
    )
    english = WRITER.write(SAMPLES["ifn-0001"], channel, "en", campaign=harbolnas)
    assert "Harbolnas 12.12: Shop Local Footwear" in english.title + english.text


def test_campaign_titles_file_is_optional_and_checked(tmp_path: Path) -> None:
    folder = tmp_path / "default"
    folder.mkdir()
    (folder / "instagram.en.j2").write_text(
        "{% block body %}{{ campaign.title }}: {{ member.name }}{% endblock %}", encoding="utf-8"
    )
    plain = CaptionWriter(directory=tmp_path).write(_member(), "instagram", "en")
    assert plain.text.startswith("Sorotan Anggota IFN: Sepatu Kulit Priangan")
    (tmp_path / "titles.toml").write_text(
        '[en]\n"Sorotan Anggota IFN" = "  Member   Spotlight "\n', encoding="utf-8"
    )
    translated = CaptionWriter(directory=tmp_path).write(_member(), "instagram", "en")
    assert translated.text.startswith("Member Spotlight: Sepatu Kulit Priangan")
    for bad, message in (
        ("[en\n", "cannot read campaign titles"),
        ('[fr]\n"a" = "b"\n', r"\[fr\] is not a language table"),
        ('[en]\n"a" = 3\n', "must be a non-empty string"),
        ('[en]\n"a" = " "\n', "must be a non-empty string"),
    ):
        (tmp_path / "titles.toml").write_text(bad, encoding="utf-8")
        with pytest.raises(CaptionTemplateError, match=message) as info:
            CaptionWriter(directory=tmp_path)
        assert info.value.file == "titles.toml"


@pytest.mark.parametrize(
    "city,lang,expected",
    [
        ("Kab. Bogor", "en", "Bogor Regency"),
        ("Kabupaten Bogor", "en", "Bogor Regency"),
        ("Kab.Bogor", "en", "Bogor Regency"),
        ("Kota Bandung", "en", "Bandung"),
        # a compass word follows the name in Indonesian and goes first in English
        ("Kota Adm. Jakarta Selatan", "en", "South Jakarta"),
        ("Jakarta Timur", "en", "East Jakarta"),
        ("Kota Administrasi Jakarta Pusat", "en", "Central Jakarta"),
        ("Kota Tangerang Selatan", "en", "South Tangerang"),
        ("Kab. Bandung Barat", "en", "West Bandung Regency"),
        ("Kab. Hulu Sungai Tengah", "en", "Central Hulu Sungai Regency"),
        ("Kab. Konawe Tenggara", "en", "Southeast Konawe Regency"),
        ("Kab. Sumba Barat Daya", "en", "Southwest Sumba Regency"),
        ("Kota Adm. Jakarta Selatan", "id", "Kota Adm. Jakarta Selatan"),
        ("Kota Timur", "en", "Timur"),  # a name that is only the word stays a name
        ("Kab. Bogor", "id", "Kab. Bogor"),
        ("", "en", ""),
    ],
)
def test_english_places_read_as_english(city: str, lang: str, expected: str) -> None:
    assert city_name(city, lang) == expected


# the repeat lint -------------------------------------------------------------------------------


def test_words_are_compared_without_case_punctuation_or_hashtags() -> None:
    assert words("Dari Sentra Sidoarjo, Jawa Timur! #SepatuLokal") == [
        "dari",
        "sentra",
        "sidoarjo",
        "jawa",
        "timur",
    ]
    assert words("Lihat https://ifn.kemenperin.go.id/anggota/ifn-0001. Dan @toko.sepatu") == [
        "lihat",
        "https://ifn.kemenperin.go.id/anggota/ifn-0001",
        "dan",
        "@toko.sepatu",
    ]
    assert words("Toko Sepatu Jaya Abadi: toko sepatu jaya abadi.", "Toko Sepatu Jaya Abadi") == [
        "‹name›",
        "‹name›",
    ]
    assert words("Jayapura", "Jaya") == ["jayapura"]  # the name only as whole words
    # a number or code is one word: certificates of one scheme share their format, not words
    assert words("TKDN (8159/SJ-IPKK/TKDN/2024, 4051/SJ-IPKK/TKDN/2024); 5.000 pasang.") == [
        "tkdn",
        "8159/sj-ipkk/tkdn/2024",
        "4051/sj-ipkk/tkdn/2024",
        "5.000",
        "pasang",
    ]
    assert words("(lihat https://contoh.id/a-1).") == ["lihat", "https://contoh.id/a-1"]


def test_repeated_phrases_are_four_words_or_more_and_run_as_long_as_they_repeat() -> None:
    assert repeated_phrases([["sejak", "1978"], ["sejak", "1978"]]) == []
    assert repeated_phrases([["a", "b", "c"], ["x", "a", "b", "c"]]) == []
    assert repeated_phrases([["a", "b", "c", "d", "e", "f"], ["x", "a", "b", "c", "d", "e"]]) == [
        "a b c d e"
    ]
    assert repeated_phrases([["a", "b", "c"], ["d", "a", "b", "c", "d"]]) == []  # not across
    assert repeated_phrases([["x"] * 5]) == ["x x x x x"]


def _caption(text: str, title: str = "") -> Caption:
    return Caption("facebook", "id", "default/facebook.id.j2", text, title=title)


def test_caption_repeats_reads_like_a_copywriter() -> None:
    name = "Toko Sepatu Jaya Abadi"
    assert caption_repeats(
        _caption("Dari sentra Sidoarjo, Jawa Timur. Lagi: dari Sentra SIDOARJO jawa timur!"),
        "",
        name,
    ) == ['says "dari sentra sidoarjo jawa timur" more than once']
    # the name is one word: naming the member twice is no repeat; a phrase around it is
    assert caption_repeats(_caption(f"{name}!\n\nKenalan dengan {name}."), "", name) == []
    assert caption_repeats(
        _caption(f"Kenalan dengan {name} dari Bogor. Ya, kenalan dengan {name} dari Bogor."),
        "",
        name,
    ) == [f'says "kenalan dengan {name} dari bogor" more than once']
    # hashtags are left out
    assert (
        caption_repeats(
            _caption("Sepatu kulit asli #Cibaduyut.\nSepatu kulit asli #Cibaduyut"), "", name
        )
        == []
    )
    # a YouTube title and its description are one caption
    assert caption_repeats(
        _caption("Sepatu kulit asli Cibaduyut dari Bandung.", title="Sepatu kulit asli Cibaduyut"),
        "",
        name,
    ) == ['says "sepatu kulit asli cibaduyut" more than once']


def test_the_members_own_words_are_theirs_not_the_templates() -> None:
    name = "Toko Sepatu Jaya Abadi"
    description = "Kami membuat sepatu kulit dan sandal. Kami membuat sepatu kulit dan sandal."
    text = f"Produsen sepatu kulit dan sandal dari sentra Ciomas.\n\n{description}"
    assert repeated_phrases([words(text, name)])  # the words do repeat ...
    assert caption_repeats(_caption(text), description, name) == []  # ... but not the template's
    twice = f"{description}\n\n{description}"
    assert caption_repeats(_caption(twice), description, name) == [
        "prints the member's description more than once"
    ]
    # a description the writer shortened is still the member's
    cut = "Produsen sepatu kulit dan sandal.\n\nKami membuat sepatu kulit dan sandal. Kami…"
    assert caption_repeats(_caption(cut), description, name) == []


def test_lint_flags_a_template_that_says_a_phrase_twice(tmp_path: Path) -> None:
    folder = tmp_path / "default"
    folder.mkdir()
    (folder / "facebook.id.j2").write_text(
        "{% block body %}{{ member.name }}, sepatu kulit dari sentra {{ member.sentra }}.\n\n"
        "{{ member.description }}\n\n"
        "Sekali lagi: sepatu kulit dari sentra {{ member.sentra }}!{% endblock %}",
        encoding="utf-8",
    )
    (folder / "instagram.id.j2").write_text(
        "{% block body %}{{ member.name }}\n\n{{ member.description }}\n\n"
        "{{ member.description }}{% endblock %}",
        encoding="utf-8",
    )
    problems = lint(CaptionWriter(directory=tmp_path), [_member()])
    reasons = {(p.template, p.reason) for p in problems}
    assert reasons == {
        ("default/facebook.id.j2", 'says "sepatu kulit dari sentra cibaduyut" more than once'),
        ("default/instagram.id.j2", "prints the member's description more than once"),
    }


def test_shipped_templates_and_golden_captions_say_each_phrase_once() -> None:
    assert lint(CaptionWriter(directory=CAPTIONS_DIR), list(SAMPLES.values())) == []
    goldens = sorted(GOLDEN.glob("*.txt"))
    assert len(goldens) >= 36
    for path in goldens:
        member_id, channel, lang = path.stem.rsplit("-", 2)
        member = SAMPLES[member_id]
        text = path.read_text(encoding="utf-8")
        title = ""
        if channel == "youtube":
            head, text = text.split("\n\n", 1)
            title = head.removeprefix("TITLE: ")
            text = text.rsplit("\n\nTAGS: ", 1)[0]
        shown = _view(member, lang, channel).description
        caption = Caption(channel, lang, "golden", text, title=title)
        assert caption_repeats(caption, shown, member.business_name) == [], path.name


# sample-like members ---------------------------------------------------------------------------


def _sample_raw() -> list[dict[str, Any]]:
    raw = json.loads((SAMPLE_REGISTRY / "members.json").read_text(encoding="utf-8"))
    return [r for r in raw if isinstance(r, dict)]


RAW = _sample_raw()
VOCAB = vocabulary()
NAMES = sorted({r["business_name"].strip() for r in RAW if str(r.get("business_name", "")).strip()})
DESCRIPTIONS = [
    (r["description_id"], r.get("description_en")) for r in RAW if r.get("description_id")
]
PLACES = sorted(
    {(r.get("sentra"), r.get("city"), r.get("province")) for r in RAW}
    | {("Sidoarjo", "Kab. Sidoarjo", "Jawa Timur"), ("Tangerang", "Kota Tangerang", "Banten")}
    | {("Sentra Sepatu Cibaduyut", "Kota Bandung", "Jawa Barat"), (None, None, None)},
    key=str,
)
CERTIFICATIONS = [c for r in RAW for c in r.get("certifications") or []]
MARKETS = ["MY", "SG", "BN", "JP", "AU", "US", "DE", "NL", "AE", "FR"]


@st.composite
def sample_like(draw: st.DrawFn) -> Member:
    description_id, description_en = draw(st.sampled_from(DESCRIPTIONS))
    if draw(st.booleans()):  # members who filled in English, or not
        description_en = None
    years = [int(y) for y in re.findall(r"(?<!\d)(1[89]\d\d|20[0-2]\d)(?!\d)", description_id)]
    year = draw(st.one_of(st.none(), st.integers(1950, 2025), *(st.just(y) for y in years)))
    sentra, city, province = draw(st.sampled_from(PLACES))
    record = _record(
        business_name=draw(st.sampled_from(NAMES)),
        description_id=description_id,
        description_en=description_en,
        actor_types=draw(
            st.lists(
                st.sampled_from(sorted(VOCAB["actor_types"])), min_size=1, max_size=3, unique=True
            )
        ),
        categories=draw(
            st.lists(st.sampled_from(sorted(VOCAB["categories"])), max_size=4, unique=True)
        ),
        materials=draw(
            st.lists(st.sampled_from(sorted(VOCAB["materials"])), max_size=5, unique=True)
        ),
        sentra=sentra,
        city=city,
        province=province,
        year_founded=year,
        employees=draw(st.one_of(st.none(), st.integers(1, 5000))),
        capacity_pairs_per_month=draw(st.one_of(st.none(), st.integers(1, 2_000_000))),
        export_markets=draw(st.lists(st.sampled_from(MARKETS), max_size=4, unique=True)),
        certifications=draw(st.lists(st.sampled_from(CERTIFICATIONS), max_size=2, unique_by=str)),
        contact={"website": "https://www.contoh.co.id"} if draw(st.booleans()) else {},
    )
    parsed = parse_record(record)
    assert isinstance(parsed, MemberRecord), parsed
    return member_from_record(parsed)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(member=sample_like())
def test_sample_like_members_get_captions_that_say_each_thing_once(member: Member) -> None:
    for lang in LANGUAGES:
        shown = _view(member, lang).description
        for channel in CHANNELS:
            caption = WRITER.write(member, channel, lang, at=NOW)
            assert caption.violations == []
            assert caption_repeats(caption, shown, member.business_name) == [], caption.text
            body = _body(caption)
            if member.year_founded is not None:
                certificates = " ".join(
                    f"{c.get('scheme')} {c.get('number')}" for c in member.certifications
                )
                in_certificates = _count(member.year_founded, certificates)  # "ISO 9001:2015"
                assert _count(member.year_founded, caption.text) <= 1 + in_certificates
            city = _view(member, lang).city
            if member.sentra and city and _bare(city) == _bare(member.sentra):
                assert f"{member.sentra}, {city}" not in body, body
            if lang == "en":
                said = _ngrams(words(caption.title + "\n" + caption.text, member.business_name))
                indonesian = _ngrams(words(member.description_id, member.business_name))
                assert not said & indonesian, sorted(said & indonesian)[:3]
                if member.description_en is None:
                    assert member.description_id not in caption.text


def _bare(place: str) -> str:
    """A place's name without 'Kab.' or 'Kota' and the word 'Regency'."""
    place = re.sub(r"^(kab\.\s*|kabupaten\s+|kota\s+)", "", place.casefold())
    return place.removesuffix(" regency")


def _ngrams(tokens: list[str], size: int = 4) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}
