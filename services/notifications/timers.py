"""What the notifications service's durable timers do when they fire."""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.notifications import forgetting, handlers, retention
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

    async def forget_volunteer(tx: Transaction, timer: Timer) -> None:
        await forgetting.forget_volunteer(tx, timer, settings=sms, now=clock.now())

    async def forget_number(tx: Transaction, timer: Timer) -> None:
        await forgetting.forget_number(tx, timer, settings=sms, now=clock.now())

    async def retention_run(tx: Transaction, timer: Timer) -> None:
        await retention.run_retention(
            tx,
            timer,
            retention=notifications.runtime.settings.retention,
            hooks=notifications.retention_hooks,
            now=clock.now(),
        )

    found: dict[str, TimerHandler] = {
        handlers.REMINDER_TIMER: reminder,
        forgetting.FORGET_TIMER: forget,
        forgetting.FORGET_VOLUNTEER_TIMER: forget_volunteer,
        forgetting.FORGET_NUMBER_TIMER: forget_number,
    }
    if notifications.runtime.settings.retention.runs:
        found[retention.RETENTION_TIMER] = retention_run
    return found


def standing_timers(notifications: Notifications) -> list[Timer]:
    """The daily retention run, unless retention is paused (HANDINHAND_RETENTION=off)."""
    if not notifications.runtime.settings.retention.runs:
        return []
    return [retention.retention_timer(notifications.runtime.clock.now())]
