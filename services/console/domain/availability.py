"""A volunteer's usual week as the console's form states it: one box per day and part of day,
named "day:part" (e.g. "saturday:morning"); and a dated exception to it (away or free on a
date)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import NamedTuple

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


class DatedExceptionError(ValueError):
    """A dated exception the form cannot state; `field` names the input at fault and
    `reason` what is wrong with it (the page words it)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class DatedDay(NamedTuple):
    """Away on a date (`available` false) or free on it, for some parts of that day."""

    on: date
    available: bool
    half_days: tuple[str, ...]


def dated_day(on: str, kind: str, parts: Iterable[str], today: date) -> DatedDay:
    """What the dated-exception form states: a date from today on (in Vietnam), "away" or
    "free", and at least one part of the day, in the day's order."""
    try:
        day = date.fromisoformat(on.strip())
    except ValueError:
        raise DatedExceptionError("on", "not_a_date") from None
    if day < today:
        raise DatedExceptionError("on", "past")
    if kind not in ("away", "free"):
        raise DatedExceptionError("kind", "unknown")
    chosen = set(parts)
    if not chosen:
        raise DatedExceptionError("half_days", "none")
    if not chosen <= set(PARTS):
        raise DatedExceptionError("half_days", "unknown")
    return DatedDay(day, kind == "free", tuple(p for p in PARTS if p in chosen))
