"""What every console instance hears on its own, for the pages it holds open: which session's
staffing, volunteers, bookings or plan changed, and which commune's day got a session
(shared/bus/listener.py; a shared durable consumer would tell one instance, and the browser
might be held by the other).

Each event is heard where the API the page reads is already up to date: the scheduler's
events are appended in the transaction that projects them into its `GET /sessions` and
`GET /sessions/{id}`, and the volunteers' assignment events in the one that updates
`GET /slots/{id}`. Not replayed: a page opened later reads the API, and a browser re-reads on
every (re)connect.
"""

from __future__ import annotations

from services.console.service import Console
from shared.bus.listener import Hearing
from shared.events.base import Event, RecordedEvent
from shared.events.scheduler import (
    BookingCancelled,
    BookingChanged,
    ResidentBooked,
    ResidentMovedToWaitlist,
    SessionCancelled,
    SessionCapacityChanged,
    SessionCompleted,
    SessionRescheduled,
    SessionScheduled,
    SessionStaffingChanged,
)
from shared.events.volunteers import (
    AssignmentAccepted,
    AssignmentDeclined,
    AssignmentExpired,
    AssignmentMoved,
    AssignmentProposed,
    AssignmentReleased,
)

ROSTER_CHANGES: tuple[type[Event], ...] = (
    AssignmentProposed,
    AssignmentAccepted,
    AssignmentDeclined,
    AssignmentExpired,
    AssignmentReleased,
    AssignmentMoved,
)

# What changes a session's card or facts (status, places, bookings), or the sessions listed.
SESSION_CHANGES: tuple[type[Event], ...] = (
    SessionStaffingChanged,
    SessionScheduled,
    SessionRescheduled,
    SessionCapacityChanged,
    SessionCancelled,
    SessionCompleted,
    ResidentBooked,
    BookingCancelled,
    BookingChanged,
    ResidentMovedToWaitlist,
)


def hearings(console: Console) -> list[Hearing]:
    live = console.live

    async def session_changed(recorded: RecordedEvent) -> None:
        # Only ids, communes and days pass on: a booking's resident stays in the event.
        match recorded.event:
            case SessionScheduled(commune_code=commune_code, when=when):
                live.listed(commune_code, when.local_date)
            case SessionRescheduled(
                session_id=session_id, commune_code=commune_code, when=when, previous_when=before
            ):
                live.changed(session_id)
                if when.local_date != before.local_date:
                    # It leaves one day's list and joins another's.
                    live.listed(commune_code, before.local_date)
                    live.listed(commune_code, when.local_date)
            case BookingChanged(session_id=session_id, new_session_id=new_session_id):
                live.changed(session_id)
                live.changed(new_session_id)
            case (
                SessionStaffingChanged(session_id=session_id)
                | SessionCapacityChanged(session_id=session_id)
                | SessionCancelled(session_id=session_id)
                | SessionCompleted(session_id=session_id)
                | ResidentBooked(session_id=session_id)
                | BookingCancelled(session_id=session_id)
                | ResidentMovedToWaitlist(session_id=session_id)
            ):
                live.changed(session_id)
            case _:
                pass

    async def roster_changed(recorded: RecordedEvent) -> None:
        # A home visit's slot id names no session, so no page watches it.
        match recorded.event:
            case (
                AssignmentProposed(slot_id=slot_id)
                | AssignmentAccepted(slot_id=slot_id)
                | AssignmentDeclined(slot_id=slot_id)
                | AssignmentExpired(slot_id=slot_id)
                | AssignmentReleased(slot_id=slot_id)
                | AssignmentMoved(slot_id=slot_id)
            ):
                live.changed(slot_id)
            case _:
                pass

    return [
        Hearing("console-live-sessions", "scheduler", SESSION_CHANGES, session_changed),
        Hearing("console-live-rosters", "volunteers", ROSTER_CHANGES, roster_changed),
    ]
