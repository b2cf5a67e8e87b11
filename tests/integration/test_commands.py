"""`EventStore.command`: load one stream, decide, append (PostgreSQL's two-statement path and
the store transaction elsewhere behave the same)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.events.base import Cause, Event, RecordedEvent
from shared.store.direct import DirectConnections
from shared.store.eventstore import ConcurrencyError, EventStore, Stream
from tests.conftest import postgres_only
from tests.support.probe import PROBE_CATALOG, NoteWritten, ThingCounted


def cause() -> Cause:
    return Cause(correlation_id=uuid.uuid4())


def count_up(stream: Stream) -> list[Event]:
    """The probe's decision: the next count after the last one seen."""
    last = 0
    for recorded in stream.events:
        if isinstance(recorded.event, ThingCounted):
            last = recorded.event.count
    return [ThingCounted(count=last + 1)]


class RefusedError(Exception):
    """A rule of the probe's domain said no."""


async def test_a_command_loads_decides_and_appends(store: EventStore) -> None:
    first = cause()

    recorded = await store.command("thing-1", count_up, first)
    await store.command("thing-1", count_up, cause())
    await store.command("thing-1", count_up, cause())

    stream = await store.load("thing-1")
    assert [e.event for e in stream.events] == [ThingCounted(count=n) for n in (1, 2, 3)]
    assert stream.version == 3
    assert recorded[0].event_id == stream.events[0].event_id
    assert recorded[0].event_id.version == 7
    assert stream.events[0].correlation_id == first.correlation_id


async def test_a_command_sees_the_stream_as_a_load_does(store: EventStore) -> None:
    await store.append("thing-1", 0, [ThingCounted(count=5), NoteWritten(text="hi")], cause())
    seen: list[Stream] = []

    def look(stream: Stream) -> list[Event]:
        seen.append(stream)
        return []

    await store.command("thing-1", look, cause())

    loaded = await store.load("thing-1")
    assert seen[0].version == loaded.version == 2
    assert seen[0].events == loaded.events
    assert all(e.recorded_at.tzinfo is not None for e in seen[0].events)


async def test_a_command_may_append_several_events_at_once(store: EventStore) -> None:
    def two(stream: Stream) -> list[Event]:
        return [ThingCounted(count=stream.version + 1), NoteWritten(text="twice")]

    await store.command("thing-1", two, cause())
    recorded = await store.command("thing-1", two, cause())

    assert [e.stream_version for e in recorded] == [3, 4]
    assert (await store.load("thing-1")).version == 4


async def test_a_command_that_decides_nothing_or_refuses_writes_nothing(store: EventStore) -> None:
    def refuse(_stream: Stream) -> list[Event]:
        raise RefusedError

    assert await store.command("thing-1", lambda _stream: [], cause()) == []
    with pytest.raises(RefusedError):
        await store.command("thing-1", refuse, cause())

    assert (await store.load("thing-1")).version == 0


async def test_concurrent_commands_never_append_two_decisions_from_one_version(
    store: EventStore,
) -> None:
    # PostgreSQL: commands race between load and append, and the losers get ConcurrencyError.
    # SQLite: its transactions take turns. Either way no two decisions from the same state land.
    async def attempt() -> bool:
        try:
            await store.command("thing-1", count_up, cause())
        except ConcurrencyError:
            return False
        return True

    outcomes = await asyncio.gather(*(attempt() for _ in range(12)))

    stream = await store.load("thing-1")
    landed = outcomes.count(True)
    assert landed >= 1
    assert [e.event for e in stream.events] == [ThingCounted(count=n) for n in range(1, landed + 1)]


async def test_a_command_rings_the_commit_doorbell_once_per_append(store: EventStore) -> None:
    rung: list[list[int]] = []
    store.on_commit(lambda appended: rung.append([e.stream_version for e in appended]))

    await store.command("thing-1", count_up, cause())
    await store.command("thing-1", lambda _stream: [], cause())

    assert rung == [[1]]


# With a read model: the projection commits with the append, or neither happens. -----------

TOTALS = sa.Table(
    "thing_totals",
    sa.MetaData(),
    sa.Column("stream_id", sa.String(200), primary_key=True),
    sa.Column("total", sa.Integer(), nullable=False),
)


@pytest.fixture
async def projecting(store: EventStore) -> AsyncIterator[EventStore]:
    async with store.engine.begin() as conn:
        await conn.run_sync(TOTALS.metadata.create_all)

    async def project(conn: AsyncConnection, recorded: RecordedEvent) -> None:
        event = recorded.event
        if isinstance(event, ThingCounted):
            if event.count > 99:  # the probe's broken projection
                raise RefusedError
            await conn.execute(TOTALS.delete().where(TOTALS.c.stream_id == recorded.stream_id))
            await conn.execute(
                TOTALS.insert().values(stream_id=recorded.stream_id, total=event.count)
            )

    made = EventStore(store.engine, store.tables, PROBE_CATALOG, "probe", store.clock, project)
    yield made
    await made.close()


async def totals(store: EventStore) -> Sequence[tuple[str, int]]:
    async with store.engine.connect() as conn:
        return [tuple(row) for row in await conn.execute(sa.select(TOTALS))]


async def test_a_command_projects_its_events_in_the_same_transaction(
    projecting: EventStore,
) -> None:
    await projecting.command("thing-1", count_up, cause())
    await projecting.command("thing-1", count_up, cause())

    assert await totals(projecting) == [("thing-1", 2)]


async def test_a_failing_projection_leaves_no_event(projecting: EventStore) -> None:
    with pytest.raises(RefusedError):
        await projecting.command("thing-1", lambda _stream: [ThingCounted(count=100)], cause())

    assert (await projecting.load("thing-1")).version == 0
    assert await totals(projecting) == []


# The direct connections behind the command path (PostgreSQL only). ------------------------


@postgres_only
async def test_a_direct_connection_survives_a_refused_statement_and_not_a_broken_exchange(
    store: EventStore,
) -> None:
    connections = DirectConnections(store.engine, 1)
    try:
        async with connections.connection() as conn:
            first = conn
            assert await conn.fetchval("SELECT current_schema()") == await schema_of(store)
        with pytest.raises(asyncpg.PostgresError):
            async with connections.connection() as conn:
                assert conn is first  # handed back and reused
                await conn.execute("SELECT * FROM nowhere")
        with pytest.raises(RefusedError):
            async with connections.connection() as conn:
                assert conn is first  # a refused statement leaves it usable
                raise RefusedError  # e.g. cancelled mid-exchange: the connection is dropped
        assert first.is_closed()
        async with connections.connection() as conn:
            assert conn is not first
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        await connections.close()


async def schema_of(store: EventStore) -> str:
    async with store.reader.connect() as conn:
        return str(await conn.scalar(sa.text("SELECT current_schema()")))
