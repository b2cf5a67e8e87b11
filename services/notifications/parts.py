"""What the notifications service plugs into the shared runtime: tables, read models,
consumers, reminder timers, the SMS sender and its metrics."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from services.notifications import consumers, handlers
from services.notifications.delivery import channel_of
from services.notifications.metrics import sms_metrics
from services.notifications.sender import Sender
from services.notifications.tables import READ_MODELS, metadata, store_tables, timers
from services.notifications.views import projection
from shared.events.base import RecordedEvent
from shared.events.notifications import SmsQueued
from shared.runtime import Runtime, ServiceParts, Worker
from shared.store.eventstore import Transaction
from shared.store.timers import Timer, TimerHandler


def timer_handlers(runtime: Runtime) -> dict[str, TimerHandler]:
    channel = channel_of(runtime)

    async def reminder(tx: Transaction, timer: Timer) -> None:
        await handlers.fire_reminder(tx, channel.settings, runtime.clock.now(), timer)

    return {handlers.REMINDER_TIMER: reminder}


def workers(runtime: Runtime) -> list[Worker]:
    channel = channel_of(runtime)
    sender = Sender(runtime.store, channel.provider, channel.settings, owner=runtime.instance)
    channel.senders.append(sender)

    def wake(appended: Sequence[RecordedEvent]) -> None:
        # Queued messages go out at once, not at the next poll; the sender's own commits
        # (marks, outcomes) queue nothing and would only make it look again for nothing.
        if any(isinstance(recorded.event, SmsQueued) for recorded in appended):
            sender.wake()

    runtime.store.on_commit(wake)

    async def send(stop: asyncio.Event) -> None:
        try:
            await sender.run(stop)
        finally:
            channel.senders.remove(sender)
            await channel.close()

    return [send]


PARTS = ServiceParts(
    name="notifications",
    metadata=metadata,
    tables=store_tables,
    projector=projection.project,
    read_models=READ_MODELS,
    subscriptions=consumers.subscriptions,
    timers=timers,
    timer_handlers=timer_handlers,
    workers=workers,
    metrics=sms_metrics,
)
