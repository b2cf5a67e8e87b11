"""volunteers: volunteers' data keys (personal values in events are sealed with them), and
where each volunteer is in being erased

Revision ID: volun0006
Revises: volun0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "volun0006"
down_revision = "volun0005"
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
    with op.batch_alter_table("volunteers") as table:
        table.add_column(
            sa.Column("erasure", sa.String(length=10), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("volunteers") as table:
        table.drop_column("erasure")
    op.drop_table("person_keys")
