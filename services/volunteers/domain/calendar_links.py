"""A volunteer's calendar link: a secret URL to the feed of their accepted assignments.

A volunteer has at most one working link; issuing a new one revokes the one before, so a link
shared by mistake is stopped by issuing another. The secret is a 256-bit random value shown
once; events keep only its sha256, which is enough to find the link and reveals nothing.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import msgspec

from services.volunteers.domain.errors import NoCalendarLinkError
from services.volunteers.domain.registry import VolunteerState, require_registered
from shared.events.base import Event
from shared.events.volunteers import (
    CalendarLinkId,
    CalendarLinkIssued,
    CalendarLinkRevoked,
    VolunteerId,
)


class CalendarLinkState(msgspec.Struct, frozen=True, kw_only=True):
    """Which of a volunteer's links works, as their stream tells."""

    current: CalendarLinkId | None = None


def evolve_calendar_link(state: CalendarLinkState, event: Event) -> CalendarLinkState:
    """Fold one event of a volunteer stream (the other events leave the link as it is)."""
    match event:
        case CalendarLinkIssued():
            return CalendarLinkState(current=event.link_id)
        case CalendarLinkRevoked() if event.link_id == state.current:
            return CalendarLinkState(current=None)
        case _:
            return state


class IssueCalendarLink(msgspec.Struct, frozen=True, kw_only=True):
    """Give a volunteer a new calendar link (the secret is drawn at the edge, hashed here)."""

    volunteer_id: VolunteerId
    link_id: CalendarLinkId
    secret: str


def secret_hash(secret: str) -> str:
    """How a link is found: sha256 suffices for a 256-bit random secret (it is no password)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def decide_issue_calendar_link(
    volunteer: VolunteerState, link: CalendarLinkState, command: IssueCalendarLink, now: datetime
) -> list[Event]:
    """A new link; the volunteer's link before it, if any, stops working at the same moment."""
    require_registered(volunteer)
    revoked: list[Event] = []
    if link.current is not None:
        revoked.append(
            CalendarLinkRevoked(
                volunteer_id=volunteer.volunteer_id, link_id=link.current, revoked_at=now
            )
        )
    issued = CalendarLinkIssued(
        volunteer_id=volunteer.volunteer_id,
        link_id=command.link_id,
        secret_hash=secret_hash(command.secret),
        issued_at=now,
    )
    return [*revoked, issued]


def decide_revoke_calendar_link(
    volunteer: VolunteerState, link: CalendarLinkState, now: datetime
) -> list[Event]:
    """Stop the volunteer's link; there must be one."""
    require_registered(volunteer)
    if link.current is None:
        raise NoCalendarLinkError(f"volunteer {volunteer.volunteer_id} has no calendar link", None)
    return [
        CalendarLinkRevoked(
            volunteer_id=volunteer.volunteer_id, link_id=link.current, revoked_at=now
        )
    ]
