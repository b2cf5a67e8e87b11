"""Engines for the two databases we support: PostgreSQL (a schema per service) and SQLite
(a file per service)."""

from __future__ import annotations

from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shared.store import sqlite_inline
from shared.store.reachability import DatabaseUnreachableError

# How long opening a PostgreSQL connection may take (asyncpg waits 60 s by default): while the
# server is away, a request fails with 503 after this long at most, not after a minute.
CONNECT_WITHIN = 5.0


def async_url(url: str) -> sa.URL:
    """Accept plain `postgresql://` and `sqlite:///` URLs and pick the async driver."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg")
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    raise ValueError(f"unsupported database {parsed.get_backend_name()!r}")


def is_postgres(
    engine: AsyncEngine | sa.Connection | AsyncConnection,
) -> bool:
    return engine.dialect.name == "postgresql"


def create_engine(
    url: str, schema: str, *, pool_size: int = 10, lock_timeout: float = 30.0
) -> AsyncEngine:
    """An engine whose connections see only this service's tables.

    PostgreSQL: `search_path` is the service's schema, so models and migrations stay
    schema-free and tests can use a throwaway schema. SQLite: every transaction starts with
    BEGIN IMMEDIATE, so a read-then-write transaction never fails to upgrade its lock
    (connections from `reading(engine)` begin DEFERRED: they only read), and a statement
    waits up to `lock_timeout` seconds for another connection's lock.
    """
    target = async_url(url)
    if target.get_backend_name() == "postgresql":
        dsn = postgres_dsn(target)
        engine = create_async_engine(
            target,
            pool_size=pool_size,
            max_overflow=pool_size,
            async_creator=lambda: connect_postgres(dsn, schema),
        )
        _drop_closed_connections(engine)
        return engine
    # SQLite runs on the event loop's thread (shared/store/sqlite_inline.py), waiting up to
    # `lock_timeout` for another connection's lock without blocking the loop.
    engine = create_async_engine(
        target,
        async_creator=sqlite_inline.connector(target.database or "", timeout=lock_timeout),
    )
    _make_sqlite_transactional(engine)
    return engine


def postgres_dsn(url: sa.URL) -> str:
    """The URL as asyncpg reads it (no SQLAlchemy driver name)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def connect_postgres(dsn: str, search_path: str) -> asyncpg.Connection:
    """Open one connection (the engine's and the store's direct ones alike), within
    CONNECT_WITHIN; a server that is away raises DatabaseUnreachableError."""
    try:
        return await asyncpg.connect(
            dsn, server_settings={"search_path": search_path}, timeout=CONNECT_WITHIN
        )
    except (  # refused, reset, no answer in time (TimeoutError), starting up or shutting down
        OSError,
        asyncpg.PostgresConnectionError,
        asyncpg.CannotConnectNowError,
        asyncpg.AdminShutdownError,
        asyncpg.TooManyConnectionsError,
    ) as error:
        raise DatabaseUnreachableError(f"cannot connect to PostgreSQL: {error}") from error


def _drop_closed_connections(engine: AsyncEngine) -> None:
    """A pooled connection the server closed (a restart, a network cut) is never handed out:
    checking out looks whether asyncpg saw it close, and if so the pool opens a fresh one.

    Free, unlike SQLAlchemy's `pool_pre_ping`, which costs three round trips per checkout
    on asyncpg (BEGIN, a ping, ROLLBACK). A connection that died without the server saying
    so is caught by the first statement on it: SQLAlchemy then drops the whole pool's.
    """

    @sa.event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise sa.exc.DisconnectionError("the server closed this connection")


def _make_sqlite_transactional(engine: AsyncEngine) -> None:
    @sa.event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=0")  # the driver waits, off the loop
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # A writer takes the lock up front; a reader (see `reading`) takes none and sees the
        # last commit, since WAL readers neither wait for writers nor hold them up.
        if connection.get_execution_options().get(_READ_ONLY, False):
            connection.exec_driver_sql("BEGIN DEFERRED")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


_READ_ONLY = "handinhand_read_only"


async def one_snapshot(conn: AsyncConnection) -> AsyncConnection:
    """`conn`, before its first statement, made to read every statement from one snapshot.

    PostgreSQL's default (READ COMMITTED) takes a new snapshot per statement, so a view read in
    two statements (a slot, then its assignments) can show half of a commit in between: an
    accepted assignment on a slot not yet staffed. SQLite's deferred read transaction holds one
    snapshot already."""
    if conn.dialect.name == "postgresql":
        return await conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


def reading(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (and pool) for connections that only read.

    SQLite: their transactions are deferred, so they never queue for the write lock. Any
    writer must use the engine itself (`engine.begin()`), whose transactions begin IMMEDIATE.
    """
    return engine.execution_options(**{_READ_ONLY: True})
