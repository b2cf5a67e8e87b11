"""asyncpg connections of a PostgreSQL store, outside SQLAlchemy, for the hottest paths.

Checking a connection out of SQLAlchemy's async pool costs about 150 µs of Python, which is
most of a command that needs only two short statements; asyncpg's own pool still costs ~35 µs
(a task per release, a reset round trip unless told otherwise). These connections see the same
database and search path as the store's engine, are opened on demand and only ever run
autocommitted statements that change no session state, so a connection is simply handed back.

On them, `EventStore.command` loads a stream and appends to it (`fetch_stream`, `insert_events`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.store.database import connect_postgres, postgres_dsn

if TYPE_CHECKING:
    from shared.store.statements import Statements


class DirectConnections:
    """At most `size` asyncpg connections beside a store's engine (PostgreSQL only)."""

    def __init__(
        self, engine: AsyncEngine, size: int, *, on_open: Callable[[], None] = lambda: None
    ) -> None:
        self._engine = engine
        self._on_open = on_open  # a connection opened: the database answers
        self._slots = asyncio.Semaphore(max(1, size))
        self._idle: list[asyncpg.Connection] = []
        self._dsn: tuple[str, str] | None = None
        self._closed = False

    def connection(self) -> _Borrowed:
        """`async with store_connections.connection() as conn:` one connection, returned after."""
        return _Borrowed(self)

    async def _take(self) -> asyncpg.Connection:
        await self._slots.acquire()
        try:
            while self._idle:
                conn = self._idle.pop()
                if not conn.is_closed():
                    return conn
            return await self._open()
        except BaseException:
            self._slots.release()
            raise

    def _give_back(self, conn: asyncpg.Connection, *, healthy: bool) -> None:
        self._slots.release()
        if healthy and not self._closed and not conn.is_closed() and not conn.is_in_transaction():
            self._idle.append(conn)
        else:
            conn.terminate()

    async def _open(self) -> asyncpg.Connection:
        if self._dsn is None:
            # The engine knows the search path it was given (the service's schema); ask once.
            async with self._engine.connect() as conn:
                search_path = await conn.scalar(sa.text("SELECT current_setting('search_path')"))
            self._dsn = (postgres_dsn(self._engine.url), str(search_path))
        conn = await connect_postgres(*self._dsn)
        self._on_open()
        return conn

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()


class _Borrowed:
    """One connection for the length of an `async with`. A statement the server refused
    leaves it usable (autocommit); any other failure (cancelled, connection lost) drops it."""

    def __init__(self, connections: DirectConnections) -> None:
        self._connections = connections
        self._conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        self._conn = await self._connections._take()
        return self._conn

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        _error: BaseException | None,
        _trace: TracebackType | None,
    ) -> None:
        if self._conn is not None:
            healthy = kind is None or issubclass(kind, asyncpg.PostgresError)
            self._connections._give_back(self._conn, healthy=healthy)
            self._conn = None


async def fetch_stream(
    conn: asyncpg.Connection, statements: Statements, stream_id: str
) -> list[asyncpg.Record]:
    """A stream's rows as `Statements.load` reads them (decoded by `recorded_from_row`)."""
    rows: list[asyncpg.Record] = await conn.fetch(statements.direct_load, stream_id)
    return rows


async def insert_events(
    conn: asyncpg.Connection, statements: Statements, rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert event rows (`event_values`) in one statement, its own transaction; raises
    asyncpg.UniqueViolationError if one of their (stream, version) is taken."""
    if len(rows) == 1:
        await conn.execute(statements.direct_insert_one, *rows[0])
    else:
        await conn.execute(statements.direct_insert, *map(list, zip(*rows, strict=True)))
