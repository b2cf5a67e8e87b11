"""The event store contract, on SQLite and (in CI) PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa

from shared.events.base import Cause
from shared.store.eventstore import START, ConcurrencyError, EventStore, StoredEvent
from tests.support.probe import NoteWritten, ThingCounted
from tests.support.waiting import eventually


def cause(seed: str | None = None) -> Cause:
    return Cause(correlation_id=uuid.uuid4(), id_seed=seed)


async def test_appends_and_loads_a_stream_in_order(store: EventStore) -> None:
    await store.append("thing-1", 0, [ThingCounted(count=1), ThingCounted(count=2)], cause())
    await store.append("thing-1", 2, [NoteWritten(text="ok")], cause())

    stream = await store.load("thing-1")

    assert stream.version == 3
    assert [e.event for e in stream.events] == [
        ThingCounted(count=1),
        ThingCounted(count=2),
        NoteWritten(text="ok"),
    ]
    assert [e.stream_version for e in stream.events] == [1, 2, 3]
    assert stream.events[0].event_id.version == 7


async def test_a_stale_expected_version_raises_and_writes_nothing(store: EventStore) -> None:
    await store.append("thing-1", 0, [ThingCounted(count=1)], cause())

    with pytest.raises(ConcurrencyError, match="expected at version 0, found version 1"):
        await store.append("thing-1", 0, [ThingCounted(count=9), ThingCounted(count=10)], cause())
    with pytest.raises(ConcurrencyError):
        await store.append("thing-1", 5, [ThingCounted(count=9)], cause())

    assert (await store.load("thing-1")).version == 1


async def test_concurrent_appends_to_one_stream_exactly_one_wins(store: EventStore) -> None:
    await store.append("thing-1", 0, [ThingCounted(count=0)], cause())

    async def attempt(n: int) -> bool:
        # every writer decided from version 1
        try:
            await store.append("thing-1", 1, [ThingCounted(count=n)], cause())
        except ConcurrencyError:
            return False
        return True

    outcomes = await asyncio.gather(*(attempt(n) for n in range(8)))

    assert outcomes.count(True) == 1
    assert (await store.load("thing-1")).version == 2


async def test_a_failed_transaction_rolls_back_appends_to_every_stream(store: EventStore) -> None:
    await store.append("b", 0, [ThingCounted(count=1)], cause())
    with pytest.raises(ConcurrencyError):
        async with store.transaction() as tx:
            await tx.append("a", 0, [ThingCounted(count=1)], cause())
            await tx.append("b", 0, [ThingCounted(count=2)], cause())

    assert (await store.load("a")).version == 0


async def test_ids_derived_from_a_seed_make_a_retry_append_nothing(store: EventStore) -> None:
    first = await store.append("thing-1", 0, [ThingCounted(count=1)], cause("key-1"))
    other = await store.append("thing-2", 0, [ThingCounted(count=1)], cause("key-1"))

    with pytest.raises(ConcurrencyError):
        await store.append("thing-1", 0, [ThingCounted(count=1)], cause("key-1"))

    stream = await store.load("thing-1")
    assert stream.version == 1
    assert stream.events[0].event_id == first[0].event_id
    assert first[0].event_id != other[0].event_id  # the stream is part of the derivation


async def test_a_stored_v1_event_is_upcast_on_read(store: EventStore) -> None:
    events = store.tables.events
    async with store.engine.begin() as conn:
        await conn.execute(
            events.insert().values(
                event_id=uuid.uuid4(),
                stream_id="old",
                stream_version=1,
                event_type="probe.thing_counted",
                schema_version=1,
                data=b'{"n": 41}',
                recorded_at=sa.func.current_timestamp(),
                correlation_id=uuid.uuid4(),
                tx_id=0,
            )
        )

    stream = await store.load("old")

    assert stream.events[0].event == ThingCounted(count=41, unit="item")


async def test_the_log_reads_every_committed_event_once_in_order(store: EventStore) -> None:
    for n in range(5):
        await store.append(f"s-{n % 2}", n // 2, [ThingCounted(count=n)], cause())

    async def read_all() -> list[StoredEvent]:
        async with store.engine.connect() as conn:
            return await store.read_log(conn, START, 100)

    # on a shared PostgreSQL another session's open transaction may hold the horizon back
    await eventually(read_all, lambda events: len(events) == 5)
    async with store.engine.connect() as conn:
        first = await store.read_log(conn, START, 3)
        rest = await store.read_log(conn, first[-1].log_position, 100)

    counts = [
        store.to_recorded(e).event.count  # type: ignore[attr-defined]
        for e in first + rest
    ]
    assert counts == [0, 1, 2, 3, 4]
