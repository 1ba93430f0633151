"""From a stored member to cards, with every kind of broken or awkward source image."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ifn_campaign.cards.batch import promotable_ids, render_members
from ifn_campaign.cards.brand import BrandKit
from ifn_campaign.cards.member_card import card_data, initials, tagline
from ifn_campaign.cards.render import CardData, Renderer
from ifn_campaign.cards.template import load_all
from ifn_campaign.config import Settings
from ifn_campaign.models import MediaAsset, Member, MemberMedia

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _jpeg(size: tuple[int, int] = (1200, 900), mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, (30, 90, 160) if mode == "RGB" else (10, 60, 0, 0)).save(buf, "JPEG")
    return buf.getvalue()


def _png16() -> bytes:
    buf = io.BytesIO()
    Image.new("I;16", (800, 600), 32768).save(buf, "PNG")
    return buf.getvalue()


def _gif() -> bytes:
    buf = io.BytesIO()
    frames = [Image.new("P", (600, 600), i) for i in (3, 9)]
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100)
    return buf.getvalue()


def _bomb() -> bytes:
    buf = io.BytesIO()
    Image.new("1", (12000, 9000), 0).save(buf, "PNG")
    return buf.getvalue()


BROKEN: dict[str, Callable[[], bytes]] = {
    "truncated_jpeg": lambda: _jpeg()[:2000],
    "zero_bytes": lambda: b"",
    "not_an_image": lambda: b"<html>oops</html>",
    "bomb": _bomb,
}
AWKWARD: dict[str, Callable[[], bytes]] = {
    "cmyk_jpeg": lambda: _jpeg(mode="CMYK"),
    "png_16bit": _png16,
    "animated_gif": _gif,
}


@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    brand = BrandKit.load()
    return Renderer(brand, load_all(palette=brand.palette), tmp_path_factory.mktemp("cards"))


def _member(
    session: Session, member_id: str, media: dict[str, bytes], folder: Path, **kw: object
) -> None:
    values: dict[str, object] = {
        "id": member_id,
        "source": "test",
        "business_name": "CV Kulit Priangan",
        "actor_types": ["producer"],
        "categories": ["leather_shoes", "boots", "unknown_word"],
        "description_id": "Sepatu kulit buatan tangan. Sejak 1998 di Cibaduyut.",
        "city": "Kota Bandung",
        "province": "Jawa Barat",
        "updated_at": NOW,
        "content_hash": "x",
        "raw_hash": "x",
        "first_seen_at": NOW,
        "last_seen_at": NOW,
        "last_changed_at": NOW,
    }
    values.update(kw)
    session.add(Member(**values))
    for position, (role, data) in enumerate(media.items()):
        sha = f"{member_id}-{position}".ljust(64, "0")
        path = folder / f"{member_id}-{position}.bin"
        path.write_bytes(data)
        session.add(
            MediaAsset(
                sha256=sha,
                mime_type="image/jpeg",
                width=1,
                height=1,
                bytes=len(data),
                source_url="http://x",
                fetched_at=NOW,
                path=path.name,  # relative to the data folder, `folder`
            )
        )
        session.flush()
        session.add(
            MemberMedia(
                member_id=member_id,
                role=role.split(":")[0],
                position=position,
                source_url="http://x",
                asset_sha256=sha,
                checked_at=NOW,
            )
        )
    session.commit()


@pytest.mark.parametrize("kind", list(BROKEN))
def test_broken_photo_falls_back_to_the_logo_card_with_a_reason(
    kind: str, sqlite_engine: Engine, tmp_path: Path, renderer: Renderer
) -> None:
    with Session(sqlite_engine) as session:
        _member(session, "m1", {"photo": BROKEN[kind](), "logo": _jpeg((300, 300))}, tmp_path)
        data = card_data(session, "m1", file=Settings(data_dir=tmp_path).path)
    assert data.photo is None and data.logo is not None
    assert len(data.notes) == 1 and data.notes[0].startswith("photo 0 unusable: ")
    cards = renderer.render(data, "sorotan", ["ig_portrait"])
    assert cards[0].template == "sorotan-logo" and cards[0].path.exists()
    assert data.notes[0] in cards[0].notes


@pytest.mark.parametrize("kind", list(AWKWARD))
def test_awkward_photos_make_photo_cards(
    kind: str, sqlite_engine: Engine, tmp_path: Path, renderer: Renderer
) -> None:
    with Session(sqlite_engine) as session:
        _member(session, "m1", {"photo": AWKWARD[kind]()}, tmp_path)
        data = card_data(session, "m1", file=Settings(data_dir=tmp_path).path)
    assert data.photo is not None and data.photo.image.mode in ("RGB", "RGBA")
    [card] = renderer.render(data, "sorotan", ["ig_square"])
    assert card.template == "sorotan"


def test_missing_file_and_tiny_logo(
    sqlite_engine: Engine, tmp_path: Path, renderer: Renderer
) -> None:
    with Session(sqlite_engine) as session:
        _member(session, "m1", {"photo": _jpeg(), "logo": _jpeg((40, 40))}, tmp_path)
        (tmp_path / "m1-0.bin").unlink()
        data = card_data(session, "m1", file=Settings(data_dir=tmp_path).path)
    assert data.photo is None and data.logo is not None
    assert "photo 0 unusable" in data.notes[0]
    [card] = renderer.render(data, "sorotan", ["story"])
    assert card.template == "sorotan-logo"


def test_labels_and_promotable(sqlite_engine: Engine, tmp_path: Path) -> None:
    with Session(sqlite_engine) as session:
        _member(session, "m1", {}, tmp_path)
        _member(session, "m2", {}, tmp_path, status="suspended")
        _member(session, "m3", {}, tmp_path, consent_withdrawn_at=NOW)
        data = card_data(session, "m1", file=Settings(data_dir=tmp_path).path)
        assert promotable_ids(session) == ["m1"]
    assert data.actor_label == "Produsen"
    assert data.categories == ("Sepatu kulit", "Sepatu bot")  # unknown words are left out
    assert data.initials == "KP" and data.tagline == "Sepatu kulit buatan tangan."
    assert data.place == "Kota Bandung, Jawa Barat"


def test_batch_goes_on_after_a_failure(
    sqlite_engine: Engine, tmp_path: Path, renderer: Renderer
) -> None:
    with Session(sqlite_engine) as session:
        _member(session, "m1", {"photo": _jpeg()}, tmp_path)
        batch = render_members(
            session,
            renderer,
            ["nobody", "m1"],
            "sorotan",
            ["fb_feed"],
            file=Settings(data_dir=tmp_path).path,
        )
    assert [c.member_id for c in batch.cards] == ["m1"]
    assert batch.failures[0][0] == "nobody" and "no member" in batch.failures[0][1]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Satu kalimat saja", "Satu kalimat saja"),
        ("Pertama. Kedua.", "Pertama."),
        ("Apa kabar? Baik!", "Apa kabar?"),
        ("kata " * 60, ("kata " * 27).strip() + "…"),
    ],
)
def test_tagline(text: str, expected: str) -> None:
    assert tagline(text) == expected


@pytest.mark.parametrize(
    "name,expected",
    [("CV Kulit Priangan", "KP"), ("PT. Sepatu", "S"), ("UD", "U"), ("鞋行 Hoki", "鞋H"), ("", "")],
)
def test_initials(name: str, expected: str) -> None:
    assert initials(name) == expected


TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=300
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=TEXT, place=TEXT, line=TEXT)
def test_any_text_renders(renderer: Renderer, name: str, place: str, line: str) -> None:
    data = CardData(
        member_id="h1",
        business_name=name,
        place=place,
        tagline=line,
        sentra="",
        actor_type="brand",
        actor_label="Merek",
        categories=(place[:30],),
        initials=name[:2],
    )
    [card] = renderer.render(data, "sorotan", ["fb_feed"])
    assert card.path.exists() and card.template == "sorotan-logo"
