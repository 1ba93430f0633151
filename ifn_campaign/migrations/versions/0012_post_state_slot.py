"""posts: an index on (state, slot_at, id), so the review queue and the failures page read a page
of one state's posts in slot order instead of every post of that state (on the console bench's
PostgreSQL, 4,152 composed posts of 50,000: the review queue's query 49-73 ms -> 0.8 ms)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 16:15:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_post_state_slot", "post", ["state", "slot_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_post_state_slot", table_name="post")
