"""When a volunteer can help: the usual week's parts of days, corrected by dated exceptions.

A day has three parts (`HalfDay`): morning before 12:00, afternoon from 12:00, evening from
18:00. A slot takes every part it touches. Stating "afternoon" means free from noon on, the
evening included, as it always did; "evening" alone means from 18:00 (after a day's work).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

import msgspec

from services.volunteers.domain.errors import InvalidSlotError, InvalidVolunteerError
from services.volunteers.domain.registry import VolunteerState, require_kept
from shared.clock import VIETNAM
from shared.events.volunteers import (
    AvailabilityChanged,
    AvailabilityException,
    HalfDay,
    VolunteerId,
    WeeklyAvailability,
)

HalfDayKey = tuple[date, HalfDay]

NOON = time(12, 0)
EVENING = time(18, 0)
SATURDAY = 5
SUNDAY = 6
_PARTS = (HalfDay.MORNING, HalfDay.AFTERNOON, HalfDay.EVENING)
# The parts of a day a stated part gives.
_GIVES: dict[HalfDay, tuple[HalfDay, ...]] = {
    HalfDay.MORNING: (HalfDay.MORNING,),
    HalfDay.AFTERNOON: (HalfDay.AFTERNOON, HalfDay.EVENING),
    HalfDay.EVENING: (HalfDay.EVENING,),
}


def parts_given(stated: Iterable[HalfDay]) -> set[HalfDay]:
    """The parts of a day a volunteer who states these is free in."""
    return {part for half in stated for part in _GIVES[half]}


class ChangeAvailability(msgspec.Struct, frozen=True, kw_only=True):
    """Restate a volunteer's usual week (with a volunteer token or by a coordinator), and their
    dated exceptions when given: None keeps the stored ones, () clears them."""

    volunteer_id: VolunteerId
    availability: WeeklyAvailability
    exceptions: tuple[AvailabilityException, ...] | None = None


def decide_change_availability(
    state: VolunteerState, command: ChangeAvailability, now: datetime
) -> list[AvailabilityChanged]:
    """Record the new availability; exceptions for one date must not contradict each other."""
    require_kept(state)
    exceptions = state.exceptions if command.exceptions is None else command.exceptions
    seen: dict[tuple[date, HalfDay], bool] = {}
    for exception in exceptions:
        if not exception.half_days:
            raise InvalidVolunteerError("an exception names no half day", "exceptions")
        for half in sorted(parts_given(exception.half_days)):
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
            exceptions=tuple(sorted(exceptions, key=lambda e: e.on)),
            changed_at=now,
        )
    ]


def free_half_days(
    availability: WeeklyAvailability,
    exceptions: Iterable[AvailabilityException],
    dates: Iterable[date],
) -> frozenset[HalfDayKey]:
    """The parts of days among `dates` a volunteer can give: the usual week, then the
    exceptions."""
    wanted = set(dates)
    free: set[HalfDayKey] = set()
    for day in wanted:
        free.update((day, part) for part in parts_given(availability.on(day.weekday())))
    for exception in exceptions:
        if exception.on not in wanted:
            continue
        keys = {(exception.on, part) for part in parts_given(exception.half_days)}
        if exception.available:
            free |= keys
        else:
            free -= keys
    return frozenset(free)


def half_days_of(starts_at: datetime, ends_at: datetime) -> tuple[HalfDayKey, ...]:
    """The local parts of a day a slot occupies; it must end after it starts, on the same day."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidSlotError("slot times must be timezone-aware", "starts_at")
    if ends_at <= starts_at:
        raise InvalidSlotError("a slot must end after it starts", "ends_at")
    start = starts_at.astimezone(VIETNAM)
    end = (ends_at - timedelta(microseconds=1)).astimezone(VIETNAM)
    if start.date() != end.date():
        raise InvalidSlotError("a slot must start and end on the same local day", "ends_at")
    day = start.date()
    first, last = _PARTS.index(_part_at(start.time())), _PARTS.index(_part_at(end.time()))
    return tuple((day, part) for part in _PARTS[first : last + 1])


def _part_at(moment: time) -> HalfDay:
    if moment < NOON:
        return HalfDay.MORNING
    return HalfDay.AFTERNOON if moment < EVENING else HalfDay.EVENING
