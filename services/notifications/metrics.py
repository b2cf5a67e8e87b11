"""What /metrics shows of the SMS: messages stuck in `sending`, failed ones, and the queue.
Each is one indexed query of this service's read models, cheap at any size of the log."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from services.notifications.tables import FAILED, SENDING, messages, outgoing
from shared.store.log import as_utc
from shared.web.metrics import Metric

if TYPE_CHECKING:
    from services.notifications.service import Notifications

# The conditions are written as in the partial indexes (a literal, not a parameter), so that
# both databases see the index covers them.
_STUCK = (
    sa.select(sa.func.count())
    .select_from(messages)
    .where(SENDING, messages.c.sending_since < sa.bindparam("cutoff"))
)
_FAILED = sa.select(sa.func.count()).select_from(messages).where(FAILED)
_DUE = outgoing.c.due_at <= sa.bindparam("now")
_QUEUE = sa.select(sa.func.count(), sa.func.min(outgoing.c.due_at)).where(_DUE)


async def sms_metrics(notifications: Notifications) -> list[Metric]:
    """Stuck: in `sending` longer than the sender's lease (its sender died mid-call and no
    other has taken it over). Failed: all messages that failed for good, a count that only
    grows (an alert takes its increase). Due: waiting to be sent now, and for how long."""
    runtime = notifications.runtime
    now = runtime.clock.now()
    lease = notifications.sms.lease
    async with runtime.store.reader.connect() as conn:
        stuck = await conn.scalar(_STUCK, {"cutoff": now - lease})
        failed = await conn.scalar(_FAILED)
        due, oldest = (await conn.execute(_QUEUE, {"now": now})).one()
    waited = 0.0 if oldest is None else max(0.0, (now - as_utc(oldest)).total_seconds())
    return [
        Metric(
            "handinhand_sms_stuck_sending_messages",
            "gauge",
            "SMS in sending for longer than the sender's lease.",
            stuck or 0,
        ),
        Metric(
            "handinhand_sms_failed_messages_total",
            "counter",
            "SMS that failed for good (every one so far).",
            failed or 0,
        ),
        Metric(
            "handinhand_sms_due_messages",
            "gauge",
            "SMS due to be sent now and not sent yet (being sent included).",
            due or 0,
        ),
        Metric(
            "handinhand_sms_oldest_due_seconds",
            "gauge",
            "How long the longest-waiting due SMS has waited (0: none waits).",
            round(waited, 3),
        ),
    ]
