"""Which SMS a retention run blanks: settled ones older than the cutoff (a text still to be
sent is kept), unmatched answers by their number too; one batch a run, the rest next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notifications.domain.messages import MessageStatus
from services.notifications.domain.retention import batch_bound, text_due, unmatched_due
from shared.events.notifications import SmsKind

CUTOFF = datetime(2026, 3, 1, tzinfo=UTC)
BEFORE = CUTOFF - timedelta(days=1)


def test_a_settled_text_older_than_the_cutoff_is_due_one_to_be_sent_is_not() -> None:
    for status in (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.FAILED):
        assert text_due(status, BEFORE, "Bạn đã được hẹn", before=CUTOFF)
    for status in (MessageStatus.QUEUED, MessageStatus.SENDING):
        assert not text_due(status, BEFORE, "Bạn đã được hẹn", before=CUTOFF)
    assert not text_due(MessageStatus.SENT, CUTOFF, "Bạn đã được hẹn", before=CUTOFF)
    assert not text_due(MessageStatus.SENT, BEFORE, "", before=CUTOFF)  # blanked already


def test_only_answers_to_unmatched_inbound_sms_lose_their_number() -> None:
    phone = "+84912345678"

    assert unmatched_due(SmsKind.REPLY_UNKNOWN, MessageStatus.SENT, BEFORE, phone, before=CUTOFF)
    assert not unmatched_due(
        SmsKind.REPLY_STOP_CONFIRMED, MessageStatus.SENT, BEFORE, phone, before=CUTOFF
    )
    assert not unmatched_due(SmsKind.REPLY_UNKNOWN, MessageStatus.SENT, BEFORE, "", before=CUTOFF)
    assert not unmatched_due(
        SmsKind.REPLY_UNKNOWN, MessageStatus.QUEUED, BEFORE, phone, before=CUTOFF
    )


def test_a_run_reaches_the_cutoff_when_what_is_due_fits_in_a_batch() -> None:
    oldest = [BEFORE - timedelta(days=3), BEFORE - timedelta(days=2)]

    assert batch_bound(oldest, cutoff=CUTOFF, batch=2) == (CUTOFF, False)
    assert batch_bound([], cutoff=CUTOFF, batch=2) == (CUTOFF, False)


def test_a_run_stops_before_the_first_left_for_the_next_batch() -> None:
    times = [BEFORE - timedelta(days=n) for n in (5, 4, 3)]

    assert batch_bound(times, cutoff=CUTOFF, batch=2) == (times[2], True)


def test_a_batch_queued_at_one_instant_is_taken_whole_so_runs_move_on() -> None:
    same = [BEFORE] * 3

    bound, more = batch_bound(same, cutoff=CUTOFF, batch=2)

    assert bound > BEFORE
    assert more
