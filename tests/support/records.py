"""Registry records for the record tests: a valid base and a full one, and ways to change them
(test_record.py, test_record_strict.py, test_record_output.py)."""

from __future__ import annotations

import copy
from typing import Any

from ifn_campaign.registry.record import (
    MemberRecord,
    parse_record,
)

BASE: dict[str, Any] = {
    "id": "ifn-0001",
    "business_name": "Sepatu Jaya",
    "actor_types": ["brand"],
    "description_id": "Produsen sepatu kulit di Cibaduyut.",
    "status": "active",
    "updated_at": "2024-05-01T03:00:00Z",
}
FULL: dict[str, Any] = {
    "id": "ifn-0042",
    "business_name": "  Kafe\u0301\u00a0 Sepatu\u202e  Jaya\x07 ",
    "actor_types": ["Brand", "producer", "brand"],
    "categories": ["Leather Shoes", "sneakers", "leather-shoes"],
    "materials": ["Cow Leather", "cow_leather", "Rubber"],
    "description_id": "Baris satu\r\n  dengan   spasi.\u200b\n\n\n\nParagraf\tdua.\n",
    "description_en": "Line one.\n\nLine two.",
    "city": " Bandung ",
    "province": "Jawa\nBarat",
    "sentra": "Cibaduyut",
    "year_founded": 1998,
    "employees": 25,
    "capacity_pairs_per_month": 3000,
    "export_markets": ["my", "SG", " jp ", "MY"],
    "certifications": [
        {"scheme": "SNI 8877:2023", "number": "123/ABC"},
        {"scheme": " ISO  9001 "},
        {"scheme": "SNI 8877:2023", "number": "123/ABC"},
    ],
    "contact": {
        "email": "Info@Sepatu-Jaya.CO.ID",
        "phone": "0812 3456 7890",
        "whatsapp": "+62 812-3456-7890",
        "website": "https://sepatujaya.co.id/",
    },
    "socials": {
        "instagram": "https://www.instagram.com/sepatujaya/",
        "facebook": "https://www.facebook.com/sepatujaya.id",
        "youtube": "https://www.youtube.com/@Sepatu-Jaya",
        "tiktok": "@sepatu_jaya",
        "marketplaces": ["https://tokopedia.com/sepatujaya", "https://tokopedia.com/sepatujaya"],
    },
    "owner_name": "Budi  Santoso",
    "logo_url": "https://cdn.example.org/logo.png",
    "photos": [
        {"url": "https://cdn.example.org/1.jpg", "alt": "Sepatu  kulit\nhitam"},
        {"url": "https://cdn.example.org/2.jpg"},
    ],
    "consent": {
        "granted_at": "2024-03-01T09:00:00+07:00",
        "text_version": "v2",
        "channels": ["Instagram", "youtube", "instagram"],
        "fields_allowed": ["Owner Name", "phone", "owner_name"],
        "withdrawn_at": None,
    },
    "status": "Active",
    "updated_at": "2024-05-01T10:00:00+07:00",
    "unknown_field": "ignored",
}
DROP = object()  # marks a field to delete


def with_changes(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of `base`; `a__b=v` sets raw["a"]["b"], DROP deletes."""
    raw = copy.deepcopy(base)
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = raw
        for part in parents:
            target = target.setdefault(part, {})
        if value is DROP:
            target.pop(last, None)
        else:
            target[last] = value
    return raw


def valid(raw: Any) -> MemberRecord:
    """The parsed record, failing the test with the reasons if it was quarantined."""
    parsed = parse_record(raw)
    assert isinstance(parsed, MemberRecord), parsed
    return parsed


def reasons(raw: Any) -> list[str]:
    """The quarantine reasons, failing the test if the record was accepted."""
    parsed = parse_record(raw)
    assert isinstance(parsed, list), f"expected a quarantine, got {parsed!r}"
    return parsed


TEXT_FIELDS: list[str] = [
    "id",
    "business_name",
    "description_id",
    "description_en",
    "city",
    "province",
    "sentra",
    "owner_name",
    "logo_url",
    "status",
    "contact.email",
    "contact.phone",
    "contact.whatsapp",
    "contact.website",
    "socials.instagram",
    "socials.facebook",
    "socials.youtube",
    "socials.tiktok",
    "socials.marketplaces.0",
    "certifications.0.scheme",
    "certifications.0.number",
    "photos.0.url",
    "photos.0.alt",
    "consent.text_version",
    "consent.fields_allowed.0",
    "materials.0",
    "export_markets.0",
]


def _inject(raw: dict[str, Any], path: str, text: str, placement: str) -> None:
    """Put `text` at `path` (dots, list indexes), replacing the value or around it."""
    target: Any = raw
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    key: Any = int(last) if last.isdigit() else last
    before = target[key]
    target[key] = {"replace": text, "prefix": text + before, "suffix": before + text}[placement]
