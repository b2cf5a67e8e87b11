"""Every placing of a resident, one path: `Placing` (shortlist, rank, fits, book).

A batch of help requests (`request_help_together`, from the help desk), a single one
(`request_help`, a batch of one), a waiting request placed again after its session went
(`bookings.place_again`) and a session's free places given to the waitlist
(`bookings.fill_from_waitlist`) all go through it. Each request is decided one after another
in arrival order, so a batch has the outcome of placing them one by one: the second resident
sees the place the first one took. What a batch shares is the reading and the writing: the
residents' bookings in one query, each shortlist of sessions once, each session locked and
brought up to date once, and every event of the batch in one INSERT (each request's events
keep its own cause), with the read models written for the whole batch
(`projection.project_filing`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import NamedTuple, TypeVar

from services.scheduler.domain.booking import (
    SessionOutline,
    choose_session,
    decide_book_resident,
    next_from_waitlist,
    rank_session,
)
from services.scheduler.domain.errors import HelpRequestRejectedError
from services.scheduler.domain.requests import (
    HelpRequestState,
    RequestHelp,
    RequestStatus,
    decide_request_help,
    decide_waitlist_request,
    evolve_request,
)
from services.scheduler.domain.visits import decide_request_home_visit
from services.scheduler.handlers.places import commune_villages
from services.scheduler.handlers.streams import (
    SessionStream,
    new_booking_id,
    remembered_session,
    visit_id_for,
)
from services.scheduler.memory import FoldedSession, Memory
from services.scheduler.views import projection, queries
from shared.events.base import Cause, Event
from shared.events.fold import fold
from shared.events.scheduler import HelpRequestId, ResidentBooked, Slot
from shared.store.eventstore import ConcurrencyError, StreamAppend, Transaction

log = logging.getLogger("handinhand.scheduler")


T = TypeVar("T")
# Placing a request meets a concurrent writer of the chosen session at most this often before
# the conflict is reported (409).
PLACING_ATTEMPTS = 5
# The shortlist of sessions read for a request (longer by the sessions a batch filled).
SHORTLIST = 20


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
                places=await commune_villages(tx, command.commune_code, now=now, memory=memory),
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

    [outcome] = await undoable_placing(tx, place, filed=command.request_id)
    if isinstance(outcome, HelpRequestRejectedError):
        raise outcome
    return outcome


async def undoable_placing(
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
