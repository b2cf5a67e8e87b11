"""Domain errors of the volunteers service; each names the input field that is wrong."""

from __future__ import annotations

from shared.errors import DomainError as SharedDomainError


class DomainError(SharedDomainError):
    """A command breaks a rule of the volunteers domain; `field` may be given positionally."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message, field=field)


class InvalidVolunteerError(DomainError):
    """A volunteer's details break a rule (empty name, unknown commune, bad limit)."""


class UnknownGroupError(DomainError):
    """The group named does not exist."""


class AlreadyRegisteredError(DomainError):
    """The volunteer or group is already registered."""


class NotRegisteredError(DomainError):
    """The volunteer is not registered."""


class AlreadyPausedError(DomainError):
    """The volunteer is already paused."""


class NotPausedError(DomainError):
    """The volunteer is not paused, so cannot be resumed."""


class InvalidSlotError(DomainError):
    """A slot cannot be staffed as given (ends before it starts, spans two days, needs nobody)."""


class UnknownAssignmentError(DomainError):
    """No assignment with that id or short code is waiting for this volunteer."""


class AssignmentClosedError(DomainError):
    """The assignment was already answered, expired or released."""


class AnswerTooLateError(DomainError):
    """The answer came after the deadline; the place may already have gone to someone else."""


class SlotCancelledError(DomainError):
    """The slot was cancelled; nobody can be proposed for it."""


class NoCalendarLinkError(DomainError):
    """The volunteer has no calendar link that works."""


class VolunteerErasedError(DomainError):
    """The volunteer was erased, or is being erased: nothing more is done with their data."""
