"""Benchmark of the event store, the outbox relay and an inbox consumer on one database.

Commands per second (`EventStore.command`: load a short stream, decide, append with outbox)
with 1 and 8 concurrent clients, against the raw driver's single-row insert-and-commit rate
on the same database; then the relay publishing every appended event to an embedded
nats-server, and a consumer with a trivial handler recording each one in a second store's
inbox. PostgreSQL from HANDINHAND_BENCH_DATABASE_URL (a throwaway schema), else SQLite files
in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import aiosqlite
import asyncpg
import msgspec
import nats
import sqlalchemy as sa
from nats.aio.client import Client

from bench.loop import run as run_on_loop
from shared.bus.consumer import Consumer, Subscription
from shared.bus.relay import Relay
from shared.bus.server import NatsServer
from shared.bus.streams import ensure_stream
from shared.clock import SystemClock
from shared.events.base import Cause, Event, RecordedEvent
from shared.events.catalog import Catalog, encode
from shared.ids import uuid7
from shared.store.database import create_engine
from shared.store.eventstore import EventStore, Stream, Transaction
from shared.store.schema import create_schema, drop_schema
from shared.store.tables import add_store_tables

DATABASE_VARIABLE = "HANDINHAND_BENCH_DATABASE_URL"
SOURCE = "benchstore"
CLIENTS = 8
# Each stream takes this many commands, then the client moves on: loads stay short.
COMMANDS_PER_STREAM = 4


class CounterIncremented(Event, frozen=True, kw_only=True):
    """A counter went up (the benchmark's only fact)."""

    event_type: ClassVar[str] = "benchstore.counter_incremented"
    by: int
    total: int


CATALOG = Catalog({SOURCE: (CounterIncremented,)})


class IncrementCounter(msgspec.Struct, frozen=True, kw_only=True):
    by: int


class Counter(msgspec.Struct, frozen=True, kw_only=True):
    total: int = 0


class CounterLimitError(Exception):
    """A counter may not pass its limit (so that the decision has a rule to check)."""

    field: str | None = "by"


COUNTER_LIMIT = 1_000_000


def evolve(state: Counter, event: Event) -> Counter:
    if isinstance(event, CounterIncremented):
        return Counter(total=event.total)
    return state


def decide_increment(state: Counter, command: IncrementCounter) -> list[Event]:
    total = state.total + command.by
    if total > COUNTER_LIMIT:
        raise CounterLimitError(f"the counter may not pass {COUNTER_LIMIT}")
    return [CounterIncremented(by=command.by, total=total)]


@dataclass(frozen=True)
class Target:
    """Where the benchmark writes: a PostgreSQL schema or a SQLite file."""

    url: str
    schema: str
    kind: str

    @property
    def is_postgres(self) -> bool:
        return self.kind == "postgresql"


async def open_store(target: Target) -> EventStore:
    metadata = sa.MetaData()
    tables = add_store_tables(metadata)
    await create_schema(target.url, target.schema)
    engine = create_engine(target.url, target.schema, pool_size=CLIENTS + 2)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    return EventStore(engine, tables, CATALOG, SOURCE, SystemClock())


# Commands -----------------------------------------------------------------------------------


def count_one_more(stream: Stream) -> list[Event]:
    state = Counter()
    for recorded in stream.events:
        state = evolve(state, recorded.event)
    return decide_increment(state, IncrementCounter(by=1))


async def increment(store: EventStore, stream_id: str) -> None:
    """One command: load, decide, append (the events table is the outbox)."""
    await store.command(stream_id, count_one_more, Cause(correlation_id=uuid7()))


async def for_a_while(
    clients: int, seconds: float, work: Callable[[int, int], Awaitable[None]]
) -> float:
    """Run `work(client, n)` in a loop on each client for `seconds`; operations per second."""
    done = [0] * clients
    deadline = 0.0

    async def client(number: int) -> None:
        while time.perf_counter() < deadline:
            await work(number, done[number])
            done[number] += 1

    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(client(n) for n in range(clients)))
    return sum(done) / (time.perf_counter() - started)


async def measured(
    clients: int, seconds: float, work: Callable[[int, int], Awaitable[None]]
) -> float:
    """`for_a_while` after a short warm-up (pools, statement caches, connections' first use)."""
    await for_a_while(clients, min(0.5, seconds / 4), work)
    return await for_a_while(clients, seconds, work)


async def commands_per_second(store: EventStore, clients: int, seconds: float, run: str) -> float:
    async def command(client: int, n: int) -> None:
        await increment(store, f"counter-{run}{client}-{n // COMMANDS_PER_STREAM}")

    return await measured(clients, seconds, command)


async def settle(target: Target) -> None:
    """PostgreSQL: write out what the previous phase left dirty, so that the next phase does
    not pay for it (a CHECKPOINT, which needs a superuser or the pg_checkpoint role; without
    them phases measured after heavy ones come out up to a quarter lower)."""
    if not target.is_postgres:
        return
    connection = await asyncpg.connect(target.url)
    try:
        await connection.execute("CHECKPOINT")
    except asyncpg.InsufficientPrivilegeError:
        pass
    finally:
        await connection.close()


# Raw driver reference ----------------------------------------------------------------------

RAW_TABLE = "bench_raw_rows"
BODY = encode(CounterIncremented(by=1, total=1))


async def raw_postgres(target: Target, clients: int, seconds: float, *, explicit: bool) -> float:
    """asyncpg alone: one prepared single-row INSERT per transaction.

    Implicit (autocommit, one round trip), or explicit: BEGIN, INSERT, COMMIT.
    """
    connections = [
        await asyncpg.connect(
            target.url, server_settings={"search_path": target.schema}, statement_cache_size=100
        )
        for _ in range(clients)
    ]
    try:
        await connections[0].execute(
            f"CREATE TABLE IF NOT EXISTS {RAW_TABLE} (id uuid PRIMARY KEY, stream_id text "
            "NOT NULL, data bytea NOT NULL, recorded_at timestamptz NOT NULL)"
        )
        insert = f"INSERT INTO {RAW_TABLE} (id, stream_id, data, recorded_at) VALUES ($1,$2,$3,$4)"

        async def row(client: int, n: int) -> None:
            await connections[client].execute(
                insert, uuid7(), f"raw-{client}-{n}", BODY, datetime.now(UTC)
            )

        async def row_in_transaction(client: int, n: int) -> None:
            connection = connections[client]
            async with connection.transaction():
                await connection.execute(
                    insert, uuid7(), f"raw-{client}-{n}", BODY, datetime.now(UTC)
                )

        if explicit:
            row = row_in_transaction

        return await measured(clients, seconds, row)
    finally:
        for connection in connections:
            await connection.close()


async def sqlite_connections(path: Path, clients: int) -> list[aiosqlite.Connection]:
    """aiosqlite connections with the store's pragmas, autocommitting unless told BEGIN."""
    connections = []
    for _ in range(clients):
        connection = await aiosqlite.connect(path, timeout=30, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            await connection.execute(f"PRAGMA {pragma}")
        connections.append(connection)
    return connections


async def raw_sqlite(path: Path, clients: int, seconds: float, *, explicit: bool) -> float:
    """aiosqlite alone, with the store's pragmas, one INSERT per transaction (the store itself
    runs sqlite3 on the event loop's thread, shared/store/sqlite_inline.py).

    Autocommitted, or explicit: BEGIN IMMEDIATE, INSERT, COMMIT (as the store does).
    """
    connections = await sqlite_connections(path, clients)
    try:
        await connections[0].execute(
            f"CREATE TABLE IF NOT EXISTS {RAW_TABLE} (id BLOB PRIMARY KEY, stream_id TEXT "
            "NOT NULL, data BLOB NOT NULL, recorded_at TEXT NOT NULL)"
        )
        insert = f"INSERT INTO {RAW_TABLE} (id, stream_id, data, recorded_at) VALUES (?,?,?,?)"

        async def row(client: int, n: int) -> None:
            if explicit:
                await connections[client].execute("BEGIN IMMEDIATE")
            await connections[client].execute(
                insert,
                (uuid7().bytes, f"raw-{client}-{n}", BODY, datetime.now(UTC).isoformat()),
            )
            if explicit:
                await connections[client].execute("COMMIT")

        return await measured(clients, seconds, row)
    finally:
        for connection in connections:
            await connection.close()


# The same command with the driver alone ---------------------------------------------------
#
# The statements a command needs, written by hand on a bare connection: what any store that
# loads before it appends could reach on this machine. The store's rate against this one is
# its own overhead; the ratio to the single-row reference is then mostly the second round trip.

LOAD = (
    "SELECT event_id, stream_version, event_type, schema_version, data, recorded_at, "
    "correlation_id, causation_id FROM events WHERE stream_id = {} ORDER BY stream_version"
)
INSERT = (
    "INSERT INTO events (event_id, stream_id, stream_version, event_type, schema_version, "
    "data, recorded_at, correlation_id, causation_id, tx_id) VALUES ({})"
)


def driver_decision(rows: list[Any]) -> bytes:
    """The counter's decision on rows as loaded: the next event's body."""
    state = Counter()
    for row in rows:
        state = evolve(state, CATALOG.decode(row[2], row[3], row[4]))
    return encode(decide_increment(state, IncrementCounter(by=1))[0])


async def driver_postgres(target: Target, clients: int, seconds: float, run: str) -> float:
    """asyncpg alone: the load, then one autocommitted INSERT (the store's two statements)."""
    connections = [
        await asyncpg.connect(target.url, server_settings={"search_path": target.schema})
        for _ in range(clients)
    ]
    load = LOAD.format("$1")
    insert = INSERT.format("$1, $2, $3, $4, $5, $6, $7, $8, $9, pg_current_xact_id()::text::bigint")

    async def command(client: int, n: int) -> None:
        connection = connections[client]
        stream_id = f"driver-{run}{client}-{n // COMMANDS_PER_STREAM}"
        rows = await connection.fetch(load, stream_id)
        body = driver_decision(rows)
        await connection.execute(
            insert,
            uuid7(),
            stream_id,
            len(rows) + 1,
            CounterIncremented.event_type,
            1,
            body,
            datetime.now(UTC),
            uuid7(),
            None,
        )

    try:
        return await measured(clients, seconds, command)
    finally:
        for connection in connections:
            await connection.close()


async def driver_sqlite(path: Path, clients: int, seconds: float, run: str) -> float:
    """aiosqlite alone: BEGIN IMMEDIATE, the load, the INSERT, COMMIT (as the store does)."""
    connections = await sqlite_connections(path, clients)
    load = LOAD.format("?")
    insert = INSERT.format("?, ?, ?, ?, ?, ?, ?, ?, ?, 0")
    # One writer at a time, queued in the process as the store queues them.
    writer = asyncio.Lock()

    async def command(client: int, n: int) -> None:
        connection = connections[client]
        stream_id = f"driver-{run}{client}-{n // COMMANDS_PER_STREAM}"
        async with writer:
            await connection.execute("BEGIN IMMEDIATE")
            rows = list(await connection.execute_fetchall(load, (stream_id,)))
            body = driver_decision(rows)
            await connection.execute(
                insert,
                (
                    uuid7().hex,
                    stream_id,
                    len(rows) + 1,
                    CounterIncremented.event_type,
                    1,
                    body,
                    datetime.now(UTC).isoformat(),
                    uuid7().hex,
                    None,
                ),
            )
            await connection.execute("COMMIT")

    try:
        return await measured(clients, seconds, command)
    finally:
        for connection in connections:
            await connection.close()


# Relay and consumer ------------------------------------------------------------------------


async def top_up(store: EventStore, total: int, per_append: int = 100) -> int:
    """Append until the log holds `total` events (the command runs already wrote some)."""
    async with store.engine.connect() as conn:
        counted = await conn.scalar(sa.select(sa.func.count()).select_from(store.tables.events))
    have = int(counted or 0)
    missing = max(0, total - have)
    cause = Cause(correlation_id=uuid7())
    n = 0
    while missing > 0:
        size = min(per_append, missing)
        events = [CounterIncremented(by=1, total=v) for v in range(1, size + 1)]
        await store.append(f"bulk-{n}", 0, events, cause)
        missing -= size
        n += 1
    return max(total, have)


async def relay_everything(store: EventStore, nc: Client) -> tuple[int, float]:
    js = nc.jetstream()
    await ensure_stream(js, SOURCE)
    relay = Relay(store, nc, owner="bench")
    if not await relay.hold_lease():
        raise RuntimeError("the bench relay could not take the lease")
    started = time.perf_counter()
    while (await relay.publish_once())[0]:
        pass
    seconds = time.perf_counter() - started
    if await relay.lag() != 0:
        raise RuntimeError("the relay left events behind")
    return relay.published, seconds


async def nothing(_tx: Transaction, _event: RecordedEvent) -> None:
    """The trivial handler: the cost measured is the consumer's own (fetch, inbox, ack)."""


async def consume_everything(
    store: EventStore, nc: Client, expected: int, timeout: float
) -> tuple[int, float]:
    consumer = Consumer(store, nc, Subscription("bench-consumer", SOURCE, nothing))
    stop = asyncio.Event()
    started = time.perf_counter()
    task = asyncio.create_task(consumer.run(stop))
    try:
        while consumer.handled < expected or await consumer.lag() > 0:
            if time.perf_counter() - started > timeout:
                raise RuntimeError(
                    f"consumer handled {consumer.handled} of {expected} in {timeout:.0f}s"
                )
            await asyncio.sleep(0.01 if consumer.handled >= expected else 0.05)
        seconds = time.perf_counter() - started
    finally:
        stop.set()
        await task
    return consumer.handled, seconds


# The run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    seconds: float = 4.0
    events: int = 50_000


async def run(database_url: str | None, options: Options | None = None) -> dict[str, Any]:
    """Measure everything on one database; return the figures (rates are per second)."""
    options = options or Options()
    with tempfile.TemporaryDirectory(prefix="handinhand-bench-") as scratch:
        directory = Path(scratch)
        if database_url:
            tag = uuid.uuid4().hex[:8]
            source = Target(database_url, f"bench_{tag}_source", "postgresql")
            sink = Target(database_url, f"bench_{tag}_sink", "postgresql")
            bare = Target(database_url, f"bench_{tag}_driver", "postgresql")
        else:
            source = Target(f"sqlite:///{directory / 'source.db'}", "main", "sqlite")
            sink = Target(f"sqlite:///{directory / 'sink.db'}", "main", "sqlite")
            bare = Target(f"sqlite:///{directory / 'driver.db'}", "main", "sqlite")
        try:
            return await _measure(source, sink, bare, directory, options)
        finally:
            for target in (source, sink, bare):
                await drop_schema(target.url, target.schema)


async def _measure(
    source: Target, sink: Target, bare: Target, directory: Path, options: Options
) -> dict[str, Any]:
    """`bare` gets the same tables as `source` for the driver's own commands, whose rows would
    otherwise change the log that the relay and the consumer are measured on."""
    seconds = options.seconds

    async def raw(clients: int, *, explicit: bool = False) -> float:
        await settle(source)
        if source.is_postgres:
            return await raw_postgres(source, clients, seconds, explicit=explicit)
        return await raw_sqlite(directory / "source.db", clients, seconds, explicit=explicit)

    async def driver(clients: int, run: str) -> float:
        await settle(bare)
        if bare.is_postgres:
            return await driver_postgres(bare, clients, seconds, run)
        return await driver_sqlite(directory / "driver.db", clients, seconds, run)

    await (await open_store(bare)).close()
    store = await open_store(source)
    # As in a running service: commits are announced to other instances' relays (PostgreSQL).
    announcing = asyncio.Event()
    announcer = asyncio.create_task(store.doorbell.announce_commits(announcing))
    sink_store = await open_store(sink)
    server = NatsServer(directory / "nats")
    await server.start_async()
    try:
        raw_1 = await raw(1)
        await settle(source)
        commands_1 = await commands_per_second(store, 1, seconds, "a")
        raw_8 = await raw(CLIENTS)
        await settle(source)
        commands_8 = await commands_per_second(store, CLIENTS, seconds, "b")
        driver_1 = await driver(1, "c")
        driver_8 = await driver(CLIENTS, "d")
        raw_tx_1 = await raw(1, explicit=True)
        raw_tx_8 = await raw(CLIENTS, explicit=True)
        total = await top_up(store, options.events)
        nc = await nats.connect(server.url)
        try:
            relayed, relay_s = await relay_everything(store, nc)
            handled, consumer_s = await consume_everything(sink_store, nc, relayed, 90.0)
        finally:
            await nc.close()
    finally:
        announcing.set()
        await announcer
        await server.stop_async()
        await store.close()
        await sink_store.close()
    return {
        "database": source.kind,
        "commands_per_s_1": round(commands_1, 1),
        "commands_per_s_8": round(commands_8, 1),
        "raw_per_s_1": round(raw_1, 1),
        "raw_per_s_8": round(raw_8, 1),
        "ratio_1": round(commands_1 / raw_1, 3),
        "ratio_8": round(commands_8 / raw_8, 3),
        "driver_commands_per_s_1": round(driver_1, 1),
        "driver_commands_per_s_8": round(driver_8, 1),
        "driver_ratio_1": round(driver_1 / raw_1, 3),
        "driver_ratio_8": round(driver_8 / raw_8, 3),
        # The goal (issue 17): the store's command at >= 0.9 of the same command on the bare
        # driver, measured in this run (the machine's speed moves between runs).
        "store_vs_driver_1": round(commands_1 / driver_1, 3),
        "store_vs_driver_8": round(commands_8 / driver_8, 3),
        "raw_tx_per_s_1": round(raw_tx_1, 1),
        "raw_tx_per_s_8": round(raw_tx_8, 1),
        "relay_events": relayed,
        "relay_seconds": round(relay_s, 3),
        "relay_events_per_s": round(relayed / relay_s, 1),
        "consumer_events": handled,
        "consumer_seconds": round(consumer_s, 3),
        "consumer_events_per_s": round(handled / consumer_s, 1),
        "log_events": total,
        "seconds_per_rate": seconds,
    }


LABELS = {
    "database": "database",
    "commands_per_s_1": "commands/s, 1 client (load, decide, append)",
    "raw_per_s_1": "raw single-row insert+commit/s, 1 connection",
    "ratio_1": "ratio, 1 client",
    "commands_per_s_8": f"commands/s, {CLIENTS} clients",
    "raw_per_s_8": f"raw single-row insert+commit/s, {CLIENTS} connections",
    "ratio_8": f"ratio, {CLIENTS} clients",
    "driver_commands_per_s_1": "the same command, driver alone/s, 1 connection",
    "driver_ratio_1": "its ratio, 1 connection",
    "driver_commands_per_s_8": f"the same command, driver alone/s, {CLIENTS} connections",
    "driver_ratio_8": f"its ratio, {CLIENTS} connections",
    "store_vs_driver_1": "store / driver alone, 1 client (goal >= 0.9)",
    "store_vs_driver_8": f"store / driver alone, {CLIENTS} clients (goal >= 0.9)",
    "raw_tx_per_s_1": "raw BEGIN+INSERT+COMMIT/s, 1 connection",
    "raw_tx_per_s_8": f"raw BEGIN+INSERT+COMMIT/s, {CLIENTS} connections",
    "relay_events_per_s": "relay to JetStream, events/s",
    "relay_events": "relay, events published",
    "consumer_events_per_s": "consumer with inbox, events/s",
    "consumer_events": "consumer, events handled",
}


def table(result: dict[str, Any]) -> str:
    width = max(len(label) for label in LABELS.values())
    return "\n".join(f"{label:<{width}}  {result[key]}" for key, label in LABELS.items())


def main(argv: list[str] | None = None) -> int:
    """Print a table and, last, one JSON line."""
    parser = argparse.ArgumentParser(prog="handinhand bench store", description=__doc__)
    parser.add_argument(
        "--seconds", type=float, default=Options.seconds, help="duration of each rate"
    )
    parser.add_argument(
        "--events", type=int, default=Options.events, help="events to relay and consume"
    )
    args = parser.parse_args(argv)
    url = os.environ.get(DATABASE_VARIABLE) or None
    if url is not None and not url.startswith("postgresql"):
        print(f"{DATABASE_VARIABLE} must be a postgresql:// URL (unset: SQLite)")
        return 2
    try:
        options = Options(
            seconds=args.seconds,
            events=args.events,
        )
        result = run_on_loop(run(url, options))
    except (OSError, asyncpg.PostgresError, sqlite3.Error, sa.exc.SQLAlchemyError) as error:
        print(f"bench store failed: {error}")
        return 1
    print(table(result))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
