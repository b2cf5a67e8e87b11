"""Rebuild a service's read models by replaying its own event log from the start."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from shared.store.eventstore import EventStore
from shared.store.log import START


async def rebuild_read_models(
    store: EventStore, read_models: Sequence[sa.Table], batch_size: int = 1000
) -> int:
    """Empty the read-model tables and project every event again, in log order, in one
    transaction (readers see the old models until the new ones are complete)."""
    if store.projector is None:
        return 0
    replayed = 0
    async with store.begin() as conn:
        for table in reversed(read_models):
            await conn.execute(table.delete())
        after = START
        while True:
            batch = await store.log.read(conn, after, batch_size, whole_snapshot=True)
            if not batch:
                break
            recorded = [store.log.recorded(stored) for stored in batch]
            if store.personal is not None:
                recorded = await store.personal.opened(recorded, conn)
            for item in recorded:
                await store.projector(conn, item)
            replayed += len(batch)
            after = batch[-1].log_position
    return replayed
