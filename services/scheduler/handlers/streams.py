"""The scheduler's streams as one transaction reads and writes them: a session (folded onto
what this process remembers, locked for its turn to write) and a home visit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.scheduler.domain.errors import HomeVisitError, SessionNotFoundError
from services.scheduler.domain.sessions import SessionState, evolve_session
from services.scheduler.domain.visits import HomeVisitState, evolve_visit
from services.scheduler.memory import FoldedSession, Memory
from services.scheduler.views import projection, queries
from shared.events.base import Cause, Event
from shared.events.fold import fold
from shared.events.scheduler import (
    BookingId,
    HelpRequestId,
    SessionId,
    SessionStaffingChanged,
    VisitId,
)
from shared.ids import uuid7
from shared.store.eventstore import StreamAppend, Transaction


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
