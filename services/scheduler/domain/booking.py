"""Where a booking is decided: the best session for a request, the waitlist, cancel and change.

Rules: a session fits a request when it is open, upcoming, has a free place, lies in the
resident's province, covers at least one requested topic and every accessibility need, offers
the resident's language, and the resident (by phone) has no booking in an overlapping slot.
Among fitting sessions: same commune first, then all topics covered, then a preferred day,
then the earliest start, then the most free places. The waitlist is first come, first served
(by when the resident first asked), residents of the session's commune first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import NamedTuple

import msgspec

from services.scheduler.domain.errors import (
    BookingNotFoundError,
    DoubleBookingError,
    HelpRequestClosedError,
    SessionFullError,
    SessionInPastError,
)
from services.scheduler.domain.requests import HelpRequestState, RequestStatus
from services.scheduler.domain.sessions import (
    SATURDAY,
    SessionState,
    SessionStatus,
    evolve_session,
    overlaps,
    require_open,
)
from shared.events.base import Event
from shared.events.scheduler import (
    Actor,
    BookingCancelled,
    BookingChanged,
    BookingId,
    HelpRequestId,
    ResidentBooked,
    SessionId,
    Slot,
    Weekend,
)

BookingIdFor = Callable[[HelpRequestId], BookingId]


class CancelBooking(msgspec.Struct, frozen=True, kw_only=True):
    """Give up a booking; the place goes to the waitlist."""

    session_id: SessionId
    booking_id: BookingId
    cancelled_by: Actor = Actor.RESIDENT
    reason: str = ""


class ChangeBooking(msgspec.Struct, frozen=True, kw_only=True):
    """Move a booking to another session."""

    session_id: SessionId
    booking_id: BookingId
    new_session_id: SessionId
    changed_by: Actor = Actor.RESIDENT


class BookingChange(NamedTuple):
    """A change touches two session streams: append `new_session` first, it holds the capacity."""

    new_session: list[Event]
    old_session: list[Event]


def fits(
    session: SessionState,
    request: HelpRequestState,
    *,
    now: datetime,
    booked: Iterable[Slot] = (),
) -> bool:
    """Whether this session could take this resident now (see the module rules)."""
    return (
        session.status is SessionStatus.SCHEDULED
        and session.when.starts_at > now
        and session.free_places > 0
        and not request.home_visit
        and session.province_code == request.province_code
        and bool(set(request.topics) & set(session.topics))
        and set(request.accessibility_needs) <= set(session.accessibility)
        and request.preferred_language in session.languages
        and not _double_booked(session, request.phone, booked)
    )


def choose_session(
    request: HelpRequestState,
    sessions: Iterable[SessionState],
    *,
    now: datetime,
    booked: Iterable[Slot] = (),
) -> SessionState | None:
    """The best upcoming session for a request, or None when it has to wait.

    `booked` are the resident's bookings outside `sessions`; bookings inside them are seen.
    """
    candidates = list(sessions)
    slots = [
        *booked,
        *(s.when for s in candidates if any(b.resident.phone == request.phone for b in s.bookings)),
    ]
    fitting = [s for s in candidates if fits(s, request, now=now, booked=slots)]
    if not fitting:
        return None
    return min(fitting, key=lambda s: _rank(s, request))


def next_from_waitlist(
    session: SessionState,
    waitlist: Iterable[HelpRequestState],
    *,
    now: datetime,
    booked: Mapping[str, Sequence[Slot]] | None = None,
) -> HelpRequestState | None:
    """Who gets a free place: the earliest waiting resident it fits, own commune first.

    `booked` maps phone numbers to their bookings in other sessions.
    """
    other = booked or {}
    return next(
        (
            r
            for r in _in_turn(session, waitlist)
            if fits(session, r, now=now, booked=other.get(r.phone, ()))
        ),
        None,
    )


def waiting_for(
    session: SessionState,
    waitlist: Iterable[HelpRequestState],
    *,
    now: datetime,
    booked: Mapping[str, Sequence[Slot]] | None = None,
) -> tuple[HelpRequestState, ...]:
    """The waiting residents this session would take, in the turn places freed in it would go
    to them (`next_from_waitlist` as if it had room for each): what its page lists."""
    other = booked or {}
    with_room = msgspec.structs.replace(session, capacity=len(session.bookings) + 1)
    return tuple(
        r
        for r in _in_turn(session, waitlist)
        if fits(with_room, r, now=now, booked=other.get(r.phone, ()))
    )


def _in_turn(session: SessionState, waitlist: Iterable[HelpRequestState]) -> list[HelpRequestState]:
    """Waiting residents in their turn for this session: own commune first, then who asked first."""
    return sorted(
        (r for r in waitlist if r.status is RequestStatus.WAITING),
        key=lambda r: (r.commune_code != session.commune_code, r.waiting_since, r.request_id),
    )


def decide_book_resident(
    session: SessionState,
    request: HelpRequestState,
    *,
    booking_id: BookingId,
    now: datetime,
    booked: Iterable[Slot] = (),
    from_waitlist: bool = False,
) -> list[Event]:
    """Give a resident a place, never beyond capacity and never twice in one slot."""
    existing = session.booking(booking_id)
    if existing is not None and existing.request_id == request.request_id:
        return []
    require_open(session)
    if session.when.starts_at <= now:
        raise SessionInPastError("the session has already started", field="session_id")
    if request.home_visit or request.status not in {RequestStatus.OPEN, RequestStatus.WAITING}:
        raise HelpRequestClosedError(
            f"request {request.request_id} is {request.status.value}, it cannot be booked"
        )
    if session.free_places <= 0:
        raise SessionFullError(f"all {session.capacity} places are taken")
    if _double_booked(session, request.phone, booked):
        raise DoubleBookingError("this resident already has a booking at that time")
    return [
        ResidentBooked(
            session_id=session.session_id,
            booking_id=booking_id,
            resident=request.contact,
            topics=request.topics,
            accessibility_needs=request.accessibility_needs,
            commune_code=session.commune_code,
            venue=session.venue,
            when=session.when,
            from_waitlist=from_waitlist,
            booked_at=now,
            consent_notice=request.first_answer_notice,
        )
    ]


def decide_fill_from_waitlist(
    session: SessionState,
    waitlist: Iterable[HelpRequestState],
    *,
    booking_id_for: BookingIdFor,
    now: datetime,
    booked: Mapping[str, Sequence[Slot]] | None = None,
) -> list[Event]:
    """Hand every free place to the waitlist at once, in turn (after a cancel or new session)."""
    remaining = list(waitlist)
    events: list[Event] = []
    current: SessionState | None = session
    while current is not None and current.free_places > 0:
        chosen = next_from_waitlist(current, remaining, now=now, booked=booked)
        if chosen is None:
            break
        new = decide_book_resident(
            current,
            chosen,
            booking_id=booking_id_for(chosen.request_id),
            now=now,
            booked=(booked or {}).get(chosen.phone, ()),
            from_waitlist=True,
        )
        remaining = [r for r in remaining if r.request_id != chosen.request_id]
        for event in new:
            current = evolve_session(current, event)
        events.extend(new)
    return events


def decide_cancel_booking(
    session: SessionState, command: CancelBooking, *, now: datetime
) -> list[Event]:
    """Release a booking before the session starts."""
    require_open(session)
    booking = session.booking(command.booking_id)
    if booking is None:
        raise BookingNotFoundError(f"{command.booking_id} is not booked in this session")
    if session.when.starts_at <= now:
        raise SessionInPastError(
            "the session has started; record a no-show instead", field="booking_id"
        )
    return [
        BookingCancelled(
            session_id=session.session_id,
            booking_id=booking.booking_id,
            resident=booking.resident,
            venue=session.venue,
            when=session.when,
            reason=command.reason.strip() or f"cancelled by {command.cancelled_by.value}",
            cancelled_by=command.cancelled_by,
            cancelled_at=now,
        )
    ]


def decide_change_booking(
    old: SessionState,
    new: SessionState,
    command: ChangeBooking,
    *,
    new_booking_id: BookingId,
    now: datetime,
    booked: Iterable[Slot] = (),
) -> BookingChange:
    """Move a resident to another session; `booked` are their other bookings, not this one."""
    require_open(old)
    booking = old.booking(command.booking_id)
    if booking is None:
        raise BookingNotFoundError(f"{command.booking_id} is not booked in this session")
    if old.when.starts_at <= now:
        raise SessionInPastError("the session has already started", field="booking_id")
    if new.session_id == old.session_id:
        raise DoubleBookingError("the booking is already in that session", field="new_session_id")
    require_open(new)
    if new.when.starts_at <= now:
        raise SessionInPastError("that session has already started", field="new_session_id")
    if new.free_places <= 0:
        raise SessionFullError(f"all {new.capacity} places are taken", field="new_session_id")
    if _double_booked(new, booking.resident.phone, booked):
        raise DoubleBookingError("this resident already has a booking at that time")
    booked_event = ResidentBooked(
        session_id=new.session_id,
        booking_id=new_booking_id,
        resident=booking.resident,
        topics=booking.topics,
        accessibility_needs=booking.accessibility_needs,
        commune_code=new.commune_code,
        venue=new.venue,
        when=new.when,
        changed_from_booking_id=booking.booking_id,
        booked_at=now,
    )
    changed = BookingChanged(
        session_id=old.session_id,
        booking_id=booking.booking_id,
        resident=booking.resident,
        new_session_id=new.session_id,
        new_booking_id=new_booking_id,
        new_venue=new.venue,
        new_when=new.when,
        changed_by=command.changed_by,
        changed_at=now,
    )
    return BookingChange(new_session=[booked_event], old_session=[changed])


def _double_booked(session: SessionState, phone: str, booked: Iterable[Slot]) -> bool:
    if any(b.resident.phone == phone for b in session.bookings):
        return True
    return any(overlaps(session.when, slot) for slot in booked)


def _rank(session: SessionState, request: HelpRequestState) -> tuple[object, ...]:
    return rank_session(
        SessionOutline(
            session_id=session.session_id,
            commune_code=session.commune_code,
            topics=session.topics,
            local_date=session.when.local_date,
            starts_at=session.when.starts_at,
            free_places=session.free_places,
        ),
        request,
    )


class SessionOutline(NamedTuple):
    """What ranking needs of a session: read models have it without loading the stream."""

    session_id: str
    commune_code: str
    topics: Sequence[str]
    local_date: date
    starts_at: datetime
    free_places: int


def rank_session(session: SessionOutline, request: HelpRequestState) -> tuple[object, ...]:
    """The order of preference among fitting sessions (lowest first; see the module rules)."""
    day = Weekend.SATURDAY if session.local_date.weekday() == SATURDAY else Weekend.SUNDAY
    on_preferred_day = not request.preferred_days or (
        session.local_date.weekday() >= SATURDAY and day in request.preferred_days
    )
    return (
        session.commune_code != request.commune_code,
        not set(request.topics) <= set(session.topics),
        not on_preferred_day,
        session.starts_at,
        -session.free_places,
        session.session_id,
    )
