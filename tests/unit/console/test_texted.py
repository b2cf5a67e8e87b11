"""Who a cancellation texts: booked residents not opted out, volunteers asked or coming."""

from __future__ import annotations

from services.console.domain.texted import people_texted
from services.console.peers import SlotAssignment as Assignment


def held(status: str) -> Assignment:
    return Assignment(volunteer_id=f"v-{status}", status=status)


def test_opted_out_residents_and_volunteers_who_said_no_are_not_counted() -> None:
    assignments = [held(s) for s in ("proposed", "accepted", "declined", "released", "expired")]
    count = people_texted(["+84912000001", "+84912000002"], {"+84912000002"}, assignments)
    assert count == 3


def test_nobody_booked_and_nobody_asked_texts_nobody() -> None:
    assert people_texted([], set(), []) == 0
