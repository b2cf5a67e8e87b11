"""The public form's sliding window: a limit per key, counted over a moving window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.scheduler.limits import HelpRequestLimits, SlidingWindow
from shared.clock import FixedClock
from shared.settings import ConfigError
from shared.web.problems import TooManyRequestsError


def test_allows_the_limit_then_says_how_long_to_wait() -> None:
    clock = FixedClock(datetime(2026, 3, 2, tzinfo=UTC))
    window = SlidingWindow(clock, 2, timedelta(minutes=10))

    assert window.retry_after("a") is None
    clock.advance(timedelta(minutes=4))
    assert window.retry_after("a") is None
    assert window.retry_after("a") == 360
    assert window.retry_after("b") is None  # keys are counted apart
    clock.advance(timedelta(minutes=6))
    assert window.retry_after("a") is None  # the first hit slid out of the window


def test_limits_clients_and_phones_separately() -> None:
    limits = HelpRequestLimits(
        FixedClock(datetime(2026, 3, 2, tzinfo=UTC)), per_client=1, per_phone=1
    )
    limits.check_client("10.0.0.1")
    limits.check_phone("+84912345678")
    with pytest.raises(TooManyRequestsError) as raised:
        limits.check_phone("+84912345678")
    assert raised.value.retry_after == 3600
    with pytest.raises(TooManyRequestsError):
        limits.check_client("10.0.0.1")


def test_the_environment_sets_or_lifts_the_limits() -> None:
    clock = FixedClock(datetime(2026, 3, 2, tzinfo=UTC))

    default = HelpRequestLimits.from_env(clock, {})
    assert (default.per_client, default.per_phone, default.lifted) == (20, 5, False)
    raised = HelpRequestLimits.from_env(clock, {"HANDINHAND_HELP_RATE_LIMIT": "300/10"})
    assert (raised.per_client, raised.per_phone) == (300, 10)
    lifted = HelpRequestLimits.from_env(clock, {"HANDINHAND_HELP_RATE_LIMIT": "none"})
    for _ in range(50):
        lifted.check_client("127.0.0.1")
        lifted.check_phone("+84912345678")


@pytest.mark.parametrize("raw", ["20", "0/5", "many/5", "20/5/1"])
def test_refuses_a_malformed_limit(raw: str) -> None:
    with pytest.raises(ConfigError, match="HANDINHAND_HELP_RATE_LIMIT"):
        HelpRequestLimits.from_env(
            FixedClock(datetime(2026, 3, 2, tzinfo=UTC)), {"HANDINHAND_HELP_RATE_LIMIT": raw}
        )
