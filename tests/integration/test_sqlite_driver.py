"""SQLite on the event loop's thread: a lock held elsewhere is waited for without blocking
the loop, and the statement then runs once."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from shared.events.base import Cause
from shared.settings import Database
from tests.support.probe import ThingCounted, make_store


async def test_a_writer_waits_for_a_lock_held_elsewhere_while_the_loop_runs_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "locked.db"
    store = await make_store(Database(url=f"sqlite:///{path}", schema="main"))
    other = sqlite3.connect(path, isolation_level=None)  # e.g. `handinhand dlq redrive`
    try:
        other.execute("BEGIN IMMEDIATE")
        append = asyncio.create_task(
            store.append("thing-1", 0, [ThingCounted(count=1)], Cause(correlation_id=uuid.uuid4()))
        )
        for _ in range(10):
            await asyncio.sleep(0.01)  # the behaviour under test: the loop turns while it waits
        assert not append.done()

        other.execute("COMMIT")
        await asyncio.wait_for(append, timeout=10)

        assert (await store.load("thing-1")).version == 1
    finally:
        other.close()
        await store.close()


async def test_a_statement_that_fails_says_why(tmp_path: Path) -> None:
    store = await make_store(Database(url=f"sqlite:///{tmp_path / 'x.db'}", schema="main"))
    try:
        async with store.reader.connect() as conn:
            with pytest.raises(sa.exc.OperationalError, match="no such table"):
                await conn.exec_driver_sql("SELECT * FROM nowhere")
    finally:
        await store.close()
