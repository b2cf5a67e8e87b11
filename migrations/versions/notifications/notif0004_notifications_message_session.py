"""notifications: the support session each SMS is about, so a session lists its SMS

Revision ID: notif0004
Revises: notif0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "notif0004"
down_revision = "notif0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SMS queued before this revision have no session: their events do not name one, so a
    # rebuild gives the same None.
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_id", sa.String(60), nullable=True))
        batch_op.create_index("ix_messages_session", ["session_id", "queued_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_session")
        batch_op.drop_column("session_id")
