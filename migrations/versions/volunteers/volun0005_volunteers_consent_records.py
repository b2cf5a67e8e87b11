"""volunteers: a volunteer shows the consent record of their registration (issue 16)

Revision ID: volun0005
Revises: volun0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "volun0005"
down_revision = "volun0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("volunteers") as batch:
        batch.add_column(sa.Column("consent", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("volunteers") as batch:
        batch.drop_column("consent")
