"""This weekend's heading says which weekend the page shows: this one, the next, or by dates."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from services.console import i18n
from services.console.pages.weekend import weekend_heading

SATURDAY = date(2026, 12, 19)
SUNDAY = date(2026, 12, 20)


@contextmanager
def reading(language: str) -> Iterator[None]:
    i18n.load_catalogs()
    token = i18n._current.set(language)  # as the language middleware sets it per request
    try:
        yield
    finally:
        i18n._current.reset(token)


def test_the_heading_names_this_weekend_the_next_and_later_ones_by_their_dates() -> None:
    with reading("vi"):
        vietnamese = [weekend_heading(weeks, SATURDAY, SUNDAY) for weeks in (0, 1, 2)]
    with reading("en"):
        english = [weekend_heading(weeks, SATURDAY, SUNDAY) for weeks in (0, 1, 2)]

    assert vietnamese == ["Cuối tuần này", "Cuối tuần sau", "Cuối tuần 19/12 – 20/12"]
    assert english == ["This weekend", "Next weekend", "The weekend of 19 December – 20 December"]
