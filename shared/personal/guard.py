"""The store's side of personal data: seal every personal value of an event on its way into
the log, open it on its way out, with the data key of the person it is about.

A service owns some people (the scheduler its residents) and keeps their keys in its own
person_keys table (`PersonKeys`); a person of another service is opened with a key asked of
that owner (`KeyOwner`, over HTTP, never NATS) and held in memory for a short while only, so
an erasure at the owner reaches every other service within `HELD_S` without a message.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Protocol

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.events.base import Event, RecordedEvent
from shared.events.personal import ERASED, plan_of, rewritten, values_of
from shared.personal.datakey import DataKey
from shared.personal.keystore import PersonKeys
from shared.personal.sealing import is_sealed, seal, unseal

# How long a data key stays in memory once read: an erased person's values stop opening in
# every process within this time. A key made by a transaction is held only after it commits.
HELD_S = 60.0
HELD_MAX = 50_000


class KeyOwner(Protocol):
    """The service that owns some people, asked for their data keys (None: erased, unknown)."""

    async def keys(self, person_ids: Sequence[str]) -> Mapping[str, DataKey | None]: ...

    async def close(self) -> None: ...


class OwnerUnreachableError(ConnectionError):
    """The owner of a person did not answer: what needs their key waits, as for the database
    (a ConnectionError, so consumers offer the messages again instead of parking them)."""


class PersonalData:
    """Seals what `source` appends and opens what it reads, its own events and others'."""

    def __init__(
        self,
        source: str,
        keys: PersonKeys | None,
        reader: AsyncEngine,
        owners: Mapping[str, KeyOwner] | None = None,
    ) -> None:
        self.source = source
        self.keys = keys
        self.reader = reader
        self.owners = dict(owners or {})
        self._held: dict[tuple[str, str], tuple[DataKey | None, float]] = {}

    # -- sealing (own events only) -------------------------------------------------------

    async def sealed(
        self,
        conn: AsyncConnection,
        recorded: Sequence[RecordedEvent],
        fresh: dict[str, DataKey],
    ) -> Sequence[RecordedEvent]:
        """`recorded` as the log keeps it: each personal value sealed. Keys made or read here
        go into `fresh` (this transaction's), to be held once it commits (`committed`)."""
        if not any(plan_of(type(item.event)) for item in recorded):
            return recorded
        keys = self.keys
        if keys is None:
            raise TypeError(f"{self.source} owns nobody: it may not append personal values")
        needed: set[str] = set()
        for item in recorded:
            for person_id, _field, _text in values_of(item.event):
                if person_id in fresh:
                    continue
                held = self._held_key(self.source, person_id)
                if held is None:
                    needed.add(person_id)
                else:
                    fresh[person_id] = held
        if needed:
            fresh.update(await keys.keys_for(conn, sorted(needed)))

        def sealing(person_id: str, field: str, text: str) -> str:
            return text if is_sealed(text) else seal(fresh[person_id], person_id, field, text)

        return [
            msgspec.structs.replace(item, event=rewritten(item.event, sealing))
            if plan_of(type(item.event))
            else item
            for item in recorded
        ]

    def committed(self, fresh: Mapping[str, DataKey]) -> None:
        """The transaction that made or read `fresh` committed: its keys may be held."""
        for person_id, key in fresh.items():
            self._hold(self.source, person_id, key)

    # -- opening --------------------------------------------------------------------------

    async def opened(
        self,
        recorded: Sequence[RecordedEvent],
        conn: AsyncConnection | None = None,
        fresh: dict[str, DataKey] | None = None,
    ) -> list[RecordedEvent]:
        """`recorded` with every sealed value opened; a value of an erased person reads as
        ERASED. Own people's keys are read through `conn` (a transaction's, which may see its
        own new keys: those go into `fresh`) or a reading connection; others' are asked of
        their owner. Values of a source with no known owner stay sealed."""
        wanted: dict[str, set[str]] = {}
        for item in recorded:
            if item.source != self.source and item.source not in self.owners:
                continue
            for person_id, _field, text in values_of(item.event):
                if is_sealed(text):
                    wanted.setdefault(item.source, set()).add(person_id)
        if not wanted:
            return list(recorded)
        found: dict[str, dict[str, DataKey | None]] = {}
        for source, person_ids in wanted.items():
            found[source] = await self._keys_of(source, sorted(person_ids), conn, fresh)
        return [self._opened(item, found.get(item.source)) for item in recorded]

    def _opened(
        self, item: RecordedEvent, keys: Mapping[str, DataKey | None] | None
    ) -> RecordedEvent:
        if keys is None or not plan_of(type(item.event)):
            return item

        def opening(person_id: str, field: str, text: str) -> str:
            if not is_sealed(text):
                return text  # recorded before its service sealed anything
            key = keys.get(person_id)
            return ERASED if key is None else unseal(key, person_id, field, text)

        event: Event = rewritten(item.event, opening)
        return item if event is item.event else msgspec.structs.replace(item, event=event)

    async def _keys_of(
        self,
        source: str,
        person_ids: list[str],
        conn: AsyncConnection | None,
        fresh: dict[str, DataKey] | None,
    ) -> dict[str, DataKey | None]:
        if source != self.source:
            fresh = None  # a transaction's own keys are of its own people
        keys: dict[str, DataKey | None] = {}
        missing: list[str] = []
        now = time.monotonic()
        for person_id in person_ids:
            held = self._held.get((source, person_id))
            if fresh is not None and person_id in fresh:
                keys[person_id] = fresh[person_id]
            elif held is not None and held[1] > now:
                keys[person_id] = held[0]
            else:
                missing.append(person_id)
        if not missing:
            return keys
        if source != self.source:
            answered = await self.owners[source].keys(missing)
            for person_id in missing:
                self._hold(source, person_id, answered.get(person_id))
        else:
            answered = await self._own_keys(missing, conn, fresh)
        keys.update((person_id, answered.get(person_id)) for person_id in missing)
        return keys

    async def _own_keys(
        self, missing: list[str], conn: AsyncConnection | None, fresh: dict[str, DataKey] | None
    ) -> dict[str, DataKey]:
        if self.keys is None:
            return {}
        if conn is not None:
            mine = await self.keys.find_many(conn, missing)
            if fresh is not None:
                fresh.update(mine)
            return mine
        async with self.reader.connect() as reading:
            mine = await self.keys.find_many(reading, missing)
        for person_id in missing:
            self._hold(self.source, person_id, mine.get(person_id))
        return mine

    # -- erasure --------------------------------------------------------------------------

    async def erase(self, conn: AsyncConnection, person_id: str) -> bool:
        """Destroy an own person's key (idempotent); True if one was destroyed now."""
        if self.keys is None:
            raise TypeError(f"{self.source} owns nobody")
        self._held.pop((self.source, person_id), None)
        return await self.keys.erase(conn, person_id)

    async def close(self) -> None:
        for owner in self.owners.values():
            await owner.close()

    def forget(self, source: str, person_id: str) -> None:
        """Drop a held key at once (an erasure heard, a test)."""
        self._held.pop((source, person_id), None)

    def _held_key(self, source: str, person_id: str) -> DataKey | None:
        held = self._held.get((source, person_id))
        return held[0] if held is not None and held[1] > time.monotonic() else None

    def _hold(self, source: str, person_id: str, key: DataKey | None) -> None:
        if len(self._held) >= HELD_MAX:
            self._held.clear()
        self._held[(source, person_id)] = (key, time.monotonic() + HELD_S)
