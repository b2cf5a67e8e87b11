"""scheduler: residents' data keys (personal values in events are sealed with them)

Revision ID: sched0005
Revises: sched0004
"""

from __future__ import annotations

from alembic import op

from migrations.store_tables import create_person_keys_table

revision = "sched0005"
down_revision = "sched0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_person_keys_table()


def downgrade() -> None:
    op.drop_table("person_keys")
