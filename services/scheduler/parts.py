"""What the scheduler service plugs into the shared runtime: tables, read models, consumers
and the staffing-alert timer."""

from __future__ import annotations

from services.scheduler import consumers, handlers, views
from services.scheduler.tables import READ_MODELS, metadata, store_tables, timers
from shared.runtime import Runtime, ServiceParts
from shared.store.eventstore import Transaction
from shared.store.timers import Timer, TimerHandler


def timer_handlers(runtime: Runtime) -> dict[str, TimerHandler]:
    async def staffing_alert(tx: Transaction, timer: Timer) -> None:
        await handlers.raise_staffing_alert(tx, timer, now=runtime.clock.now())

    return {handlers.STAFFING_ALERT: staffing_alert}


PARTS = ServiceParts(
    name="scheduler",
    metadata=metadata,
    tables=store_tables,
    projector=views.project,
    read_models=READ_MODELS,
    subscriptions=consumers.subscriptions,
    timers=timers,
    timer_handlers=timer_handlers,
)
