"""HTTP routes of the volunteers service: registry, availability, planning, answers, hours."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from litestar import Request, Response, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncConnection

from services.volunteers import erasure, handlers
from services.volunteers.calendar_feed import LOOKBACK, MEDIA_TYPE, calendar_of
from services.volunteers.domain import roster_csv
from services.volunteers.domain.availability import SATURDAY, ChangeAvailability
from services.volunteers.domain.calendar_links import IssueCalendarLink, secret_hash
from services.volunteers.domain.errors import InvalidVolunteerError
from services.volunteers.domain.hours import hours_report
from services.volunteers.domain.registry import (
    MAX_MONTHLY_LIMIT,
    PauseVolunteer,
    RegisterGroup,
    RegisterVolunteer,
    ResumeVolunteer,
    UpdateVolunteer,
)
from services.volunteers.domain.roster_csv import RosterRejected, parse_roster
from services.volunteers.planning import StaffingOptions
from services.volunteers.settings import FeedSettings
from services.volunteers.subject_access import give_subject_access
from services.volunteers.tables import assignments, volunteers
from services.volunteers.views import queries
from shared.clock import VIETNAM
from shared.communes import province_of
from shared.events.base import Cause
from shared.events.consent import VOLUNTEER_WORDING, ConsentChannel
from shared.events.scheduler import CommuneCode
from shared.events.vocabulary import Language, Skill
from shared.events.volunteers import (
    AnswerChannel,
    AvailabilityException,
    CalendarLinkId,
    ErasureAskedBy,
    GroupId,
    PlannedGap,
    VolunteerId,
    WeeklyAvailability,
)
from shared.phones import normalize_phone
from shared.store.database import one_snapshot
from shared.store.eventstore import EventStore, Transaction
from shared.web.auth import Caller, ForbiddenError, Role
from shared.web.idempotency import StoredAnswer, answer_once, new_id
from shared.web.openapi import csv_body
from shared.web.person_keys import give_person_keys
from shared.web.problems import HIDDEN_PATH, InvalidField, InvalidInputError, NotFoundError

_JSON = msgspec.json.Encoder()
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
Phone = Annotated[str, msgspec.Meta(min_length=3, max_length=20)]
Code = Annotated[str, msgspec.Meta(pattern=r"^\d{5}$")]
Limit = Annotated[int, msgspec.Meta(ge=0, le=MAX_MONTHLY_LIMIT)]
Village = Annotated[str, msgspec.Meta(max_length=200)]
MAX_ROSTER_BYTES = 2_000_000
# The columns, as the parser's own docstring states them (one text, read by people and code).
ROSTER_FORMAT = (roster_csv.__doc__ or "").split("\n\n", 1)[1].split("\n\nThe result")[0]
S = TypeVar("S", bound=msgspec.Struct)


# --- Requests ---------------------------------------------------------------------------------


class GroupCreate(msgspec.Struct, frozen=True, kw_only=True):
    name: Name
    commune_code: Code


class VolunteerCreate(msgspec.Struct, frozen=True, kw_only=True):
    group_id: str
    name: Name
    phone: Phone
    village: Village = ""
    skills: tuple[Skill, ...] = ()
    languages: tuple[Language, ...] = (Language.VI,)
    preferred_language: Language = Language.VI
    availability: WeeklyAvailability = WeeklyAvailability()
    monthly_limit: Limit = 4
    consent_given: Annotated[
        bool,
        msgspec.Meta(
            description="The volunteer agreed to us keeping these details (422 naming this "
            "field otherwise); recorded with the wording, the channel and the coordinator."
        ),
    ] = False
    consent_wording: Annotated[
        str,
        msgspec.Meta(description="The version of the wording shown; the current one if left out."),
    ] = VOLUNTEER_WORDING
    consent_channel: Annotated[
        Literal["api", "console"],
        msgspec.Meta(description="Where the volunteer agreed: `console` from the console's form."),
    ] = "api"


class VolunteerUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """Only the fields given change."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    phone: Phone | msgspec.UnsetType = msgspec.UNSET
    village: Village | msgspec.UnsetType = msgspec.UNSET
    skills: tuple[Skill, ...] | msgspec.UnsetType = msgspec.UNSET
    languages: tuple[Language, ...] | msgspec.UnsetType = msgspec.UNSET
    preferred_language: Language | msgspec.UnsetType = msgspec.UNSET
    monthly_limit: Limit | msgspec.UnsetType = msgspec.UNSET


class VolunteerPause(msgspec.Struct, frozen=True, kw_only=True):
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class AvailabilityUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """The usual week, always; the dated exceptions only when given (a client that knows
    nothing of them leaves them be)."""

    availability: WeeklyAvailability
    exceptions: (
        Annotated[
            tuple[AvailabilityException, ...],
            msgspec.Meta(
                description="The full list of dated exceptions: omitted, the stored ones stay "
                "as they are; `[]` clears them."
            ),
        ]
        | msgspec.UnsetType
    ) = msgspec.UNSET


# --- Responses --------------------------------------------------------------------------------


class GroupDetail(msgspec.Struct, frozen=True, kw_only=True):
    group: queries.GroupView
    members: list[queries.VolunteerView]


class RosterImported(msgspec.Struct, frozen=True, kw_only=True):
    group_id: str
    imported: int
    volunteer_ids: list[str]


class SlotDetail(msgspec.Struct, frozen=True, kw_only=True):
    slot: queries.SlotView
    assignments: list[queries.AssignmentView]


class WeekendPlanView(msgspec.Struct, frozen=True, kw_only=True):
    """The last plan of a weekend, each slot with its assignments' explanations, and the gaps."""

    saturday: date
    plan: queries.PlanSummary | None
    slots: list[SlotDetail]
    gaps: list[PlannedGap]


class HoursView(msgspec.Struct, frozen=True, kw_only=True):
    scope: str
    since: date | None
    until: date | None
    assignments: int
    total_minutes: int
    total_hours: float
    by_volunteer: dict[str, int]
    by_group: dict[str, int]


# --- Who may do what --------------------------------------------------------------------------


def _coordinator_of(caller: NamedDependency[Caller], commune_code: str) -> None:
    caller.require(Role.COORDINATOR)
    caller.require_commune(commune_code, province_of(commune_code))


def _self_or_coordinator(caller: NamedDependency[Caller], volunteer: queries.VolunteerView) -> None:
    """A volunteer acts for themself; a coordinator for the volunteers of their communes."""
    if caller.role is Role.VOLUNTEER:
        if caller.volunteer_id != volunteer.volunteer_id:
            raise ForbiddenError("a volunteer token acts only for its own volunteer")
        return
    _coordinator_of(caller, volunteer.commune_code)


async def _volunteer(conn: AsyncConnection, volunteer_id: str) -> queries.VolunteerView:
    found = await queries.volunteer(conn, volunteer_id)
    if found is None:
        raise NotFoundError(f"no volunteer {volunteer_id}")
    return found


async def _group(conn: AsyncConnection, group_id: str) -> queries.GroupView:
    found = await queries.group(conn, group_id)
    if found is None:
        raise NotFoundError(f"no group {group_id}")
    return found


def _bare(prefix: str, key: str | None, scope: str) -> str:
    """A new id: a UUID, fixed by the Idempotency-Key when there is one."""
    return new_id(prefix, key, scope).removeprefix(f"{prefix}-")


def _created(body: msgspec.Struct) -> StoredAnswer:
    return StoredAnswer(201, _JSON.encode(body))


def _answer(answer: StoredAnswer, view: type[S]) -> Response[S]:
    """The first answer to a request with this Idempotency-Key, as the route documents it."""
    return Response(msgspec.json.decode(answer.body, type=view), status_code=answer.status_code)


# --- Registry ---------------------------------------------------------------------------------


@post(
    "/groups",
    status_code=201,
    summary="Register a commune's community digital technology group",
    description="A coordinator of the commune; the commune is its official five-digit code. "
    "Accepts Idempotency-Key.",
    tags=["groups"],
)
async def create_group(
    data: JSONBody[GroupCreate],
    request: Request[Any, Any, State],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
    idempotency_key: NamedDependency[str | None],
) -> Response[queries.GroupView]:
    _coordinator_of(caller, data.commune_code)
    group_id = GroupId(_bare("group", idempotency_key, "groups"))

    async def work(tx: Transaction) -> StoredAnswer:
        command = RegisterGroup(
            group_id=group_id, name=data.name, commune_code=CommuneCode(data.commune_code)
        )
        await handlers.register_group(tx, command, now=store.clock.now(), cause=cause)
        return _created(await _group(tx.conn, group_id))

    answer = await answer_once(store, idempotency_key, "groups", await request.body(), work)
    return _answer(answer, queries.GroupView)


@get(
    "/groups/{group_id:str}",
    summary="A group, its member counts and its members",
    tags=["groups"],
)
async def read_group(
    group_id: FromPath[str], caller: NamedDependency[Caller], store: NamedDependency[EventStore]
) -> GroupDetail:
    async with store.reader.connect() as conn:
        found = await _group(conn, group_id)
        _coordinator_of(caller, found.commune_code)
        members = await queries.volunteers_where(conn, volunteers.c.group_id == group_id)
    return GroupDetail(group=found, members=members)


@post(
    "/groups/{group_id:str}/roster",
    status_code=201,
    summary="Import a group's members from CSV: every row, or none",
    description="Any wrong row rejects the whole file (422 `roster-rejected`, one `errors[]` "
    "entry per wrong line, every reason); rows whose phone is already registered are "
    "rejected too, and so are rows whose `consent` is not yes. At most 2 MB. Accepts "
    "Idempotency-Key.",
    tags=["groups"],
    operation_class=csv_body(ROSTER_FORMAT),
    responses={413: ResponseSpec(None, description="The file is larger than 2 MB.")},
)
async def import_roster(
    group_id: FromPath[str],
    request: Request[Any, Any, State],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
    staffing: NamedDependency[StaffingOptions],
    idempotency_key: NamedDependency[str | None],
) -> Response[RosterImported]:
    async with store.reader.connect() as conn:
        found = await _group(conn, group_id)
    _coordinator_of(caller, found.commune_code)
    raw = await request.body()
    if len(raw) > MAX_ROSTER_BYTES:
        raise HTTPException(status_code=413, detail="the roster file is larger than 2 MB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationException(extra=[{"key": "body", "message": "not UTF-8 text"}]) from None
    scope = f"roster:{group_id}"
    # With an Idempotency-Key, row n always gets the same id, so a retry creates nobody new.
    ids = (
        VolunteerId(_bare("volunteer", idempotency_key and f"{idempotency_key}:{n}", scope))
        for n in itertools.count()
    )
    parsed = parse_roster(text, found.group_id, found.commune_code, ids, recorded_by=caller.sub)
    if isinstance(parsed, RosterRejected):
        raise _rejected(parsed.rows)

    async def work(tx: Transaction) -> StoredAnswer:
        rejected = await handlers.import_roster(
            tx, parsed.volunteers, options=staffing, now=store.clock.now(), cause=cause
        )
        if rejected:
            raise _RosterConflictError(rejected)
        return _created(
            RosterImported(
                group_id=group_id,
                imported=len(parsed.volunteers),
                volunteer_ids=[c.volunteer_id for c in parsed.volunteers],
            )
        )

    try:
        return _answer(await answer_once(store, idempotency_key, scope, raw, work), RosterImported)
    except _RosterConflictError as error:
        raise _rejected(error.rows) from None


class _RosterConflictError(Exception):
    """Rows that clash with volunteers already registered: the whole import is rolled back."""

    def __init__(self, rows: Any) -> None:
        super().__init__("roster rejected")
        self.rows = rows


class RosterRejectedError(InvalidInputError):
    """Rows of a roster that break its rules (422 `roster-rejected`); nothing is imported."""

    kind = "roster-rejected"


def _rejected(rows: Any) -> RosterRejectedError:
    errors = [
        InvalidField(field=f"line {row.line}", message="; ".join(row.reasons)) for row in rows
    ]
    detail = f"{len(errors)} row(s) rejected; nothing was imported"
    return RosterRejectedError(errors[0].field, detail, errors=errors)


@post(
    "/volunteers",
    status_code=201,
    summary="Register a volunteer in a group",
    description="A coordinator of the group's commune. Phones as typed are stored E.164; one "
    "phone, one volunteer (409). The volunteer's consent (`consent_given`) is required (422 "
    "naming it otherwise) and recorded with the wording, channel and coordinator. Accepts "
    "Idempotency-Key.",
    tags=["volunteers"],
)
async def create_volunteer(
    data: JSONBody[VolunteerCreate],
    request: Request[Any, Any, State],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
    staffing: NamedDependency[StaffingOptions],
    idempotency_key: NamedDependency[str | None],
) -> Response[queries.VolunteerView]:
    async with store.reader.connect() as conn:
        group = await queries.group(conn, data.group_id)
    if group is None:
        raise InvalidVolunteerError(f"group {data.group_id} does not exist", "group_id")
    _coordinator_of(caller, group.commune_code)
    volunteer_id = VolunteerId(_bare("volunteer", idempotency_key, "volunteers"))

    async def work(tx: Transaction) -> StoredAnswer:
        command = RegisterVolunteer(
            volunteer_id=volunteer_id,
            group_id=group.group_id,
            name=data.name,
            phone=normalize_phone(data.phone),
            commune_code=group.commune_code,
            village=data.village,
            skills=data.skills,
            languages=data.languages,
            preferred_language=data.preferred_language,
            availability=data.availability,
            monthly_limit=data.monthly_limit,
            consent_given=data.consent_given,
            consent_wording=data.consent_wording,
            consent_channel=ConsentChannel(data.consent_channel),
            recorded_by_id=caller.sub,
        )
        await handlers.register_volunteer(
            tx, command, options=staffing, now=store.clock.now(), cause=cause
        )
        return _created(await _volunteer(tx.conn, volunteer_id))

    body = await request.body()
    answer = await answer_once(store, idempotency_key, "volunteers", body, work)
    return _answer(answer, queries.VolunteerView)


@get(
    "/volunteers/{volunteer_id:str}",
    summary="A volunteer's details, availability and whether they paused",
    tags=["volunteers"],
)
async def read_volunteer(
    volunteer_id: FromPath[str], caller: NamedDependency[Caller], store: NamedDependency[EventStore]
) -> queries.VolunteerView:
    async with store.reader.connect() as conn:
        found = await _volunteer(conn, volunteer_id)
    _self_or_coordinator(caller, found)
    return found


@patch(
    "/volunteers/{volunteer_id:str}",
    summary="Change a volunteer's details: only the fields given",
    tags=["volunteers"],
)
async def change_volunteer(
    volunteer_id: FromPath[str],
    data: JSONBody[VolunteerUpdate],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
) -> queries.VolunteerView:
    """Change a volunteer's details (a coordinator of their commune)."""
    async with store.transaction() as tx:
        found = await _volunteer(tx.conn, volunteer_id)
        _coordinator_of(caller, found.commune_code)
        given = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
        if "phone" in given:
            given["phone"] = normalize_phone(given["phone"])
        command = UpdateVolunteer(
            volunteer_id=found.volunteer_id,
            name=given.get("name", found.name),
            phone=given.get("phone", found.phone),
            village=given.get("village", found.village),
            skills=given.get("skills", found.skills),
            languages=given.get("languages", found.languages),
            preferred_language=given.get("preferred_language", found.preferred_language),
            monthly_limit=given.get("monthly_limit", found.monthly_limit),
        )
        await handlers.update_volunteer(tx, command, now=store.clock.now(), cause=cause)
        return await _volunteer(tx.conn, volunteer_id)


@post(
    "/volunteers/{volunteer_id:str}/pause",
    status_code=200,
    summary="Pause a volunteer: future assignments are released and refilled",
    tags=["volunteers"],
)
async def pause_volunteer(
    volunteer_id: FromPath[str],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
    staffing: NamedDependency[StaffingOptions],
    data: JSONBody[VolunteerPause | None] = None,
) -> queries.VolunteerView:
    """Step back for a while: future assignments are released and go to others."""
    async with store.transaction() as tx:
        found = await _volunteer(tx.conn, volunteer_id)
        _self_or_coordinator(caller, found)
        command = PauseVolunteer(
            volunteer_id=found.volunteer_id, reason=data.reason if data else ""
        )
        await handlers.pause_volunteer(
            tx, command, options=staffing, now=store.clock.now(), cause=cause
        )
        return await _volunteer(tx.conn, volunteer_id)


@post(
    "/volunteers/{volunteer_id:str}/erasure",
    status_code=202,
    summary="Erase a volunteer's personal data: no more proposals, their number forgotten",
    description="The volunteer themself, a coordinator of their commune or an admin. Future "
    "assignments are released and refilled; the notifications service texts them that it is "
    "done and forgets their number, then their data key is destroyed (`erasure` goes from "
    "`erasing` to `erased`: name, phone and village blank, assignments and hours still "
    "counted). Asked again, nothing more happens.",
    tags=["volunteers"],
)
async def erase_volunteer(
    volunteer_id: FromPath[str],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
    staffing: NamedDependency[StaffingOptions],
) -> queries.VolunteerView:
    async with store.transaction() as tx:
        found = await _volunteer(tx.conn, volunteer_id)
        _self_or_coordinator(caller, found)
        await erasure.request_erasure(
            tx,
            found.volunteer_id,
            by=_asking(caller),
            options=staffing,
            now=store.clock.now(),
            cause=cause,
        )
        return await _volunteer(tx.conn, volunteer_id)


def _asking(caller: Caller) -> ErasureAskedBy:
    if caller.role is Role.VOLUNTEER:
        return ErasureAskedBy.VOLUNTEER
    return ErasureAskedBy.ADMIN if caller.role is Role.ADMIN else ErasureAskedBy.COORDINATOR


@post(
    "/volunteers/{volunteer_id:str}/resume",
    status_code=200,
    summary="Resume a paused volunteer",
    tags=["volunteers"],
)
async def resume_volunteer(
    volunteer_id: FromPath[str],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
    staffing: NamedDependency[StaffingOptions],
) -> queries.VolunteerView:
    async with store.transaction() as tx:
        found = await _volunteer(tx.conn, volunteer_id)
        _self_or_coordinator(caller, found)
        command = ResumeVolunteer(volunteer_id=found.volunteer_id)
        await handlers.resume_volunteer(
            tx, command, options=staffing, now=store.clock.now(), cause=cause
        )
        return await _volunteer(tx.conn, volunteer_id)


@put(
    "/volunteers/{volunteer_id:str}/availability",
    summary="Restate a volunteer's usual weekend and dated exceptions",
    tags=["volunteers"],
)
async def change_availability(
    volunteer_id: FromPath[str],
    data: JSONBody[AvailabilityUpdate],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
    staffing: NamedDependency[StaffingOptions],
) -> queries.VolunteerView:
    """Restate the usual week (the volunteer, or a coordinator); the dated exceptions are
    replaced by `exceptions` when it is given (`[]` clears them) and kept when it is omitted."""
    async with store.transaction() as tx:
        found = await _volunteer(tx.conn, volunteer_id)
        _self_or_coordinator(caller, found)
        command = ChangeAvailability(
            volunteer_id=found.volunteer_id,
            availability=data.availability,
            exceptions=None if data.exceptions is msgspec.UNSET else data.exceptions,
        )
        await handlers.change_availability(
            tx, command, options=staffing, now=store.clock.now(), cause=cause
        )
        return await _volunteer(tx.conn, volunteer_id)


@get(
    "/communes/{commune_code:str}/volunteers",
    summary="The volunteers of a commune",
    tags=["volunteers"],
)
async def commune_volunteers(
    commune_code: FromPath[str], caller: NamedDependency[Caller], store: NamedDependency[EventStore]
) -> list[queries.VolunteerView]:
    _coordinator_of(caller, commune_code)
    async with store.reader.connect() as conn:
        return await queries.volunteers_where(conn, volunteers.c.commune_code == commune_code)


@get(
    "/communes/{commune_code:str}/groups",
    summary="The groups of a commune, oldest first, with their member counts",
    tags=["groups"],
)
async def commune_groups(
    commune_code: FromPath[str], caller: NamedDependency[Caller], store: NamedDependency[EventStore]
) -> list[queries.GroupView]:
    _coordinator_of(caller, commune_code)
    async with store.reader.connect() as conn:
        found = [
            await queries.group(conn, group_id)
            for group_id, _ in await queries.groups_in(conn, commune_code)
        ]
    return [group for group in found if group is not None]


@get(
    "/volunteers/{volunteer_id:str}/assignments",
    summary="Every assignment of a volunteer, with its status and explanation",
    tags=["assignments"],
)
async def volunteer_assignments(
    volunteer_id: FromPath[str], caller: NamedDependency[Caller], store: NamedDependency[EventStore]
) -> list[queries.AssignmentView]:
    async with store.reader.connect() as conn:
        found = await _volunteer(conn, volunteer_id)
        _self_or_coordinator(caller, found)
        return await queries.assignments_of(conn, volunteer_id)


# --- Slots, plans and answers -----------------------------------------------------------------


async def _slot_detail(conn: AsyncConnection, slot: queries.SlotView) -> SlotDetail:
    held = await queries.assignments_where(conn, assignments.c.slot_id == slot.slot_id)
    return SlotDetail(slot=slot, assignments=held)


@get(
    "/slots/{slot_id:str}",
    summary="A slot (session or home visit): requirements, staffing and assignments",
    tags=["assignments"],
)
async def read_slot(
    slot_id: FromPath[str], caller: NamedDependency[Caller], store: NamedDependency[EventStore]
) -> SlotDetail:
    async with store.reader.connect() as reader:
        conn = await one_snapshot(reader)  # the slot's staffing and its assignments agree
        found = await queries.slot(conn, slot_id)
        if found is None:
            raise NotFoundError(f"no slot {slot_id}")
        _coordinator_of(caller, found.commune_code)
        return await _slot_detail(conn, found)


def _saturday_of(day: date) -> date:
    return day - timedelta(days=(day.weekday() - SATURDAY) % 7)


async def _plan_view(
    conn: AsyncConnection, saturday: date, caller: NamedDependency[Caller]
) -> WeekendPlanView:
    slots = [
        s
        for s in await queries.slots_of_weekend(conn, saturday)
        if caller.covers(s.commune_code, province_of(s.commune_code))
    ]
    details = [await _slot_detail(conn, s) for s in slots]
    open_slots = [s for s in slots if s.status == "open"]
    gaps = [
        PlannedGap(
            slot_id=gap.slot_id,
            missing_count=gap.missing_count,
            missing_skills=gap.missing_skills,
            missing_languages=gap.missing_languages,
        )
        for gap in await queries.gaps_now(conn, open_slots)
    ]
    return WeekendPlanView(
        saturday=saturday,
        plan=await queries.plan_summary(conn, saturday),
        slots=details,
        gaps=gaps,
    )


@post(
    "/weekends/{day:str}/plan",
    status_code=200,
    summary="Plan a weekend now (any date of it)",
    tags=["assignments"],
)
async def plan_weekend(
    day: FromPath[date],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
    staffing: NamedDependency[StaffingOptions],
) -> WeekendPlanView:
    """Plan the weekend now (rather than waiting for the debounce timer); a coordinator."""
    caller.require(Role.COORDINATOR)
    saturday = _saturday_of(day)
    async with store.transaction() as tx:
        await handlers.plan_weekend_now(
            tx, saturday, options=staffing, now=store.clock.now(), cause=cause
        )
        return await _plan_view(tx.conn, saturday, caller)


@get(
    "/weekends/{day:str}/plan",
    summary="A weekend's last plan, its slots and the gaps now",
    tags=["assignments"],
)
async def read_weekend_plan(
    day: FromPath[date], caller: NamedDependency[Caller], store: NamedDependency[EventStore]
) -> WeekendPlanView:
    """The weekend's slots in the caller's communes: who is proposed or holds them, why, and
    what is still missing."""
    caller.require(Role.COORDINATOR)
    async with store.reader.connect() as reader:
        return await _plan_view(await one_snapshot(reader), _saturday_of(day), caller)


async def _answer_assignment(
    assignment_id: FromPath[str],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
    staffing: NamedDependency[StaffingOptions],
    *,
    accept: bool,
) -> queries.AssignmentView:
    async with store.transaction() as tx:
        found = await queries.assignment(tx.conn, assignment_id)
        if found is None:
            raise NotFoundError(f"no assignment {assignment_id}")
        if caller.role is Role.VOLUNTEER:
            if caller.volunteer_id != found.volunteer_id:
                raise ForbiddenError("this assignment belongs to another volunteer")
        else:
            _coordinator_of(caller, found.commune_code)
        await handlers.answer_assignment(
            tx,
            assignment_id,
            accept=accept,
            channel=AnswerChannel.API,
            options=staffing,
            now=store.clock.now(),
            cause=cause,
        )
        answered = await queries.assignment(tx.conn, assignment_id)
        assert answered is not None
        return answered


@post(
    "/assignments/{assignment_id:str}/accept",
    status_code=200,
    summary="Accept an assignment: the volunteer holds the place",
    tags=["assignments"],
)
async def accept_assignment(
    assignment_id: FromPath[str],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
    staffing: NamedDependency[StaffingOptions],
) -> queries.AssignmentView:
    """Yes: the volunteer holds the place (their token, or a coordinator on their behalf)."""
    return await _answer_assignment(assignment_id, caller, store, cause, staffing, accept=True)


@post(
    "/assignments/{assignment_id:str}/decline",
    status_code=200,
    summary="Decline an assignment: the next best volunteer is asked at once",
    tags=["assignments"],
)
async def decline_assignment(
    assignment_id: FromPath[str],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
    staffing: NamedDependency[StaffingOptions],
) -> queries.AssignmentView:
    """No: the place goes to the next best volunteer at once."""
    return await _answer_assignment(assignment_id, caller, store, cause, staffing, accept=False)


@get(
    "/assignments/{assignment_id:str}",
    summary="One assignment",
    tags=["assignments"],
)
async def read_assignment(
    assignment_id: FromPath[str],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
) -> queries.AssignmentView:
    async with store.reader.connect() as conn:
        found = await queries.assignment(conn, assignment_id)
    if found is None:
        raise NotFoundError(f"no assignment {assignment_id}")
    if caller.role is Role.VOLUNTEER:
        if caller.volunteer_id != found.volunteer_id:
            raise ForbiddenError("this assignment belongs to another volunteer")
    else:
        _coordinator_of(caller, found.commune_code)
    return found


# --- Hours ------------------------------------------------------------------------------------


def _local_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=VIETNAM).astimezone(UTC)


async def _hours(
    conn: AsyncConnection, scope: str, since: date | None, until: date | None, *where: Any
) -> HoursView:
    if since is not None and until is not None and until < since:
        raise InvalidVolunteerError("`to` is before `from`", "to")
    report = hours_report(
        await queries.served(conn, *where),
        since=None if since is None else _local_start(since),
        until=None if until is None else _local_start(until + timedelta(days=1)),
    )
    return HoursView(
        scope=scope,
        since=since,
        until=until,
        assignments=report.assignments,
        total_minutes=report.total_minutes,
        total_hours=report.hours(report.total_minutes),
        by_volunteer={str(k): v for k, v in report.by_volunteer.items()},
        by_group={str(k): v for k, v in report.by_group.items()},
    )


From = Annotated[date | None, QueryParameter(name="from", required=False)]
To = Annotated[date | None, QueryParameter(name="to", required=False)]


@get(
    "/volunteers/{volunteer_id:str}/hours",
    summary="A volunteer's served hours between two local dates",
    tags=["hours"],
)
async def volunteer_hours(
    volunteer_id: FromPath[str],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    since: From = None,
    until: To = None,
) -> HoursView:
    async with store.reader.connect() as conn:
        found = await _volunteer(conn, volunteer_id)
        _self_or_coordinator(caller, found)
        return await _hours(
            conn,
            f"volunteer {volunteer_id}",
            since,
            until,
            assignments.c.volunteer_id == volunteer_id,
        )


@get(
    "/groups/{group_id:str}/hours",
    summary="A group's served hours, per volunteer",
    tags=["hours"],
)
async def group_hours(
    group_id: FromPath[str],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    since: From = None,
    until: To = None,
) -> HoursView:
    async with store.reader.connect() as conn:
        found = await _group(conn, group_id)
        _coordinator_of(caller, found.commune_code)
        return await _hours(
            conn, f"group {group_id}", since, until, assignments.c.group_id == group_id
        )


@get(
    "/communes/{commune_code:str}/hours",
    summary="Hours given by a commune's volunteers, per group and volunteer",
    tags=["hours"],
)
async def commune_hours(
    commune_code: FromPath[str],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    since: From = None,
    until: To = None,
) -> HoursView:
    """Hours given by the commune's volunteers, for the report upward."""
    _coordinator_of(caller, commune_code)
    async with store.reader.connect() as conn:
        return await _hours(
            conn,
            f"commune {commune_code}",
            since,
            until,
            volunteers.c.commune_code == commune_code,
        )


# --- Calendar feed ----------------------------------------------------------------------------


class CalendarLinkIssuedView(msgspec.Struct, frozen=True, kw_only=True):
    """The new link, shown this once: only its hash is kept."""

    link_id: str
    url: str
    issued_at: datetime


# The answer holds a secret: no cache or proxy may keep it.
_SECRET_HEADERS = {"Cache-Control": "no-store"}


@post(
    "/volunteers/{volunteer_id:str}/calendar-link",
    status_code=201,
    summary="Issue a secret link to the volunteer's calendar of accepted assignments",
    description="The volunteer themself, or a coordinator of their commune. The link (an "
    "iCalendar feed for a calendar app) is shown in this answer only; a new link stops the one "
    "before. No Idempotency-Key: the answer holds the secret, which is never stored.",
    tags=["calendar"],
)
async def issue_calendar_link(
    volunteer_id: FromPath[str],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
    feed: NamedDependency[FeedSettings],
) -> Response[CalendarLinkIssuedView]:
    secret = secrets.token_urlsafe(32)
    link_id = CalendarLinkId(_bare("calendar", None, "calendar-links"))
    now = store.clock.now()
    async with store.transaction() as tx:
        found = await _volunteer(tx.conn, volunteer_id)
        _self_or_coordinator(caller, found)
        command = IssueCalendarLink(volunteer_id=found.volunteer_id, link_id=link_id, secret=secret)
        # Each call draws a new secret, so a repeated request must append anew.
        fresh = msgspec.structs.replace(cause, id_seed=None)
        await handlers.issue_calendar_link(tx, command, now=now, cause=fresh)
    view = CalendarLinkIssuedView(link_id=link_id, url=feed.calendar_url(secret), issued_at=now)
    return Response(view, status_code=201, headers=_SECRET_HEADERS)


@delete(
    "/volunteers/{volunteer_id:str}/calendar-link",
    status_code=204,
    summary="Revoke the volunteer's calendar link: its URL answers 404 from now on",
    description="The volunteer themself, or a coordinator of their commune; 404 when the "
    "volunteer has no link that works.",
    tags=["calendar"],
)
async def revoke_calendar_link(
    volunteer_id: FromPath[str],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
) -> None:
    async with store.transaction() as tx:
        found = await _volunteer(tx.conn, volunteer_id)
        _self_or_coordinator(caller, found)
        await handlers.revoke_calendar_link(
            tx, found.volunteer_id, now=store.clock.now(), cause=cause
        )


@dataclass
class CalendarOperation(Operation):
    """OpenAPI: the feed is iCalendar text, and needs no token (the secret is the key).

    The app asks a bearer token of every route; the feed's operation says it needs none."""

    def __post_init__(self) -> None:
        self.security = None
        self.responses = {
            **(self.responses or {}),
            "200": OpenAPIResponse(
                description="The volunteer's accepted assignments, upcoming and of the last "
                "30 days, one VEVENT each (RFC 5545)",
                content={
                    "text/calendar": OpenAPIMediaType(
                        schema=Schema(type=OpenAPIType.STRING, description="iCalendar text")
                    )
                },
            ),
        }


_FEED_SUFFIX = ".ics"


@get(
    "/calendars/{feed_name:str}",
    summary="A volunteer's calendar feed, by the secret of their link (`<secret>.ics`)",
    description="For calendar apps, which send no token: the secret in the path is the key. "
    "An unknown or revoked secret answers 404, the same for both.",
    tags=["calendar"],
    operation_class=CalendarOperation,
    media_type=MEDIA_TYPE,
    opt={HIDDEN_PATH: True},
)
async def calendar_feed(
    feed_name: FromPath[str], store: NamedDependency[EventStore]
) -> Response[bytes]:
    secret = feed_name.removesuffix(_FEED_SUFFIX)
    # One answer for a wrong name, an unknown secret and a revoked one, so it tells nothing
    # about which links ever existed.
    gone = NotFoundError("no calendar at this address")
    if secret == feed_name or not secret:
        raise gone
    now = store.clock.now()
    async with store.reader.connect() as conn:
        volunteer_id = await queries.volunteer_of_link(conn, secret_hash(secret))
        if volunteer_id is None:
            raise gone
        entries = await queries.calendar_entries(conn, volunteer_id, ending_after=now - LOOKBACK)
    return Response(
        calendar_of(entries, now=now),
        media_type=MEDIA_TYPE,
        headers={"Cache-Control": "private, no-cache", "Referrer-Policy": "no-referrer"},
    )


routes: list[Any] = [
    give_person_keys,
    give_subject_access,
    create_group,
    read_group,
    import_roster,
    create_volunteer,
    read_volunteer,
    change_volunteer,
    pause_volunteer,
    erase_volunteer,
    resume_volunteer,
    change_availability,
    commune_volunteers,
    commune_groups,
    volunteer_assignments,
    read_slot,
    plan_weekend,
    read_weekend_plan,
    accept_assignment,
    decline_assignment,
    read_assignment,
    volunteer_hours,
    group_hours,
    commune_hours,
    issue_calendar_link,
    revoke_calendar_link,
    calendar_feed,
]
