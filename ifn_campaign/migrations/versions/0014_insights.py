"""insights: every post's figures read back from its platform at marks after it went live (a
reading per post and mark, a row per figure), when the platform said the post is gone,
and the units of a daily quota (YouTube's) each purpose spent

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 21:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ifn_campaign.models import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "insight_reading",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("mark", sa.String(length=8), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("reach", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("post_id", "mark", name="uq_insight_reading_post_mark"),
    )
    with op.batch_alter_table("insight_reading", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_insight_reading_post_id"), ["post_id"], unique=False)
        batch_op.create_index("ix_insight_reading_due", ["state", "next_attempt_at"], unique=False)

    op.create_table(
        "insight_metric",
        sa.Column("reading_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["reading_id"], ["insight_reading.id"]),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"]),
        sa.PrimaryKeyConstraint("reading_id", "metric"),
    )
    with op.batch_alter_table("insight_metric", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_insight_metric_post_id"), ["post_id"], unique=False)

    op.create_table(
        "quota_use",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("units", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("key", "day"),
    )

    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remote_gone_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("post", schema=None) as batch_op:
        batch_op.drop_column("remote_gone_at")
    op.drop_table("quota_use")
    with op.batch_alter_table("insight_metric", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_insight_metric_post_id"))
    op.drop_table("insight_metric")
    with op.batch_alter_table("insight_reading", schema=None) as batch_op:
        batch_op.drop_index("ix_insight_reading_due")
        batch_op.drop_index(batch_op.f("ix_insight_reading_post_id"))
    op.drop_table("insight_reading")
