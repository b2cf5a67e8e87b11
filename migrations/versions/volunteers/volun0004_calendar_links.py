"""volunteers: calendar links (only secret hashes), and the topic an assignment names

Revision ID: volun0004
Revises: volun0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "volun0004"
down_revision = "volun0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_links",
        sa.Column("link_id", sa.String(length=200), nullable=False),
        sa.Column("volunteer_id", sa.String(length=200), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("link_id"),
        sa.UniqueConstraint("secret_hash"),
    )
    with op.batch_alter_table("calendar_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_calendar_links_volunteer_id"), ["volunteer_id"], unique=False
        )

    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("topic", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_column("topic")

    with op.batch_alter_table("calendar_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_links_volunteer_id"))

    op.drop_table("calendar_links")
