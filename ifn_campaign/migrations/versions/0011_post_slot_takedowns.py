"""posts: an index on slot_at, so a time window across every account (the console's Today and
its week, the calendar's month) reads only its posts, and a partial index on the takedown
requests still open, so the Failures page and `ifn-campaign takedowns` find them without
reading every post

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 15:15:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("takedown_requested_at IS NOT NULL AND taken_down_at IS NULL")


def upgrade() -> None:
    op.create_index("ix_post_slot", "post", ["slot_at"])
    op.create_index(
        "ix_post_takedown_open",
        "post",
        ["takedown_requested_at", "id"],
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_post_takedown_open", table_name="post")
    op.drop_index("ix_post_slot", table_name="post")
