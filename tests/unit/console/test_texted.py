"""Who a cancellation texts: booked residents and volunteers asked or coming, less the numbers
that opted out of SMS."""

from __future__ import annotations

from services.console.domain.texted import people_texted
from services.console.peers import SlotAssignment as Assignment


def held(status: str) -> Assignment:
    return Assignment(volunteer_id=f"v-{status}", status=status)


def test_opted_out_residents_and_volunteers_who_said_no_are_not_counted() -> None:
    assignments = [held(s) for s in ("proposed", "accepted", "declined", "released", "expired")]
    count = people_texted(["+84912000001", "+84912000002"], assignments, {}, {"+84912000002"})
    assert count == 3


def test_a_volunteer_whose_number_opted_out_is_not_counted() -> None:
    assignments = [held("proposed"), held("accepted")]
    phones = {"v-proposed": "+84912000011", "v-accepted": "+84912000012"}
    assert people_texted([], assignments, phones, {"+84912000012"}) == 1


def test_a_volunteer_whose_number_is_unknown_is_counted() -> None:
    assert people_texted([], [held("accepted")], {}, {"+84912000012"}) == 1


def test_nobody_booked_and_nobody_asked_texts_nobody() -> None:
    assert people_texted([], [], {}, set()) == 0
