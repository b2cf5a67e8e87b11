"""The scheduler's read models: how its own events project into tables, and the queries the API
and the handlers serve from them. Projection runs inline in the appending transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

import msgspec
import sqlalchemy as sa
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncConnection

from services.scheduler.domain import HelpRequestState, Place, PlaceKind, RequestStatus
from services.scheduler.domain.booking import SessionOutline
from services.scheduler.domain.places import find_commune
from services.scheduler.domain.reports import AttendanceRow, SessionRow
from services.scheduler.tables import bookings, help_requests, home_visits, places, sessions
from shared.events.base import Event, RecordedEvent
from shared.events.scheduler import (
    AttendanceRecorded,
    AttendanceStatus,
    BookingCancelled,
    BookingChanged,
    BookingId,
    CommuneCode,
    HelpRequested,
    HelpRequestId,
    HomeVisitCancelled,
    HomeVisitCompleted,
    HomeVisitRequested,
    HomeVisitScheduled,
    HomeVisitStaffingChanged,
    PlaceCode,
    PlacesImported,
    ProvinceCode,
    ResidentBooked,
    ResidentMovedToWaitlist,
    ResidentWaitlisted,
    SessionCancelled,
    SessionCapacityChanged,
    SessionCompleted,
    SessionId,
    SessionRescheduled,
    SessionScheduled,
    SessionStaffingChanged,
    SessionTotals,
    Slot,
    StaffingAlertRaised,
    Venue,
    Weekend,
)
from shared.events.vocabulary import Accessibility, Language, Outcome, Topic


def _json(value: Any) -> Any:
    return msgspec.to_builtins(value)


def utc(value: datetime) -> datetime:
    """An instant read back from the database (SQLite returns UTC without its zone)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class _Statements:
    """The hot statements, built once: SQLAlchemy then reuses their compiled form instead of
    building, coercing and caching a new statement on every call. Updates without `.values()`
    set the columns named in the parameters; their WHERE parameters are named `b_*`."""

    def __init__(self) -> None:
        by_session = sessions.c.session_id == sa.bindparam("b_session_id")
        by_request = help_requests.c.request_id == sa.bindparam("b_request_id")
        by_booking = bookings.c.booking_id == sa.bindparam("b_booking_id")
        by_visit = home_visits.c.visit_id == sa.bindparam("b_visit_id")
        booking_ids: sa.BindParameter[list[str]] = sa.bindparam("b_booking_ids", expanding=True)
        # The projector's writes.
        self.insert_session = sessions.insert()
        self.insert_request = help_requests.insert()
        self.insert_booking = bookings.insert()
        self.insert_visit = home_visits.insert()
        self.insert_places = places.insert()
        self.update_session = sessions.update().where(by_session)
        self.update_request = help_requests.update().where(by_request)
        self.update_booking = bookings.update().where(by_booking)
        self.update_visit = home_visits.update().where(by_visit)
        self.session_booked = (
            sessions.update()
            .where(by_session)
            .values(booked=sessions.c.booked + sa.bindparam("b_count", type_=sa.Integer()))
        )
        self.session_freed = (
            sessions.update().where(by_session).values(booked=sessions.c.booked - 1)
        )
        self.bookings_status = bookings.update().where(bookings.c.booking_id.in_(booking_ids))
        self.requests_unbooked = (
            help_requests.update()
            .where(help_requests.c.booking_id.in_(booking_ids))
            .values(status=sa.bindparam("b_status"), session_id=None, booking_id=None)
        )
        # The queries of the help-request path.
        self.villages_of = (
            sa.select(places)
            .where(places.c.commune_code == sa.bindparam("commune_code"))
            .order_by(places.c.code)
        )
        self.session_row = sa.select(sessions).where(by_session)
        self.request_row = sa.select(help_requests).where(by_request)
        self.booking_row = sa.select(bookings).where(by_booking)
        self.visit_row = sa.select(home_visits).where(by_visit)
        self.lock_session = sa.select(sessions.c.session_id).where(by_session).with_for_update()
        self.candidates = {
            "postgresql": self._candidates(sa.func.json_array_elements_text),
            "sqlite": self._candidates(sa.func.json_each),
        }
        slots = (
            sa.select(
                bookings.c.phone,
                sessions.c.local_date,
                sessions.c.start_local,
                sessions.c.end_local,
                sessions.c.starts_at,
                sessions.c.ends_at,
            )
            .join(sessions, sessions.c.session_id == bookings.c.session_id)
            .where(bookings.c.status == "booked", sessions.c.status == "scheduled")
        )
        self.slots_of_one = slots.where(bookings.c.phone == sa.bindparam("phone"))
        self.slots_of = slots.where(bookings.c.phone.in_(sa.bindparam("phones", expanding=True)))
        self.slots_of_elsewhere = self.slots_of.where(
            bookings.c.session_id != sa.bindparam("except_session")
        )

    @staticmethod
    def _candidates(topics_of: Any) -> sa.Select[Any]:
        """Upcoming sessions of a province with a free place and a wanted topic, own commune
        first then the earliest; `topics_of` lists a JSON array's elements (per database)."""
        topic = (
            topics_of(sessions.c.topics)
            .table_valued(sa.column("value", sa.String()))
            .alias("topic")
        )
        return (
            sa.select(
                sessions.c.session_id,
                sessions.c.commune_code,
                sessions.c.topics,
                sessions.c.local_date,
                sessions.c.starts_at,
                sessions.c.capacity,
                sessions.c.booked,
            )
            .where(
                sessions.c.province_code == sa.bindparam("province_code"),
                sessions.c.status == "scheduled",
                sessions.c.starts_at > sa.bindparam("now", type_=sessions.c.starts_at.type),
                sessions.c.booked < sessions.c.capacity,
                sa.exists().where(topic.c.value.in_(sa.bindparam("topics", expanding=True))),
            )
            .order_by(
                sa.case((sessions.c.commune_code == sa.bindparam("commune_code"), 0), else_=1),
                sessions.c.starts_at,
                sessions.c.session_id,
            )
            .limit(sa.bindparam("limit", type_=sa.Integer()))
        )


_SQL = _Statements()


async def project(conn: AsyncConnection, recorded: RecordedEvent) -> None:  # noqa: C901, PLR0912
    """Apply one of the scheduler's own events to the read models."""
    event = recorded.event
    match event:
        case PlacesImported():
            await _places_imported(conn, event)
        case SessionScheduled():
            await conn.execute(_SQL.insert_session, _session_row(event))
        case SessionRescheduled():
            await _update_session(
                conn,
                event.session_id,
                venue=_json(event.venue),
                **_slot_columns(event.when),
                public_holiday=event.public_holiday,
                makeup_day=event.makeup_day,
                staffing_alerted=False,
            )
        case SessionCapacityChanged():
            await _update_session(conn, event.session_id, capacity=event.capacity)
        case SessionCancelled():
            # Its residents' bookings end with it (they wait again): nobody is booked any more.
            await _update_session(
                conn, event.session_id, status="cancelled", cancel_reason=event.reason, booked=0
            )
            ids = [a.booking_id for a in event.affected]
            await _set_booking_status(conn, ids, "session_cancelled")
            await _requests_by_booking(conn, ids, status=RequestStatus.WAITING.value)
        case SessionCompleted():
            await _update_session(
                conn, event.session_id, status="completed", totals=_json(event.totals)
            )
        case HelpRequested():
            await conn.execute(_SQL.insert_request, _request_row(event))
        case ResidentWaitlisted():
            await _update_request(conn, event.request_id, status=RequestStatus.WAITING.value)
        case ResidentBooked():
            await _resident_booked(conn, event)
        case ResidentMovedToWaitlist():
            await _booking_left(conn, event.session_id, event.booking_id, "moved_to_waitlist")
            await _requests_by_booking(conn, [event.booking_id], RequestStatus.WAITING.value)
        case BookingCancelled():
            await _booking_left(conn, event.session_id, event.booking_id, "cancelled")
            await _requests_by_booking(conn, [event.booking_id], RequestStatus.CANCELLED.value)
        case BookingChanged():
            await _booking_left(conn, event.session_id, event.booking_id, "changed")
        case AttendanceRecorded():
            await conn.execute(
                _SQL.update_booking,
                {
                    "b_booking_id": event.booking_id,
                    "attendance": event.status.value,
                    "outcomes": _json(event.outcomes),
                },
            )
        case StaffingAlertRaised():
            await _update_session(conn, event.session_id, staffing_alerted=True)
        case SessionStaffingChanged():
            await _update_session(
                conn,
                event.session_id,
                staffing="staffed" if event.staffed else "understaffed",
                volunteer_ids=list(event.volunteer_ids),
                missing_volunteers=event.missing_count,
            )
        case _:
            await _project_visit(conn, recorded)


async def _project_visit(conn: AsyncConnection, recorded: RecordedEvent) -> None:
    event = recorded.event
    match event:
        case HomeVisitRequested():
            await _visit_requested(conn, event)
            await _update_request(conn, event.resident.request_id, **_visited_request(event))
        case HomeVisitScheduled():
            await _update_visit(
                conn,
                event.visit_id,
                status="scheduled",
                local_date=event.when.local_date,
                start_local=event.when.start_local,
                end_local=event.when.end_local,
            )
        case HomeVisitCancelled():
            await _update_visit(conn, event.visit_id, status="cancelled")
        case HomeVisitCompleted():
            await _update_visit(
                conn, event.visit_id, status="completed", outcomes=_json(event.outcomes)
            )
        case HomeVisitStaffingChanged():
            await _update_visit(
                conn,
                event.visit_id,
                staffing="staffed" if event.staffed else "understaffed",
                volunteer_ids=list(event.volunteer_ids),
            )
        case _:
            pass


async def _visit_requested(conn: AsyncConnection, event: HomeVisitRequested) -> None:
    await conn.execute(
        _SQL.insert_visit,
        {
            "visit_id": event.visit_id,
            "request_id": event.resident.request_id,
            "commune_code": event.commune_code,
            "status": "requested",
            "topics": _json(event.topics),
            "accessibility_needs": _json(event.accessibility_needs),
            "volunteers_needed": event.volunteers_needed,
            "staffing": "unknown",
            "volunteer_ids": [],
            "outcomes": [],
            "local_date": None,
            "start_local": None,
            "end_local": None,
            "requested_at": event.requested_at,
        },
    )


async def project_filing(conn: AsyncConnection, recorded: Sequence[RecordedEvent]) -> None:
    """What `project` does event by event, for a help request filed and placed in one append:
    the request's row is inserted once, as it ends up, instead of inserted then updated."""
    filed: dict[str, dict[str, Any]] = {}
    others: list[tuple[RecordedEvent, bool]] = []
    for item in recorded:
        if isinstance(item.event, HelpRequested):
            filed[item.event.request_id] = _request_row(item.event)
            continue
        change = _request_change(item.event)
        merged = change is not None and change[0] in filed
        if change is not None and merged:
            filed[change[0]] |= change[1]
        others.append((item, merged))
    if filed:
        rows = list(filed.values())
        await conn.execute(_SQL.insert_request, rows[0] if len(rows) == 1 else rows)
    booked: list[ResidentBooked] = []  # written together, before anything else that follows
    for item, merged in others:
        if merged and isinstance(item.event, ResidentBooked):
            booked.append(item.event)
            continue
        await _bookings_added(conn, booked)
        booked = []
        if merged:
            await _project_besides_request(conn, item.event)
        else:
            await project(conn, item)
    await _bookings_added(conn, booked)


def _request_change(event: Event) -> tuple[str, dict[str, Any]] | None:
    """The request row an event changes and its new columns (for the events of a filing)."""
    match event:
        case ResidentBooked():
            return event.resident.request_id, _booked_request(event)
        case ResidentWaitlisted():
            return event.request_id, {"status": RequestStatus.WAITING.value}
        case HomeVisitRequested():
            return event.resident.request_id, _visited_request(event)
        case _:
            return None


async def _project_besides_request(conn: AsyncConnection, event: Event) -> None:
    """What `project` does for an event of `_request_change`, but change the request row."""
    if isinstance(event, ResidentBooked):
        await _booking_added(conn, event)
    elif isinstance(event, HomeVisitRequested):
        await _visit_requested(conn, event)


def _booked_request(event: ResidentBooked) -> dict[str, Any]:
    """A request's columns once it is booked."""
    return {
        "status": RequestStatus.BOOKED.value,
        "session_id": event.session_id,
        "booking_id": event.booking_id,
    }


def _visited_request(event: HomeVisitRequested) -> dict[str, Any]:
    """A request's columns once it became a home visit."""
    return {"status": RequestStatus.HOME_VISIT.value, "visit_id": event.visit_id}


async def _places_imported(conn: AsyncConnection, event: PlacesImported) -> None:
    rows = []
    for place in event.places:
        commune = find_commune(place.commune_code)
        rows.append(
            {
                "code": place.code,
                "name": place.name,
                "kind": place.kind,
                "commune_code": place.commune_code,
                "province_code": commune.province_code if commune else "",
            }
        )
    if rows:
        await conn.execute(_SQL.insert_places, rows)


def _slot_columns(when: Slot) -> dict[str, Any]:
    return {
        "local_date": when.local_date,
        "start_local": when.start_local,
        "end_local": when.end_local,
        "starts_at": when.starts_at,
        "ends_at": when.ends_at,
    }


def _session_row(event: SessionScheduled) -> dict[str, Any]:
    return {
        "session_id": event.session_id,
        "commune_code": event.commune_code,
        "province_code": event.province_code,
        "status": "scheduled",
        **_slot_columns(event.when),
        "venue": _json(event.venue),
        "topics": _json(event.topics),
        "languages": list(event.languages),
        "accessibility": _json(event.accessibility),
        "capacity": event.capacity,
        "booked": 0,
        "volunteers_needed": event.volunteers_needed,
        "coordinator_id": event.coordinator_id,
        "public_holiday": event.public_holiday,
        "makeup_day": event.makeup_day,
        "staffing": "unknown",
        "volunteer_ids": [],
        "missing_volunteers": event.volunteers_needed,
        "staffing_alerted": False,
        "cancel_reason": None,
        "totals": None,
    }


def _request_row(event: HelpRequested) -> dict[str, Any]:
    return {
        "request_id": event.request_id,
        "resident_name": event.resident_name,
        "phone": event.phone,
        "commune_code": event.commune_code,
        "province_code": event.province_code,
        "village_code": event.village_code,
        "address": event.address,
        "topics": _json(event.topics),
        "accessibility_needs": _json(event.accessibility_needs),
        "preferred_language": event.preferred_language,
        "preferred_days": _json(event.preferred_days),
        "home_visit": event.home_visit,
        "channel": event.channel.value,
        "filed_by": event.filed_by,
        "birth_year": event.birth_year,
        "elderly": event.elderly,
        "disabled": event.disabled,
        "minority": event.minority,
        "status": RequestStatus.OPEN.value,
        "session_id": None,
        "booking_id": None,
        "visit_id": None,
        "requested_at": event.requested_at,
    }


async def _resident_booked(conn: AsyncConnection, event: ResidentBooked) -> None:
    await _booking_added(conn, event)
    await _update_request(conn, event.resident.request_id, **_booked_request(event))


async def _booking_added(conn: AsyncConnection, event: ResidentBooked) -> None:
    await _bookings_added(conn, [event])


async def _bookings_added(conn: AsyncConnection, events: Sequence[ResidentBooked]) -> None:
    """The bookings' rows, and the places they take in their sessions: one statement per table
    (and per session), however many bookings."""
    if not events:
        return
    rows = [_booking_row(event) for event in events]
    await conn.execute(_SQL.insert_booking, rows[0] if len(rows) == 1 else rows)
    taken = [
        {"b_session_id": session_id, "b_count": count}
        for session_id, count in Counter(event.session_id for event in events).items()
    ]
    await conn.execute(_SQL.session_booked, taken[0] if len(taken) == 1 else taken)


def _booking_row(event: ResidentBooked) -> dict[str, Any]:
    return {
        "booking_id": event.booking_id,
        "session_id": event.session_id,
        "request_id": event.resident.request_id,
        "resident_name": event.resident.name,
        "phone": event.resident.phone,
        "preferred_language": event.resident.preferred_language,
        "topics": _json(event.topics),
        "accessibility_needs": _json(event.accessibility_needs),
        "status": "booked",
        "from_waitlist": event.from_waitlist,
        "booked_at": event.booked_at,
        "attendance": None,
        "outcomes": [],
    }


async def _booking_left(
    conn: AsyncConnection, session_id: SessionId, booking_id: BookingId, status: str
) -> None:
    await conn.execute(_SQL.update_booking, {"b_booking_id": booking_id, "status": status})
    await conn.execute(_SQL.session_freed, {"b_session_id": session_id})


async def _set_booking_status(conn: AsyncConnection, ids: Sequence[str], status: str) -> None:
    if ids:
        await conn.execute(_SQL.bookings_status, {"b_booking_ids": list(ids), "status": status})


async def _requests_by_booking(conn: AsyncConnection, ids: Sequence[str], status: str) -> None:
    if ids:
        await conn.execute(_SQL.requests_unbooked, {"b_booking_ids": list(ids), "b_status": status})


async def _update_session(conn: AsyncConnection, session_id: str, **values: Any) -> None:
    await conn.execute(_SQL.update_session, {"b_session_id": session_id, **values})


async def _update_request(conn: AsyncConnection, request_id: str, **values: Any) -> None:
    await conn.execute(_SQL.update_request, {"b_request_id": request_id, **values})


async def _update_visit(conn: AsyncConnection, visit_id: str, **values: Any) -> None:
    await conn.execute(_SQL.update_visit, {"b_visit_id": visit_id, **values})


# Queries ------------------------------------------------------------------------------------


async def place_codes(conn: AsyncConnection) -> set[str]:
    return set((await conn.scalars(sa.select(places.c.code))).all())


async def villages_of(conn: AsyncConnection, commune_code: str) -> dict[str, Place]:
    """The villages and hamlets of one commune, by code."""
    rows = await conn.execute(_SQL.villages_of, {"commune_code": commune_code})
    return {
        row.code: Place(
            code=PlaceCode(row.code),
            name=row.name,
            kind=PlaceKind(row.kind),
            commune_code=CommuneCode(row.commune_code),
        )
        for row in rows
    }


async def village_counts(conn: AsyncConnection, province_code: str) -> dict[str, int]:
    rows = await conn.execute(
        sa.select(places.c.commune_code, sa.func.count())
        .where(places.c.province_code == province_code)
        .group_by(places.c.commune_code)
    )
    return {row[0]: int(row[1]) for row in rows}


async def session_row(conn: AsyncConnection, session_id: str) -> sa.Row[Any] | None:
    return (await conn.execute(_SQL.session_row, {"b_session_id": session_id})).first()


async def lock_session(conn: AsyncConnection, session_id: str) -> bool:
    """PostgreSQL: lock the session's row until the transaction ends, so writers of its stream
    take turns (each then reads the stream after the previous one committed). Whether it
    locked: SQLite writers take turns anyway (BEGIN IMMEDIATE)."""
    if conn.dialect.name != "postgresql":
        return False
    await conn.execute(_SQL.lock_session, {"b_session_id": session_id})
    return True


async def sessions_in(
    conn: AsyncConnection, commune_code: str, from_date: date | None, to_date: date | None
) -> Sequence[sa.Row[Any]]:
    query = sa.select(sessions).where(sessions.c.commune_code == commune_code)
    if from_date is not None:
        query = query.where(sessions.c.local_date >= from_date)
    if to_date is not None:
        query = query.where(sessions.c.local_date <= to_date)
    return (await conn.execute(query.order_by(sessions.c.starts_at, sessions.c.session_id))).all()


async def roster(conn: AsyncConnection, session_id: str) -> Sequence[sa.Row[Any]]:
    """The session's live bookings (or all of them once it is cancelled), first booked first."""
    return (
        await conn.execute(
            sa.select(bookings)
            .where(
                bookings.c.session_id == session_id,
                bookings.c.status.in_(["booked", "session_cancelled"]),
            )
            .order_by(bookings.c.booked_at, bookings.c.booking_id)
        )
    ).all()


async def booking_row(conn: AsyncConnection, booking_id: str) -> sa.Row[Any] | None:
    return (await conn.execute(_SQL.booking_row, {"b_booking_id": booking_id})).first()


async def request_row(conn: AsyncConnection, request_id: str) -> sa.Row[Any] | None:
    return (await conn.execute(_SQL.request_row, {"b_request_id": request_id})).first()


async def visit_row(conn: AsyncConnection, visit_id: str) -> sa.Row[Any] | None:
    return (await conn.execute(_SQL.visit_row, {"b_visit_id": visit_id})).first()


def request_state(row: sa.Row[Any]) -> HelpRequestState:
    """A help request as booking decisions see it, from its read-model row."""
    return HelpRequestState(
        request_id=HelpRequestId(row.request_id),
        resident_name=row.resident_name,
        phone=row.phone,
        commune_code=CommuneCode(row.commune_code),
        province_code=ProvinceCode(row.province_code),
        village_code=PlaceCode(row.village_code) if row.village_code else None,
        address=row.address,
        topics=tuple(Topic(t) for t in row.topics),
        accessibility_needs=tuple(Accessibility(a) for a in row.accessibility_needs),
        preferred_language=Language(row.preferred_language),
        preferred_days=tuple(Weekend(d) for d in row.preferred_days),
        home_visit=row.home_visit,
        requested_at=utc(row.requested_at),
        status=RequestStatus(row.status),
        session_id=SessionId(row.session_id) if row.session_id else None,
        booking_id=BookingId(row.booking_id) if row.booking_id else None,
    )


async def waitlist(
    conn: AsyncConnection, province_code: str, commune_code: str, *, limit: int = 100
) -> list[HelpRequestState]:
    """Waiting requests of a province, own commune first, first come first served.

    On PostgreSQL the rows are locked for this transaction (skipping rows another transaction
    is placing), so two sessions freeing places at once never book the same resident twice.
    """
    query = (
        sa.select(help_requests)
        .where(
            help_requests.c.status == RequestStatus.WAITING.value,
            help_requests.c.province_code == province_code,
            help_requests.c.home_visit.is_(False),
        )
        .order_by(
            sa.case((help_requests.c.commune_code == commune_code, 0), else_=1),
            help_requests.c.requested_at,
            help_requests.c.request_id,
        )
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=help_requests)
    return [request_state(row) for row in await conn.execute(query)]


async def candidate_sessions(
    conn: AsyncConnection,
    province_code: str,
    commune_code: str,
    topics: Iterable[Topic],
    now: datetime,
    *,
    limit: int = 20,
) -> list[SessionOutline]:
    """Upcoming sessions of the province with free places and a wanted topic, own commune
    first, then the earliest (a shortlist: the domain's `choose_session` makes the choice)."""
    rows = await conn.execute(
        _SQL.candidates[conn.dialect.name],
        {
            "province_code": province_code,
            "commune_code": commune_code,
            "topics": [t.value for t in topics],
            "now": now,
            "limit": limit,
        },
    )
    return [
        SessionOutline(
            session_id=session_id,
            commune_code=commune,
            topics=session_topics,
            local_date=local_date,
            starts_at=starts_at,
            free_places=max(capacity - booked, 0),
        )
        for session_id, commune, session_topics, local_date, starts_at, capacity, booked in rows
    ]


async def booked_slots(
    conn: AsyncConnection, phones: Iterable[str], *, except_session: str | None = None
) -> dict[str, list[Slot]]:
    """Each resident's live bookings in scheduled sessions, as slots (to refuse double booking)."""
    wanted = list(set(phones))
    if not wanted:
        return {}
    if except_session is not None:
        rows = await conn.execute(
            _SQL.slots_of_elsewhere, {"phones": wanted, "except_session": except_session}
        )
    elif len(wanted) == 1:
        rows = await conn.execute(_SQL.slots_of_one, {"phone": wanted[0]})
    else:
        rows = await conn.execute(_SQL.slots_of, {"phones": wanted})
    found: dict[str, list[Slot]] = {}
    for phone, local_date, start_local, end_local, starts_at, ends_at in rows:
        found.setdefault(phone, []).append(
            Slot(
                local_date=local_date,
                start_local=start_local,
                end_local=end_local,
                starts_at=utc(starts_at),
                ends_at=utc(ends_at),
            )
        )
    return found


async def report_rows(
    conn: AsyncConnection, commune_code: str, from_date: date, to_date: date
) -> tuple[list[SessionRow], list[AttendanceRow]]:
    """The plain rows the commune report is computed from."""
    session_rows = await conn.execute(
        sa.select(
            sessions.c.session_id, sessions.c.commune_code, sessions.c.local_date, sessions.c.status
        ).where(
            sessions.c.commune_code == commune_code,
            sessions.c.local_date >= from_date,
            sessions.c.local_date <= to_date,
        )
    )
    own = [
        SessionRow(
            session_id=SessionId(r.session_id),
            commune_code=CommuneCode(r.commune_code),
            local_date=r.local_date,
            status=r.status,
        )
        for r in session_rows
    ]
    attended = await conn.execute(
        sa.select(
            bookings.c.session_id,
            bookings.c.booking_id,
            bookings.c.request_id,
            bookings.c.attendance,
            bookings.c.topics,
            bookings.c.outcomes,
            bookings.c.accessibility_needs,
            sessions.c.commune_code,
            sessions.c.local_date,
            help_requests.c.birth_year,
            help_requests.c.elderly,
            help_requests.c.disabled,
            help_requests.c.minority,
        )
        .join(sessions, sessions.c.session_id == bookings.c.session_id)
        .join(help_requests, help_requests.c.request_id == bookings.c.request_id)
        .where(
            sessions.c.commune_code == commune_code,
            sessions.c.local_date >= from_date,
            sessions.c.local_date <= to_date,
            sessions.c.status != "cancelled",
            bookings.c.status == "booked",
            bookings.c.attendance.is_not(None),
        )
        .order_by(bookings.c.booked_at)
    )
    rows = [
        AttendanceRow(
            session_id=SessionId(r.session_id),
            booking_id=BookingId(r.booking_id),
            request_id=HelpRequestId(r.request_id),
            commune_code=CommuneCode(r.commune_code),
            local_date=r.local_date,
            status=AttendanceStatus(r.attendance),
            topics=tuple(Topic(t) for t in r.topics),
            outcomes=tuple(Outcome(o) for o in r.outcomes),
            accessibility_needs=tuple(Accessibility(a) for a in r.accessibility_needs),
            birth_year=r.birth_year,
            elderly=r.elderly,
            disabled=r.disabled,
            minority=r.minority,
        )
        for r in attended
    ]
    return own, rows


# Views the API answers with, from the read models' rows -----------------------------------


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


class BookingView(msgspec.Struct, frozen=True, kw_only=True):
    booking_id: FromPath[str]
    session_id: FromPath[str]
    status: str
    venue: Venue | None = None
    when: Slot | None = None


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


def session_view(row: sa.Row[Any]) -> SessionView:
    return SessionView(
        session_id=row.session_id,
        status=row.status,
        commune_code=row.commune_code,
        province_code=row.province_code,
        venue=msgspec.convert(row.venue, Venue),
        local_date=row.local_date,
        start_local=row.start_local,
        end_local=row.end_local,
        starts_at=utc(row.starts_at),
        ends_at=utc(row.ends_at),
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


async def request_view(conn: AsyncConnection, request_id: str) -> HelpRequestView | None:
    row = await request_row(conn, request_id)
    if row is None:
        return None
    venue = when = None
    if row.session_id is not None and (session := await session_row(conn, row.session_id)):
        view = session_view(session)
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


def visit_view(row: sa.Row[Any]) -> HomeVisitView:
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


def booking_view(booked: ResidentBooked | None, row: sa.Row[Any]) -> BookingView:
    return BookingView(
        booking_id=row.booking_id,
        session_id=row.session_id,
        status=row.status,
        venue=booked.venue if booked else None,
        when=booked.when if booked else None,
    )
