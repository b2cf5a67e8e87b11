"""Retention of the SMS log (the `messages` read model): after some days an SMS keeps only its
delivery facts (status, times, kind, provider ids), not its text; the answer to an inbound SMS
that matched nothing loses its number too, sooner. Only settled messages: one still queued or
sending needs its text to be sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from services.notifications.domain.messages import MessageStatus
from shared.events.notifications import SmsKind
from shared.events.personal import ERASED

# What the sender no longer needs a text for (a delivery receipt changes only the status).
SETTLED = (
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.FAILED,
    MessageStatus.SUPPRESSED,
)
# The answers to an inbound SMS that matched nothing: not understood, or a yes or no with no
# proposal waiting. Their number and text say only that someone wrote.
UNMATCHED = (SmsKind.REPLY_UNKNOWN,)
_TICK = timedelta(microseconds=1)


def text_due(status: MessageStatus, queued_at: datetime, text: str, *, before: datetime) -> bool:
    """Whether an SMS's text is to be blanked by a run reaching back to `before`."""
    return status in SETTLED and queued_at < before and text != ERASED


def unmatched_due(
    kind: SmsKind, status: MessageStatus, queued_at: datetime, phone: str, *, before: datetime
) -> bool:
    """Whether an answer to an unmatched inbound SMS is to lose its number and text."""
    return kind in UNMATCHED and status in SETTLED and queued_at < before and phone != ERASED


def batch_bound(
    oldest: Sequence[datetime], *, cutoff: datetime, batch: int
) -> tuple[datetime, bool]:
    """How far back one run blanks, given the queue times of the oldest due messages (at most
    `batch + 1`, oldest first): the cutoff when they fit in a batch, else the time of the first
    left for the next run (and so `True`: more is due)."""
    if len(oldest) <= batch:
        return cutoff, False
    bound = oldest[batch]
    if bound <= oldest[0]:  # a whole batch queued at one instant: take them all, move on
        bound = oldest[0] + _TICK
    return min(bound, cutoff), True
