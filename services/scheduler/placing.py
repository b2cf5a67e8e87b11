"""Help requests that arrive together are placed together, in one transaction.

Each request is decided as `handlers.request_help` decides it, one after another in arrival
order, so the outcome is the same as placing them one by one: the second resident sees the
place the first one took. What is shared is the reading and the writing: the residents'
bookings in one query, each shortlist of sessions once, each session locked and brought up
to date once, and every event of the batch in one INSERT (each request's events keep its own
cause), with the read models written for the whole batch (`projection.project_filing`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from services.scheduler.domain.booking import SessionOutline, decide_book_resident, rank_session
from services.scheduler.domain.errors import HelpRequestRejectedError
from services.scheduler.domain.requests import (
    HelpRequestState,
    RequestHelp,
    decide_request_help,
    decide_waitlist_request,
)
from services.scheduler.domain.visits import decide_request_home_visit
from services.scheduler.handlers import (
    RequestOutcome,
    SessionStream,
    commune_villages,
    fits_stream,
    fold_request,
    new_booking_id,
    remembered_session,
    visit_id_for,
)
from services.scheduler.memory import FoldedSession, memory_of
from services.scheduler.views import projection, queries
from shared.events.base import Cause, Event
from shared.events.scheduler import ResidentBooked, Slot
from shared.store.eventstore import StreamAppend, Transaction

# The shortlist of sessions read for a request (as `handlers.place_request` reads it).
SHORTLIST = 20


class Filing(NamedTuple):
    """One help request of a batch, with why its events are appended (its own request)."""

    command: RequestHelp
    cause: Cause


Placed = RequestOutcome | HelpRequestRejectedError


class Placing:
    """The sessions as this batch sees them: read once, changed in memory as it books."""

    def __init__(self, tx: Transaction, now: datetime) -> None:
        self.tx = tx
        self.now = now
        self.streams: dict[str, SessionStream] = {}
        self._shortlists: dict[tuple[str, str, tuple[str, ...]], list[SessionOutline]] = {}
        self._taken: Counter[str] = Counter()  # places this batch took, per session
        self._filled = 0  # sessions this batch filled (the read model still shows them open)

    async def best_for(
        self, request: HelpRequestState, booked: Sequence[Slot]
    ) -> SessionStream | None:
        """The session `handlers.place_request` would choose now, or None: read the shortlist
        again, longer, when sessions this batch filled may hide one that fits."""
        shortlist = await self._shortlist(request, fresh=False)
        chosen = await self._first_fitting(shortlist, request, booked)
        if chosen is None and self._filled and len(shortlist) >= SHORTLIST:
            chosen = await self._first_fitting(
                await self._shortlist(request, fresh=True), request, booked
            )
        return chosen

    def book(self, stream: SessionStream, booking: Sequence[Event]) -> None:
        stream.apply(booking)
        self._taken[stream.session_id] += 1
        if stream.state is not None and stream.state.free_places <= 0:
            self._filled += 1

    def remember(self) -> None:
        """After the commit: the sessions as this batch left them (the next batch starts there)."""
        sessions = memory_of(self.tx.store).sessions
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
            stream = remembered_session(self.tx, session_id)
            await stream.lock(self.tx)
            await stream.catch_up(self.tx)
            self.streams[session_id] = stream
        return stream


async def request_help_together(
    tx: Transaction, filings: Sequence[Filing], *, now: datetime
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
                command, now=now, places=await commune_villages(tx, command.commune_code, now)
            )
        except HelpRequestRejectedError as error:
            placed[index] = error
            continue
        request = fold_request(None, events)
        tx.know_version(command.request_id, 0)  # a new stream (a taken id still fails: unique)
        if request.home_visit:
            visit_id = visit_id_for(request.request_id)
            visit = decide_request_home_visit(request, visit_id=visit_id, now=now)
            tx.know_version(visit_id, 0)
            appends += [
                StreamAppend(command.request_id, 0, events, cause),
                StreamAppend(visit_id, 0, visit, cause),
            ]
            placed[index] = RequestOutcome(fold_request(request, visit))
        else:
            bookable.append((index, request, filing, events))
    placing = Placing(tx, now)
    booked = await queries.booked_slots(tx.conn, [request.phone for _, request, _, _ in bookable])
    for index, request, (command, cause), events in bookable:
        slots = booked.setdefault(request.phone, [])
        stream = await placing.best_for(request, slots)
        if stream is None:
            waited = decide_waitlist_request(request, now=now)
            appends.append(StreamAppend(command.request_id, 0, [*events, *waited], cause))
            placed[index] = RequestOutcome(fold_request(request, waited))
            continue
        booking = decide_book_resident(
            stream.require(),
            request,
            booking_id=new_booking_id(),
            now=now,
            booked=slots,
        )
        resident_booked = next(e for e in booking if isinstance(e, ResidentBooked))
        appends += [
            StreamAppend(command.request_id, 0, events, cause),
            StreamAppend(stream.session_id, stream.version, booking, cause),
        ]
        placing.book(stream, booking)
        slots.append(resident_booked.when)
        placed[index] = RequestOutcome(fold_request(request, booking), resident_booked)
    await tx.append_many(appends, projector=projection.project_filing)
    assert all(outcome is not None for outcome in placed)
    return [outcome for outcome in placed if outcome is not None], placing
