"""hardening: platform blocks that outlive a run, takeovers counted, thumbnail retries, member notes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 03:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import ifn_campaign.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "platform_block",
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("blocked_until", ifn_campaign.models.UTCDateTime(), nullable=False),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_at", ifn_campaign.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key"),
    )
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("takeovers", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("thumbnail_state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notes", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_column("notes")
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_column("thumbnail_state")
        batch_op.drop_column("takeovers")
    op.drop_table("platform_block")
