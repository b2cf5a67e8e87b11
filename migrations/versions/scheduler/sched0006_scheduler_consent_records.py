"""scheduler: help requests show the resident's consent record (issue 16)

Revision ID: sched0006
Revises: sched0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "sched0006"
down_revision = "sched0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("help_requests") as batch:
        batch.add_column(sa.Column("consent", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("help_requests") as batch:
        batch.drop_column("consent")
