"""What the scheduler's durable timers do when they fire."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.scheduler.handlers.sessions import STAFFING_ALERT, raise_staffing_alert
from shared.store.eventstore import Transaction
from shared.store.timers import Timer, TimerHandler

if TYPE_CHECKING:
    from services.scheduler.service import Scheduler


def timer_handlers(scheduler: Scheduler) -> dict[str, TimerHandler]:
    clock, memory = scheduler.runtime.clock, scheduler.memory

    async def staffing_alert(tx: Transaction, timer: Timer) -> None:
        await raise_staffing_alert(tx, timer, memory=memory, now=clock.now())

    return {STAFFING_ALERT: staffing_alert}
