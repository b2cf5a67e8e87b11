"""Engines for the two databases we support: PostgreSQL (a schema per service) and SQLite
(a file per service)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shared.store import sqlite_inline


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
        return create_async_engine(
            target,
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"server_settings": {"search_path": schema}},
        )
    # SQLite runs on the event loop's thread (shared/store/sqlite_inline.py), waiting for
    # another connection's lock without blocking the loop.
    engine = create_async_engine(
        target,
        async_creator=sqlite_inline.connector(target.database or "", timeout=lock_timeout),
    )
    _make_sqlite_transactional(engine)
    return engine


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


def reading(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (and pool) for connections that only read.

    SQLite: their transactions are deferred, so they never queue for the write lock. Any
    writer must use the engine itself (`engine.begin()`), whose transactions begin IMMEDIATE.
    """
    return engine.execution_options(**{_READ_ONLY: True})
