"""Support sessions (stream `session-<uuid>`): planning, changes, and the bookings they hold.

The session stream holds its bookings, so capacity and "one place per resident" are enforced by
optimistic concurrency on one stream. Booking decisions live in `booking.py`, attendance in
`attendance.py`; this module folds every event of the stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import TypeVar

import msgspec

from services.scheduler.domain.errors import (
    BookingNotFoundError,
    CapacityBelowBookingsError,
    InvalidSessionError,
    NotAWeekendError,
    SessionAlreadyScheduledError,
    SessionClosedError,
    SessionInPastError,
    SessionNotFoundError,
)
from services.scheduler.domain.places import Place, require_commune_in_scope
from shared.clock import VIETNAM
from shared.events.base import Event
from shared.events.scheduler import (
    CANCEL_REASON_MAX,
    AffectedBooking,
    AttendanceRecorded,
    AttendanceStatus,
    BookingCancelled,
    BookingChanged,
    BookingId,
    CommuneCode,
    CoordinatorId,
    HelpRequestId,
    OutcomeCount,
    ProvinceCode,
    ResidentBooked,
    ResidentContact,
    ResidentMovedToWaitlist,
    SessionCancelled,
    SessionCapacityChanged,
    SessionCompleted,
    SessionId,
    SessionRescheduled,
    SessionScheduled,
    SessionTotals,
    Slot,
    StaffingAlertRaised,
    Venue,
)
from shared.events.vocabulary import Accessibility, Language, Outcome, Topic

SATURDAY = 5
SUNDAY = 6
MAX_CAPACITY = 500
MAX_VOLUNTEERS = 50
T = TypeVar("T")


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class Booking(msgspec.Struct, frozen=True, kw_only=True):
    """A resident's place in a session, with what volunteers need to know to help them."""

    booking_id: BookingId
    resident: ResidentContact
    topics: tuple[Topic, ...]
    accessibility_needs: tuple[Accessibility, ...]
    booked_at: datetime

    @property
    def request_id(self) -> HelpRequestId:
        return self.resident.request_id


class AttendanceMark(msgspec.Struct, frozen=True, kw_only=True):
    """The latest thing recorded about one booking on the day."""

    status: AttendanceStatus
    outcomes: tuple[Outcome, ...] = ()


class SessionState(msgspec.Struct, frozen=True, kw_only=True):
    """A session as its events left it."""

    session_id: SessionId
    status: SessionStatus
    commune_code: CommuneCode
    province_code: ProvinceCode
    venue: Venue
    when: Slot
    topics: tuple[Topic, ...]
    capacity: int
    volunteers_needed: int
    languages: tuple[Language, ...]
    accessibility: tuple[Accessibility, ...]
    coordinator_id: CoordinatorId
    public_holiday: bool = False
    makeup_day: bool = False
    bookings: tuple[Booking, ...] = ()
    attendance: dict[BookingId, AttendanceMark] = {}
    staffing_alerted: bool = False
    totals: SessionTotals | None = None

    @property
    def free_places(self) -> int:
        return max(self.capacity - len(self.bookings), 0)

    def booking(self, booking_id: BookingId) -> Booking | None:
        return next((b for b in self.bookings if b.booking_id == booking_id), None)


class ScheduleSession(msgspec.Struct, frozen=True, kw_only=True):
    """Put a support session on the calendar."""

    session_id: SessionId
    commune_code: str
    venue: Venue
    local_date: date
    start_local: time
    end_local: time
    topics: tuple[Topic, ...]
    capacity: int
    volunteers_needed: int = 1
    languages: tuple[Language, ...] = (Language.VI,)
    accessibility: tuple[Accessibility, ...] = ()
    coordinator_id: CoordinatorId
    public_holiday: bool = False
    makeup_day: bool = False


class RescheduleSession(msgspec.Struct, frozen=True, kw_only=True):
    """Move a session to another date, time or venue; bookings stay."""

    session_id: SessionId
    local_date: date
    start_local: time
    end_local: time
    venue: Venue | None = None
    public_holiday: bool = False
    makeup_day: bool = False


class ChangeCapacity(msgspec.Struct, frozen=True, kw_only=True):
    """Take more or fewer residents.

    Below the current bookings the coordinator names exactly which bookings move back to the
    waitlist (`latest_bookings` proposes the most recent ones); nobody is moved silently.
    """

    session_id: SessionId
    capacity: int
    move_to_waitlist: tuple[BookingId, ...] = ()


class CancelSession(msgspec.Struct, frozen=True, kw_only=True):
    """Call a session off, saying why; residents are told and wait for another place."""

    session_id: SessionId
    reason: str


class CompleteSession(msgspec.Struct, frozen=True, kw_only=True):
    """Close a session that took place and fix its totals."""

    session_id: SessionId
    walk_ins: int = 0


def local_slot(local_date: date, start_local: time, end_local: time) -> Slot:
    """A local date and times in Asia/Ho_Chi_Minh, with the UTC instants they mean."""
    starts_at = datetime.combine(local_date, start_local, VIETNAM)
    ends_at = datetime.combine(local_date, end_local, VIETNAM)
    return Slot(
        local_date=local_date,
        start_local=start_local,
        end_local=end_local,
        starts_at=starts_at.astimezone(UTC),
        ends_at=ends_at.astimezone(UTC),
    )


def overlaps(a: Slot, b: Slot) -> bool:
    """Whether one person could not be at both."""
    return a.starts_at < b.ends_at and b.starts_at < a.ends_at


def is_weekend(day: date) -> bool:
    return day.weekday() in {SATURDAY, SUNDAY}


def evolve_session(state: SessionState | None, event: Event) -> SessionState | None:  # noqa: PLR0911
    """The session after one more of its events (a pure fold step)."""
    if state is None:
        return _scheduled(event) if isinstance(event, SessionScheduled) else None
    replace = msgspec.structs.replace
    match event:
        case SessionRescheduled():
            return replace(
                state,
                venue=event.venue,
                when=event.when,
                public_holiday=event.public_holiday,
                makeup_day=event.makeup_day,
                staffing_alerted=False,
            )
        case SessionCapacityChanged():
            return replace(state, capacity=event.capacity)
        case SessionCancelled():
            return replace(state, status=SessionStatus.CANCELLED)
        case SessionCompleted():
            return replace(state, status=SessionStatus.COMPLETED, totals=event.totals)
        case ResidentBooked():
            booking = Booking(
                booking_id=event.booking_id,
                resident=event.resident,
                topics=event.topics,
                accessibility_needs=event.accessibility_needs,
                booked_at=event.booked_at,
            )
            return replace(state, bookings=(*state.bookings, booking))
        case ResidentMovedToWaitlist() | BookingCancelled() | BookingChanged():
            return _without_booking(state, event.booking_id)
        case AttendanceRecorded():
            mark = AttendanceMark(status=event.status, outcomes=event.outcomes)
            return replace(state, attendance={**state.attendance, event.booking_id: mark})
        case StaffingAlertRaised():
            return replace(state, staffing_alerted=True)
        case _:
            return state


def require_session(state: SessionState | None, session_id: SessionId) -> SessionState:
    """The session, refusing when it does not exist."""
    if state is None:
        raise SessionNotFoundError(f"no session {session_id}")
    return state


def require_open(state: SessionState) -> None:
    """Refuse changes to a cancelled or completed session."""
    if state.status is not SessionStatus.SCHEDULED:
        raise SessionClosedError(f"session {state.session_id} is {state.status.value}")


def decide_schedule_session(
    state: SessionState | None,
    command: ScheduleSession,
    *,
    now: datetime,
    scope: Iterable[str],
    places: Mapping[str, Place] | None = None,
) -> list[Event]:
    """Check a coordinator's plan and put the session on the calendar."""
    if state is not None:
        raise SessionAlreadyScheduledError(f"session {command.session_id} already exists")
    commune = require_commune_in_scope(command.commune_code, scope)
    _check_venue(command.venue, commune.code, places)
    when = _check_slot(
        command.local_date,
        command.start_local,
        command.end_local,
        now=now,
        public_holiday=command.public_holiday,
        makeup_day=command.makeup_day,
    )
    if not command.topics:
        raise InvalidSessionError("name at least one topic", field="topics")
    if not 1 <= command.capacity <= MAX_CAPACITY:
        raise InvalidSessionError(
            f"capacity must be between 1 and {MAX_CAPACITY}", field="capacity"
        )
    if not 1 <= command.volunteers_needed <= MAX_VOLUNTEERS:
        raise InvalidSessionError(
            f"volunteers needed must be between 1 and {MAX_VOLUNTEERS}",
            field="volunteers_needed",
        )
    return [
        SessionScheduled(
            session_id=command.session_id,
            commune_code=commune.code,
            province_code=commune.province_code,
            venue=command.venue,
            when=when,
            topics=_unique(command.topics),
            capacity=command.capacity,
            volunteers_needed=command.volunteers_needed,
            languages=check_languages(command.languages),
            accessibility=_unique(command.accessibility),
            coordinator_id=command.coordinator_id,
            public_holiday=command.public_holiday,
            makeup_day=command.makeup_day,
            scheduled_at=now,
        )
    ]


def decide_reschedule_session(
    state: SessionState | None,
    command: RescheduleSession,
    *,
    now: datetime,
    scope: Iterable[str],
    places: Mapping[str, Place] | None = None,
) -> list[Event]:
    """Move a session; every booked resident is named so they can be told."""
    session = _open_in_scope(state, command.session_id, scope)
    _require_not_started(session, now)
    venue = command.venue or session.venue
    _check_venue(venue, session.commune_code, places)
    when = _check_slot(
        command.local_date,
        command.start_local,
        command.end_local,
        now=now,
        public_holiday=command.public_holiday,
        makeup_day=command.makeup_day,
    )
    if when == session.when and venue == session.venue:
        raise InvalidSessionError("the new date, time and venue are the same as now")
    return [
        SessionRescheduled(
            session_id=session.session_id,
            commune_code=session.commune_code,
            venue=venue,
            when=when,
            previous_when=session.when,
            public_holiday=command.public_holiday,
            makeup_day=command.makeup_day,
            coordinator_id=session.coordinator_id,
            affected=_affected(session),
            rescheduled_at=now,
        )
    ]


def latest_bookings(state: SessionState, capacity: int) -> tuple[BookingId, ...]:
    """The bookings that would leave if capacity dropped to this, latest booked first out."""
    excess = len(state.bookings) - max(capacity, 0)
    if excess <= 0:
        return ()
    return tuple(b.booking_id for b in state.bookings[-excess:])


def decide_change_capacity(
    state: SessionState | None,
    command: ChangeCapacity,
    *,
    now: datetime,
    scope: Iterable[str],
) -> list[Event]:
    """Change capacity; below the bookings, exactly the named bookings go back to the waitlist."""
    session = _open_in_scope(state, command.session_id, scope)
    _require_not_started(session, now)
    if not 1 <= command.capacity <= MAX_CAPACITY:
        raise InvalidSessionError(
            f"capacity must be between 1 and {MAX_CAPACITY}", field="capacity"
        )
    if command.capacity == session.capacity:
        raise InvalidSessionError(f"capacity is already {command.capacity}", field="capacity")
    excess = max(len(session.bookings) - command.capacity, 0)
    named = command.move_to_waitlist
    if len(set(named)) != len(named):
        raise CapacityBelowBookingsError("a booking is named twice")
    for booking_id in named:
        if session.booking(booking_id) is None:
            raise BookingNotFoundError(
                f"{booking_id} is not booked in this session", field="move_to_waitlist"
            )
    if len(named) != excess:
        raise CapacityBelowBookingsError(
            f"{len(session.bookings)} residents are booked: name exactly {excess} booking(s) "
            f"to move to the waitlist for a capacity of {command.capacity}, not {len(named)}"
        )
    moved: list[Event] = [
        ResidentMovedToWaitlist(
            session_id=session.session_id,
            booking_id=booking.booking_id,
            resident=booking.resident,
            venue=session.venue,
            when=session.when,
            reason="capacity reduced",
            moved_at=now,
        )
        for booking in session.bookings
        if booking.booking_id in named
    ]
    changed = SessionCapacityChanged(
        session_id=session.session_id,
        capacity=command.capacity,
        previous_capacity=session.capacity,
        moved_booking_ids=tuple(named),
        changed_at=now,
    )
    return [changed, *moved]


def decide_cancel_session(
    state: SessionState | None,
    command: CancelSession,
    *,
    now: datetime,
    scope: Iterable[str],
) -> list[Event]:
    """Cancel with a reason that residents and volunteers will read."""
    session = _open_in_scope(state, command.session_id, scope)
    reason = command.reason.strip()
    if not reason:
        raise InvalidSessionError("say why the session is cancelled", field="reason")
    if len(reason) > CANCEL_REASON_MAX:
        raise InvalidSessionError(
            f"say why in at most {CANCEL_REASON_MAX} characters: residents read it by SMS",
            field="reason",
        )
    if now >= session.when.ends_at:
        raise SessionClosedError("the session is already over; complete it instead")
    return [
        SessionCancelled(
            session_id=session.session_id,
            commune_code=session.commune_code,
            venue=session.venue,
            when=session.when,
            reason=reason,
            coordinator_id=session.coordinator_id,
            affected=_affected(session),
            cancelled_at=now,
        )
    ]


def decide_complete_session(
    state: SessionState | None,
    command: CompleteSession,
    *,
    now: datetime,
    scope: Iterable[str],
) -> list[Event]:
    """Close a session once it has started, counting attendance and outcomes."""
    session = _open_in_scope(state, command.session_id, scope)
    if now < session.when.starts_at:
        raise InvalidSessionError(
            "a session can be completed only once it has started", field="session_id"
        )
    if command.walk_ins < 0:
        raise InvalidSessionError("walk-ins cannot be negative", field="walk_ins")
    return [
        SessionCompleted(
            session_id=session.session_id,
            commune_code=session.commune_code,
            local_date=session.when.local_date,
            totals=session_totals(session, walk_ins=command.walk_ins),
            completed_at=now,
        )
    ]


def session_totals(session: SessionState, *, walk_ins: int = 0) -> SessionTotals:
    """Who came and what got done, from the latest mark of each live booking."""
    marks = [session.attendance.get(b.booking_id) for b in session.bookings]
    present = {AttendanceStatus.ATTENDED, AttendanceStatus.CHECKED_IN}
    counts: dict[Outcome, int] = {}
    for mark in marks:
        if mark is not None and mark.status in present:
            for outcome in mark.outcomes:
                counts[outcome] = counts.get(outcome, 0) + 1
    return SessionTotals(
        booked=len(session.bookings),
        attended=sum(1 for m in marks if m is not None and m.status in present),
        no_show=sum(1 for m in marks if m is not None and m.status is AttendanceStatus.NO_SHOW),
        unrecorded=sum(1 for m in marks if m is None),
        walk_ins=walk_ins,
        outcomes=tuple(OutcomeCount(outcome=o, count=counts[o]) for o in Outcome if o in counts),
    )


def check_languages(languages: Iterable[Language]) -> tuple[Language, ...]:
    """The languages offered, each once, at least one."""
    offered = _unique(languages)
    if not offered:
        raise InvalidSessionError("offer at least one language", field="languages")
    return offered


def check_slot(
    local_date: date,
    start_local: time,
    end_local: time,
    *,
    now: datetime,
    public_holiday: bool = False,
    makeup_day: bool = False,
    weekend_only: bool = True,
) -> Slot:
    """A future slot that ends after it starts, on a weekend unless flagged holiday or makeup."""
    return _check_slot(
        local_date,
        start_local,
        end_local,
        now=now,
        public_holiday=public_holiday,
        makeup_day=makeup_day,
        weekend_only=weekend_only,
    )


def _check_slot(
    local_date: date,
    start_local: time,
    end_local: time,
    *,
    now: datetime,
    public_holiday: bool,
    makeup_day: bool,
    weekend_only: bool = True,
) -> Slot:
    if start_local.tzinfo is not None or end_local.tzinfo is not None:
        raise InvalidSessionError("give local times without a zone", field="start_local")
    if end_local <= start_local:
        raise InvalidSessionError("the session must end after it starts", field="end_local")
    if weekend_only and not is_weekend(local_date) and not (public_holiday or makeup_day):
        day = local_date.strftime("%A")
        raise NotAWeekendError(
            f"{local_date.isoformat()} is a {day}: sessions are on Saturday or Sunday unless "
            "marked public holiday or makeup day"
        )
    when = local_slot(local_date, start_local, end_local)
    if when.starts_at <= now:
        raise SessionInPastError(f"{local_date.isoformat()} {start_local} has already begun")
    return when


def _check_venue(venue: Venue, commune: CommuneCode, places: Mapping[str, Place] | None) -> None:
    if not venue.name.strip():
        raise InvalidSessionError("name the venue", field="venue.name")
    if not venue.address.strip():
        raise InvalidSessionError("give the venue's address", field="venue.address")
    if venue.village_code is not None and places is not None:
        place = places.get(venue.village_code)
        if place is None or place.commune_code != commune:
            raise InvalidSessionError(
                f"village {venue.village_code} is not in commune {commune}",
                field="venue.village_code",
            )


def _open_in_scope(
    state: SessionState | None, session_id: SessionId, scope: Iterable[str]
) -> SessionState:
    session = require_session(state, session_id)
    require_commune_in_scope(session.commune_code, scope)
    require_open(session)
    return session


def _require_not_started(session: SessionState, now: datetime) -> None:
    if now >= session.when.starts_at:
        raise SessionInPastError("the session has already started", field="session_id")


def _affected(session: SessionState) -> tuple[AffectedBooking, ...]:
    return tuple(
        AffectedBooking(booking_id=b.booking_id, resident=b.resident) for b in session.bookings
    )


def _without_booking(state: SessionState, booking_id: BookingId) -> SessionState:
    attendance = {k: v for k, v in state.attendance.items() if k != booking_id}
    bookings = tuple(b for b in state.bookings if b.booking_id != booking_id)
    return msgspec.structs.replace(state, bookings=bookings, attendance=attendance)


def _scheduled(event: SessionScheduled) -> SessionState:
    return SessionState(
        session_id=event.session_id,
        status=SessionStatus.SCHEDULED,
        commune_code=event.commune_code,
        province_code=event.province_code,
        venue=event.venue,
        when=event.when,
        topics=event.topics,
        capacity=event.capacity,
        volunteers_needed=event.volunteers_needed,
        languages=event.languages,
        accessibility=event.accessibility,
        coordinator_id=event.coordinator_id,
        public_holiday=event.public_holiday,
        makeup_day=event.makeup_day,
    )


def _unique(items: Iterable[T]) -> tuple[T, ...]:
    return tuple(dict.fromkeys(items))
