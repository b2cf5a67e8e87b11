"""The relay's doorbell: rung when events are committed, so that a resting relay reads now
rather than at its next idle check.

This process's commits ring it at once. On PostgreSQL other instances announce theirs
(NOTIFY, coalesced, and only while some instance's relay holds the lease) and every instance
listens for them (LISTEN); SQLite has one writing process per file, which rings its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.clock import Clock
from shared.store.direct import DirectConnections
from shared.store.reachability import Reachability
from shared.store.statements import Statements

log = logging.getLogger("handinhand.store")

# Commits are announced on this channel with the schema name (see `announce_commits`).
COMMIT_CHANNEL = "handinhand_events"
# Announcements are coalesced over this long: other relays wake at most this late.
ANNOUNCE_EVERY = 0.01
# How often the announcer looks whether any relay holds the lease (no holder: no one to wake).
LEASE_LOOK_EVERY = 1.0


class Doorbell:
    """One store's doorbell (`store.doorbell`)."""

    def __init__(
        self,
        engine: AsyncEngine,
        statements: Statements,
        clock: Clock,
        source: str,
        reachability: Reachability,
        direct: DirectConnections | None,
        *,
        postgres: bool,
    ) -> None:
        self._engine = engine
        self._statements = statements
        self._clock = clock
        self._source = source
        self._reachability = reachability
        self._direct = direct
        self._postgres = postgres
        self._committed = asyncio.Event()
        self._to_announce = asyncio.Event()
        # Set while this process's relay holds the lease: the in-process doorbell wakes it, and
        # the other instances' relays stand by, so there is no one to announce commits to.
        self.relay_here = False
        self._lease_held = True
        self._lease_seen_at = -LEASE_LOOK_EVERY

    def committed(self) -> None:
        """Events were committed here: ring this process's doorbell and have them announced."""
        self._committed.set()
        if self._direct is not None and not self.relay_here:  # PostgreSQL only
            self._to_announce.set()

    async def wait_for_commit(self, timeout: float) -> None:
        """Wake when this process commits an append (the relay's doorbell), or after timeout."""
        try:
            await asyncio.wait_for(self._committed.wait(), timeout)
        except TimeoutError:
            return
        self._committed.clear()

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
            self._lease_held = until is not None and until > self._clock.now()
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
                if not self._reachability.lost(error):
                    log.warning("%s not listening for commits: %s", self._source, error)
                backoff = min(backoff * 2, 5.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), backoff)

    async def _listen_until_lost(self, done: asyncio.Event) -> None:
        async with self._engine.connect() as conn:
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


async def _first_of(*events: asyncio.Event) -> None:
    waiting = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiting:
            waiter.cancel()
