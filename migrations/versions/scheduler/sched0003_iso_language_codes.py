"""scheduler read models: languages as ISO 639 codes

Revision ID: sched0003
Revises: sched0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from migrations.iso_languages import many, one, rewrite

revision = "sched0003"
down_revision = "sched0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    text, json = sa.String(), sa.JSON()
    rewrite(bind, "sessions", {"session_id": text}, {"languages": (json, many)})
    rewrite(bind, "bookings", {"booking_id": text}, {"preferred_language": (text, one)})
    rewrite(bind, "help_requests", {"request_id": text}, {"preferred_language": (text, one)})


def downgrade() -> None:
    """The old spellings are not restored: the events keep them, and a rebuild under the old
    code would write them again."""
