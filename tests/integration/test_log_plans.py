"""PostgreSQL answers the log's frequent questions by reading what they ask for, however long
the log and whatever its statistics say (a table filled since it was created has none)."""

from __future__ import annotations

import sqlalchemy as sa

from shared.store.eventstore import EventStore
from shared.store.log import LogPosition
from tests.conftest import postgres_only
from tests.support.plans import rows_read, statements_run

LOG_LENGTH = 20_000


async def fill_log(store: EventStore, events: int) -> LogPosition:
    """`events` one-event streams in one transaction, as fast as the database can; the last."""
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO events (event_id, stream_id, stream_version, event_type, "
                "schema_version, data, recorded_at, correlation_id, tx_id) "
                "SELECT gen_random_uuid(), 'thing-' || n, 1, 'probe.thing_counted', 1, "
                "decode('7b7d', 'hex'), now(), gen_random_uuid(), "
                "pg_current_xact_id()::text::bigint FROM generate_series(1, :events) AS n"
            ),
            {"events": events},
        )
        last = (
            await conn.execute(
                sa.text("SELECT tx_id, position FROM events ORDER BY tx_id DESC, position DESC")
            )
        ).first()
    assert last is not None
    return LogPosition(last.tx_id, last.position)


@postgres_only
async def test_the_relay_asks_whether_anything_follows_with_one_index_probe(
    store: EventStore,
) -> None:
    last = await fill_log(store, LOG_LENGTH)

    async with store.reader.connect() as conn:
        with statements_run(store.engine) as ran:
            nothing_after_last = not await store.log.any_after(conn, last)
        one_before = LogPosition(last.tx_id, last.position - 1)
        assert await store.log.any_after(conn, one_before)

    assert nothing_after_last
    [(statement, parameters)] = ran
    assert await rows_read(store.engine, statement, parameters) <= 1
