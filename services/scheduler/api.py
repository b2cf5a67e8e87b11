"""HTTP routes of the scheduler service and their request/response Structs.

Writes go through services/scheduler/handlers.py inside one transaction; reads come from the
read models (services/scheduler/views.py). Every error is RFC 9457 problem details naming the
field (shared/web/problems.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, TypeVar

import msgspec
import sqlalchemy as sa
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromPath, JSONBody, QueryParameter
from vietnam_provinces import ProvinceCode as LibraryProvinceCode

from services.scheduler import handlers, views
from services.scheduler.domain.attendance import RecordAttendance
from services.scheduler.domain.errors import DomainError, HelpRequestRejectedError
from services.scheduler.domain.phones import normalize_phone
from services.scheduler.domain.places import RejectedRow, communes_of, find_commune, find_province
from services.scheduler.domain.recurring import (
    SessionTemplate,
    SkippedDate,
    plan_recurring_sessions,
)
from services.scheduler.domain.reports import CommuneReport, commune_report, report_csv
from services.scheduler.domain.requests import RequestHelp
from services.scheduler.domain.sessions import (
    SATURDAY,
    SUNDAY,
    CancelSession,
    ChangeCapacity,
    CompleteSession,
    RescheduleSession,
    ScheduleSession,
)
from services.scheduler.domain.visits import CancelHomeVisit, CompleteHomeVisit, ScheduleHomeVisit
from services.scheduler.intake import HelpDesk
from services.scheduler.quota import Asker
from shared.events.base import Cause
from shared.events.scheduler import (
    Actor,
    AttendanceStatus,
    BookingId,
    Channel,
    CommuneCode,
    CoordinatorId,
    HelpRequestId,
    ResidentBooked,
    SessionId,
    SessionTotals,
    Slot,
    Venue,
    VisitId,
    Weekend,
)
from shared.events.vocabulary import Accessibility, Language, Outcome, Topic
from shared.store.eventstore import EventStore, Transaction
from shared.web.app import cause_of
from shared.web.auth import Caller, Role, optional_caller
from shared.web.idempotency import IdempotencyKey, StoredAnswer, answer_once, check_key, new_id
from shared.web.openapi import OPTIONAL_BEARER, csv_body
from shared.web.problems import InvalidInputError, NotFoundError
from shared.web.times import TimeOfDay

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
S = TypeVar("S", bound=msgspec.Struct)
_ENCODER = msgspec.json.Encoder()


# Request and response bodies ----------------------------------------------------------------


class SessionCreate(msgspec.Struct, frozen=True, kw_only=True):
    """A session to schedule; dates and times are local (Asia/Ho_Chi_Minh)."""

    commune_code: str
    venue: Venue
    local_date: date
    start_local: TimeOfDay
    end_local: TimeOfDay
    topics: tuple[Topic, ...]
    capacity: int
    volunteers_needed: int = 1
    languages: tuple[Language, ...] = (Language.VI,)
    accessibility: tuple[Accessibility, ...] = ()
    public_holiday: bool = False
    makeup_day: bool = False


class RecurringSessionsCreate(msgspec.Struct, frozen=True, kw_only=True):
    """The same session every Saturday (or Sunday) for some weeks, public holidays skipped."""

    commune_code: str
    venue: Venue
    first_date: date
    weeks: int
    weekday: Weekend = Weekend.SATURDAY
    start_local: TimeOfDay
    end_local: TimeOfDay
    topics: tuple[Topic, ...]
    capacity: int
    volunteers_needed: int = 1
    languages: tuple[Language, ...] = (Language.VI,)
    accessibility: tuple[Accessibility, ...] = ()


class SessionView(msgspec.Struct, frozen=True, kw_only=True):
    """A session with its bookings count and staffing (unknown, staffed or understaffed)."""

    session_id: FromPath[str]
    status: str
    commune_code: str
    province_code: str
    venue: Venue
    local_date: date
    start_local: time
    end_local: time
    starts_at: datetime
    ends_at: datetime
    topics: list[Topic]
    languages: list[Language]
    accessibility: list[Accessibility]
    capacity: int
    booked: int
    free_places: int
    volunteers_needed: int
    coordinator_id: str
    public_holiday: bool
    makeup_day: bool
    staffing: str
    volunteer_ids: list[str]
    missing_volunteers: int
    staffing_alerted: bool
    cancel_reason: str | None = None
    totals: SessionTotals | None = None


class RecurringSessionsView(msgspec.Struct, frozen=True, kw_only=True):
    sessions: list[SessionView]
    skipped: list[SkippedDate]


class RosterResident(msgspec.Struct, frozen=True, kw_only=True):
    booking_id: FromPath[str]
    request_id: FromPath[str]
    name: str
    phone: str
    preferred_language: Language
    topics: list[Topic]
    accessibility_needs: list[Accessibility]
    from_waitlist: bool
    attendance: AttendanceStatus | None = None
    outcomes: list[Outcome] = []


class RosterView(msgspec.Struct, frozen=True, kw_only=True):
    """Who will be there: volunteers (as the volunteers service reported) and residents."""

    session_id: FromPath[str]
    status: str
    staffing: str
    volunteers_needed: int
    volunteer_ids: list[str]
    residents: list[RosterResident]


class SessionReschedule(msgspec.Struct, frozen=True, kw_only=True):
    local_date: date
    start_local: TimeOfDay
    end_local: TimeOfDay
    venue: Venue | None = None
    public_holiday: bool = False
    makeup_day: bool = False


class CapacityChange(msgspec.Struct, frozen=True, kw_only=True):
    """New capacity; below the bookings, name exactly the bookings that go back to waiting."""

    capacity: int
    move_to_waitlist: tuple[str, ...] = ()


class SessionCancel(msgspec.Struct, frozen=True, kw_only=True):
    reason: str


class AttendanceRecord(msgspec.Struct, frozen=True, kw_only=True):
    booking_id: FromPath[str]
    status: AttendanceStatus
    outcomes: tuple[Outcome, ...] = ()


class SessionComplete(msgspec.Struct, frozen=True, kw_only=True):
    walk_ins: int = 0


class HelpRequestCreate(msgspec.Struct, frozen=True, kw_only=True):
    """A resident's request for help; the phone may be written the Vietnamese way."""

    resident_name: str
    phone: str
    commune_code: str
    village_code: str | None = None
    address: str = ""
    topics: tuple[Topic, ...]
    accessibility_needs: tuple[Accessibility, ...] = ()
    preferred_language: Language = Language.VI
    preferred_days: tuple[Weekend, ...] = ()
    home_visit: bool = False
    birth_year: int | None = None
    elderly: bool = False
    disabled: bool = False
    minority: bool = False
    consent_given: bool = False


class HelpRequestView(msgspec.Struct, frozen=True, kw_only=True):
    """Where a help request stands: booked (with where and when), waiting, or a home visit."""

    request_id: FromPath[str]
    status: str
    channel: str
    resident_name: str
    phone: str
    commune_code: str
    topics: list[Topic]
    home_visit: bool
    session_id: str | None = None
    booking_id: str | None = None
    visit_id: str | None = None
    venue: Venue | None = None
    when: Slot | None = None


class BookingCancel(msgspec.Struct, frozen=True, kw_only=True):
    """A resident proves the booking is theirs with their phone; staff need their token."""

    phone: str | None = None
    reason: str = ""


class BookingChange(msgspec.Struct, frozen=True, kw_only=True):
    new_session_id: str
    phone: str | None = None


class BookingView(msgspec.Struct, frozen=True, kw_only=True):
    booking_id: FromPath[str]
    session_id: FromPath[str]
    status: str
    venue: Venue | None = None
    when: Slot | None = None


class PlaceView(msgspec.Struct, frozen=True, kw_only=True):
    code: FromPath[str]
    name: str
    kind: str


class CommuneSummary(msgspec.Struct, frozen=True, kw_only=True):
    code: FromPath[str]
    name: str
    kind: str
    province_code: str
    villages: int


class CommuneView(msgspec.Struct, frozen=True, kw_only=True):
    code: FromPath[str]
    name: str
    kind: str
    province_code: str
    province_name: str
    villages: list[PlaceView]


class PlacesImportView(msgspec.Struct, frozen=True, kw_only=True):
    imported: int
    communes: list[str]


class HomeVisitView(msgspec.Struct, frozen=True, kw_only=True):
    visit_id: FromPath[str]
    request_id: FromPath[str]
    commune_code: str
    status: str
    topics: list[Topic]
    accessibility_needs: list[Accessibility]
    volunteers_needed: int
    staffing: str
    volunteer_ids: list[str]
    local_date: date | None = None
    start_local: time | None = None
    end_local: time | None = None
    outcomes: list[Outcome] = []


class HomeVisitSchedule(msgspec.Struct, frozen=True, kw_only=True):
    local_date: date
    start_local: TimeOfDay
    end_local: TimeOfDay


class HomeVisitCancel(msgspec.Struct, frozen=True, kw_only=True):
    reason: str


class HomeVisitComplete(msgspec.Struct, frozen=True, kw_only=True):
    outcomes: tuple[Outcome, ...] = ()


# Helpers ------------------------------------------------------------------------------------


@cache
def _every_province() -> tuple[str, ...]:
    return tuple(str(code.value).zfill(2) for code in LibraryProvinceCode)


def scope_of(caller: NamedDependency[Caller]) -> tuple[str, ...]:
    """The codes a caller may touch, as the domain reads them (an admin: every province)."""
    return _every_province() if caller.role is Role.ADMIN else caller.scope


def _coordinator(caller: NamedDependency[Caller]) -> tuple[str, ...]:
    caller.require(Role.COORDINATOR)
    return scope_of(caller)


def _read_scope(caller: NamedDependency[Caller], commune_code: str, province_code: str) -> None:
    caller.require(Role.COORDINATOR)
    caller.require_commune(commune_code, province_code)


def _session_view(row: sa.Row[Any]) -> SessionView:
    return SessionView(
        session_id=row.session_id,
        status=row.status,
        commune_code=row.commune_code,
        province_code=row.province_code,
        venue=msgspec.convert(row.venue, Venue),
        local_date=row.local_date,
        start_local=row.start_local,
        end_local=row.end_local,
        starts_at=views.utc(row.starts_at),
        ends_at=views.utc(row.ends_at),
        topics=[Topic(t) for t in row.topics],
        languages=[Language(x) for x in row.languages],
        accessibility=[Accessibility(a) for a in row.accessibility],
        capacity=row.capacity,
        booked=row.booked,
        free_places=max(row.capacity - row.booked, 0) if row.status == "scheduled" else 0,
        volunteers_needed=row.volunteers_needed,
        coordinator_id=row.coordinator_id,
        public_holiday=row.public_holiday,
        makeup_day=row.makeup_day,
        staffing=row.staffing,
        volunteer_ids=list(row.volunteer_ids),
        missing_volunteers=row.missing_volunteers,
        staffing_alerted=row.staffing_alerted,
        cancel_reason=row.cancel_reason,
        totals=msgspec.convert(row.totals, SessionTotals) if row.totals else None,
    )


async def _session(conn: Any, session_id: FromPath[str]) -> sa.Row[Any]:
    row = await views.session_row(conn, session_id) if session_id.startswith("session-") else None
    if row is None:
        raise NotFoundError(f"no session {session_id}")
    return row


async def _request_view(conn: Any, request_id: FromPath[str]) -> HelpRequestView:
    row = await views.request_row(conn, request_id)
    if row is None:
        raise NotFoundError(f"no help request {request_id}")
    venue = when = None
    if row.session_id is not None and (session := await views.session_row(conn, row.session_id)):
        view = _session_view(session)
        venue = view.venue
        when = Slot(
            local_date=view.local_date,
            start_local=view.start_local,
            end_local=view.end_local,
            starts_at=view.starts_at,
            ends_at=view.ends_at,
        )
    return HelpRequestView(
        request_id=row.request_id,
        status=row.status,
        channel=row.channel,
        resident_name=row.resident_name,
        phone=row.phone,
        commune_code=row.commune_code,
        topics=[Topic(t) for t in row.topics],
        home_visit=row.home_visit,
        session_id=row.session_id,
        booking_id=row.booking_id,
        visit_id=row.visit_id,
        venue=venue,
        when=when,
    )


def _placed_view(outcome: handlers.RequestOutcome, channel: Channel) -> HelpRequestView:
    """A new request as `_request_view` will show it, from what placing it decided (no reads)."""
    request, booked = outcome
    return HelpRequestView(
        request_id=request.request_id,
        status=request.status.value,
        channel=channel.value,
        resident_name=request.resident_name,
        phone=request.phone,
        commune_code=request.commune_code,
        topics=list(request.topics),
        home_visit=request.home_visit,
        session_id=request.session_id,
        booking_id=request.booking_id,
        visit_id=request.visit_id,
        venue=booked.venue if booked else None,
        when=booked.when if booked else None,
    )


def _visit_view(row: sa.Row[Any]) -> HomeVisitView:
    return HomeVisitView(
        visit_id=row.visit_id,
        request_id=row.request_id,
        commune_code=row.commune_code,
        status=row.status,
        topics=[Topic(t) for t in row.topics],
        accessibility_needs=[Accessibility(a) for a in row.accessibility_needs],
        volunteers_needed=row.volunteers_needed,
        staffing=row.staffing,
        volunteer_ids=list(row.volunteer_ids),
        local_date=row.local_date,
        start_local=row.start_local,
        end_local=row.end_local,
        outcomes=[Outcome(o) for o in row.outcomes],
    )


async def _once(
    store: NamedDependency[EventStore],
    key: str | None,
    scope: str,
    request: Request[Any, Any, Any],
    view: type[S],
    work: Callable[[Transaction], Awaitable[S]],
) -> Response[S]:
    """Run `work` once per Idempotency-Key; a retry gets the first answer, byte for byte."""

    async def run(tx: Transaction) -> StoredAnswer:
        return StoredAnswer(201, _ENCODER.encode(await work(tx)))

    answer = await answer_once(store, key, scope, await request.body(), run)
    return Response(msgspec.json.decode(answer.body, type=view), status_code=answer.status_code)


def _rejected(problems: list[tuple[str, str]]) -> InvalidInputError:
    """Several rules broken at once, as a 422 problem listing each (shared/web/problems.py)."""
    return InvalidInputError.of(problems)


def _rejected_rows(rows: tuple[RejectedRow, ...]) -> InvalidInputError:
    return _rejected([(f"line {r.line}", "; ".join(r.reasons)) for r in rows])


def _with_plain_times(fields: dict[str, Any]) -> dict[str, Any]:
    """A request's fields for a command: times of day as the `time` events store."""
    return {k: v.plain() if isinstance(v, TimeOfDay) else v for k, v in fields.items()}


# Places -------------------------------------------------------------------------------------


@post(
    "/places/import",
    summary="Import villages and hamlets from CSV (admin), all or nothing",
    description="A body of `code,name,kind,parent` rows. Any bad row rejects the whole file "
    "with a 400 listing every bad line; nothing is imported then.",
    tags=["places"],
    security=BEARER,
    operation_class=csv_body(
        "A UTF-8 CSV file whose header is `code,name,kind,parent`; one row per place. `kind` "
        "is village, hamlet or residential_group; `parent` is the five-digit code of the "
        "commune or ward it belongs to."
    ),
)
async def import_places(
    request: Request[Any, Any, Any],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
    idempotency_key: NamedDependency[str | None],
) -> Response[PlacesImportView]:
    caller.require()  # admins only
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationException(extra=[{"key": "body", "message": "not UTF-8 text"}]) from None

    async def work(tx: Transaction) -> PlacesImportView:
        report = await handlers.import_places(
            tx, text, imported_by=caller.sub, now=store.clock.now(), cause=cause
        )
        if report.rejected:
            raise _rejected_rows(report.rejected)
        if not report.imported:
            raise _rejected([("body", "the CSV has no rows")])
        return PlacesImportView(imported=report.imported, communes=list(report.communes))

    return await _once(store, idempotency_key, "places-import", request, PlacesImportView, work)


@get(
    "/provinces/{code:str}/communes",
    summary="A province's communes and wards (official list), with their village counts",
    tags=["places"],
)
async def province_communes(
    code: FromPath[str], store: NamedDependency[EventStore]
) -> list[CommuneSummary]:
    province = find_province(code)
    if province is None:
        raise NotFoundError(f"no province {code}")
    async with store.reader.connect() as conn:
        counts = await views.village_counts(conn, province.code)
    return [
        CommuneSummary(
            code=c.code,
            name=c.name,
            kind=c.kind,
            province_code=c.province_code,
            villages=counts.get(c.code, 0),
        )
        for c in communes_of(province.code)
    ]


@get(
    "/communes/{code:str}",
    summary="A commune or ward with its imported villages and hamlets",
    tags=["places"],
)
async def commune(code: FromPath[str], store: NamedDependency[EventStore]) -> CommuneView:
    found = find_commune(code)
    if found is None:
        raise NotFoundError(f"no commune or ward {code}")
    province = find_province(found.province_code)
    async with store.reader.connect() as conn:
        villages = await views.villages_of(conn, found.code)
    return CommuneView(
        code=found.code,
        name=found.name,
        kind=found.kind,
        province_code=found.province_code,
        province_name=province.name if province else "",
        villages=[
            PlaceView(code=p.code, name=p.name, kind=p.kind.value) for p in villages.values()
        ],
    )


# Sessions -----------------------------------------------------------------------------------


@post(
    "/sessions",
    summary="Schedule a weekend support session (coordinator of the commune)",
    description="Saturday or Sunday local time unless marked public holiday or makeup day. "
    "Free places are given to the waitlist at once. Accepts Idempotency-Key.",
    tags=["sessions"],
    security=BEARER,
)
async def create_session(
    data: JSONBody[SessionCreate],
    request: Request[Any, Any, Any],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
    idempotency_key: NamedDependency[str | None],
) -> Response[SessionView]:
    scope = _coordinator(caller)
    key_scope = f"sessions:{caller.sub}"

    async def work(tx: Transaction) -> SessionView:
        command = ScheduleSession(
            session_id=SessionId(new_id("session", idempotency_key, key_scope)),
            coordinator_id=CoordinatorId(caller.sub),
            **_with_plain_times(msgspec.structs.asdict(data)),
        )
        stream = await handlers.schedule_session(
            tx, command, scope=scope, now=store.clock.now(), cause=cause
        )
        return _session_view(await _session(tx.conn, stream.session_id))

    return await _once(store, idempotency_key, key_scope, request, SessionView, work)


@post(
    "/sessions/recurring",
    summary="Schedule the same session every Saturday or Sunday for some weeks",
    description="One session per date; dates on Vietnam's public holidays (Tết ...) are "
    "skipped and reported. All or nothing. Accepts Idempotency-Key.",
    tags=["sessions"],
    security=BEARER,
)
async def create_recurring_sessions(
    data: JSONBody[RecurringSessionsCreate],
    request: Request[Any, Any, Any],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
    idempotency_key: NamedDependency[str | None],
) -> Response[RecurringSessionsView]:
    scope = _coordinator(caller)
    key_scope = f"sessions-recurring:{caller.sub}"
    template = SessionTemplate(
        commune_code=data.commune_code,
        venue=data.venue,
        start_local=data.start_local.plain(),
        end_local=data.end_local.plain(),
        topics=data.topics,
        capacity=data.capacity,
        volunteers_needed=data.volunteers_needed,
        languages=data.languages,
        accessibility=data.accessibility,
        coordinator_id=CoordinatorId(caller.sub),
    )
    weekday = SATURDAY if data.weekday is Weekend.SATURDAY else SUNDAY
    plan = plan_recurring_sessions(template, data.first_date, data.weeks, weekday)

    async def work(tx: Transaction) -> RecurringSessionsView:
        created = []
        for day in plan.dates:
            session_id = SessionId(new_id("session", idempotency_key, f"{key_scope}:{day}"))
            stream = await handlers.schedule_session(
                tx, template.on(day, session_id), scope=scope, now=store.clock.now(), cause=cause
            )
            created.append(_session_view(await _session(tx.conn, stream.session_id)))
        return RecurringSessionsView(sessions=created, skipped=list(plan.skipped))

    return await _once(store, idempotency_key, key_scope, request, RecurringSessionsView, work)


@get(
    "/sessions",
    summary="Sessions of a commune between two local dates, with staffing and bookings",
    tags=["sessions"],
    security=BEARER,
    responses={404: ResponseSpec(None, description="No commune or ward has that code.")},
)
async def list_sessions(
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    commune_code: Annotated[
        str, QueryParameter(name="commune", description="commune or ward code")
    ],
    from_date: Annotated[date | None, QueryParameter(name="from")] = None,
    to_date: Annotated[date | None, QueryParameter(name="to")] = None,
) -> list[SessionView]:
    found = find_commune(commune_code)
    if found is None:
        raise NotFoundError(f"no commune or ward {commune_code}")
    _read_scope(caller, found.code, found.province_code)
    async with store.reader.connect() as conn:
        rows = await views.sessions_in(conn, found.code, from_date, to_date)
    return [_session_view(row) for row in rows]


@get(
    "/sessions/{session_id:str}",
    summary="One session",
    tags=["sessions"],
    security=BEARER,
)
async def get_session(
    session_id: FromPath[str], caller: NamedDependency[Caller], store: NamedDependency[EventStore]
) -> SessionView:
    async with store.reader.connect() as conn:
        row = await _session(conn, session_id)
    _read_scope(caller, row.commune_code, row.province_code)
    return _session_view(row)


@get(
    "/sessions/{session_id:str}/roster",
    summary="Who will be at a session: volunteers and booked residents",
    description="For the commune's coordinators, and for volunteers assigned to the session.",
    tags=["sessions"],
    security=BEARER,
)
async def get_roster(
    session_id: FromPath[str], caller: NamedDependency[Caller], store: NamedDependency[EventStore]
) -> RosterView:
    async with store.reader.connect() as conn:
        row = await _session(conn, session_id)
        bookings = await views.roster(conn, session_id)
    assigned = caller.volunteer_id is not None and caller.volunteer_id in row.volunteer_ids
    if not (caller.role is Role.VOLUNTEER and assigned):
        _read_scope(caller, row.commune_code, row.province_code)
    return RosterView(
        session_id=row.session_id,
        status=row.status,
        staffing=row.staffing,
        volunteers_needed=row.volunteers_needed,
        volunteer_ids=list(row.volunteer_ids),
        residents=[
            RosterResident(
                booking_id=b.booking_id,
                request_id=b.request_id,
                name=b.resident_name,
                phone=b.phone,
                preferred_language=Language(b.preferred_language),
                topics=[Topic(t) for t in b.topics],
                accessibility_needs=[Accessibility(a) for a in b.accessibility_needs],
                from_waitlist=b.from_waitlist,
                attendance=AttendanceStatus(b.attendance) if b.attendance else None,
                outcomes=[Outcome(o) for o in b.outcomes],
            )
            for b in bookings
        ],
    )


async def _session_change(
    store: NamedDependency[EventStore],
    session_id: FromPath[str],
    run: Callable[[Transaction], Awaitable[handlers.SessionStream]],
) -> SessionView:
    async with store.transaction() as tx:
        await _session(tx.conn, session_id)
        stream = await run(tx)
        return _session_view(await _session(tx.conn, stream.session_id))


@post(
    "/sessions/{session_id:str}/reschedule",
    summary="Move a session to another date, time or venue; bookings stay",
    tags=["sessions"],
    security=BEARER,
    status_code=200,
)
async def reschedule(
    session_id: FromPath[str],
    data: JSONBody[SessionReschedule],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
) -> SessionView:
    scope = _coordinator(caller)
    command = RescheduleSession(
        session_id=SessionId(session_id), **_with_plain_times(msgspec.structs.asdict(data))
    )
    return await _session_change(
        store,
        session_id,
        lambda tx: handlers.reschedule_session(
            tx, command, scope=scope, now=store.clock.now(), cause=cause
        ),
    )


@post(
    "/sessions/{session_id:str}/capacity",
    summary="Change how many residents a session takes",
    description="More places fill from the waitlist at once. Below the current bookings, "
    "`move_to_waitlist` must name exactly the bookings that go back to waiting.",
    tags=["sessions"],
    security=BEARER,
    status_code=200,
)
async def change_capacity(
    session_id: FromPath[str],
    data: JSONBody[CapacityChange],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
) -> SessionView:
    scope = _coordinator(caller)
    command = ChangeCapacity(
        session_id=SessionId(session_id),
        capacity=data.capacity,
        move_to_waitlist=tuple(BookingId(b) for b in data.move_to_waitlist),
    )
    return await _session_change(
        store,
        session_id,
        lambda tx: handlers.change_capacity(
            tx, command, scope=scope, now=store.clock.now(), cause=cause
        ),
    )


@post(
    "/sessions/{session_id:str}/cancel",
    summary="Cancel a session with a reason; its residents are placed elsewhere or wait",
    tags=["sessions"],
    security=BEARER,
    status_code=200,
)
async def cancel_session(
    session_id: FromPath[str],
    data: JSONBody[SessionCancel],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
) -> SessionView:
    scope = _coordinator(caller)
    command = CancelSession(session_id=SessionId(session_id), reason=data.reason)
    return await _session_change(
        store,
        session_id,
        lambda tx: handlers.cancel_session(
            tx, command, scope=scope, now=store.clock.now(), cause=cause
        ),
    )


@post(
    "/sessions/{session_id:str}/attendance",
    summary="Record a booked resident's check-in, attendance or no-show, and what got done",
    tags=["sessions"],
    security=BEARER,
    status_code=200,
)
async def record_attendance(
    session_id: FromPath[str],
    data: JSONBody[AttendanceRecord],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
) -> SessionView:
    caller.require(Role.COORDINATOR, Role.VOLUNTEER)
    command = RecordAttendance(
        session_id=SessionId(session_id),
        booking_id=BookingId(data.booking_id),
        status=data.status,
        outcomes=data.outcomes,
        recorded_by=caller.sub,
        # A token's subject names the person; the volunteers service credits a volunteer id.
        recorded_by_volunteer=caller.volunteer_id if caller.role is Role.VOLUNTEER else None,
    )
    return await _session_change(
        store,
        session_id,
        lambda tx: handlers.record_attendance(
            tx, command, scope=scope_of(caller), now=store.clock.now(), cause=cause
        ),
    )


@post(
    "/sessions/{session_id:str}/complete",
    summary="Close a session that took place and fix its totals",
    tags=["sessions"],
    security=BEARER,
    status_code=200,
)
async def complete_session(
    session_id: FromPath[str],
    data: JSONBody[SessionComplete],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
) -> SessionView:
    scope = _coordinator(caller)
    command = CompleteSession(session_id=SessionId(session_id), walk_ins=data.walk_ins)
    return await _session_change(
        store,
        session_id,
        lambda tx: handlers.complete_session(
            tx, command, scope=scope, now=store.clock.now(), cause=cause
        ),
    )


# Help requests and bookings -----------------------------------------------------------------


_CHANNELS = {Role.VOLUNTEER: Channel.VOLUNTEER, Role.COORDINATOR: Channel.COORDINATOR}


@post(
    "/help-requests",
    summary="Ask for help (public, no token needed); booked into the best session at once",
    description="Without a token the request is rate limited per client address and per phone "
    "number (429 with Retry-After). Volunteers and coordinators filing on a resident's behalf "
    "send their token (the channel is recorded). The answer says where the request stands: "
    "booked (with the session), waiting, or home_visit. Accepts Idempotency-Key.",
    tags=["help requests"],
    security=OPTIONAL_BEARER,
    responses={
        429: ResponseSpec(
            None,
            description="Too many requests from this client address or for this phone number "
            "(without a token); `Retry-After` says when to try again.",
        )
    },
)
async def create_help_request(
    data: JSONBody[HelpRequestCreate],
    request: Request[Any, Any, Any],
    desk: NamedDependency[HelpDesk],
    key: IdempotencyKey = None,
) -> Response[HelpRequestView]:
    # The busiest route takes one dependency and reads the rest off the request: Litestar
    # resolves sibling dependencies in a task group, a task each, which cost a quarter of
    # the scheduler's CPU under load (docs/performance.md).
    store, now = desk.runtime.store, desk.runtime.clock.now()
    maybe_caller = optional_caller(
        desk.runtime.settings.token_secret, request.headers.get("authorization"), now
    )
    idempotency_key = check_key(key)
    cause = cause_of(request, idempotency_key)
    client = None  # staff filing on a resident's behalf: their address is not limited
    if maybe_caller is None:
        client = request.client.host if request.client else "unknown"
        channel, filed_by = Channel.WEB, None
    else:
        maybe_caller.require(Role.COORDINATOR, Role.VOLUNTEER)
        channel, filed_by = _CHANNELS.get(maybe_caller.role, Channel.COORDINATOR), maybe_caller.sub
    phone = None
    with contextlib.suppress(DomainError):  # a wrong phone is refused below, by field
        phone = normalize_phone(data.phone)
    asker = Asker(client, phone)
    key_scope = f"help-requests:{filed_by or 'public'}"

    def command() -> RequestHelp:
        return RequestHelp(
            request_id=HelpRequestId(new_id("request", idempotency_key, key_scope)),
            channel=channel,
            filed_by=filed_by,
            **msgspec.structs.asdict(data),
        )

    if idempotency_key is None:  # placed with the requests arriving meanwhile
        try:
            outcome = await desk.place(command(), cause, asker)
        except HelpRequestRejectedError as error:
            raise _rejected([(p.field, p.message) for p in error.problems]) from None
        return Response(_placed_view(outcome, channel), status_code=201)

    await desk.quota.take(asker)  # a retry counts again, as any request does

    async def work(tx: Transaction) -> HelpRequestView:
        try:
            outcome = await handlers.request_help(tx, command(), now=store.clock.now(), cause=cause)
        except HelpRequestRejectedError as error:
            raise _rejected([(p.field, p.message) for p in error.problems]) from None
        return _placed_view(outcome, channel)

    return await _once(store, idempotency_key, key_scope, request, HelpRequestView, work)


@get(
    "/help-requests/{request_id:str}",
    summary="One help request and where it stands (coordinator of its commune)",
    tags=["help requests"],
    security=BEARER,
)
async def get_help_request(
    request_id: FromPath[str], caller: NamedDependency[Caller], store: NamedDependency[EventStore]
) -> HelpRequestView:
    async with store.reader.connect() as conn:
        view = await _request_view(conn, request_id)
    commune_found = find_commune(view.commune_code)
    _read_scope(caller, view.commune_code, commune_found.province_code if commune_found else "")
    return view


def _booking_actor(caller: Caller | None) -> tuple[Actor, tuple[str, ...] | None]:
    if caller is None:
        return Actor.RESIDENT, None
    caller.require(Role.COORDINATOR, Role.VOLUNTEER)
    actor = Actor.VOLUNTEER if caller.role is Role.VOLUNTEER else Actor.COORDINATOR
    return actor, scope_of(caller)


def _booking_view(booked: ResidentBooked | None, row: sa.Row[Any]) -> BookingView:
    return BookingView(
        booking_id=row.booking_id,
        session_id=row.session_id,
        status=row.status,
        venue=booked.venue if booked else None,
        when=booked.when if booked else None,
    )


@post(
    "/bookings/{booking_id:str}/cancel",
    summary="Give up a booking; the place goes to the waitlist at once",
    description="A resident sends the phone number the booking was made with; volunteers and "
    "coordinators send their token instead.",
    tags=["help requests"],
    security=OPTIONAL_BEARER,
    status_code=200,
)
async def cancel_booking(
    booking_id: FromPath[str],
    data: JSONBody[BookingCancel],
    maybe_caller: NamedDependency[Caller | None],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
) -> BookingView:
    actor, scope = _booking_actor(maybe_caller)
    async with store.transaction() as tx:
        await handlers.cancel_booking(
            tx,
            booking_id,
            actor=actor,
            reason=data.reason,
            phone=data.phone,
            scope=scope,
            now=store.clock.now(),
            cause=cause,
        )
        row = await views.booking_row(tx.conn, booking_id)
    assert row is not None
    return _booking_view(None, row)


@post(
    "/bookings/{booking_id:str}/change",
    summary="Move a booking to another session; the old place goes to the waitlist",
    description="Answers with the new booking. A resident sends the phone number the booking "
    "was made with; volunteers and coordinators send their token instead.",
    tags=["help requests"],
    security=OPTIONAL_BEARER,
    status_code=200,
)
async def change_booking(
    booking_id: FromPath[str],
    data: JSONBody[BookingChange],
    maybe_caller: NamedDependency[Caller | None],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
) -> BookingView:
    actor, scope = _booking_actor(maybe_caller)
    async with store.transaction() as tx:
        booked = await handlers.change_booking(
            tx,
            booking_id,
            data.new_session_id,
            actor=actor,
            phone=data.phone,
            scope=scope,
            now=store.clock.now(),
            cause=cause,
        )
        row = await views.booking_row(tx.conn, booked.booking_id)
    assert row is not None
    return _booking_view(booked, row)


# Home visits --------------------------------------------------------------------------------


async def _visit_change(
    store: NamedDependency[EventStore],
    visit_id: FromPath[str],
    run: Callable[[Transaction], Awaitable[handlers.VisitStream]],
) -> HomeVisitView:
    async with store.transaction() as tx:
        if await views.visit_row(tx.conn, visit_id) is None:
            raise NotFoundError(f"no home visit {visit_id}")
        await run(tx)
        row = await views.visit_row(tx.conn, visit_id)
    assert row is not None
    return _visit_view(row)


@get(
    "/home-visits/{visit_id:str}",
    summary="One home visit",
    tags=["home visits"],
    security=BEARER,
)
async def get_home_visit(
    visit_id: FromPath[str], caller: NamedDependency[Caller], store: NamedDependency[EventStore]
) -> HomeVisitView:
    async with store.reader.connect() as conn:
        row = await views.visit_row(conn, visit_id)
    if row is None:
        raise NotFoundError(f"no home visit {visit_id}")
    found = find_commune(row.commune_code)
    _read_scope(caller, row.commune_code, found.province_code if found else "")
    return _visit_view(row)


@post(
    "/home-visits/{visit_id:str}/schedule",
    summary="Give a home visit a time agreed with the resident (any day); staffed like a session",
    tags=["home visits"],
    security=BEARER,
    status_code=200,
)
async def schedule_home_visit(
    visit_id: FromPath[str],
    data: JSONBody[HomeVisitSchedule],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
) -> HomeVisitView:
    scope = _coordinator(caller)
    command = ScheduleHomeVisit(
        visit_id=VisitId(visit_id),
        local_date=data.local_date,
        start_local=data.start_local.plain(),
        end_local=data.end_local.plain(),
        coordinator_id=CoordinatorId(caller.sub),
    )
    return await _visit_change(
        store,
        visit_id,
        lambda tx: handlers.schedule_home_visit(
            tx, command, scope=scope, now=store.clock.now(), cause=cause
        ),
    )


@post(
    "/home-visits/{visit_id:str}/cancel",
    summary="Cancel a home visit with a reason",
    tags=["home visits"],
    security=BEARER,
    status_code=200,
)
async def cancel_home_visit(
    visit_id: FromPath[str],
    data: JSONBody[HomeVisitCancel],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
) -> HomeVisitView:
    scope = _coordinator(caller)
    command = CancelHomeVisit(visit_id=VisitId(visit_id), reason=data.reason)
    return await _visit_change(
        store,
        visit_id,
        lambda tx: handlers.cancel_home_visit(
            tx, command, scope=scope, now=store.clock.now(), cause=cause
        ),
    )


@post(
    "/home-visits/{visit_id:str}/complete",
    summary="Close a home visit that took place, with what got done",
    tags=["home visits"],
    security=BEARER,
    status_code=200,
)
async def complete_home_visit(
    visit_id: FromPath[str],
    data: JSONBody[HomeVisitComplete],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
) -> HomeVisitView:
    caller.require(Role.COORDINATOR, Role.VOLUNTEER)
    command = CompleteHomeVisit(visit_id=VisitId(visit_id), outcomes=data.outcomes)
    return await _visit_change(
        store,
        visit_id,
        lambda tx: handlers.complete_home_visit(
            tx, command, scope=scope_of(caller), now=store.clock.now(), cause=cause
        ),
    )


# Reports ------------------------------------------------------------------------------------


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


@dataclass
class ReportOperation(Operation):
    """OpenAPI: the report answers JSON, or CSV when asked for."""

    def __post_init__(self) -> None:
        answer = (self.responses or {}).get("200")
        if isinstance(answer, OpenAPIResponse) and answer.content is not None:
            answer.content["text/csv"] = OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, description="metric,value rows")
            )


@get(
    "/communes/{code:str}/report",
    summary="A commune's report for a date range, as JSON or CSV",
    description="Sessions held, residents served by topic and by group (elderly, disabled, "
    "minority), no-show rate, online applications submitted. CSV with `Accept: text/csv` or "
    "`?format=csv`.",
    tags=["reports"],
    security=BEARER,
    responses={
        200: ResponseSpec(
            data_container=CommuneReport,
            description="The report (JSON), or metric,value CSV",
        )
    },
    operation_class=ReportOperation,
)
async def commune_report_view(
    code: FromPath[str],
    request: Request[Any, Any, Any],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    from_date: Annotated[date, QueryParameter(name="from")],
    to_date: Annotated[date, QueryParameter(name="to")],
    report_format: Annotated[ReportFormat | None, QueryParameter(name="format")] = None,
) -> Response[Any]:
    found = find_commune(code)
    if found is None:
        raise NotFoundError(f"no commune or ward {code}")
    _read_scope(caller, found.code, found.province_code)
    if to_date < from_date:
        raise _rejected([("to", "the end date is before the start date")])
    async with store.reader.connect() as conn:
        sessions, attendances = await views.report_rows(conn, found.code, from_date, to_date)
    report = commune_report(CommuneCode(found.code), from_date, to_date, sessions, attendances)
    wants_csv = report_format is ReportFormat.CSV or "text/csv" in request.headers.get("accept", "")
    if wants_csv:
        return Response(
            report_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="report-{found.code}-'
                f'{from_date}-{to_date}.csv"'
            },
        )
    return Response(report)


routes: list[Any] = [
    import_places,
    province_communes,
    commune,
    create_session,
    create_recurring_sessions,
    list_sessions,
    get_session,
    get_roster,
    reschedule,
    change_capacity,
    cancel_session,
    record_attendance,
    complete_session,
    create_help_request,
    get_help_request,
    cancel_booking,
    change_booking,
    get_home_visit,
    schedule_home_visit,
    cancel_home_visit,
    complete_home_visit,
    commune_report_view,
]
