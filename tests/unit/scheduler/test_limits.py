"""The public form's sliding window: at most so many requests per key in any window, and
how long a refused one must wait; and how the environment sets the limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.scheduler.limits import HelpRequestLimits, admit
from shared.clock import FixedClock
from shared.settings import ConfigError

MINUTE = 60_000_000  # microseconds


def test_admits_the_limit_then_says_how_long_to_wait() -> None:
    first = admit((), 0, 2, 10 * MINUTE)
    second = admit(first.hits or (), 4 * MINUTE, 2, 10 * MINUTE)
    third = admit(second.hits or (), 4 * MINUTE, 2, 10 * MINUTE)
    later = admit(second.hits or (), 10 * MINUTE, 2, 10 * MINUTE)

    assert first.hits == (0,)
    assert second.hits == (0, 4 * MINUTE)
    assert third == (None, 360)  # the first hit slides out six minutes later
    assert later.hits == (4 * MINUTE, 10 * MINUTE)  # it has slid out


def test_forgets_the_hits_that_slid_out_of_the_window() -> None:
    admitted = admit((1, 2, MINUTE + 5), MINUTE + 10, 3, MINUTE)

    assert admitted.hits == (MINUTE + 5, MINUTE + 10)


def test_a_lowered_limit_waits_for_enough_hits_to_slide_out() -> None:
    assert admit((0, MINUTE, 2 * MINUTE), 3 * MINUTE, 2, 10 * MINUTE) == (None, 8 * 60)


def test_a_refusal_waits_at_least_a_second() -> None:
    assert admit((0,), MINUTE - 1, 1, MINUTE) == (None, 1)


@given(
    gaps=st.lists(st.integers(min_value=0, max_value=3 * MINUTE), min_size=1, max_size=60),
    limit=st.integers(min_value=1, max_value=6),
)
def test_never_more_than_the_limit_in_any_window_and_refuses_only_when_full(
    gaps: list[int], limit: int
) -> None:
    window = 10 * MINUTE
    kept: tuple[int, ...] = ()
    admitted: list[int] = []
    now = 0
    for gap in gaps:
        now += gap
        outcome = admit(kept, now, limit, window)
        in_window = [hit for hit in admitted if hit > now - window]
        if outcome.hits is None:
            assert len(in_window) >= limit  # refused only when the window is full
            assert in_window[-limit] + window - now <= outcome.wait * 1_000_000
        else:
            assert len(in_window) < limit
            admitted.append(now)
            kept = outcome.hits
    for hit in admitted:
        assert len([other for other in admitted if hit <= other < hit + window]) <= limit


def test_the_environment_sets_or_lifts_the_limits() -> None:
    clock = FixedClock(datetime(2026, 3, 2, tzinfo=UTC))

    default = HelpRequestLimits.from_env(clock, {})
    assert (default.per_client, default.per_phone, default.lifted) == (20, 5, False)
    raised = HelpRequestLimits.from_env(clock, {"HANDINHAND_HELP_RATE_LIMIT": "300/10"})
    assert (raised.per_client, raised.per_phone) == (300, 10)
    lifted = HelpRequestLimits.from_env(clock, {"HANDINHAND_HELP_RATE_LIMIT": "none"})
    assert lifted.lifted


@pytest.mark.parametrize("raw", ["20", "0/5", "many/5", "20/5/1"])
def test_refuses_a_malformed_limit(raw: str) -> None:
    with pytest.raises(ConfigError, match="HANDINHAND_HELP_RATE_LIMIT"):
        HelpRequestLimits.from_env(
            FixedClock(datetime(2026, 3, 2, tzinfo=UTC)), {"HANDINHAND_HELP_RATE_LIMIT": raw}
        )
