"""What the volunteers service does when the scheduler or the notifications service speaks.

The scheduler's sessions and home visits become slots in this service's own log (so the read
models rebuild from it); residents' bookings bring their needs; completed slots and
volunteers' attendance records credit hours. SMS answers come from the notifications service.
"""

from __future__ import annotations

from datetime import datetime

from services.volunteers import handlers
from services.volunteers.domain.slots import (
    MoveSlot,
    Needs,
    NoteNeeds,
    OpenSlot,
    needs_of,
    topics_of,
)
from services.volunteers.planning import StaffingOptions
from shared.bus.consumer import Subscription, caused_by
from shared.clock import Clock
from shared.events.base import Event, RecordedEvent
from shared.events.notifications import AssignmentAnswer, AssignmentReplyReceived
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
    Venue,
)
from shared.events.volunteers import SlotClosing, SlotId, SlotKind
from shared.runtime import Runtime
from shared.store.eventstore import Transaction

ME = "volunteers"


def _place(venue: Venue) -> str:
    return f"{venue.name}, {venue.address}" if venue.address else venue.name


def _needs(*parts: Needs) -> Needs:
    return Needs(
        skills=tuple(sorted({s for part in parts for s in part.skills})),
        languages=tuple(sorted({x for part in parts for x in part.languages})),
    )


class FromScheduler:
    """Sessions, home visits and bookings become slots and their requirements."""

    def __init__(self, options: StaffingOptions, clock: Clock) -> None:
        self.options = options
        self.clock = clock

    async def handle(self, tx: Transaction, recorded: RecordedEvent) -> None:
        now, cause, options = self.clock.now(), caused_by(recorded), self.options
        match recorded.event:
            case SessionScheduled() as event:
                command = OpenSlot(
                    slot_id=SlotId(event.session_id),
                    kind=SlotKind.SESSION,
                    commune_code=event.commune_code,
                    place=_place(event.venue),
                    starts_at=event.when.starts_at,
                    ends_at=event.when.ends_at,
                    needed=event.volunteers_needed,
                    topics=topics_of(event.topics),
                    needs=needs_of(event.accessibility, event.languages),
                )
                await handlers.open_slot(tx, command, options, now, cause)
            case HomeVisitScheduled() as event:
                command = OpenSlot(
                    slot_id=SlotId(event.visit_id),
                    kind=SlotKind.HOME_VISIT,
                    commune_code=event.commune_code,
                    place=event.address,
                    starts_at=event.when.starts_at,
                    ends_at=event.when.ends_at,
                    needed=event.volunteers_needed,
                    topics=topics_of(event.topics),
                    needs=_needs(
                        needs_of(event.accessibility_needs, event.languages),
                        needs_of((), [event.resident.preferred_language]),
                    ),
                )
                await handlers.open_slot(tx, command, options, now, cause)
            case SessionRescheduled() as event:
                move = MoveSlot(
                    slot_id=SlotId(event.session_id),
                    commune_code=event.commune_code,
                    place=_place(event.venue),
                    starts_at=event.when.starts_at,
                    ends_at=event.when.ends_at,
                )
                await handlers.move_slot(tx, move, options, now, cause)
            case SessionCancelled(session_id=slot_id) | HomeVisitCancelled(visit_id=slot_id):
                await handlers.close_slot(tx, slot_id, SlotClosing.CANCELLED, options, now, cause)
            case SessionCompleted(session_id=slot_id) | HomeVisitCompleted(visit_id=slot_id):
                await handlers.close_slot(tx, slot_id, SlotClosing.COMPLETED, options, now, cause)
            case ResidentBooked() as event:
                note = NoteNeeds(
                    slot_id=SlotId(event.session_id),
                    booking_id=event.booking_id,
                    needs=needs_of(event.accessibility_needs, [event.resident.preferred_language]),
                )
                await handlers.note_needs(tx, note, options, now, cause)
            case (
                BookingCancelled(session_id=slot_id, booking_id=booking_id)
                | BookingChanged(session_id=slot_id, booking_id=booking_id)
                | ResidentMovedToWaitlist(session_id=slot_id, booking_id=booking_id)
            ):
                note = NoteNeeds(slot_id=SlotId(slot_id), booking_id=booking_id, booked=False)
                await handlers.note_needs(tx, note, options, now, cause)
            case AttendanceRecorded() as event:
                await handlers.record_service(tx, event.session_id, event.recorded_by, now, cause)
            case _:
                return


class FromNotifications:
    """A volunteer's SMS yes or no."""

    def __init__(self, options: StaffingOptions, clock: Clock) -> None:
        self.options = options
        self.clock = clock

    async def handle(self, tx: Transaction, recorded: RecordedEvent) -> None:
        match recorded.event:
            case AssignmentReplyReceived() as event:
                # The answer counts when it was received, not when we got round to it.
                now: datetime = min(event.received_at, self.clock.now())
                await handlers.answer_by_sms(
                    tx,
                    inbound_id=event.inbound_id,
                    phone=event.volunteer_phone,
                    accept=event.answer == AssignmentAnswer.ACCEPTED,
                    assignment_id=event.assignment_id,
                    short_code=event.short_code,
                    options=self.options,
                    now=now,
                    cause=caused_by(recorded),
                )
            case _:
                return


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
FROM_NOTIFICATIONS: tuple[type[Event], ...] = (AssignmentReplyReceived,)


def subscriptions(runtime: Runtime) -> list[Subscription]:
    options: StaffingOptions = runtime.extras.get("staffing", StaffingOptions())
    return [
        Subscription(
            name=f"{ME}-from-scheduler",
            source="scheduler",
            handle=FromScheduler(options, runtime.clock).handle,
            events=FROM_SCHEDULER,
        ),
        Subscription(
            name=f"{ME}-from-notifications",
            source="notifications",
            handle=FromNotifications(options, runtime.clock).handle,
            events=FROM_NOTIFICATIONS,
        ),
    ]
