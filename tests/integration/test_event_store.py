"""The event store contract, on SQLite and (in CI) PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import pytest
import sqlalchemy as sa

from shared.events.base import Cause, RecordedEvent
from shared.ids import derived_id
from shared.store.eventstore import ConcurrencyError, EventStore, StreamAppend
from shared.store.log import START, StoredEvent
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
            return await store.log.read(conn, START, 100)

    # on a shared PostgreSQL another session's open transaction may hold the horizon back
    await eventually(read_all, lambda events: len(events) == 5)
    async with store.engine.connect() as conn:
        first = await store.log.read(conn, START, 3)
        rest = await store.log.read(conn, first[-1].log_position, 100)

    counts = [
        store.log.recorded(e).event.count  # type: ignore[attr-defined]
        for e in first + rest
    ]
    assert counts == [0, 1, 2, 3, 4]


async def test_append_many_writes_several_streams_at_once_like_append(store: EventStore) -> None:
    await store.append("b", 0, [ThingCounted(count=1)], cause())
    seen: list[list[str]] = []

    async def project_list(_conn: object, recorded: Sequence[RecordedEvent]) -> None:
        seen.append([f"{e.stream_id}@{e.stream_version}" for e in recorded])

    async with store.transaction() as tx:
        recorded = await tx.append_many(
            [
                StreamAppend("a", 0, [ThingCounted(count=1), NoteWritten(text="x")], cause("k")),
                StreamAppend("b", 1, [ThingCounted(count=2)], cause()),
                StreamAppend("c", 0, [], cause()),
            ],
            projector=project_list,
        )
        again = await tx.append("a", 2, [NoteWritten(text="y")], cause())  # version known

    assert [(e.stream_id, e.stream_version) for e in recorded] == [("a", 1), ("a", 2), ("b", 2)]
    assert seen == [["a@1", "a@2", "b@2"]]
    assert recorded[0].event_id == derived_id("k", "a", "1")
    assert again[0].stream_version == 3
    assert [e.event for e in (await store.load("b")).events] == [
        ThingCounted(count=1),
        ThingCounted(count=2),
    ]


async def test_append_many_is_all_or_nothing_on_a_stale_version(store: EventStore) -> None:
    await store.append("b", 0, [ThingCounted(count=1)], cause())

    with pytest.raises(ConcurrencyError, match="stream b expected at version 0, found version 1"):
        async with store.transaction() as tx:
            await tx.append_many(
                [
                    StreamAppend("a", 0, [ThingCounted(count=1)], cause()),
                    StreamAppend("b", 0, [ThingCounted(count=2)], cause()),
                ]
            )
    with pytest.raises(ConcurrencyError):
        async with store.transaction() as tx:
            await tx.append_many([StreamAppend("c", 3, [ThingCounted(count=1)], cause())])
    with pytest.raises(ValueError, match="appends to a do not follow one another"):
        async with store.transaction() as tx:
            await tx.append_many(
                [
                    StreamAppend("a", 0, [ThingCounted(count=1)], cause()),
                    StreamAppend("a", 2, [ThingCounted(count=2)], cause()),
                ]
            )

    assert (await store.load("a")).version == 0
    assert (await store.load("b")).version == 1


async def test_appends_to_one_stream_that_follow_one_another_keep_their_own_causes(
    store: EventStore,
) -> None:
    first, second = cause(), cause()
    async with store.transaction() as tx:
        await tx.append_many(
            [
                StreamAppend("a", 0, [ThingCounted(count=1)], first),
                StreamAppend("b", 0, [ThingCounted(count=1)], first),
                StreamAppend("a", 1, [ThingCounted(count=2), ThingCounted(count=3)], second),
            ]
        )

    loaded = await store.load("a")
    assert [(e.stream_version, e.correlation_id) for e in loaded.events] == [
        (1, first.correlation_id),
        (2, second.correlation_id),
        (3, second.correlation_id),
    ]
    with pytest.raises(ConcurrencyError):  # the first append of a stream is checked
        async with store.transaction() as tx:
            await tx.append_many(
                [
                    StreamAppend("a", 2, [ThingCounted(count=4)], first),
                    StreamAppend("a", 3, [ThingCounted(count=5)], second),
                ]
            )
    assert (await store.load("a")).version == 3


async def test_a_stated_version_below_the_real_one_still_fails_on_the_constraint(
    store: EventStore,
) -> None:
    await store.append("a", 0, [ThingCounted(count=1), ThingCounted(count=2)], cause())

    with pytest.raises(ConcurrencyError):
        async with store.transaction() as tx:
            tx.know_version("a", 1)  # stale: a concurrent writer appended version 2
            await tx.append_many([StreamAppend("a", 1, [ThingCounted(count=3)], cause())])
    async with store.transaction() as tx:
        tx.know_version("a", 2)
        await tx.append("a", 2, [ThingCounted(count=3)], cause())

    assert (await store.load("a")).version == 3


async def test_load_many_loads_each_stream_and_knows_its_version(store: EventStore) -> None:
    await store.append("a", 0, [ThingCounted(count=1), NoteWritten(text="x")], cause())
    await store.append("b", 0, [ThingCounted(count=5)], cause())

    async with store.transaction() as tx:
        streams = await tx.load_many(["b", "a", "none"])
        await tx.append_many(
            [
                StreamAppend(stream_id, stream.version, [ThingCounted(count=9)], cause())
                for stream_id, stream in streams.items()
            ]
        )

    assert {key: stream.version for key, stream in streams.items()} == {"b": 1, "a": 2, "none": 0}
    assert [e.event for e in streams["a"].events] == [ThingCounted(count=1), NoteWritten(text="x")]
    assert (await store.load("none")).version == 1


async def test_work_deferred_to_the_commit_runs_in_the_transaction_and_only_on_success(
    store: EventStore,
) -> None:
    async with store.transaction() as tx:

        async def later() -> None:
            await tx.append("late", 0, [NoteWritten(text="written at the end")], cause())

        tx.before_commit(later)
        assert (await tx.load("late")).version == 0

    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:

            async def never() -> None:
                await tx.append("never", 0, [NoteWritten(text="no")], cause())

            tx.before_commit(never)
            raise RuntimeError

    assert (await store.load("late")).version == 1
    assert (await store.load("never")).version == 0


async def test_a_load_after_a_version_returns_only_newer_events(store: EventStore) -> None:
    await store.append("thing-1", 0, [ThingCounted(count=n) for n in (1, 2, 3)], cause())

    async with store.transaction() as tx:
        newer = await tx.load("thing-1", after=2)
        none_newer = await tx.load("thing-1", after=3)
        # The version the transaction now knows is the stream's: an append after it works.
        await tx.append("thing-1", 3, [ThingCounted(count=4)], cause())

    assert [e.event for e in newer.events] == [ThingCounted(count=3)]
    assert newer.version == 3
    assert none_newer == (3, [])
    assert (await store.load("thing-1")).version == 4


async def test_a_reader_sees_the_last_commit_without_waiting_for_an_open_writer(
    store: EventStore,
) -> None:
    await store.append("thing-1", 0, [ThingCounted(count=1)], cause())

    async with store.transaction() as tx:
        await tx.append("thing-1", 1, [ThingCounted(count=2)], cause())
        # SQLite: a reader must not queue for the write lock the open transaction holds.
        during = await asyncio.wait_for(store.load("thing-1"), timeout=10)

    assert during.version == 1
    assert (await store.load("thing-1")).version == 2
