"""What the scheduler does when another service speaks.

volunteers: `session.staffed` / `session.understaffed` -> the staffing state is recorded on the
session (or home visit) stream, so the scheduler's read models stay projections of its own log.
notifications: `help.requested_by_sms` -> a help request (channel sms), booked at once;
`resident.forgotten` -> the resident's key is destroyed (`resident.erased`);
`resident.erasure_confirmed` -> every help request of the number is erased (the resident asked).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.scheduler.handlers.erasure import erase_by_sms, finish_erasure
from services.scheduler.handlers.reactions import record_staffing, request_help_by_sms
from shared.bus.consumer import Subscription, caused_by
from shared.events.base import Event, RecordedEvent
from shared.events.notifications import (
    HelpRequestedBySms,
    ResidentErasureConfirmed,
    ResidentForgotten,
)
from shared.events.volunteers import SessionStaffed, SessionUnderstaffed
from shared.store.eventstore import Transaction

if TYPE_CHECKING:
    from services.scheduler.service import Scheduler

# The events each subscription acts on: only these are delivered (shared.bus.consumer).
FROM_VOLUNTEERS: tuple[type[Event], ...] = (SessionStaffed, SessionUnderstaffed)
FROM_NOTIFICATIONS: tuple[type[Event], ...] = (
    HelpRequestedBySms,
    ResidentForgotten,
    ResidentErasureConfirmed,
)


def subscriptions(scheduler: Scheduler) -> list[Subscription]:
    me = scheduler.runtime.name
    clock, memory = scheduler.runtime.clock, scheduler.memory

    async def from_volunteers(tx: Transaction, recorded: RecordedEvent) -> None:
        match recorded.event:
            case SessionStaffed() | SessionUnderstaffed():
                await record_staffing(
                    tx, recorded.event, memory=memory, now=clock.now(), cause=caused_by(recorded)
                )
            case _:
                return

    async def from_notifications(tx: Transaction, recorded: RecordedEvent) -> None:
        match recorded.event:
            case HelpRequestedBySms():
                await request_help_by_sms(
                    tx, recorded.event, memory=memory, now=clock.now(), cause=caused_by(recorded)
                )
            case ResidentForgotten():
                await finish_erasure(
                    tx, recorded.event.request_id, now=clock.now(), cause=caused_by(recorded)
                )
            case ResidentErasureConfirmed():
                await erase_by_sms(
                    tx, recorded, memory=memory, now=clock.now(), cause=caused_by(recorded)
                )
            case _:
                return

    return [
        Subscription(
            name=f"{me}-from-volunteers",
            source="volunteers",
            handle=from_volunteers,
            events=FROM_VOLUNTEERS,
        ),
        Subscription(
            name=f"{me}-from-notifications",
            source="notifications",
            handle=from_notifications,
            events=FROM_NOTIFICATIONS,
        ),
    ]
