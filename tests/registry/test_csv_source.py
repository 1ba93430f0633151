"""The staff CSV export as a member source: encodings, delimiters, quoting, headers, bad files,
and resumable paging. Rows are validated with `parse_record` exactly like registry records."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from ifn_campaign.errors import SourceFileError
from ifn_campaign.registry.csv_source import COLUMNS, CsvSource
from ifn_campaign.registry.record import MemberRecord, parse_record

FULL_ROW: dict[str, str] = {
    "id": "ifn-0007",
    "business_name": "CV Kulit Jaya",
    "actor_types": "brand|Producer",
    "categories": "leather_shoes | boots",
    "materials": "Cow Leather|rubber|",
    "description_id": "Sepatu kulit buatan tangan.\n\nSejak 1998 di Cibaduyut.",
    "description_en": "Handmade leather shoes.",
    "city": "Bandung",
    "province": "Jawa Barat",
    "sentra": "Cibaduyut",
    "year_founded": "1998",
    "employees": "25",
    "capacity_pairs_per_month": "3000",
    "export_markets": "my|SG",
    "certifications": "SNI 8877:2023=123/ABC|ISO 9001=QMS-1",
    "contact.email": "Info@KulitJaya.co.id",
    "contact.phone": "0812 3456 7890",
    "contact.whatsapp": "+62 812-3456-7890",
    "contact.website": "https://kulitjaya.co.id/",
    "socials.instagram": "@kulitjaya",
    "socials.facebook": "https://www.facebook.com/kulitjaya",
    "socials.youtube": "https://www.youtube.com/@kulitjaya",
    "socials.tiktok": "",
    "socials.marketplaces": "https://tokopedia.com/kulitjaya|https://shopee.co.id/kulitjaya",
    "owner_name": "Budi Santoso",
    "logo_url": "https://cdn.example.org/logo.png",
    "photos.url": "https://cdn.example.org/1.jpg|https://cdn.example.org/2.jpg|"
    "https://cdn.example.org/3.jpg",
    "photos.alt": "Sepatu pantofel hitam||Bengkel kami",  # the second photo has no alt
    "consent.granted_at": "2024-03-01T09:00:00+07:00",
    "consent.text_version": "v2",
    "consent.channels": "instagram|facebook",
    "consent.fields_allowed": "owner_name|phone",
    "consent.withdrawn_at": "",
    "status": "active",
    "updated_at": "2024-05-01T03:00:00Z",
}

# The same member as the registry API would send it.
FULL_JSON: dict[str, Any] = {
    "id": "ifn-0007",
    "business_name": "CV Kulit Jaya",
    "actor_types": ["brand", "producer"],
    "categories": ["leather_shoes", "boots"],
    "materials": ["cow_leather", "rubber"],
    "description_id": "Sepatu kulit buatan tangan.\n\nSejak 1998 di Cibaduyut.",
    "description_en": "Handmade leather shoes.",
    "city": "Bandung",
    "province": "Jawa Barat",
    "sentra": "Cibaduyut",
    "year_founded": 1998,
    "employees": 25,
    "capacity_pairs_per_month": 3000,
    "export_markets": ["MY", "SG"],
    "certifications": [
        {"scheme": "SNI 8877:2023", "number": "123/ABC"},
        {"scheme": "ISO 9001", "number": "QMS-1"},
    ],
    "contact": {
        "email": "info@kulitjaya.co.id",
        "phone": "+6281234567890",
        "whatsapp": "+6281234567890",
        "website": "https://kulitjaya.co.id/",
    },
    "socials": {
        "instagram": "kulitjaya",
        "facebook": "kulitjaya",
        "youtube": "kulitjaya",
        "marketplaces": ["https://tokopedia.com/kulitjaya", "https://shopee.co.id/kulitjaya"],
    },
    "owner_name": "Budi Santoso",
    "logo_url": "https://cdn.example.org/logo.png",
    "photos": [
        {"url": "https://cdn.example.org/1.jpg", "alt": "Sepatu pantofel hitam"},
        {"url": "https://cdn.example.org/2.jpg"},
        {"url": "https://cdn.example.org/3.jpg", "alt": "Bengkel kami"},
    ],
    "consent": {
        "granted_at": "2024-03-01T02:00:00Z",
        "text_version": "v2",
        "channels": ["instagram", "facebook"],
        "fields_allowed": ["owner_name", "phone"],
    },
    "status": "active",
    "updated_at": "2024-05-01T03:00:00Z",
}


def minimal_row(member_id: str, **cells: str) -> dict[str, str]:
    """A valid row with only the required cells, plus `cells`."""
    return {
        "id": member_id,
        "business_name": f"Usaha {member_id}",
        "actor_types": "producer",
        "description_id": "Produsen alas kaki.",
        "status": "active",
        "updated_at": "2024-05-01T03:00:00Z",
    } | cells


def write_csv(
    path: Path,
    rows: list[dict[str, str]],
    *,
    header: list[str] | tuple[str, ...] = COLUMNS,
    delimiter: str = ",",
    newline: str = "\n",
    encoding: str = "utf-8",
) -> Path:
    """Write `rows` (missing cells empty) under `header`, the way a spreadsheet exports them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def records(source: CsvSource, cursor: str | None = None) -> list[dict[str, Any]]:
    """Every raw record of every page."""
    return [record for page in source.pages(cursor=cursor) for record in page.records]


def parsed(raw: dict[str, Any]) -> MemberRecord:
    """The validated record, failing the test with its reasons if it was quarantined."""
    result = parse_record(raw)
    assert isinstance(result, MemberRecord), result
    return result


# --- the documented format ---------------------------------------------------------------


def test_full_row_equals_the_same_member_as_json(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "members.csv", [FULL_ROW])
    [raw] = records(CsvSource(path))
    from_csv, from_json = parsed(raw), parsed(FULL_JSON)
    assert from_csv == from_json
    assert from_csv.content_hash() == from_json.content_hash()
    assert [(p.url, p.alt) for p in from_csv.photos] == [
        ("https://cdn.example.org/1.jpg", "Sepatu pantofel hitam"),
        ("https://cdn.example.org/2.jpg", None),
        ("https://cdn.example.org/3.jpg", "Bengkel kami"),
    ]
    assert [(c.scheme, c.number) for c in from_csv.certifications] == [
        ("SNI 8877:2023", "123/ABC"),
        ("ISO 9001", "QMS-1"),
    ]
    assert from_csv.consent.channels == ["instagram", "facebook"]
    assert from_csv.consent.withdrawn_at is None


def test_certification_without_number(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "m.csv", [minimal_row("a", certifications="ISO 9001| SNI 1234 = 9 ")]
    )
    [raw] = records(CsvSource(path))
    assert [(c.scheme, c.number) for c in parsed(raw).certifications] == [
        ("ISO 9001", None),
        ("SNI 1234", "9"),
    ]


@pytest.mark.parametrize(
    ("encoding", "delimiter", "newline"),
    [
        pytest.param("utf-8-sig", ",", "\n", id="utf8-bom"),
        pytest.param("utf-8", ",", "\n", id="utf8-no-bom"),
        pytest.param("utf-8", ";", "\n", id="semicolon"),
        pytest.param("utf-8-sig", ";", "\r\n", id="excel-semicolon-bom-crlf"),
        pytest.param("utf-8", ",", "\r\n", id="crlf"),
    ],
)
def test_encodings_delimiters_and_line_endings(
    tmp_path: Path, encoding: str, delimiter: str, newline: str
) -> None:
    path = write_csv(
        tmp_path / "m.csv",
        [FULL_ROW, minimal_row("ifn-0008")],
        delimiter=delimiter,
        newline=newline,
        encoding=encoding,
    )
    if encoding == "utf-8-sig":
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    source = CsvSource(path)
    assert source.unknown_columns() == []
    first, second = (parsed(raw) for raw in records(source))
    assert first == parsed(FULL_JSON)
    assert first.description_id == "Sepatu kulit buatan tangan.\n\nSejak 1998 di Cibaduyut."
    assert second.id == "ifn-0008"


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_quoted_fields_keep_delimiters_quotes_and_newlines(tmp_path: Path, delimiter: str) -> None:
    name = 'Sepatu "Jaya", Bandung; Jawa Barat'
    description = 'Baris satu, dengan koma; dan titik koma.\r\n\r\nBaris "dua".'
    path = write_csv(
        tmp_path / "m.csv",
        [minimal_row("a", business_name=name, description_id=description), minimal_row("b")],
        delimiter=delimiter,
    )
    assert '"Sepatu ""Jaya""' in path.read_text(encoding="utf-8")
    first, second = (parsed(raw) for raw in records(CsvSource(path)))
    assert first.business_name == name
    assert first.description_id == 'Baris satu, dengan koma; dan titik koma.\n\nBaris "dua".'
    assert second.id == "b"


def test_header_in_other_case_and_with_spaces(tmp_path: Path) -> None:
    header = [
        " ID ",
        "Business Name",
        "ACTOR_TYPES",
        "Description_ID ",
        "Contact . Phone",
        "Consent.Channels",
        "Status",
        "Updated At",
    ]
    path = tmp_path / "m.csv"
    path.write_text(
        ",".join(header) + "\n"
        "a,Sepatu A,brand,Deskripsi,0812 3456 7890,instagram,active,2024-05-01T03:00:00Z\n",
        encoding="utf-8",
    )
    source = CsvSource(path)
    assert source.unknown_columns() == []
    record = parsed(records(source)[0])
    assert (record.id, record.business_name, record.actor_types) == ("a", "Sepatu A", ["brand"])
    assert record.contact.phone == "+6281234567890"
    assert record.consent.channels == ["instagram"]


def test_empty_cells_are_missing(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "m.csv",
        [
            minimal_row("a", city="", description_en="  ", categories="", year_founded=""),
            minimal_row("b", business_name="   "),
            minimal_row("c", updated_at=""),
        ],
    )
    raws = records(CsvSource(path))
    assert "city" not in raws[0] and "description_en" not in raws[0]
    assert "year_founded" not in raws[0] and "contact" not in raws[0]
    first = parsed(raws[0])
    assert first.city is None and first.description_en is None
    assert first.categories == [] and first.year_founded is None
    assert parse_record(raws[1]) == ["business_name: required field is missing"]
    assert parse_record(raws[2]) == ["updated_at: required field is missing"]


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", [minimal_row("a"), {}, minimal_row("b")])
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\n", "\n\n\n", 2) + "\n \n\n", encoding="utf-8")
    assert [r["id"] for r in records(CsvSource(path))] == ["a", "b"]


def test_unknown_columns_are_ignored_and_listed(tmp_path: Path) -> None:
    extra = ["Notes", "photos", "contact", "_source_errors", "consent"]
    header = [*COLUMNS[:3], *extra, *COLUMNS[3:]]
    row = FULL_ROW | {
        "Notes": "call back",
        "photos": "x",
        "contact": "0812",
        "_source_errors": "forged",
        "consent": "yes",
    }
    path = write_csv(tmp_path / "m.csv", [row], header=header)
    source = CsvSource(path)
    assert source.unknown_columns() == ["notes", "photos", "contact", "_source_errors", "consent"]
    [raw] = records(source)
    assert "notes" not in raw
    assert parsed(raw) == parsed(FULL_JSON)


def test_trailing_empty_columns_of_a_spreadsheet_are_harmless(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(
        "id,business_name,actor_types,description_id,status,updated_at,,\n"
        "a,Sepatu A,brand,Deskripsi,active,2024-05-01T03:00:00Z,,\n"
        "b,Sepatu B,brand,Deskripsi,active,2024-05-01T03:00:00Z,,,,\n",
        encoding="utf-8",
    )
    source = CsvSource(path)
    assert source.unknown_columns() == []
    assert [parsed(raw).id for raw in records(source)] == ["a", "b"]


def test_ragged_row_is_quarantined_and_the_others_parse(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(
        "id,business_name,actor_types,description_id,status,updated_at\n"
        "a,Sepatu A,brand,Deskripsi,active,2024-05-01T03:00:00Z\n"
        "b,Sepatu B, Bandung,brand,Deskripsi,active,2024-05-01T03:00:00Z\n"
        "c,Sepatu C,brand,Deskripsi,active,2024-05-01T03:00:00Z\n"
        "d,Sepatu D,brand\n",
        encoding="utf-8",
    )
    raws = records(CsvSource(path))
    assert [r["id"] for r in raws] == ["a", "b", "c", "d"]
    results = [parse_record(raw) for raw in raws]
    assert isinstance(results[0], MemberRecord) and isinstance(results[2], MemberRecord)
    ragged = results[1]
    assert isinstance(ragged, list)
    assert "row: 1 more fields than the header" in ragged
    short = results[3]
    assert isinstance(short, list)
    assert any(r.startswith("description_id:") for r in short)


# --- files that cannot be read ---------------------------------------------------------------


def test_latin1_file_says_export_as_csv_utf8(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "m.csv", [minimal_row("a", business_name="Sepatu Café")], encoding="latin-1"
    )
    with pytest.raises(SourceFileError, match="CSV UTF-8"):
        records(CsvSource(path))
    with pytest.raises(SourceFileError, match="CSV UTF-8"):
        CsvSource(path).unknown_columns()


def test_latin1_far_into_the_file_says_export_as_csv_utf8(tmp_path: Path) -> None:
    rows = [minimal_row(f"m{i:04d}") for i in range(300)]
    rows.append(minimal_row("late", business_name="Sepatu Café"))
    path = write_csv(tmp_path / "m.csv", rows, encoding="latin-1")
    assert path.stat().st_size > 20_000  # beyond the first read of the header
    with pytest.raises(SourceFileError, match="CSV UTF-8"):
        records(CsvSource(path))


def test_missing_id_column(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("member_id,business_name\nx,Sepatu\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match="'id' column"):
        records(CsvSource(path))


def test_duplicate_header(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("id,business_name,Business_Name \nx,A,B\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match="repeats business_name"):
        records(CsvSource(path))


def test_missing_file(tmp_path: Path) -> None:
    source = CsvSource(tmp_path / "nope.csv")
    with pytest.raises(SourceFileError, match="cannot open"):
        records(source)
    with pytest.raises(SourceFileError, match="cannot open"):
        source.unknown_columns()


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n", b"\r\n\r\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(content)
    with pytest.raises(SourceFileError, match="csv is empty"):
        records(CsvSource(path))


def test_header_only_file_has_no_records(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", [])
    pages = list(CsvSource(path).pages())
    assert len(pages) == 1
    assert pages[0].records == [] and pages[0].next_cursor is None


# --- paging ---------------------------------------------------------------------------------


def test_pages_and_cursors_resume_exactly(tmp_path: Path) -> None:
    ids = [f"m{i}" for i in range(1, 6)]
    path = write_csv(tmp_path / "m.csv", [minimal_row(i) for i in ids])
    pages = list(CsvSource(path, page_size=2).pages())
    assert [[r["id"] for r in p.records] for p in pages] == [["m1", "m2"], ["m3", "m4"], ["m5"]]
    assert [p.cursor for p in pages] == [None, "2", "4"]
    assert [p.next_cursor for p in pages] == ["2", "4", None]
    seen: list[str] = []
    for page in pages:
        seen += [r["id"] for r in page.records]
        if page.next_cursor is None:
            continue
        resumed = list(CsvSource(path, page_size=2).pages(cursor=page.next_cursor))
        assert resumed[0].cursor == page.next_cursor
        assert [r["id"] for p in resumed for r in p.records] == ids[len(seen) :]
    assert seen == ids


def test_cursor_counts_rows_not_lines(tmp_path: Path) -> None:
    """Blank lines and multi-line cells do not shift where a resumed run starts."""
    rows = [minimal_row(f"m{i}", description_id=f"Satu\n\nDua {i}") for i in range(1, 6)]
    path = write_csv(tmp_path / "m.csv", rows)
    path.write_text(path.read_text(encoding="utf-8").replace("\nm3,", "\n\n\nm3,"), "utf-8")
    first = next(iter(CsvSource(path, page_size=3).pages()))
    assert [r["id"] for r in first.records] == ["m1", "m2", "m3"]
    rest = records(CsvSource(path, page_size=3), cursor=first.next_cursor)
    assert [r["id"] for r in rest] == ["m4", "m5"]


def test_pages_are_validated_one_record_at_a_time(tmp_path: Path) -> None:
    rows = [minimal_row("a"), minimal_row("b", actor_types="wholesaler"), minimal_row("c")]
    path = write_csv(tmp_path / "m.csv", rows)
    results = [parse_record(raw) for raw in records(CsvSource(path))]
    assert [type(r).__name__ for r in results] == ["MemberRecord", "list", "MemberRecord"]
    assert results[1] == ["actor_types: unknown actor types 'wholesaler'"]


# --- hardening (issue 14): ids kept as written, numbers only as whole numbers ------------------


@pytest.mark.parametrize("raw_id", [" ifn-0007", "ifn-0007 ", "ifn-0007\t", "ifn\x000007"])
def test_an_id_cell_is_never_trimmed_or_cleaned_into_another_id(
    tmp_path: Path, raw_id: str
) -> None:
    path = write_csv(tmp_path / "members.csv", [{**FULL_ROW, "id": raw_id}])
    [raw] = records(CsvSource(path))
    assert raw["id"] == raw_id
    found = parse_record(raw)
    assert isinstance(found, list) and any(r.startswith("id:") for r in found), found


@pytest.mark.parametrize("column", ["year_founded", "employees", "capacity_pairs_per_month"])
def test_a_whole_number_cell_is_an_integer(tmp_path: Path, column: str) -> None:
    path = write_csv(tmp_path / "members.csv", [{**FULL_ROW, column: " 42 "}])
    [raw] = records(CsvSource(path))
    assert raw[column] == 42


@pytest.mark.parametrize("column", ["year_founded", "employees", "capacity_pairs_per_month"])
@pytest.mark.parametrize("cell", ["1,998", "1998.0", "1998.5", "true", "1e3", "kira-kira 30"])
def test_a_cell_that_is_not_a_whole_number_is_quarantined(
    tmp_path: Path, column: str, cell: str
) -> None:
    path = write_csv(tmp_path / "members.csv", [{**FULL_ROW, column: cell}])
    [raw] = records(CsvSource(path))
    found = parse_record(raw)
    assert isinstance(found, list) and any(r.startswith(f"{column}:") for r in found), found


@pytest.mark.parametrize(
    ("urls", "alts", "expected"),
    [
        ("https://a.example/1.jpg||https://a.example/3.jpg", "Satu|Dua|Tiga", ["1", "", "3"]),
        ("https://a.example/1.jpg", "Satu|Dua", ["1", ""]),
        ("https://a.example/1.jpg||https://a.example/3.jpg", "Satu||Tiga", ["1", "3"]),
        ("https://a.example/1.jpg|", "", ["1"]),  # a trailing blank is not a photo
    ],
)
def test_a_photo_with_an_alt_but_no_url_is_kept_and_refused_as_in_json(
    tmp_path: Path, urls: str, alts: str, expected: list[str]
) -> None:
    """An empty URL cell was dropped without a word (so the alts moved to other photos' places
    in JSON terms); now it is the same as a JSON photo with an empty URL: noted and refused."""
    path = write_csv(tmp_path / "m.csv", [{**FULL_ROW, "photos.url": urls, "photos.alt": alts}])
    [raw] = records(CsvSource(path))
    record = parsed(raw)
    found = [p.url.removeprefix("https://a.example/").removesuffix(".jpg") for p in record.photos]
    assert found == expected
    refused = [i for i, url in enumerate(expected) if not url]
    for i in refused:
        assert record.photos[i].alt is not None
        assert any(n.startswith(f"photos.{i}.url: empty") for n in record.notes), record.notes
    assert len(refused) == sum(".url: empty" in n for n in record.notes)
