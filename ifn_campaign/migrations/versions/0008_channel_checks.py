"""channels: a CHECK on every channel column that only Instagram, Facebook and YouTube go in

The columns stay VARCHAR(16) (the models read them as the `Channel` enum); a row with any other
name stops the upgrade, naming the constraint.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 09:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the names as of this revision (not imported: a later enum must not change an old migration)
_NAMES = ("instagram", "facebook", "youtube")
_TABLES = ("post", "account_state", "feature", "pin")


def upgrade() -> None:
    allowed = ", ".join(f"'{name}'" for name in _NAMES)
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(f"ck_{table}_channel", f"channel IN ({allowed})")


def downgrade() -> None:
    for table in reversed(_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"ck_{table}_channel", type_="check")
