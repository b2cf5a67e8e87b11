from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifications.domain.errors import (
    InvalidScheduleError,
    MessageNotDueError,
    MessageStateError,
)
from services.notifications.domain.messages import (
    DeliveryOutcome,
    Message,
    MessageStatus,
    OptOutPolicy,
    QueueSms,
    RetryPolicy,
    decide_queue,
    decide_record_delivery,
    decide_record_failure,
    decide_record_sent,
    decide_start_sending,
    evolve,
    may_send,
    message_id_for,
    retry_delay,
)
from services.notifications.domain.quiet_hours import QuietHours
from services.notifications.domain.templates import ResidentBookedContext, render
from shared.clock import VIETNAM
from shared.events.base import Event
from shared.events.notifications import (
    SmsAttemptFailed,
    SmsDelivered,
    SmsFailed,
    SmsKind,
    SmsLanguage,
    SmsQueued,
    SmsSendingStarted,
    SmsSent,
    SmsSuppressed,
)

CAUSE = UUID("0192f1a2-0000-7000-8000-000000000001")
PHONE = "+84912345678"
NOON = datetime(2025, 12, 5, 5, 0, tzinfo=UTC)  # 12:00 local
SESSION = datetime(2025, 12, 6, 1, 0, tzinfo=UTC)
QUIET = QuietHours()
POLICY = OptOutPolicy()
RETRY = RetryPolicy(
    first_delay=timedelta(seconds=30), max_delay=timedelta(minutes=10), max_attempts=3
)


def halfway() -> float:
    return 0.5


def queue_command(kind: SmsKind = SmsKind.RESIDENT_BOOKED) -> QueueSms:
    rendered = render(
        SmsKind.RESIDENT_BOOKED,
        SmsLanguage.VI,
        ResidentBookedContext(topic="VNeID", venue="Nhà văn hóa thôn 3", starts_at=SESSION),
        strip_diacritics=True,
    )
    return QueueSms(
        cause_event_id=CAUSE,
        recipient_phone=PHONE,
        kind=kind,
        language=SmsLanguage.VI,
        rendered=rendered,
        session_starts_at=SESSION,
    )


def fold(events: Iterable[Event], state: Message | None = None) -> Message | None:
    for event in events:
        assert isinstance(
            event,
            SmsQueued
            | SmsSuppressed
            | SmsSendingStarted
            | SmsAttemptFailed
            | SmsSent
            | SmsDelivered
            | SmsFailed,
        )
        state = evolve(state, event)
    return state


def queued(now: datetime = NOON) -> Message:
    state = fold(
        decide_queue(None, queue_command(), now, opted_out=False, quiet=QUIET, policy=POLICY)
    )
    assert state is not None
    return state


def sending(now: datetime = NOON) -> Message:
    state = queued(now)
    events = decide_start_sending(state, now, opted_out=False, policy=POLICY)
    result = fold(events, state)
    assert result is not None
    return result


def test_the_message_id_is_the_same_for_the_same_cause_recipient_and_kind() -> None:
    first = message_id_for(CAUSE, PHONE, SmsKind.RESIDENT_BOOKED)
    assert first == message_id_for(CAUSE, PHONE, SmsKind.RESIDENT_BOOKED)
    assert first.startswith("sms-")
    assert PHONE not in first
    assert first != message_id_for(CAUSE, PHONE, SmsKind.RESIDENT_REMINDER)
    assert first != message_id_for(CAUSE, "+84987654321", SmsKind.RESIDENT_BOOKED)


def test_queueing_records_text_cost_and_stripping() -> None:
    (event,) = decide_queue(
        None, queue_command(), NOON, opted_out=False, quiet=QUIET, policy=POLICY
    )
    assert isinstance(event, SmsQueued)
    assert event.message_id == message_id_for(CAUSE, PHONE, SmsKind.RESIDENT_BOOKED)
    assert event.stripped
    assert event.parts_saved >= 1
    assert event.send_after == NOON
    assert not event.urgent


def test_a_redelivered_cause_queues_nothing_new() -> None:
    state = queued()
    assert (
        decide_queue(state, queue_command(), NOON, opted_out=False, quiet=QUIET, policy=POLICY)
        == []
    )


def test_a_crash_after_queueing_leaves_the_message_to_send_once() -> None:
    # The queued event was stored, then the process died before the provider call:
    # replaying the stream finds it still queued, ready for exactly one attempt.
    state = queued()
    assert state.status is MessageStatus.QUEUED
    (started,) = decide_start_sending(state, NOON, opted_out=False, policy=POLICY)
    assert isinstance(started, SmsSendingStarted)
    assert started.attempt == 1
    with pytest.raises(MessageStateError):
        decide_start_sending(evolve(state, started), NOON, opted_out=False, policy=POLICY)


def test_a_message_queued_at_night_waits_for_morning() -> None:
    night = datetime(2025, 12, 4, 16, 0, tzinfo=UTC)  # 23:00 local
    state = queued(night)
    assert state.next_attempt_at == datetime(2025, 12, 5, 7, 0, tzinfo=VIETNAM)
    with pytest.raises(MessageNotDueError):
        decide_start_sending(state, night, opted_out=False, policy=POLICY)


def test_a_same_day_cancellation_goes_at_once_even_at_night() -> None:
    night = datetime(2025, 12, 5, 23, 30, tzinfo=UTC)  # 06:30 local on the session's day
    (event,) = decide_queue(
        None,
        queue_command(SmsKind.RESIDENT_CANCELLED),
        night,
        opted_out=False,
        quiet=QUIET,
        policy=POLICY,
    )
    assert isinstance(event, SmsQueued)
    assert event.urgent
    assert event.send_after == night


def test_a_sent_message_is_recorded_with_its_cost() -> None:
    state = sending()
    (event,) = decide_record_sent(state, "twilio", "SM123", NOON)
    assert isinstance(event, SmsSent)
    assert event.provider_message_id == "SM123"
    assert event.attempt == 1
    assert event.stripped == state.stripped
    assert event.parts_saved == state.parts_saved


def test_recording_the_send_twice_adds_nothing() -> None:
    state = fold(decide_record_sent(sending(), "twilio", "SM123", NOON), sending())
    assert decide_record_sent(state, "twilio", "SM123", NOON) == []


def test_a_temporary_failure_retries_with_exponential_backoff_and_jitter() -> None:
    state = sending()
    (event,) = decide_record_failure(
        state, "503", permanent=False, now=NOON, retry=RETRY, random=halfway, quiet=QUIET
    )
    assert isinstance(event, SmsAttemptFailed)
    # First delay 30 s, half of it random: 15 s + 0.5 * 15 s.
    assert event.retry_at == NOON + timedelta(seconds=22.5)
    retried = evolve(state, event)
    assert retried.status is MessageStatus.QUEUED
    with pytest.raises(MessageNotDueError):
        decide_start_sending(retried, NOON, opted_out=False, policy=POLICY)
    (again,) = decide_start_sending(retried, event.retry_at, opted_out=False, policy=POLICY)
    assert isinstance(again, SmsSendingStarted)
    assert again.attempt == 2


def test_retry_waits_at_least_as_long_as_the_provider_asked() -> None:
    (event,) = decide_record_failure(
        sending(),
        "429",
        permanent=False,
        now=NOON,
        retry=RETRY,
        random=halfway,
        quiet=QUIET,
        retry_after=timedelta(minutes=5),
    )
    assert isinstance(event, SmsAttemptFailed)
    assert event.retry_at == NOON + timedelta(minutes=5)


def test_a_retry_that_would_fall_in_quiet_hours_waits_for_morning() -> None:
    evening = datetime(2025, 12, 5, 13, 59, 50, tzinfo=UTC)  # 20:59:50 local
    state = sending(evening)
    (event,) = decide_record_failure(
        state, "503", permanent=False, now=evening, retry=RETRY, random=halfway, quiet=QUIET
    )
    assert isinstance(event, SmsAttemptFailed)
    assert event.retry_at == datetime(2025, 12, 6, 7, 0, tzinfo=VIETNAM)


def test_after_max_attempts_the_failure_is_permanent() -> None:
    state: Message | None = queued()
    now = NOON
    for _ in range(RETRY.max_attempts):
        assert state is not None
        state = fold(decide_start_sending(state, now, opted_out=False, policy=POLICY), state)
        events = decide_record_failure(
            state, "timeout", permanent=False, now=now, retry=RETRY, random=halfway, quiet=QUIET
        )
        state = fold(events, state)
        assert state is not None
        now = state.next_attempt_at
    assert state is not None
    assert state.status is MessageStatus.FAILED
    assert state.attempts == RETRY.max_attempts


def test_a_permanent_error_fails_at_once_with_its_reason() -> None:
    (event,) = decide_record_failure(
        sending(),
        "400 invalid number",
        permanent=True,
        now=NOON,
        retry=RETRY,
        random=halfway,
        quiet=QUIET,
    )
    assert isinstance(event, SmsFailed)
    assert event.reason == "400 invalid number"
    assert event.recipient_phone == PHONE
    assert event.cause_event_id == CAUSE


@given(attempt=st.integers(1, 30), draw=st.floats(0, 1, exclude_max=True))
def test_retry_delays_grow_and_stay_within_the_cap(attempt: int, draw: float) -> None:
    policy = RetryPolicy()
    delay = retry_delay(attempt, policy, lambda: draw)
    ceiling = min(policy.max_delay, policy.first_delay * 2 ** (attempt - 1))
    assert ceiling * (1 - policy.jitter) <= delay <= ceiling


def test_an_impossible_retry_policy_is_refused() -> None:
    with pytest.raises(InvalidScheduleError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(InvalidScheduleError):
        RetryPolicy(jitter=1.5)


def test_a_delivery_receipt_is_recorded_once() -> None:
    state = fold(decide_record_sent(sending(), "twilio", "SM1", NOON), sending())
    (event,) = decide_record_delivery(state, DeliveryOutcome.DELIVERED, "SM1", NOON)
    assert isinstance(event, SmsDelivered)
    delivered = evolve(state, event)
    assert decide_record_delivery(delivered, DeliveryOutcome.DELIVERED, "SM1", NOON) == []


def test_a_receipt_that_races_ahead_of_the_send_record_is_kept() -> None:
    state = sending()
    (event,) = decide_record_delivery(state, DeliveryOutcome.DELIVERED, "SM1", NOON)
    delivered = evolve(state, event)
    assert decide_record_sent(delivered, "twilio", "SM1", NOON) == []


def test_an_undelivered_receipt_fails_the_message() -> None:
    state = fold(decide_record_sent(sending(), "twilio", "SM1", NOON), sending())
    (event,) = decide_record_delivery(state, DeliveryOutcome.UNDELIVERED, "SM1", NOON, "30003")
    assert isinstance(event, SmsFailed)
    assert "30003" in event.reason


def test_an_opted_out_number_gets_nothing_but_its_opt_out_confirmation() -> None:
    assert may_send(SmsKind.REPLY_STOP_CONFIRMED, opted_out=True, policy=POLICY)
    for kind in SmsKind:
        if kind is not SmsKind.REPLY_STOP_CONFIRMED:
            assert not may_send(kind, opted_out=True, policy=POLICY)


def test_essential_cancellations_reach_opted_out_numbers_only_when_allowed() -> None:
    allowed = OptOutPolicy(allow_essential_cancellations=True)
    assert may_send(SmsKind.RESIDENT_CANCELLED, opted_out=True, policy=allowed)
    assert not may_send(SmsKind.RESIDENT_REMINDER, opted_out=True, policy=allowed)


def test_queueing_for_an_opted_out_number_is_suppressed_and_recorded() -> None:
    (event,) = decide_queue(None, queue_command(), NOON, opted_out=True, quiet=QUIET, policy=POLICY)
    assert isinstance(event, SmsSuppressed)
    state = evolve(None, event)
    assert state.status is MessageStatus.SUPPRESSED
    assert (
        decide_queue(state, queue_command(), NOON, opted_out=False, quiet=QUIET, policy=POLICY)
        == []
    )


def test_an_opt_out_after_queueing_stops_the_send() -> None:
    (event,) = decide_start_sending(queued(), NOON, opted_out=True, policy=POLICY)
    assert isinstance(event, SmsSuppressed)


def test_events_out_of_order_are_refused() -> None:
    with pytest.raises(MessageStateError):
        evolve(
            None,
            SmsSendingStarted(
                message_id=message_id_for(CAUSE, PHONE, SmsKind.RESIDENT_BOOKED),
                attempt=1,
                started_at=NOON,
            ),
        )
    with pytest.raises(MessageStateError):
        decide_record_sent(queued(), "twilio", "SM1", NOON)
