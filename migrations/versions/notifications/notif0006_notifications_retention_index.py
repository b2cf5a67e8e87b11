"""notifications: the SMS whose text is still kept, by age, for the daily retention run

Revision ID: notif0006
Revises: notif0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "notif0006"
down_revision = "notif0005"
branch_labels = None
depends_on = None

TEXT_KEPT = sa.text("text <> ''")


def upgrade() -> None:
    op.create_index(
        "ix_messages_text_kept",
        "messages",
        ["queued_at"],
        postgresql_where=TEXT_KEPT,
        sqlite_where=TEXT_KEPT,
    )


def downgrade() -> None:
    op.drop_index("ix_messages_text_kept", table_name="messages")
