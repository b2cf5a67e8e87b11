"""When the retention runs fire and how far back they reach: pure time rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.retention import months_before, next_daily_run, next_run


def test_runs_at_three_in_the_night_in_vietnam() -> None:
    morning = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 09:00 local
    just_before = datetime(2026, 3, 2, 19, 59, tzinfo=UTC)  # 02:59 local, the next day

    assert next_daily_run(morning) == datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    assert next_daily_run(just_before) == datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    # at the run itself: the next night
    assert next_daily_run(datetime(2026, 3, 2, 20, 0, tzinfo=UTC)) == datetime(
        2026, 3, 3, 20, 0, tzinfo=UTC
    )


def test_a_run_that_left_some_due_fires_again_within_minutes() -> None:
    now = datetime(2026, 3, 2, 20, 0, tzinfo=UTC)

    assert next_run(now, more_due=True) == now + timedelta(minutes=1)
    assert next_run(now, more_due=False) == datetime(2026, 3, 3, 20, 0, tzinfo=UTC)


def test_months_are_calendar_months_and_a_missing_day_is_the_months_end() -> None:
    assert months_before(datetime(2027, 3, 10, 2, 0, tzinfo=UTC), 12) == datetime(
        2026, 3, 10, 2, 0, tzinfo=UTC
    )
    assert months_before(datetime(2026, 3, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 13) == datetime(
        2024, 12, 15, tzinfo=UTC
    )
