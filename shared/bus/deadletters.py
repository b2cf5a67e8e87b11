"""Parked messages: list them, and redrive them through their consumer's handler."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import msgspec
import sqlalchemy as sa

from shared.bus.cloudevents import decode_message
from shared.bus.consumer import Subscription, record_in_inbox
from shared.store.eventstore import EventStore


class ParkedMessage(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    consumer: str
    subject: str
    event_type: str | None
    error: str
    attempts: int
    parked_at: datetime


class Redriven(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    ok: bool
    error: str | None = None


async def list_parked(store: EventStore) -> list[ParkedMessage]:
    table = store.tables.dead_letters
    async with store.reader.connect() as conn:
        rows = await conn.execute(
            sa.select(table).where(table.c.redriven_at.is_(None)).order_by(table.c.id)
        )
        return [
            ParkedMessage(
                id=row.id,
                consumer=row.consumer,
                subject=row.subject,
                event_type=(row.headers or {}).get("ce-type"),
                error=row.error,
                attempts=row.attempts,
                parked_at=row.parked_at,
            )
            for row in rows
        ]


async def redrive(
    store: EventStore, subscriptions: Mapping[str, Subscription], ids: list[int] | None = None
) -> list[Redriven]:
    """Handle parked messages again, oldest first; a success is marked, a failure keeps its row
    with the new error. Order checks are skipped: the stream moved on when it was parked."""
    table = store.tables.dead_letters
    query = sa.select(table).where(table.c.redriven_at.is_(None)).order_by(table.c.id)
    if ids is not None:
        query = query.where(table.c.id.in_(ids))
    async with store.reader.connect() as conn:
        rows = list(await conn.execute(query))
    outcomes: list[Redriven] = []
    for row in rows:
        subscription = subscriptions.get(row.consumer)
        if subscription is None:
            outcomes.append(Redriven(id=row.id, ok=False, error=f"no consumer {row.consumer}"))
            continue
        try:
            event = decode_message(store.catalog, dict(row.headers or {}), bytes(row.body))
            if store.personal is not None:  # as the consumer would have read it
                [event] = await store.personal.opened([event])
            async with store.transaction() as tx:
                await subscription.handler_in(tx)(event)
                await record_in_inbox(store, tx.conn, row.consumer, [event])
                await tx.conn.execute(
                    table.update().where(table.c.id == row.id).values(redriven_at=store.clock.now())
                )
        except Exception as error:  # a malformed body or a failing handler: keep the row
            message = f"{type(error).__name__}: {error}"
            async with store.begin() as conn:
                await conn.execute(
                    table.update()
                    .where(table.c.id == row.id)
                    .values(error=message[:4000], attempts=table.c.attempts + 1)
                )
            outcomes.append(Redriven(id=row.id, ok=False, error=message))
            continue
        outcomes.append(Redriven(id=row.id, ok=True))
    return outcomes


def by_name(subscriptions: list[Subscription]) -> dict[str, Subscription]:
    return {s.name: s for s in subscriptions}
