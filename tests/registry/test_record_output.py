"""Issue 14: text that is merely long is stored whole (with a note), so the output must cope:
cards fit it in every format, captions stay within every platform's limits and say what they cut.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ifn_campaign.captions.writer import CHANNELS, CaptionWriter
from ifn_campaign.cards.batch import render_members
from ifn_campaign.cards.brand import BrandKit
from ifn_campaign.cards.render import Renderer
from ifn_campaign.cards.template import load_all
from ifn_campaign.models import Member
from ifn_campaign.registry.record import MemberRecord, parse_record
from tests.support.records import BASE, with_changes

NOW = datetime(2026, 1, 5, 3, tzinfo=UTC)
LONG = with_changes(
    BASE,
    business_name="S" + "e" * 299,  # one 300-letter word
    owner_name="Budi " + "Santoso" * 40,
    description_id="Sepatu kulit buatan tangan di Cibaduyut. " * 150,  # 6,150 characters
    consent={"channels": list(CHANNELS), "granted_at": "2024-01-01T00:00:00Z"},
)


def _store(engine: Engine) -> str:
    record = parse_record(LONG)
    assert isinstance(record, MemberRecord), record
    assert {n.split(":")[0] for n in record.notes} >= {"business_name", "description_id"}
    values = record.profile() | {
        "source": "test",
        "status": record.status,
        "updated_at": record.updated_at,
        "content_hash": record.content_hash(),
        "raw_hash": "x",
        "first_seen_at": NOW,
        "last_seen_at": NOW,
        "last_changed_at": NOW,
    }
    with Session(engine) as session:
        session.add(Member(**values))
        session.commit()
    return record.id


def test_a_member_with_long_text_gets_cards_in_every_format(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    member_id = _store(sqlite_engine)
    brand = BrandKit.load()
    renderer = Renderer(brand, load_all(palette=brand.palette), tmp_path / "cards")
    with Session(sqlite_engine) as session:
        batch = render_members(session, renderer, [member_id], "sorotan", file=Path)
    assert batch.failures == [] and batch.cards
    assert all(Path(card.path).stat().st_size > 0 for card in batch.cards)


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_member_with_long_text_gets_captions_within_limits(
    sqlite_engine: Engine, channel: str
) -> None:
    member_id = _store(sqlite_engine)
    writer = CaptionWriter(clock=lambda: NOW)
    with Session(sqlite_engine) as session:
        member = session.get(Member, member_id)
        assert member is not None
        caption = writer.write(member, channel, "id")
    limit = {"instagram": 2200, "facebook": 63_206, "youtube": 5000}[channel]
    size = len(caption.text.encode()) if channel == "youtube" else len(caption.text)  # bytes
    assert size <= limit and len(caption.title or "") <= 100
    if channel != "facebook":  # Facebook takes 63,206 characters: nothing to cut
        assert caption.cuts, "what was cut is recorded"
