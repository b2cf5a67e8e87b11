"""Append and read event streams with optimistic concurrency, on PostgreSQL or SQLite.

The events table is also the outbox: a committed event is what the relay publishes. Inline
read-model changes run in the same transaction as the append (the service's projector).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import asyncpg
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.clock import Clock
from shared.events.base import Cause, Event, RecordedEvent
from shared.events.catalog import Catalog
from shared.ids import derived_id_after, time_ordered, uuid7
from shared.store.database import is_postgres, reading
from shared.store.direct import DirectConnections, fetch_stream, insert_events
from shared.store.doorbell import Doorbell
from shared.store.log import EventLog, recorded_from_row
from shared.store.reachability import Reachability
from shared.store.statements import Statements, event_row, event_values
from shared.store.tables import StoreTables

if TYPE_CHECKING:
    from shared.personal.datakey import DataKey
    from shared.personal.guard import PersonalData

Projector = Callable[[AsyncConnection, RecordedEvent], Awaitable[None]]
# Does for a list of appended events what the store's projector does for each, in fewer
# statements (see `Transaction.append_many`).
BatchProjector = Callable[[AsyncConnection, Sequence[RecordedEvent]], Awaitable[None]]

# Streams named in one IN (...) list: well under SQLite's and asyncpg's parameter limits.
_IN_CHUNK = 1000


class ConcurrencyError(Exception):
    """The stream changed since it was loaded: reload, decide again, or report a conflict."""

    def __init__(self, stream_id: str, expected: int, actual: int | None) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        found = "a concurrent append" if actual is None else f"version {actual}"
        super().__init__(f"stream {stream_id} expected at version {expected}, found {found}")


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
        # Seals the personal values of appended events and opens them on reading
        # (shared/personal/guard.py); None for a service that keeps no personal data.
        self.personal: PersonalData | None = None
        self._commit_listeners: list[Callable[[Sequence[RecordedEvent]], None]] = []
        self._postgres = is_postgres(engine)
        self._statements = Statements(tables.events, tables.relay_position, postgres=self._postgres)
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
        # What the relay reads, and what wakes it.
        self.log = EventLog(
            tables.events, self._statements, catalog, source, postgres=self._postgres
        )
        self.doorbell = Doorbell(
            engine,
            self._statements,
            clock,
            source,
            self.reachability,
            self._direct,
            postgres=self._postgres,
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
        if self.personal is not None and tx.fresh_keys:
            self.personal.committed(tx.fresh_keys)
        if tx.appended:
            self._after_commit(tx.appended)

    def _after_commit(self, appended: Sequence[RecordedEvent]) -> None:
        """Events were committed: tell the commit listeners, ring the relay's doorbell."""
        # Listeners first: a task they wake (the SMS sender) runs before the relay's read.
        for listener in self._commit_listeners:
            listener(appended)
        self.doorbell.committed()

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
            if events and self.projector is None and self.personal is None:
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
            stream_id, await fetch_stream(conn, self._statements, stream_id)
        )
        if self.personal is not None:
            loaded = await self.personal.opened(loaded)
        return Stream(loaded[-1].stream_version if loaded else 0, loaded)

    def stream_events(self, stream_id: str, rows: Iterable[Sequence[Any]]) -> list[RecordedEvent]:
        """One stream's rows as loaded (event id, version, type, schema version, data, recorded
        at, correlation id, causation id), decoded."""
        source = self.source
        catalog = self.catalog
        return [recorded_from_row(source, catalog, stream_id, row) for row in rows]

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
        try:
            await insert_events(
                conn, self._statements, [event_values(item, now) for item in recorded]
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


class Transaction:
    """The work of one command or one handled event, inside one database transaction."""

    def __init__(self, store: EventStore, conn: AsyncConnection) -> None:
        self.store = store
        self.conn = conn
        # What this transaction appended, in order (told to the store's commit listeners).
        self.appended: list[RecordedEvent] = []
        self._versions: dict[str, int] = {}
        self._before_commit: list[Callable[[], Awaitable[None]]] = []
        # Data keys this transaction made or read: held by the store once it commits.
        self.fresh_keys: dict[str, DataKey] = {}

    async def _sealed(self, recorded: list[RecordedEvent]) -> Sequence[RecordedEvent]:
        personal = self.store.personal
        if personal is None:
            return recorded
        return await personal.sealed(self.conn, recorded, self.fresh_keys)

    async def _opened(self, loaded: list[RecordedEvent]) -> list[RecordedEvent]:
        personal = self.store.personal
        if personal is None:
            return loaded
        return await personal.opened(loaded, self.conn, self.fresh_keys)

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
        loaded = await self._opened(self.store.stream_events(stream_id, result.all()))
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
            for stream_id, *row in rows:
                found[stream_id].append(recorded_from_row(source, catalog, stream_id, row))
        if self.store.personal is not None:
            every = await self._opened([item for loaded in found.values() for item in loaded])
            opened = iter(every)
            found = {stream_id: [next(opened) for _ in items] for stream_id, items in found.items()}
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
        rows = [event_row(item, now) for item in await self._sealed(recorded)]
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
                self.store._statements.insert,
                [event_row(item, now) for item in await self._sealed(recorded)],
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
