"""What the scheduler's durable timers do when they fire."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.scheduler.handlers.erasure import ERASURE_DUE, finish_erasure
from services.scheduler.handlers.retention import RETENTION_TIMER, retention_timer, run_retention
from services.scheduler.handlers.sessions import STAFFING_ALERT, raise_staffing_alert
from shared.events.base import Cause
from shared.ids import uuid7
from shared.store.eventstore import Transaction
from shared.store.timers import Timer, TimerHandler

if TYPE_CHECKING:
    from services.scheduler.service import Scheduler


def timer_handlers(scheduler: Scheduler) -> dict[str, TimerHandler]:
    clock, memory = scheduler.runtime.clock, scheduler.memory

    async def staffing_alert(tx: Transaction, timer: Timer) -> None:
        await raise_staffing_alert(tx, timer, memory=memory, now=clock.now())

    async def erasure_due(tx: Transaction, timer: Timer) -> None:
        # The id seed makes a retry of the same firing append nothing new.
        cause = Cause(correlation_id=uuid7(), id_seed=timer.id)
        await finish_erasure(tx, timer.payload["request_id"], now=clock.now(), cause=cause)

    async def retention(tx: Transaction, timer: Timer) -> None:
        await run_retention(
            tx,
            timer,
            retention=scheduler.runtime.settings.retention,
            memory=memory,
            now=clock.now(),
        )

    handlers: dict[str, TimerHandler] = {STAFFING_ALERT: staffing_alert, ERASURE_DUE: erasure_due}
    if scheduler.runtime.settings.retention.runs:
        handlers[RETENTION_TIMER] = retention
    return handlers


def standing_timers(scheduler: Scheduler) -> list[Timer]:
    """The daily retention run, unless retention is paused (HANDINHAND_RETENTION=off)."""
    if not scheduler.runtime.settings.retention.runs:
        return []
    return [retention_timer(scheduler.runtime.clock.now())]
