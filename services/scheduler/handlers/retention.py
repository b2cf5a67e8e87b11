"""The scheduler's daily retention run: residents last seen more than the configured months ago
are erased through the erasure path by the system (`requested_by: system`: notifications then
forgets them without an SMS), a batch a run, and the run says what it did (`retention.ran`,
stream `retention`)."""

from __future__ import annotations

from datetime import datetime

from services.scheduler.domain.retention import residents_due
from services.scheduler.handlers.erasure import request_erasure
from services.scheduler.memory import Memory
from services.scheduler.tables import timers
from services.scheduler.views import queries
from shared.events.base import Cause
from shared.events.scheduler import Actor, RetentionRan
from shared.ids import uuid7
from shared.retention import months_before, next_daily_run, next_run
from shared.settings import Retention
from shared.store.eventstore import Transaction
from shared.store.timers import Timer, set_timer

RETENTION_TIMER = "retention"
RETENTION_STREAM = "retention"


def retention_timer(now: datetime) -> Timer:
    """The standing timer of the daily run (planted at start unless set; each run sets the next)."""
    return Timer(
        id="retention:residents", kind=RETENTION_TIMER, due_at=next_daily_run(now), payload={}
    )


async def run_retention(
    tx: Transaction, timer: Timer, *, retention: Retention, memory: Memory, now: datetime
) -> None:
    """Erase the residents due, at most a batch, then set the next run."""
    cutoff = months_before(now, retention.resident_months)
    found = await queries.residents_unseen_since(tx.conn, cutoff, limit=retention.batch + 1)
    due = residents_due(found, cutoff=cutoff, limit=retention.batch)
    more_due = len(found) > retention.batch
    # Event ids derived from this firing (a firing commits once: with the timer row it deletes).
    seed = f"{timer.id}@{timer.due_at.isoformat()}"
    for resident in due:
        await request_erasure(
            tx,
            resident.request_id,
            by=Actor.SYSTEM,
            scope=(resident.commune_code,),
            memory=memory,
            now=now,
            cause=Cause(correlation_id=uuid7(), id_seed=seed),
        )
    ran = RetentionRan(cutoff=cutoff, erasures_requested=len(due), more_due=more_due, ran_at=now)
    await tx.append(
        RETENTION_STREAM,
        await tx.version_of(RETENTION_STREAM),
        [ran],
        Cause(correlation_id=uuid7(), id_seed=seed),
    )
    await set_timer(
        tx, timers, timer.id, RETENTION_TIMER, next_run(now, more_due=more_due), timer.payload
    )
