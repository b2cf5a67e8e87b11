"""What the scheduler's events ask of staffing, as this service's commands (pure).

Sessions and home visits become slots, a booked resident's needs become the slot's
requirements, the end of a slot closes it, and a volunteer's attendance record credits their
hours. The consumer (`consumers.py`) runs each command; tests/unit/test_contracts.py checks
that every value the scheduler can emit comes through.
"""

from __future__ import annotations

import msgspec

from services.volunteers.domain.slots import (
    MoveSlot,
    Needs,
    NoteNeeds,
    OpenSlot,
    needs_of,
    topics_of,
)
from shared.events.base import Event
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
from shared.events.volunteers import SlotClosing, SlotId, SlotKind, VolunteerId


class CloseSlot(msgspec.Struct, frozen=True, kw_only=True):
    """The session or visit was cancelled, or is over."""

    slot_id: SlotId
    closing: SlotClosing
    reason: str = ""  # a cancellation's, in the coordinator's words


class CreditService(msgspec.Struct, frozen=True, kw_only=True):
    """A volunteer recorded a resident's attendance at the slot: they were there."""

    slot_id: SlotId
    volunteer_id: VolunteerId


Command = OpenSlot | MoveSlot | NoteNeeds | CloseSlot | CreditService


def place_of(venue: Venue) -> str:
    """A venue as a volunteer's SMS names it."""
    return f"{venue.name}, {venue.address}" if venue.address else venue.name


def _needs(*parts: Needs) -> Needs:
    return Needs(
        skills=tuple(sorted({s for part in parts for s in part.skills})),
        languages=tuple(sorted({x for part in parts for x in part.languages})),
    )


def command_for(event: Event) -> Command | None:  # noqa: PLR0911
    """The staffing command a scheduler event asks for, or None when it asks for nothing.

    A home visit scheduled again was given a new time: it opens its slot the first time and
    moves it afterwards (the handler tells which).
    """
    match event:
        case SessionScheduled():
            return OpenSlot(
                slot_id=SlotId(event.session_id),
                kind=SlotKind.SESSION,
                commune_code=event.commune_code,
                place=place_of(event.venue),
                starts_at=event.when.starts_at,
                ends_at=event.when.ends_at,
                needed=event.volunteers_needed,
                topics=topics_of(event.topics),
                needs=needs_of(event.accessibility, event.languages),
            )
        case HomeVisitScheduled():
            return OpenSlot(
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
        case SessionRescheduled():
            return MoveSlot(
                slot_id=SlotId(event.session_id),
                commune_code=event.commune_code,
                place=place_of(event.venue),
                starts_at=event.when.starts_at,
                ends_at=event.when.ends_at,
            )
        case (
            SessionCancelled(session_id=slot_id, reason=reason)
            | HomeVisitCancelled(visit_id=slot_id, reason=reason)
        ):
            return CloseSlot(slot_id=SlotId(slot_id), closing=SlotClosing.CANCELLED, reason=reason)
        case SessionCompleted(session_id=slot_id) | HomeVisitCompleted(visit_id=slot_id):
            return CloseSlot(slot_id=SlotId(slot_id), closing=SlotClosing.COMPLETED)
        case ResidentBooked():
            return NoteNeeds(
                slot_id=SlotId(event.session_id),
                booking_id=event.booking_id,
                needs=needs_of(event.accessibility_needs, [event.resident.preferred_language]),
            )
        case (
            BookingCancelled(session_id=slot_id, booking_id=booking_id)
            | BookingChanged(session_id=slot_id, booking_id=booking_id)
            | ResidentMovedToWaitlist(session_id=slot_id, booking_id=booking_id)
        ):
            return NoteNeeds(slot_id=SlotId(slot_id), booking_id=booking_id, booked=False)
        case AttendanceRecorded(recorded_by_volunteer=volunteer_id) if volunteer_id:
            return CreditService(
                slot_id=SlotId(event.session_id), volunteer_id=VolunteerId(volunteer_id)
            )
        case _:
            return None
