"""Rebuilding read models reads the whole log its transaction sees: on PostgreSQL a transaction
left open elsewhere on the server (another service's, another database's) must not hold back
the events committed before the rebuild began, as it holds back the relay."""

from __future__ import annotations

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.clock import SystemClock
from shared.events.base import Cause, RecordedEvent
from shared.ids import uuid7
from shared.settings import Database
from shared.store.database import create_engine
from shared.store.eventstore import EventStore
from shared.store.rebuild import rebuild_read_models
from tests.conftest import postgres_only
from tests.support.probe import PROBE_CATALOG, PROBE_METADATA, PROBE_TABLES, ThingCounted

READ_MODEL = sa.MetaData()
SEEN = sa.Table("probe_seen", READ_MODEL, sa.Column("count", sa.Integer, nullable=False))


async def project(conn: AsyncConnection, recorded: RecordedEvent) -> None:
    if isinstance(recorded.event, ThingCounted):
        await conn.execute(SEEN.insert().values(count=recorded.event.count))


async def make_store(database: Database) -> EventStore:
    engine = create_engine(database.url, database.schema)
    async with engine.begin() as conn:
        await conn.run_sync(PROBE_METADATA.create_all)
        await conn.run_sync(READ_MODEL.create_all)
    return EventStore(engine, PROBE_TABLES, PROBE_CATALOG, "probe", SystemClock(), project)


@postgres_only
async def test_a_transaction_open_elsewhere_does_not_hide_events_from_a_rebuild(
    database: Database,
) -> None:
    store = await make_store(database)
    try:
        async with store.transaction() as tx:
            await tx.append("thing-1", 0, [ThingCounted(count=1)], Cause(correlation_id=uuid7()))
        # Older than the next commits: the relay's horizon holds everything after it back.
        elsewhere = await asyncpg.connect(database.url)
        try:
            idle = elsewhere.transaction()
            await idle.start()
            await elsewhere.fetchval("SELECT pg_current_xact_id()")
            async with store.transaction() as tx:
                await tx.append(
                    "thing-2", 0, [ThingCounted(count=2)], Cause(correlation_id=uuid7())
                )

            replayed = await rebuild_read_models(store, [SEEN])
            async with store.engine.connect() as conn:
                seen = sorted((await conn.scalars(sa.select(SEEN.c.count))).all())
            await idle.rollback()
        finally:
            await elsewhere.close()
    finally:
        await store.close()

    assert replayed == 2
    assert seen == [1, 2]
