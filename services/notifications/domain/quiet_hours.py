"""When an SMS may go: villages sleep early, so non-urgent messages wait out the quiet hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from services.notifications.domain.errors import InvalidScheduleError
from shared.clock import VIETNAM
from shared.events.notifications import SmsKind


@dataclass(frozen=True, kw_only=True)
class QuietHours:
    """Local hours without non-urgent SMS; start after end means the span crosses midnight."""

    start: time = time(21, 0)
    end: time = time(7, 0)
    zone: tzinfo = VIETNAM

    def contains(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


# Kinds that change plans a person may already be acting on.
TIME_CRITICAL_KINDS = frozenset(
    {
        SmsKind.RESIDENT_CANCELLED,
        SmsKind.RESIDENT_RESCHEDULED,
        SmsKind.RESIDENT_MOVED,
        SmsKind.RESIDENT_MOVED_TO_WAITLIST,
        SmsKind.ASSIGNMENT_RELEASED,
        SmsKind.ASSIGNMENT_CHANGED,
    }
)
# Answers to an SMS the person has just sent: they are awake and waiting for it.
REPLY_KINDS = frozenset(
    {
        SmsKind.REPLY_ACCEPT_OK,
        SmsKind.REPLY_DECLINE_OK,
        SmsKind.REPLY_STOP_CONFIRMED,
        SmsKind.REPLY_START_CONFIRMED,
        SmsKind.REPLY_HELP_RECEIVED,
        SmsKind.REPLY_UNKNOWN,
        SmsKind.REPLY_AMBIGUOUS,
        SmsKind.HELP_REQUEST_REFUSED,
        SmsKind.ERASURE_CODE_WRONG,
        SmsKind.ERASURE_CODE_EXPIRED,
        SmsKind.ERASURE_CODE_CANCELLED,
    }
)
# A change that would otherwise arrive less than this before the session goes at once.
SHORT_NOTICE = timedelta(hours=2)


def _require_aware(at: datetime, field: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidScheduleError(f"{field} must be timezone-aware", field=field)


def next_send_time(now: datetime, urgent: bool, quiet: QuietHours) -> datetime:
    """Now, unless the message is not urgent and it is quiet: then the end of the quiet hours."""
    _require_aware(now, "now")
    local = now.astimezone(quiet.zone)
    if urgent or not quiet.contains(local.time()):
        return now
    end = datetime.combine(local.date(), quiet.end, tzinfo=quiet.zone)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(now.tzinfo)


def is_urgent(
    kind: SmsKind,
    now: datetime,
    session_starts_at: datetime | None,
    quiet: QuietHours,
) -> bool:
    """Replies always are; a change is when it is same-day or would wait until too late."""
    if kind in REPLY_KINDS:
        return True
    if kind not in TIME_CRITICAL_KINDS or session_starts_at is None:
        return False
    _require_aware(session_starts_at, "session_starts_at")
    if session_starts_at.astimezone(quiet.zone).date() == now.astimezone(quiet.zone).date():
        return True
    deferred = next_send_time(now, urgent=False, quiet=quiet)
    return deferred + SHORT_NOTICE > session_starts_at
