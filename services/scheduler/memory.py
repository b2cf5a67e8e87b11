"""What one scheduler process remembers between transactions, to spare the database work it
has already done: session streams folded up to a committed version, and communes' villages.

Neither is trusted alone. A remembered session is a starting point: the events appended since
are still loaded and folded onto it, and appends keep their optimistic concurrency check.
Remembered villages are forgotten when this process imports places, and are kept at most
`VILLAGES_KEPT_FOR` (places imported by another process reach this one that late).

One `Memory` per app, built with its typed context (`service.Scheduler`) and handed to what
loads sessions or villages (the handlers get it as a keyword argument).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from services.scheduler.domain.places import Place
from services.scheduler.domain.sessions import SessionState
from shared.events.scheduler import SessionStaffingChanged

SESSIONS_KEPT = 1024  # a session of 200 bookings folds to ~150 kB
VILLAGES_KEPT_FOR = timedelta(seconds=10)


class FoldedSession(NamedTuple):
    """A session stream folded up to `version`, every event of it committed."""

    version: int
    state: SessionState | None
    staffing: SessionStaffingChanged | None


class SessionMemory:
    """The most recently used session streams, folded (the least recently used go first).

    Only committed events may be remembered: a transaction that has appended anything sees
    its own events, which may yet roll back, so what it loads afterwards is not kept (see
    `handlers.streams.SessionStream.catch_up`). States are frozen: a remembered one is shared, never
    changed.
    """

    def __init__(self, size: int = SESSIONS_KEPT) -> None:
        self._size = size
        self._folded: OrderedDict[str, FoldedSession] = OrderedDict()

    def __len__(self) -> int:
        return len(self._folded)

    def recall(self, session_id: str) -> FoldedSession | None:
        folded = self._folded.get(session_id)
        if folded is not None:
            self._folded.move_to_end(session_id)
        return folded

    def keep(self, session_id: str, folded: FoldedSession) -> None:
        """Remember a stream folded from committed events (a later version wins)."""
        if folded.state is None:
            return
        known = self._folded.get(session_id)
        if known is None or known.version < folded.version:
            self._folded[session_id] = folded
        self._folded.move_to_end(session_id)
        while len(self._folded) > self._size:
            self._folded.popitem(last=False)


@dataclass
class VillageMemory:
    """Each commune's imported villages by code (empty: none imported), for a short while."""

    kept_for: timedelta = VILLAGES_KEPT_FOR
    _villages: dict[str, tuple[datetime, dict[str, Place]]] = field(default_factory=dict)
    _importing: bool = False

    def recall(self, commune_code: str, now: datetime) -> dict[str, Place] | None:
        """The commune's villages, or None when not remembered (or remembered too long)."""
        found = self._villages.get(commune_code)
        if found is None or found[0] <= now:
            return None
        return found[1]

    def keep(self, commune_code: str, villages: dict[str, Place], now: datetime) -> None:
        self._villages[commune_code] = (now + self.kept_for, villages)

    def importing(self) -> None:
        """Places are being imported: forget every commune now, and again after the commit
        (a transaction running meanwhile may remember what it read before)."""
        self._villages.clear()
        self._importing = True

    def after_commit(self) -> None:
        if self._importing:
            self._importing = False
            self._villages.clear()


@dataclass
class Memory:
    sessions: SessionMemory = field(default_factory=SessionMemory)
    villages: VillageMemory = field(default_factory=VillageMemory)
