"""scheduler: indexes the daily retention run reads by (requests by age, bookings and home
visits by request)

Revision ID: sched0007
Revises: sched0006
"""

from __future__ import annotations

from alembic import op

revision = "sched0007"
down_revision = "sched0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_help_requests_requested", "help_requests", ["requested_at"])
    op.create_index("ix_bookings_request", "bookings", ["request_id"])
    op.create_index("ix_home_visits_request", "home_visits", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_home_visits_request", table_name="home_visits")
    op.drop_index("ix_bookings_request", table_name="bookings")
    op.drop_index("ix_help_requests_requested", table_name="help_requests")
