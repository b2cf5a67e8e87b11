"""The event store's SQL: the statements it runs most, and the layout of an event row.

Built once per store, so SQLAlchemy reuses their compiled form; the asyncpg ones are plain
SQL for the direct command path (shared/store/direct.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shared.events.base import RecordedEvent
from shared.events.catalog import encode

# The transaction id of the appending transaction, and the oldest one still running: an
# event is safe to read only below that horizon (see docs/architecture.md, "No skipped events").
_PG_TX_ID = sa.text("pg_current_xact_id()::text::bigint")
_PG_HORIZON = sa.text("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")

EVENT_COLUMNS = (
    "event_id, stream_id, stream_version, event_type, schema_version, data, recorded_at, "
    "correlation_id, causation_id"
)
_COLUMNS = tuple(EVENT_COLUMNS.split(", "))


class Statements:
    """The hot statements, built once per store (SQLAlchemy then reuses their compiled form)."""

    def __init__(self, events: sa.Table, relay_position: sa.Table, *, postgres: bool) -> None:
        by_stream = events.c.stream_id == sa.bindparam("stream_id")
        # A stream's rows in the order `recorded_from_row` (shared/store/log.py) decodes.
        self.load = (
            sa.select(
                events.c.event_id,
                events.c.stream_version,
                events.c.event_type,
                events.c.schema_version,
                events.c.data,
                events.c.recorded_at,
                events.c.correlation_id,
                events.c.causation_id,
            )
            .where(by_stream)
            .order_by(events.c.stream_version)
        )
        self.load_after = self.load.where(events.c.stream_version > sa.bindparam("after"))
        self.version_of = sa.select(sa.func.max(events.c.stream_version)).where(by_stream)
        self.types_before = (
            sa.select(events.c.event_type, sa.func.max(events.c.stream_version))
            .where(by_stream, events.c.stream_version < sa.bindparam("before"))
            .group_by(events.c.event_type)
        )
        in_streams = events.c.stream_id.in_(sa.bindparam("stream_ids", expanding=True))
        self.load_many = (
            sa.select(
                events.c.stream_id,
                events.c.event_id,
                events.c.stream_version,
                events.c.event_type,
                events.c.schema_version,
                events.c.data,
                events.c.recorded_at,
                events.c.correlation_id,
                events.c.causation_id,
            )
            .where(in_streams)
            .order_by(events.c.stream_id, events.c.stream_version)
        )
        self.versions_of = (
            sa.select(events.c.stream_id, sa.func.max(events.c.stream_version))
            .where(in_streams)
            .group_by(events.c.stream_id)
        )
        # Ids as stored, without making UUID objects (`_id_text` in shared/store/log.py): the
        # relay only needs text.
        read_log = sa.select(
            events.c.tx_id,
            events.c.position,
            sa.type_coerce(events.c.event_id, sa.String()),
            events.c.stream_id,
            events.c.stream_version,
            events.c.event_type,
            events.c.schema_version,
            events.c.data,
            events.c.recorded_at,
            sa.type_coerce(events.c.correlation_id, sa.String()),
            sa.type_coerce(events.c.causation_id, sa.String()),
        )
        after_tx = sa.bindparam("after_tx", type_=sa.BigInteger())
        after_position = sa.bindparam("after_position", type_=sa.BigInteger())
        if postgres:
            read_seen = read_log.where(
                sa.tuple_(events.c.tx_id, events.c.position) > sa.tuple_(after_tx, after_position)
            ).order_by(events.c.tx_id, events.c.position)
            read_log = read_seen.where(events.c.tx_id < _PG_HORIZON)
        else:
            read_log = read_seen = read_log.where(events.c.position > after_position).order_by(
                events.c.position
            )
        limit = sa.bindparam("limit", type_=sa.Integer())
        self.read_log = read_log.limit(limit)
        # Everything the reading transaction's snapshot holds, even while an older transaction
        # anywhere on the server is still open (the horizon above would hold those back): for a
        # rebuild, which reads the log whole inside one transaction, not for the relay.
        self.read_seen = read_seen.limit(limit)
        self.insert = events.insert().values(
            tx_id=_PG_TX_ID if postgres else sa.literal(0, sa.BigInteger())
        )
        # The same load and insert as plain SQL for asyncpg (PostgreSQL's command path).
        table = events.name
        self.direct_load = (
            "SELECT event_id, stream_version, event_type, schema_version, data, recorded_at, "
            f"correlation_id, causation_id FROM {table} WHERE stream_id = $1 "
            "ORDER BY stream_version"
        )
        self.direct_insert = (
            f"INSERT INTO {table} ({EVENT_COLUMNS}, tx_id) SELECT *, "
            "pg_current_xact_id()::text::bigint FROM unnest($1::uuid[], $2::text[], $3::int[], "
            "$4::text[], $5::int[], $6::bytea[], $7::timestamptz[], $8::uuid[], $9::uuid[])"
        )
        self.direct_lease_until = f"SELECT max(lease_until) FROM {relay_position.name}"
        self.direct_insert_one = (
            f"INSERT INTO {table} ({EVENT_COLUMNS}, tx_id) VALUES "
            "($1, $2, $3, $4, $5, $6, $7, $8, $9, pg_current_xact_id()::text::bigint)"
        )


def event_values(item: RecordedEvent, now: datetime) -> tuple[Any, ...]:
    """An event row's values, in the order of EVENT_COLUMNS."""
    return (
        item.event_id,
        item.stream_id,
        item.stream_version,
        item.event.event_type,
        item.event.schema_version,
        encode(item.event),
        now,
        item.correlation_id,
        item.causation_id,
    )


def event_row(item: RecordedEvent, now: datetime) -> dict[str, Any]:
    """An event row for `Statements.insert`."""
    return dict(zip(_COLUMNS, event_values(item, now), strict=True))
