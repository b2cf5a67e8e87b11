"""What the API, the handlers and the planner read from the volunteers service's read models."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, Literal

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.volunteers.domain.assignment import Gap, Slot, gap_for
from services.volunteers.domain.cycle import ACTIVE, Status
from services.volunteers.domain.hours import AttendedAssignment
from services.volunteers.domain.slots import Needs
from services.volunteers.tables import (
    assignments,
    calendar_links,
    groups,
    slot_needs,
    slots,
    volunteers,
    weekend_plans,
)
from shared.events.consent import ConsentRecord
from shared.events.scheduler import CommuneCode
from shared.events.vocabulary import Language, Skill
from shared.events.volunteers import (
    AssignmentId,
    AvailabilityException,
    GroupId,
    SlotId,
    VolunteerId,
    WeeklyAvailability,
)

_ACTIVE = [status.value for status in ACTIVE]


class GroupView(msgspec.Struct, frozen=True, kw_only=True):
    group_id: GroupId
    name: str
    commune_code: CommuneCode
    members: int
    active_members: int
    registered_at: datetime


class VolunteerView(msgspec.Struct, frozen=True, kw_only=True):
    volunteer_id: VolunteerId
    group_id: GroupId
    name: str
    phone: str
    commune_code: CommuneCode
    village: str
    skills: tuple[Skill, ...]
    languages: tuple[Language, ...]
    preferred_language: Language
    availability: WeeklyAvailability
    exceptions: tuple[AvailabilityException, ...]
    monthly_limit: int
    paused: bool
    registered_at: datetime
    updated_at: datetime
    # "erasing": being forgotten (no more proposals); "erased": name, phone and village gone
    erasure: Literal["", "erasing", "erased"] = ""
    # What the volunteer agreed to (shared/events/consent.py); null if registered before.
    consent: ConsentRecord | None = None


class AssignmentView(msgspec.Struct, frozen=True, kw_only=True):
    assignment_id: AssignmentId
    slot_id: SlotId
    volunteer_id: VolunteerId
    group_id: GroupId
    commune_code: CommuneCode
    starts_at: datetime
    ends_at: datetime
    status: Status
    short_code: str
    answer_by: datetime
    role: str
    explanation: str
    proposed_at: datetime
    answered_at: datetime | None = None
    channel: str | None = None
    release_reason: str | None = None
    served_minutes: int | None = None


class SlotView(msgspec.Struct, frozen=True, kw_only=True):
    slot_id: SlotId
    kind: str
    saturday: date
    commune_code: CommuneCode
    place: str
    starts_at: datetime
    ends_at: datetime
    needed: int
    topics: tuple[Skill, ...]
    required_skills: tuple[Skill, ...]
    required_languages: tuple[Language, ...]
    status: str
    staffing: str
    missing_count: int
    missing_skills: tuple[Skill, ...]
    missing_languages: tuple[Language, ...]


def _plain(row: Any) -> dict[str, Any]:
    """A row as a dict with plain str keys (msgspec refuses SQLAlchemy's str subclasses)."""
    return {str(key): value for key, value in row._mapping.items()}


def _volunteer(row: Any) -> VolunteerView:
    return msgspec.convert(_plain(row), VolunteerView)


def _assignment(row: Any) -> AssignmentView:
    return msgspec.convert(_plain(row), AssignmentView)


def _slot(row: Any) -> SlotView:
    values = {
        name: value
        for name, value in _plain(row).items()
        if name not in {"own_skills", "own_languages"}
    }
    return msgspec.convert(values, SlotView)


async def group(conn: AsyncConnection, group_id: str) -> GroupView | None:
    row = (await conn.execute(sa.select(groups).where(groups.c.group_id == group_id))).first()
    if row is None:
        return None
    counts = (
        await conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(sa.case((volunteers.c.paused, 0), else_=1)), 0),
            ).where(volunteers.c.group_id == group_id)
        )
    ).one()
    return GroupView(
        group_id=row.group_id,
        name=row.name,
        commune_code=row.commune_code,
        members=int(counts[0]),
        active_members=int(counts[1]),
        registered_at=row.registered_at,
    )


async def groups_in(conn: AsyncConnection, commune_code: str) -> list[tuple[str, str]]:
    """(group id, name) of a commune's groups, oldest first."""
    rows = await conn.execute(
        sa.select(groups.c.group_id, groups.c.name)
        .where(groups.c.commune_code == commune_code)
        .order_by(groups.c.registered_at, groups.c.group_id)
    )
    return [(row.group_id, row.name) for row in rows]


async def volunteer(conn: AsyncConnection, volunteer_id: str) -> VolunteerView | None:
    row = (
        await conn.execute(sa.select(volunteers).where(volunteers.c.volunteer_id == volunteer_id))
    ).first()
    return None if row is None else _volunteer(row)


async def volunteers_where(conn: AsyncConnection, *where: Any) -> list[VolunteerView]:
    rows = await conn.execute(
        sa.select(volunteers).where(*where).order_by(volunteers.c.name, volunteers.c.volunteer_id)
    )
    return [_volunteer(row) for row in rows]


async def volunteers_with_phone(conn: AsyncConnection, phone: str) -> list[VolunteerView]:
    return await volunteers_where(conn, volunteers.c.phone == phone)


async def volunteers_in(
    conn: AsyncConnection, communes: Iterable[str] | None
) -> list[VolunteerView]:
    """Every volunteer, or those of some communes (the planner's candidates)."""
    if communes is None:
        return await volunteers_where(conn)
    return await volunteers_where(conn, volunteers.c.commune_code.in_(sorted(set(communes))))


async def assignment(conn: AsyncConnection, assignment_id: str) -> AssignmentView | None:
    row = (
        await conn.execute(
            sa.select(assignments).where(assignments.c.assignment_id == assignment_id)
        )
    ).first()
    return None if row is None else _assignment(row)


async def assignments_where(conn: AsyncConnection, *where: Any) -> list[AssignmentView]:
    rows = await conn.execute(
        sa.select(assignments)
        .where(*where)
        .order_by(assignments.c.starts_at, assignments.c.assignment_id)
    )
    return [_assignment(row) for row in rows]


async def assignments_of(conn: AsyncConnection, volunteer_id: str) -> list[AssignmentView]:
    return await assignments_where(conn, assignments.c.volunteer_id == volunteer_id)


async def active_assignments_between(
    conn: AsyncConnection, volunteer_ids: Sequence[str] | None, since: datetime, until: datetime
) -> list[AssignmentView]:
    """Proposed or accepted assignments starting in [since, until) (all volunteers if None)."""
    where = [
        assignments.c.status.in_(_ACTIVE),
        assignments.c.starts_at >= since,
        assignments.c.starts_at < until,
    ]
    if volunteer_ids is not None:
        where.append(assignments.c.volunteer_id.in_(list(volunteer_ids)))
    return await assignments_where(conn, *where)


async def pending_codes(conn: AsyncConnection, volunteer_ids: Iterable[str]) -> dict[str, set[str]]:
    """Short codes of each volunteer's proposals still waiting for an answer."""
    rows = await conn.execute(
        sa.select(assignments.c.volunteer_id, assignments.c.short_code).where(
            assignments.c.volunteer_id.in_(sorted(set(volunteer_ids))),
            assignments.c.status == Status.PROPOSED.value,
        )
    )
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row.volunteer_id, set()).add(row.short_code)
    return found


_noted_needs = (
    sa.select(slots.c.status, slot_needs.c.skills, slot_needs.c.languages)
    .select_from(
        slots.outerjoin(
            slot_needs,
            sa.and_(
                slot_needs.c.slot_id == slots.c.slot_id,
                slot_needs.c.booking_id == sa.bindparam("v_booking_id"),
            ),
        )
    )
    .where(slots.c.slot_id == sa.bindparam("v_slot_id"))
)


class NotedNeeds(msgspec.Struct, frozen=True, kw_only=True):
    """Whether a slot is open, and the needs noted for one booking into it (None: none)."""

    open: bool
    needs: Needs | None


async def noted_needs(conn: AsyncConnection, slot_id: str, booking_id: str) -> NotedNeeds | None:
    """What the slot's stream says of one booking's needs, from the read models in one query
    (None: no such slot)."""
    row = (
        await conn.execute(_noted_needs, {"v_slot_id": slot_id, "v_booking_id": booking_id})
    ).first()
    if row is None:
        return None
    needs = (
        None
        if row.skills is None
        else Needs(
            skills=tuple(Skill(skill) for skill in row.skills),
            languages=tuple(Language(language) for language in row.languages),
        )
    )
    return NotedNeeds(open=row.status == "open", needs=needs)


async def slot(conn: AsyncConnection, slot_id: str) -> SlotView | None:
    row = (await conn.execute(sa.select(slots).where(slots.c.slot_id == slot_id))).first()
    return None if row is None else _slot(row)


async def slots_of_weekend(
    conn: AsyncConnection, saturday: date, *, open_only: bool = False
) -> list[SlotView]:
    where = [slots.c.saturday == saturday]
    if open_only:
        where.append(slots.c.status == "open")
    rows = await conn.execute(
        sa.select(slots).where(*where).order_by(slots.c.starts_at, slots.c.slot_id)
    )
    return [_slot(row) for row in rows]


async def weekends_short_of_volunteers(
    conn: AsyncConnection, communes: Iterable[str], after: datetime
) -> list[date]:
    """Weekends with an open, understaffed slot in these communes, still to come."""
    rows = await conn.execute(
        sa.select(slots.c.saturday)
        .where(
            slots.c.status == "open",
            slots.c.staffing == "understaffed",
            slots.c.starts_at > after,
            slots.c.commune_code.in_(sorted(set(communes))),
        )
        .distinct()
        .order_by(slots.c.saturday)
    )
    return [row.saturday for row in rows]


async def gaps_now(conn: AsyncConnection, open_slots: Sequence[SlotView]) -> list[Gap]:
    """What each slot lacks now, counting proposals still waiting as well as acceptances."""
    ids = [s.slot_id for s in open_slots]
    if not ids:
        return []
    rows = await conn.execute(
        sa.select(assignments.c.slot_id, volunteers.c.skills, volunteers.c.languages)
        .join_from(assignments, volunteers, volunteers.c.volunteer_id == assignments.c.volunteer_id)
        .where(assignments.c.slot_id.in_(ids), assignments.c.status.in_(_ACTIVE))
    )
    staff: dict[str, list[Any]] = {}
    for row in rows:
        staff.setdefault(row.slot_id, []).append(row)
    gaps = []
    for view in open_slots:
        members = staff.get(view.slot_id, [])
        slot = Slot(
            slot_id=view.slot_id,
            commune_code=view.commune_code,
            starts_at=view.starts_at,
            ends_at=view.ends_at,
            needed=view.needed,
            required_skills=frozenset(view.required_skills),
            required_languages=frozenset(view.required_languages),
        )
        gap = gap_for(
            slot,
            len(members),
            {Skill(s) for m in members for s in m.skills},
            {Language(x) for m in members for x in m.languages},
        )
        if gap is not None and view.needed > 0:
            gaps.append(gap)
    return gaps


class PlanSummary(msgspec.Struct, frozen=True, kw_only=True):
    saturday: date
    planned_at: datetime
    slots: int
    open_places: int
    proposed: int
    objective: str
    score: dict[str, int]
    solve_ms: int


async def plan_summary(conn: AsyncConnection, saturday: date) -> PlanSummary | None:
    row = (
        await conn.execute(sa.select(weekend_plans).where(weekend_plans.c.saturday == saturday))
    ).first()
    if row is None:
        return None
    return PlanSummary(
        saturday=row.saturday,
        planned_at=row.planned_at,
        slots=row.slots,
        open_places=row.open_places,
        proposed=row.proposed,
        objective=row.objective,
        score=row.score,
        solve_ms=row.solve_ms,
    )


async def served(conn: AsyncConnection, *where: Any) -> list[AttendedAssignment]:
    """Served assignments (the hours report's input), counted for the volunteer's commune."""
    rows = await conn.execute(
        sa.select(
            assignments.c.assignment_id,
            assignments.c.volunteer_id,
            assignments.c.group_id,
            volunteers.c.commune_code,
            assignments.c.starts_at,
            assignments.c.ends_at,
        )
        .join_from(assignments, volunteers, volunteers.c.volunteer_id == assignments.c.volunteer_id)
        .where(assignments.c.served_minutes.is_not(None), *where)
    )
    return [
        AttendedAssignment(
            assignment_id=row.assignment_id,
            volunteer_id=row.volunteer_id,
            group_id=row.group_id,
            commune_code=row.commune_code,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
        )
        for row in rows
    ]


# --- Calendar feed ----------------------------------------------------------------------------


async def volunteer_of_link(conn: AsyncConnection, secret_hash: str) -> VolunteerId | None:
    """Whose calendar a link opens; None for a link never issued or revoked."""
    found = await conn.scalar(
        sa.select(calendar_links.c.volunteer_id).where(
            calendar_links.c.secret_hash == secret_hash, calendar_links.c.revoked_at.is_(None)
        )
    )
    return None if found is None else VolunteerId(found)


class CalendarEntry(msgspec.Struct, frozen=True, kw_only=True):
    """An accepted assignment as the volunteer's calendar shows it."""

    assignment_id: AssignmentId
    starts_at: datetime
    ends_at: datetime
    place: str
    topic: str  # a topic or skill code; "" when the slot names none


async def calendar_entries(
    conn: AsyncConnection, volunteer_id: str, *, ending_after: datetime
) -> list[CalendarEntry]:
    """The volunteer's accepted assignments that end after a moment, at their slot's place."""
    rows = await conn.execute(
        sa.select(
            assignments.c.assignment_id,
            assignments.c.starts_at,
            assignments.c.ends_at,
            assignments.c.topic,
            slots.c.place,
            slots.c.topics,
        )
        .join(slots, slots.c.slot_id == assignments.c.slot_id)
        .where(
            assignments.c.volunteer_id == volunteer_id,
            assignments.c.status == Status.ACCEPTED.value,
            assignments.c.ends_at > ending_after,
        )
        .order_by(assignments.c.starts_at, assignments.c.assignment_id)
    )
    return [
        CalendarEntry(
            assignment_id=AssignmentId(row.assignment_id),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            place=row.place,
            # rows projected before assignments kept their topic: the slot's first, as the SMS
            topic=row.topic or next(iter(row.topics), ""),
        )
        for row in rows
    ]
