"""scheduler read models

Revision ID: sched0002
Revises: sched0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "sched0002"
down_revision = "sched0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bookings",
        sa.Column("booking_id", sa.String(length=80), nullable=False),
        sa.Column("session_id", sa.String(length=80), nullable=False),
        sa.Column("request_id", sa.String(length=80), nullable=False),
        sa.Column("resident_name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("preferred_language", sa.String(length=40), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("accessibility_needs", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("from_waitlist", sa.Boolean(), nullable=False),
        sa.Column("booked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attendance", sa.String(length=20), nullable=True),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("booking_id"),
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index("ix_bookings_phone", ["phone", "status"], unique=False)
        batch_op.create_index("ix_bookings_session", ["session_id"], unique=False)

    op.create_table(
        "help_requests",
        sa.Column("request_id", sa.String(length=80), nullable=False),
        sa.Column("resident_name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("village_code", sa.String(length=32), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("accessibility_needs", sa.JSON(), nullable=False),
        sa.Column("preferred_language", sa.String(length=40), nullable=False),
        sa.Column("preferred_days", sa.JSON(), nullable=False),
        sa.Column("home_visit", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("filed_by", sa.String(length=200), nullable=True),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("elderly", sa.Boolean(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("minority", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("session_id", sa.String(length=80), nullable=True),
        sa.Column("booking_id", sa.String(length=80), nullable=True),
        sa.Column("visit_id", sa.String(length=80), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id"),
    )
    with op.batch_alter_table("help_requests", schema=None) as batch_op:
        batch_op.create_index("ix_help_requests_phone", ["phone"], unique=False)
        batch_op.create_index(
            "ix_help_requests_waiting", ["status", "province_code", "requested_at"], unique=False
        )

    op.create_table(
        "home_visits",
        sa.Column("visit_id", sa.String(length=80), nullable=False),
        sa.Column("request_id", sa.String(length=80), nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("accessibility_needs", sa.JSON(), nullable=False),
        sa.Column("volunteers_needed", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=True),
        sa.Column("start_local", sa.Time(), nullable=True),
        sa.Column("end_local", sa.Time(), nullable=True),
        sa.Column("staffing", sa.String(length=20), nullable=False),
        sa.Column("volunteer_ids", sa.JSON(), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("visit_id"),
    )
    with op.batch_alter_table("home_visits", schema=None) as batch_op:
        batch_op.create_index("ix_home_visits_commune", ["commune_code", "status"], unique=False)

    op.create_table(
        "places",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    with op.batch_alter_table("places", schema=None) as batch_op:
        batch_op.create_index("ix_places_commune", ["commune_code", "code"], unique=False)

    op.create_table(
        "sessions",
        sa.Column("session_id", sa.String(length=80), nullable=False),
        sa.Column("commune_code", sa.String(length=5), nullable=False),
        sa.Column("province_code", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("start_local", sa.Time(), nullable=False),
        sa.Column("end_local", sa.Time(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("venue", sa.JSON(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("accessibility", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.Column("volunteers_needed", sa.Integer(), nullable=False),
        sa.Column("coordinator_id", sa.String(length=200), nullable=False),
        sa.Column("public_holiday", sa.Boolean(), nullable=False),
        sa.Column("makeup_day", sa.Boolean(), nullable=False),
        sa.Column("staffing", sa.String(length=20), nullable=False),
        sa.Column("volunteer_ids", sa.JSON(), nullable=False),
        sa.Column("missing_volunteers", sa.Integer(), nullable=False),
        sa.Column("staffing_alerted", sa.Boolean(), nullable=False),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("totals", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("session_id"),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sessions_commune_date", ["commune_code", "local_date"], unique=False
        )
        batch_op.create_index(
            "ix_sessions_open", ["province_code", "status", "starts_at"], unique=False
        )

    op.create_table(
        "timers",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=80), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.create_index("ix_timers_due", ["due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("timers", schema=None) as batch_op:
        batch_op.drop_index("ix_timers_due")

    op.drop_table("timers")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_open")
        batch_op.drop_index("ix_sessions_commune_date")

    op.drop_table("sessions")
    with op.batch_alter_table("places", schema=None) as batch_op:
        batch_op.drop_index("ix_places_commune")

    op.drop_table("places")
    with op.batch_alter_table("home_visits", schema=None) as batch_op:
        batch_op.drop_index("ix_home_visits_commune")

    op.drop_table("home_visits")
    with op.batch_alter_table("help_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_help_requests_waiting")
        batch_op.drop_index("ix_help_requests_phone")

    op.drop_table("help_requests")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_bookings_session")
        batch_op.drop_index("ix_bookings_phone")

    op.drop_table("bookings")
