"""On the day: check-in, attended or no-show, and what got done for each booked resident."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import msgspec

from services.scheduler.domain.errors import AttendanceError, BookingNotFoundError
from services.scheduler.domain.places import require_commune_in_scope
from services.scheduler.domain.sessions import SessionState, require_open
from shared.clock import VIETNAM
from shared.events.base import Event
from shared.events.scheduler import AttendanceRecorded, AttendanceStatus, BookingId, SessionId
from shared.events.vocabulary import Outcome


class RecordAttendance(msgspec.Struct, frozen=True, kw_only=True):
    """Note what happened with one booking; a later record corrects an earlier one."""

    session_id: SessionId
    booking_id: BookingId
    status: AttendanceStatus
    outcomes: tuple[Outcome, ...] = ()
    recorded_by: str
    recorded_by_volunteer: str | None = None


def decide_record_attendance(
    session: SessionState,
    command: RecordAttendance,
    *,
    now: datetime,
    scope: Iterable[str],
) -> list[Event]:
    """Record a check-in (from the session's day), attendance or no-show (once it has started)."""
    require_commune_in_scope(session.commune_code, scope)
    require_open(session)
    booking = session.booking(command.booking_id)
    if booking is None:
        raise BookingNotFoundError(f"{command.booking_id} is not booked in this session")
    if now.astimezone(VIETNAM).date() < session.when.local_date:
        raise AttendanceError("attendance can be recorded from the day of the session")
    if command.status is not AttendanceStatus.CHECKED_IN and now < session.when.starts_at:
        raise AttendanceError(f"{command.status.value} can be recorded once the session starts")
    if command.outcomes and command.status is AttendanceStatus.NO_SHOW:
        raise AttendanceError("a resident who did not come has no outcomes", field="outcomes")
    outcomes = tuple(dict.fromkeys(command.outcomes))
    current = session.attendance.get(booking.booking_id)
    if current is not None and current.status is command.status and current.outcomes == outcomes:
        return []
    return [
        AttendanceRecorded(
            session_id=session.session_id,
            booking_id=booking.booking_id,
            request_id=booking.request_id,
            commune_code=session.commune_code,
            local_date=session.when.local_date,
            status=command.status,
            outcomes=outcomes,
            recorded_by=command.recorded_by,
            recorded_at=now,
            recorded_by_volunteer=command.recorded_by_volunteer,
        )
    ]
