"""Sign-in codes as rules: valid 5 minutes, used once, 5 wrong tries lock for 15 minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.console.domain.codes import (
    LOCKED_FOR,
    VALID_FOR,
    WRONG_TRIES,
    CodeRecord,
    Outcome,
    issue,
    try_code,
)
from services.console.domain.limits import Window, admit

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


def issued(now: datetime = NOW) -> CodeRecord:
    record = issue(None, "hash-1", now)
    assert record is not None
    return record


def test_a_new_code_is_valid_for_five_minutes() -> None:
    assert issued().expires_at == NOW + VALID_FOR


def test_the_right_code_is_accepted_and_forgotten() -> None:
    tried = try_code(issued(), matches=True, now=NOW + timedelta(minutes=4))
    assert tried.outcome is Outcome.ACCEPTED
    assert tried.record is None  # single use: nothing left to accept again


def test_a_code_past_its_five_minutes_is_expired_even_when_right() -> None:
    tried = try_code(issued(), matches=True, now=NOW + VALID_FOR)
    assert tried.outcome is Outcome.EXPIRED
    assert tried.record is not None
    assert tried.record.code_hash is None


def test_no_code_asked_for_is_no_code() -> None:
    assert try_code(None, matches=False, now=NOW).outcome is Outcome.NO_CODE


def test_the_fifth_wrong_try_locks_the_phone_for_fifteen_minutes() -> None:
    record: CodeRecord | None = issued()
    outcomes = []
    for _ in range(WRONG_TRIES):
        assert record is not None
        tried = try_code(record, matches=False, now=NOW)
        outcomes.append(tried.outcome)
        record = tried.record
    assert outcomes == [Outcome.WRONG] * (WRONG_TRIES - 1) + [Outcome.LOCKED]
    assert record is not None
    assert record.locked_until == NOW + LOCKED_FOR
    assert try_code(record, matches=True, now=NOW + LOCKED_FOR / 2).outcome is Outcome.LOCKED


def test_a_locked_phone_gets_no_new_code_until_the_lock_ends() -> None:
    locked = CodeRecord(code_hash=None, expires_at=NOW, locked_until=NOW + LOCKED_FOR)
    assert issue(locked, "hash-2", NOW + LOCKED_FOR / 2) is None
    after = issue(locked, "hash-2", NOW + LOCKED_FOR)
    assert after is not None
    assert after.wrong_tries == 0


def test_asking_for_a_new_code_does_not_buy_more_guesses() -> None:
    record = CodeRecord(code_hash="hash-1", expires_at=NOW + VALID_FOR, wrong_tries=3)
    again = issue(record, "hash-2", NOW)
    assert again is not None
    assert again.wrong_tries == 3


def test_requests_beyond_the_limit_wait_for_the_window_to_end() -> None:
    window = timedelta(hours=1)
    first = admit(None, NOW, 2, window)
    second = admit(first.window, NOW + timedelta(minutes=1), 2, window)
    third = admit(second.window, NOW + timedelta(minutes=30), 2, window)
    fresh = admit(second.window, NOW + window, 2, window)
    assert second.window == Window(started_at=NOW, count=2)
    assert third.window is None
    assert third.wait == 30 * 60
    assert fresh.window == Window(started_at=NOW + window, count=1)
