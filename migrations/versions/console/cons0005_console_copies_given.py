"""console: each person's own copy given (read model of subject_access.given; ids only)

Revision ID: cons0005
Revises: cons0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "cons0005"
down_revision = "cons0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "copies_given",
        sa.Column("copy_id", sa.String(length=200), nullable=False),
        sa.Column("person", sa.String(length=20), nullable=False),
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.Column("asked_by", sa.String(length=200), nullable=False),
        sa.Column("asked_role", sa.String(length=20), nullable=False),
        sa.Column("answered", sa.JSON(), nullable=False),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("copy_id"),
    )
    op.create_index("ix_copies_given_given_at", "copies_given", ["given_at"])


def downgrade() -> None:
    op.drop_index("ix_copies_given_given_at", table_name="copies_given")
    op.drop_table("copies_given")
