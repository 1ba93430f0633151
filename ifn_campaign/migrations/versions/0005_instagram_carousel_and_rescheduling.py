"""instagram alt text, user tags and carousel slides; replacing scheduled posts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 09:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alt_text", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("user_tags", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("slides", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("slide_container_ids", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "replaces_remote_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_column("replaces_remote_id")
        batch_op.drop_column("slide_container_ids")
        batch_op.drop_column("slides")
        batch_op.drop_column("user_tags")
        batch_op.drop_column("alt_text")
