"""A staff spreadsheet export as a member source.

The header names the contract's fields, flattened with dots for nested ones (`contact.phone`,
`consent.channels`); list fields hold their items separated by `|`; `certifications` holds
`scheme=number` items; `photos.url` and `photos.alt` are parallel `|` lists. UTF-8 with or without
BOM; comma or semicolon delimited (detected from the header). Rows are turned into contract-shaped
records and validated by the sync exactly like registry records, so a bad row is quarantined.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from ifn_campaign.errors import SourceFileError
from ifn_campaign.registry.record import SOURCE_ERRORS
from ifn_campaign.registry.source import Page

LIST_FIELDS = frozenset(
    {
        "actor_types",
        "categories",
        "materials",
        "export_markets",
        "certifications",
        "socials.marketplaces",
        "photos.url",
        "photos.alt",
        "consent.channels",
        "consent.fields_allowed",
    }
)
COLUMNS = (
    "id",
    "business_name",
    "actor_types",
    "categories",
    "materials",
    "description_id",
    "description_en",
    "city",
    "province",
    "sentra",
    "year_founded",
    "employees",
    "capacity_pairs_per_month",
    "export_markets",
    "certifications",
    "contact.email",
    "contact.phone",
    "contact.whatsapp",
    "contact.website",
    "socials.instagram",
    "socials.facebook",
    "socials.youtube",
    "socials.tiktok",
    "socials.marketplaces",
    "owner_name",
    "logo_url",
    "photos.url",
    "photos.alt",
    "consent.granted_at",
    "consent.text_version",
    "consent.channels",
    "consent.fields_allowed",
    "consent.withdrawn_at",
    "status",
    "updated_at",
)
INTEGER_FIELDS = frozenset({"year_founded", "employees", "capacity_pairs_per_month"})
_EXTRA = "__extra__"
_PARALLEL = frozenset({"photos.url", "photos.alt"})  # positions matter: keep empty items


def _split(value: str, *, keep_empty: bool = False) -> list[str]:
    items = [item.strip() for item in value.split("|")] if value.strip() else []
    return items if keep_empty else [item for item in items if item]


def column_name(header: str) -> str:
    """A header cell as a column name: ' Contact . Phone' and 'contact.phone' are the same."""
    name = re.sub(r"\s*\.\s*", ".", header.strip().lower())
    return re.sub(r"[\s-]+", "_", name)


def _cell(key: str, raw: str) -> Any:
    """A cell as the contract's JSON would hold it. A spreadsheet has only text: a whole number
    becomes an integer, anything else stays text for validation to refuse ('1,998' is not 1998).
    The id is kept exactly as written: trimming it could make it another member's."""
    value = raw.strip()
    if key in LIST_FIELDS:
        return _split(value, keep_empty=key in _PARALLEL)
    if not value:
        return None
    if key == "id":
        return raw
    if key in INTEGER_FIELDS and re.fullmatch(r"-?[0-9]+", value):
        return int(value)
    return value


def _photos(urls: list[str], alts: list[str]) -> list[dict[str, Any]]:
    """The parallel url and alt lists as photos. A place with an alt but no URL is a photo
    without one, refused by the media fetcher with a note as in JSON (it was dropped silently);
    a place empty in both lists is a spreadsheet blank, not a photo."""
    photos = []
    for i in range(max(len(urls), len(alts))):
        url = urls[i] if i < len(urls) else ""
        alt = (alts[i] if i < len(alts) else "") or None
        if url or alt:
            photos.append({"url": url, "alt": alt})
    return photos


def row_to_record(row: dict[str, Any]) -> dict[str, Any]:
    """A flat CSV row as a contract-shaped record (still unvalidated).

    Only documented columns are read: an unknown one (even `photos` or `contact`) never
    reaches the record."""
    record: dict[str, Any] = {}
    for key, raw in row.items():
        if key not in COLUMNS or not isinstance(raw, str | None):
            continue
        item = _cell(key, raw or "")
        if item is None:
            continue
        head, _, tail = key.partition(".")
        if tail:
            record.setdefault(head, {})[tail] = item
        else:
            record[key] = item
    if "certifications" in record:
        record["certifications"] = [
            {"scheme": s.partition("=")[0].strip(), "number": s.partition("=")[2].strip() or None}
            for s in record["certifications"]
        ]
    photos = record.pop("photos", None)
    if photos:
        record["photos"] = _photos(photos.get("url", []), photos.get("alt", []))
    extra = row.get(_EXTRA)
    if isinstance(extra, list) and any((v or "").strip() for v in extra):
        # Trailing empty cells (a spreadsheet's padding) are not data; anything else is.
        record[SOURCE_ERRORS] = [f"row: {len(extra)} more fields than the header"]
    return record


class CsvSource:
    """Reads an export row by row in pages; the cursor is the number of rows already read."""

    supports_incremental = False

    def __init__(self, path: Path, page_size: int = 500) -> None:
        self.path = path
        self.page_size = page_size
        self.name = "csv"

    def _open(self) -> tuple[io.TextIOWrapper, str, list[str]]:
        try:
            fh = self.path.open("r", encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise SourceFileError(f"cannot open {self.path}: {exc.strerror or exc}") from None
        try:
            header_line = fh.readline()
        except UnicodeDecodeError:
            fh.close()
            raise SourceFileError(
                f"{self.path} is not UTF-8 text: export it as 'CSV UTF-8' and try again"
            ) from None
        if not header_line.strip():
            fh.close()
            raise SourceFileError(
                f"{self.path} is empty or starts with a blank line: export the member sheet with"
                " its header row first"
            )
        delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
        header = next(csv.reader([header_line], delimiter=delimiter), [])
        fields = [column_name(h) for h in header]
        if "id" not in fields:
            fh.close()
            found = ", ".join(fields)[:200] or "nothing"
            raise SourceFileError(
                f"{self.path}: header has no 'id' column (found: {found});"
                " see docs/reference/registry-contract.md (the CSV format) for the columns"
            )
        # Empty header cells (a spreadsheet's trailing columns) may repeat; names may not.
        duplicates = sorted({f for f in fields if f and fields.count(f) > 1})
        if duplicates:
            fh.close()
            raise SourceFileError(f"{self.path}: header repeats {', '.join(duplicates)}")
        return fh, delimiter, fields

    def unknown_columns(self) -> list[str]:
        """Header columns that are not part of the documented format (they are ignored)."""
        fh, _, fields = self._open()
        fh.close()
        return [f for f in fields if f and f not in COLUMNS]

    def pages(self, since: datetime | None = None, cursor: str | None = None) -> Iterator[Page]:
        skip = int(cursor) if cursor and cursor.isdigit() else 0
        fh, delimiter, fields = self._open()
        with fh:
            reader = csv.DictReader(fh, fieldnames=fields, delimiter=delimiter, restkey=_EXTRA)
            consumed = 0
            batch: list[Any] = []
            start_cursor = cursor
            try:
                for row in reader:
                    consumed += 1
                    if consumed <= skip:
                        continue
                    if not any((v or "").strip() for k, v in row.items() if k != _EXTRA):
                        continue  # blank line
                    batch.append(row_to_record(row))
                    if len(batch) >= self.page_size:
                        yield Page(records=batch, cursor=start_cursor, next_cursor=str(consumed))
                        start_cursor, batch = str(consumed), []
            except UnicodeDecodeError:
                raise SourceFileError(
                    f"{self.path} is not UTF-8 text after row {consumed}: export it as "
                    "'CSV UTF-8' and try again"
                ) from None
            except csv.Error as exc:
                raise SourceFileError(f"{self.path}: row {consumed + 1}: {exc}") from None
            yield Page(records=batch, cursor=start_cursor, next_cursor=None)
