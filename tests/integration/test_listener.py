"""What every instance hears on its own (shared/bus/listener.py), against a real nats-server:
each of two instances hears every event, a replay is whole before the instance is ready, a
malformed message is passed over, and a NATS restart loses nothing the stream holds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from nats.aio.client import Client

from shared.bus.cloudevents import stream_name, subject_for
from shared.bus.listener import Hearing, Listener
from shared.bus.server import NatsServer
from shared.bus.streams import ensure_stream
from shared.events.base import RecordedEvent
from tests.support.feed import Feed
from tests.support.probe import PROBE_CATALOG, NoteWritten, ThingCounted
from tests.support.waiting import eventually

SOURCE = "probe"


@dataclass
class Instance:
    """One instance's hearing and what it heard."""

    heard: list[int] = field(default_factory=list)

    async def hear(self, recorded: RecordedEvent) -> None:
        assert isinstance(recorded.event, ThingCounted)
        self.heard.append(recorded.event.count)

    def hearing(self, *, replay: bool) -> Hearing:
        return Hearing("counts", SOURCE, (ThingCounted,), self.hear, replay=replay)


@dataclass
class Running:
    nc: Client
    listeners: list[Listener] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def start(self, instance: Instance, *, replay: bool = False) -> Listener:
        listener = Listener(PROBE_CATALOG, instance.hearing(replay=replay))
        self.listeners.append(listener)
        self.tasks.append(asyncio.create_task(listener.run(self.nc.jetstream(), self.stop)))
        return listener


@pytest.fixture
async def running(nc: Client) -> AsyncIterator[Running]:
    await ensure_stream(nc.jetstream(), SOURCE)
    made = Running(nc)
    yield made
    made.stop.set()
    await asyncio.gather(*made.tasks)


async def counted(feed: Feed, *counts: int) -> None:
    for count in counts:
        await feed.publish(SOURCE, f"thing-{count}", ThingCounted(count=count))


async def test_each_instance_hears_every_event(nc: Client, running: Running) -> None:
    first, second = Instance(), Instance()
    for instance in (first, second):
        await running.start(instance).caught_up.wait()
    feed = Feed(nc)

    await counted(feed, 1, 2, 3)
    await feed.publish(SOURCE, "note-1", NoteWritten(text="not heard: another type"))

    await eventually(lambda: asyncio.sleep(0, first.heard + second.heard), lambda h: len(h) == 6)
    assert first.heard == [1, 2, 3]
    assert second.heard == [1, 2, 3]


async def test_a_replay_is_whole_before_the_instance_is_ready(nc: Client, running: Running) -> None:
    feed = Feed(nc)
    await counted(feed, 1, 2, 3)
    late = Instance()

    listener = running.start(late, replay=True)
    await asyncio.wait_for(listener.caught_up.wait(), 15)

    assert late.heard == [1, 2, 3]  # all of them by the time it says it caught up
    await counted(feed, 4)
    await eventually(lambda: asyncio.sleep(0, late.heard), lambda h: h == [1, 2, 3, 4])


async def test_without_replay_an_instance_hears_from_its_start(
    nc: Client, running: Running
) -> None:
    feed = Feed(nc)
    await counted(feed, 1)
    instance = Instance()
    await running.start(instance).caught_up.wait()
    await asyncio.sleep(0)  # let a wrongly replayed message arrive first, if it would

    await counted(feed, 2)

    await eventually(lambda: asyncio.sleep(0, instance.heard), lambda h: len(h) >= 1)
    assert instance.heard == [2]


async def test_an_empty_stream_is_caught_up_at_once(running: Running) -> None:
    listener = running.start(Instance(), replay=True)

    await asyncio.wait_for(listener.caught_up.wait(), 15)


async def test_a_malformed_message_is_passed_over(nc: Client, running: Running) -> None:
    instance = Instance()
    await running.start(instance).caught_up.wait()
    js = nc.jetstream()

    await js.publish(subject_for(SOURCE, ThingCounted.event_type), b"not an event")
    await counted(Feed(nc), 7)

    await eventually(lambda: asyncio.sleep(0, instance.heard), lambda h: h == [7])
    assert running.listeners[0].heard == 1


async def test_what_is_published_across_a_nats_restart_is_heard(
    nc: Client, running: Running, own_nats_server: NatsServer
) -> None:
    instance = Instance()
    await running.start(instance).caught_up.wait()
    feed = Feed(nc)
    await counted(feed, 1)
    await eventually(lambda: asyncio.sleep(0, instance.heard), lambda h: h == [1])

    await own_nats_server.stop_async()
    await own_nats_server.start_async()
    await eventually(lambda: asyncio.sleep(0, nc.is_connected), bool)
    await counted(feed, 2, 3)

    await eventually(lambda: asyncio.sleep(0, instance.heard), lambda h: h == [1, 2, 3])
    info = await nc.jetstream().stream_info(stream_name(SOURCE))
    assert info.state.messages == 3
