"""Each person's data key in a service's person_keys table: made once, destroyed by an erasure
(what was sealed for the person no longer opens), and moved to a new master key on rotation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.clock import FixedClock
from shared.personal.keystore import PersonErasedError, PersonKeys
from shared.personal.masterkeys import MasterKey, MasterKeys
from shared.personal.sealing import UnopenableError, seal, unseal
from shared.personal.table import add_person_keys_table
from shared.personal.wrapping import UnwrapError
from shared.settings import Database
from shared.store.database import create_engine

METADATA = sa.MetaData()
PERSON_KEYS = add_person_keys_table(METADATA)
OLD = MasterKey(kid="2026-06", key=b"o" * 32)
NEW = MasterKey(kid="2026-12", key=b"n" * 32)
CLOCK = FixedClock(datetime(2026, 12, 5, 8, 0, tzinfo=UTC))
NAME = "Trần Văn Bảy"


def keys(*ring: MasterKey) -> PersonKeys:
    return PersonKeys(PERSON_KEYS, MasterKeys(ring), CLOCK)


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    made = create_engine(database.url, database.schema)
    async with made.begin() as conn:
        await conn.run_sync(METADATA.create_all)
    yield made
    await made.dispose()


async def test_a_person_gets_one_key_made_on_first_use(engine: AsyncEngine) -> None:
    store = keys(OLD)
    async with engine.begin() as conn:
        assert await store.find(conn, "resident-1") is None
        first = await store.key_for(conn, "resident-1")
    async with engine.begin() as conn:
        assert await store.key_for(conn, "resident-1") == first
        assert await store.find(conn, "resident-1") == first
        assert await store.key_for(conn, "resident-2") != first
        stored = (await conn.execute(sa.select(PERSON_KEYS.c.wrapped_key))).scalars().all()
    assert all(first.material not in wrapped for wrapped in stored)  # kept wrapped only


async def test_two_transactions_making_a_key_at_once_both_get_the_kept_one(
    engine: AsyncEngine,
) -> None:
    store = keys(OLD)

    async def make() -> bytes:
        async with engine.begin() as conn:
            return (await store.key_for(conn, "resident-1")).material

    made = await asyncio.gather(make(), make(), make())

    async with engine.begin() as conn:
        kept = await store.find(conn, "resident-1")
    assert kept is not None
    assert set(made) == {kept.material}


async def test_an_erased_person_s_sealed_values_no_longer_open(engine: AsyncEngine) -> None:
    store = keys(OLD)
    async with engine.begin() as conn:
        sealed = seal(await store.key_for(conn, "resident-1"), "resident-1", "name", NAME)
        other = seal(await store.key_for(conn, "resident-2"), "resident-2", "name", NAME)

    async with engine.begin() as conn:
        assert await store.erase(conn, "resident-1") is True
    async with engine.begin() as conn:
        assert await store.find(conn, "resident-1") is None
        with pytest.raises(PersonErasedError):  # never a new key to seal them again
            await store.key_for(conn, "resident-1")
        # the only key left is another person's: it opens theirs, not the erased person's
        key = await store.find(conn, "resident-2")
        assert key is not None
        assert unseal(key, "resident-2", "name", other) == NAME
        with pytest.raises(UnopenableError):
            unseal(key, "resident-1", "name", sealed)
        row = (
            await conn.execute(
                sa.select(PERSON_KEYS).where(PERSON_KEYS.c.person_id == "resident-1")
            )
        ).one()
    assert row.wrapped_key is None
    assert row.master_kid is None
    assert row.erased_at == CLOCK.now()


async def test_a_second_erasure_is_harmless(engine: AsyncEngine) -> None:
    store = keys(OLD)
    async with engine.begin() as conn:
        await store.key_for(conn, "resident-1")
        assert await store.erase(conn, "resident-1") is True
    async with engine.begin() as conn:
        assert await store.erase(conn, "resident-1") is False
        assert await store.find(conn, "resident-1") is None


async def test_erasing_a_person_never_keyed_here_keeps_them_from_being_keyed(
    engine: AsyncEngine,
) -> None:
    store = keys(OLD)
    async with engine.begin() as conn:
        assert await store.erase(conn, "resident-9") is False
    async with engine.begin() as conn:
        assert await store.find(conn, "resident-9") is None
        with pytest.raises(PersonErasedError):
            await store.key_for(conn, "resident-9")


async def test_rewrapped_keys_open_everything_once_the_old_master_key_is_dropped(
    engine: AsyncEngine,
) -> None:
    before = keys(OLD)
    people = [f"resident-{n:03}" for n in range(7)]
    async with engine.begin() as conn:
        sealed = {
            person: seal(await before.key_for(conn, person), person, "name", NAME)
            for person in people
        }
        await before.erase(conn, people[0])

    rotating = keys(NEW, OLD)
    async with engine.begin() as conn:
        # in batches of two, so the walk over a table too big to read at once is seen
        assert await rotating.rewrap_all(conn, batch=2) == len(people) - 1  # not the erased
    async with engine.begin() as conn:
        assert await rotating.rewrap_all(conn) == 0  # nothing left on the old key

    after = keys(NEW)
    async with engine.begin() as conn:
        assert await after.find(conn, people[0]) is None
        for person in people[1:]:
            key = await after.find(conn, person)
            assert key is not None
            assert unseal(key, person, "name", sealed[person]) == NAME
        kids = set((await conn.execute(sa.select(PERSON_KEYS.c.master_kid))).scalars())
    assert kids == {NEW.kid, None}


async def test_a_key_whose_master_key_was_dropped_before_rewrapping_is_refused(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await keys(OLD).key_for(conn, "resident-1")
    async with engine.begin() as conn:
        with pytest.raises(UnwrapError, match="2026-06"):
            await keys(NEW).find(conn, "resident-1")


async def test_many_keys_at_once_keep_the_kept_ones_and_refuse_the_erased(
    engine: AsyncEngine,
) -> None:
    store = keys(OLD)
    async with engine.begin() as conn:
        kept = await store.key_for(conn, "resident-1")
        await store.erase(conn, "resident-9")
    async with engine.begin() as conn:
        many = await store.keys_for(conn, ["resident-1", "resident-2", "resident-3", "resident-2"])
    async with engine.begin() as conn:
        assert many["resident-1"] == kept
        assert set(many) == {"resident-1", "resident-2", "resident-3"}
        assert await store.find(conn, "resident-3") == many["resident-3"]
        with pytest.raises(PersonErasedError):
            await store.keys_for(conn, ["resident-4", "resident-9"])
