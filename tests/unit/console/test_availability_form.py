"""The volunteer's week as the console's checkboxes state it."""

from __future__ import annotations

import pytest

from services.console.domain.availability import DAYS, UnknownBoxError, ticked, week_of


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
