"""What the volunteers service's durable timers do when they fire."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from services.volunteers import erasure, handlers
from services.volunteers.planning import EXPIRE_ANSWERS, PLAN_WEEKEND
from shared.events.base import Cause
from shared.events.volunteers import VolunteerId
from shared.ids import derived_id
from shared.store.eventstore import Transaction
from shared.store.timers import Timer, TimerHandler

if TYPE_CHECKING:
    from services.volunteers.service import Volunteers


def _cause(timer: Timer) -> Cause:
    """Appends of one firing share ids derived from the timer and its due time."""
    seed = f"timer:{timer.id}:{timer.due_at.isoformat()}"
    return Cause(correlation_id=derived_id("timer", seed), id_seed=seed)


def timer_handlers(volunteers: Volunteers) -> dict[str, TimerHandler]:
    options, clock = volunteers.staffing, volunteers.runtime.clock

    async def plan(tx: Transaction, timer: Timer) -> None:
        saturday = date.fromisoformat(timer.payload["saturday"])
        await handlers.plan_weekend_now(
            tx, saturday, options=options, now=clock.now(), cause=_cause(timer)
        )

    async def expire(tx: Transaction, timer: Timer) -> None:
        await handlers.expire_answers(
            tx, timer.payload["slot_id"], options=options, now=clock.now(), cause=_cause(timer)
        )

    async def erase(tx: Transaction, timer: Timer) -> None:
        volunteer_id = VolunteerId(timer.payload["volunteer_id"])
        await erasure.finish_erasure(tx, volunteer_id, now=clock.now(), cause=_cause(timer))

    return {
        PLAN_WEEKEND: plan,
        EXPIRE_ANSWERS: expire,
        erasure.VOLUNTEER_ERASURE_DUE: erase,
    }
