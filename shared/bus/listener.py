"""What every instance of a service hears on its own: an ordered consumer per instance, not a
durable consumer shared through a priority group (shared.bus.consumer).

For what an instance keeps in memory or hands to the connections it holds, where a shared
durable consumer would tell one instance and leave the others unaware: the token ids revoked
(each instance refuses them), the pages a console instance keeps open (each pushes to its own
browsers). Nothing is written, so there is no inbox and no outbox: hearing an event twice must
be harmless, and what an instance missed while it was not running is either replayed at its
start (`replay`) or not its business (a page opened later reads the API).

JetStream's ordered consumer is ephemeral and kept in step by the client (a gap or two missed
heartbeats recreate it from the last stream sequence heard), so a NATS outage loses nothing
the stream still holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import nats.js.errors
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy
from nats.js.client import JetStreamContext

from shared.bus.cloudevents import MalformedMessageError, decode_message, stream_name, subject_for
from shared.events.base import Event, RecordedEvent
from shared.events.catalog import Catalog

log = logging.getLogger("handinhand.listener")

Hear = Callable[[RecordedEvent], Awaitable[None]]
HEARTBEAT_S = 2.0
T = TypeVar("T")


class _StoppedError(Exception):
    """The instance stopped while the hearing still waited for JetStream."""


@dataclass(frozen=True)
class Hearing:
    """Events of `source` that each instance hears: `hear` is called once per event, in
    stream order per event type. `replay`: from the stream's first message, and the instance
    is not ready until it has heard all that were there when it started; else from now on."""

    name: str
    source: str
    events: tuple[type[Event], ...]
    hear: Hear
    replay: bool = False

    def __post_init__(self) -> None:
        if not self.events:
            raise ValueError(f"hearing {self.name}: name the event types it hears")


class Listener:
    """One hearing, run for one instance."""

    def __init__(self, catalog: Catalog, hearing: Hearing) -> None:
        self.catalog = catalog
        self.hearing = hearing
        self.caught_up = asyncio.Event()
        self.heard = 0
        self._behind: dict[str, int] = {}  # subject -> the last stream sequence to catch up to

    @property
    def stream(self) -> str:
        return stream_name(self.hearing.source)

    async def run(self, js: JetStreamContext, stop: asyncio.Event) -> None:
        """Subscribe (retrying while JetStream cannot be asked), hear until `stop`."""
        subjects = sorted(
            subject_for(self.hearing.source, kind.event_type) for kind in self.hearing.events
        )
        subscriptions: list[JetStreamContext.PushSubscription] = []
        self.js = js
        try:
            if self.hearing.replay:
                # Where each subject's stream ends now: heard that far, the instance is whole.
                behind = await self._retrying(
                    stop, functools.partial(self._last_sequences, subjects)
                )
                self._behind = {subject: seq for subject, seq in behind.items() if seq > 0}
            for subject in subjects:
                subscribe = functools.partial(self._subscribe, subject)
                subscriptions.append(await self._retrying(stop, subscribe))
            if not self._behind:  # nothing to replay: ready once subscribed
                self.caught_up.set()
            await stop.wait()
        except _StoppedError:
            pass  # stopped before JetStream could be asked (e.g. a short-lived instance)
        finally:
            for subscription in subscriptions:
                with contextlib.suppress(Exception):
                    await subscription.unsubscribe()

    async def _retrying(self, stop: asyncio.Event, ask: Callable[[], Awaitable[T]]) -> T:
        delay = 0.2
        while True:
            try:
                return await ask()
            except Exception as error:
                if stop.is_set():
                    raise _StoppedError from error
                log.warning("hearing %s cannot subscribe yet: %s", self.hearing.name, error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, 5.0)

    async def _subscribe(self, subject: str) -> JetStreamContext.PushSubscription:
        return await self.js.subscribe(
            subject,
            stream=self.stream,
            cb=self._handler(subject),
            ordered_consumer=True,
            idle_heartbeat=HEARTBEAT_S,
            deliver_policy=DeliverPolicy.ALL if self.hearing.replay else DeliverPolicy.NEW,
        )

    async def _last_sequences(self, subjects: list[str]) -> dict[str, int]:
        return {subject: await self._last_sequence(subject) for subject in subjects}

    async def _last_sequence(self, subject: str) -> int:
        try:
            last = await self.js.get_last_msg(self.stream, subject)
        except nats.js.errors.NotFoundError:
            return 0
        return int(last.seq or 0)

    def _note_progress(self, subject: str, sequence: int) -> None:
        if sequence >= self._behind.get(subject, 0):
            self._behind.pop(subject, None)
            if not self._behind:
                self.caught_up.set()

    def _handler(self, subject: str) -> Callable[[Msg], Awaitable[None]]:
        async def heard(msg: Msg) -> None:
            try:
                recorded = decode_message(self.catalog, msg.headers, msg.data)
                await self.hearing.hear(recorded)
                self.heard += 1
            except MalformedMessageError as error:
                # Nothing to park: an ordered consumer never redelivers, so it cannot loop.
                log.warning("hearing %s skipped a malformed message: %s", self.hearing.name, error)
            except Exception:
                log.exception("hearing %s failed on a message", self.hearing.name)
            finally:
                if self.hearing.replay and subject in self._behind:
                    self._note_progress(subject, msg.metadata.sequence.stream)

        return heard
