"""The life of one SMS: queued once per (cause, recipient, kind), sent, delivered or failed.

The message id is derived from its idempotency key and stored (`sms.queued`) before any
provider call: a redelivered cause finds the stream and appends nothing. `sms.sending_started`
is stored before the call too, so after a crash we know the provider may already have it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

import msgspec

from services.notifications.domain.errors import (
    InvalidScheduleError,
    MessageNotDueError,
    MessageStateError,
)
from services.notifications.domain.quiet_hours import QuietHours, is_urgent, next_send_time
from services.notifications.domain.templates import RenderedSms
from shared.events.base import Event
from shared.events.notifications import (
    MessageId,
    RecipientOptedIn,
    RecipientOptedOut,
    SmsAttemptFailed,
    SmsDelivered,
    SmsEncoding,
    SmsFailed,
    SmsKind,
    SmsLanguage,
    SmsLookupFailed,
    SmsQueued,
    SmsSendingStarted,
    SmsSent,
    SmsSuppressed,
)
from shared.ids import derived_id_after


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """One SMS as folded from its stream."""

    message_id: MessageId
    cause_event_id: UUID
    kind: SmsKind
    recipient_phone: str
    status: MessageStatus
    next_attempt_at: datetime
    language: SmsLanguage = SmsLanguage.VI
    text: str = ""
    encoding: SmsEncoding = SmsEncoding.GSM7
    parts: int = 0
    stripped: bool = False
    parts_saved: int = 0
    urgent: bool = False
    attempts: int = 0
    sending_since: datetime | None = None
    # How often the provider could not say whether it has the current attempt.
    lookups: int = 0
    provider: str | None = None
    provider_message_id: str | None = None
    failure_reason: str | None = None


MessageEvent = (
    SmsQueued
    | SmsSuppressed
    | SmsSendingStarted
    | SmsAttemptFailed
    | SmsSent
    | SmsLookupFailed
    | SmsDelivered
    | SmsFailed
)

# Kinds an opted-out number may still get when the deployment allows essential cancellations.
ESSENTIAL_KINDS = frozenset({SmsKind.RESIDENT_CANCELLED, SmsKind.ASSIGNMENT_RELEASED})


@dataclass(frozen=True, kw_only=True)
class OptOutPolicy:
    """What a deployment still sends to numbers that opted out."""

    allow_essential_cancellations: bool = False


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff with jitter, then permanent failure after `max_attempts`."""

    first_delay: timedelta = timedelta(seconds=30)
    multiplier: float = 2.0
    max_delay: timedelta = timedelta(minutes=30)
    max_attempts: int = 5
    # Share of each delay that is random, so retries after an outage do not arrive together.
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise InvalidScheduleError("max_attempts must be at least 1", field="max_attempts")
        if not 0 <= self.jitter <= 1:
            raise InvalidScheduleError("jitter must be between 0 and 1", field="jitter")
        if self.first_delay <= timedelta(0) or self.multiplier < 1:
            raise InvalidScheduleError("delays must be positive and grow", field="first_delay")


class DeliveryOutcome(StrEnum):
    """What a delivery receipt finally says about an SMS."""

    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"


class QueueSms(msgspec.Struct, frozen=True, kw_only=True):
    """Write down an SMS caused by an event (or a reminder timer) for one recipient."""

    cause_event_id: UUID
    recipient_phone: str
    kind: SmsKind
    language: SmsLanguage
    rendered: RenderedSms
    session_starts_at: datetime | None = None


def message_id_for(cause_event_id: UUID, recipient_phone: str, kind: SmsKind) -> MessageId:
    """The same (cause, recipient, kind) always names the same message, so it is sent once;
    messages sort by their cause's time (a new message's row goes at the end of the index)."""
    uuid = derived_id_after(cause_event_id, "sms", str(cause_event_id), recipient_phone, kind.value)
    return MessageId(f"sms-{uuid}")


def may_send(kind: SmsKind, opted_out: bool, policy: OptOutPolicy) -> bool:
    """An opted-out number gets only its opt-out confirmation (and allowed essential notices)."""
    if not opted_out or kind is SmsKind.REPLY_STOP_CONFIRMED:
        return True
    return policy.allow_essential_cancellations and kind in ESSENTIAL_KINDS


def retry_delay(attempt: int, policy: RetryPolicy, random: Callable[[], float]) -> timedelta:
    """How long to wait after failed attempt number `attempt` (1-based); `random` gives [0, 1)."""
    ceiling = min(
        policy.max_delay,
        policy.first_delay * (policy.multiplier ** max(attempt - 1, 0)),
    )
    return ceiling * (1 - policy.jitter) + ceiling * policy.jitter * random()


def message_events(events: Iterable[Event]) -> Iterator[MessageEvent]:
    """The events of a message stream as message events; any other kind there is a bug."""
    for event in events:
        if not isinstance(event, MessageEvent):
            raise MessageStateError(f"{event.event_type} does not belong in a message stream")
        yield event


def evolve(state: Message | None, event: MessageEvent) -> Message:
    """Fold one event of a message stream into the message."""
    match event:
        case SmsQueued():
            return Message(
                message_id=event.message_id,
                cause_event_id=event.cause_event_id,
                kind=event.kind,
                recipient_phone=event.recipient_phone,
                status=MessageStatus.QUEUED,
                next_attempt_at=event.send_after,
                language=event.language,
                text=event.text,
                encoding=event.encoding,
                parts=event.parts,
                stripped=event.stripped,
                parts_saved=event.parts_saved,
                urgent=event.urgent,
            )
        case SmsSuppressed() if state is None:
            return Message(
                message_id=event.message_id,
                cause_event_id=event.cause_event_id,
                kind=event.kind,
                recipient_phone=event.recipient_phone,
                status=MessageStatus.SUPPRESSED,
                next_attempt_at=event.suppressed_at,
                failure_reason=event.reason,
            )
    if state is None:
        raise MessageStateError(f"{event.event_type} before the message was queued")
    return msgspec.structs.replace(state, **_changes(event))


def _changes(event: MessageEvent) -> dict[str, Any]:
    match event:
        case SmsSuppressed():
            changes: dict[str, Any] = {
                "status": MessageStatus.SUPPRESSED,
                "failure_reason": event.reason,
            }
        case SmsSendingStarted():
            changes = {
                "status": MessageStatus.SENDING,
                "attempts": event.attempt,
                "sending_since": event.started_at,
                "lookups": 0,
            }
        case SmsAttemptFailed():
            changes = {
                "status": MessageStatus.QUEUED,
                "next_attempt_at": event.retry_at,
                "sending_since": None,
                "failure_reason": event.reason,
            }
        case SmsSent():
            changes = {
                "status": MessageStatus.SENT,
                "sending_since": None,
                "provider": event.provider,
                "provider_message_id": event.provider_message_id,
            }
        case SmsLookupFailed():
            changes = {"lookups": event.lookup, "failure_reason": event.reason}
        case SmsDelivered():
            changes = {
                "status": MessageStatus.DELIVERED,
                "sending_since": None,
                "provider_message_id": event.provider_message_id,
            }
        case SmsFailed():
            changes = {
                "status": MessageStatus.FAILED,
                "sending_since": None,
                "failure_reason": event.reason,
            }
        case SmsQueued():
            raise MessageStateError("a message is queued once", field="message_id")
    return changes


def decide_queue(
    state: Message | None,
    command: QueueSms,
    now: datetime,
    *,
    opted_out: bool,
    quiet: QuietHours,
    policy: OptOutPolicy,
) -> list[MessageEvent]:
    """Store an SMS before sending it; a redelivered cause finds it stored and adds nothing."""
    if state is not None:
        return []
    message_id = message_id_for(command.cause_event_id, command.recipient_phone, command.kind)
    if not may_send(command.kind, opted_out, policy):
        return [
            SmsSuppressed(
                message_id=message_id,
                cause_event_id=command.cause_event_id,
                kind=command.kind,
                recipient_phone=command.recipient_phone,
                reason="opted_out",
                suppressed_at=now,
            )
        ]
    urgent = is_urgent(command.kind, now, command.session_starts_at, quiet)
    rendered = command.rendered
    return [
        SmsQueued(
            message_id=message_id,
            cause_event_id=command.cause_event_id,
            kind=command.kind,
            recipient_phone=command.recipient_phone,
            language=command.language,
            text=rendered.text,
            encoding=rendered.encoding,
            parts=rendered.parts,
            stripped=rendered.stripped,
            parts_saved=rendered.parts_saved,
            urgent=urgent,
            send_after=next_send_time(now, urgent, quiet),
            queued_at=now,
        )
    ]


def _require(state: Message | None) -> Message:
    if state is None:
        raise MessageStateError("no such message", field="message_id")
    return state


def decide_start_sending(
    state: Message | None, now: datetime, *, opted_out: bool, policy: OptOutPolicy
) -> list[MessageEvent]:
    """Mark an attempt as begun before the provider call; an opt-out since queueing stops it."""
    message = _require(state)
    if message.status is not MessageStatus.QUEUED:
        raise MessageStateError(f"a {message.status.value} message is not waiting to be sent")
    if now < message.next_attempt_at:
        raise MessageNotDueError(f"{message.message_id} waits until {message.next_attempt_at}")
    if not may_send(message.kind, opted_out, policy):
        return [
            SmsSuppressed(
                message_id=message.message_id,
                cause_event_id=message.cause_event_id,
                kind=message.kind,
                recipient_phone=message.recipient_phone,
                reason="opted_out",
                suppressed_at=now,
            )
        ]
    return [
        SmsSendingStarted(
            message_id=message.message_id, attempt=message.attempts + 1, started_at=now
        )
    ]


def decide_record_sent(
    state: Message | None, provider: str, provider_message_id: str, now: datetime
) -> list[MessageEvent]:
    """The provider took the SMS; a receipt that raced ahead of this leaves nothing to add."""
    message = _require(state)
    if message.status in (MessageStatus.SENT, MessageStatus.DELIVERED):
        return []
    if message.status is not MessageStatus.SENDING:
        raise MessageStateError(f"a {message.status.value} message was not being sent")
    return [
        SmsSent(
            message_id=message.message_id,
            provider=provider,
            provider_message_id=provider_message_id,
            attempt=message.attempts,
            encoding=message.encoding,
            parts=message.parts,
            stripped=message.stripped,
            parts_saved=message.parts_saved,
            sent_at=now,
        )
    ]


def message_failed(message: Message, reason: str, now: datetime) -> SmsFailed:
    """The event that gives a message up, with what coordinators need to reach the person."""
    return SmsFailed(
        message_id=message.message_id,
        cause_event_id=message.cause_event_id,
        kind=message.kind,
        recipient_phone=message.recipient_phone,
        reason=reason,
        attempts=message.attempts,
        failed_at=now,
    )


def decide_record_failure(
    state: Message | None,
    reason: str,
    *,
    permanent: bool,
    now: datetime,
    retry: RetryPolicy,
    random: Callable[[], float],
    quiet: QuietHours,
    retry_after: timedelta | None = None,
) -> list[MessageEvent]:
    """Retry a passing failure later (backoff, jitter, quiet hours); give up when it cannot pass."""
    message = _require(state)
    if message.status is not MessageStatus.SENDING:
        raise MessageStateError(f"a {message.status.value} message was not being sent")
    if permanent or message.attempts >= retry.max_attempts:
        return [message_failed(message, reason, now)]
    retry_at = now + retry_delay(message.attempts, retry, random)
    if retry_after is not None:
        retry_at = max(retry_at, now + retry_after)
    retry_at = next_send_time(retry_at, message.urgent, quiet)
    return [
        SmsAttemptFailed(
            message_id=message.message_id,
            attempt=message.attempts,
            reason=reason,
            retry_at=retry_at,
            failed_at=now,
        )
    ]


def decide_record_delivery(
    state: Message | None,
    outcome: DeliveryOutcome,
    provider_message_id: str,
    now: datetime,
    error_code: str | None = None,
) -> list[MessageEvent]:
    """Turn a delivery receipt into an event once; repeated or late receipts add nothing."""
    message = _require(state)
    if message.status in (MessageStatus.DELIVERED, MessageStatus.FAILED):
        return []
    if message.status not in (MessageStatus.SENT, MessageStatus.SENDING):
        raise MessageStateError(f"a receipt for a {message.status.value} message")
    if outcome is DeliveryOutcome.DELIVERED:
        return [
            SmsDelivered(
                message_id=message.message_id,
                provider_message_id=provider_message_id,
                delivered_at=now,
            )
        ]
    reason = "undelivered" if error_code is None else f"undelivered (error {error_code})"
    return [message_failed(message, reason, now)]


class Consent(msgspec.Struct, frozen=True, kw_only=True):
    """Whether a phone number still wants SMS."""

    phone: str
    opted_out: bool = False
    changed_at: datetime | None = None


def evolve_consent(_state: Consent | None, event: RecipientOptedOut | RecipientOptedIn) -> Consent:
    """Fold opt-out and opt-in events of one phone number (the latest one decides)."""
    match event:
        case RecipientOptedOut():
            return Consent(phone=event.phone, opted_out=True, changed_at=event.opted_out_at)
        case RecipientOptedIn():
            return Consent(phone=event.phone, opted_out=False, changed_at=event.opted_in_at)
