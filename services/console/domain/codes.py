"""Sign-in codes: a 6-digit code sent by SMS, valid 5 minutes, used once; 5 wrong tries lock
the phone for 15 minutes.

Pure: the code is drawn, hashed and compared at the edge (`services/console/signin.py`); here
is only what a try means. A phone with no account gets a code record too (never sent), so that
its tries, locks and answers are those of a known phone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

CODE_DIGITS = 6
VALID_FOR = timedelta(minutes=5)
WRONG_TRIES = 5
LOCKED_FOR = timedelta(minutes=15)


@dataclass(frozen=True)
class CodeRecord:
    """What is kept of a phone's code: its keyed hash (never the code), and the tries."""

    code_hash: str | None
    expires_at: datetime
    wrong_tries: int = 0
    locked_until: datetime | None = None


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    EXPIRED = "expired"
    LOCKED = "locked"
    NO_CODE = "no_code"


@dataclass(frozen=True)
class Try:
    """What a try decided, and the record to keep after it (None: forget the record)."""

    outcome: Outcome
    record: CodeRecord | None


def is_locked(record: CodeRecord | None, now: datetime) -> bool:
    return record is not None and record.locked_until is not None and record.locked_until > now


def issue(record: CodeRecord | None, code_hash: str, now: datetime) -> CodeRecord | None:
    """A new code replaces the last one; a locked phone gets none (None) until the lock ends.
    Wrong tries carry over, so asking for a new code does not buy five more guesses."""
    if is_locked(record, now):
        return None
    tries = 0 if record is None or record.locked_until is not None else record.wrong_tries
    return CodeRecord(code_hash=code_hash, expires_at=now + VALID_FOR, wrong_tries=tries)


def try_code(  # noqa: PLR0911 (one return per outcome)
    record: CodeRecord | None,
    matches: bool,
    now: datetime,
) -> Try:
    """`matches`: the typed code's hash equals the record's (compared at the edge)."""
    if record is None:
        return Try(Outcome.NO_CODE, None)
    if is_locked(record, now):
        return Try(Outcome.LOCKED, record)
    if record.code_hash is None:
        return Try(Outcome.NO_CODE, record)
    if record.expires_at <= now:
        return Try(Outcome.EXPIRED, replace(record, code_hash=None))
    if matches:
        return Try(Outcome.ACCEPTED, None)
    tries = record.wrong_tries + 1
    if tries >= WRONG_TRIES:
        locked = CodeRecord(
            code_hash=None, expires_at=now, wrong_tries=0, locked_until=now + LOCKED_FOR
        )
        return Try(Outcome.LOCKED, locked)
    return Try(Outcome.WRONG, replace(record, wrong_tries=tries))
