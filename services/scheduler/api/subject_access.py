"""`POST /v1/subject-access` on the scheduler: every help request of the person (by their
number and/or a request id), opened, with its consent record, bookings and their sessions,
attendance and home visits; an erased request only says so (its id, nothing personal)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import msgspec
import sqlalchemy as sa
from litestar import Response
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncConnection

from services.scheduler.domain.requests import RequestStatus
from services.scheduler.tables import bookings, help_requests, home_visits, sessions
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


class SessionHeld(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    status: str
    commune_code: str
    venue: dict[str, Any]
    local_date: date
    start_local: time
    end_local: time
    starts_at: datetime
    ends_at: datetime


class BookingHeld(msgspec.Struct, frozen=True, kw_only=True):
    booking_id: str
    status: str
    booked_at: datetime
    from_waitlist: bool
    attendance: str | None
    outcomes: list[str]
    session: SessionHeld | None


class HomeVisitHeld(msgspec.Struct, frozen=True, kw_only=True):
    visit_id: str
    status: str
    local_date: date | None
    start_local: time | None
    end_local: time | None
    outcomes: list[str]


class HelpRequestHeld(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    status: str
    resident_name: str
    phone: str
    address: str
    commune_code: str
    village_code: str | None
    topics: list[str]
    accessibility_needs: list[str]
    preferred_language: str
    preferred_days: list[str]
    home_visit: bool
    channel: str
    birth_year: int | None
    elderly: bool
    disabled: bool
    minority: bool
    requested_at: datetime
    consent: dict[str, Any] | None
    bookings: list[BookingHeld]
    home_visits: list[HomeVisitHeld]


class ErasedRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A request whose resident was erased: that it was, and nothing about them."""

    request_id: str
    status: str


class SchedulerHeld(msgspec.Struct, frozen=True, kw_only=True):
    help_requests: list[HelpRequestHeld]
    erased_requests: list[ErasedRequest]


_GONE = (RequestStatus.ERASED.value,)


async def _held(conn: AsyncConnection, phone: str | None, request_id: str | None) -> SchedulerHeld:
    named = []
    if phone is not None:
        named.append(help_requests.c.phone == phone)
    if request_id is not None:
        named.append(help_requests.c.request_id == request_id)
    if not named:  # a volunteer named by their id only: no request is theirs by it
        return SchedulerHeld(help_requests=[], erased_requests=[])
    rows = list(
        await conn.execute(
            sa.select(help_requests).where(sa.or_(*named)).order_by(help_requests.c.requested_at)
        )
    )
    kept = [r for r in rows if r.status not in _GONE]
    ids = [r.request_id for r in kept]
    booked = await conn.execute(
        sa.select(
            bookings,
            sessions.c.status.label("session_status"),
            sessions.c.commune_code,
            sessions.c.venue,
            sessions.c.local_date,
            sessions.c.start_local,
            sessions.c.end_local,
            sessions.c.starts_at,
            sessions.c.ends_at,
        )
        .select_from(bookings.outerjoin(sessions, sessions.c.session_id == bookings.c.session_id))
        .where(bookings.c.request_id.in_(ids))
        .order_by(bookings.c.booked_at)
    )
    by_request: dict[str, list[BookingHeld]] = {}
    for b in booked.mappings():
        by_request.setdefault(b["request_id"], []).append(_booking(b))
    visited = await conn.execute(sa.select(home_visits).where(home_visits.c.request_id.in_(ids)))
    visits: dict[str, list[HomeVisitHeld]] = {}
    for v in visited:
        visits.setdefault(v.request_id, []).append(
            HomeVisitHeld(
                visit_id=v.visit_id,
                status=v.status,
                local_date=v.local_date,
                start_local=v.start_local,
                end_local=v.end_local,
                outcomes=list(v.outcomes),
            )
        )
    return SchedulerHeld(
        help_requests=[
            _request(r, by_request.get(r.request_id, []), visits.get(r.request_id, []))
            for r in kept
        ],
        erased_requests=[
            ErasedRequest(request_id=r.request_id, status=r.status)
            for r in rows
            if r.status in _GONE
        ],
    )


def _booking(b: sa.RowMapping) -> BookingHeld:
    session = None
    if b["starts_at"] is not None:
        session = SessionHeld(
            session_id=b["session_id"],
            status=b["session_status"],
            commune_code=b["commune_code"],
            venue=dict(b["venue"]),
            local_date=b["local_date"],
            start_local=b["start_local"],
            end_local=b["end_local"],
            starts_at=b["starts_at"],
            ends_at=b["ends_at"],
        )
    return BookingHeld(
        booking_id=b["booking_id"],
        status=b["status"],
        booked_at=b["booked_at"],
        from_waitlist=b["from_waitlist"],
        attendance=b["attendance"],
        outcomes=list(b["outcomes"]),
        session=session,
    )


def _request(
    r: sa.Row[Any], booked: list[BookingHeld], visits: list[HomeVisitHeld]
) -> HelpRequestHeld:
    return HelpRequestHeld(
        request_id=r.request_id,
        status=r.status,
        resident_name=r.resident_name,
        phone=r.phone,
        address=r.address,
        commune_code=r.commune_code,
        village_code=r.village_code,
        topics=list(r.topics),
        accessibility_needs=list(r.accessibility_needs),
        preferred_language=r.preferred_language,
        preferred_days=list(r.preferred_days),
        home_visit=r.home_visit,
        channel=r.channel,
        birth_year=r.birth_year,
        elderly=r.elderly,
        disabled=r.disabled,
        minority=r.minority,
        requested_at=r.requested_at,
        consent=r.consent,
        bookings=booked,
        home_visits=visits,
    )


@subject_access_route(
    summary="Everything the scheduler holds about one resident, for their own copy",
    description="Only a token with the role `service` may ask (the console, assembling a "
    "person's copy). Every help request of the number and/or the request id, opened: status, "
    "commune, topics, needs, consent record, bookings with their sessions and attendance, home "
    "visits. An erased request says `erased` and holds no personal value; an unknown person "
    "gets `nothing_held`. Never cached.",
)
async def give_subject_access(
    data: JSONBody[SubjectAccessAsked],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
) -> Response[SubjectAccessSection]:
    require_service(caller)
    phone = asked_phone(data)
    async with store.reader.connect() as conn:
        held = await _held(conn, phone, data.request_id)
    made = section(
        "scheduler",
        store.clock.now(),
        held,
        held=bool(held.help_requests),
        erased=bool(held.erased_requests),
    )
    return Response(made, headers=NO_STORE)
