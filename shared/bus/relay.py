"""The outbox relay: publishes a service's committed events to its JetStream stream, in log
order, exactly as committed, and never skips one that committed late."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime, timedelta

import sqlalchemy as sa
from nats.aio.client import Client

from shared.bus.cloudevents import headers_for, stream_name, subject_for
from shared.bus.prior import PriorVersions
from shared.bus.publisher import Publisher, PublishRejectedError
from shared.store.eventstore import EventStore
from shared.store.log import START, LogPosition, StoredEvent

log = logging.getLogger("handinhand.relay")

RELAY = "relay"
# Yield to the event loop every so many publishes, so that the client's flusher writes them
# and the server starts storing while the rest of the batch is encoded.
_FLUSH_EVERY = 200


class Relay:
    """Only the lease holder among a service's instances publishes; the others stand by."""

    def __init__(
        self,
        store: EventStore,
        nc: Client,
        *,
        owner: str,
        batch_size: int = 2000,
        lease: timedelta = timedelta(seconds=15),
        idle_wait: float = 5.0,
        publish_timeout: float = 10.0,
        save_every: float = 0.5,
    ) -> None:
        self.store = store
        self.publisher = Publisher(nc)
        self.owner = owner
        self.batch_size = batch_size
        self.lease = lease
        self.idle_wait = idle_wait
        self.publish_timeout = publish_timeout
        self.save_every = save_every
        self.published = 0
        # The batch read while the previous one was being acknowledged, and where it starts.
        self._ahead: tuple[LogPosition, list[StoredEvent]] | None = None
        # While this relay holds the lease, it knows its lease and position without asking the
        # database. The position is saved at most every `save_every` seconds: after a crash the
        # next holder re-publishes what followed, and Nats-Msg-Id drops the repeats.
        self._held_until: datetime | None = None
        self._position: LogPosition | None = None
        self._saved: LogPosition | None = None
        self._saved_at = 0.0
        self._prior = PriorVersions()

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.05
        try:
            while not stop.is_set():
                try:
                    if not await self.hold_lease():
                        await _wait(stop, self.lease.total_seconds() / 3)
                        continue
                    sent, behind = await self.publish_once()
                    backoff = 0.05
                    if sent == self.batch_size:
                        continue
                    # Events seen but not yet safe to read (an older transaction is still
                    # open) are retried soon; otherwise sleep until the next commit rings, or
                    # until the position is due to be saved.
                    wait = 0.02 if behind else self.idle_wait
                    if self._position != self._saved:
                        wait = min(wait, self.save_every)
                    await self._sleep_until_commit(stop, wait)
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    if not self.store.reachability.lost(error):  # an outage is said once
                        log.warning(
                            "relay %s paused: %s: %s",
                            self.store.source,
                            type(error).__name__,
                            error,
                        )
                    # Lease and position stay as they are (a batch's position moves only once
                    # all its acks are in): a lost lease shows at the next renewal or save.
                    self._ahead = None
                    self.publisher.abandon()
                    await _wait(stop, backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            await self._save_on_the_way_out()
            self.store.doorbell.relay_here = False

    async def hold_lease(self) -> bool:
        """Take or renew the lease; a lease held with two thirds of it left needs no renewal."""
        now = self.store.clock.now()
        if self._held_until is not None and now < self._held_until - self.lease * 2 / 3:
            return True
        table = self.store.tables.relay_position
        values: dict[str, object] = {"owner": self.owner, "lease_until": now + self.lease}
        if self._held_until is not None and self._position is not None:
            values.update(tx_id=self._position.tx_id, position=self._position.position)
        async with self.store.begin() as conn:
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
                .values(values)
            )
        if taken.rowcount != 1:
            self._forget_lease()
            return False
        if self._held_until is None:
            self._position = None  # newly taken: start from the position in the database
        elif self._position is not None:
            self._mark_saved(self._position)
        self._held_until = now + self.lease
        self.store.doorbell.relay_here = True
        return True

    def _forget_lease(self) -> None:
        self.store.doorbell.relay_here = False
        self._held_until = None
        self._position = None
        self._saved = None
        self._ahead = None

    async def position(self) -> LogPosition:
        """Where publishing stands: known while holding the lease, else as last saved."""
        if self._held_until is not None and self._position is not None:
            return self._position
        table = self.store.tables.relay_position
        async with self.store.reader.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(table.c.tx_id, table.c.position).where(table.c.name == RELAY)
                )
            ).first()
        found = START if row is None else LogPosition(row.tx_id, row.position)
        if self._held_until is not None:
            self._position = found
            self._mark_saved(found)
        return found

    async def lag(self) -> int:
        """Events committed (or still committing) that no consumer has been offered yet."""
        after = await self.position()
        async with self.store.reader.connect() as conn:
            return await self.store.log.count_after(conn, after)

    async def publish_once(self) -> tuple[int, bool]:
        """Publish one batch; return how many went out and whether some are not yet readable."""
        after = await self.position()
        if self._ahead is not None and self._ahead[0] == after:
            batch, behind = self._ahead[1], False
        else:
            batch, behind = await self._read(after)
        self._ahead = None
        if not batch:
            await self._save_if_due()
            return 0, behind
        source = self.store.source
        expected = stream_name(source)
        acks = []
        priors = await self._priors(batch)
        for sent, (stored, prior) in enumerate(zip(batch, priors, strict=True), start=1):
            acks.append(
                await self.publisher.publish(
                    subject_for(source, stored.event_type),
                    stored.data,
                    headers_for(source, stored, prior),
                )
            )
            if sent % _FLUSH_EVERY == 0:
                await asyncio.sleep(0)  # let the client write: the server stores while we encode
        last = batch[-1].log_position
        # Catching up (a full batch): read the next one while the server acknowledges. A full
        # batch read early stays valid, since no event can later appear before its last one
        # (the horizon); a short one is dropped, the next call reads afresh.
        ahead = asyncio.ensure_future(self._read(last)) if len(batch) == self.batch_size else None
        try:
            answers = await asyncio.wait_for(asyncio.gather(*acks), self.publish_timeout)
        finally:
            following = None if ahead is None else await _result_or_none(ahead)
        # Checked here rather than by a Nats-Expected-Stream header on every message (which
        # every consumer would then read too): another stream taking our subjects is a
        # misconfiguration to stop at, loudly, without moving on.
        misplaced = {answer.stream for answer in answers} - {expected}
        if misplaced:
            raise PublishRejectedError(f"events went to {sorted(misplaced)}, not {expected}")
        self._position = last
        await self._save_if_due()
        if following is not None and len(following[0]) == self.batch_size:
            self._ahead = (last, following[0])
        self.published += len(batch)
        return len(batch), behind

    async def _priors(self, batch: list[StoredEvent]) -> list[str]:
        """Each event's ce-priorversions: remembered, or asked of the database on one
        connection, opened only if needed (after a restart, or a stream long quiet)."""
        async with contextlib.AsyncExitStack() as opened:
            conn = None

            async def look_up(stream_id: str, version: int) -> dict[str, int]:
                nonlocal conn
                if conn is None:
                    conn = await opened.enter_async_context(self.store.reader.connect())
                return await self.store.log.types_before(conn, stream_id, version)

            return await self._prior.of_batch(batch, look_up)

    async def _read(self, after: LogPosition) -> tuple[list[StoredEvent], bool]:
        events = self.store.log
        async with self.store.reader.connect() as conn:
            batch = await events.read(conn, after, self.batch_size)
            # Only PostgreSQL has events that are committed but not yet safe to read.
            behind = (
                self.store.is_postgres
                and len(batch) < self.batch_size
                and (await events.any_after(conn, batch[-1].log_position if batch else after))
            )
        return batch, behind

    async def _save(self, to: LogPosition) -> None:
        table = self.store.tables.relay_position
        now = self.store.clock.now()
        async with self.store.begin() as conn:
            moved = await conn.execute(
                table.update()
                .where(table.c.name == RELAY, table.c.owner == self.owner)
                .values(tx_id=to.tx_id, position=to.position, lease_until=now + self.lease)
            )
        if moved.rowcount != 1:
            # Another instance took the lease while we published: it will re-publish from
            # its own position and Nats-Msg-Id de-duplicates the overlap.
            log.info("relay %s lost its lease", self.store.source)
            self._forget_lease()
            return
        self._held_until = now + self.lease
        self._mark_saved(to)

    async def _save_if_due(self) -> None:
        position = self._position
        if (
            position is not None
            and position != self._saved
            and time.monotonic() - self._saved_at >= self.save_every
        ):
            await self._save(position)

    def _mark_saved(self, at: LogPosition) -> None:
        self._saved = at
        self._saved_at = time.monotonic()

    async def _save_on_the_way_out(self) -> None:
        if self._held_until is None or self._position is None or self._position == self._saved:
            return
        try:
            await self._save(self._position)
        except Exception as error:  # the next holder re-publishes; Nats-Msg-Id drops repeats
            log.warning("relay %s could not save its position: %s", self.store.source, error)

    async def _sleep_until_commit(self, stop: asyncio.Event, timeout: float) -> None:
        waiter = asyncio.ensure_future(self.store.doorbell.wait_for_commit(timeout))
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            stopper.cancel()


async def _result_or_none(
    task: asyncio.Future[tuple[list[StoredEvent], bool]],
) -> tuple[list[StoredEvent], bool] | None:
    """A read ahead is only a head start: if it failed, the next call reads again."""
    try:
        return await task
    except Exception as error:
        log.debug("relay read-ahead failed: %s", error)
        return None


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return
