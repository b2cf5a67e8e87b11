"""Durable timers: 'do this at that time' kept in the service's database, so reminders,
answer deadlines and staffing alerts survive restarts. Setting a timer commits with the work
that set it; firing one commits with the handler's work, so a timer fires once."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.store.eventstore import EventStore, Transaction
from shared.store.utc import UtcDateTime

log = logging.getLogger("handinhand.timers")

# A standing timer that keeps failing is tried again at least this often.
STANDING_RETRY_AT_MOST = timedelta(hours=1)


class Timer(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: str
    due_at: datetime
    payload: dict[str, Any]
    attempts: int = 0


TimerHandler = Callable[[Transaction, Timer], Awaitable[None]]


def add_timer_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "timers",
        metadata,
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(80), nullable=False),
        sa.Column("due_at", UtcDateTime(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        # An instance that takes a due timer holds it until then; a crash releases it.
        sa.Column("claimed_until", UtcDateTime(), nullable=True),
        sa.Index("ix_timers_due", "due_at"),
    )


async def set_timer(
    tx: Transaction, table: sa.Table, timer_id: str, kind: str, due_at: datetime, payload: Any
) -> None:
    """Set (or move) a timer; the same id replaces the earlier one, e.g. on a reschedule."""
    await set_timers(tx, table, [Timer(id=timer_id, kind=kind, due_at=due_at, payload=payload)])


async def set_timers(tx: Transaction, table: sa.Table, timers: Iterable[Timer]) -> None:
    """Set (or move) many timers in one statement; each id replaces its earlier timer.

    A timer set again starts afresh: no attempts, no claim (`Timer.attempts` is not read).
    """
    rows = _rows(timers)
    if rows:
        await tx.conn.execute(_upsert(table, tx.conn.dialect.name), rows)


def _rows(timers: Iterable[Timer]) -> list[dict[str, Any]]:
    """Timers as fresh rows: no attempts, no claim."""
    return [
        {
            "id": timer.id,
            "kind": timer.kind,
            "due_at": timer.due_at,
            "payload": msgspec.to_builtins(timer.payload),
            "attempts": 0,
            "claimed_until": None,
        }
        for timer in timers
    ]


# What a timer set again replaces: everything but its id.
_REPLACED = ("kind", "due_at", "payload", "attempts", "claimed_until")


@functools.cache  # one statement per table and dialect, so SQLAlchemy reuses its compiled form
def _upsert(table: sa.Table, dialect_name: str) -> sa.Insert:
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(table)
    upsert: sa.Insert = statement.on_conflict_do_update(
        index_elements=[table.c.id], set_={name: statement.excluded[name] for name in _REPLACED}
    )
    return upsert


async def plant_timers(conn: AsyncConnection, table: sa.Table, timers: Iterable[Timer]) -> None:
    """Set each timer unless one with its id is set already (as it was, due when it was)."""
    rows = _rows(timers)
    if rows:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        await conn.execute(
            dialect.insert(table).on_conflict_do_nothing(index_elements=["id"]), rows
        )


async def cancel_timer(tx: Transaction, table: sa.Table, timer_id: str) -> None:
    await tx.conn.execute(table.delete().where(table.c.id == timer_id))


async def cancel_timers_like(tx: Transaction, table: sa.Table, prefix: str) -> None:
    """Drop every timer whose id starts with `prefix` (e.g. all reminders of a session)."""
    await tx.conn.execute(table.delete().where(table.c.id.startswith(prefix, autoescape=True)))


class TimerRunner:
    """Fires due timers of the kinds it knows, oldest first, each in its own transaction.

    `standing` timers always exist (e.g. the daily retention run, whose handler sets its next
    firing): planted when the runner starts unless set already, and never dropped after
    failing, only retried, at most an hour apart.
    """

    def __init__(
        self,
        store: EventStore,
        table: sa.Table,
        handlers: Mapping[str, TimerHandler],
        *,
        batch_size: int = 100,
        claim_for: timedelta = timedelta(seconds=60),
        idle_wait: float = 1.0,
        max_attempts: int = 5,
        standing: Sequence[Timer] = (),
    ) -> None:
        self.store = store
        self.table = table
        self.handlers = dict(handlers)
        self.batch_size = batch_size
        self.claim_for = claim_for
        self.idle_wait = idle_wait
        self.max_attempts = max_attempts
        self.standing = tuple(standing)
        self.fired = 0

    async def plant(self) -> None:
        """Set the standing timers that are not set yet."""
        async with self.store.begin() as conn:
            await plant_timers(conn, self.table, self.standing)

    async def run(self, stop: asyncio.Event) -> None:
        planted = False
        while not stop.is_set():
            try:
                if not planted:
                    await self.plant()
                    planted = True
                fired = await self.fire_due()
            except Exception as error:
                if not self.store.reachability.lost(error):  # an outage is said once
                    log.warning("timers paused: %s", error)
                fired = 0
            if fired < self.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.idle_wait)

    async def fire_due(self) -> int:
        """Fire what is due now; return how many timers were taken."""
        if not self.handlers:
            return 0
        due = await self._claim()
        for timer in due:
            await self._fire(timer)
        return len(due)

    async def _claim(self) -> list[Timer]:
        table = self.table
        now = self.store.clock.now()
        async with self.store.begin() as conn:
            query = (
                sa.select(table)
                .where(
                    table.c.due_at <= now,
                    table.c.kind.in_(list(self.handlers)),
                    sa.or_(table.c.claimed_until.is_(None), table.c.claimed_until < now),
                )
                .order_by(table.c.due_at)
                .limit(self.batch_size)
            )
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = list(await conn.execute(query))
            if rows:
                await conn.execute(
                    table.update()
                    .where(table.c.id.in_([row.id for row in rows]))
                    .values(claimed_until=now + self.claim_for)
                )
        return [
            Timer(
                id=row.id,
                kind=row.kind,
                due_at=row.due_at,
                payload=row.payload,
                attempts=row.attempts,
            )
            for row in rows
        ]

    async def _fire(self, timer: Timer) -> None:
        table = self.table
        try:
            async with self.store.transaction() as tx:
                # Delete only the timer we claimed: a reschedule meanwhile replaced it (new
                # due time, claim cleared), and then this firing does nothing.
                gone = await tx.conn.execute(
                    table.delete().where(
                        table.c.id == timer.id,
                        table.c.due_at == timer.due_at,
                        table.c.claimed_until.is_not(None),
                    )
                )
                if gone.rowcount != 1:
                    return
                await self.handlers[timer.kind](tx, timer)
            self.fired += 1
        except Exception as error:
            if self.store.reachability.lost(error):
                # Not the handler's fault, and nothing can be written: the claim runs out and
                # the timer fires once the database is back.
                raise
            attempts = timer.attempts + 1
            log.warning(
                "timer %s (%s) failed, attempt %d: %s", timer.id, timer.kind, attempts, error
            )
            standing = any(timer.id == kept.id for kept in self.standing)
            async with self.store.begin() as conn:
                if attempts >= self.max_attempts and not standing:
                    log.exception(
                        "timer %s (%s) dropped after %d attempts", timer.id, timer.kind, attempts
                    )
                    await conn.execute(table.delete().where(table.c.id == timer.id))
                else:
                    delay = timedelta(seconds=2 ** min(attempts, 12))
                    retry_at = self.store.clock.now() + min(delay, STANDING_RETRY_AT_MOST)
                    await conn.execute(
                        table.update()
                        .where(table.c.id == timer.id, table.c.due_at == timer.due_at)
                        .values(attempts=attempts, claimed_until=retry_at)
                    )
