"""Where the scheduler's commands run: load the streams, let the domain decide, append.

Called by the HTTP API, the consumers and the timers, always inside one open transaction
(`tx`), so the events, the read models they project into and the timers they set commit
together. Automatic follow-ups happen in the same transaction: a freed place goes to the
waitlist, a new session fills from it, a request is booked into the best session at once.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import msgspec

from services.scheduler.domain.attendance import RecordAttendance, decide_record_attendance
from services.scheduler.domain.booking import (
    CancelBooking,
    ChangeBooking,
    choose_session,
    decide_book_resident,
    decide_cancel_booking,
    decide_change_booking,
    decide_fill_from_waitlist,
    rank_session,
)
from services.scheduler.domain.errors import (
    BookingNotFoundError,
    HelpRequestRejectedError,
    HomeVisitError,
    SessionNotFoundError,
)
from services.scheduler.domain.phones import normalize_phone
from services.scheduler.domain.places import (
    Place,
    RejectedRow,
    find_commune,
    parse_places_csv,
    require_commune_in_scope,
)
from services.scheduler.domain.requests import (
    HelpRequestState,
    RequestHelp,
    RequestStatus,
    decide_request_help,
    decide_waitlist_request,
    evolve_request,
)
from services.scheduler.domain.sessions import (
    CancelSession,
    ChangeCapacity,
    CompleteSession,
    RescheduleSession,
    ScheduleSession,
    SessionState,
    SessionStatus,
    decide_cancel_session,
    decide_change_capacity,
    decide_complete_session,
    decide_reschedule_session,
    decide_schedule_session,
    evolve_session,
)
from services.scheduler.domain.sms import refusal_reasons, request_from_sms
from services.scheduler.domain.staffing import (
    ALERT_BEFORE_START,
    decide_raise_staffing_alert,
    staffing_report,
)
from services.scheduler.domain.visits import (
    CancelHomeVisit,
    CompleteHomeVisit,
    HomeVisitState,
    ScheduleHomeVisit,
    decide_cancel_home_visit,
    decide_complete_home_visit,
    decide_request_home_visit,
    decide_schedule_home_visit,
    evolve_visit,
)
from services.scheduler.memory import FoldedSession, memory_of
from services.scheduler.tables import timers
from services.scheduler.views import projection, queries
from shared.events.base import Cause, Event
from shared.events.fold import fold
from shared.events.notifications import HelpRequestedBySms
from shared.events.scheduler import (
    Actor,
    BookingId,
    HelpRequestId,
    HelpRequestRefused,
    HomeVisitStaffingChanged,
    ImportedPlace,
    PlacesImported,
    ResidentBooked,
    ResidentMovedToWaitlist,
    SessionCancelled,
    SessionId,
    SessionStaffingChanged,
    Slot,
    VisitId,
)
from shared.events.volunteers import SessionStaffed, SessionUnderstaffed
from shared.ids import derived_id, uuid7
from shared.store.eventstore import ConcurrencyError, EventStore, StreamAppend, Transaction
from shared.store.timers import Timer, cancel_timer, set_timer

log = logging.getLogger("handinhand.scheduler")

PLACES_STREAM = "places"
PLACES_PER_EVENT = 500  # keeps each places.imported event well under the bus's message size
SAMPLE_PLACES = Path(__file__).with_name("places_sample.csv")
STAFFING_ALERT = "staffing_alert"
# A session planned less than 48 hours ahead is checked this long after it is scheduled, so
# the volunteers service has a chance to staff it first.
ALERT_GRACE = timedelta(minutes=30)
# Placing a request meets a concurrent writer of the chosen session at most this often before
# the conflict is reported (409); a chosen session that filled meanwhile is not a conflict.
PLACING_ATTEMPTS = 5
# A bound on choosing again because the chosen session filled while we waited for it.
PLACING_CHOICES = 50


# Streams ------------------------------------------------------------------------------------


@dataclass
class SessionStream:
    """A session stream as read in this transaction, kept current as events are appended.

    `current`: folded up to the stream's version as this transaction last read it (and, on
    PostgreSQL, read after taking the session's lock), not just as this process remembered it.
    """

    session_id: SessionId
    state: SessionState | None
    version: int
    staffing: SessionStaffingChanged | None = None
    locked: bool = False
    current: bool = False

    @property
    def staffed(self) -> bool:
        return self.staffing is not None and self.staffing.staffed

    def require(self) -> SessionState:
        if self.state is None:
            raise SessionNotFoundError(f"no session {self.session_id}")
        return self.state

    async def lock(self, tx: Transaction) -> None:
        """Take the session's turn to write (PostgreSQL; see `queries.lock_session`): writers
        lock before they append, so two never wait on each other's half-done append."""
        if not self.locked:
            self.locked = True
            if await queries.lock_session(tx.conn, self.session_id):
                self.current = False  # another writer may have committed while we waited

    async def catch_up(self, tx: Transaction) -> int:
        """Fold the events appended since the version we hold; how many there were."""
        stream = await tx.load(self.session_id, after=self.version)
        for recorded in stream.events:
            self._fold(recorded.event)
        self.version = stream.version
        self.current = True
        if not tx.appended:  # else it may hold this transaction's own, uncommitted events
            memory_of(tx.store).sessions.keep(
                self.session_id, FoldedSession(self.version, self.state, self.staffing)
            )
        return len(stream.events)

    async def append(
        self,
        tx: Transaction,
        events: Sequence[Event],
        cause: Cause,
        *,
        filing: StreamAppend | None = None,
    ) -> None:
        """Append after the version we hold; with `filing`, a new request's own events go in
        the same append (one INSERT, the request's row written once: `project_filing`)."""
        if not events:
            return
        await self.lock(tx)
        if filing is None:
            await tx.append(self.session_id, self.version, events, cause)
        else:
            await tx.append_many(
                [filing, StreamAppend(self.session_id, self.version, events, cause)],
                projector=projection.project_filing,
            )
        self.apply(events)

    def apply(self, events: Sequence[Event]) -> None:
        """Fold events appended after the version held (or to be, in this transaction)."""
        self.version += len(events)
        for event in events:
            self._fold(event)

    def _fold(self, event: Event) -> None:
        self.state = evolve_session(self.state, event)
        if isinstance(event, SessionStaffingChanged):
            self.staffing = event


def remembered_session(tx: Transaction, session_id: str) -> SessionStream:
    """The session as this process last saw it committed (perhaps out of date), or empty."""
    folded = memory_of(tx.store).sessions.recall(session_id)
    if folded is None:
        return SessionStream(SessionId(session_id), None, 0)
    return SessionStream(SessionId(session_id), folded.state, folded.version, folded.staffing)


async def load_session(tx: Transaction, session_id: str) -> SessionStream:
    """The session, locked for this transaction's writes, with every event folded (the newer
    ones onto what this process remembers)."""
    stream = remembered_session(tx, session_id)
    await stream.lock(tx)
    await stream.catch_up(tx)
    return stream


def new_booking_id() -> BookingId:
    return BookingId(f"booking-{uuid7()}")


def visit_id_for(request_id: HelpRequestId) -> VisitId:
    """A home visit shares the uuid of the request it came from."""
    return VisitId(f"visit-{request_id.removeprefix('request-')}")


# Places -------------------------------------------------------------------------------------


class PlacesReport(msgspec.Struct, frozen=True, kw_only=True):
    """What a places import did: all rows imported, or none and every bad row explained."""

    imported: int
    communes: tuple[str, ...] = ()
    rejected: tuple[RejectedRow, ...] = ()


async def import_places(
    tx: Transaction, text: str, *, imported_by: str, now: datetime, cause: Cause
) -> PlacesReport:
    """Import villages and hamlets from `code,name,kind,parent` CSV, all or nothing."""
    parsed = parse_places_csv(text, existing_codes=await queries.place_codes(tx.conn))
    if parsed.rejected or not parsed.places:
        return PlacesReport(imported=0, rejected=parsed.rejected)
    memory_of(tx.store).villages.importing()
    imported = [
        ImportedPlace(code=p.code, name=p.name, kind=p.kind.value, commune_code=p.commune_code)
        for p in parsed.places
    ]
    events = [
        PlacesImported(
            places=tuple(imported[i : i + PLACES_PER_EVENT]),
            imported_by=imported_by,
            imported_at=now,
        )
        for i in range(0, len(imported), PLACES_PER_EVENT)
    ]
    await tx.append(PLACES_STREAM, await tx.version_of(PLACES_STREAM), events, cause)
    return PlacesReport(
        imported=len(imported), communes=tuple(sorted({p.commune_code for p in imported}))
    )


async def import_places_csv(
    store: EventStore, text: str, *, imported_by: str = "import", cause: Cause | None = None
) -> PlacesReport:
    """The one command that loads a province's villages: import a CSV text, all or nothing."""
    async with store.transaction() as tx:
        return await import_places(
            tx,
            text,
            imported_by=imported_by,
            now=store.clock.now(),
            cause=cause or Cause(correlation_id=uuid7()),
        )


async def load_sample_places(store: EventStore) -> PlacesReport:
    """Load the demo's sample villages (places_sample.csv); loading again adds nothing."""
    text = SAMPLE_PLACES.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    async with store.transaction() as tx:
        existing = await queries.place_codes(tx.conn)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(rows[0])
        writer.writerows(r for r in rows[1:] if r and r[0].strip() not in existing)
        return await import_places(
            tx,
            out.getvalue(),
            imported_by="sample",
            now=store.clock.now(),
            cause=Cause(correlation_id=uuid7(), id_seed="places-sample"),
        )


# Sessions -----------------------------------------------------------------------------------


async def commune_villages(
    tx: Transaction, commune_code: str, now: datetime
) -> dict[str, Place] | None:
    """The commune's imported villages, or None when none were imported (any code goes)."""
    commune = find_commune(commune_code)
    if commune is None:
        return None
    memory = memory_of(tx.store).villages
    found = memory.recall(commune.code, now)
    if found is None:
        found = await queries.villages_of(tx.conn, commune.code)
        memory.keep(commune.code, found, now)
    return dict(found) or None


def alert_timer_id(session_id: str) -> str:
    return f"staffing-alert:{session_id}"


async def _arm_staffing_alert(tx: Transaction, session: SessionState, now: datetime) -> None:
    """Check staffing 48 hours before the start (or soon, for a session planned late)."""
    starts_at = session.when.starts_at
    due = max(starts_at - ALERT_BEFORE_START, now + ALERT_GRACE)
    if due >= starts_at:
        await cancel_timer(tx, timers, alert_timer_id(session.session_id))
        return
    await set_timer(
        tx,
        timers,
        alert_timer_id(session.session_id),
        STAFFING_ALERT,
        due,
        {"session_id": session.session_id},
    )


async def schedule_session(
    tx: Transaction, command: ScheduleSession, *, scope: Iterable[str], now: datetime, cause: Cause
) -> SessionStream:
    """Put a session on the calendar, arm its staffing check and fill it from the waitlist."""
    stream = await load_session(tx, command.session_id)
    events = decide_schedule_session(
        stream.state,
        command,
        now=now,
        scope=scope,
        places=await commune_villages(tx, command.commune_code, now),
    )
    await stream.append(tx, events, cause)
    session = stream.require()
    await _arm_staffing_alert(tx, session, now)
    await fill_from_waitlist(tx, stream, now=now, cause=cause)
    return stream


async def reschedule_session(
    tx: Transaction,
    command: RescheduleSession,
    *,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> SessionStream:
    """Move a session; its staffing check moves with it."""
    stream = await load_session(tx, command.session_id)
    places = await commune_villages(tx, stream.state.commune_code, now) if stream.state else None
    events = decide_reschedule_session(
        stream.state,
        command,
        now=now,
        scope=scope,
        places=places,
    )
    await stream.append(tx, events, cause)
    await _arm_staffing_alert(tx, stream.require(), now)
    return stream


async def change_capacity(
    tx: Transaction, command: ChangeCapacity, *, scope: Iterable[str], now: datetime, cause: Cause
) -> SessionStream:
    """Change capacity: more places fill from the waitlist, named bookings move back to it (and
    are placed in another session when one fits)."""
    stream = await load_session(tx, command.session_id)
    events = decide_change_capacity(stream.state, command, now=now, scope=scope)
    await stream.append(tx, events, cause)
    for event in events:
        if isinstance(event, ResidentMovedToWaitlist):
            await _place_again(tx, event.resident.request_id, now=now, cause=cause)
    await fill_from_waitlist(tx, stream, now=now, cause=cause)
    return stream


async def cancel_session(
    tx: Transaction, command: CancelSession, *, scope: Iterable[str], now: datetime, cause: Cause
) -> SessionStream:
    """Cancel a session; its residents wait again and are placed elsewhere when a session fits."""
    stream = await load_session(tx, command.session_id)
    events = decide_cancel_session(stream.state, command, now=now, scope=scope)
    await stream.append(tx, events, cause)
    await cancel_timer(tx, timers, alert_timer_id(command.session_id))
    for event in events:
        if isinstance(event, SessionCancelled):
            for affected in event.affected:
                await _place_again(tx, affected.resident.request_id, now=now, cause=cause)
    return stream


async def complete_session(
    tx: Transaction,
    command: CompleteSession,
    *,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> SessionStream:
    stream = await load_session(tx, command.session_id)
    events = decide_complete_session(stream.state, command, now=now, scope=scope)
    await stream.append(tx, events, cause)
    await cancel_timer(tx, timers, alert_timer_id(command.session_id))
    return stream


async def record_attendance(
    tx: Transaction,
    command: RecordAttendance,
    *,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> SessionStream:
    stream = await load_session(tx, command.session_id)
    events = decide_record_attendance(stream.require(), command, now=now, scope=scope)
    await stream.append(tx, events, cause)
    return stream


# Help requests and bookings -----------------------------------------------------------------


class RequestOutcome(NamedTuple):
    """Where a help request ended up: booked (with the booking), waiting, or a home visit."""

    request: HelpRequestState
    booked: ResidentBooked | None = None


async def fill_from_waitlist(
    tx: Transaction, stream: SessionStream, *, now: datetime, cause: Cause
) -> None:
    """Give every free place of the session to the waitlist, first come first served."""
    session = stream.state
    if (
        session is None
        or session.status is not SessionStatus.SCHEDULED
        or session.free_places <= 0
        or session.when.starts_at <= now
    ):
        return
    waiting = await queries.waitlist(tx.conn, session.province_code, session.commune_code)
    if not waiting:
        return
    booked = await queries.booked_slots(
        tx.conn, [r.phone for r in waiting], except_session=session.session_id
    )
    events = decide_fill_from_waitlist(
        session, waiting, booking_id_for=lambda _request: new_booking_id(), now=now, booked=booked
    )
    await stream.append(tx, events, cause)


class _FilledMeanwhileError(Exception):
    """The chosen session changed while we waited for it, and no longer fits the request."""


@asynccontextmanager
async def _undoable(tx: Transaction) -> AsyncIterator[None]:
    """One attempt at booking, undone as a whole when it fails. PostgreSQL needs a savepoint:
    a failed statement aborts the whole transaction, and rolling back to the savepoint also
    releases the lock of a session that no longer fits. SQLite undoes only a failed statement
    (and its writers take turns: the session cannot change under us)."""
    if tx.conn.dialect.name != "postgresql":
        yield
        return
    async with tx.conn.begin_nested():
        yield


async def place_request(
    tx: Transaction,
    request: HelpRequestState,
    *,
    now: datetime,
    cause: Cause,
    filing: StreamAppend | None = None,
) -> ResidentBooked | None:
    """Book a request into the best upcoming session that fits, or return None.

    The best is found by `_best_session`; it is then locked (its turn to write), brought up
    to date and checked again before the booking is appended. When it filled meanwhile the
    choice is made again; when the append still meets a concurrent writer, too, up to
    PLACING_ATTEMPTS times, after which the conflict is reported. `filing` (a new request's
    own events) is appended with the booking, and not at all when nothing fits."""
    booked = (await queries.booked_slots(tx.conn, [request.phone])).get(request.phone, [])
    read: dict[str, SessionStream] = {}
    conflicts = 0
    for _ in range(PLACING_CHOICES):
        stream = await _best_session(tx, request, now=now, booked=booked, read=read)
        if stream is None:
            return None
        try:
            async with _undoable(tx):
                return await _book(
                    tx, stream, request, now=now, booked=booked, cause=cause, filing=filing
                )
        except _FilledMeanwhileError:
            stream.locked = False  # the savepoint's rollback released the lock
            continue
        except ConcurrencyError:
            conflicts += 1
            if conflicts == PLACING_ATTEMPTS or (
                filing is not None
                and await tx.version_of(filing.stream_id) != filing.expected_version
            ):
                raise  # (or the request itself was filed meanwhile: a retry with its key)
            read.pop(stream.session_id, None)
            log.info("placing %s met a concurrent booking; choosing again", request.request_id)
    raise ConcurrencyError(request.request_id, 0, None)


async def _book(
    tx: Transaction,
    stream: SessionStream,
    request: HelpRequestState,
    *,
    now: datetime,
    booked: Sequence[Slot],
    cause: Cause,
    filing: StreamAppend | None,
) -> ResidentBooked:
    """Book into the chosen session once it is our turn and we see it as it is now."""
    await stream.lock(tx)
    if (
        not stream.current
        and await stream.catch_up(tx)
        and not fits_stream(stream, request, now=now, booked=booked)
    ):
        raise _FilledMeanwhileError
    events = decide_book_resident(
        stream.require(),
        request,
        booking_id=new_booking_id(),
        now=now,
        booked=booked,
        from_waitlist=request.status is RequestStatus.WAITING,
    )
    await stream.append(tx, events, cause, filing=filing)
    return next(e for e in events if isinstance(e, ResidentBooked))


async def _best_session(
    tx: Transaction,
    request: HelpRequestState,
    *,
    now: datetime,
    booked: Sequence[Slot],
    read: dict[str, SessionStream],
) -> SessionStream | None:
    """The best session that fits, as far as we can tell without waiting for another writer.

    The shortlist is ranked from the read model (kept in step with the streams in the append
    transactions), so sessions are looked at best first and only until one fits: the first that
    fits is the one `choose_session` would pick among all of them. A session this process
    remembers is looked at as remembered when it fits (the caller brings it up to date before
    booking), else brought up to date first. `read` keeps what this placement has read."""
    shortlist = await queries.candidate_sessions(
        tx.conn, request.province_code, request.commune_code, request.topics, now
    )
    for outline in sorted(shortlist, key=lambda o: rank_session(o, request)):
        stream = read.get(outline.session_id) or remembered_session(tx, outline.session_id)
        read[outline.session_id] = stream
        if fits_stream(stream, request, now=now, booked=booked):
            return stream
        if (
            not stream.current
            and await stream.catch_up(tx)
            and fits_stream(stream, request, now=now, booked=booked)
        ):
            return stream
    return None


def fits_stream(
    stream: SessionStream, request: HelpRequestState, *, now: datetime, booked: Sequence[Slot]
) -> bool:
    return (
        stream.state is not None
        and choose_session(request, [stream.state], now=now, booked=booked) is not None
    )


async def _place_again(
    tx: Transaction, request_id: HelpRequestId, *, now: datetime, cause: Cause
) -> None:
    row = await queries.request_row(tx.conn, request_id)
    if row is not None and row.status == RequestStatus.WAITING.value:
        await place_request(tx, queries.request_state(row), now=now, cause=cause)


async def request_help(
    tx: Transaction, command: RequestHelp, *, now: datetime, cause: Cause
) -> RequestOutcome:
    """File a help request and place it at once: a booking, a home visit, or the waitlist."""
    events = decide_request_help(
        command,
        now=now,
        places=await commune_villages(tx, command.commune_code, now),
    )
    request = fold_request(None, events)
    # The request's own events are appended once, together with where it was placed. A new
    # stream: an id already taken still fails on the unique (stream, version) constraint.
    tx.know_version(command.request_id, 0)
    filing = StreamAppend(command.request_id, 0, events, cause)
    if request.home_visit:
        visit_id = visit_id_for(request.request_id)
        visit = decide_request_home_visit(request, visit_id=visit_id, now=now)
        tx.know_version(visit_id, 0)  # the visit of a new request is new too
        await tx.append_many(
            [filing, StreamAppend(visit_id, 0, visit, cause)], projector=projection.project_filing
        )
        return RequestOutcome(fold_request(request, visit))
    booked = await place_request(tx, request, now=now, cause=cause, filing=filing)
    if booked is not None:
        return RequestOutcome(fold_request(request, [booked]), booked)
    waited = decide_waitlist_request(request, now=now)
    await tx.append_many(
        [filing._replace(events=[*events, *waited])], projector=projection.project_filing
    )
    return RequestOutcome(fold_request(request, waited))


def fold_request(state: HelpRequestState | None, events: Iterable[Event]) -> HelpRequestState:
    state = fold(evolve_request, events, state)
    assert state is not None
    return state


async def _booking_stream(
    tx: Transaction, booking_id: str, phone: str | None, scope: Iterable[str] | None
) -> SessionStream:
    """The session holding a booking, if the caller may touch it: the resident proves it with
    their phone number, staff with their commune scope."""
    row = await queries.booking_row(tx.conn, booking_id)
    if row is None:
        raise BookingNotFoundError(f"no booking {booking_id}")
    stream = await load_session(tx, row.session_id)
    session = stream.require()
    if scope is not None:
        require_commune_in_scope(session.commune_code, scope)
    else:
        booking = session.booking(BookingId(booking_id))
        if phone is None or booking is None or booking.resident.phone != normalize_phone(phone):
            raise BookingNotFoundError(f"no booking {booking_id} for this phone number")
    return stream


async def cancel_booking(
    tx: Transaction,
    booking_id: str,
    *,
    actor: Actor,
    reason: str,
    phone: str | None,
    scope: Iterable[str] | None,
    now: datetime,
    cause: Cause,
) -> SessionStream:
    """Give up a booking; the freed place goes to the waitlist in the same transaction."""
    stream = await _booking_stream(tx, booking_id, phone, scope)
    command = CancelBooking(
        session_id=stream.session_id,
        booking_id=BookingId(booking_id),
        cancelled_by=actor,
        reason=reason,
    )
    events = decide_cancel_booking(stream.require(), command, now=now)
    await stream.append(tx, events, cause)
    await fill_from_waitlist(tx, stream, now=now, cause=cause)
    return stream


async def change_booking(
    tx: Transaction,
    booking_id: str,
    new_session_id: str,
    *,
    actor: Actor,
    phone: str | None,
    scope: Iterable[str] | None,
    now: datetime,
    cause: Cause,
) -> ResidentBooked:
    """Move a booking to another session; the old place goes to the waitlist."""
    old = await _booking_stream(tx, booking_id, phone, scope)
    new = await load_session(tx, new_session_id)
    old_session = old.require()
    booking = old_session.booking(BookingId(booking_id))
    assert booking is not None
    booked = await queries.booked_slots(
        tx.conn, [booking.resident.phone], except_session=old_session.session_id
    )
    change = decide_change_booking(
        old_session,
        new.require(),
        ChangeBooking(
            session_id=old.session_id,
            booking_id=BookingId(booking_id),
            new_session_id=SessionId(new_session_id),
            changed_by=actor,
        ),
        new_booking_id=new_booking_id(),
        now=now,
        booked=booked.get(booking.resident.phone, []),
    )
    await new.append(tx, change.new_session, cause)
    await old.append(tx, change.old_session, cause)
    await fill_from_waitlist(tx, old, now=now, cause=cause)
    return next(e for e in change.new_session if isinstance(e, ResidentBooked))


# Home visits --------------------------------------------------------------------------------


@dataclass
class VisitStream:
    visit_id: VisitId
    state: HomeVisitState | None
    version: int

    def require(self) -> HomeVisitState:
        if self.state is None:
            raise HomeVisitError(f"no home visit {self.visit_id}")
        return self.state

    async def append(self, tx: Transaction, events: Sequence[Event], cause: Cause) -> None:
        await tx.append(self.visit_id, self.version, events, cause)
        self.version += len(events)
        self.state = fold(evolve_visit, events, self.state)


async def load_visit(tx: Transaction, visit_id: str) -> VisitStream:
    stream = await tx.load(visit_id)
    state = fold(evolve_visit, (recorded.event for recorded in stream.events))
    return VisitStream(VisitId(visit_id), state, stream.version)


async def schedule_home_visit(
    tx: Transaction,
    command: ScheduleHomeVisit,
    *,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> VisitStream:
    stream = await load_visit(tx, command.visit_id)
    require_commune_in_scope(stream.require().commune_code, scope)
    await stream.append(tx, decide_schedule_home_visit(stream.require(), command, now=now), cause)
    return stream


async def cancel_home_visit(
    tx: Transaction,
    command: CancelHomeVisit,
    *,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> VisitStream:
    stream = await load_visit(tx, command.visit_id)
    require_commune_in_scope(stream.require().commune_code, scope)
    await stream.append(tx, decide_cancel_home_visit(stream.require(), command, now=now), cause)
    return stream


async def complete_home_visit(
    tx: Transaction,
    command: CompleteHomeVisit,
    *,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> VisitStream:
    stream = await load_visit(tx, command.visit_id)
    require_commune_in_scope(stream.require().commune_code, scope)
    await stream.append(tx, decide_complete_home_visit(stream.require(), command, now=now), cause)
    return stream


# What other services said -------------------------------------------------------------------


async def record_staffing(
    tx: Transaction, event: SessionStaffed | SessionUnderstaffed, *, now: datetime, cause: Cause
) -> None:
    """Note on the session (or visit) what the volunteers service said about its staffing.

    A session that becomes understaffed inside the last 48 hours alerts its coordinator at once.
    """
    report = staffing_report(event)
    staffed = report.staffed
    if report.home_visit:
        visit = await load_visit(tx, report.slot_stream)
        if visit.state is None:
            log.info("staffing of unknown home visit %s ignored", report.slot_stream)
            return
        await visit.append(
            tx,
            [
                HomeVisitStaffingChanged(
                    visit_id=visit.visit_id,
                    staffed=staffed,
                    volunteer_ids=report.volunteer_ids,
                    missing_count=report.missing_count,
                    reported_at=report.reported_at,
                    changed_at=now,
                )
            ],
            cause,
        )
        return
    stream = await load_session(tx, report.slot_stream)
    if stream.state is None:
        log.info("staffing of unknown session %s ignored", report.slot_stream)
        return
    changed = SessionStaffingChanged(
        session_id=stream.session_id,
        staffed=staffed,
        volunteer_ids=report.volunteer_ids,
        missing_count=report.missing_count,
        missing_skills=report.missing_skills,
        missing_languages=report.missing_languages,
        reported_at=report.reported_at,
        changed_at=now,
    )
    await stream.append(tx, [changed], cause)
    if not staffed:
        alert = decide_raise_staffing_alert(stream.require(), staffed=False, now=now)
        await stream.append(tx, alert, cause)


async def raise_staffing_alert(tx: Transaction, timer: Timer, *, now: datetime) -> None:
    """The 48-hour check: alert the coordinator if the session is still not staffed."""
    stream = await load_session(tx, str(timer.payload["session_id"]))
    if stream.state is None:
        return
    events = decide_raise_staffing_alert(stream.state, staffed=stream.staffed, now=now)
    cause = Cause(correlation_id=uuid7(), id_seed=f"timer:{timer.id}:{timer.due_at.isoformat()}")
    await stream.append(tx, events, cause)


async def request_help_by_sms(
    tx: Transaction, event: HelpRequestedBySms, *, now: datetime, cause: Cause
) -> RequestOutcome | None:
    """Turn an SMS into a help request and place it; refuse it (an event the notifications
    service can answer) when the commune cannot be told or the number is wrong."""
    request_id = HelpRequestId(f"request-{derived_id('sms', event.inbound_id)}")
    if await tx.version_of(request_id) > 0:
        return None
    try:
        return await request_help(tx, request_from_sms(event, request_id), now=now, cause=cause)
    except HelpRequestRejectedError as error:
        reasons = refusal_reasons(error.problems, event)
        log.info("help by SMS %s refused: %s", event.inbound_id, [r.code for r in reasons])
        refused = HelpRequestRefused(
            request_id=request_id,
            inbound_id=event.inbound_id,
            resident_phone=event.resident_phone,
            reasons=reasons,
            refused_at=now,
        )
        await tx.append(request_id, 0, [refused], cause)
        return None
