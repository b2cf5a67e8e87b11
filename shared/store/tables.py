"""The tables every service keeps beside its read models: events (also the outbox), relay
position, inbox, dead letters and idempotency records."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from shared.store.utc import UtcDateTime

# SQLite only auto-numbers an INTEGER PRIMARY KEY; PostgreSQL needs 64 bits at scale.
Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


@dataclass(frozen=True)
class StoreTables:
    events: sa.Table
    relay_position: sa.Table
    inbox: sa.Table
    dead_letters: sa.Table
    idempotency: sa.Table


def add_store_tables(metadata: sa.MetaData) -> StoreTables:
    """Add the event store's tables to a service's metadata (one copy per service database)."""
    events = sa.Table(
        "events",
        metadata,
        sa.Column("position", Position, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("stream_version", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(120), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("correlation_id", sa.Uuid(), nullable=False),
        sa.Column("causation_id", sa.Uuid(), nullable=True),
        # PostgreSQL: the appending transaction's id (xid8 as bigint). Readers only go below
        # the snapshot's xmin, so an event committed late is never skipped. SQLite: 0, since
        # its single writer commits in position order.
        sa.Column("tx_id", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("stream_id", "stream_version", name="uq_events_stream_version"),
        sa.Index("ix_events_tx_position", "tx_id", "position"),
    )
    relay_position = sa.Table(
        "relay_position",
        metadata,
        sa.Column("name", sa.String(60), primary_key=True),
        sa.Column("tx_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        # Only one instance of a service relays at a time: the lease holder.
        sa.Column("owner", sa.String(80), nullable=True),
        sa.Column("lease_until", UtcDateTime(), nullable=True),
    )
    inbox = sa.Table(
        "inbox",
        metadata,
        # Per consumer and per source stream: the last version handled. An event at or below
        # it is a redelivery (no second effect); one above the next is early (waits its turn).
        sa.Column("consumer", sa.String(80), primary_key=True),
        sa.Column("stream_id", sa.String(200), primary_key=True),
        sa.Column("stream_version", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("handled_at", UtcDateTime(), nullable=False),
    )
    dead_letters = sa.Table(
        "dead_letters",
        metadata,
        sa.Column("id", Position, primary_key=True, autoincrement=True),
        sa.Column("consumer", sa.String(80), nullable=False),
        sa.Column("subject", sa.String(250), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("parked_at", UtcDateTime(), nullable=False),
        sa.Column("redriven_at", UtcDateTime(), nullable=True),
        sa.Index("ix_dead_letters_open", "consumer", "redriven_at"),
    )
    idempotency = sa.Table(
        "idempotency",
        metadata,
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    return StoreTables(events, relay_position, inbox, dead_letters, idempotency)
