from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from services.notifications.domain.errors import InvalidScheduleError
from services.notifications.domain.reminders import (
    BeforeStart,
    EveningBefore,
    due_time,
    plan_reminders,
)
from shared.clock import VIETNAM
from shared.events.notifications import SmsKind


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 12, day, hour, minute, tzinfo=VIETNAM).astimezone(UTC)


SATURDAY_8AM = local(6, 8)
KIND = SmsKind.RESIDENT_REMINDER


def test_default_reminders_are_the_evening_before_and_two_hours_before() -> None:
    timers = plan_reminders("booking-1", KIND, SATURDAY_8AM, now=local(3, 10))
    assert [t.due_at for t in timers] == [local(5, 19), local(6, 6)]
    assert all(t.target_id == "booking-1" and t.kind is KIND for t in timers)


def test_offsets_are_configurable() -> None:
    offsets = (EveningBefore(at=time(18, 30), days_before=2), BeforeStart(lead=timedelta(hours=1)))
    timers = plan_reminders("booking-1", KIND, SATURDAY_8AM, now=local(1, 10), offsets=offsets)
    assert [t.due_at for t in timers] == [local(4, 18, 30), local(6, 7)]


def test_reminders_already_past_are_not_planned() -> None:
    timers = plan_reminders("booking-1", KIND, SATURDAY_8AM, now=local(5, 20))
    assert [t.due_at for t in timers] == [local(6, 6)]
    assert plan_reminders("booking-1", KIND, SATURDAY_8AM, now=local(6, 7)) == ()


def test_two_offsets_falling_at_the_same_time_give_one_reminder() -> None:
    evening_session = local(5, 21)
    offsets = (EveningBefore(at=time(19), days_before=1), BeforeStart(lead=timedelta(hours=26)))
    timers = plan_reminders("b", KIND, evening_session, now=local(1, 0), offsets=offsets)
    assert len(timers) == 1


def test_planning_twice_gives_the_same_timers() -> None:
    first = plan_reminders("booking-1", KIND, SATURDAY_8AM, now=local(3, 10))
    again = plan_reminders("booking-1", KIND, SATURDAY_8AM.astimezone(VIETNAM), now=local(4, 9))
    assert first == again


# A reschedule replans (notifications/handlers.py plan_reminders_for): the booking's timers are
# all dropped and the plan for the new time is set, so no timer of the old time survives. A
# cancellation drops them all, and a timer fires when due: through the handlers and the timer
# runner in tests/integration/notifications/test_consumers.py
# (test_a_reschedule_moves_reminders_and_a_cancellation_drops_them,
# test_a_reminder_timer_fires_the_reminder) and tests/integration/test_timers.py.
def test_a_reschedule_moves_the_reminders() -> None:
    existing = plan_reminders("booking-1", KIND, SATURDAY_8AM, now=local(3, 10))
    sunday = local(7, 14)
    moved = plan_reminders("booking-1", KIND, sunday, now=local(4, 10))
    assert {t.timer_id for t in existing}.isdisjoint({t.timer_id for t in moved})
    assert [t.due_at for t in moved] == [local(6, 19), local(7, 12)]


def test_rescheduling_to_the_same_time_changes_nothing() -> None:
    existing = plan_reminders("booking-1", KIND, SATURDAY_8AM, now=local(3, 10))
    again = plan_reminders("booking-1", KIND, SATURDAY_8AM, now=local(3, 11))
    assert again == existing


def test_impossible_offsets_are_refused() -> None:
    with pytest.raises(InvalidScheduleError):
        due_time(SATURDAY_8AM, BeforeStart(lead=timedelta(0)))
    with pytest.raises(InvalidScheduleError):
        due_time(SATURDAY_8AM, EveningBefore(days_before=0))
