"""console: accounts' data keys (their names, phones and browsers in events are sealed with
them), and accounts erased (their phone given up, so another account may take it)

Revision ID: cons0004
Revises: cons0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "cons0004"
down_revision = "cons0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person_keys",
        sa.Column("person_id", sa.String(length=80), nullable=False),
        sa.Column("master_kid", sa.String(length=40), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("person_id"),
    )
    with op.batch_alter_table("accounts") as table:
        table.alter_column("phone", existing_type=sa.String(length=20), nullable=True)
        table.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as table:
        table.drop_column("erased_at")
        table.alter_column("phone", existing_type=sa.String(length=20), nullable=False)
    op.drop_table("person_keys")
