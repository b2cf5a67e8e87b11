"""notifications read models

Revision ID: notif0002
Revises: notif0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "notif0002"
down_revision = "notif0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coordinator_communes",
        sa.Column("commune_code", sa.String(length=10), nullable=False),
        sa.Column("coordinator_id", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("commune_code", "coordinator_id"),
    )
    op.create_table(
        "coordinators",
        sa.Column("coordinator_id", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("coordinator_id"),
    )
    op.create_table(
        "messages",
        sa.Column("message_id", sa.String(length=60), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("cause_event_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("recipient_phone", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("encoding", sa.String(length=8), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("stripped", sa.Boolean(), nullable=False),
        sa.Column("parts_saved", sa.Integer(), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sending_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider", sa.String(length=40), nullable=True),
        sa.Column("provider_message_id", sa.String(length=100), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("commune_code", sa.String(length=10), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("recipient_name", sa.String(length=120), nullable=True),
        sa.Column("session_starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("message_id"),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_kind", ["kind", "queued_at"], unique=False)
        batch_op.create_index("ix_messages_provider_id", ["provider_message_id"], unique=False)
        batch_op.create_index(
            "ix_messages_recipient", ["recipient_phone", "queued_at"], unique=False
        )

    op.create_table(
        "outgoing",
        sa.Column("message_id", sa.String(length=60), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("message_id"),
    )
    with op.batch_alter_table("outgoing", schema=None) as batch_op:
        batch_op.create_index("ix_outgoing_due", ["due_at"], unique=False)

    op.create_table(
        "pending_replies",
        sa.Column("assignment_id", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("short_code", sa.String(length=8), nullable=False),
        sa.Column("topic", sa.String(length=120), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("assignment_id"),
    )
    with op.batch_alter_table("pending_replies", schema=None) as batch_op:
        batch_op.create_index("ix_pending_replies_phone", ["phone"], unique=False)

    op.create_table(
        "recipients",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("recipient_id", sa.String(length=60), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("strip_diacritics", sa.Boolean(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone"),
        sa.UniqueConstraint("recipient_id"),
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
    op.drop_table("recipients")
    with op.batch_alter_table("pending_replies", schema=None) as batch_op:
        batch_op.drop_index("ix_pending_replies_phone")

    op.drop_table("pending_replies")
    with op.batch_alter_table("outgoing", schema=None) as batch_op:
        batch_op.drop_index("ix_outgoing_due")

    op.drop_table("outgoing")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_recipient")
        batch_op.drop_index("ix_messages_provider_id")
        batch_op.drop_index("ix_messages_kind")

    op.drop_table("messages")
    op.drop_table("coordinators")
    op.drop_table("coordinator_communes")
