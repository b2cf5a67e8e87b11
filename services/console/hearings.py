"""What every console instance hears on its own, for the pages it holds open: which session's
staffing or volunteers changed (shared/bus/listener.py; a shared durable consumer would tell
one instance, and the browser might be held by the other).

Each event is heard where the API the page reads is already up to date: the scheduler's
`session.staffing_changed` is appended in the transaction that updates its `GET /sessions`,
and the volunteers' assignment events in the one that updates `GET /slots/{id}`. Not
replayed: a page opened later reads the API, and a browser re-reads on every (re)connect.
"""

from __future__ import annotations

from services.console.service import Console
from shared.bus.listener import Hearing
from shared.events.base import Event, RecordedEvent
from shared.events.scheduler import SessionStaffingChanged
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


def hearings(console: Console) -> list[Hearing]:
    async def staffing_changed(recorded: RecordedEvent) -> None:
        if isinstance(recorded.event, SessionStaffingChanged):
            console.live.changed(recorded.event.session_id)

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
                console.live.changed(slot_id)
            case _:
                pass

    return [
        Hearing("console-live-staffing", "scheduler", (SessionStaffingChanged,), staffing_changed),
        Hearing("console-live-rosters", "volunteers", ROSTER_CHANGES, roster_changed),
    ]
