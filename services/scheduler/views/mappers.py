"""The views the API answers with, made from the read models' rows."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import msgspec
import sqlalchemy as sa
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncConnection

from services.scheduler.views.queries import request_row, session_row
from shared.events.consent import ConsentRecord
from shared.events.scheduler import (
    ResidentBooked,
    SessionTotals,
    Slot,
    Venue,
)
from shared.events.vocabulary import Accessibility, Language, Outcome, Topic


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
    """Where a help request stands: booked (with where and when), waiting, or a home visit;
    `erasing`, then `erased` (name and phone empty) once the resident is forgotten."""

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
    # What the resident agreed to (shared/events/consent.py); null for requests filed before.
    consent: ConsentRecord | None = None


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
    resident_name: str = ""  # who asked for the visit (their help request's name)


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
        starts_at=row.starts_at,
        ends_at=row.ends_at,
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
        consent=(msgspec.convert(row.consent, ConsentRecord) if row.consent is not None else None),
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
        resident_name=row.resident_name or "",
    )


def booking_view(booked: ResidentBooked | None, row: sa.Row[Any]) -> BookingView:
    return BookingView(
        booking_id=row.booking_id,
        session_id=row.session_id,
        status=row.status,
        venue=booked.venue if booked else None,
        when=booked.when if booked else None,
    )
