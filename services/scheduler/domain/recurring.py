"""Recurring sessions: one session per week on a weekend day, skipping public holidays (Tết)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time, timedelta

import holidays
import msgspec

from services.scheduler.domain.errors import InvalidRecurrenceError
from services.scheduler.domain.sessions import SATURDAY, SUNDAY, ScheduleSession
from shared.errors import DomainError
from shared.events.scheduler import CoordinatorId, SessionId, Venue
from shared.events.vocabulary import Accessibility, Language, Topic

MAX_WEEKS = 52


class SessionTemplate(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a recurring session repeats; only the date changes."""

    commune_code: str
    venue: Venue
    start_local: time
    end_local: time
    topics: tuple[Topic, ...]
    capacity: int
    volunteers_needed: int = 1
    languages: tuple[Language, ...] = (Language.VI,)
    accessibility: tuple[Accessibility, ...] = ()
    coordinator_id: CoordinatorId

    def on(self, local_date: date, session_id: SessionId) -> ScheduleSession:
        """The command that schedules this template's session on one date."""
        return ScheduleSession(
            session_id=session_id,
            commune_code=self.commune_code,
            venue=self.venue,
            local_date=local_date,
            start_local=self.start_local,
            end_local=self.end_local,
            topics=self.topics,
            capacity=self.capacity,
            volunteers_needed=self.volunteers_needed,
            languages=self.languages,
            accessibility=self.accessibility,
            coordinator_id=self.coordinator_id,
        )


def for_series(error: DomainError, local_date: date) -> DomainError:
    """A session rule one date of a series broke, told in the series' words: the date is named,
    and a fault of the date is the series' `first_date` (the body has no `local_date`)."""
    message = f"{local_date.isoformat()}: {error.message}"
    error.message = message
    error.args = (message,)
    if error.field == "local_date":
        error.field = "first_date"
    return error


class SkippedDate(msgspec.Struct, frozen=True, kw_only=True):
    """A week left out because it falls on a public holiday, named for the coordinator."""

    local_date: date
    holiday: str


class RecurringPlan(msgspec.Struct, frozen=True, kw_only=True):
    """The dates to schedule and the holiday dates skipped."""

    dates: tuple[date, ...]
    skipped: tuple[SkippedDate, ...]


def vietnam_holidays(years: range | list[int], language: str = "vi") -> dict[date, str]:
    """Vietnam's public holidays, Tết included, by date, named in Vietnamese by default."""
    calendar = holidays.country_holidays("VN", years=list(years), language=language)
    return {day: str(name) for day, name in sorted(calendar.items())}


def plan_recurring_sessions(
    template: SessionTemplate,
    first_date: date,
    weeks: int,
    weekday: int,
    holidays_by_date: Mapping[date, str] | None = None,
) -> RecurringPlan:
    """Every `weekday` (5 Saturday, 6 Sunday) for `weeks` weeks from `first_date`, less holidays.

    Holidays default to Vietnam's official list for the years the plan spans. The template is
    checked here so a bad one fails before any session exists; each date is then scheduled
    with `template.on(date, session_id)`, which applies every session rule.
    """
    if template.end_local <= template.start_local:
        raise InvalidRecurrenceError("the session must end after it starts", field="end_local")
    if template.capacity < 1:
        raise InvalidRecurrenceError("capacity must be at least 1", field="capacity")
    if weekday not in {SATURDAY, SUNDAY}:
        raise InvalidRecurrenceError(
            "recurring sessions repeat on Saturday (5) or Sunday (6)", field="weekday"
        )
    if not 1 <= weeks <= MAX_WEEKS:
        raise InvalidRecurrenceError(f"repeat for 1 to {MAX_WEEKS} weeks", field="weeks")
    start = first_date + timedelta(days=(weekday - first_date.weekday()) % 7)
    every = [start + timedelta(weeks=n) for n in range(weeks)]
    if holidays_by_date is None:
        holidays_by_date = vietnam_holidays(range(every[0].year, every[-1].year + 1))
    dates = tuple(d for d in every if d not in holidays_by_date)
    skipped = tuple(
        SkippedDate(local_date=d, holiday=holidays_by_date[d])
        for d in every
        if d in holidays_by_date
    )
    return RecurringPlan(dates=dates, skipped=skipped)
