"""When retention runs and what it reaches back to: pure rules both services' retention timers
share (the settings are `shared.settings.Retention`)."""

from __future__ import annotations

import calendar
from datetime import datetime, time, timedelta

from shared.clock import VIETNAM

# Once a day, at night in Vietnam, when hardly anyone books or texts.
RUNS_AT = time(3, 0)
# A run that found more due than one batch takes fires again this soon.
AGAIN_SOON = timedelta(minutes=1)


def next_daily_run(now: datetime) -> datetime:
    """The next RUNS_AT in Vietnam strictly after `now` (UTC)."""
    local = now.astimezone(VIETNAM)
    run = datetime.combine(local.date(), RUNS_AT, tzinfo=VIETNAM)
    if run <= local:
        run = datetime.combine(local.date() + timedelta(days=1), RUNS_AT, tzinfo=VIETNAM)
    return run.astimezone(now.tzinfo)


def next_run(now: datetime, *, more_due: bool) -> datetime:
    """Soon while a run left some due for the next batch; else the next night."""
    return now + AGAIN_SOON if more_due else next_daily_run(now)


def months_before(now: datetime, months: int) -> datetime:
    """The same moment `months` calendar months earlier (the 31st falls back to the month's end)."""
    index = now.year * 12 + now.month - 1 - months
    year, month = divmod(index, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)
