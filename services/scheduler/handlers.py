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
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple, TypeVar

import msgspec

from services.scheduler.domain.attendance import RecordAttendance, decide_record_attendance
from services.scheduler.domain.booking import (
    CancelBooking,
    ChangeBooking,
    SessionOutline,
    choose_session,
    decide_book_resident,
    decide_cancel_booking,
    decide_change_booking,
    next_from_waitlist,
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
from services.scheduler.memory import FoldedSession, Memory
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

T = TypeVar("T")

PLACES_STREAM = "places"
PLACES_PER_EVENT = 500  # keeps each places.imported event well under the bus's message size
SAMPLE_PLACES = Path(__file__).with_name("places_sample.csv")
STAFFING_ALERT = "staffing_alert"
# A session planned less than 48 hours ahead is checked this long after it is scheduled, so
# the volunteers service has a chance to staff it first.
ALERT_GRACE = timedelta(minutes=30)
# Placing a request meets a concurrent writer of the chosen session at most this often before
# the conflict is reported (409).
PLACING_ATTEMPTS = 5
# The shortlist of sessions read for a request (longer by the sessions a batch filled).
SHORTLIST = 20


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

    async def catch_up(self, tx: Transaction, *, memory: Memory) -> int:
        """Fold the events appended since the version we hold; how many there were (and
        remember the stream as committed, when it is)."""
        stream = await tx.load(self.session_id, after=self.version)
        for recorded in stream.events:
            self._fold(recorded.event)
        self.version = stream.version
        self.current = True
        if not tx.appended:  # else it may hold this transaction's own, uncommitted events
            memory.sessions.keep(
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


def remembered_session(memory: Memory, session_id: str) -> SessionStream:
    """The session as this process last saw it committed (perhaps out of date), or empty."""
    folded = memory.sessions.recall(session_id)
    if folded is None:
        return SessionStream(SessionId(session_id), None, 0)
    return SessionStream(SessionId(session_id), folded.state, folded.version, folded.staffing)


async def load_session(tx: Transaction, session_id: str, *, memory: Memory) -> SessionStream:
    """The session, locked for this transaction's writes, with every event folded (the newer
    ones onto what this process remembers)."""
    stream = remembered_session(memory, session_id)
    await stream.lock(tx)
    await stream.catch_up(tx, memory=memory)
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
    tx: Transaction, text: str, *, memory: Memory, imported_by: str, now: datetime, cause: Cause
) -> PlacesReport:
    """Import villages and hamlets from `code,name,kind,parent` CSV, all or nothing."""
    parsed = parse_places_csv(text, existing_codes=await queries.place_codes(tx.conn))
    if parsed.rejected or not parsed.places:
        return PlacesReport(imported=0, rejected=parsed.rejected)
    memory.villages.importing()
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
    store: EventStore,
    text: str,
    *,
    memory: Memory,
    imported_by: str = "import",
    cause: Cause | None = None,
) -> PlacesReport:
    """The one command that loads a province's villages: import a CSV text, all or nothing."""
    async with store.transaction() as tx:
        report = await import_places(
            tx,
            text,
            memory=memory,
            imported_by=imported_by,
            now=store.clock.now(),
            cause=cause or Cause(correlation_id=uuid7()),
        )
    memory.villages.after_commit()
    return report


async def load_sample_places(store: EventStore, *, memory: Memory) -> PlacesReport:
    """Load the demo's sample villages (places_sample.csv); loading again adds nothing."""
    text = SAMPLE_PLACES.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    async with store.transaction() as tx:
        existing = await queries.place_codes(tx.conn)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(rows[0])
        writer.writerows(r for r in rows[1:] if r and r[0].strip() not in existing)
        report = await import_places(
            tx,
            out.getvalue(),
            memory=memory,
            imported_by="sample",
            now=store.clock.now(),
            cause=Cause(correlation_id=uuid7(), id_seed="places-sample"),
        )
    memory.villages.after_commit()
    return report


# Sessions -----------------------------------------------------------------------------------


async def commune_villages(
    tx: Transaction, commune_code: str, now: datetime, *, memory: Memory
) -> dict[str, Place] | None:
    """The commune's imported villages, or None when none were imported (any code goes)."""
    commune = find_commune(commune_code)
    if commune is None:
        return None
    villages = memory.villages
    found = villages.recall(commune.code, now)
    if found is None:
        found = await queries.villages_of(tx.conn, commune.code)
        villages.keep(commune.code, found, now)
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
    tx: Transaction,
    command: ScheduleSession,
    *,
    memory: Memory,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> SessionStream:
    """Put a session on the calendar, arm its staffing check and fill it from the waitlist."""
    stream = await load_session(tx, command.session_id, memory=memory)
    events = decide_schedule_session(
        stream.state,
        command,
        now=now,
        scope=scope,
        places=await commune_villages(tx, command.commune_code, now, memory=memory),
    )
    await stream.append(tx, events, cause)
    session = stream.require()
    await _arm_staffing_alert(tx, session, now)
    await fill_from_waitlist(tx, stream, memory=memory, now=now, cause=cause)
    return stream


async def reschedule_session(
    tx: Transaction,
    command: RescheduleSession,
    *,
    memory: Memory,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> SessionStream:
    """Move a session; its staffing check moves with it."""
    stream = await load_session(tx, command.session_id, memory=memory)
    places = (
        await commune_villages(tx, stream.state.commune_code, now, memory=memory)
        if stream.state
        else None
    )
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
    tx: Transaction,
    command: ChangeCapacity,
    *,
    memory: Memory,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> SessionStream:
    """Change capacity: more places fill from the waitlist, named bookings move back to it (and
    are placed in another session when one fits)."""
    stream = await load_session(tx, command.session_id, memory=memory)
    events = decide_change_capacity(stream.state, command, now=now, scope=scope)
    await stream.append(tx, events, cause)
    for event in events:
        if isinstance(event, ResidentMovedToWaitlist):
            await _place_again(tx, event.resident.request_id, memory=memory, now=now, cause=cause)
    await fill_from_waitlist(tx, stream, memory=memory, now=now, cause=cause)
    return stream


async def cancel_session(
    tx: Transaction,
    command: CancelSession,
    *,
    memory: Memory,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> SessionStream:
    """Cancel a session; its residents wait again and are placed elsewhere when a session fits."""
    stream = await load_session(tx, command.session_id, memory=memory)
    events = decide_cancel_session(stream.state, command, now=now, scope=scope)
    await stream.append(tx, events, cause)
    await cancel_timer(tx, timers, alert_timer_id(command.session_id))
    for event in events:
        if isinstance(event, SessionCancelled):
            for affected in event.affected:
                await _place_again(
                    tx, affected.resident.request_id, memory=memory, now=now, cause=cause
                )
    return stream


async def complete_session(
    tx: Transaction,
    command: CompleteSession,
    *,
    memory: Memory,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> SessionStream:
    stream = await load_session(tx, command.session_id, memory=memory)
    events = decide_complete_session(stream.state, command, now=now, scope=scope)
    await stream.append(tx, events, cause)
    await cancel_timer(tx, timers, alert_timer_id(command.session_id))
    return stream


async def record_attendance(
    tx: Transaction,
    command: RecordAttendance,
    *,
    memory: Memory,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> SessionStream:
    stream = await load_session(tx, command.session_id, memory=memory)
    events = decide_record_attendance(stream.require(), command, now=now, scope=scope)
    await stream.append(tx, events, cause)
    return stream


# Help requests and bookings -----------------------------------------------------------------
#
# Every placing goes through `Placing`: a batch of help requests (`request_help_together`),
# a single one (`request_help`, a batch of one), a waiting request placed again after its
# session went (`_place_again`) and a session's free places given to the waitlist
# (`fill_from_waitlist`). Each request is decided one after another in arrival order, so a
# batch has the outcome of placing them one by one: the second resident sees the place the
# first one took. What a batch shares is the reading and the writing: the residents' bookings
# in one query, each shortlist of sessions once, each session locked and brought up to date
# once, and every event of the batch in one INSERT (each request's events keep its own cause),
# with the read models written for the whole batch (`projection.project_filing`).


class RequestOutcome(NamedTuple):
    """Where a help request ended up: booked (with the booking), waiting, or a home visit."""

    request: HelpRequestState
    booked: ResidentBooked | None = None


class Filing(NamedTuple):
    """One help request of a batch, with why its events are appended (its own request)."""

    command: RequestHelp
    cause: Cause


Placed = RequestOutcome | HelpRequestRejectedError


class Placing:
    """The sessions as this placing sees them: read once, changed in memory as it books.

    A session is looked at only once it is locked (its turn to write, PostgreSQL) and up to
    date, so what fits now still fits when the booking is appended."""

    def __init__(self, tx: Transaction, now: datetime, memory: Memory) -> None:
        self.tx = tx
        self.now = now
        self.memory = memory
        self.streams: dict[str, SessionStream] = {}
        self._shortlists: dict[tuple[str, str, tuple[str, ...]], list[SessionOutline]] = {}
        self._taken: Counter[str] = Counter()  # places this placing took, per session
        self._filled = 0  # sessions this placing filled (the read model still shows them open)

    async def best_for(
        self, request: HelpRequestState, booked: Sequence[Slot]
    ) -> SessionStream | None:
        """The best session that fits the request now, or None.

        The shortlist is ranked from the read model (kept in step with the streams in the
        append transactions), so sessions are looked at best first and only until one fits:
        the first that fits is the one `choose_session` would pick among all of them. It is
        read again, longer, when sessions this placing filled may hide one that fits."""
        shortlist = await self._shortlist(request, fresh=False)
        chosen = await self._first_fitting(shortlist, request, booked)
        if chosen is None and self._filled and len(shortlist) >= SHORTLIST:
            chosen = await self._first_fitting(
                await self._shortlist(request, fresh=True), request, booked
            )
        return chosen

    def book(
        self, stream: SessionStream, request: HelpRequestState, booked: Sequence[Slot]
    ) -> list[Event]:
        """Book the request into the session (as this placing sees it): the events to append
        after the version the stream held, already folded onto it."""
        events = decide_book_resident(
            stream.require(),
            request,
            booking_id=new_booking_id(),
            now=self.now,
            booked=booked,
            from_waitlist=request.status is RequestStatus.WAITING,
        )
        stream.apply(events)
        self._taken[stream.session_id] += 1
        if stream.state is not None and stream.state.free_places <= 0:
            self._filled += 1
        return events

    def fill(
        self,
        stream: SessionStream,
        waiting: Iterable[HelpRequestState],
        booked: Mapping[str, Sequence[Slot]],
    ) -> list[Event]:
        """Give the session's free places to these waiting requests in turn (the earliest it
        fits, own commune first: `next_from_waitlist`); the events, already folded onto it.
        `booked`: each resident's bookings in other sessions."""
        remaining = list(waiting)
        events: list[Event] = []
        while stream.state is not None and stream.state.free_places > 0:
            chosen = next_from_waitlist(stream.state, remaining, now=self.now, booked=booked)
            if chosen is None:
                break
            events += self.book(stream, chosen, booked.get(chosen.phone, ()))
            remaining = [r for r in remaining if r.request_id != chosen.request_id]
        return events

    def remember(self) -> None:
        """After the commit: the sessions as this placing left them (the next starts there)."""
        sessions = self.memory.sessions
        for stream in self.streams.values():
            sessions.keep(
                stream.session_id, FoldedSession(stream.version, stream.state, stream.staffing)
            )

    async def _shortlist(self, request: HelpRequestState, *, fresh: bool) -> list[SessionOutline]:
        key = (request.province_code, request.commune_code, tuple(sorted(request.topics)))
        if fresh or key not in self._shortlists:
            self._shortlists[key] = await queries.candidate_sessions(
                self.tx.conn,
                request.province_code,
                request.commune_code,
                request.topics,
                self.now,
                limit=SHORTLIST + self._filled,
            )
        return self._shortlists[key]

    async def _first_fitting(
        self, shortlist: list[SessionOutline], request: HelpRequestState, booked: Sequence[Slot]
    ) -> SessionStream | None:
        taken = self._taken
        ranked = sorted(
            shortlist,
            key=lambda o: rank_session(
                o._replace(free_places=o.free_places - taken[o.session_id])
                if o.session_id in taken
                else o,
                request,
            ),
        )
        for outline in ranked:
            stream = await self._stream(outline.session_id)
            if fits_stream(stream, request, now=self.now, booked=booked):
                return stream
        return None

    async def _stream(self, session_id: str) -> SessionStream:
        """The session locked for this transaction (PostgreSQL) and up to date, once."""
        stream = self.streams.get(session_id)
        if stream is None:
            stream = remembered_session(self.memory, session_id)
            await stream.lock(self.tx)
            await stream.catch_up(self.tx, memory=self.memory)
            self.streams[session_id] = stream
        return stream


def fits_stream(
    stream: SessionStream, request: HelpRequestState, *, now: datetime, booked: Sequence[Slot]
) -> bool:
    return (
        stream.state is not None
        and choose_session(request, [stream.state], now=now, booked=booked) is not None
    )


async def request_help_together(
    tx: Transaction, filings: Sequence[Filing], *, memory: Memory, now: datetime
) -> tuple[list[Placed], Placing]:
    """File and place every request, in order: a booking, a home visit or the waitlist; a
    request the domain refuses gets its error and changes nothing. Call `Placing.remember`
    once the transaction has committed."""
    placed: list[Placed | None] = [None] * len(filings)
    appends: list[StreamAppend] = []
    bookable: list[tuple[int, HelpRequestState, Filing, list[Event]]] = []
    for index, filing in enumerate(filings):
        command, cause = filing
        try:
            events = decide_request_help(
                command,
                now=now,
                places=await commune_villages(tx, command.commune_code, now, memory=memory),
            )
        except HelpRequestRejectedError as error:
            placed[index] = error
            continue
        request = fold_request(None, events)
        # The request's own events are appended once, together with where it was placed. A
        # new stream: an id already taken still fails on the unique (stream, version) constraint.
        tx.know_version(command.request_id, 0)
        if request.home_visit:
            visit_id = visit_id_for(request.request_id)
            visit = decide_request_home_visit(request, visit_id=visit_id, now=now)
            tx.know_version(visit_id, 0)  # the visit of a new request is new too
            appends += [
                StreamAppend(command.request_id, 0, events, cause),
                StreamAppend(visit_id, 0, visit, cause),
            ]
            placed[index] = RequestOutcome(fold_request(request, visit))
        else:
            bookable.append((index, request, filing, events))
    placing = Placing(tx, now, memory)
    booked = await queries.booked_slots(tx.conn, [request.phone for _, request, _, _ in bookable])
    for index, request, (command, cause), events in bookable:
        slots = booked.setdefault(request.phone, [])
        stream = await placing.best_for(request, slots)
        if stream is None:
            waited = decide_waitlist_request(request, now=now)
            appends.append(StreamAppend(command.request_id, 0, [*events, *waited], cause))
            placed[index] = RequestOutcome(fold_request(request, waited))
            continue
        version = stream.version
        booking = placing.book(stream, request, slots)
        resident_booked = next(e for e in booking if isinstance(e, ResidentBooked))
        appends += [
            StreamAppend(command.request_id, 0, events, cause),
            StreamAppend(stream.session_id, version, booking, cause),
        ]
        slots.append(resident_booked.when)
        placed[index] = RequestOutcome(fold_request(request, booking), resident_booked)
    await tx.append_many(appends, projector=projection.project_filing)
    assert all(outcome is not None for outcome in placed)
    return [outcome for outcome in placed if outcome is not None], placing


async def request_help(
    tx: Transaction, command: RequestHelp, *, memory: Memory, now: datetime, cause: Cause
) -> RequestOutcome:
    """File a help request and place it at once: a booking, a home visit, or the waitlist (a
    batch of one). Raises HelpRequestRejectedError when the domain refuses it."""

    async def place() -> list[Placed]:
        placed, _placing = await request_help_together(
            tx, [Filing(command, cause)], memory=memory, now=now
        )
        return placed

    [outcome] = await _undoable_placing(tx, place, filed=command.request_id)
    if isinstance(outcome, HelpRequestRejectedError):
        raise outcome
    return outcome


async def fill_from_waitlist(
    tx: Transaction, stream: SessionStream, *, memory: Memory, now: datetime, cause: Cause
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
    await stream.lock(tx)
    version = stream.version
    events = Placing(tx, now, memory).fill(stream, waiting, booked)
    if events:
        await tx.append(stream.session_id, version, events, cause)


async def _place_again(
    tx: Transaction, request_id: HelpRequestId, *, memory: Memory, now: datetime, cause: Cause
) -> None:
    """Place a waiting request in the best session that fits now, if one does (a batch of
    one); else it keeps waiting."""
    row = await queries.request_row(tx.conn, request_id)
    if row is None or row.status != RequestStatus.WAITING.value:
        return
    request = queries.request_state(row)

    async def place() -> None:
        placing = Placing(tx, now, memory)
        booked = (await queries.booked_slots(tx.conn, [request.phone])).get(request.phone, [])
        stream = await placing.best_for(request, booked)
        if stream is not None:
            version = stream.version
            events = placing.book(stream, request, booked)
            await tx.append(stream.session_id, version, events, cause)

    await _undoable_placing(tx, place, filed=None)


async def _undoable_placing(
    tx: Transaction, place: Callable[[], Awaitable[T]], *, filed: HelpRequestId | None
) -> T:
    """Place one request, choosing again (each attempt undone as a whole) when its append
    meets a concurrent writer that skipped the session's lock, up to PLACING_ATTEMPTS times;
    then the conflict is reported. A request filed meanwhile (a retry with its key) is
    reported at once."""
    for attempt in range(1, PLACING_ATTEMPTS + 1):
        try:
            async with _undoable(tx):
                return await place()
        except ConcurrencyError:
            if attempt == PLACING_ATTEMPTS or (
                filed is not None and await tx.version_of(filed) != 0
            ):
                raise
            log.info("placing %s met a concurrent booking; choosing again", filed or "a request")
    raise AssertionError("unreachable")


@asynccontextmanager
async def _undoable(tx: Transaction) -> AsyncIterator[None]:
    """One attempt at placing, undone as a whole when it fails. PostgreSQL needs a savepoint:
    a failed statement aborts the whole transaction, and rolling back to the savepoint also
    releases the locks it took. SQLite undoes only a failed statement (and its writers take
    turns: the session cannot change under us)."""
    if tx.conn.dialect.name != "postgresql":
        yield
        return
    async with tx.conn.begin_nested():
        yield


def fold_request(state: HelpRequestState | None, events: Iterable[Event]) -> HelpRequestState:
    state = fold(evolve_request, events, state)
    assert state is not None
    return state


async def _booking_stream(
    tx: Transaction,
    booking_id: str,
    phone: str | None,
    scope: Iterable[str] | None,
    *,
    memory: Memory,
) -> SessionStream:
    """The session holding a booking, if the caller may touch it: the resident proves it with
    their phone number, staff with their commune scope."""
    row = await queries.booking_row(tx.conn, booking_id)
    if row is None:
        raise BookingNotFoundError(f"no booking {booking_id}")
    stream = await load_session(tx, row.session_id, memory=memory)
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
    memory: Memory,
    actor: Actor,
    reason: str,
    phone: str | None,
    scope: Iterable[str] | None,
    now: datetime,
    cause: Cause,
) -> SessionStream:
    """Give up a booking; the freed place goes to the waitlist in the same transaction."""
    stream = await _booking_stream(tx, booking_id, phone, scope, memory=memory)
    command = CancelBooking(
        session_id=stream.session_id,
        booking_id=BookingId(booking_id),
        cancelled_by=actor,
        reason=reason,
    )
    events = decide_cancel_booking(stream.require(), command, now=now)
    await stream.append(tx, events, cause)
    await fill_from_waitlist(tx, stream, memory=memory, now=now, cause=cause)
    return stream


async def change_booking(
    tx: Transaction,
    booking_id: str,
    new_session_id: str,
    *,
    memory: Memory,
    actor: Actor,
    phone: str | None,
    scope: Iterable[str] | None,
    now: datetime,
    cause: Cause,
) -> ResidentBooked:
    """Move a booking to another session; the old place goes to the waitlist."""
    old = await _booking_stream(tx, booking_id, phone, scope, memory=memory)
    new = await load_session(tx, new_session_id, memory=memory)
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
    await fill_from_waitlist(tx, old, memory=memory, now=now, cause=cause)
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
    tx: Transaction,
    event: SessionStaffed | SessionUnderstaffed,
    *,
    memory: Memory,
    now: datetime,
    cause: Cause,
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
    stream = await load_session(tx, report.slot_stream, memory=memory)
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


async def raise_staffing_alert(
    tx: Transaction, timer: Timer, *, memory: Memory, now: datetime
) -> None:
    """The 48-hour check: alert the coordinator if the session is still not staffed."""
    stream = await load_session(tx, str(timer.payload["session_id"]), memory=memory)
    if stream.state is None:
        return
    events = decide_raise_staffing_alert(stream.state, staffed=stream.staffed, now=now)
    cause = Cause(correlation_id=uuid7(), id_seed=f"timer:{timer.id}:{timer.due_at.isoformat()}")
    await stream.append(tx, events, cause)


async def request_help_by_sms(
    tx: Transaction, event: HelpRequestedBySms, *, memory: Memory, now: datetime, cause: Cause
) -> RequestOutcome | None:
    """Turn an SMS into a help request and place it; refuse it (an event the notifications
    service can answer) when the commune cannot be told or the number is wrong."""
    request_id = HelpRequestId(f"request-{derived_id('sms', event.inbound_id)}")
    if await tx.version_of(request_id) > 0:
        return None
    try:
        return await request_help(
            tx, request_from_sms(event, request_id), memory=memory, now=now, cause=cause
        )
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
