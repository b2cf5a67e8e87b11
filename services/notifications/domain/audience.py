"""Who an SMS is for, read from the template it was written from: a session's page groups its
SMS by residents, volunteers and coordinators."""

from __future__ import annotations

from enum import StrEnum

from shared.events.notifications import SmsKind


class Audience(StrEnum):
    RESIDENT = "resident"
    VOLUNTEER = "volunteer"
    COORDINATOR = "coordinator"
    SENDER = "sender"  # whoever wrote to us: the answer to an inbound SMS


_VOLUNTEER = frozenset(
    {
        SmsKind.ASSIGNMENT_PROPOSED,
        SmsKind.ASSIGNMENT_REMINDER,
        SmsKind.ASSIGNMENT_RELEASED,
        SmsKind.ASSIGNMENT_CHANGED,
        SmsKind.ASSIGNMENT_ACCEPTED,
        SmsKind.REPLY_ACCEPT_OK,
        SmsKind.REPLY_DECLINE_OK,
        SmsKind.VOLUNTEER_ERASED,
    }
)
_RESIDENT = frozenset(
    {
        SmsKind.RESIDENT_BOOKED,
        SmsKind.RESIDENT_WAITLISTED,
        SmsKind.RESIDENT_MOVED,
        SmsKind.RESIDENT_MOVED_TO_WAITLIST,
        SmsKind.RESIDENT_REMINDER,
        SmsKind.RESIDENT_CANCELLED,
        SmsKind.RESIDENT_RESCHEDULED,
        SmsKind.HELP_REQUEST_REFUSED,
        SmsKind.RESIDENT_ERASED,
        SmsKind.COPY_GIVEN,
    }
)
_COORDINATOR = frozenset({SmsKind.UNDERSTAFFING_ALERT, SmsKind.DELIVERY_FAILED_ALERT})


def audience_of(kind: SmsKind) -> Audience:
    """Residents, volunteers or coordinators; any other answer goes back to its sender."""
    if kind in _VOLUNTEER:
        return Audience.VOLUNTEER
    if kind in _RESIDENT:
        return Audience.RESIDENT
    if kind in _COORDINATOR:
        return Audience.COORDINATOR
    return Audience.SENDER
