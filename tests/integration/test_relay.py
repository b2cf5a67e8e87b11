"""The outbox relay against a real nats-server: order, CloudEvents, no skips, no loss."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
import sqlalchemy as sa
from nats.aio.client import Client
from nats.js.api import RawStreamMsg
from nats.js.client import JetStreamContext

from shared.bus.cloudevents import prior_versions, stream_name
from shared.bus.publisher import PublishRejectedError
from shared.bus.relay import Relay
from shared.bus.server import NatsServer
from shared.bus.streams import ensure_stream
from shared.events.base import Cause
from shared.settings import Database
from shared.store.eventstore import EventStore
from tests.conftest import postgres_only
from tests.support.probe import NoteWritten, ThingCounted, make_store
from tests.support.waiting import eventually


def cause() -> Cause:
    return Cause(correlation_id=uuid.uuid4())


async def stream_messages(js: JetStreamContext, source: str) -> list[RawStreamMsg]:
    """Every message the stream holds, in stream order."""
    info = await js.stream_info(stream_name(source))
    return [
        await js.get_msg(stream_name(source), seq)
        for seq in range(info.state.first_seq, info.state.last_seq + 1)
    ]


async def saved_position(store: EventStore) -> tuple[int, int]:
    async with store.reader.connect() as conn:
        table = store.tables.relay_position
        row = (await conn.execute(sa.select(table.c.tx_id, table.c.position))).one()
        return row.tx_id, row.position


def header(message: RawStreamMsg, name: str) -> str:
    assert message.headers is not None
    return str(message.headers[name])


async def publish_until(relay: Relay, js: JetStreamContext, source: str, count: int) -> None:
    """Publish until the stream holds `count` messages: on a shared PostgreSQL another
    session's open transaction may hold the readable horizon back for a moment."""

    async def publish_and_count() -> int:
        await relay.publish_once()
        return await stored_count(js, source)

    await eventually(publish_and_count, lambda n: n >= count)


async def stored_count(js: JetStreamContext, source: str) -> int:
    return int((await js.stream_info(stream_name(source))).state.messages)


@pytest.fixture
async def relayed(
    database: Database, nc: Client
) -> AsyncIterator[tuple[EventStore, JetStreamContext, Relay, str]]:
    source = f"probe{uuid.uuid4().hex[:8]}"
    store = await make_store(database, source=source)
    js = nc.jetstream()
    await ensure_stream(js, source)
    relay = Relay(store, nc, owner="test")
    yield store, js, relay, source
    await js.delete_stream(stream_name(source))
    await store.close()


async def test_publishes_committed_events_as_cloudevents_in_order(relayed) -> None:  # type: ignore[no-untyped-def]
    store, js, relay, source = relayed
    appended = await store.append("thing-1", 0, [ThingCounted(count=n) for n in range(3)], cause())

    assert await relay.hold_lease()
    await publish_until(relay, js, source, 3)
    assert (await relay.publish_once())[0] == 0

    messages = await stream_messages(js, source)
    assert [header(m, "ce-id") for m in messages] == [str(e.event_id) for e in appended]
    first = messages[0]
    assert first.subject == f"handinhand.{source}.probe.thing_counted"
    assert first.headers is not None
    assert first.headers["ce-specversion"] == "1.0"
    assert first.headers["ce-type"] == "probe.thing_counted"
    assert first.headers["ce-subject"] == "thing-1"
    assert first.headers["ce-source"] == f"/handinhand/{source}"
    assert first.headers["ce-streamversion"] == "1"
    assert first.headers["Nats-Msg-Id"] == first.headers["ce-id"]
    assert first.data == b'{"count":0,"unit":"item"}'
    assert await relay.lag() == 0


async def test_a_republish_after_losing_the_position_reaches_the_stream_once(relayed) -> None:  # type: ignore[no-untyped-def]
    store, js, relay, source = relayed
    await store.append("thing-1", 0, [ThingCounted(count=n) for n in range(5)], cause())
    await relay.hold_lease()
    await publish_until(relay, js, source, 5)
    # as if the process died after publishing but before its position was saved
    async with store.engine.begin() as conn:
        await conn.execute(
            store.tables.relay_position.update().values(tx_id=-1, position=0, owner=None)
        )
    successor = Relay(store, relay.publisher.nc, owner="successor")

    assert await successor.hold_lease()
    assert (await successor.publish_once())[0] == 5

    assert await stored_count(js, source) == 5


@postgres_only  # SQLite has one writer at a time: no commit there can be late
async def test_no_event_is_skipped_when_a_slow_transaction_commits_late(relayed) -> None:  # type: ignore[no-untyped-def]
    store, js, relay, source = relayed
    assert await relay.hold_lease()

    async def writer(n: int) -> None:
        for i in range(10):
            await store.append(f"fast-{n}", i, [ThingCounted(count=i)], cause())

    async with store.transaction() as tx:
        # Inserted first, so numbered before every other event; committed after all of them.
        await tx.append("slow", 0, [ThingCounted(count=-1)], cause())
        await asyncio.gather(*(writer(n) for n in range(8)))
        committed_later = await relay.lag()
        sent, behind = await relay.publish_once()
        # The relay read after the later-numbered events committed, the slow one still open:
        # it saw them and published none, since the slow one would come before them.
        assert (committed_later, sent, behind) == (80, 0, True)

    stop = asyncio.Event()
    runner = asyncio.create_task(relay.run(stop))
    await eventually(lambda: stored_count(js, source), lambda n: n >= 81)
    stop.set()
    await runner

    messages = await stream_messages(js, source)
    ids = [header(m, "ce-id") for m in messages]
    assert len(ids) == 81
    assert len(set(ids)) == 81
    assert "slow" in {header(m, "ce-subject") for m in messages}


async def test_relay_catches_up_after_nats_was_stopped_and_started(
    database: Database, own_nats_server: NatsServer
) -> None:
    store = await make_store(database, source="probe")
    nc = await nats.connect(own_nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    js = nc.jetstream()
    await ensure_stream(js, "probe")
    relay = Relay(store, nc, owner="test", publish_timeout=1.0)
    stop = asyncio.Event()
    runner = asyncio.create_task(relay.run(stop))
    try:
        await store.append("thing-1", 0, [ThingCounted(count=0)], cause())
        await eventually(lambda: stored_count(js, "probe"), lambda n: n == 1)

        await own_nats_server.stop_async()
        for version in range(1, 20):
            await store.append("thing-1", version, [ThingCounted(count=version)], cause())
        assert await relay.lag() == 19  # buffered in the database while NATS is away
        await own_nats_server.start_async()

        await eventually(lambda: stored_count(js, "probe"), lambda n: n >= 20, timeout=30)
        await eventually(relay.lag, lambda n: n == 0)
        messages = await stream_messages(js, "probe")
        assert [header(m, "ce-streamversion") for m in messages] == [str(v) for v in range(1, 21)]
    finally:
        stop.set()
        await runner
        await nc.close()
        await store.close()


APPEND_THEN_HANG = """
import asyncio, sys, uuid
from shared.events.base import Cause
from shared.settings import Database
from tests.support.probe import NoteWritten, ThingCounted, make_store

async def main():
    store = await make_store(Database(url=sys.argv[1], schema=sys.argv[2]), source="probe")
    await store.append("thing-1", 0, [ThingCounted(count=1)], Cause(correlation_id=uuid.uuid4()))
    print("committed", flush=True)
    await asyncio.sleep(3600)  # killed here: committed, never published

asyncio.run(main())
"""


async def test_an_event_committed_by_a_killed_process_is_published_once_after_restart(
    database: Database, nc: Client
) -> None:
    child = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-c", APPEND_THEN_HANG, database.url, database.schema],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert child.stdout is not None
    line = await asyncio.to_thread(child.stdout.readline)
    assert line.strip() == b"committed"
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()

    store = await make_store(database, source="probe")
    js = nc.jetstream()
    await ensure_stream(js, "probe")
    try:
        relay = Relay(store, nc, owner="restarted")
        await relay.hold_lease()
        await publish_until(relay, js, "probe", 1)
        await relay.publish_once()
        messages = await stream_messages(js, "probe")
        assert [header(m, "ce-subject") for m in messages] == ["thing-1"]
    finally:
        await js.delete_stream(stream_name("probe"))
        await store.close()


async def test_ce_time_is_an_rfc3339_instant_with_offset(relayed) -> None:  # type: ignore[no-untyped-def]
    store, js, relay, source = relayed
    await store.append("thing-1", 0, [ThingCounted(count=1)], cause())
    await relay.hold_lease()
    await publish_until(relay, js, source, 1)

    [message] = await stream_messages(js, source)

    assert header(message, "ce-time").endswith("+00:00")


async def test_the_position_is_saved_now_and_then_and_when_the_relay_stops(relayed) -> None:  # type: ignore[no-untyped-def]
    store, js, _relay, source = relayed
    relay = Relay(store, _relay.publisher.nc, owner="test", save_every=3600)
    stop = asyncio.Event()
    runner = asyncio.create_task(relay.run(stop))
    await store.append("thing-1", 0, [ThingCounted(count=n) for n in range(3)], cause())
    await eventually(lambda: stored_count(js, source), lambda n: n == 3)

    before_stop = await saved_position(store)
    stop.set()
    await runner

    assert before_stop[1] == 0  # not yet due: published, position kept in memory
    assert (await saved_position(store))[1] > 0
    assert await Relay(store, relay.publisher.nc, owner="next").lag() == 0


async def test_a_resting_relay_wakes_for_the_commits_of_every_instance_that_writes(
    relayed: tuple[EventStore, JetStreamContext, Relay, str], database: Database
) -> None:
    store, js, _relay, source = relayed
    # The relay would rest for a minute: only a doorbell brings these events out sooner.
    relay = Relay(store, _relay.publisher.nc, owner="a", idle_wait=60)
    # PostgreSQL: another instance writes and announces its commits. SQLite: one process
    # writes each file, and its own commits ring the relay's doorbell.
    other = await make_store(database, source=source) if database.is_postgres else store
    stop = asyncio.Event()
    announcing = asyncio.create_task(other.doorbell.announce_commits(stop))
    async with store.doorbell.commits_from_everywhere():
        runner = asyncio.create_task(relay.run(stop))
        try:
            await store.append("own", 0, [ThingCounted(count=1)], cause())
            await eventually(lambda: stored_count(js, source), lambda n: n == 1, timeout=20)
            await eventually(lambda: saved_position(store), lambda at: at[1] > 0)  # at rest
            await other.append("other", 0, [ThingCounted(count=2)], cause())
            await eventually(lambda: stored_count(js, source), lambda n: n == 2, timeout=20)
        finally:
            stop.set()
            await runner
            await announcing
            if other is not store:
                await other.close()


async def test_each_event_names_the_latest_earlier_version_of_each_type_in_its_stream(
    relayed: tuple[EventStore, JetStreamContext, Relay, str],
) -> None:
    store, js, relay, source = relayed
    await store.append("thing-1", 0, [ThingCounted(count=1), NoteWritten(text="a")], cause())
    await store.append("thing-1", 2, [ThingCounted(count=2)], cause())
    stop = asyncio.Event()
    runner = asyncio.create_task(relay.run(stop))
    await eventually(lambda: stored_count(js, source), lambda n: n == 3)
    stop.set()
    await runner
    # A relay that remembers nothing (the same one restarted) looks the stream up.
    await store.append("thing-1", 3, [NoteWritten(text="b"), ThingCounted(count=3)], cause())
    successor = Relay(store, relay.publisher.nc, owner="test")
    assert await successor.hold_lease()
    await publish_until(successor, js, source, 5)

    messages = await stream_messages(js, source)
    assert [
        prior_versions(m.headers or {}, int(header(m, "ce-streamversion"))) for m in messages
    ] == [
        None,
        {"probe.thing_counted": 1},
        {"probe.thing_counted": 1, "probe.note_written": 2},
        {"probe.thing_counted": 3, "probe.note_written": 2},
        {"probe.thing_counted": 3, "probe.note_written": 4},
    ]
    assert successor.published == 2  # from the saved position: the lookup was needed


async def test_events_taken_by_another_stream_stop_the_relay_where_it_is(
    database: Database, nc: Client
) -> None:
    source = f"probe{uuid.uuid4().hex[:8]}"
    store = await make_store(database, source=source)
    js = nc.jetstream()
    # A misconfigured cluster: our subjects land in a stream that is not ours.
    await js.add_stream(name=f"ELSEWHERE_{source.upper()}", subjects=[f"handinhand.{source}.>"])
    relay = Relay(store, nc, owner="test")
    try:
        await store.append("thing-1", 0, [ThingCounted(count=1)], cause())
        assert await relay.hold_lease()

        # On a shared PostgreSQL another session's open transaction may hold the readable
        # horizon back for a moment (see publish_until): try until the event is read.
        async def rejection() -> PublishRejectedError | None:
            try:
                await relay.publish_once()
            except PublishRejectedError as error:
                return error
            return None

        rejected = await eventually(rejection, lambda error: error is not None)
        assert f"not {stream_name(source)}" in str(rejected)

        assert await relay.lag() == 1  # not published as far as the relay is concerned
    finally:
        await js.delete_stream(f"ELSEWHERE_{source.upper()}")
        await store.close()
