"""Ids: time-ordered (UUIDv7), derived from parts (UUIDv5), or both (UUIDv8)."""

from __future__ import annotations

import time
import uuid

from hypothesis import given
from hypothesis import strategies as st

from shared.ids import derived_id, derived_id_after, time_ordered, uuid7


def test_a_new_id_is_a_uuid7_that_sorts_by_time() -> None:
    first = uuid7()
    time.sleep(0.002)  # the clock passes a millisecond: what the ids are ordered by
    second = uuid7()

    assert (first.version, second.version) == (7, 7)
    assert first < second


@given(st.lists(st.text(), min_size=1, max_size=4))
def test_the_same_parts_after_the_same_origin_give_the_same_id(parts: list[str]) -> None:
    origin = uuid7()

    made = derived_id_after(origin, *parts)

    assert made == derived_id_after(origin, *parts)
    assert made.version == 8
    assert made.variant == uuid.RFC_4122
    assert made.int >> 80 == origin.int >> 80  # the origin's milliseconds
    assert derived_id_after(made, *parts).int >> 80 == origin.int >> 80  # and onwards


def test_ids_derived_after_later_origins_sort_later() -> None:
    early = uuid7()
    time.sleep(0.002)  # the clock passes a millisecond: what the ids are ordered by
    late = uuid7()

    assert derived_id_after(early, "sms", "x") < derived_id_after(late, "sms", "a")
    assert derived_id_after(early, "sms", "x") != derived_id_after(early, "sms", "y")


def test_without_a_time_ordered_origin_the_id_is_the_plain_derived_one() -> None:
    random = uuid.uuid4()

    assert derived_id_after(None, "a", "b") == derived_id("a", "b")
    assert derived_id_after(random, "a", "b") == derived_id("a", "b")


def test_only_uuid7_and_uuid8_text_counts_as_time_ordered() -> None:
    made = uuid7()

    assert time_ordered(str(made)) == made
    assert time_ordered(str(derived_id_after(made, "x"))) is not None
    assert time_ordered(str(uuid.uuid4())) is None
    assert time_ordered("POST:/help-requests:key-1") is None
    assert time_ordered(None) is None
