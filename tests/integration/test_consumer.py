"""Durable consumers against a real nats-server: effects once, order per stream, parking."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import nats
import pytest
import sqlalchemy as sa
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.client import JetStreamContext

from shared.bus.cloudevents import stream_name, subject_for
from shared.bus.consumer import LATE_ERROR, Consumer, Subscription
from shared.bus.deadletters import redrive
from shared.bus.relay import Relay
from shared.bus.server import NatsServer
from shared.bus.streams import ensure_stream
from shared.events.base import Cause, Event, RecordedEvent
from shared.settings import Database
from shared.store.eventstore import EventStore, Transaction
from tests.conftest import postgres_only
from tests.support.feed import Feed
from tests.support.plans import rows_read, statements_run
from tests.support.probe import NoteWritten, ThingCounted, make_store
from tests.support.waiting import eventually


@dataclass
class Effects:
    """What the handler did, as the database saw it (rolled back work leaves no trace)."""

    store: EventStore
    fail_on: set[int] = field(default_factory=set)
    calls: int = 0

    async def handle(self, tx: Transaction, event: RecordedEvent) -> None:
        self.calls += 1
        if isinstance(event.event, ThingCounted) and event.event.count in self.fail_on:
            raise RuntimeError(f"cannot count {event.event.count}")
        # the effect: a note appended to the consumer's own log, once per handled event
        await tx.append(
            f"seen-{event.event_id}",
            0,
            [NoteWritten(text=f"{event.stream_id}:{event.stream_version}")],
            Cause(correlation_id=event.correlation_id, causation_id=event.event_id),
        )

    async def seen(self) -> list[str]:
        events = self.store.tables.events
        async with self.store.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(events.c.data)
                .where(events.c.stream_id.like("seen-%"))
                .order_by(events.c.position)
            )
            return [bytes(row.data).decode()[9:-2] for row in rows]


# Short waits, so that redeliveries and a change of pinned instance happen within a test.
FAST = {"fetch_wait": 0.2, "ack_wait": 2.0, "retry_delay": 0.05, "priority_timeout": 1.0}


@dataclass
class Pipeline:
    source_store: EventStore
    target_store: EventStore
    js: JetStreamContext
    source: str
    effects: Effects
    nc: Client
    url: str

    async def publish(self) -> None:
        relay = Relay(self.source_store, self.nc, owner="test")
        await relay.hold_lease()
        while (await relay.publish_once())[0]:
            pass

    def consumer(
        self,
        *,
        events: tuple[type[Event], ...] = (),
        connection: Client | None = None,
        **options: float,
    ) -> Consumer:
        return Consumer(
            self.target_store,
            connection or self.nc,
            Subscription(f"target-from-{self.source}", self.source, self.effects.handle, events),
            **(FAST | options),  # type: ignore[arg-type]
        )

    async def parked(self) -> list[tuple[str, str, int]]:
        table = self.target_store.tables.dead_letters
        async with self.target_store.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(table.c.subject, table.c.error, table.c.attempts).order_by(table.c.id)
            )
            return [(row.subject, row.error, row.attempts) for row in rows]


@pytest.fixture
async def pipeline(  # type: ignore[no-untyped-def]
    database: Database, nc: Client, own_nats_server: NatsServer, tmp_path
) -> AsyncIterator[Pipeline]:
    source = f"probe{uuid.uuid4().hex[:8]}"
    source_store = await make_store(
        Database(url=f"sqlite:///{tmp_path / 'source.db'}", schema="main"), source=source
    )
    target_store = await make_store(database, source="target")
    js = nc.jetstream()
    await ensure_stream(js, source)
    yield Pipeline(
        source_store, target_store, js, source, Effects(target_store), nc, own_nats_server.url
    )
    await js.delete_stream(stream_name(source))
    await source_store.close()
    await target_store.close()


async def test_each_event_has_its_effect_once_in_stream_order(pipeline: Pipeline) -> None:
    for n in range(3):
        await pipeline.source_store.append(
            f"thing-{n}",
            0,
            [ThingCounted(count=v) for v in range(4)],
            Cause(correlation_id=uuid.uuid4()),
        )
    await pipeline.publish()
    consumer = pipeline.consumer()
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))

    seen = await eventually(pipeline.effects.seen, lambda s: len(s) >= 12)
    stop.set()
    await task

    assert sorted(seen) == sorted(f"thing-{n}:{v}" for n in range(3) for v in range(1, 5))
    for n in range(3):
        versions = [s for s in seen if s.startswith(f"thing-{n}:")]
        assert versions == [f"thing-{n}:{v}" for v in range(1, 5)]


async def test_a_redelivered_event_has_no_second_effect(pipeline: Pipeline) -> None:
    await pipeline.source_store.append(
        "thing-1", 0, [ThingCounted(count=1)], Cause(correlation_id=uuid.uuid4())
    )
    await pipeline.publish()
    # first consumer instance handles the event, then "crashes" before acking:
    consumer = pipeline.consumer()
    pull = await consumer.subscribe()
    [message] = await pull.fetch(1, timeout=2)
    await consumer._handle_together([consumer.read(message)])
    # ... no ack: JetStream redelivers after ack_wait to the restarted consumer
    restarted = pipeline.consumer()
    stop = asyncio.Event()
    task = asyncio.create_task(restarted.run(stop))
    await eventually(restarted.lag, lambda n: n == 0, timeout=10)
    stop.set()
    await task

    assert await pipeline.effects.seen() == ["thing-1:1"]
    assert pipeline.effects.calls == 1  # the redelivery was recognised before the handler ran


async def test_a_message_that_keeps_failing_is_parked_after_n_tries(pipeline: Pipeline) -> None:
    pipeline.effects.fail_on = {13}
    await pipeline.source_store.append(
        "thing-1",
        0,
        [ThingCounted(count=13), ThingCounted(count=14)],
        Cause(correlation_id=uuid.uuid4()),
    )
    await pipeline.publish()
    consumer = pipeline.consumer(max_attempts=3)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))

    parked = await eventually(pipeline.parked, lambda rows: len(rows) == 1)
    seen = await eventually(pipeline.effects.seen, lambda s: len(s) == 1)
    stop.set()
    await task

    subject, error, attempts = parked[0]
    assert subject == subject_for(pipeline.source, "probe.thing_counted")
    assert error == "RuntimeError: cannot count 13"
    assert attempts == 3
    assert seen == ["thing-1:2"]  # the stream moved on past the parked event


async def test_malformed_messages_are_parked_with_a_readable_error(pipeline: Pipeline) -> None:
    subject = subject_for(pipeline.source, "probe.thing_counted")
    good = {
        "ce-specversion": "1.0",
        "ce-id": str(uuid.uuid4()),
        "ce-source": f"/handinhand/{pipeline.source}",
        "ce-type": "probe.thing_counted",
        "ce-time": "2026-11-28T01:00:00+00:00",
        "ce-subject": "thing-9",
        "ce-streamversion": "1",
        "ce-schemaversion": "2",
    }
    await pipeline.js.publish(
        subject, b'{"count": 1}', headers={k: v for k, v in good.items() if k != "ce-type"}
    )
    await pipeline.js.publish(subject, b"not json", headers={**good, "ce-id": str(uuid.uuid4())})
    await pipeline.js.publish(
        subject, b'{"count": "many"}', headers={**good, "ce-id": str(uuid.uuid4())}
    )
    await pipeline.js.publish(
        subject, b"{}", headers={**good, "ce-type": "probe.unheard_of", "ce-id": str(uuid.uuid4())}
    )
    await pipeline.js.publish(subject, b"{}", headers={**good, "ce-id": "not-a-uuid"})
    await pipeline.js.publish(
        subject,
        b'{"count": 1}',
        headers={**good, "ce-id": str(uuid.uuid4()), "ce-priorversions": "probe.thing_counted=1"},
    )
    consumer = pipeline.consumer()
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))

    parked = await eventually(pipeline.parked, lambda rows: len(rows) == 6)
    stop.set()
    await task

    errors = [row[1] for row in parked]
    assert errors[0] == "malformed message: missing header(s): ce-type"
    assert errors[1].startswith("malformed message: probe.thing_counted v2: body is not JSON")
    assert "Expected `int`, got `str` - at `$.count`" in errors[2]
    assert errors[3] == "malformed message: unknown event type 'probe.unheard_of'"
    assert errors[4].startswith("malformed message: an id header is not a UUID")
    assert errors[5] == (
        "malformed message: ce-priorversions entry 'probe.thing_counted=1' is not "
        "type=version below the stream version"
    )
    assert pipeline.effects.calls == 0


async def test_one_instance_takes_the_messages_while_another_stands_by(
    pipeline: Pipeline,
) -> None:
    for n in range(6):
        await pipeline.source_store.append(
            f"thing-{n}",
            0,
            [ThingCounted(count=v) for v in range(10)],
            Cause(correlation_id=uuid.uuid4()),
        )
    await pipeline.publish()
    first, second = pipeline.consumer(), pipeline.consumer()
    first.batch_size = second.batch_size = 7  # small batches: many pulls by both
    stop = asyncio.Event()
    tasks = [asyncio.create_task(c.run(stop)) for c in (first, second)]

    seen = await eventually(pipeline.effects.seen, lambda s: len(s) >= 60)
    await eventually(first.lag, lambda n: n == 0)
    stop.set()
    await asyncio.gather(*tasks)

    assert len(seen) == 60
    assert len(set(seen)) == 60
    for n in range(6):
        versions = [s for s in seen if s.startswith(f"thing-{n}:")]
        assert versions == [f"thing-{n}:{v}" for v in range(1, 11)]
    assert sorted([first.handled, second.handled]) == [0, 60]  # one pinned, one standing by


async def test_when_the_pinned_instance_dies_the_standby_takes_over_in_stream_order(
    pipeline: Pipeline,
) -> None:
    for n in range(3):
        await pipeline.source_store.append(
            f"thing-{n}",
            0,
            [ThingCounted(count=v) for v in range(8)],
            Cause(correlation_id=uuid.uuid4()),
        )
    await pipeline.publish()
    # The first instance takes a batch and dies with it: no ack, no more pulls.
    doomed = await nats.connect(pipeline.url)
    dying = pipeline.consumer(connection=doomed)
    pull = await dying.subscribe()
    taken = await pull.fetch(5, timeout=2)
    assert pull.pinned
    await doomed.close()
    standby = pipeline.consumer()
    stop = asyncio.Event()
    task = asyncio.create_task(standby.run(stop))

    seen = await eventually(pipeline.effects.seen, lambda s: len(s) >= 24, timeout=20)
    await eventually(standby.lag, lambda n: n == 0)
    stop.set()
    await task

    assert len(taken) == 5
    assert len(seen) == 24
    for n in range(3):
        versions = [s for s in seen if s.startswith(f"thing-{n}:")]
        assert versions == [f"thing-{n}:{v}" for v in range(1, 9)]
    assert await pipeline.parked() == []


async def test_a_pinned_instance_that_stops_hands_over_at_once(pipeline: Pipeline) -> None:
    consumer = pipeline.consumer(priority_timeout=30.0)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    await pipeline.source_store.append(
        "thing-1", 0, [ThingCounted(count=1)], Cause(correlation_id=uuid.uuid4())
    )
    await pipeline.publish()
    await eventually(pipeline.effects.seen, lambda s: len(s) == 1)

    async def pinned_id() -> str | None:
        reply = await pipeline.nc.request(
            f"$JS.API.CONSUMER.INFO.{consumer.stream}.{consumer.name}", b"", timeout=2
        )
        [group] = json.loads(reply.data)["priority_groups"]
        pinned: str | None = group.get("pinned_client_id")
        return pinned

    assert consumer.pinned
    assert await pinned_id() is not None
    stop.set()
    await task
    # not after the 30 s of the priority timeout: the standby is served now
    assert await pinned_id() is None


async def test_an_event_whose_predecessor_never_comes_is_parked_and_its_stream_moves_on(
    pipeline: Pipeline,
) -> None:
    feed = Feed(pipeline.nc)
    lost = feed.lose("thing-1", ThingCounted(count=1))
    await feed.publish(pipeline.source, "thing-1", ThingCounted(count=2))
    await feed.publish(pipeline.source, "thing-1", ThingCounted(count=3))
    consumer = pipeline.consumer(early_timeout=0.5)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))

    seen = await eventually(pipeline.effects.seen, lambda s: len(s) == 1)
    # the lost one turns up after all: parked too, never taken for a redelivery
    await feed.publish(pipeline.source, "thing-1", ThingCounted(count=1), version=lost)
    parked = await eventually(pipeline.parked, lambda rows: len(rows) == 2)
    stop.set()
    await task

    assert seen == ["thing-1:3"]  # version 3 did not wait behind the parked version 2
    assert [error for _subject, error, _attempts in parked] == [
        "its predecessor in the stream never arrived (waited for v1, handled up to v0)",
        LATE_ERROR,
    ]
    redriven = await redrive(pipeline.target_store, {consumer.name: consumer.subscription})
    assert [outcome.ok for outcome in redriven] == [True, True]
    assert await pipeline.effects.seen() == ["thing-1:3", "thing-1:2", "thing-1:1"]


async def test_an_existing_consumer_without_a_priority_group_is_brought_into_one(
    pipeline: Pipeline,
) -> None:
    await pipeline.source_store.append(
        "thing-1", 0, [ThingCounted(count=v) for v in range(3)], Cause(correlation_id=uuid.uuid4())
    )
    await pipeline.publish()
    name = f"target-from-{pipeline.source}"
    stream = stream_name(pipeline.source)
    # as an earlier release made it, with one message handled and acknowledged
    await pipeline.js.add_consumer(
        stream, ConsumerConfig(durable_name=name, name=name, ack_policy=AckPolicy.EXPLICIT)
    )
    old = await pipeline.js.pull_subscribe_bind(durable=name, stream=stream)
    [first] = await old.fetch(1, timeout=2)
    consumer = pipeline.consumer()
    await consumer._handle_together([consumer.read(first)])
    await first.ack_sync()
    await old.unsubscribe()

    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    seen = await eventually(pipeline.effects.seen, lambda s: len(s) == 3)
    await eventually(consumer.lag, lambda n: n == 0)
    stop.set()
    await task

    info = await pipeline.js.consumer_info(stream, name)
    assert info.config.ack_wait == consumer.ack_wait
    assert seen == ["thing-1:1", "thing-1:2", "thing-1:3"]
    assert pipeline.effects.calls == 3  # went on from where the old one was


def things_and_notes(n: int) -> list[Event]:
    """A stream where the consumer's type (things) and another (notes) take turns."""
    return [ThingCounted(count=v) if v % 2 == 0 else NoteWritten(text=str(v)) for v in range(n)]


@pytest.mark.parametrize("instances", [1, 2])
async def test_a_consumer_gets_only_its_event_types_each_once_in_stream_order(
    pipeline: Pipeline, instances: int
) -> None:
    for n in range(4):
        await pipeline.source_store.append(
            f"thing-{n}", 0, things_and_notes(10), Cause(correlation_id=uuid.uuid4())
        )
    await pipeline.publish()
    consumers = [pipeline.consumer(events=(ThingCounted,)) for _ in range(instances)]
    for consumer in consumers:
        consumer.batch_size = 3  # small batches: several instances each get some
    stop = asyncio.Event()
    tasks = [asyncio.create_task(c.run(stop)) for c in consumers]

    seen = await eventually(pipeline.effects.seen, lambda s: len(s) >= 20)
    await eventually(consumers[0].lag, lambda n: n == 0)
    stop.set()
    await asyncio.gather(*tasks)

    assert pipeline.effects.calls == 20  # no note was delivered, so none reached the handler
    for n in range(4):
        versions = [s for s in seen if s.startswith(f"thing-{n}:")]
        assert versions == [f"thing-{n}:{v}" for v in range(1, 11, 2)]
    assert sum(c.handled for c in consumers) == 20


async def test_an_event_waits_for_the_earlier_one_of_a_type_it_takes_not_for_others(
    pipeline: Pipeline,
) -> None:
    await pipeline.source_store.append(
        "thing-1", 0, things_and_notes(3), Cause(correlation_id=uuid.uuid4())
    )
    await pipeline.publish()
    consumer = pipeline.consumer(events=(ThingCounted,))
    pull = await consumer.subscribe()
    first, third = await pull.fetch(2, timeout=2)  # versions 1 and 3 (2 is a note)
    assert (consumer.read(first).after, consumer.read(third).after) == (0, 1)

    async def outcome(msg: Msg) -> tuple[list[Msg], list[Msg]]:
        handled = await consumer._handle_together([consumer.read(msg)])
        return handled.acks, [delivery.msg for delivery in handled.early]

    # version 3 alone: its predecessor among things (version 1) is not handled yet
    assert await outcome(third) == ([], [third])
    assert await outcome(first) == ([first], [])
    assert await outcome(third) == ([third], [])
    assert await pipeline.effects.seen() == ["thing-1:1", "thing-1:3"]


async def test_subscribing_brings_an_existing_consumers_subjects_up_to_date(
    pipeline: Pipeline,
) -> None:
    await pipeline.consumer().subscribe()
    await pipeline.consumer(events=(ThingCounted, NoteWritten)).subscribe()
    info = await pipeline.js.consumer_info(
        stream_name(pipeline.source), f"target-from-{pipeline.source}"
    )
    assert info.config.filter_subjects == [
        subject_for(pipeline.source, "probe.note_written"),
        subject_for(pipeline.source, "probe.thing_counted"),
    ]


@postgres_only
async def test_the_inbox_is_read_for_the_streams_of_a_batch_only(pipeline: Pipeline) -> None:
    """However many streams the consumer has handled before, and whatever PostgreSQL's
    statistics of a freshly filled inbox say."""
    name = pipeline.consumer().name
    async with pipeline.target_store.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO inbox (consumer, stream_id, stream_version, event_id, handled_at) "
                "SELECT :consumer, 'earlier-' || n, 1, gen_random_uuid(), now() "
                "FROM generate_series(1, 20000) AS n"
            ),
            {"consumer": name},
        )
    for n in range(30):
        await pipeline.source_store.append(
            f"thing-{n}", 0, [ThingCounted(count=1)], Cause(correlation_id=uuid.uuid4())
        )
    await pipeline.publish()
    consumer = pipeline.consumer()
    stop = asyncio.Event()
    with statements_run(pipeline.target_store.engine) as ran:
        task = asyncio.create_task(consumer.run(stop))
        await eventually(pipeline.effects.seen, lambda s: len(s) == 30)
        stop.set()
        await task

    reads = [(sql, args) for sql, args in ran if sql.startswith("SELECT") and "inbox" in sql]
    assert reads
    for statement, parameters in reads:
        assert await rows_read(pipeline.target_store.engine, statement, parameters) <= 30
