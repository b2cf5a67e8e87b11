"""An interrupted send is settled by what the provider says about it: recorded sent when it
has the SMS, sent again when it has none, asked again later when it cannot say."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifications.domain.interrupted import (
    NOT_RESENT,
    Finding,
    FoundAtProvider,
    NoLookup,
    NotAtProvider,
    ProviderCopy,
    ProviderUnsure,
    decide_recover_interrupted,
    is_interrupted,
)
from services.notifications.domain.messages import (
    DeliveryOutcome,
    Message,
    MessageEvent,
    MessageStatus,
    OptOutPolicy,
    RetryPolicy,
    decide_start_sending,
    evolve,
)
from services.notifications.domain.quiet_hours import QuietHours
from shared.events.notifications import (
    SmsAttemptFailed,
    SmsDelivered,
    SmsFailed,
    SmsLookupFailed,
    SmsSent,
)
from tests.unit.notifications.test_messages import NOON, sending

LEASE = timedelta(minutes=1)
LATER = NOON + timedelta(minutes=5)
LOOKUPS = RetryPolicy(
    first_delay=timedelta(seconds=30), max_delay=timedelta(minutes=30), max_attempts=4
)
NO_QUIET = QuietHours(start=time(0, 0), end=time(0, 0))
NIGHT_QUIET = QuietHours(start=time(21, 0), end=time(7, 0))


def recover(
    state: Message,
    finding: Finding,
    now: datetime = LATER,
    *,
    taken: frozenset[str] = frozenset(),
    quiet: QuietHours = NO_QUIET,
) -> list[MessageEvent]:
    return decide_recover_interrupted(
        state,
        now,
        finding,
        provider="twilio",
        stale_after=LEASE,
        lookups=LOOKUPS,
        random=lambda: 0.5,
        quiet=quiet,
        taken=taken,
    )


def after(state: Message, events: list[MessageEvent]) -> Message:
    for event in events:
        state = evolve(state, event)
    return state


def found(*ids: str, outcome: DeliveryOutcome | None = None) -> FoundAtProvider:
    return FoundAtProvider(
        copies=tuple(
            ProviderCopy(provider_message_id=i, status="sent", outcome=outcome) for i in ids
        )
    )


@pytest.mark.parametrize(
    "finding", [found("SM1"), NotAtProvider(), ProviderUnsure(reason="503"), NoLookup()]
)
def test_an_attempt_within_its_lease_is_left_to_its_sender(finding: Finding) -> None:
    state = sending()
    assert not is_interrupted(state, NOON + LEASE / 2, stale_after=LEASE)
    assert recover(state, finding, NOON + LEASE / 2) == []


def test_a_message_found_at_the_provider_is_recorded_sent_under_its_id() -> None:
    state = sending()
    (event,) = recover(state, found("SM1"))

    assert isinstance(event, SmsSent)
    assert (event.provider, event.provider_message_id, event.attempt) == ("twilio", "SM1", 1)
    assert event.found_by_lookup
    assert after(state, [event]).status is MessageStatus.SENT


def test_a_copy_recorded_for_another_message_is_not_this_ones() -> None:
    state = sending()
    (second,) = recover(state, found("SM2", "SM1"), taken=frozenset({"SM2"}))
    (again,) = recover(state, found("SM2"), taken=frozenset({"SM2"}))

    assert isinstance(second, SmsSent)
    assert second.provider_message_id == "SM1"
    assert isinstance(again, SmsAttemptFailed)  # the only copy is another's: this one is not there
    assert after(state, [again]).status is MessageStatus.QUEUED


def test_a_copy_the_network_settled_is_recorded_with_its_outcome() -> None:
    state = sending()
    sent, delivered = recover(state, found("SM1", outcome=DeliveryOutcome.DELIVERED))
    _, failed = recover(state, found("SM1", outcome=DeliveryOutcome.UNDELIVERED))

    assert isinstance(sent, SmsSent)
    assert isinstance(delivered, SmsDelivered)
    assert after(state, [sent, delivered]).status is MessageStatus.DELIVERED
    assert isinstance(failed, SmsFailed)
    assert failed.reason == "undelivered (provider status sent)"


def test_a_message_the_provider_never_got_is_sent_again_now() -> None:
    state = sending()
    (event,) = recover(state, NotAtProvider())

    assert isinstance(event, SmsAttemptFailed)
    assert event.retry_at == LATER
    assert "no record" in event.reason
    again = after(state, [event])
    assert again.status is MessageStatus.QUEUED
    (started,) = decide_start_sending(again, LATER, opted_out=False, policy=OptOutPolicy())
    assert after(again, [started]).attempts == 2


def test_sending_again_waits_for_the_end_of_quiet_hours() -> None:
    evening = datetime(2025, 12, 5, 14, 10, tzinfo=UTC)  # 21:10 local
    state = sending(evening - timedelta(minutes=15))  # begun at 20:55
    (event,) = recover(state, NotAtProvider(), evening, quiet=NIGHT_QUIET)

    assert isinstance(event, SmsAttemptFailed)
    assert event.retry_at == datetime(2025, 12, 6, 0, 0, tzinfo=UTC)  # 07:00 local


def test_a_provider_that_cannot_say_is_asked_again_later_and_later() -> None:
    state = sending()
    (first,) = recover(state, ProviderUnsure(reason="twilio answered 503"))
    state = after(state, [first])
    (second,) = recover(
        state, ProviderUnsure(reason="twilio timed out"), LATER + timedelta(minutes=1)
    )

    assert isinstance(first, SmsLookupFailed)
    assert isinstance(second, SmsLookupFailed)
    assert (first.lookup, second.lookup) == (1, 2)
    assert first.retry_at - first.failed_at < second.retry_at - second.failed_at
    state = after(state, [second])
    assert state.status is MessageStatus.SENDING  # neither resent nor given up
    assert state.lookups == 2
    assert is_interrupted(state, second.retry_at, stale_after=LEASE)


def test_after_the_last_lookup_the_message_is_given_up_and_not_resent() -> None:
    state = sending()
    for _ in range(LOOKUPS.max_attempts - 1):
        state = after(state, recover(state, ProviderUnsure(reason="503")))
    (event,) = recover(state, ProviderUnsure(reason="503"))

    assert isinstance(event, SmsFailed)
    assert (
        event.reason == "interrupted: the provider could not say after 4 look-ups (503), not resent"
    )


def test_a_new_attempt_starts_its_lookups_afresh() -> None:
    state = after(sending(), recover(sending(), ProviderUnsure(reason="503")))
    state = after(state, recover(state, NotAtProvider()))
    (started,) = decide_start_sending(state, LATER, opted_out=False, policy=OptOutPolicy())

    assert state.lookups == 1
    assert after(state, [started]).lookups == 0


def test_a_provider_that_can_neither_be_asked_nor_drops_repeats_leaves_it_unsent() -> None:
    (event,) = recover(sending(), NoLookup())

    assert isinstance(event, SmsFailed)
    assert event.reason == NOT_RESENT


def test_a_message_settled_meanwhile_needs_nothing() -> None:
    state = sending()
    sent = after(state, recover(state, found("SM1")))
    assert recover(sent, NotAtProvider()) == []
    assert recover(sent, ProviderUnsure(reason="503")) == []


findings = st.one_of(
    st.builds(lambda i: found(f"SM{i}"), st.integers(0, 3)),
    st.just(NotAtProvider()),
    st.just(ProviderUnsure(reason="503")),
)


@given(st.lists(findings, min_size=1, max_size=12))
def test_answers_settle_the_message_or_it_is_asked_again_up_to_the_last_lookup(
    answers: list[Finding],
) -> None:
    state = sending()
    now = LATER
    for answer in answers:
        events = recover(state, answer, now)
        state = after(state, events)
        now += timedelta(hours=1)
        if state.status is not MessageStatus.SENDING:
            break
    # Settled as sent (with one id), queued to be sent again, given up, or still to be asked.
    assert state.status in {
        MessageStatus.SENT,
        MessageStatus.QUEUED,
        MessageStatus.FAILED,
        MessageStatus.SENDING,
    }
    if state.status is MessageStatus.SENDING:
        assert state.lookups < LOOKUPS.max_attempts
    if state.status is MessageStatus.FAILED:
        assert state.lookups == LOOKUPS.max_attempts - 1
