"""scheduler: the public form's rate limit, counted in the database for every instance

Revision ID: sched0004
Revises: sched0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "sched0004"
down_revision = "sched0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "help_request_hits",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("hits", sa.Text(), nullable=False),
        sa.Column("forget_after", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("help_request_hits", schema=None) as batch_op:
        batch_op.create_index("ix_help_request_hits_forget", ["forget_after"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("help_request_hits", schema=None) as batch_op:
        batch_op.drop_index("ix_help_request_hits_forget")

    op.drop_table("help_request_hits")
