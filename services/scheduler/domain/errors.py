"""Why the scheduler refuses a command: each error names the input field that is wrong."""

from __future__ import annotations

from typing import NamedTuple

from shared.errors import DomainError as SharedDomainError


class DomainError(SharedDomainError):
    """A command broke a scheduler rule; `field` names the input to fix, if one is to blame."""


class FieldProblem(NamedTuple):
    """One wrong input among several, reported together so a form can mark each field."""

    field: str
    message: str


class UnknownCommuneError(DomainError):
    """The commune or ward code is not in the official list."""

    field = "commune_code"


class UnknownProvinceError(DomainError):
    """The province code is not in the official list."""

    field = "province_code"


class OutOfScopeError(DomainError):
    """The coordinator's token does not cover this commune."""

    field = "commune_code"


class InvalidSessionError(DomainError):
    """A session's plan is inconsistent (times, capacity, topics)."""


class NotAWeekendError(DomainError):
    """Sessions fall on Saturday or Sunday unless marked public holiday or makeup day."""

    field = "local_date"


class SessionInPastError(DomainError):
    """A session cannot be planned or booked once it has started."""

    field = "local_date"


class SessionAlreadyScheduledError(DomainError):
    """The session id is taken."""

    field = "session_id"


class SessionNotFoundError(DomainError):
    """No session was scheduled under this id."""

    field = "session_id"


class SessionClosedError(DomainError):
    """The session is cancelled or completed and takes no more changes."""

    field = "session_id"


class SessionFullError(DomainError):
    """Every place in the session is taken."""

    field = "session_id"


class CapacityBelowBookingsError(DomainError):
    """Capacity cannot drop below the bookings unless the moved bookings are named."""

    field = "move_to_waitlist"


class DoubleBookingError(DomainError):
    """The resident already has a booking in an overlapping slot."""

    field = "phone"


class HelpRequestNotFoundError(DomainError):
    """No help request was filed under this id."""

    field = "request_id"


class BookingNotFoundError(DomainError):
    """The session has no live booking with this id."""

    field = "booking_id"


class HelpRequestRejectedError(DomainError):
    """A help request has one or more wrong fields, all listed in `problems`."""

    def __init__(self, problems: tuple[FieldProblem, ...]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems
        self.field = problems[0].field if problems else None


class HelpRequestClosedError(DomainError):
    """The help request is already booked, waiting or turned into a home visit."""

    field = "request_id"


class AttendanceError(DomainError):
    """Attendance cannot be recorded like this: too early, or outcomes without attendance."""

    field = "status"


class InvalidRecurrenceError(DomainError):
    """A recurring plan names a weekday, length or dates we cannot honour."""


class HomeVisitError(DomainError):
    """A home visit cannot take this change in its current state."""

    field = "visit_id"
