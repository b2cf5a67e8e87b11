"""A send that was interrupted (the sender died mid-call, or could not store the answer):
ask the provider whether it has the SMS, and resend only when it has no record of it.

The provider's answer is a `Finding`, the decision is pure. Never twice: an SMS is sent again
only when the provider has no record of it, or drops a repeat of our message id. Never lost:
a provider that cannot say now is asked again later, with backoff, and only after the last
look-up is the message given up (with a coordinator alert), as it is when the provider can
neither be asked nor drops repeats.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import msgspec

from services.notifications.domain.errors import MessageStateError
from services.notifications.domain.messages import (
    DeliveryOutcome,
    Message,
    MessageEvent,
    MessageStatus,
    RetryPolicy,
    decide_record_sent,
    message_failed,
    retry_delay,
)
from services.notifications.domain.quiet_hours import QuietHours, next_send_time
from shared.events.notifications import (
    SmsAttemptFailed,
    SmsDelivered,
    SmsFailed,
    SmsLookupFailed,
    SmsSent,
)

NOT_RESENT = "interrupted: outcome unknown, not resent"


class ProviderCopy(msgspec.Struct, frozen=True, kw_only=True):
    """An SMS the provider holds that matches ours: its id, its status, and once the network
    has settled it, whether it arrived."""

    provider_message_id: str
    status: str
    outcome: DeliveryOutcome | None = None


class FoundAtProvider(msgspec.Struct, frozen=True, kw_only=True):
    """The provider has the SMS; newest first, as the same text may have gone to the same
    phone for another message too."""

    copies: tuple[ProviderCopy, ...]


class NotAtProvider(msgspec.Struct, frozen=True, kw_only=True):
    """The provider has no record of the SMS, or drops a repeat of our message id: sending
    it now sends it once."""

    reason: str = "the provider has no record of it"


class ProviderUnsure(msgspec.Struct, frozen=True, kw_only=True):
    """The provider could not say now (timeout, 5xx, unreadable answer): ask again later."""

    reason: str


class NoLookup(msgspec.Struct, frozen=True, kw_only=True):
    """The provider can neither be asked about an SMS nor drops repeats."""


Finding = FoundAtProvider | NotAtProvider | ProviderUnsure | NoLookup


def is_interrupted(message: Message, now: datetime, *, stale_after: timedelta) -> bool:
    """Left `sending` for longer than a sender's lease: no sender is still working on it."""
    return (
        message.status is MessageStatus.SENDING
        and message.sending_since is not None
        and now - message.sending_since >= stale_after
    )


def decide_recover_interrupted(
    state: Message | None,
    now: datetime,
    finding: Finding,
    *,
    provider: str,
    stale_after: timedelta,
    lookups: RetryPolicy,
    random: Callable[[], float],
    quiet: QuietHours,
    taken: frozenset[str] = frozenset(),
) -> list[MessageEvent]:
    """What the provider's answer about an interrupted attempt means for the message.

    `taken` are provider ids already recorded for other messages: a copy of the same text
    to the same phone that belongs to another message is not this one's.
    """
    if state is None:
        raise MessageStateError("no such message", field="message_id")
    if not is_interrupted(state, now, stale_after=stale_after):
        return []  # settled meanwhile, or another sender's attempt is within its lease
    match finding:
        case FoundAtProvider():
            mine = [copy for copy in finding.copies if copy.provider_message_id not in taken]
            if mine:
                return _found(state, mine[0], provider, now)
            why = "its copies at the provider are other messages'"
            events: list[MessageEvent] = [_send_again(state, why, now, quiet)]
        case NotAtProvider():
            events = [_send_again(state, finding.reason, now, quiet)]
        case ProviderUnsure():
            events = [_ask_again(state, finding.reason, now, lookups, random)]
        case NoLookup():
            events = [message_failed(state, NOT_RESENT, now)]
    return events


def _found(
    message: Message, copy: ProviderCopy, provider: str, now: datetime
) -> list[MessageEvent]:
    events: list[MessageEvent] = [
        msgspec.structs.replace(event, found_by_lookup=True)
        if isinstance(event, SmsSent)
        else event
        for event in decide_record_sent(message, provider, copy.provider_message_id, now)
    ]
    if copy.outcome is DeliveryOutcome.DELIVERED:
        events.append(
            SmsDelivered(
                message_id=message.message_id,
                provider_message_id=copy.provider_message_id,
                delivered_at=now,
            )
        )
    elif copy.outcome is DeliveryOutcome.UNDELIVERED:
        events.append(message_failed(message, f"undelivered (provider status {copy.status})", now))
    return events


def _ask_again(
    message: Message,
    reason: str,
    now: datetime,
    lookups: RetryPolicy,
    random: Callable[[], float],
) -> SmsLookupFailed | SmsFailed:
    asked = message.lookups + 1
    if asked >= lookups.max_attempts:
        why = f"interrupted: the provider could not say after {asked} look-ups ({reason})"
        return message_failed(message, f"{why}, not resent", now)
    return SmsLookupFailed(
        message_id=message.message_id,
        attempt=message.attempts,
        lookup=asked,
        reason=reason[:500],
        retry_at=now + retry_delay(asked, lookups, random),
        failed_at=now,
    )


def _send_again(message: Message, why: str, now: datetime, quiet: QuietHours) -> SmsAttemptFailed:
    return SmsAttemptFailed(
        message_id=message.message_id,
        attempt=message.attempts,
        reason=f"interrupted: {why}; sending again",
        retry_at=next_send_time(now, message.urgent, quiet),
        failed_at=now,
    )
