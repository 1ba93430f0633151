"""Cards for many members: one failure is recorded and the rest go on."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ifn_campaign.cards.member_card import card_data
from ifn_campaign.cards.render import RenderedCard, Renderer, photo_side
from ifn_campaign.errors import IFNError
from ifn_campaign.models import Member


@dataclass
class Batch:
    cards: list[RenderedCard] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def drawn(self) -> int:
        return sum(not c.cached for c in self.cards)


def promotable_ids(session: Session) -> list[str]:
    """Active members who have not withdrawn consent (channels are the planner's business)."""
    return list(
        session.scalars(
            select(Member.id)
            .where(Member.status == "active", Member.consent_withdrawn_at.is_(None))
            .order_by(Member.id)
        )
    )


def render_members(
    session: Session,
    renderer: Renderer,
    member_ids: Sequence[str],
    template: str,
    format_ids: Sequence[str] | None = None,
    *,
    png: bool = False,
    on_member: Callable[[str], None] | None = None,
    file: Callable[[str], Path],
) -> Batch:
    """Render each member's cards; a member that cannot be drawn is listed with the reason.
    `file` turns a stored media path into the file (the settings' `path`)."""
    batch = Batch()
    side = photo_side(
        renderer.templates[template], format_ids or renderer.templates[template].formats
    )
    for member_id in member_ids:
        try:
            data = card_data(session, member_id, photo_side=side, file=file)
            batch.cards += renderer.render(data, template, format_ids, png=png)
            batch.names[member_id] = data.business_name
        except IFNError as exc:
            batch.failures.append((member_id, str(exc)))
        if on_member:
            on_member(member_id)
    return batch
