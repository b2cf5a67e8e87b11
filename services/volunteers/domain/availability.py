"""When a volunteer can help: the usual weekend half days, corrected by dated exceptions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

import msgspec

from services.volunteers.domain.errors import InvalidSlotError, InvalidVolunteerError
from services.volunteers.domain.registry import VolunteerState, require_registered
from shared.clock import VIETNAM
from shared.events.volunteers import (
    AvailabilityChanged,
    AvailabilityException,
    HalfDay,
    VolunteerId,
    WeekendAvailability,
)

HalfDayKey = tuple[date, HalfDay]

# Afternoon starts at noon local time; a slot starting before noon and ending after it takes both.
NOON = time(12, 0)
SATURDAY = 5
SUNDAY = 6


class ChangeAvailability(msgspec.Struct, frozen=True, kw_only=True):
    """Restate a volunteer's weekends (with a volunteer token or by a coordinator)."""

    volunteer_id: VolunteerId
    availability: WeekendAvailability
    exceptions: tuple[AvailabilityException, ...] = ()


def decide_change_availability(
    state: VolunteerState, command: ChangeAvailability, now: datetime
) -> list[AvailabilityChanged]:
    """Record the new availability; exceptions for one date must not contradict each other."""
    require_registered(state)
    seen: dict[tuple[date, HalfDay], bool] = {}
    for exception in command.exceptions:
        if not exception.half_days:
            raise InvalidVolunteerError("an exception names no half day", "exceptions")
        for half in exception.half_days:
            key = (exception.on, half)
            if seen.get(key, exception.available) != exception.available:
                raise InvalidVolunteerError(
                    f"{exception.on} {half} is marked both available and unavailable",
                    "exceptions",
                )
            seen[key] = exception.available
    return [
        AvailabilityChanged(
            volunteer_id=command.volunteer_id,
            availability=command.availability,
            exceptions=tuple(sorted(command.exceptions, key=lambda e: e.on)),
            changed_at=now,
        )
    ]


def free_half_days(
    availability: WeekendAvailability,
    exceptions: Iterable[AvailabilityException],
    dates: Iterable[date],
) -> frozenset[HalfDayKey]:
    """The half days among `dates` a volunteer can give: the usual weekend, then the exceptions."""
    wanted = set(dates)
    free: set[HalfDayKey] = set()
    for day in wanted:
        if day.weekday() == SATURDAY:
            free.update((day, half) for half in availability.saturday)
        elif day.weekday() == SUNDAY:
            free.update((day, half) for half in availability.sunday)
    for exception in exceptions:
        if exception.on not in wanted:
            continue
        keys = {(exception.on, half) for half in exception.half_days}
        if exception.available:
            free |= keys
        else:
            free -= keys
    return frozenset(free)


def half_days_of(starts_at: datetime, ends_at: datetime) -> tuple[HalfDayKey, ...]:
    """The local half days a slot occupies; a slot must end after it starts, on the same day."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidSlotError("slot times must be timezone-aware", "starts_at")
    if ends_at <= starts_at:
        raise InvalidSlotError("a slot must end after it starts", "ends_at")
    start = starts_at.astimezone(VIETNAM)
    end = (ends_at - timedelta(microseconds=1)).astimezone(VIETNAM)
    if start.date() != end.date():
        raise InvalidSlotError("a slot must start and end on the same local day", "ends_at")
    day = start.date()
    first = HalfDay.MORNING if start.time() < NOON else HalfDay.AFTERNOON
    last = HalfDay.MORNING if end.time() < NOON else HalfDay.AFTERNOON
    if first == last:
        return ((day, first),)
    return ((day, HalfDay.MORNING), (day, HalfDay.AFTERNOON))
