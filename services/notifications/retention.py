"""The notifications service's daily retention run: in the SMS log (the `messages` read
model) the answers to inbound SMS that matched nothing lose their number and text, and every
settled SMS its text, after the configured days, a batch of each a run. The run is an event
(`sms_retention.ran`, stream `retention`) whose projection does the blanking, so a rebuild
blanks the same rows.

The events keep their SMS texts sealed under the number's key (shared/personal/guard.py);
what is done to those by age is a `RetentionHook`: each is called in the run's transaction
with what the run reached back to (`RetentionReach`), after the event is appended.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

import msgspec

from services.notifications.domain.retention import batch_bound
from services.notifications.tables import timers
from services.notifications.views import queries
from shared.events.base import Cause
from shared.events.notifications import SmsRetentionRan
from shared.ids import uuid7
from shared.retention import next_daily_run, next_run
from shared.settings import Retention
from shared.store.eventstore import Transaction
from shared.store.timers import Timer, set_timer

RETENTION_TIMER = "retention"
RETENTION_STREAM = "retention"


class RetentionReach(msgspec.Struct, frozen=True, kw_only=True):
    """What one run reached back to: SMS texts queued before `texts_before` (the policy's
    cutoff, `texts_cutoff`, once no batch is left over), unmatched inbound SMS before
    `unmatched_before`."""

    texts_before: datetime
    texts_cutoff: datetime
    unmatched_before: datetime
    unmatched_cutoff: datetime
    ran_at: datetime


# What else a run forgets by age, in its transaction (e.g. SMS texts sealed in the events).
RetentionHook = Callable[[Transaction, RetentionReach], Awaitable[None]]


def retention_timer(now: datetime) -> Timer:
    """The standing timer of the daily run (planted at start unless set; each run sets the next)."""
    return Timer(id="retention:sms", kind=RETENTION_TIMER, due_at=next_daily_run(now), payload={})


async def run_retention(
    tx: Transaction,
    timer: Timer,
    *,
    retention: Retention,
    hooks: Sequence[RetentionHook],
    now: datetime,
) -> None:
    """Blank what is due, at most a batch of each kind, say so, then set the next run."""
    texts_cutoff = now - timedelta(days=retention.sms_text_days)
    unmatched_cutoff = now - timedelta(days=retention.unmatched_sms_days)
    limit = retention.batch + 1
    texts_before, more_texts = batch_bound(
        await queries.oldest_due(tx.conn, queries.texts_due(texts_cutoff), limit=limit),
        cutoff=texts_cutoff,
        batch=retention.batch,
    )
    unmatched_before, more_unmatched = batch_bound(
        await queries.oldest_due(tx.conn, queries.unmatched_due(unmatched_cutoff), limit=limit),
        cutoff=unmatched_cutoff,
        batch=retention.batch,
    )
    ran = SmsRetentionRan(
        texts_before=texts_before,
        texts_blanked=await queries.count_due(tx.conn, queries.texts_due(texts_before)),
        unmatched_before=unmatched_before,
        unmatched_blanked=await queries.count_due(tx.conn, queries.unmatched_due(unmatched_before)),
        more_due=more_texts or more_unmatched,
        ran_at=now,
    )
    seed = f"{timer.id}@{timer.due_at.isoformat()}"
    await tx.append(
        RETENTION_STREAM,
        await tx.version_of(RETENTION_STREAM),
        [ran],
        Cause(correlation_id=uuid7(), id_seed=seed),
    )
    reach = RetentionReach(
        texts_before=texts_before,
        texts_cutoff=texts_cutoff,
        unmatched_before=unmatched_before,
        unmatched_cutoff=unmatched_cutoff,
        ran_at=now,
    )
    for hook in hooks:
        await hook(tx, reach)
    await set_timer(
        tx, timers, timer.id, RETENTION_TIMER, next_run(now, more_due=ran.more_due), timer.payload
    )
