"""The store's side of personal data: seal every personal value of an event on its way into
the log, open it on its way out, with the data key of the person it is about.

A service owns some people (the scheduler its residents) and keeps their keys in its own
person_keys table (`PersonKeys`); a person of another service is opened with a key asked of
that owner (`KeyOwner`, over HTTP, never NATS) and held in memory for a short while only, so
an erasure at the owner reaches every other service within `HELD_S` without a message.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Protocol

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.events.base import Event, RecordedEvent
from shared.events.personal import ERASED, PhoneOf, Whose, plan_of, rewritten, values_of
from shared.personal.datakey import DataKey
from shared.personal.keystore import PersonErasedError, PersonKeys
from shared.personal.sealing import is_sealed, person_named, seal, unseal

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
        phone_person: Callable[[str], str] | None = None,
    ) -> None:
        self.source = source
        self.phone_person = phone_person
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
        numbers = await self._keys_to_seal(conn, keys, recorded, fresh)

        def sealing(whose: Whose, field: str, text: str) -> str:
            if is_sealed(text):
                return text
            if isinstance(whose, PhoneOf):
                person_id = numbers[whose.phone]
                return seal(fresh[person_id], person_id, field, text, named=True)
            return seal(fresh[whose], whose, field, text)

        return [
            msgspec.structs.replace(item, event=rewritten(item.event, sealing))
            if plan_of(type(item.event))
            else item
            for item in recorded
        ]

    async def _keys_to_seal(
        self,
        conn: AsyncConnection,
        keys: PersonKeys,
        recorded: Sequence[RecordedEvent],
        fresh: dict[str, DataKey],
    ) -> dict[str, str]:
        """Every key the values need, into `fresh`, in a statement or two however many
        people (a batch of help requests, of SMS); and each number's person now."""
        needed, phones = self._wanted_to_seal(recorded, fresh)
        numbers: dict[str, str] = {}
        for phone in phones:
            first = next(self._generations(phone))
            numbers[phone] = first
            if first not in fresh:
                # never a key held in memory: another instance may have erased it meanwhile
                needed.add(first)
        if needed:
            try:
                fresh.update(await keys.keys_for(conn, sorted(needed)))
            except PersonErasedError:
                # someone was erased: only then one at a time, to find a number's person now
                for person_id in sorted(needed - set(numbers.values())):
                    fresh[person_id] = await keys.key_for(conn, person_id)
                for phone in phones:
                    numbers[phone] = await self._number_now(conn, keys, PhoneOf(phone), fresh)
        return numbers

    def _wanted_to_seal(
        self, recorded: Sequence[RecordedEvent], fresh: dict[str, DataKey]
    ) -> tuple[set[str], set[str]]:
        """(the people whose keys are not at hand, the numbers) the values are about."""
        needed: set[str] = set()
        phones: set[str] = set()
        for item in recorded:
            for whose, _field, _text in values_of(item.event):
                if isinstance(whose, PhoneOf):
                    phones.add(whose.phone)
                elif whose not in fresh:
                    held = self._held_key(self.source, whose)
                    if held is None:
                        needed.add(whose)
                    else:
                        fresh[whose] = held
        return needed, phones

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
            for whose, _field, text in values_of(item.event):
                person_id = _sealed_for(whose, text)
                if person_id is not None:
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

        def opening(whose: Whose, field: str, text: str) -> str:
            person_id = _sealed_for(whose, text)
            if person_id is None:
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

    def _generations(self, phone: str) -> Iterator[str]:
        """The people a number has been, oldest first: `phone-<hash>`, then `-2`, `-3`...,
        one more each time whoever had it was erased (a new request starts afresh)."""
        if self.phone_person is None:
            raise TypeError(f"{self.source} cannot name the person of a phone number")
        base = self.phone_person(phone)
        yield base
        for generation in itertools.count(2):
            yield f"{base}-{generation}"

    async def _number_now(
        self, conn: AsyncConnection, keys: PersonKeys, whose: PhoneOf, fresh: dict[str, DataKey]
    ) -> str:
        for person_id in self._generations(whose.phone):
            # Never a key held in memory: another instance may have erased it meanwhile.
            if person_id in fresh:
                return person_id
            try:
                fresh[person_id] = await keys.key_for(conn, person_id)
            except PersonErasedError:
                continue
            return person_id
        raise AssertionError("unreachable")  # pragma: no cover

    async def person_of_number(self, conn: AsyncConnection, phone: str) -> str | None:
        """Whoever has `phone` now (its live generation), making no key; None: nobody."""
        if self.keys is None:
            raise TypeError(f"{self.source} owns nobody")
        for person_id in self._generations(phone):
            state = await self.keys.erased(conn, person_id)
            if state is None:
                return None
            if not state:
                return person_id
        raise AssertionError("unreachable")  # pragma: no cover

    async def erase_number(self, conn: AsyncConnection, phone: str) -> bool:
        """Destroy the key of whoever has `phone` now; True if one was destroyed."""
        if self.keys is None:
            raise TypeError(f"{self.source} owns nobody")
        for person_id in self._generations(phone):
            state = await self.keys.erased(conn, person_id)
            if state is None:
                return False
            if not state:
                return await self.erase(conn, person_id)
        raise AssertionError("unreachable")  # pragma: no cover

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

    async def keys_to_give(self, person_ids: Sequence[str]) -> dict[str, DataKey]:
        """Own people's keys for another service: those held (a resident filed a moment ago,
        whose key this process just made) without a read, the others from the table."""
        found: dict[str, DataKey] = {}
        missing: list[str] = []
        for person_id in person_ids:
            held = self._held_key(self.source, person_id)
            if held is None:
                missing.append(person_id)
            else:
                found[person_id] = held
        if missing and self.keys is not None:
            async with self.reader.connect() as conn:
                found.update(await self.keys.find_many(conn, missing))
        return found

    def _held_key(self, source: str, person_id: str) -> DataKey | None:
        held = self._held.get((source, person_id))
        return held[0] if held is not None and held[1] > time.monotonic() else None

    def _hold(self, source: str, person_id: str, key: DataKey | None) -> None:
        if len(self._held) >= HELD_MAX:
            self._held.clear()
        self._held[(source, person_id)] = (key, time.monotonic() + HELD_S)


def _sealed_for(whose: Whose, text: str) -> str | None:
    """The person a sealed value opens for (the one it names, else the struct's); None when
    the value is not sealed."""
    if not is_sealed(text):
        return None
    named = person_named(text)
    if named is not None:
        return named
    return whose if isinstance(whose, str) else None
