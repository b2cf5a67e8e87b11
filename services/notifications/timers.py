"""What the notifications service's durable timers do when they fire."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.notifications import forgetting, handlers
from shared.store.eventstore import Transaction
from shared.store.timers import Timer, TimerHandler

if TYPE_CHECKING:
    from services.notifications.service import Notifications


def timer_handlers(notifications: Notifications) -> dict[str, TimerHandler]:
    sms, clock = notifications.sms, notifications.runtime.clock

    async def reminder(tx: Transaction, timer: Timer) -> None:
        await handlers.fire_reminder(tx, timer, settings=sms, now=clock.now())

    async def forget(tx: Transaction, timer: Timer) -> None:
        await forgetting.forget_resident(tx, timer, settings=sms, now=clock.now())

    async def forget_number(tx: Transaction, timer: Timer) -> None:
        await forgetting.forget_number(tx, timer, settings=sms, now=clock.now())

    return {
        handlers.REMINDER_TIMER: reminder,
        forgetting.FORGET_TIMER: forget,
        forgetting.FORGET_NUMBER_TIMER: forget_number,
    }
