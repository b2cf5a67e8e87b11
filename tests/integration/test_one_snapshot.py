"""A view read in several statements reads them from one snapshot (shared.store.database
one_snapshot): a commit landing between two of them is not half seen."""

from __future__ import annotations

import sqlalchemy as sa

from shared.settings import Database
from shared.store.database import create_engine, one_snapshot, reading

ROWS = sa.Table("snapshot_rows", sa.MetaData(), sa.Column("n", sa.Integer, nullable=False))


async def test_a_commit_between_two_reads_is_not_half_seen(database: Database) -> None:
    engine = create_engine(database.url, database.schema)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(ROWS.metadata.create_all)
            await conn.execute(ROWS.insert().values(n=1))
        count = sa.select(sa.func.count()).select_from(ROWS)
        async with reading(engine).connect() as reader:
            conn = await one_snapshot(reader)
            before = await conn.scalar(count)
            async with engine.begin() as writer:
                await writer.execute(ROWS.insert().values(n=2))
            after = await conn.scalar(count)
        async with reading(engine).connect() as fresh:
            now = await fresh.scalar(count)
    finally:
        await engine.dispose()

    assert (before, after, now) == (1, 1, 2)
