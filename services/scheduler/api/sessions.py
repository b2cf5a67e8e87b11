"""Routes of support sessions: scheduling, staffing views, rosters, changes, attendance."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

import msgspec
import sqlalchemy as sa
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from services.scheduler.api.access import BEARER, coordinator_scope, read_scope, scope_of
from services.scheduler.api.answers import once
from services.scheduler.api.bodies import (
    AttendanceRecord,
    CapacityChange,
    RecurringSessionsCreate,
    RecurringSessionsPreview,
    RecurringSessionsView,
    RosterResident,
    RosterView,
    SessionCancel,
    SessionComplete,
    SessionCreate,
    SessionReschedule,
    WaitingResident,
)
from services.scheduler.domain.attendance import RecordAttendance
from services.scheduler.domain.places import find_commune
from services.scheduler.domain.recurring import (
    RecurringPlan,
    SessionTemplate,
    for_series,
    plan_recurring_sessions,
)
from services.scheduler.domain.sessions import (
    SATURDAY,
    SUNDAY,
    CancelSession,
    ChangeCapacity,
    CompleteSession,
    RescheduleSession,
    ScheduleSession,
)
from services.scheduler.handlers import bookings, sessions, streams
from services.scheduler.memory import Memory
from services.scheduler.views import mappers, queries
from shared.errors import DomainError
from shared.events.base import Cause
from shared.events.scheduler import (
    AttendanceStatus,
    BookingId,
    CoordinatorId,
    SessionId,
    Weekend,
)
from shared.events.vocabulary import Accessibility, Language, Outcome, Topic
from shared.store.eventstore import EventStore, Transaction
from shared.web.auth import Caller, Role
from shared.web.idempotency import new_id
from shared.web.problems import NotFoundError
from shared.web.times import TimeOfDay


def _with_plain_times(fields: dict[str, Any]) -> dict[str, Any]:
    """A request's fields for a command: times of day as the `time` events store."""
    return {k: v.plain() if isinstance(v, TimeOfDay) else v for k, v in fields.items()}


async def _session(conn: Any, session_id: FromPath[str]) -> sa.Row[Any]:
    row = await queries.session_row(conn, session_id) if session_id.startswith("session-") else None
    if row is None:
        raise NotFoundError(f"no session {session_id}")
    return row


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
    memory: NamedDependency[Memory],
    cause: NamedDependency[Cause],
    idempotency_key: NamedDependency[str | None],
) -> Response[mappers.SessionView]:
    scope = coordinator_scope(caller)
    key_scope = f"sessions:{caller.sub}"

    async def work(tx: Transaction) -> mappers.SessionView:
        command = ScheduleSession(
            session_id=SessionId(new_id("session", idempotency_key, key_scope)),
            coordinator_id=CoordinatorId(caller.sub),
            **_with_plain_times(msgspec.structs.asdict(data)),
        )
        stream = await sessions.schedule_session(
            tx, command, scope=scope, memory=memory, now=store.clock.now(), cause=cause
        )
        return mappers.session_view(await _session(tx.conn, stream.session_id))

    return await once(store, idempotency_key, key_scope, request, mappers.SessionView, work)


def _series(data: RecurringSessionsCreate, caller: Caller) -> tuple[SessionTemplate, RecurringPlan]:
    """What a weekly series repeats, and its dates less the holidays (refused if malformed)."""
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
    return template, plan_recurring_sessions(template, data.first_date, data.weeks, weekday)


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
    memory: NamedDependency[Memory],
    cause: NamedDependency[Cause],
    idempotency_key: NamedDependency[str | None],
) -> Response[RecurringSessionsView]:
    scope = coordinator_scope(caller)
    key_scope = f"sessions-recurring:{caller.sub}"
    template, plan = _series(data, caller)

    async def work(tx: Transaction) -> RecurringSessionsView:
        created = []
        for day in plan.dates:
            session_id = SessionId(new_id("session", idempotency_key, f"{key_scope}:{day}"))
            try:
                stream = await sessions.schedule_session(
                    tx,
                    template.on(day, session_id),
                    scope=scope,
                    memory=memory,
                    now=store.clock.now(),
                    cause=cause,
                )
            except DomainError as error:
                raise for_series(error, day) from None
            created.append(mappers.session_view(await _session(tx.conn, stream.session_id)))
        return RecurringSessionsView(sessions=created, skipped=list(plan.skipped))

    return await once(store, idempotency_key, key_scope, request, RecurringSessionsView, work)


@post(
    "/sessions/recurring/preview",
    summary="What scheduling a weekly series would do, without doing it",
    description="The same body as `POST /sessions/recurring`. The dates that would be "
    "scheduled and the public holidays skipped, each with its name; refused, naming the field, "
    "exactly when scheduling would be. Changes nothing.",
    tags=["sessions"],
    security=BEARER,
    status_code=200,
)
async def preview_recurring_sessions(
    data: JSONBody[RecurringSessionsCreate],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    memory: NamedDependency[Memory],
) -> RecurringSessionsPreview:
    scope = coordinator_scope(caller)
    template, plan = _series(data, caller)
    async with store.reader.connect() as conn:
        checked = await sessions.preview_recurring_sessions(
            conn, template, plan=plan, memory=memory, scope=scope, now=store.clock.now()
        )
    return RecurringSessionsPreview(dates=list(checked.dates), skipped=list(checked.skipped))


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
) -> list[mappers.SessionView]:
    found = find_commune(commune_code)
    if found is None:
        raise NotFoundError(f"no commune or ward {commune_code}")
    read_scope(caller, found.code, found.province_code)
    async with store.reader.connect() as conn:
        rows = await queries.sessions_in(conn, found.code, from_date, to_date)
    return [mappers.session_view(row) for row in rows]


@get(
    "/sessions/{session_id:str}",
    summary="One session",
    tags=["sessions"],
    security=BEARER,
)
async def get_session(
    session_id: FromPath[str], caller: NamedDependency[Caller], store: NamedDependency[EventStore]
) -> mappers.SessionView:
    async with store.reader.connect() as conn:
        row = await _session(conn, session_id)
    read_scope(caller, row.commune_code, row.province_code)
    return mappers.session_view(row)


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
        booked = await queries.roster(conn, session_id)
    assigned = caller.volunteer_id is not None and caller.volunteer_id in row.volunteer_ids
    if not (caller.role is Role.VOLUNTEER and assigned):
        read_scope(caller, row.commune_code, row.province_code)
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
            for b in booked
        ],
    )


@get(
    "/sessions/{session_id:str}/waitlist",
    summary="Who would get a place freed in a session, in their turn",
    description="Waiting residents the session fits (topic, language, needs, no double "
    "booking), own commune first, then who asked first: the order cancellations and more "
    "capacity give its places. Empty once the session is cancelled, over or started.",
    tags=["sessions"],
    security=BEARER,
)
async def get_waitlist(
    session_id: FromPath[str],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    memory: NamedDependency[Memory],
) -> list[WaitingResident]:
    async with store.reader.connect() as conn:
        row = await _session(conn, session_id)
        read_scope(caller, row.commune_code, row.province_code)
        waiting = await bookings.session_waitlist(
            Transaction(store, conn), session_id, memory=memory, now=store.clock.now()
        )
    return [
        WaitingResident(
            request_id=r.request_id,
            name=r.resident_name,
            phone=r.phone,
            commune_code=r.commune_code,
            topics=list(r.topics),
            accessibility_needs=list(r.accessibility_needs),
            preferred_language=r.preferred_language,
            waiting_since=r.waiting_since,
        )
        for r in waiting
    ]


async def _session_change(
    store: NamedDependency[EventStore],
    session_id: FromPath[str],
    run: Callable[[Transaction], Awaitable[streams.SessionStream]],
) -> mappers.SessionView:
    async with store.transaction() as tx:
        await _session(tx.conn, session_id)
        stream = await run(tx)
        return mappers.session_view(await _session(tx.conn, stream.session_id))


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
    memory: NamedDependency[Memory],
    cause: NamedDependency[Cause],
) -> mappers.SessionView:
    scope = coordinator_scope(caller)
    command = RescheduleSession(
        session_id=SessionId(session_id), **_with_plain_times(msgspec.structs.asdict(data))
    )
    return await _session_change(
        store,
        session_id,
        lambda tx: sessions.reschedule_session(
            tx, command, scope=scope, memory=memory, now=store.clock.now(), cause=cause
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
    memory: NamedDependency[Memory],
    cause: NamedDependency[Cause],
) -> mappers.SessionView:
    scope = coordinator_scope(caller)
    command = ChangeCapacity(
        session_id=SessionId(session_id),
        capacity=data.capacity,
        move_to_waitlist=tuple(BookingId(b) for b in data.move_to_waitlist),
    )
    return await _session_change(
        store,
        session_id,
        lambda tx: sessions.change_capacity(
            tx, command, scope=scope, memory=memory, now=store.clock.now(), cause=cause
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
    memory: NamedDependency[Memory],
    cause: NamedDependency[Cause],
) -> mappers.SessionView:
    scope = coordinator_scope(caller)
    command = CancelSession(session_id=SessionId(session_id), reason=data.reason)
    return await _session_change(
        store,
        session_id,
        lambda tx: sessions.cancel_session(
            tx, command, scope=scope, memory=memory, now=store.clock.now(), cause=cause
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
    memory: NamedDependency[Memory],
    cause: NamedDependency[Cause],
) -> mappers.SessionView:
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
        lambda tx: sessions.record_attendance(
            tx, command, scope=scope_of(caller), memory=memory, now=store.clock.now(), cause=cause
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
    memory: NamedDependency[Memory],
    cause: NamedDependency[Cause],
) -> mappers.SessionView:
    scope = coordinator_scope(caller)
    command = CompleteSession(session_id=SessionId(session_id), walk_ins=data.walk_ins)
    return await _session_change(
        store,
        session_id,
        lambda tx: sessions.complete_session(
            tx, command, scope=scope, memory=memory, now=store.clock.now(), cause=cause
        ),
    )
