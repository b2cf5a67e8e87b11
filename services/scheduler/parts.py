"""What the scheduler service plugs into the shared runtime: its tables, read models and
timers (PARTS); and, from its typed context, its consumers, timers, the revoked tokens it
hears and the forgetting of old help-request hits (its rate limit) (`work`)."""

from __future__ import annotations

import asyncio

from services.scheduler import consumers, timers
from services.scheduler.quota import forget_old_hits
from services.scheduler.service import Scheduler
from services.scheduler.tables import READ_MODELS, metadata, person_keys, store_tables
from services.scheduler.tables import timers as timer_table
from services.scheduler.views import projection
from shared.runtime import ServiceParts, ServiceWork, Worker
from shared.web.revocation_feed import forgetting_expired, revocations_heard

PARTS = ServiceParts(
    name="scheduler",
    metadata=metadata,
    tables=store_tables,
    projector=projection.project,
    read_models=READ_MODELS,
    timers=timer_table,
    person_keys=person_keys,
    # residents asking by SMS come with their numbers sealed in the notifications' events
    opens_people_of=("notifications",),
)


def work(scheduler: Scheduler) -> ServiceWork:
    def workers() -> list[Worker]:
        async def forget(stop: asyncio.Event) -> None:
            await forget_old_hits(scheduler.runtime, stop)

        return [forget, forgetting_expired(scheduler.runtime.revocations, scheduler.runtime.clock)]

    return ServiceWork(
        subscriptions=lambda: consumers.subscriptions(scheduler),
        hearings=lambda: [revocations_heard(scheduler.runtime.revocations)],
        timer_handlers=lambda: timers.timer_handlers(scheduler),
        standing_timers=lambda: timers.standing_timers(scheduler),
        workers=workers,
    )
