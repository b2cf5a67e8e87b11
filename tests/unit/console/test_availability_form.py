"""The volunteer's week as the console's checkboxes state it, and a dated exception to it."""

from __future__ import annotations

from datetime import date

import pytest

from services.console.domain.availability import (
    DAYS,
    DatedDay,
    DatedExceptionError,
    UnknownBoxError,
    dated_day,
    ticked,
    week_of,
)

TODAY = date(2026, 12, 3)


def test_ticked_boxes_name_every_day_in_the_order_of_the_day() -> None:
    week = week_of(["sunday:evening", "sunday:morning", "saturday:morning", "sunday:morning"])
    assert list(week) == list(DAYS)
    assert week["sunday"] == ["morning", "evening"]
    assert week["saturday"] == ["morning"]
    assert week["monday"] == []


def test_the_boxes_of_a_week_are_the_ones_ticked_again() -> None:
    boxes = {"saturday:morning", "friday:evening"}
    assert ticked(week_of(boxes)) == boxes


@pytest.mark.parametrize("box", ["funday:morning", "saturday:night", "saturday", ""])
def test_a_box_the_form_does_not_have_is_refused(box: str) -> None:
    with pytest.raises(UnknownBoxError):
        week_of([box])


def test_a_dated_exception_names_its_parts_in_the_days_order() -> None:
    stated = dated_day("2026-12-05", "away", ["evening", "morning"], TODAY)
    assert stated == DatedDay(date(2026, 12, 5), available=False, half_days=("morning", "evening"))
    assert dated_day(" 2026-12-03 ", "free", ["afternoon"], TODAY).available


@pytest.mark.parametrize(
    ("on", "kind", "parts", "field", "reason"),
    [
        ("05/12/2026", "away", ["morning"], "on", "not_a_date"),
        ("", "away", ["morning"], "on", "not_a_date"),
        ("2026-12-02", "away", ["morning"], "on", "past"),
        ("2026-12-05", "maybe", ["morning"], "kind", "unknown"),
        ("2026-12-05", "free", [], "half_days", "none"),
        ("2026-12-05", "free", ["night"], "half_days", "unknown"),
    ],
)
def test_a_dated_exception_the_form_cannot_state_names_its_field(
    on: str, kind: str, parts: list[str], field: str, reason: str
) -> None:
    with pytest.raises(DatedExceptionError) as refused:
        dated_day(on, kind, parts, TODAY)
    assert (refused.value.field, refused.value.reason) == (field, reason)
