"""What the scheduler's durable timers do when they fire."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.scheduler import handlers
from shared.store.eventstore import Transaction
from shared.store.timers import Timer, TimerHandler

if TYPE_CHECKING:
    from services.scheduler.service import Scheduler


def timer_handlers(scheduler: Scheduler) -> dict[str, TimerHandler]:
    clock = scheduler.runtime.clock

    async def staffing_alert(tx: Transaction, timer: Timer) -> None:
        await handlers.raise_staffing_alert(tx, timer, now=clock.now())

    return {handlers.STAFFING_ALERT: staffing_alert}
