"""Append and read event streams with optimistic concurrency, on PostgreSQL or SQLite.

The events table is also the outbox: a committed event is what the relay publishes. Inline
read-model changes run in the same transaction as the append (the service's projector).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg
import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.clock import Clock
from shared.events.base import Cause, Event, RecordedEvent
from shared.events.catalog import Catalog, encode
from shared.ids import derived_id_after, time_ordered, uuid7
from shared.store.database import is_postgres, reading
from shared.store.direct import DirectConnections
from shared.store.reachability import Reachability
from shared.store.tables import StoreTables

log = logging.getLogger("handinhand.store")

Projector = Callable[[AsyncConnection, RecordedEvent], Awaitable[None]]
# Does for a list of appended events what the store's projector does for each, in fewer
# statements (see `Transaction.append_many`).
BatchProjector = Callable[[AsyncConnection, Sequence[RecordedEvent]], Awaitable[None]]

# Streams named in one IN (...) list: well under SQLite's and asyncpg's parameter limits.
_IN_CHUNK = 1000

# The transaction id of the appending transaction, and the oldest one still running: an
# event is safe to read only below that horizon (see docs/architecture.md, "No skipped events").
_PG_TX_ID = sa.text("pg_current_xact_id()::text::bigint")
_PG_HORIZON = sa.text("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")


# Commits are announced on this channel with the schema name (see `announce_commits`).
COMMIT_CHANNEL = "handinhand_events"
# Announcements are coalesced over this long: other relays wake at most this late.
ANNOUNCE_EVERY = 0.01
# How often the announcer looks whether any relay holds the lease (no holder: no one to wake).
LEASE_LOOK_EVERY = 1.0

_EVENT_COLUMNS = (
    "event_id, stream_id, stream_version, event_type, schema_version, data, recorded_at, "
    "correlation_id, causation_id"
)


def _id_text(value: Any) -> str:
    """An id read as stored, in its canonical form: SQLite keeps the 32 hex digits, asyncpg
    hands a UUID of its own (cheap to print)."""
    if isinstance(value, str) and len(value) == 32:
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return str(value)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time we store is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class ConcurrencyError(Exception):
    """The stream changed since it was loaded: reload, decide again, or report a conflict."""

    def __init__(self, stream_id: str, expected: int, actual: int | None) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        found = "a concurrent append" if actual is None else f"version {actual}"
        super().__init__(f"stream {stream_id} expected at version {expected}, found {found}")


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


class _Statements:
    """The hot statements, built once per store (SQLAlchemy then reuses their compiled form)."""

    def __init__(self, events: sa.Table, relay_position: sa.Table, *, postgres: bool) -> None:
        by_stream = events.c.stream_id == sa.bindparam("stream_id")
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
        # Ids as stored, without making UUID objects (`_id_text`): the relay only needs text.
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
            read_log = read_log.where(
                sa.tuple_(events.c.tx_id, events.c.position) > sa.tuple_(after_tx, after_position),
                events.c.tx_id < _PG_HORIZON,
            ).order_by(events.c.tx_id, events.c.position)
        else:
            read_log = read_log.where(events.c.position > after_position).order_by(
                events.c.position
            )
        self.read_log = read_log.limit(sa.bindparam("limit", type_=sa.Integer()))
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
            f"INSERT INTO {table} ({_EVENT_COLUMNS}, tx_id) SELECT *, "
            "pg_current_xact_id()::text::bigint FROM unnest($1::uuid[], $2::text[], $3::int[], "
            "$4::text[], $5::int[], $6::bytea[], $7::timestamptz[], $8::uuid[], $9::uuid[])"
        )
        self.direct_lease_until = f"SELECT max(lease_until) FROM {relay_position.name}"
        self.direct_insert_one = (
            f"INSERT INTO {table} ({_EVENT_COLUMNS}, tx_id) VALUES "
            "($1, $2, $3, $4, $5, $6, $7, $8, $9, pg_current_xact_id()::text::bigint)"
        )


class Stream(NamedTuple):
    version: int
    events: list[RecordedEvent]


class StreamAppend(NamedTuple):
    """One stream's share of `Transaction.append_many`: like the arguments of `append`."""

    stream_id: str
    expected_version: int
    events: Sequence[Event]
    cause: Cause


class EventStore:
    """One service's event log."""

    def __init__(
        self,
        engine: AsyncEngine,
        tables: StoreTables,
        catalog: Catalog,
        source: str,
        clock: Clock,
        projector: Projector | None = None,
    ) -> None:
        self.engine = engine
        self.tables = tables
        self.catalog = catalog
        self.source = source
        self.clock = clock
        self.projector = projector
        self._committed = asyncio.Event()
        self._to_announce = asyncio.Event()
        # Set while this process's relay holds the lease: the in-process doorbell wakes it, and
        # the other instances' relays stand by, so there is no one to announce commits to.
        self.relay_here = False
        self._lease_held = True
        self._lease_seen_at = -LEASE_LOOK_EVERY
        self._commit_listeners: list[Callable[[Sequence[RecordedEvent]], None]] = []
        self._postgres = is_postgres(engine)
        self._statements = _Statements(
            tables.events, tables.relay_position, postgres=self._postgres
        )
        self._writer = None if self._postgres else asyncio.Lock()
        # For connections that only read (`store.reader.connect()`): on SQLite they never
        # take or wait for the write lock.
        self.reader = reading(engine)
        # Whether the database answers: lost on the first failure to reach it, regained when
        # a connection opens or a write transaction commits (shared/store/reachability.py).
        self.reachability = Reachability(source)
        self._asking: asyncio.Future[bool] | None = None
        sa.event.listen(engine.sync_engine, "connect", self._connection_opened)
        pool = engine.pool
        self._direct = (
            DirectConnections(
                engine,
                pool.size() if isinstance(pool, sa.QueuePool) else 10,
                on_open=self.reachability.regained,
            )
            if self._postgres
            else None
        )

    def _connection_opened(self, _dbapi_connection: Any, _record: Any) -> None:
        self.reachability.regained()

    async def answers(self, within: float) -> bool:
        """Whether the database answers a trivial query within `within` seconds (readiness:
        bounded, whatever the driver's own timeouts).

        One question is asked at a time: callers meanwhile wait for the same answer. One that
        takes too long is left to finish (cancelling it would wait for the driver to give up
        on the connection, seconds later): the next caller waits for it again.
        """
        if self._asking is None or self._asking.done():
            self._asking = asyncio.ensure_future(self._select_one())
        done, _ = await asyncio.wait({self._asking}, timeout=within)
        return bool(done) and self._asking.result()

    async def _select_one(self) -> bool:
        try:
            async with self.reader.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception as error:  # not ready, whatever the reason; an outage is logged once
            self.reachability.lost(error)
            return False
        self.reachability.regained()
        return True

    async def close(self) -> None:
        """Close the store's connections (the engine's and the direct ones)."""
        if self._asking is not None:
            self._asking.cancel()
        if self._direct is not None:
            await self._direct.close()
        await self.engine.dispose()

    @property
    def is_postgres(self) -> bool:
        return self._postgres

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction on this service's database.

        SQLite has one writer at a time: this process's writers queue on an asyncio lock
        before taking SQLite's, instead of polling its busy handler, which sleeps in steps of
        up to 100 ms while the lock may long be free.
        """
        if self._writer is None:
            async with self.engine.begin() as conn:
                yield conn
        else:
            async with self._writer, self.engine.begin() as conn:
                yield conn
        self.reachability.regained()  # committed: the database answers

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """One database transaction: loads, appends and read-model changes commit together."""
        async with self.begin() as conn:
            tx = Transaction(self, conn)
            yield tx
            await tx.run_before_commit()
        if tx.appended:
            self._after_commit(tx.appended)

    def _after_commit(self, appended: Sequence[RecordedEvent]) -> None:
        """Events were committed: ring this process's doorbell and have them announced."""
        # Listeners first: a task they wake (the SMS sender) runs before the relay's read.
        for listener in self._commit_listeners:
            listener(appended)
        self._committed.set()
        if self._direct is not None and not self.relay_here:  # PostgreSQL only
            self._to_announce.set()

    async def command(
        self, stream_id: str, decide: Callable[[Stream], Sequence[Event]], cause: Cause
    ) -> list[RecordedEvent]:
        """Load one stream, decide its new events, append them: a command on one stream.

        Raises ConcurrencyError if another writer appended in between (nothing is written);
        `decide` may raise the domain's errors (nothing is written either).

        On PostgreSQL with no inline read model this is two statements on a direct
        connection: the load, then one INSERT that is its own transaction (the unique
        (stream, version) constraint is the concurrency check; both run at READ COMMITTED, as
        in a transaction). With a read model, the append and its projection still commit
        together in one store transaction, after the same load.
        """
        if self._direct is None:
            async with self.transaction() as tx:
                return await tx.append(
                    stream_id, *await _decided(tx.load, stream_id, decide), cause
                )
        async with self._direct.connection() as conn:
            version, events = await _decided(
                lambda stream_id: self._load_direct(conn, stream_id), stream_id, decide
            )
            if events and self.projector is None:
                recorded = await self._insert_direct(conn, stream_id, version, events, cause)
                self._after_commit(recorded)
                return recorded
        if not events:
            return []
        async with self.transaction() as tx:
            tx.know_version(stream_id, version)
            return await tx.append(stream_id, version, events, cause)

    async def _load_direct(self, conn: asyncpg.Connection, stream_id: str) -> Stream:
        loaded = self.stream_events(
            stream_id, await conn.fetch(self._statements.direct_load, stream_id)
        )
        return Stream(loaded[-1].stream_version if loaded else 0, loaded)

    def stream_events(self, stream_id: str, rows: Iterable[Sequence[Any]]) -> list[RecordedEvent]:
        """One stream's rows as loaded (event id, version, type, schema version, data, recorded
        at, correlation id, causation id), decoded."""
        decode = self.catalog.decode
        return [
            RecordedEvent(
                event_id=event_id,
                source=self.source,
                stream_id=stream_id,
                stream_version=stream_version,
                event=decode(event_type, schema_version, data),
                recorded_at=as_utc(recorded_at),
                correlation_id=correlation_id,
                causation_id=causation_id,
            )
            for (
                event_id,
                stream_version,
                event_type,
                schema_version,
                data,
                recorded_at,
                correlation_id,
                causation_id,
            ) in rows
        ]

    async def _insert_direct(
        self,
        conn: asyncpg.Connection,
        stream_id: str,
        version: int,
        events: Sequence[Event],
        cause: Cause,
    ) -> list[RecordedEvent]:
        now = self.clock.now()
        recorded = _recorded(self.source, stream_id, version, events, cause, now)
        rows = [_values(item, now) for item in recorded]
        try:
            if len(rows) == 1:
                await conn.execute(self._statements.direct_insert_one, *rows[0])
            else:
                await conn.execute(
                    self._statements.direct_insert, *map(list, zip(*rows, strict=True))
                )
        except asyncpg.UniqueViolationError as error:
            raise ConcurrencyError(stream_id, version, None) from error
        return recorded

    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[Event], cause: Cause
    ) -> list[RecordedEvent]:
        async with self.transaction() as tx:
            return await tx.append(stream_id, expected_version, events, cause)

    async def load(self, stream_id: str) -> Stream:
        async with self.reader.connect() as conn:
            return await Transaction(self, conn).load(stream_id)

    def on_commit(self, listener: Callable[[Sequence[RecordedEvent]], None]) -> None:
        """Call `listener` with the events appended after each commit of this process that
        appended some (e.g. to wake the SMS sender when messages were queued, instead of waiting
        for its next poll). In the committing task; it may include events of a savepoint that
        was rolled back, so treat it as a hint."""
        self._commit_listeners.append(listener)

    async def announce_commits(self, stop: asyncio.Event) -> None:
        """PostgreSQL: tell the other instances' relays that events were committed.

        NOTIFY is sent after the commit, outside the appending transaction, and coalesced:
        a NOTIFY inside each transaction would make PostgreSQL commit them one at a time.
        """
        direct = self._direct
        if direct is None:
            return
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                announcing = asyncio.ensure_future(self._to_announce.wait())
                await asyncio.wait({announcing, stopping}, return_when=asyncio.FIRST_COMPLETED)
                announcing.cancel()
                if stop.is_set():
                    return
                # Commits arriving meanwhile join this announcement.
                await asyncio.sleep(ANNOUNCE_EVERY)
                self._to_announce.clear()
                try:
                    await self._announce(direct)
                except Exception:  # the other relays' idle re-check covers a lost notice
                    await asyncio.sleep(0.5)
        finally:
            stopping.cancel()

    async def _announce(self, direct: DirectConnections) -> None:
        async with direct.connection() as conn:
            if await self._a_relay_reads(conn):
                await conn.execute("SELECT pg_notify($1, current_schema())", COMMIT_CHANNEL)

    async def _a_relay_reads(self, conn: asyncpg.Connection) -> bool:
        """Whether some instance's relay holds the lease: only the holder reads the log (the
        others take over when it expires, and read everything then). Asked once a second."""
        now = time.monotonic()
        if now - self._lease_seen_at >= LEASE_LOOK_EVERY:
            until = await conn.fetchval(self._statements.direct_lease_until)
            self._lease_held = until is not None and until > self.clock.now()
            self._lease_seen_at = now
        return self._lease_held

    @asynccontextmanager
    async def commits_from_everywhere(self) -> AsyncIterator[None]:
        """PostgreSQL: ring the doorbell on commits by any instance (their announcements).

        The listening connection is opened again whenever it is lost (the database went away),
        and the doorbell rings then, for what was announced meanwhile. SQLite has one writing
        process per file, which rings its own doorbell.
        """
        if not self._postgres:
            yield
            return
        done = asyncio.Event()
        listening = asyncio.create_task(self._listen_for_commits(done), name="commit-listener")
        try:
            yield
        finally:
            done.set()
            await listening

    async def _listen_for_commits(self, done: asyncio.Event) -> None:
        backoff = 0.1
        while not done.is_set():
            try:
                await self._listen_until_lost(done)
                backoff = 0.1
            except Exception as error:  # opened again below; an outage is said once
                if not self.reachability.lost(error):
                    log.warning("%s not listening for commits: %s", self.source, error)
                backoff = min(backoff * 2, 5.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), backoff)

    async def _listen_until_lost(self, done: asyncio.Event) -> None:
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            listener: asyncpg.Connection = raw.driver_connection
            schema = await conn.scalar(sa.text("SELECT current_schema()"))
            # PostgreSQL delivers notifications to a session only between transactions.
            await conn.commit()
            lost = asyncio.Event()

            def ring(*args: Any) -> None:
                if args[3] == schema:
                    self._committed.set()

            def closed(_conn: Any) -> None:
                lost.set()

            listener.add_termination_listener(closed)
            await listener.add_listener(COMMIT_CHANNEL, ring)
            self._committed.set()  # what was announced while nobody listened
            try:
                await _first_of(done, lost)
            finally:
                listener.remove_termination_listener(closed)
                if not listener.is_closed():
                    await listener.remove_listener(COMMIT_CHANNEL, ring)

    async def wait_for_commit(self, timeout: float) -> None:
        """Wake when this process commits an append (the relay's doorbell), or after timeout."""
        try:
            await asyncio.wait_for(self._committed.wait(), timeout)
        except TimeoutError:
            return
        self._committed.clear()

    async def read_log(
        self, conn: AsyncConnection, after: LogPosition, limit: int
    ) -> list[StoredEvent]:
        """Committed events after a position, in an order no late commit can break."""
        statements = self._statements
        rows = await conn.execute(
            statements.read_log,
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
                recorded_at=as_utc(recorded_at),
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

    async def types_before(
        self, conn: AsyncConnection, stream_id: str, version: int
    ) -> dict[str, int]:
        """The latest version of each event type in a stream before `version`."""
        rows = await conn.execute(
            self._statements.types_before, {"stream_id": stream_id, "before": version}
        )
        return {event_type: int(latest) for event_type, latest in sorted(rows, key=lambda r: r[1])}

    def _after(self, after: LogPosition) -> sa.ColumnElement[bool]:
        events = self.tables.events
        if self._postgres:
            return sa.tuple_(events.c.tx_id, events.c.position) > sa.tuple_(*after)
        return events.c.position > after.position

    def _log_order(self) -> tuple[sa.Column[Any], ...]:
        events = self.tables.events
        if self._postgres:
            return (events.c.tx_id, events.c.position)
        return (events.c.position,)

    async def count_after(self, conn: AsyncConnection, after: LogPosition) -> int:
        """How many committed or pending events lie after a position (the outbox lag)."""
        events = self.tables.events
        count = await conn.scalar(
            sa.select(sa.func.count()).select_from(events).where(self._after(after))
        )
        return int(count or 0)

    async def any_after(self, conn: AsyncConnection, after: LogPosition) -> bool:
        """Whether any event, committed or still committing, lies after a position (cheap).

        Ordered as the log index is, so that it is one probe of that index: unordered, with
        LIMIT 1, PostgreSQL scans the whole table when (as usual, the relay being caught up)
        no row matches, ~10 ms at 200,000 events and growing with the log.
        """
        events = self.tables.events
        found = await conn.scalar(
            sa.select(events.c.position)
            .where(self._after(after))
            .order_by(*self._log_order())
            .limit(1)
        )
        return found is not None

    def to_recorded(self, stored: StoredEvent) -> RecordedEvent:
        return RecordedEvent(
            event_id=UUID(stored.event_id),
            source=self.source,
            stream_id=stored.stream_id,
            stream_version=stored.stream_version,
            event=self.catalog.decode(stored.event_type, stored.schema_version, stored.data),
            recorded_at=stored.recorded_at,
            correlation_id=UUID(stored.correlation_id),
            causation_id=None if stored.causation_id is None else UUID(stored.causation_id),
        )


class Transaction:
    """The work of one command or one handled event, inside one database transaction."""

    def __init__(self, store: EventStore, conn: AsyncConnection) -> None:
        self.store = store
        self.conn = conn
        # What this transaction appended, in order (told to the store's commit listeners).
        self.appended: list[RecordedEvent] = []
        self._versions: dict[str, int] = {}
        self._before_commit: list[Callable[[], Awaitable[None]]] = []

    def before_commit(self, work: Callable[[], Awaitable[None]]) -> None:
        """Do `work` at the end of this transaction, just before it commits (in order).

        For work gathered over several steps and written at once, e.g. a consumer handler
        that collects a fetched batch of events. If the transaction fails first, it is not done.
        """
        self._before_commit.append(work)

    async def run_before_commit(self) -> None:
        """Run the deferred work (the store does this; work may defer more)."""
        while self._before_commit:
            work = self._before_commit.pop(0)
            await work()

    def know_version(self, stream_id: str, version: int) -> None:
        """State a stream's version read in this transaction from a read model that the
        appends keep in step (so `append` need not ask again). A version below the real one
        still fails on the unique (stream, version) constraint; never state one from outside."""
        self._versions[stream_id] = version

    async def load(self, stream_id: str, *, after: int = 0) -> Stream:
        """The stream's events, or only those after version `after` (for a caller that keeps
        the state folded up to it); the version is the stream's latest either way."""
        statements = self.store._statements
        if after:
            result = await self.conn.execute(
                statements.load_after, {"stream_id": stream_id, "after": after}
            )
        else:
            result = await self.conn.execute(statements.load, {"stream_id": stream_id})
        loaded = self.store.stream_events(stream_id, result.all())
        version = loaded[-1].stream_version if loaded else after
        self._versions[stream_id] = version
        return Stream(version, loaded)

    async def load_many(self, stream_ids: Sequence[str]) -> dict[str, Stream]:
        """Load several streams in one query per thousand; absent ones come back empty."""
        catalog = self.store.catalog
        source = self.store.source
        found: dict[str, list[RecordedEvent]] = {stream_id: [] for stream_id in stream_ids}
        wanted = list(found)
        for start in range(0, len(wanted), _IN_CHUNK):
            rows = await self.conn.execute(
                self.store._statements.load_many,
                {"stream_ids": wanted[start : start + _IN_CHUNK]},
            )
            for (
                stream_id,
                event_id,
                stream_version,
                event_type,
                schema_version,
                data,
                recorded_at,
                correlation_id,
                causation_id,
            ) in rows:
                found[stream_id].append(
                    RecordedEvent(
                        event_id=event_id,
                        source=source,
                        stream_id=stream_id,
                        stream_version=stream_version,
                        event=catalog.decode(event_type, schema_version, data),
                        recorded_at=as_utc(recorded_at),
                        correlation_id=correlation_id,
                        causation_id=causation_id,
                    )
                )
        streams: dict[str, Stream] = {}
        for stream_id, loaded in found.items():
            version = loaded[-1].stream_version if loaded else 0
            self._versions[stream_id] = version
            streams[stream_id] = Stream(version, loaded)
        return streams

    async def version_of(self, stream_id: str) -> int:
        found = await self.conn.scalar(self.store._statements.version_of, {"stream_id": stream_id})
        return int(found or 0)

    async def append(
        self, stream_id: str, expected_version: int, events: Sequence[Event], cause: Cause
    ) -> list[RecordedEvent]:
        """Append after `expected_version` (0 for a new stream) or raise ConcurrencyError.

        A version this transaction has just loaded needs no second look: the unique
        (stream, version) constraint catches a concurrent writer.
        """
        if not events:
            return []
        if self._versions.get(stream_id) != expected_version:
            actual = await self.version_of(stream_id)
            if actual != expected_version:
                raise ConcurrencyError(stream_id, expected_version, actual)
        now = self.store.clock.now()
        recorded = _recorded(self.store.source, stream_id, expected_version, events, cause, now)
        rows = [_row(item, now) for item in recorded]
        try:
            await self.conn.execute(
                self.store._statements.insert, rows[0] if len(rows) == 1 else rows
            )
        except IntegrityError as error:
            raise ConcurrencyError(stream_id, expected_version, None) from error
        self._versions[stream_id] = recorded[-1].stream_version
        self.appended.extend(recorded)
        if self.store.projector is not None:
            for item in recorded:
                await self.store.projector(self.conn, item)
        return recorded

    async def append_many(
        self, appends: Sequence[StreamAppend], *, projector: BatchProjector | None = None
    ) -> list[RecordedEvent]:
        """`append` to several streams with one INSERT of all their events.

        A stream named again continues where its previous append ends (each append keeps its
        own cause). Versions this transaction does not know yet are checked in one query. All
        or nothing: any stale version raises ConcurrencyError. `projector`, when given, must do
        for the list what the store's projector does for each event; without it that one runs
        per event.
        """
        appends = [item for item in appends if item.events]
        if not appends:
            return []
        opening: dict[str, StreamAppend] = {}
        reached: dict[str, int] = {}
        for item in appends:
            if item.stream_id in reached and reached[item.stream_id] != item.expected_version:
                raise ValueError(f"appends to {item.stream_id} do not follow one another")
            opening.setdefault(item.stream_id, item)
            reached[item.stream_id] = item.expected_version + len(item.events)
        await self._check_versions(list(opening.values()))
        now = self.store.clock.now()
        recorded: list[RecordedEvent] = []
        for item in appends:
            recorded.extend(
                _recorded(
                    self.store.source,
                    item.stream_id,
                    item.expected_version,
                    item.events,
                    item.cause,
                    now,
                )
            )
        try:
            await self.conn.execute(
                self.store._statements.insert, [_row(item, now) for item in recorded]
            )
        except IntegrityError as error:
            first = appends[0]
            stream_id = first.stream_id if len(opening) == 1 else f"one of {len(opening)} streams"
            raise ConcurrencyError(stream_id, first.expected_version, None) from error
        self._versions.update(reached)
        self.appended.extend(recorded)
        if projector is not None:
            await projector(self.conn, recorded)
        elif self.store.projector is not None:
            for event in recorded:
                await self.store.projector(self.conn, event)
        return recorded

    async def _check_versions(self, appends: Sequence[StreamAppend]) -> None:
        """Ask, in one query per thousand, for the versions this transaction does not know."""
        unknown = [
            item for item in appends if self._versions.get(item.stream_id) != item.expected_version
        ]
        actual: dict[str, int] = {}
        for start in range(0, len(unknown), _IN_CHUNK):
            rows = await self.conn.execute(
                self.store._statements.versions_of,
                {"stream_ids": [item.stream_id for item in unknown[start : start + _IN_CHUNK]]},
            )
            actual.update({stream_id: int(version) for stream_id, version in rows})
        for item in unknown:
            found = actual.get(item.stream_id, 0)
            if found != item.expected_version:
                raise ConcurrencyError(item.stream_id, item.expected_version, found)


async def _first_of(*events: asyncio.Event) -> None:
    waiting = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiting:
            waiter.cancel()


async def _decided(
    load: Callable[[str], Awaitable[Stream]],
    stream_id: str,
    decide: Callable[[Stream], Sequence[Event]],
) -> tuple[int, Sequence[Event]]:
    stream = await load(stream_id)
    return stream.version, decide(stream)


def _recorded(
    source: str,
    stream_id: str,
    expected_version: int,
    events: Sequence[Event],
    cause: Cause,
    now: datetime,
) -> list[RecordedEvent]:
    # Ids fixed by the cause keep the cause's time when it has one (an event being handled).
    origin = time_ordered(cause.id_seed)
    return [
        RecordedEvent(
            event_id=(
                derived_id_after(origin, cause.id_seed, stream_id, str(version))
                if cause.id_seed is not None
                else uuid7()
            ),
            source=source,
            stream_id=stream_id,
            stream_version=version,
            event=event,
            recorded_at=now,
            correlation_id=cause.correlation_id,
            causation_id=cause.causation_id,
        )
        for version, event in enumerate(events, start=expected_version + 1)
    ]


_COLUMNS = tuple(_EVENT_COLUMNS.split(", "))


def _values(item: RecordedEvent, now: datetime) -> tuple[Any, ...]:
    """An event row's values, in the order of _EVENT_COLUMNS."""
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


def _row(item: RecordedEvent, now: datetime) -> dict[str, Any]:
    return dict(zip(_COLUMNS, _values(item, now), strict=True))
