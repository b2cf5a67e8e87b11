"""Durable timers: fire once when due, move on reschedule, vanish on cancel, survive restarts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from shared.clock import FixedClock
from shared.events.base import Cause
from shared.settings import Database
from shared.store.eventstore import EventStore, Transaction
from shared.store.timers import Timer, TimerRunner, cancel_timer, set_timer, set_timers
from tests.support.probe import PROBE_TIMERS, NoteWritten, make_store

T0 = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


@pytest.fixture
async def clocked(database: Database) -> AsyncIterator[tuple[EventStore, FixedClock, sa.Table]]:
    clock = FixedClock(T0)
    store = await make_store(database, clock=clock)
    yield store, clock, PROBE_TIMERS
    await store.close()


async def remind(tx: Transaction, timer: Timer) -> None:
    await tx.append(
        f"reminder-{timer.id}",
        0,
        [NoteWritten(text=timer.payload["text"])],
        Cause(correlation_id=uuid.uuid4()),
    )


async def notes(store: EventStore) -> list[str]:
    events = store.tables.events
    async with store.engine.connect() as conn:
        rows = await conn.execute(sa.select(events.c.data).order_by(events.c.position))
        return [bytes(r.data).decode() for r in rows]


async def test_a_timer_fires_once_when_due_and_not_before(clocked) -> None:  # type: ignore[no-untyped-def]
    store, clock, table = clocked
    async with store.transaction() as tx:
        await set_timer(tx, table, "t1", "remind", T0 + timedelta(hours=1), {"text": "go"})
    runner = TimerRunner(store, table, {"remind": remind})

    assert await runner.fire_due() == 0
    clock.advance(timedelta(hours=1))
    assert await runner.fire_due() == 1
    assert await runner.fire_due() == 0
    assert await notes(store) == ['{"text":"go"}']


async def test_a_rescheduled_timer_fires_at_its_new_time_only(clocked) -> None:  # type: ignore[no-untyped-def]
    store, clock, table = clocked
    async with store.transaction() as tx:
        await set_timer(tx, table, "t1", "remind", T0 + timedelta(hours=1), {"text": "old"})
    async with store.transaction() as tx:
        await set_timer(tx, table, "t1", "remind", T0 + timedelta(hours=3), {"text": "new"})
    runner = TimerRunner(store, table, {"remind": remind})

    clock.advance(timedelta(hours=2))
    assert await runner.fire_due() == 0
    clock.advance(timedelta(hours=1))
    assert await runner.fire_due() == 1
    assert await notes(store) == ['{"text":"new"}']


async def test_a_cancelled_timer_never_fires(clocked) -> None:  # type: ignore[no-untyped-def]
    store, _clock, table = clocked
    async with store.transaction() as tx:
        await set_timer(tx, table, "t1", "remind", T0, {"text": "x"})
    async with store.transaction() as tx:
        await cancel_timer(tx, table, "t1")

    assert await TimerRunner(store, table, {"remind": remind}).fire_due() == 0
    assert await notes(store) == []


async def test_a_timer_claimed_by_a_crashed_instance_fires_after_its_claim_lapses(clocked) -> None:  # type: ignore[no-untyped-def]
    store, clock, table = clocked
    async with store.transaction() as tx:
        await set_timer(tx, table, "t1", "remind", T0, {"text": "x"})
    crashed = TimerRunner(store, table, {"remind": remind}, claim_for=timedelta(seconds=60))
    assert len(await crashed._claim()) == 1  # took it, then died before firing

    restarted = TimerRunner(store, table, {"remind": remind})
    assert await restarted.fire_due() == 0  # still claimed
    clock.advance(timedelta(seconds=61))
    assert await restarted.fire_due() == 1
    assert await notes(store) == ['{"text":"x"}']


async def test_a_failing_timer_is_retried_then_dropped(clocked) -> None:  # type: ignore[no-untyped-def]
    store, clock, table = clocked
    calls = 0

    async def broken(tx: Transaction, timer: Timer) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("provider down")

    async with store.transaction() as tx:
        await set_timer(tx, table, "t1", "remind", T0, {"text": "x"})
    runner = TimerRunner(store, table, {"remind": broken}, max_attempts=2)

    await runner.fire_due()
    clock.advance(timedelta(seconds=3))
    await runner.fire_due()
    clock.advance(timedelta(seconds=10))

    assert await runner.fire_due() == 0
    assert calls == 2
    async with store.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(table)) == 0


async def test_many_timers_are_set_in_one_call_and_a_known_id_is_moved_afresh(clocked) -> None:  # type: ignore[no-untyped-def]
    store, clock, table = clocked
    async with store.transaction() as tx:
        await set_timer(tx, table, "t1", "remind", T0 + timedelta(minutes=5), {"text": "old"})
        await tx.conn.execute(table.update().values(attempts=3))
    async with store.transaction() as tx:
        await set_timers(
            tx,
            table,
            [
                Timer(
                    id="t1", kind="remind", due_at=T0 + timedelta(hours=2), payload={"text": "a"}
                ),
                Timer(
                    id="t2", kind="remind", due_at=T0 + timedelta(hours=1), payload={"text": "b"}
                ),
            ],
        )
        await set_timers(tx, table, [])  # nothing to set is no statement at all
    async with store.engine.connect() as conn:
        rows = {row.id: row for row in await conn.execute(sa.select(table))}
    assert sorted(rows) == ["t1", "t2"]
    assert (rows["t1"].payload, rows["t1"].attempts) == ({"text": "a"}, 0)
    assert rows["t1"].claimed_until is None
    runner = TimerRunner(store, table, {"remind": remind})

    clock.advance(timedelta(minutes=5))
    assert await runner.fire_due() == 0  # t1 was moved, not added
    clock.advance(timedelta(hours=2))
    assert await runner.fire_due() == 2
    assert sorted(await notes(store)) == ['{"text":"a"}', '{"text":"b"}']


async def test_a_standing_timer_is_planted_once_and_keeps_the_time_it_was_set_to(clocked) -> None:  # type: ignore[no-untyped-def]
    store, _clock, table = clocked
    daily = Timer(id="daily", kind="remind", due_at=T0 + timedelta(hours=1), payload={"text": "d"})
    await TimerRunner(store, table, {"remind": remind}, standing=[daily]).plant()
    async with store.transaction() as tx:  # as its handler sets its next run
        await set_timer(tx, table, "daily", "remind", T0 + timedelta(days=1), {"text": "d"})

    # another instance, or a restart, later: its own idea of the first run changes nothing
    later = Timer(id="daily", kind="remind", due_at=T0 + timedelta(hours=5), payload={"text": "d"})
    await TimerRunner(store, table, {"remind": remind}, standing=[later]).plant()

    async with store.engine.connect() as conn:
        due = list(await conn.scalars(sa.select(table.c.due_at)))
    assert due == [T0 + timedelta(days=1)]


async def test_a_standing_timer_fires_on_one_instance_of_two(  # type: ignore[no-untyped-def]
    clocked, database: Database
) -> None:
    store, clock, table = clocked
    other = await make_store(database, clock=clock)

    async def daily(tx: Transaction, timer: Timer) -> None:
        await remind(tx, timer)
        await set_timer(tx, table, timer.id, "daily", timer.due_at + timedelta(days=1), {})

    standing = [Timer(id="daily", kind="daily", due_at=T0, payload={"text": "ran"})]
    first = TimerRunner(store, table, {"daily": daily}, standing=standing)
    second = TimerRunner(other, table, {"daily": daily}, standing=standing)
    try:
        await asyncio.gather(first.plant(), second.plant())
        fired = await asyncio.gather(first.fire_due(), second.fire_due())
    finally:
        await other.close()

    assert sorted(fired) == [0, 1]
    assert await notes(store) == ['{"text":"ran"}']


async def test_a_standing_timer_that_keeps_failing_is_retried_at_least_hourly_never_dropped(  # type: ignore[no-untyped-def]
    clocked,
) -> None:
    store, clock, table = clocked
    calls = 0

    async def broken(tx: Transaction, timer: Timer) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("database full")

    standing = [Timer(id="daily", kind="daily", due_at=T0, payload={})]
    runner = TimerRunner(store, table, {"daily": broken}, max_attempts=2, standing=standing)
    await runner.plant()
    for _ in range(14):  # 2**13 s would be over two hours
        await runner.fire_due()
        clock.advance(timedelta(hours=1, seconds=1))

    assert calls == 14
    async with store.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(table)) == 1
