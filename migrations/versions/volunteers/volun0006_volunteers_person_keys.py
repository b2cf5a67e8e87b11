"""volunteers: volunteers' data keys (personal values in events are sealed with them), and
where each volunteer is in being erased

Revision ID: volun0006
Revises: volun0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations.store_tables import create_person_keys_table

revision = "volun0006"
down_revision = "volun0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_person_keys_table()
    with op.batch_alter_table("volunteers") as table:
        table.add_column(
            sa.Column("erasure", sa.String(length=10), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("volunteers") as table:
        table.drop_column("erasure")
    op.drop_table("person_keys")
