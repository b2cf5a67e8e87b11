"""Whether each resident of a cancelled session was told, from the session's SMS as
notifications lists them (numbers masked)."""

from __future__ import annotations

from dataclasses import dataclass

from services.console.domain.told import cancellation_told


@dataclass(frozen=True)
class Message:
    kind: str
    recipient_phone: str
    status: str


HOA, BINH, TWIN = "+84912345678", "+84912345679", "+84987655678"


def test_each_residents_cancellation_sms_by_their_masked_number() -> None:
    messages = [
        Message("resident_booked", "+84*****5678", "delivered"),
        Message("resident_cancelled", "+84*****5678", "delivered"),
        Message("resident_cancelled", "+84*****5679", "suppressed"),
    ]

    assert cancellation_told([HOA, BINH], messages) == {HOA: "delivered", BINH: "suppressed"}


def test_a_resident_not_texted_yet_is_not_known() -> None:
    messages = [Message("resident_booked", "+84*****5678", "delivered")]

    assert cancellation_told([HOA], messages) == {HOA: None}


def test_two_residents_with_the_same_masked_number_are_not_guessed() -> None:
    messages = [Message("resident_cancelled", "+84*****5678", "failed")]

    assert cancellation_told([HOA, TWIN], messages) == {HOA: None, TWIN: None}
