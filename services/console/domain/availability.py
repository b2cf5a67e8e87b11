"""A volunteer's usual week as the console's form states it: one box per day and part of day,
named "day:part" (e.g. "saturday:morning")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

# Weekends first: they are the movement's sessions.
DAYS = ("saturday", "sunday", "monday", "tuesday", "wednesday", "thursday", "friday")
PARTS = ("morning", "afternoon", "evening")


class UnknownBoxError(ValueError):
    """A box the form does not have: a forged or stale form."""


def week_of(boxes: Iterable[str]) -> dict[str, list[str]]:
    """The week the ticked boxes say, every day named (an empty day is not free)."""
    week: dict[str, list[str]] = {day: [] for day in DAYS}
    for box in boxes:
        day, _, part = box.partition(":")
        if day not in week or part not in PARTS:
            raise UnknownBoxError(box)
        if part not in week[day]:
            week[day].append(part)
    return {day: sorted(parts, key=PARTS.index) for day, parts in week.items()}


def ticked(week: Mapping[str, Sequence[str]]) -> set[str]:
    """The boxes to tick for a week as the volunteers service states it."""
    return {f"{day}:{part}" for day, parts in week.items() for part in parts}
