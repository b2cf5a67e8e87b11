"""notifications: a data key per phone number (its events seal numbers, names, texts)

Revision ID: notif0005
Revises: notif0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "notif0005"
down_revision = "notif0004"
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


def downgrade() -> None:
    op.drop_table("person_keys")
