"""What the volunteers service's durable timers do when they fire."""

from __future__ import annotations

from datetime import date

from services.volunteers import handlers
from services.volunteers.planning import EXPIRE_ANSWERS, PLAN_WEEKEND, StaffingOptions
from shared.events.base import Cause
from shared.ids import derived_id
from shared.runtime import Runtime
from shared.store.eventstore import Transaction
from shared.store.timers import Timer, TimerHandler


def _cause(timer: Timer) -> Cause:
    """Appends of one firing share ids derived from the timer and its due time."""
    seed = f"timer:{timer.id}:{timer.due_at.isoformat()}"
    return Cause(correlation_id=derived_id("timer", seed), id_seed=seed)


def timer_handlers(runtime: Runtime) -> dict[str, TimerHandler]:
    options: StaffingOptions = runtime.extras.get("staffing", StaffingOptions())

    async def plan(tx: Transaction, timer: Timer) -> None:
        saturday = date.fromisoformat(timer.payload["saturday"])
        await handlers.plan_weekend_now(tx, saturday, options, runtime.clock.now(), _cause(timer))

    async def expire(tx: Transaction, timer: Timer) -> None:
        await handlers.expire_answers(
            tx, timer.payload["slot_id"], options, runtime.clock.now(), _cause(timer)
        )

    return {PLAN_WEEKEND: plan, EXPIRE_ANSWERS: expire}
