"""A person's own copy (issue 16, subject access): the sections each service gave, merged into
one JSON document, and the fact that it was given. A service that did not answer is named in
`incomplete` and its section says `not_answered`: the copy is still given, never silently
short."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

from shared.events.console import AccountId, AccountRole, CopyPerson, SubjectAccessGiven

# The services that hold people's data, in the order the copy shows them.
SERVICES = ("scheduler", "volunteers", "notifications")
NOT_ANSWERED = "not_answered"


class CopyOwner(msgspec.Struct, frozen=True, kw_only=True):
    """Whom the copy is about: a resident by their help request, or a volunteer."""

    person: CopyPerson
    person_id: str
    phone: str | None = None


class PersonalCopy(msgspec.Struct, frozen=True, kw_only=True):
    copy_id: str
    made_at: datetime
    person: CopyPerson
    person_id: str
    phone: str | None
    sections: list[dict[str, Any]]
    incomplete: list[str]


def assemble(
    copy_id: str,
    owner: CopyOwner,
    sections: Mapping[str, dict[str, Any] | None],
    now: datetime,
) -> PersonalCopy:
    """The copy of every service's section (None: that service did not answer)."""
    shown: list[dict[str, Any]] = []
    missing: list[str] = []
    for service in SERVICES:
        given = sections.get(service)
        if given is None:
            missing.append(service)
            shown.append({"service": service, "status": NOT_ANSWERED})
        else:
            shown.append(given)
    return PersonalCopy(
        copy_id=copy_id,
        made_at=now,
        person=owner.person,
        person_id=owner.person_id,
        phone=owner.phone,
        sections=shown,
        incomplete=missing,
    )


def copy_given(
    made: PersonalCopy, *, asked_by: AccountId, asked_role: AccountRole
) -> SubjectAccessGiven:
    """The event that says a copy was handed out: ids only, never the number."""
    return SubjectAccessGiven(
        copy_id=made.copy_id,
        person=made.person,
        person_id=made.person_id,
        asked_by=asked_by,
        asked_role=asked_role,
        answered=tuple(s for s in SERVICES if s not in made.incomplete),
        missing=tuple(made.incomplete),
        given_at=made.made_at,
    )


def copy_stream(copy_id: str) -> str:
    return f"copy-{copy_id}"


def reminder_targets(sections: Mapping[str, dict[str, Any] | None]) -> list[str]:
    """The bookings and assignments in the scheduler's and volunteers' sections: whose planned
    reminders notifications is asked for."""
    targets: list[str] = []
    scheduler = sections.get("scheduler") or {}
    for request in (scheduler.get("data") or {}).get("help_requests", []):
        targets.extend(str(b["booking_id"]) for b in request.get("bookings", []))
    volunteers = sections.get("volunteers") or {}
    for volunteer in (volunteers.get("data") or {}).get("volunteers", []):
        targets.extend(str(a["assignment_id"]) for a in volunteer.get("assignments", []))
    return targets[:200]
