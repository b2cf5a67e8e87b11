"""notifications: a data key per phone number (its events seal numbers, names, texts)

Revision ID: notif0005
Revises: notif0004
"""

from __future__ import annotations

from alembic import op

from migrations.store_tables import create_person_keys_table

revision = "notif0005"
down_revision = "notif0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_person_keys_table()


def downgrade() -> None:
    op.drop_table("person_keys")
