"""Messages a consumer holds when its database goes away are not failures of their handler:
they go back to JetStream without an attempt counted towards parking, and are handled once
when the database is back."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from nats.aio.client import Client
from sqlalchemy.engine import make_url

from shared.bus.cloudevents import stream_name
from shared.bus.consumer import Consumer, Subscription
from shared.bus.relay import Relay
from shared.bus.streams import ensure_stream
from shared.events.base import Cause, RecordedEvent
from shared.settings import Database
from shared.store.eventstore import EventStore, Transaction
from shared.store.reachability import unreachable
from tests.conftest import postgres_only
from tests.support.probe import NoteWritten, ThingCounted, make_store
from tests.support.proxy import Proxy
from tests.support.waiting import eventually


async def note(tx: Transaction, event: RecordedEvent) -> None:
    """The handler's effect: a note in the consumer's own log, once per handled event."""
    await tx.append(
        f"seen-{event.event_id}",
        0,
        [NoteWritten(text=f"{event.stream_id}:{event.stream_version}")],
        Cause(correlation_id=event.correlation_id, causation_id=event.event_id),
    )


async def count(store: EventStore, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    async with store.engine.connect() as conn:
        found = await conn.scalar(sa.select(sa.func.count()).select_from(table).where(*where))
    return int(found or 0)


@postgres_only
async def test_messages_in_hand_wait_for_the_database_and_are_handled_once(
    database: Database, nc: Client, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = f"probe{uuid.uuid4().hex[:8]}"
    url = make_url(database.url)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    source_store = await make_store(
        Database(url=f"sqlite:///{tmp_path / 'source.db'}", schema="main"), source=source
    )
    target = await make_store(Database(url=through, schema=database.schema), source="target")
    js = nc.jetstream()
    await ensure_stream(js, source)
    for n in range(3):
        await source_store.append(
            f"thing-{n}", 0, [ThingCounted(count=n)], Cause(correlation_id=uuid.uuid4())
        )
    relay = Relay(source_store, nc, owner="test")
    await relay.hold_lease()
    await relay.publish_once()
    consumer = Consumer(
        target,
        nc,
        Subscription(f"target-from-{source}", source, note),
        fetch_wait=0.2,
        ack_wait=2.0,
        retry_delay=0.05,
    )
    events = target.tables.events
    try:
        pull = await consumer.subscribe()
        messages = await pull.fetch(3, timeout=5)
        await pull.unsubscribe()
        proxy.cut()
        with pytest.raises(Exception) as raised:  # the consumer's loop waits, then goes on
            await consumer.handle_batch(messages)
        proxy.restore()
        stop = asyncio.Event()
        running = asyncio.create_task(consumer.run(stop))
        await eventually(
            lambda: count(target, events, events.c.stream_id.like("seen-%")), lambda n: n == 3
        )
        stop.set()
        await running
        parked = await count(target, target.tables.dead_letters)
    finally:
        await js.delete_stream(stream_name(source))
        await source_store.close()
        await target.close()
        proxy.stop()

    assert unreachable(raised.value)
    assert parked == 0
    assert consumer.handled == 3
    attempts = [r for r in caplog.records if r.levelno >= logging.WARNING and "attempt" in r.msg]
    assert attempts == []  # no handler failure was counted or logged
