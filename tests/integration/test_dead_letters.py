"""Parked messages can be listed and redriven through their consumer's handler."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from shared.bus.cloudevents import headers_for, subject_for
from shared.bus.consumer import Subscription
from shared.bus.deadletters import list_parked, redrive
from shared.events.base import Cause, RecordedEvent
from shared.store.eventstore import EventStore, Transaction
from shared.store.log import START, StoredEvent
from tests.support.probe import NoteWritten, ThingCounted
from tests.support.waiting import eventually


async def park(store: EventStore, *, body: bytes | None = None) -> None:
    """Park a real event as a consumer would have after N failures."""
    [recorded] = await store.append(
        "thing-1", 0, [ThingCounted(count=7)], Cause(correlation_id=uuid.uuid4())
    )

    async def read() -> list[StoredEvent]:
        async with store.engine.connect() as conn:
            return await store.log.read(conn, START, 1)

    # on a shared PostgreSQL another session's open transaction may hold the horizon back
    [stored] = await eventually(read, lambda found: len(found) == 1)
    async with store.engine.begin() as conn:
        await conn.execute(
            store.tables.dead_letters.insert().values(
                consumer="probe-from-probe",
                subject=subject_for("probe", "probe.thing_counted"),
                headers=headers_for("probe", stored),
                body=stored.data if body is None else body,
                error="RuntimeError: database was read-only",
                attempts=5,
                parked_at=recorded.recorded_at,
            )
        )


async def test_lists_parked_messages_with_their_error(store: EventStore) -> None:
    await park(store)

    [parked] = await list_parked(store)

    assert parked.consumer == "probe-from-probe"
    assert parked.event_type == "probe.thing_counted"
    assert parked.error == "RuntimeError: database was read-only"
    assert parked.attempts == 5


async def test_redrive_handles_the_message_once_and_marks_it(store: EventStore) -> None:
    await park(store)
    handled: list[int] = []

    async def handle(tx: Transaction, event: RecordedEvent) -> None:
        assert isinstance(event.event, ThingCounted)
        handled.append(event.event.count)
        await tx.append(
            "note-1", 0, [NoteWritten(text="redriven")], Cause(correlation_id=uuid.uuid4())
        )

    subscriptions = {"probe-from-probe": Subscription("probe-from-probe", "probe", handle)}
    [outcome] = await redrive(store, subscriptions)
    again = await redrive(store, subscriptions)

    assert outcome.ok
    assert again == []
    assert handled == [7]
    assert await list_parked(store) == []
    assert (await store.load("note-1")).version == 1


async def test_a_redrive_that_fails_again_keeps_the_message_with_the_new_error(
    store: EventStore,
) -> None:
    await park(store, body=b"{broken")

    async def handle(tx: Transaction, event: RecordedEvent) -> None:
        raise AssertionError("never reached: the body does not decode")

    [outcome] = await redrive(
        store, {"probe-from-probe": Subscription("probe-from-probe", "probe", handle)}
    )

    assert not outcome.ok
    assert outcome.error is not None
    assert "body is not JSON" in outcome.error
    [parked] = await list_parked(store)
    assert parked.attempts == 6
    async with store.engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(store.tables.inbox)) == 0
