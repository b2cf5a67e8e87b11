"""How the scheduler's own events update its read models. Projection runs inline in the
appending transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.scheduler.domain.places import find_commune
from services.scheduler.domain.requests import RequestStatus
from services.scheduler.tables import bookings, help_requests, home_visits, places, sessions
from shared.events.base import Event, RecordedEvent
from shared.events.personal import ERASED
from shared.events.scheduler import (
    AttendanceRecorded,
    BookingCancelled,
    BookingChanged,
    BookingId,
    HelpRequested,
    HomeVisitCancelled,
    HomeVisitCompleted,
    HomeVisitRequested,
    HomeVisitScheduled,
    HomeVisitStaffingChanged,
    PlacesImported,
    ResidentBooked,
    ResidentErased,
    ResidentErasureRequested,
    ResidentMovedToWaitlist,
    ResidentWaitlisted,
    SessionCancelled,
    SessionCapacityChanged,
    SessionCompleted,
    SessionId,
    SessionRescheduled,
    SessionScheduled,
    SessionStaffingChanged,
    Slot,
    StaffingAlertRaised,
)


def _json(value: Any) -> Any:
    return msgspec.to_builtins(value)


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
        case ResidentErasureRequested():
            await _update_request(conn, event.request_id, status=RequestStatus.ERASING.value)
        case ResidentErased():
            await _forget_resident(conn, event.request_id)
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
        "consent": _json(event.consent) if event.consent is not None else None,
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


async def _forget_resident(conn: AsyncConnection, request_id: str) -> None:
    """Blank what named the resident; their request, bookings and attendance still count."""
    await _update_request(
        conn,
        request_id,
        status=RequestStatus.ERASED.value,
        resident_name=ERASED,
        phone=ERASED,
        address=ERASED,
    )
    await conn.execute(
        bookings.update()
        .where(bookings.c.request_id == request_id)
        .values(resident_name=ERASED, phone=ERASED)
    )


async def _update_request(conn: AsyncConnection, request_id: str, **values: Any) -> None:
    await conn.execute(_SQL.update_request, {"b_request_id": request_id, **values})


async def _update_visit(conn: AsyncConnection, visit_id: str, **values: Any) -> None:
    await conn.execute(_SQL.update_visit, {"b_visit_id": visit_id, **values})
