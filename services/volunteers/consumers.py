"""What the volunteers service does when the scheduler or the notifications service speaks.

The scheduler's sessions and home visits become slots in this service's own log (so the read
models rebuild from it); residents' bookings bring their needs; completed slots and
volunteers' attendance records credit hours. SMS answers come from the notifications service,
and its word that it forgot a volunteer being erased.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from services.volunteers import erasure, handlers
from services.volunteers.domain.from_scheduler import CloseSlot, CreditService, command_for
from services.volunteers.domain.slots import MoveSlot, NoteNeeds, OpenSlot
from services.volunteers.planning import StaffingOptions
from shared.bus.consumer import Subscription, caused_by
from shared.clock import Clock
from shared.events.base import Event, RecordedEvent
from shared.events.notifications import (
    AssignmentAnswer,
    AssignmentReplyReceived,
    VolunteerForgotten,
)
from shared.events.scheduler import (
    AttendanceRecorded,
    BookingCancelled,
    BookingChanged,
    HomeVisitCancelled,
    HomeVisitCompleted,
    HomeVisitScheduled,
    ResidentBooked,
    ResidentMovedToWaitlist,
    SessionCancelled,
    SessionCompleted,
    SessionRescheduled,
    SessionScheduled,
)
from shared.events.volunteers import VolunteerId
from shared.store.eventstore import Transaction

if TYPE_CHECKING:
    from services.volunteers.service import Volunteers

ME = "volunteers"


# The events each subscription acts on: only these are delivered (shared.bus.consumer).
FROM_SCHEDULER: tuple[type[Event], ...] = (
    SessionScheduled,
    HomeVisitScheduled,
    SessionRescheduled,
    SessionCancelled,
    HomeVisitCancelled,
    SessionCompleted,
    HomeVisitCompleted,
    ResidentBooked,
    BookingCancelled,
    BookingChanged,
    ResidentMovedToWaitlist,
    AttendanceRecorded,
)
FROM_NOTIFICATIONS: tuple[type[Event], ...] = (AssignmentReplyReceived, VolunteerForgotten)


def subscriptions(volunteers: Volunteers) -> list[Subscription]:
    options, clock = volunteers.staffing, volunteers.runtime.clock

    async def from_scheduler(tx: Transaction, recorded: RecordedEvent) -> None:
        """Sessions, home visits and bookings become slots and their requirements
        (`domain.from_scheduler.command_for` says which command each event is)."""
        now, cause = clock.now(), caused_by(recorded)
        match command_for(recorded.event):
            case OpenSlot() as command:
                await handlers.open_slot(tx, command, options=options, now=now, cause=cause)
            case MoveSlot() as command:
                await handlers.move_slot(tx, command, options=options, now=now, cause=cause)
            case CloseSlot(slot_id=slot_id, closing=closing, reason=reason):
                await handlers.close_slot(
                    tx,
                    slot_id,
                    closing=closing,
                    reason=reason,
                    options=options,
                    now=now,
                    cause=cause,
                )
            case NoteNeeds() as command:
                await handlers.note_needs(tx, command, options=options, now=now, cause=cause)
            case CreditService(slot_id=slot_id, volunteer_id=volunteer_id):
                await handlers.record_service(
                    tx, slot_id, volunteer_id=volunteer_id, now=now, cause=cause
                )
            case None:
                return

    async def from_notifications(tx: Transaction, recorded: RecordedEvent) -> None:
        await _from_notifications(tx, recorded, options=options, clock=clock)

    return [
        Subscription(
            name=f"{ME}-from-scheduler",
            source="scheduler",
            handle=from_scheduler,
            events=FROM_SCHEDULER,
        ),
        Subscription(
            name=f"{ME}-from-notifications",
            source="notifications",
            handle=from_notifications,
            events=FROM_NOTIFICATIONS,
        ),
    ]


async def _from_notifications(
    tx: Transaction, recorded: RecordedEvent, *, options: StaffingOptions, clock: Clock
) -> None:
    """A volunteer's SMS yes or no; the notifications' word that it forgot a volunteer."""
    match recorded.event:
        case AssignmentReplyReceived() as event:
            # The answer counts when it was received, not when we got round to it.
            now: datetime = min(event.received_at, clock.now())
            await handlers.answer_by_sms(
                tx,
                inbound_id=event.inbound_id,
                phone=event.volunteer_phone,
                accept=event.answer == AssignmentAnswer.ACCEPTED,
                assignment_id=event.assignment_id,
                short_code=event.short_code,
                options=options,
                now=now,
                cause=caused_by(recorded),
            )
        case VolunteerForgotten() as event:
            await erasure.finish_erasure(
                tx,
                VolunteerId(event.volunteer_id),
                now=clock.now(),
                cause=caused_by(recorded),
            )
        case _:
            return
