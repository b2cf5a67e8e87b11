"""What runs inside one service process besides HTTP: the database, the NATS connection, the
outbox relay and the consumers. Each service's app factory builds one and hands it to Litestar."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import nats
import sqlalchemy as sa
from nats.aio.client import Client
from nats.js.client import JetStreamContext

from shared.bus.consumer import Consumer, Subscription
from shared.bus.listener import Hearing, Listener
from shared.bus.relay import Relay
from shared.bus.streams import ensure_stream
from shared.clock import Clock
from shared.events.catalog import Catalog
from shared.personal.guard import PersonalData
from shared.personal.keystore import PersonKeys
from shared.personal.owners import HttpKeyOwner
from shared.settings import Settings
from shared.store.database import create_engine
from shared.store.eventstore import EventStore, Projector
from shared.store.tables import StoreTables
from shared.store.timers import Timer, TimerHandler, TimerRunner
from shared.web.revocations import Revocations

if TYPE_CHECKING:
    from shared.web.metrics import Metric

log = logging.getLogger("handinhand.runtime")

Worker = Callable[[asyncio.Event], Coroutine[Any, Any, None]]

# Readiness answers within this many seconds: a database that does not answer by then is not
# ready (probes of orchestrators time out after about a second).
READY_WITHIN = 1.0


async def _no_metrics() -> list[Metric]:
    return []


@dataclass(frozen=True)
class ServiceParts:
    """What a service's data is: its tables, read models and timers. Static, so the CLI's
    rebuild and the migrations need nothing else."""

    name: str
    metadata: sa.MetaData
    tables: StoreTables
    projector: Projector | None = None
    read_models: Sequence[sa.Table] = ()
    # Durable timers (shared.store.timers): the table; what firing one does is in ServiceWork.
    timers: sa.Table | None = None
    # The people this service owns: their data keys (shared/personal/), None when it owns none.
    person_keys: sa.Table | None = None
    # The services whose people's values this service opens (asking them for data keys).
    opens_people_of: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceWork:
    """What a service runs beside HTTP, built by its `parts.work(context)` from the service's
    typed context. Functions, because workers need the store, which opens with the lifespan."""

    subscriptions: Callable[[], list[Subscription]] = list
    # What each instance hears on its own (shared/bus/listener.py), e.g. revoked tokens.
    hearings: Callable[[], list[Hearing]] = list
    # Per timer kind, what firing one does.
    timer_handlers: Callable[[], dict[str, TimerHandler]] = dict
    # Timers that always exist (the daily retention run), planted at start unless set.
    standing_timers: Callable[[], list[Timer]] = list
    # Other background loops of the service (e.g. the SMS sender); each runs until `stop`.
    workers: Callable[[], list[Worker]] = list
    # What /metrics shows beside the shared metrics (e.g. SMS stuck in sending); each value
    # comes from a cheap, indexed query of the service's own tables.
    metrics: Callable[[], Awaitable[list[Metric]]] = _no_metrics


@dataclass
class Runtime:
    settings: Settings
    parts: ServiceParts
    catalog: Catalog
    clock: Clock
    instance: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    run_relay: bool = True
    run_consumers: bool = True
    run_workers: bool = True
    # Token ids this process refuses, fed by the hearing of shared/web/revocation_feed.py.
    revocations: Revocations = field(default_factory=Revocations)
    # The person a phone number's values are sealed for, when the service seals by number
    # (notifications: `phone-<keyed hash>`); set by its app factory.
    phone_person: Callable[[str], str] | None = None
    store: EventStore = field(init=False)
    nc: Client | None = field(default=None, init=False)
    js: JetStreamContext | None = field(default=None, init=False)
    relay: Relay | None = field(default=None, init=False)
    timer_runner: TimerRunner | None = field(default=None, init=False)
    consumers: list[Consumer] = field(default_factory=list, init=False)
    listeners: list[Listener] = field(default_factory=list, init=False)
    _stop: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)

    @property
    def name(self) -> str:
        return self.parts.name

    def open_store(self) -> EventStore:
        database = self.settings.database(self.name)
        engine = create_engine(database.url, database.schema)
        self.store = EventStore(
            engine, self.parts.tables, self.catalog, self.name, self.clock, self.parts.projector
        )
        if self.parts.person_keys is not None or self.parts.opens_people_of:
            self.store.personal = personal_data(
                self.settings, self.parts, self.store, self.clock, self.phone_person
            )
        return self.store

    @contextlib.asynccontextmanager
    async def lifespan(self, work: ServiceWork) -> AsyncIterator[None]:
        """Open everything on start-up; on shutdown stop taking work, finish it, then close."""
        self.open_store()
        self._stop.clear()
        self._tasks.append(asyncio.create_task(self._connect_and_work(work), name="bus"))
        if self.run_workers:
            self._start_workers(work)
        try:
            yield
        finally:
            self._stop.set()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._tasks.clear()
            if self.nc is not None and not self.nc.is_closed:
                with contextlib.suppress(Exception):
                    await self.nc.drain()
            if self.store.personal is not None:
                await self.store.personal.close()
            await self.store.close()

    def _start_workers(self, work: ServiceWork) -> None:
        """Timers and the service's own loops need only the database, not NATS."""
        if self.parts.timers is not None:
            handlers = work.timer_handlers()
            if handlers:
                self.timer_runner = TimerRunner(
                    self.store, self.parts.timers, handlers, standing=work.standing_timers()
                )
                self._tasks.append(
                    asyncio.create_task(self.timer_runner.run(self._stop), name="timers")
                )
        for worker in work.workers():
            self._tasks.append(asyncio.create_task(worker(self._stop)))

    async def _connect_and_work(self, work: ServiceWork) -> None:
        """Connect to NATS (retrying while it is down), then run the relay and consumers."""
        # Known before connecting, so the instance is not ready until they have caught up.
        self.listeners = [Listener(self.catalog, hearing) for hearing in work.hearings()]
        url = self.settings.nats_url or "nats://127.0.0.1:4222"
        delay = 0.2
        while not self._stop.is_set():
            try:
                self.nc = await nats.connect(
                    servers=[server.strip() for server in url.split(",")],
                    name=f"{self.name}-{self.instance}",
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                    allow_reconnect=True,
                )
                break
            except Exception as error:
                log.warning("NATS at %s unreachable (%s); retrying", url, error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                delay = min(delay * 2, 5.0)
        if self.nc is None:
            return
        self.js = self.nc.jetstream()
        subscriptions = work.subscriptions()
        sources = {s.source for s in subscriptions} | {h.hearing.source for h in self.listeners}
        await self._ensure_streams({self.name} | sources)
        running: list[asyncio.Task[None]] = []
        if self.run_relay:
            self.relay = Relay(self.store, self.nc, owner=self.instance)
            running.append(asyncio.create_task(self.store.doorbell.announce_commits(self._stop)))
            running.append(asyncio.create_task(self._relay_with_doorbell(self.relay), name="relay"))
        if self.run_consumers:
            for subscription in subscriptions:
                consumer = Consumer(self.store, self.nc, subscription)
                self.consumers.append(consumer)
                running.append(asyncio.create_task(consumer.run(self._stop), name=consumer.name))
        running.extend(
            asyncio.create_task(listener.run(self.js, self._stop), name=listener.hearing.name)
            for listener in self.listeners
        )
        await asyncio.gather(*running)

    async def _ensure_streams(self, sources: set[str]) -> None:
        assert self.js is not None
        while not self._stop.is_set():
            try:
                for source in sorted(sources):
                    await ensure_stream(
                        self.js,
                        source,
                        self.settings.stream_replicas,
                        self.settings.retention.stream_max_age(source),
                    )
            except Exception as error:
                log.warning("cannot set up JetStream streams yet: %s", error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 1.0)
            else:
                return

    async def _relay_with_doorbell(self, relay: Relay) -> None:
        async with self.store.doorbell.commits_from_everywhere():
            await relay.run(self._stop)

    async def nats_ready(self) -> bool:
        """Connected, and whatever this instance replays at its start (revoked tokens) heard."""
        connected = self.nc is not None and self.nc.is_connected
        return connected and all(listener.caught_up.is_set() for listener in self.listeners)

    def database_lost(self, error: BaseException) -> bool:
        """Whether `error` is the database out of reach (said once per outage)."""
        return self.store.reachability.lost(error)

    async def database_ready(self) -> bool:
        return await self.store.answers(within=READY_WITHIN)

    async def parked_count(self) -> int:
        table = self.store.tables.dead_letters
        async with self.store.reader.connect() as conn:
            found = await conn.scalar(
                sa.select(sa.func.count()).select_from(table).where(table.c.redriven_at.is_(None))
            )
        return int(found or 0)


def personal_data(
    settings: Settings,
    parts: ServiceParts,
    store: EventStore,
    clock: Clock,
    phone_person: Callable[[str], str] | None = None,
) -> PersonalData:
    """What seals the service's own people and opens others' (asked of their owners)."""
    keys = (
        None
        if parts.person_keys is None
        else PersonKeys(parts.person_keys, settings.data_keys, clock)
    )
    owners = {
        source: HttpKeyOwner(settings.url_of(source), parts.name, settings.token_keys, clock)
        for source in parts.opens_people_of
    }
    return PersonalData(parts.name, keys, store.reader, owners, phone_person)
