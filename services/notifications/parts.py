"""What the notifications service plugs into the shared runtime: its tables, read models and
timers (PARTS); and, from its typed context, its consumers, reminder timers, the SMS sender,
the revoked tokens it hears and its metrics (`work`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from services.notifications import consumers, timers
from services.notifications.metrics import sms_metrics
from services.notifications.sender import Sender
from services.notifications.service import Notifications
from services.notifications.tables import READ_MODELS, metadata, person_keys, store_tables
from services.notifications.tables import timers as timer_table
from services.notifications.views import projection
from shared.events.base import RecordedEvent
from shared.events.notifications import SmsQueued
from shared.runtime import ServiceParts, ServiceWork, Worker
from shared.web.revocation_feed import forgetting_expired, revocations_heard

PARTS = ServiceParts(
    name="notifications",
    metadata=metadata,
    tables=store_tables,
    projector=projection.project,
    read_models=READ_MODELS,
    timers=timer_table,
    person_keys=person_keys,
    # residents' phones and names come sealed in the scheduler's events, volunteers' in the
    # volunteers' (a proposal SMS)
    opens_people_of=("scheduler", "volunteers"),
)


def work(notifications: Notifications) -> ServiceWork:
    runtime, channel = notifications.runtime, notifications.channel

    def workers() -> list[Worker]:
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

        return [send, forgetting_expired(runtime.revocations, runtime.clock)]

    return ServiceWork(
        subscriptions=lambda: consumers.subscriptions(notifications),
        hearings=lambda: [revocations_heard(runtime.revocations)],
        timer_handlers=lambda: timers.timer_handlers(notifications),
        standing_timers=lambda: timers.standing_timers(notifications),
        workers=workers,
        metrics=lambda: sms_metrics(notifications),
    )
