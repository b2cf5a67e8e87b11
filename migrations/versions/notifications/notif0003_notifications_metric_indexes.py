"""notifications: partial indexes for the SMS metrics (stuck in sending, failed)

Revision ID: notif0003
Revises: notif0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "notif0003"
down_revision = "notif0002"
branch_labels = None
depends_on = None

SENDING = sa.text("status = 'sending'")
FAILED = sa.text("status = 'failed'")


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_sending",
            ["sending_since"],
            unique=False,
            postgresql_where=SENDING,
            sqlite_where=SENDING,
        )
        batch_op.create_index(
            "ix_messages_failed",
            ["failed_at"],
            unique=False,
            postgresql_where=FAILED,
            sqlite_where=FAILED,
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_failed")
        batch_op.drop_index("ix_messages_sending")
