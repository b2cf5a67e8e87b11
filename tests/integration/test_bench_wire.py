"""`bench e2e --statements` counts round trips on the wire (bench/wire.py): what a client waits
for, not how many statements it sends."""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg

from bench.wire import WireCounter
from shared.settings import Database
from tests.conftest import postgres_only


@postgres_only
async def test_an_executemany_of_many_rows_is_a_round_trip_or_two_not_one_per_row(
    database: Database,
) -> None:
    where = urlsplit(database.url)
    wire = await WireCounter.start(where.hostname or "127.0.0.1", where.port or 5432, ["it"])
    try:
        through = where._replace(netloc=f"{where.username}@127.0.0.1:{wire.ports['it']}")
        connection = await asyncpg.connect(through.geturl(), ssl=False)
        try:
            await connection.execute("CREATE TEMPORARY TABLE counted (n integer)")
            before = (await wire.dump())["it"]["round_trips"]
            await connection.execute("SELECT 1")  # a simple query
            simple = (await wire.dump())["it"]["round_trips"]
            await connection.executemany(
                "INSERT INTO counted (n) VALUES ($1)", [(n,) for n in range(50)]
            )
            after = (await wire.dump())["it"]["round_trips"]
            assert await connection.fetchval("SELECT count(*) FROM counted") == 50
        finally:
            await connection.close()
    finally:
        await wire.stop()
    assert simple - before == 1
    assert 1 <= after - simple <= 3  # the prepare and one pipelined exchange
