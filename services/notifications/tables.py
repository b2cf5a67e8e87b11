"""The notifications service's tables: the shared event store tables, its read models (all
projected from its own events, so `handinhand rebuild` can replay them) and its timers."""

from __future__ import annotations

import sqlalchemy as sa

from shared.personal.table import add_person_keys_table
from shared.store.tables import add_store_tables
from shared.store.timers import add_timer_table
from shared.store.utc import UtcDateTime

metadata = sa.MetaData()
store_tables = add_store_tables(metadata)
timers = add_timer_table(metadata)
# A key per phone number (`phone-<keyed hash>`): the numbers, names and texts of its events.
person_keys = add_person_keys_table(metadata)

PHONE = sa.String(20)
# The states /metrics counts (services/notifications/metrics.py), each with a partial index:
# only the messages in that state are in it, so the sender's writes hardly pay for it.
SENDING = sa.text("status = 'sending'")
FAILED = sa.text("status = 'failed'")
# The SMS whose text is still kept: what the retention run blanks, oldest first.
TEXT_KEPT = sa.text("text <> ''")

# One row per phone number that has a stream of its own: the way from a number to its random
# stream id, and what the recipient chose (consent, language, diacritics).
recipients = sa.Table(
    "recipients",
    metadata,
    sa.Column("phone", PHONE, primary_key=True),
    sa.Column("recipient_id", sa.String(60), nullable=False, unique=True),
    sa.Column("opted_out", sa.Boolean(), nullable=False),
    sa.Column("language", sa.String(8), nullable=True),
    sa.Column("strip_diacritics", sa.Boolean(), nullable=True),
    sa.Column("changed_at", UtcDateTime(), nullable=False),
)

# Every SMS and where it stands; `version` is its stream's version, so the sender can append
# without loading the stream again.
messages = sa.Table(
    "messages",
    metadata,
    sa.Column("message_id", sa.String(60), primary_key=True),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("cause_event_id", sa.Uuid(), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("recipient_phone", PHONE, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("text", sa.Text(), nullable=False),
    sa.Column("encoding", sa.String(8), nullable=False),
    sa.Column("parts", sa.Integer(), nullable=False),
    sa.Column("stripped", sa.Boolean(), nullable=False),
    sa.Column("parts_saved", sa.Integer(), nullable=False),
    sa.Column("urgent", sa.Boolean(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
    sa.Column("sending_since", UtcDateTime(), nullable=True),
    sa.Column("queued_at", UtcDateTime(), nullable=False),
    sa.Column("sent_at", UtcDateTime(), nullable=True),
    sa.Column("delivered_at", UtcDateTime(), nullable=True),
    sa.Column("failed_at", UtcDateTime(), nullable=True),
    sa.Column("provider", sa.String(40), nullable=True),
    sa.Column("provider_message_id", sa.String(100), nullable=True),
    sa.Column("failure_reason", sa.Text(), nullable=True),
    sa.Column("commune_code", sa.String(10), nullable=True),
    sa.Column("reference", sa.String(100), nullable=True),
    sa.Column("recipient_name", sa.String(120), nullable=True),
    sa.Column("session_starts_at", UtcDateTime(), nullable=True),
    # The support session the SMS is about (residents', volunteers', coordinators'), if any.
    sa.Column("session_id", sa.String(60), nullable=True),
    sa.Index("ix_messages_recipient", "recipient_phone", "queued_at"),
    sa.Index("ix_messages_kind", "kind", "queued_at"),
    sa.Index("ix_messages_provider_id", "provider_message_id"),
    sa.Index("ix_messages_session", "session_id", "queued_at"),
    sa.Index(
        "ix_messages_sending", "sending_since", postgresql_where=SENDING, sqlite_where=SENDING
    ),
    sa.Index("ix_messages_failed", "failed_at", postgresql_where=FAILED, sqlite_where=FAILED),
    sa.Index(
        "ix_messages_text_kept", "queued_at", postgresql_where=TEXT_KEPT, sqlite_where=TEXT_KEPT
    ),
)

# The send queue: messages not settled yet, with the claim that gives each to one sender.
outgoing = sa.Table(
    "outgoing",
    metadata,
    sa.Column("message_id", sa.String(60), primary_key=True),
    sa.Column("due_at", UtcDateTime(), nullable=False),
    sa.Column("claimed_until", UtcDateTime(), nullable=True),
    sa.Column("claimed_by", sa.String(80), nullable=True),
    sa.Index("ix_outgoing_due", "due_at"),
)

# Proposals sent by SMS and not answered yet: what a "C 4821" reply from a phone can mean.
pending_replies = sa.Table(
    "pending_replies",
    metadata,
    sa.Column("assignment_id", sa.String(100), primary_key=True),
    sa.Column("phone", PHONE, nullable=False),
    sa.Column("short_code", sa.String(8), nullable=False),
    sa.Column("topic", sa.String(120), nullable=False),
    sa.Column("starts_at", UtcDateTime(), nullable=False),
    sa.Index("ix_pending_replies_phone", "phone"),
)

# Who gets staffing and delivery-failure alerts, and for which communes.
coordinators = sa.Table(
    "coordinators",
    metadata,
    sa.Column("coordinator_id", sa.String(100), primary_key=True),
    sa.Column("phone", PHONE, nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
)
coordinator_communes = sa.Table(
    "coordinator_communes",
    metadata,
    sa.Column("commune_code", sa.String(10), primary_key=True),
    sa.Column("coordinator_id", sa.String(100), primary_key=True),
)

READ_MODELS = (recipients, messages, outgoing, pending_replies, coordinators, coordinator_communes)
