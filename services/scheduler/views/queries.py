"""What the API and the handlers read from the scheduler's read models."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.scheduler.domain.booking import SessionOutline
from services.scheduler.domain.places import Place, PlaceKind
from services.scheduler.domain.reports import AttendanceRow, SessionRow
from services.scheduler.domain.requests import HelpRequestState, RequestStatus
from services.scheduler.domain.retention import ResidentActivity
from services.scheduler.tables import bookings, help_requests, home_visits, places, sessions
from shared.clock import VIETNAM
from shared.events.scheduler import (
    AttendanceStatus,
    BookingId,
    CommuneCode,
    HelpRequestId,
    PlaceCode,
    ProvinceCode,
    SessionId,
    Slot,
    Weekend,
)
from shared.events.vocabulary import Accessibility, Language, Outcome, Topic


def _visits_with_resident() -> sa.Select[Any]:
    """Home visits with the name of the resident who asked (their help request's): whoever
    may read a visit (its commune's coordinator) goes to that resident's home."""
    resident = help_requests.c.request_id == home_visits.c.request_id
    return sa.select(home_visits, help_requests.c.resident_name).select_from(
        home_visits.outerjoin(help_requests, resident)
    )


class _Statements:
    """The hot queries, built once: SQLAlchemy then reuses their compiled form instead of
    building, coercing and caching a new statement on every call. Their WHERE parameters on
    a key are named `b_*`."""

    def __init__(self) -> None:
        by_session = sessions.c.session_id == sa.bindparam("b_session_id")
        by_request = help_requests.c.request_id == sa.bindparam("b_request_id")
        by_booking = bookings.c.booking_id == sa.bindparam("b_booking_id")
        by_visit = home_visits.c.visit_id == sa.bindparam("b_visit_id")
        # The queries of the help-request path.
        self.villages_of = (
            sa.select(places)
            .where(places.c.commune_code == sa.bindparam("commune_code"))
            .order_by(places.c.code)
        )
        self.session_row = sa.select(sessions).where(by_session)
        self.request_row = sa.select(help_requests).where(by_request)
        self.booking_row = sa.select(bookings).where(by_booking)
        self.visit_row = _visits_with_resident().where(by_visit)
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


async def requests_of_phone(conn: AsyncConnection, phone: str) -> list[tuple[str, str]]:
    """The help requests (id, commune) held for a number and not erased yet, oldest first."""
    rows = await conn.execute(
        sa.select(help_requests.c.request_id, help_requests.c.commune_code)
        .where(
            help_requests.c.phone == phone,
            help_requests.c.status != RequestStatus.ERASED.value,
        )
        .order_by(help_requests.c.requested_at)
    )
    return [(row.request_id, row.commune_code) for row in rows]


async def visit_row(conn: AsyncConnection, visit_id: str) -> sa.Row[Any] | None:
    row: sa.Row[Any] | None = (await conn.execute(_SQL.visit_row, {"b_visit_id": visit_id})).first()
    return row


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
        requested_at=row.requested_at,
        status=RequestStatus(row.status),
        session_id=SessionId(row.session_id) if row.session_id else None,
        booking_id=BookingId(row.booking_id) if row.booking_id else None,
    )


async def waitlist(
    conn: AsyncConnection,
    province_code: str,
    commune_code: str,
    *,
    limit: int = 100,
    to_place: bool = True,
) -> list[HelpRequestState]:
    """Waiting requests of a province, own commune first, first come first served.

    On PostgreSQL the rows are locked for this transaction (skipping rows another transaction
    is placing), so two sessions freeing places at once never book the same resident twice;
    a read that places nobody (`to_place=False`) locks and skips nothing.
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
    if to_place and conn.dialect.name == "postgresql":
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
                starts_at=starts_at,
                ends_at=ends_at,
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


async def commune_waiting(conn: AsyncConnection, commune_code: str) -> list[sa.Row[Any]]:
    """A commune's residents waiting for a session place, who asked first first."""
    query = (
        sa.select(help_requests)
        .where(
            help_requests.c.commune_code == commune_code,
            help_requests.c.status == RequestStatus.WAITING.value,
            help_requests.c.home_visit.is_(False),
        )
        .order_by(help_requests.c.requested_at, help_requests.c.request_id)
    )
    return list(await conn.execute(query))


async def commune_open_visits(conn: AsyncConnection, commune_code: str) -> list[sa.Row[Any]]:
    """A commune's home visits still to happen (requested or scheduled), oldest request first."""
    query = (
        _visits_with_resident()
        .where(
            home_visits.c.commune_code == commune_code,
            home_visits.c.status.in_(("requested", "scheduled")),
        )
        .order_by(home_visits.c.requested_at, home_visits.c.visit_id)
    )
    return list(await conn.execute(query))


async def residents_unseen_since(
    conn: AsyncConnection, cutoff: datetime, *, limit: int
) -> list[ResidentActivity]:
    """Residents not seen since `cutoff` and not being forgotten, oldest requests first: the
    candidates of a retention run (`domain.retention.residents_due` decides). A resident is
    seen by any request from their phone, and any session or home visit it was booked on."""
    other = help_requests.alias("same_phone")
    same_phone = other.c.phone == help_requests.c.phone
    last_request = sa.select(sa.func.max(other.c.requested_at)).where(same_phone).scalar_subquery()
    last_session = (
        sa.select(sa.func.max(sessions.c.ends_at))
        .select_from(bookings.join(sessions, sessions.c.session_id == bookings.c.session_id))
        .where(bookings.c.phone == help_requests.c.phone)
        .scalar_subquery()
    )
    last_visit = (
        sa.select(sa.func.max(home_visits.c.local_date))
        .select_from(home_visits.join(other, other.c.request_id == home_visits.c.request_id))
        .where(same_phone)
        .scalar_subquery()
    )
    last_local_day = cutoff.astimezone(VIETNAM).date()
    query = (
        sa.select(
            help_requests.c.request_id,
            help_requests.c.commune_code,
            help_requests.c.status,
            help_requests.c.requested_at,
            last_request.label("last_request_at"),
            last_session.label("last_session_ends_at"),
            last_visit.label("last_visit_on"),
        )
        .where(
            help_requests.c.requested_at < cutoff,
            help_requests.c.status.not_in(
                [RequestStatus.ERASING.value, RequestStatus.ERASED.value]
            ),
            last_request < cutoff,
            sa.or_(last_session.is_(None), last_session < cutoff),
            sa.or_(last_visit.is_(None), last_visit < last_local_day),
        )
        .order_by(help_requests.c.requested_at, help_requests.c.request_id)
        .limit(limit)
    )
    return [
        ResidentActivity(
            request_id=HelpRequestId(row.request_id),
            commune_code=CommuneCode(row.commune_code),
            status=RequestStatus(row.status),
            requested_at=row.requested_at,
            last_request_at=row.last_request_at,
            last_session_ends_at=row.last_session_ends_at,
            last_visit_on=row.last_visit_on,
        )
        for row in await conn.execute(query)
    ]
