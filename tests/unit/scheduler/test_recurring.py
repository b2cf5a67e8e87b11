from __future__ import annotations

from datetime import date, time

import pytest

from services.scheduler.domain.errors import InvalidRecurrenceError
from services.scheduler.domain.recurring import (
    SessionTemplate,
    plan_recurring_sessions,
    vietnam_holidays,
)
from services.scheduler.domain.sessions import decide_schedule_session
from shared.events.scheduler import SessionId, Venue
from shared.events.vocabulary import Topic
from tests.unit.scheduler.builders import COORDINATOR, NOW, SCOPE, THIEU_TRUNG

SATURDAY, SUNDAY = 5, 6
TEMPLATE = SessionTemplate(
    commune_code=THIEU_TRUNG,
    venue=Venue(name="Nhà văn hóa", address="Thôn 2, xã Thiệu Trung"),
    start_local=time(8, 0),
    end_local=time(11, 0),
    topics=(Topic.VNEID_ACTIVATION,),
    capacity=20,
    coordinator_id=COORDINATOR,
)


def test_every_saturday_for_eight_weeks_from_the_first_saturday_on_or_after_the_start() -> None:
    plan = plan_recurring_sessions(TEMPLATE, date(2026, 3, 2), 8, SATURDAY, holidays_by_date={})
    assert plan.dates[0] == date(2026, 3, 7)
    assert len(plan.dates) == 8
    assert all(d.weekday() == SATURDAY for d in plan.dates)
    assert plan.skipped == ()


def test_skips_tet_2027_and_names_the_holiday() -> None:
    plan = plan_recurring_sessions(TEMPLATE, date(2027, 1, 23), 4, SATURDAY)
    assert plan.dates == (date(2027, 1, 23), date(2027, 1, 30), date(2027, 2, 13))
    [skipped] = plan.skipped
    assert skipped.local_date == date(2027, 2, 6)
    assert "Tết" in skipped.holiday
    sundays = plan_recurring_sessions(TEMPLATE, date(2027, 1, 31), 2, SUNDAY)
    assert sundays.dates == (date(2027, 1, 31),)
    assert sundays.skipped[0].local_date == date(2027, 2, 7)


def test_uses_the_holidays_it_is_given() -> None:
    plan = plan_recurring_sessions(
        TEMPLATE, date(2026, 3, 7), 2, SATURDAY, holidays_by_date={date(2026, 3, 14): "Ngày hội"}
    )
    assert plan.dates == (date(2026, 3, 7),)
    assert plan.skipped[0].holiday == "Ngày hội"


def test_holidays_span_the_years_a_plan_crosses() -> None:
    holidays = vietnam_holidays(range(2026, 2028))
    assert date(2026, 9, 2) in holidays
    assert date(2027, 2, 6) in holidays


@pytest.mark.parametrize(
    ("weeks", "weekday", "field"), [(8, 2, "weekday"), (0, 5, "weeks"), (53, 5, "weeks")]
)
def test_refuses_weekday_recurrences_and_odd_lengths(weeks: int, weekday: int, field: str) -> None:
    with pytest.raises(InvalidRecurrenceError) as error:
        plan_recurring_sessions(TEMPLATE, date(2026, 3, 2), weeks, weekday, holidays_by_date={})
    assert error.value.field == field


def test_each_planned_date_is_scheduled_through_the_session_rules() -> None:
    plan = plan_recurring_sessions(TEMPLATE, date(2026, 3, 2), 2, SUNDAY, holidays_by_date={})
    for n, day in enumerate(plan.dates):
        command = TEMPLATE.on(day, SessionId(f"session-{n}"))
        assert decide_schedule_session(None, command, now=NOW, scope=SCOPE)
