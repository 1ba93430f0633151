"""member notices and the member page: the notice outbox, members' contacts as the notices know
them (unsubscribed, refused), their language, signed page links, their answers and their
withdrawals of promotion consent made on the page

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 18:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ifn_campaign.models import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("member_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_link_member_id"), ["member_id"], unique=False)

    op.create_table(
        "member_preference",
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("member_id"),
    )
    op.create_table(
        "notice_contact",
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("medium", sa.String(length=16), nullable=False),
        sa.Column("unsubscribed_at", UTCDateTime(), nullable=True),
        sa.Column("refused_address", sa.Text(), nullable=True),
        sa.Column("refused_at", UTCDateTime(), nullable=True),
        sa.Column("refused_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("member_id", "medium"),
    )
    op.create_table(
        "member_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["member_link.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["post.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("member_answer", schema=None) as batch_op:
        batch_op.create_index("ix_member_answer_address_at", ["address", "at"], unique=False)
        batch_op.create_index("ix_member_answer_link_at", ["link_id", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_member_answer_member_id"), ["member_id"], unique=False)
        batch_op.create_index("ix_member_answer_post", ["post_id", "at"], unique=False)

    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("medium", sa.String(length=16), nullable=False),
        sa.Column("to_address", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("state_changed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["member_link.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["post.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
        sa.UniqueConstraint("message_id"),
    )
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.create_index("ix_notice_due", ["state", "next_attempt_at", "id"], unique=False)
        batch_op.create_index("ix_notice_member", ["member_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notice_post_id"), ["post_id"], unique=False)

    op.create_table(
        "member_withdrawal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=True),
        sa.Column("reported_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["member_answer.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("member_withdrawal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_member_withdrawal_member_id"), ["member_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("member_withdrawal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_withdrawal_member_id"))

    op.drop_table("member_withdrawal")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notice_post_id"))
        batch_op.drop_index("ix_notice_member")
        batch_op.drop_index("ix_notice_due")

    op.drop_table("notice")
    with op.batch_alter_table("member_answer", schema=None) as batch_op:
        batch_op.drop_index("ix_member_answer_post")
        batch_op.drop_index(batch_op.f("ix_member_answer_member_id"))
        batch_op.drop_index("ix_member_answer_link_at")
        batch_op.drop_index("ix_member_answer_address_at")

    op.drop_table("member_answer")
    op.drop_table("notice_contact")
    op.drop_table("member_preference")
    with op.batch_alter_table("member_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_link_member_id"))

    op.drop_table("member_link")
