"""SQLite run on the event loop's own thread, behind the interface SQLAlchemy's aiosqlite
dialect expects.

aiosqlite hands every call to a thread of its own and back, about 190 µs of CPU per
statement, for statements that take a few microseconds: in WAL mode with
`synchronous=NORMAL` a commit does not wait for the disk. What can wait is a lock held by
another connection; SQLite is told not to wait (busy timeout 0), and the statement is retried
here after an asyncio sleep, so the loop is never blocked on a lock. A statement that failed
as busy did nothing, so running it again is safe.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Self, TypeVar

T = TypeVar("T")

_BUSY = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_FIRST_PAUSE = 0.0005
_LONGEST_PAUSE = 0.02


async def _unless_busy(call: Callable[[], T], timeout: float) -> T:
    pause = _FIRST_PAUSE
    deadline: float | None = None
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if getattr(error, "sqlite_errorcode", None) not in _BUSY:
                raise
            now = asyncio.get_running_loop().time()
            deadline = deadline if deadline is not None else now + timeout
            if now >= deadline:
                raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE)


class Cursor:
    """The async face of one sqlite3 cursor."""

    def __init__(self, cursor: sqlite3.Cursor, timeout: float) -> None:
        self._cursor = cursor
        self._timeout = timeout

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Cursor:
        cursor = self._cursor
        values = () if parameters is None else parameters
        await _unless_busy(lambda: cursor.execute(sql, values), self._timeout)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Cursor:
        cursor = self._cursor
        rows = list(parameters)
        await _unless_busy(lambda: cursor.executemany(sql, rows), self._timeout)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _RunNow:
    """Stands in for aiosqlite's queue to its thread: SQLAlchemy sets the isolation level by
    putting (future, function) on it."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:  # handed to whoever awaits the future
            future.set_exception(error)


class Connection:
    """The async face of one sqlite3 connection (the parts SQLAlchemy uses)."""

    def __init__(self, connection: sqlite3.Connection, timeout: float) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._timeout = timeout
        self._tx = _RunNow()

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> Cursor:
        return Cursor(self._conn.cursor(), self._timeout)

    async def commit(self) -> None:
        connection = self._conn
        await _unless_busy(connection.commit, self._timeout)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()


def connector(path: str, *, timeout: float) -> Callable[[], Any]:
    """An `async_creator` for SQLAlchemy: opens `path` in autocommit mode (SQLAlchemy
    issues BEGIN itself) with SQLite's own waiting off."""

    async def connect() -> Connection:
        connection = sqlite3.connect(path, timeout=0, isolation_level=None)
        return Connection(connection, timeout)

    return connect
