"""Each person's data key, kept wrapped in the service's own person_keys table: made on first
use, found while the person is known, destroyed when they are erased."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.clock import Clock
from shared.personal.datakey import DataKey
from shared.personal.masterkeys import MasterKeys
from shared.personal.wrapping import unwrap, wrap


class PersonErasedError(LookupError):
    """The person was erased: nothing may be sealed for them again."""


class PersonKeys:
    """The person_keys table of one service, opened with its master key ring."""

    def __init__(self, table: sa.Table, ring: MasterKeys, clock: Clock) -> None:
        self.table = table
        self.ring = ring
        self.clock = clock
        self._make: dict[str, sa.Insert] = {}

    def _making(self, conn: AsyncConnection) -> sa.Insert:
        """One insert of new keys that skips the people who have one, for any number of rows:
        compiled once (a VALUES list built per call is compiled again on every call)."""
        name = conn.dialect.name
        statement = self._make.get(name)
        if statement is None:
            dialect = postgresql if name == "postgresql" else sqlite
            statement = (
                dialect.insert(self.table)
                .on_conflict_do_nothing()
                .returning(self.table.c.person_id)
            )
            self._make[name] = statement
        return statement

    async def key_for(self, conn: AsyncConnection, person_id: str) -> DataKey:
        """The person's data key, made and kept on first use; the same key every time after.
        Two transactions making one at once both get the key that was kept."""
        return (await self.keys_for(conn, [person_id]))[person_id]

    async def keys_for(
        self, conn: AsyncConnection, person_ids: Sequence[str]
    ) -> dict[str, DataKey]:
        """`key_for` for many people at once: one insert of a new key for each (most are new:
        a batch of help requests), returning those it made; then one read of the others."""
        wanted = sorted(set(person_ids))
        table = self.table
        now = self.clock.now()
        made: dict[str, DataKey] = {}
        rows: list[dict[str, object]] = []
        for person_id in wanted:
            key = DataKey.new()
            kid, wrapped = wrap(self.ring, key)
            made[person_id] = key
            rows.append(
                {
                    "person_id": person_id,
                    "master_kid": kid,
                    "wrapped_key": wrapped,
                    "created_at": now,
                }
            )
        inserted = set((await conn.execute(self._making(conn), rows)).scalars().all())
        keys = {person_id: made[person_id] for person_id in inserted}
        kept = [person_id for person_id in wanted if person_id not in inserted]
        for start in range(0, len(kept), 1000):
            found = await conn.execute(
                sa.select(table.c.person_id, table.c.master_kid, table.c.wrapped_key).where(
                    table.c.person_id.in_(kept[start : start + 1000])
                )
            )
            for person_id, kid, wrapped in found:
                if kid is None or wrapped is None:
                    raise PersonErasedError(person_id)
                keys[person_id] = unwrap(self.ring, kid, wrapped)
        return keys

    async def find(self, conn: AsyncConnection, person_id: str) -> DataKey | None:
        """The person's data key, or None: never made, or erased."""
        found = await self._row(conn, person_id)
        return None if found is None else self._opened(found)

    async def erased(self, conn: AsyncConnection, person_id: str) -> bool | None:
        """True: erased; False: has a key; None: never known here."""
        found = await self._row(conn, person_id)
        return None if found is None else found[1] is None

    async def find_many(
        self, conn: AsyncConnection, person_ids: Sequence[str]
    ) -> dict[str, DataKey]:
        """The data keys of those of `person_ids` that have one (not erased), in one query
        per thousand."""
        table = self.table
        found: dict[str, DataKey] = {}
        for start in range(0, len(person_ids), 1000):
            rows = await conn.execute(
                sa.select(table.c.person_id, table.c.master_kid, table.c.wrapped_key).where(
                    table.c.person_id.in_(list(person_ids[start : start + 1000])),
                    table.c.wrapped_key.is_not(None),
                )
            )
            for person_id, kid, wrapped in rows:
                found[person_id] = unwrap(self.ring, kid, wrapped)
        return found

    async def erase(self, conn: AsyncConnection, person_id: str) -> bool:
        """Destroy the person's data key and keep a tombstone; True if a key was destroyed
        now, False if there was none (already erased, or never made here)."""
        table = self.table
        now = self.clock.now()
        destroyed = await conn.execute(
            table.update()
            .where(table.c.person_id == person_id, table.c.wrapped_key.is_not(None))
            .values(master_kid=None, wrapped_key=None, erased_at=now)
        )
        if destroyed.rowcount:
            return True
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        tombstone = {"person_id": person_id, "created_at": now, "erased_at": now}
        await conn.execute(dialect.insert(table).values(tombstone).on_conflict_do_nothing())
        return False

    async def rewrap_all(self, conn: AsyncConnection, *, batch: int = 500) -> int:
        """Wrap every data key with the ring's first master key; how many were rewrapped.
        Afterwards the older master keys wrap nothing and can leave the ring. Rows are read
        `batch` at a time, so a big table is never held in memory."""
        table = self.table
        newest = self.ring.wrapper.kid
        moved = 0
        after = ""
        while True:
            rows = (
                await conn.execute(
                    sa.select(table.c.person_id, table.c.master_kid, table.c.wrapped_key)
                    .where(
                        table.c.person_id > after,
                        table.c.wrapped_key.is_not(None),
                        table.c.master_kid != newest,
                    )
                    .order_by(table.c.person_id)
                    .limit(batch)
                )
            ).all()
            if not rows:
                return moved
            for person_id, kid, wrapped in rows:
                new_kid, rewrapped = wrap(self.ring, unwrap(self.ring, kid, wrapped))
                await conn.execute(
                    table.update()
                    .where(table.c.person_id == person_id)
                    .values(master_kid=new_kid, wrapped_key=rewrapped)
                )
            moved += len(rows)
            after = rows[-1].person_id

    async def _row(
        self, conn: AsyncConnection, person_id: str
    ) -> sa.Row[str | None, bytes | None] | None:
        table = self.table
        return (
            await conn.execute(
                sa.select(table.c.master_kid, table.c.wrapped_key).where(
                    table.c.person_id == person_id
                )
            )
        ).first()

    def _opened(self, row: sa.Row[str | None, bytes | None]) -> DataKey | None:
        kid, wrapped = row
        if kid is None or wrapped is None:
            return None
        return unwrap(self.ring, kid, wrapped)
