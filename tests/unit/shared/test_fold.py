from __future__ import annotations

from shared.events.fold import fold


def _count(state: int | None, event: str) -> int:
    return (state or 0) + len(event)


def test_folds_each_event_in_turn_from_the_given_state() -> None:
    assert fold(lambda state, event: [*state, event], ["a", "b"], ["start"]) == ["start", "a", "b"]


def test_a_stream_that_never_started_folds_to_none() -> None:
    assert fold(_count, []) is None
    assert fold(_count, ["ab", "c"]) == 3
