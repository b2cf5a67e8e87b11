"""A database that goes away and comes back, for real: PostgreSQL behind a TCP proxy that is
stopped (every connection cut, new ones refused) and started again on the same port; SQLite
with its write lock held by another connection for longer than a writer waits."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from shared.settings import Database
from shared.store.database import create_engine
from shared.store.eventstore import EventStore


def port_to_listen_again() -> int:
    """A free port below the ephemeral range: while nothing listens on it, a client's
    connection attempts can never be given it as their own port (Linux lets a connection to
    a free ephemeral port connect to itself), so it can be listened on again."""
    ranges = Path("/proc/sys/net/ipv4/ip_local_port_range")
    low = int(ranges.read_text().split()[0]) if ranges.exists() else 32768
    while True:
        port = random.randrange(10000, low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a server while it runs."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = port_to_listen_again()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def stop(self) -> None:
        """Refuse new connections and cut every open one."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            self._pipes.discard(task)
            return
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(_copy(reader, up_writer), _copy(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}
            self._pipes.discard(task)
            for end in (writer, up_writer):
                end.transport.abort()


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    sink.transport.abort()


class Outage:
    """`store` is an EventStore on `database` that loses its database between `begin` and
    `end`; everything else keeps reaching it."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._proxy: TcpProxy | None = None
        self._lock: sqlite3.Connection | None = None
        self.url = database.url

    async def open(self) -> None:
        if self.database.is_postgres:
            url = make_url(self.database.url)
            self._proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
            await self._proxy.start()
            proxied = url.set(host="127.0.0.1", port=self._proxy.port)
            self.url = proxied.render_as_string(hide_password=False)

    def store_like(self, other: EventStore) -> EventStore:
        """A store with `other`'s tables and catalog whose connections go through the outage
        (on SQLite, one that waits a fraction of a second for a lock, not 30 s)."""
        engine = create_engine(self.url, self.database.schema, pool_size=2, lock_timeout=0.3)
        return EventStore(
            engine, other.tables, other.catalog, other.source, other.clock, other.projector
        )

    async def begin(self) -> None:
        if self._proxy is not None:
            await self._proxy.stop()
            return
        path = make_url(self.database.url).database
        assert path is not None
        self._lock = sqlite3.connect(path, isolation_level=None)
        self._lock.execute("BEGIN IMMEDIATE")  # no other writer until it ends

    async def end(self) -> None:
        if self._proxy is not None:
            await self._proxy.start()
        elif self._lock is not None:
            self._lock.rollback()
            self._lock.close()
            self._lock = None

    async def close(self) -> None:
        await self.end()
        if self._proxy is not None:
            await self._proxy.stop()
