"""post events: an index on (at, id), so the console's activity log reads its newest page
without sorting every event ever logged

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_post_event_at", "post_event", ["at", "id"])


def downgrade() -> None:
    op.drop_index("ix_post_event_at", table_name="post_event")
