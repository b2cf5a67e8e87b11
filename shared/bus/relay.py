"""The outbox relay: publishes a service's committed events to its JetStream stream, in log
order, exactly as committed, and never skips one that committed late."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import sqlalchemy as sa
from nats.js.client import JetStreamContext

from shared.bus.cloudevents import headers_for, stream_name, subject_for
from shared.store.eventstore import START, EventStore, LogPosition

log = logging.getLogger("handinhand.relay")

RELAY = "relay"


class Relay:
    """Only the lease holder among a service's instances publishes; the others stand by."""

    def __init__(
        self,
        store: EventStore,
        js: JetStreamContext,
        *,
        owner: str,
        batch_size: int = 2000,
        lease: timedelta = timedelta(seconds=15),
        idle_wait: float = 5.0,
        publish_timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.js = js
        self.owner = owner
        self.batch_size = batch_size
        self.lease = lease
        self.idle_wait = idle_wait
        self.publish_timeout = publish_timeout
        self.published = 0

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.05
        while not stop.is_set():
            try:
                if not await self.hold_lease():
                    await _wait(stop, self.lease.total_seconds() / 3)
                    continue
                sent, behind = await self.publish_once()
                backoff = 0.05
                if sent == self.batch_size:
                    continue
                # Events seen but not yet safe to read (an older transaction is still open)
                # are retried soon; otherwise sleep until the next commit rings.
                await self._sleep_until_commit(stop, 0.02 if behind else self.idle_wait)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("relay %s paused: %s", self.store.source, error)
                await _wait(stop, backoff)
                backoff = min(backoff * 2, 5.0)

    async def hold_lease(self) -> bool:
        table = self.store.tables.relay_position
        now = self.store.clock.now()
        async with self.store.engine.begin() as conn:
            exists = await conn.scalar(sa.select(table.c.name).where(table.c.name == RELAY))
            if exists is None:
                await conn.execute(
                    table.insert().values(name=RELAY, tx_id=START.tx_id, position=START.position)
                )
            taken = await conn.execute(
                table.update()
                .where(
                    table.c.name == RELAY,
                    sa.or_(
                        table.c.owner == self.owner,
                        table.c.owner.is_(None),
                        table.c.lease_until < now,
                    ),
                )
                .values(owner=self.owner, lease_until=now + self.lease)
            )
            return taken.rowcount == 1

    async def position(self) -> LogPosition:
        table = self.store.tables.relay_position
        async with self.store.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(table.c.tx_id, table.c.position).where(table.c.name == RELAY)
                )
            ).first()
        return START if row is None else LogPosition(row.tx_id, row.position)

    async def lag(self) -> int:
        """Events committed (or still committing) that no consumer has been offered yet."""
        after = await self.position()
        async with self.store.engine.connect() as conn:
            return await self.store.count_after(conn, after)

    async def publish_once(self) -> tuple[int, bool]:
        """Publish one batch; return how many went out and whether some are not yet readable."""
        after = await self.position()
        async with self.store.engine.connect() as conn:
            batch = await self.store.read_log(conn, after, self.batch_size)
            behind = len(batch) < self.batch_size and (
                await self.store.count_after(conn, batch[-1].log_position if batch else after) > 0
            )
        if not batch:
            return 0, behind
        source = self.store.source
        expected = stream_name(source)
        acks = [
            await self.js.publish_async(
                subject_for(source, stored.event_type),
                stored.data,
                headers=headers_for(source, stored),
                stream=expected,
            )
            for stored in batch
        ]
        await asyncio.wait_for(asyncio.gather(*acks), self.publish_timeout)
        await self._advance(batch[-1].log_position)
        self.published += len(batch)
        return len(batch), behind

    async def _advance(self, to: LogPosition) -> None:
        table = self.store.tables.relay_position
        async with self.store.engine.begin() as conn:
            moved = await conn.execute(
                table.update()
                .where(table.c.name == RELAY, table.c.owner == self.owner)
                .values(
                    tx_id=to.tx_id,
                    position=to.position,
                    lease_until=self.store.clock.now() + self.lease,
                )
            )
        if moved.rowcount != 1:
            # Another instance took the lease while we published: it will re-publish from
            # its own position and Nats-Msg-Id de-duplicates the overlap.
            log.info("relay %s lost its lease", self.store.source)

    async def _sleep_until_commit(self, stop: asyncio.Event, timeout: float) -> None:
        waiter = asyncio.ensure_future(self.store.wait_for_commit(timeout))
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            stopper.cancel()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return
