"""How the volunteers service's own events update its read models, inline in the transaction
that appends them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.volunteers.domain.cycle import Status
from services.volunteers.domain.slots import weekend_of
from services.volunteers.tables import (
    assignments,
    calendar_links,
    groups,
    slot_needs,
    slots,
    volunteers,
    weekend_plans,
)
from shared.events.base import RecordedEvent
from shared.events.volunteers import (
    AssignmentAccepted,
    AssignmentDeclined,
    AssignmentExpired,
    AssignmentMoved,
    AssignmentProposed,
    AssignmentReleased,
    AssignmentServed,
    AvailabilityChanged,
    CalendarLinkIssued,
    CalendarLinkRevoked,
    GroupRegistered,
    ResidentNeedsNoted,
    SessionStaffed,
    SessionUnderstaffed,
    SlotChanged,
    SlotClosed,
    SlotOpened,
    VolunteerErased,
    VolunteerErasureRequested,
    VolunteerPaused,
    VolunteerRegistered,
    VolunteerResumed,
    VolunteerUpdated,
    WeekendPlanned,
    proposal_topic,
)


def _builtins(value: Any) -> Any:
    return msgspec.to_builtins(value)


async def project(conn: AsyncConnection, recorded: RecordedEvent) -> None:
    """Update the read models for one event, in the transaction that appends it."""
    event = recorded.event
    match event:
        case (
            GroupRegistered()
            | VolunteerRegistered()
            | VolunteerUpdated()
            | VolunteerPaused()
            | VolunteerResumed()
            | AvailabilityChanged()
            | VolunteerErasureRequested()
            | VolunteerErased()
        ):
            await _project_registry(conn, event, recorded.recorded_at)
        case SlotOpened() | SlotChanged() | ResidentNeedsNoted() | SlotClosed():
            await _project_slot(conn, event)
        case SessionStaffed():
            await conn.execute(
                slots.update()
                .where(slots.c.slot_id == event.slot_id)
                .values(
                    staffing="staffed", missing_count=0, missing_skills=[], missing_languages=[]
                )
            )
        case SessionUnderstaffed():
            await conn.execute(
                slots.update()
                .where(slots.c.slot_id == event.slot_id)
                .values(
                    staffing="understaffed",
                    missing_count=event.missing_count,
                    missing_skills=_builtins(event.missing_skills),
                    missing_languages=_builtins(event.missing_languages),
                )
            )
        case (
            AssignmentProposed()
            | AssignmentAccepted()
            | AssignmentDeclined()
            | AssignmentExpired()
            | AssignmentReleased()
            | AssignmentServed()
        ):
            await _project_assignment(conn, event)
        case AssignmentMoved():
            await conn.execute(
                assignments.update()
                .where(assignments.c.assignment_id == event.assignment_id)
                .values(
                    starts_at=event.starts_at, ends_at=event.ends_at, topic=proposal_topic(event)
                )
            )
        case CalendarLinkIssued() | CalendarLinkRevoked():
            await _project_calendar_link(conn, event)
        case WeekendPlanned():
            await conn.execute(
                weekend_plans.delete().where(weekend_plans.c.saturday == event.saturday)
            )
            await conn.execute(
                weekend_plans.insert().values(
                    saturday=event.saturday,
                    planned_at=event.planned_at,
                    slots=event.slots,
                    open_places=event.open_places,
                    proposed=event.proposed,
                    objective=str(event.objective),
                    score={
                        "uncovered_requirements": event.uncovered_requirements,
                        "unfilled": event.unfilled,
                        "topic_roles": event.topic_roles,
                        "hops": event.hops,
                        "load": event.load,
                        "team": event.team,
                    },
                    gaps=_builtins(event.gaps),
                    solve_ms=event.solve_ms,
                )
            )
        case _:
            return


async def _project_calendar_link(
    conn: AsyncConnection, event: CalendarLinkIssued | CalendarLinkRevoked
) -> None:
    match event:
        case CalendarLinkIssued():
            await conn.execute(
                calendar_links.insert().values(
                    link_id=event.link_id,
                    volunteer_id=event.volunteer_id,
                    secret_hash=event.secret_hash,
                    issued_at=event.issued_at,
                    revoked_at=None,
                )
            )
        case CalendarLinkRevoked():
            await conn.execute(
                calendar_links.update()
                .where(calendar_links.c.link_id == event.link_id)
                .values(revoked_at=event.revoked_at)
            )


async def _project_registry(conn: AsyncConnection, event: Any, at: datetime) -> None:
    match event:
        case GroupRegistered():
            await conn.execute(
                groups.insert().values(
                    group_id=event.group_id,
                    name=event.name,
                    commune_code=event.commune_code,
                    registered_at=event.registered_at,
                )
            )
        case VolunteerRegistered():
            await conn.execute(
                volunteers.insert().values(
                    volunteer_id=event.volunteer_id,
                    group_id=event.group_id,
                    name=event.name,
                    phone=event.phone,
                    commune_code=event.commune_code,
                    village=event.village,
                    skills=_builtins(event.skills),
                    languages=_builtins(event.languages),
                    preferred_language=event.preferred_language.value,
                    availability=_builtins(event.availability),
                    exceptions=[],
                    monthly_limit=event.monthly_limit,
                    paused=False,
                    registered_at=event.registered_at,
                    updated_at=event.registered_at,
                    consent=_builtins(event.consent) if event.consent is not None else None,
                )
            )
        case VolunteerUpdated():
            await _update_volunteer(
                conn,
                event.volunteer_id,
                name=event.name,
                phone=event.phone,
                village=event.village,
                skills=_builtins(event.skills),
                languages=_builtins(event.languages),
                preferred_language=event.preferred_language.value,
                monthly_limit=event.monthly_limit,
                updated_at=event.updated_at,
            )
        case VolunteerPaused():
            await _update_volunteer(
                conn, event.volunteer_id, paused=True, updated_at=event.paused_at
            )
        case VolunteerResumed():
            await _update_volunteer(
                conn, event.volunteer_id, paused=False, updated_at=event.resumed_at
            )
        case VolunteerErasureRequested():
            await _update_volunteer(
                conn,
                event.volunteer_id,
                paused=True,
                erasure="erasing",
                updated_at=event.requested_at,
            )
        case VolunteerErased():
            await _update_volunteer(
                conn,
                event.volunteer_id,
                name="",
                phone="",
                village="",
                erasure="erased",
                updated_at=event.erased_at,
            )
        case AvailabilityChanged():
            await _update_volunteer(
                conn,
                event.volunteer_id,
                availability=_builtins(event.availability),
                exceptions=_builtins(event.exceptions),
                updated_at=event.changed_at,
            )
        case _:
            _ = at


async def _update_volunteer(conn: AsyncConnection, volunteer_id: str, **values: Any) -> None:
    await conn.execute(
        volunteers.update().where(volunteers.c.volunteer_id == volunteer_id).values(**values)
    )


async def _project_slot(conn: AsyncConnection, event: Any) -> None:
    match event:
        case SlotOpened():
            await conn.execute(
                slots.insert().values(
                    slot_id=event.slot_id,
                    kind=event.slot_kind.value,
                    saturday=weekend_of(event.starts_at),
                    commune_code=event.commune_code,
                    place=event.place,
                    starts_at=event.starts_at,
                    ends_at=event.ends_at,
                    needed=event.needed,
                    topics=_builtins(event.topics),
                    own_skills=_builtins(event.required_skills),
                    own_languages=_builtins(event.required_languages),
                    required_skills=_builtins(event.required_skills),
                    required_languages=_builtins(event.required_languages),
                    status="open",
                    staffing="",
                    missing_count=0,
                    missing_skills=[],
                    missing_languages=[],
                )
            )
        case SlotChanged():
            await conn.execute(
                slots.update()
                .where(slots.c.slot_id == event.slot_id)
                .values(
                    saturday=weekend_of(event.starts_at),
                    commune_code=event.commune_code,
                    place=event.place,
                    starts_at=event.starts_at,
                    ends_at=event.ends_at,
                    needed=event.needed,
                    topics=_builtins(event.topics),
                    own_skills=_builtins(event.required_skills),
                    own_languages=_builtins(event.required_languages),
                )
            )
            await _recompute_requirements(conn, event.slot_id)
        case ResidentNeedsNoted():
            await conn.execute(
                slot_needs.delete().where(
                    slot_needs.c.slot_id == event.slot_id,
                    slot_needs.c.booking_id == event.booking_id,
                )
            )
            if event.booked:
                await conn.execute(
                    slot_needs.insert().values(
                        slot_id=event.slot_id,
                        booking_id=event.booking_id,
                        skills=_builtins(event.skills),
                        languages=_builtins(event.languages),
                    )
                )
            await _recompute_requirements(conn, event.slot_id)
        case SlotClosed():
            await conn.execute(
                slots.update()
                .where(slots.c.slot_id == event.slot_id)
                .values(status=event.closing.value)
            )
        case _:
            return


async def _recompute_requirements(conn: AsyncConnection, slot_id: str) -> None:
    row = (
        await conn.execute(
            sa.select(slots.c.own_skills, slots.c.own_languages).where(slots.c.slot_id == slot_id)
        )
    ).first()
    if row is None:
        return
    skills = set(row.own_skills)
    languages = set(row.own_languages)
    for need in await conn.execute(
        sa.select(slot_needs.c.skills, slot_needs.c.languages).where(
            slot_needs.c.slot_id == slot_id
        )
    ):
        skills.update(need.skills)
        languages.update(need.languages)
    await conn.execute(
        slots.update()
        .where(slots.c.slot_id == slot_id)
        .values(required_skills=sorted(skills), required_languages=sorted(languages))
    )


async def _project_assignment(conn: AsyncConnection, event: Any) -> None:
    by_id = assignments.c.assignment_id == event.assignment_id
    match event:
        case AssignmentProposed():
            group_id = await conn.scalar(
                sa.select(volunteers.c.group_id).where(
                    volunteers.c.volunteer_id == event.volunteer_id
                )
            )
            await conn.execute(
                assignments.insert().values(
                    assignment_id=event.assignment_id,
                    slot_id=event.slot_id,
                    volunteer_id=event.volunteer_id,
                    group_id=group_id or "",
                    commune_code=event.commune_code,
                    starts_at=event.starts_at,
                    ends_at=event.ends_at,
                    status=Status.PROPOSED.value,
                    short_code=event.short_code,
                    answer_by=event.answer_by,
                    role=event.role,
                    explanation=event.explanation[:1000],
                    proposed_at=event.proposed_at,
                    topic=proposal_topic(event),
                )
            )
        case AssignmentAccepted():
            await conn.execute(
                assignments.update()
                .where(by_id)
                .values(
                    status=Status.ACCEPTED.value,
                    answered_at=event.accepted_at,
                    channel=event.channel.value,
                )
            )
        case AssignmentDeclined():
            await conn.execute(
                assignments.update()
                .where(by_id)
                .values(
                    status=Status.DECLINED.value,
                    answered_at=event.declined_at,
                    channel=event.channel.value,
                )
            )
        case AssignmentExpired():
            await conn.execute(
                assignments.update()
                .where(by_id)
                .values(status=Status.EXPIRED.value, answered_at=event.expired_at)
            )
        case AssignmentReleased():
            await conn.execute(
                assignments.update()
                .where(by_id)
                .values(status=Status.RELEASED.value, release_reason=event.reason.value)
            )
        case AssignmentServed():
            await conn.execute(
                assignments.update().where(by_id).values(served_minutes=event.minutes)
            )
        case _:
            return
