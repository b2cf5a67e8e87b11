from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifications.domain.errors import InvalidScheduleError
from services.notifications.domain.quiet_hours import QuietHours, is_urgent, next_send_time
from shared.clock import VIETNAM
from shared.events.notifications import SmsKind

QUIET = QuietHours()


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 12, day, hour, minute, tzinfo=VIETNAM).astimezone(UTC)


def test_daytime_messages_go_at_once() -> None:
    now = local(5, 14)
    assert next_send_time(now, urgent=False, quiet=QUIET) == now


def test_a_late_evening_message_waits_until_seven_next_morning() -> None:
    assert next_send_time(local(5, 22, 15), urgent=False, quiet=QUIET) == local(6, 7)


def test_an_early_morning_message_waits_until_seven_the_same_morning() -> None:
    assert next_send_time(local(6, 5, 30), urgent=False, quiet=QUIET) == local(6, 7)


def test_quiet_hours_start_at_nine_and_end_at_seven() -> None:
    assert next_send_time(local(5, 20, 59), urgent=False, quiet=QUIET) == local(5, 20, 59)
    assert next_send_time(local(5, 21), urgent=False, quiet=QUIET) == local(6, 7)
    assert next_send_time(local(6, 7), urgent=False, quiet=QUIET) == local(6, 7)


def test_urgent_messages_ignore_quiet_hours() -> None:
    assert next_send_time(local(5, 23), urgent=True, quiet=QUIET) == local(5, 23)


def test_quiet_hours_inside_one_day_and_none_at_all() -> None:
    afternoon_nap = QuietHours(start=time(12), end=time(14))
    assert next_send_time(local(5, 13), urgent=False, quiet=afternoon_nap) == local(5, 14)
    assert next_send_time(local(5, 11), urgent=False, quiet=afternoon_nap) == local(5, 11)
    never = QuietHours(start=time(0), end=time(0))
    assert next_send_time(local(5, 23), urgent=False, quiet=never) == local(5, 23)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(InvalidScheduleError):
        next_send_time(datetime(2025, 12, 5, 22), urgent=False, quiet=QUIET)  # noqa: DTZ001


def test_a_same_day_cancellation_is_urgent() -> None:
    session = local(6, 14)
    assert is_urgent(SmsKind.RESIDENT_CANCELLED, local(6, 6), session, QUIET)


def test_a_late_night_cancellation_for_an_early_session_is_urgent() -> None:
    # Waiting until 07:00 would leave 30 minutes before a 07:30 session.
    assert is_urgent(SmsKind.RESIDENT_CANCELLED, local(5, 22), local(6, 7, 30), QUIET)


def test_a_cancellation_with_time_to_spare_waits_for_morning() -> None:
    assert not is_urgent(SmsKind.RESIDENT_CANCELLED, local(5, 22), local(6, 14), QUIET)


def test_reminders_and_bookings_are_never_urgent() -> None:
    assert not is_urgent(SmsKind.RESIDENT_REMINDER, local(6, 6), local(6, 8), QUIET)
    assert not is_urgent(SmsKind.RESIDENT_BOOKED, local(6, 6), local(6, 8), QUIET)


def test_answers_to_an_inbound_sms_are_urgent() -> None:
    assert is_urgent(SmsKind.REPLY_STOP_CONFIRMED, local(5, 23), None, QUIET)


EARLIEST = datetime(2020, 1, 1, tzinfo=UTC).replace(tzinfo=None)
LATEST = datetime(2035, 1, 1, tzinfo=UTC).replace(tzinfo=None)


@given(st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=st.just(UTC)))
def test_a_non_urgent_message_never_goes_in_quiet_hours_and_waits_under_ten_hours(
    now: datetime,
) -> None:
    at = next_send_time(now, urgent=False, quiet=QUIET)
    assert at >= now
    assert at - now <= timedelta(hours=10)
    assert not QUIET.contains(at.astimezone(VIETNAM).time())
