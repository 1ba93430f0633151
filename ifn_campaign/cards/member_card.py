"""From a stored member to the data a card shows: labels in Indonesian, the best usable photo,
the logo, and a recorded reason for every image that could not be used."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.cards import photo as photos
from ifn_campaign.cards.render import CardData
from ifn_campaign.errors import ImageUnusable, LedgerError
from ifn_campaign.models import MediaAsset, MediaRole, Member, MemberMedia
from ifn_campaign.registry.record import vocabulary

_LEGAL_FORMS = {"cv", "pt", "ud", "tb", "pd", "koperasi"}
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
TAGLINE_MAX = 140


def tagline(description: str) -> str:
    """The first sentence of the Indonesian description (the text fit shortens it further)."""
    first = _SENTENCE.split(description.strip(), maxsplit=1)[0]
    return first if len(first) <= TAGLINE_MAX else first[: TAGLINE_MAX - 1].rsplit(" ", 1)[0] + "…"


def initials(name: str) -> str:
    """Up to two initials, skipping legal forms (CV, PT, UD): 'CV Kulit Priangan' -> 'KP'."""
    words = [w for w in re.split(r"\W+", name) if w and w.lower() not in _LEGAL_FORMS]
    return "".join(w[0] for w in words[:2]).upper() or name[:1].upper()


def place(member: Member) -> str:
    parts = [p for p in (member.city, member.province) if p]
    return ", ".join(dict.fromkeys(parts))


def card_data(
    session: Session, member_id: str, *, photo_side: int = 1920, file: Callable[[str], Path]
) -> CardData:
    """Everything a card needs about one member; unusable images are noted, never fatal.
    `file` turns a stored media path into the file (the settings' `path`: under the data
    folder, where media rows stored relative to the old working directory are too)."""
    member = session.get(Member, member_id)
    if member is None:
        raise LedgerError(f"no member {member_id!r} stored: check the id or run a sync")
    words = vocabulary()
    actor = member.actor_types[0] if member.actor_types else None
    rows = session.execute(
        select(MemberMedia, MediaAsset)
        .join(MediaAsset, MediaAsset.sha256 == MemberMedia.asset_sha256)
        .where(MemberMedia.member_id == member_id)
        .order_by(MemberMedia.role, MemberMedia.position)
    ).all()
    notes: list[str] = []
    logo_rows = [(m, a) for m, a in rows if m.role == MediaRole.LOGO]
    photo_rows = [(m, a) for m, a in rows if m.role == MediaRole.PHOTO]
    # the best photo: the most pixels, so the least upscaling
    photo_rows.sort(key=lambda ma: (-(ma[1].width * ma[1].height), ma[0].position))
    photo, photo_sha = _first_usable(photo_rows, photo_side, notes, file)
    logo, logo_sha = _first_usable(logo_rows, 1024, notes, file)
    return CardData(
        member_id=member.id,
        business_name=member.business_name,
        place=place(member),
        tagline=tagline(member.description_id),
        sentra=member.sentra or "",
        actor_type=actor,
        actor_label=words["actor_types"].get(actor or "", {}).get("id", ""),
        categories=tuple(
            words["categories"][c]["id"] for c in member.categories if c in words["categories"]
        ),
        initials=initials(member.business_name),
        photo=photo,
        photo_sha=photo_sha,
        logo=logo,
        logo_sha=logo_sha,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class Slide:
    """One more product photo for a carousel, with the member's own description of it."""

    data: CardData
    alt: str | None


def slides(
    session: Session,
    data: CardData,
    *,
    side: int = 1350,
    most: int = 9,
    file: Callable[[str], Path],
) -> list[Slide]:
    """The member's other usable photos (not the card's own), in the member's order, each as
    the card data with that photo: Instagram shows up to ten images, the card plus nine.
    `file` as for `card_data`."""
    rows = session.execute(
        select(MemberMedia, MediaAsset)
        .join(MediaAsset, MediaAsset.sha256 == MemberMedia.asset_sha256)
        .where(MemberMedia.member_id == data.member_id, MemberMedia.role == MediaRole.PHOTO)
        .order_by(MemberMedia.position)
    ).all()
    found: list[Slide] = []
    seen = {data.photo_sha}
    for media, asset in rows:
        if len(found) >= most or asset.sha256 in seen:
            continue
        seen.add(asset.sha256)
        try:
            image = photos.load_image(file(asset.path), min_side=side)
        except (ImageUnusable, OSError):
            continue  # card_data already noted why the photo is unusable
        photo = replace(data, photo=image, photo_sha=asset.sha256, notes=())
        found.append(Slide(photo, " ".join((media.alt or "").split())[:500] or None))
    return found


def _first_usable(
    rows: Sequence[tuple[MemberMedia, MediaAsset]],
    side: int,
    notes: list[str],
    file: Callable[[str], Path],
) -> tuple[photos.SourceImage | None, str | None]:
    for media, asset in rows:
        try:
            return photos.load_image(file(asset.path), min_side=side), asset.sha256
        except (ImageUnusable, OSError) as exc:
            reason = exc.reason if isinstance(exc, ImageUnusable) else "missing_file"
            notes.append(f"{media.role} {media.position} unusable: {reason}")
    return None, None
