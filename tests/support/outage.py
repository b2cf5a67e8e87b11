"""A database that goes away and comes back, for real: PostgreSQL behind the TCP proxy of
tests/support/proxy.py, cut (every connection dropped, new ones refused) and restored on the
same port; SQLite with its write lock held by another connection for longer than a writer waits."""

from __future__ import annotations

import sqlite3

from sqlalchemy.engine import make_url

from shared.settings import Database
from shared.store.database import create_engine
from shared.store.eventstore import EventStore
from tests.support.proxy import Proxy


class Outage:
    """`store` is an EventStore on `database` that loses its database between `begin` and
    `end`; everything else keeps reaching it."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._proxy: Proxy | None = None
        self._lock: sqlite3.Connection | None = None
        self.url = database.url

    async def open(self) -> None:
        if self.database.is_postgres:
            url = make_url(self.database.url)
            self._proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
            self._proxy.start()
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
            self._proxy.cut()
            return
        path = make_url(self.database.url).database
        assert path is not None
        self._lock = sqlite3.connect(path, isolation_level=None)
        self._lock.execute("BEGIN IMMEDIATE")  # no other writer until it ends

    async def end(self) -> None:
        if self._proxy is not None:
            self._proxy.restore()
        elif self._lock is not None:
            self._lock.rollback()
            self._lock.close()
            self._lock = None

    async def close(self) -> None:
        await self.end()
        if self._proxy is not None:
            self._proxy.stop()
