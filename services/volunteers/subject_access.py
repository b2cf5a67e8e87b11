"""`POST /v1/subject-access` on the volunteers service: the volunteer record of the number
and/or the volunteer id, opened (name, village, skills, languages, availability, consent),
with every assignment and the hours served; an erased volunteer only says so."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from litestar import Response
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncConnection

from services.volunteers.tables import assignments, volunteers
from shared.store.eventstore import EventStore
from shared.web.auth import Caller
from shared.web.subject_access import (
    NO_STORE,
    SubjectAccessAsked,
    SubjectAccessSection,
    asked_phone,
    require_service,
    section,
    subject_access_route,
)

_ERASED = "erased"


class AssignmentHeld(msgspec.Struct, frozen=True, kw_only=True):
    assignment_id: str
    slot_id: str
    commune_code: str
    starts_at: datetime
    ends_at: datetime
    status: str
    role: str
    proposed_at: datetime
    answered_at: datetime | None
    channel: str | None
    served_minutes: int | None


class VolunteerHeld(msgspec.Struct, frozen=True, kw_only=True):
    volunteer_id: str
    group_id: str
    name: str
    phone: str
    commune_code: str
    village: str
    skills: list[str]
    languages: list[str]
    preferred_language: str
    availability: dict[str, Any]
    exceptions: list[Any]
    monthly_limit: int
    paused: bool
    erasure: str
    registered_at: datetime
    consent: dict[str, Any] | None
    assignments: list[AssignmentHeld]
    served_minutes: int


class ErasedVolunteer(msgspec.Struct, frozen=True, kw_only=True):
    volunteer_id: str
    erasure: str


class VolunteersHeld(msgspec.Struct, frozen=True, kw_only=True):
    volunteers: list[VolunteerHeld]
    erased_volunteers: list[ErasedVolunteer]


def _assignment(a: sa.Row[Any]) -> AssignmentHeld:
    return AssignmentHeld(
        assignment_id=a.assignment_id,
        slot_id=a.slot_id,
        commune_code=a.commune_code,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        status=a.status,
        role=a.role,
        proposed_at=a.proposed_at,
        answered_at=a.answered_at,
        channel=a.channel,
        served_minutes=a.served_minutes,
    )


def _volunteer(v: sa.Row[Any], theirs: list[AssignmentHeld]) -> VolunteerHeld:
    exceptions: list[Any] = list(v.exceptions)
    return VolunteerHeld(
        volunteer_id=v.volunteer_id,
        group_id=v.group_id,
        name=v.name,
        phone=v.phone,
        commune_code=v.commune_code,
        village=v.village,
        skills=list(v.skills),
        languages=list(v.languages),
        preferred_language=v.preferred_language,
        availability=dict(v.availability),
        exceptions=exceptions,
        monthly_limit=v.monthly_limit,
        paused=v.paused,
        erasure=v.erasure,
        registered_at=v.registered_at,
        consent=v.consent,
        assignments=theirs,
        served_minutes=sum(a.served_minutes or 0 for a in theirs),
    )


async def _held(
    conn: AsyncConnection, phone: str | None, volunteer_id: str | None
) -> VolunteersHeld:
    named = []
    if phone is not None:
        named.append(volunteers.c.phone == phone)
    if volunteer_id is not None:
        named.append(volunteers.c.volunteer_id == volunteer_id)
    if not named:  # a resident named by their request only (erased: no number left)
        return VolunteersHeld(volunteers=[], erased_volunteers=[])
    rows = list(
        await conn.execute(
            sa.select(volunteers).where(sa.or_(*named)).order_by(volunteers.c.registered_at)
        )
    )
    kept = [v for v in rows if v.erasure != _ERASED]
    theirs: dict[str, list[AssignmentHeld]] = {}
    found = await conn.execute(
        sa.select(assignments)
        .where(assignments.c.volunteer_id.in_([v.volunteer_id for v in kept]))
        .order_by(assignments.c.starts_at)
    )
    for a in found:
        theirs.setdefault(a.volunteer_id, []).append(_assignment(a))
    return VolunteersHeld(
        volunteers=[_volunteer(v, theirs.get(v.volunteer_id, [])) for v in kept],
        erased_volunteers=[
            ErasedVolunteer(volunteer_id=v.volunteer_id, erasure=v.erasure)
            for v in rows
            if v.erasure == _ERASED
        ],
    )


@subject_access_route(
    summary="Everything the volunteers service holds about one volunteer, for their own copy",
    description="Only a token with the role `service` may ask (the console, assembling a "
    "person's copy). The volunteer record of the number and/or `volunteer_id`, opened: name, "
    "village, skills, languages, availability, consent record, every assignment and the "
    "minutes served. An erased volunteer says `erased` and holds no personal value; an "
    "unknown person gets `nothing_held`. Never cached.",
)
async def give_subject_access(
    data: JSONBody[SubjectAccessAsked],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
) -> Response[SubjectAccessSection]:
    require_service(caller)
    phone = asked_phone(data)
    async with store.reader.connect() as conn:
        held = await _held(conn, phone, data.volunteer_id)
    made = section(
        "volunteers",
        store.clock.now(),
        held,
        held=bool(held.volunteers),
        erased=bool(held.erased_volunteers),
    )
    return Response(made, headers=NO_STORE)
