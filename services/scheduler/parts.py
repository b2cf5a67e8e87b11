"""What the scheduler service plugs into the shared runtime: tables, read models, consumers,
the staffing-alert timer and the forgetting of old help-request hits (its rate limit)."""

from __future__ import annotations

import asyncio

from services.scheduler import consumers, handlers
from services.scheduler.quota import forget_old_hits
from services.scheduler.tables import READ_MODELS, metadata, store_tables, timers
from services.scheduler.views import projection
from shared.runtime import Runtime, ServiceParts, Worker
from shared.store.eventstore import Transaction
from shared.store.timers import Timer, TimerHandler


def timer_handlers(runtime: Runtime) -> dict[str, TimerHandler]:
    async def staffing_alert(tx: Transaction, timer: Timer) -> None:
        await handlers.raise_staffing_alert(tx, timer, now=runtime.clock.now())

    return {handlers.STAFFING_ALERT: staffing_alert}


def workers(runtime: Runtime) -> list[Worker]:
    async def forget(stop: asyncio.Event) -> None:
        await forget_old_hits(runtime, stop)

    return [forget]


PARTS = ServiceParts(
    name="scheduler",
    metadata=metadata,
    tables=store_tables,
    projector=projection.project,
    read_models=READ_MODELS,
    subscriptions=consumers.subscriptions,
    timers=timers,
    timer_handlers=timer_handlers,
    workers=workers,
)
