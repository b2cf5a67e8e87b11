"""Reading a service's event log: the whole log in commit order (the relay, a rebuild), and
the one decoder of an event row that every reader of events uses.

On PostgreSQL an event is read only once no transaction that could commit before it is still
running (the horizon, see docs/architecture.md, "No skipped events").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple
from uuid import UUID

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.events.base import RecordedEvent
from shared.events.catalog import Catalog
from shared.store.statements import Statements


def recorded_from_row(
    source: str, catalog: Catalog, stream_id: str, row: Sequence[Any]
) -> RecordedEvent:
    """One event row of `stream_id` as loaded (event id, version, type, schema version, data,
    recorded at, correlation id, causation id), decoded: the body upcast to the event's
    current schema by the catalog, the time in UTC, the ids as the driver hands them."""
    (
        event_id,
        stream_version,
        event_type,
        schema_version,
        data,
        recorded_at,
        correlation_id,
        causation_id,
    ) = row
    return RecordedEvent(
        event_id=event_id,
        source=source,
        stream_id=stream_id,
        stream_version=stream_version,
        event=catalog.decode(event_type, schema_version, data),
        recorded_at=recorded_at,
        correlation_id=correlation_id,
        causation_id=causation_id,
    )


def _id_text(value: Any) -> str:
    """An id read as stored, in its canonical form: SQLite keeps the 32 hex digits, asyncpg
    hands a UUID of its own (cheap to print)."""
    if isinstance(value, str) and len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return str(value)


class LogPosition(NamedTuple):
    """Where a reader of the whole log stands: (transaction id, position)."""

    tx_id: int
    position: int


START = LogPosition(-1, 0)


class StoredEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event row as read from the log, body still encoded and ids as text (the relay
    never decodes the one and only writes the others into headers)."""

    at: tuple[int, int]
    event_id: str
    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    data: bytes
    recorded_at: Any
    correlation_id: str
    causation_id: str | None

    @property
    def log_position(self) -> LogPosition:
        return LogPosition(*self.at)


class EventLog:
    """A store's log read in order, by position (`store.log`)."""

    def __init__(
        self,
        events: sa.Table,
        statements: Statements,
        catalog: Catalog,
        source: str,
        *,
        postgres: bool,
    ) -> None:
        self._events = events
        self._statements = statements
        self._catalog = catalog
        self._source = source
        self._postgres = postgres

    async def read(
        self, conn: AsyncConnection, after: LogPosition, limit: int, *, whole_snapshot: bool = False
    ) -> list[StoredEvent]:
        """Committed events after a position, in an order no late commit can break; with
        `whole_snapshot`, every event the transaction's snapshot sees (a rebuild's read: the
        relay's horizon would hold back commits while any older transaction is open).

        Rows become StoredEvents, not RecordedEvents: the relay publishes the body as stored
        and the ids as text, so nothing is decoded here (`recorded` decodes one when needed).
        """
        rows = await conn.execute(
            self._statements.read_seen if whole_snapshot else self._statements.read_log,
            {"after_tx": after.tx_id, "after_position": after.position, "limit": limit},
        )
        return [
            StoredEvent(
                at=(tx_id, position),
                event_id=_id_text(event_id),
                stream_id=stream_id,
                stream_version=stream_version,
                event_type=event_type,
                schema_version=schema_version,
                data=data,
                recorded_at=recorded_at,
                correlation_id=_id_text(correlation_id),
                causation_id=None if causation_id is None else _id_text(causation_id),
            )
            for (
                tx_id,
                position,
                event_id,
                stream_id,
                stream_version,
                event_type,
                schema_version,
                data,
                recorded_at,
                correlation_id,
                causation_id,
            ) in rows
        ]

    def recorded(self, stored: StoredEvent) -> RecordedEvent:
        """An event read from the log, decoded as a loaded one is (its ids read as text)."""
        return recorded_from_row(
            self._source,
            self._catalog,
            stored.stream_id,
            (
                UUID(stored.event_id),
                stored.stream_version,
                stored.event_type,
                stored.schema_version,
                stored.data,
                stored.recorded_at,
                UUID(stored.correlation_id),
                None if stored.causation_id is None else UUID(stored.causation_id),
            ),
        )

    async def types_before(
        self, conn: AsyncConnection, stream_id: str, version: int
    ) -> dict[str, int]:
        """The latest version of each event type in a stream before `version`."""
        rows = await conn.execute(
            self._statements.types_before, {"stream_id": stream_id, "before": version}
        )
        return {event_type: int(latest) for event_type, latest in sorted(rows, key=lambda r: r[1])}

    def _after(self, after: LogPosition) -> sa.ColumnElement[bool]:
        events = self._events
        if self._postgres:
            return sa.tuple_(events.c.tx_id, events.c.position) > sa.tuple_(*after)
        return events.c.position > after.position

    def _log_order(self) -> tuple[sa.Column[Any], ...]:
        events = self._events
        if self._postgres:
            return (events.c.tx_id, events.c.position)
        return (events.c.position,)

    async def count_after(self, conn: AsyncConnection, after: LogPosition) -> int:
        """How many committed or pending events lie after a position (the outbox lag)."""
        count = await conn.scalar(
            sa.select(sa.func.count()).select_from(self._events).where(self._after(after))
        )
        return int(count or 0)

    async def any_after(self, conn: AsyncConnection, after: LogPosition) -> bool:
        """Whether any event, committed or still committing, lies after a position (cheap).

        Ordered as the log index is, so that it is one probe of that index: unordered, with
        LIMIT 1, PostgreSQL scans the whole table when (as usual, the relay being caught up)
        no row matches, ~10 ms at 200,000 events and growing with the log.
        """
        found = await conn.scalar(
            sa.select(self._events.c.position)
            .where(self._after(after))
            .order_by(*self._log_order())
            .limit(1)
        )
        return found is not None
