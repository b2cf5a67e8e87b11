"""Reminder timers before a session: planned on booking, moved on reschedule, dropped on cancel.

Timers are plain values the handler stores (so they survive restarts); a timer's id is derived
from what it reminds of and when, so planning twice gives the same timers and firing one twice
queues the same SMS (the timer id is the SMS's cause).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import lru_cache
from uuid import UUID

import msgspec

from services.notifications.domain.errors import InvalidScheduleError
from shared.clock import VIETNAM
from shared.events.notifications import SmsKind
from shared.ids import derived_id


@dataclass(frozen=True, kw_only=True)
class EveningBefore:
    """A reminder at a fixed local time on an earlier day (default 19:00 the evening before)."""

    at: time = time(19, 0)
    days_before: int = 1

    @property
    def name(self) -> str:
        return f"day-{self.days_before}-{self.at:%H%M}"


@dataclass(frozen=True, kw_only=True)
class BeforeStart:
    """A reminder a fixed time before the session starts (default two hours)."""

    lead: timedelta = timedelta(hours=2)

    @property
    def name(self) -> str:
        return f"before-{int(self.lead.total_seconds()) // 60}m"


ReminderOffset = EveningBefore | BeforeStart

DEFAULT_OFFSETS: tuple[ReminderOffset, ...] = (EveningBefore(), BeforeStart())


class ReminderTimer(msgspec.Struct, frozen=True, kw_only=True):
    """One reminder to send at `due_at` about the session `target_id` (a booking or assignment)."""

    timer_id: UUID
    target_id: str
    kind: SmsKind
    offset: str
    starts_at: datetime
    due_at: datetime


def _check(offset: ReminderOffset) -> None:
    if isinstance(offset, EveningBefore) and offset.days_before < 1:
        raise InvalidScheduleError("days_before must be at least 1", field="days_before")
    if isinstance(offset, BeforeStart) and offset.lead <= timedelta(0):
        raise InvalidScheduleError("a reminder lead must be positive", field="lead")


@lru_cache(maxsize=4096)  # a session's residents all share its start: computed once each
def due_time(starts_at: datetime, offset: ReminderOffset, zone: tzinfo = VIETNAM) -> datetime:
    """When one offset's reminder for a session falls due, in UTC."""
    if starts_at.tzinfo is None:
        raise InvalidScheduleError("starts_at must be timezone-aware", field="starts_at")
    _check(offset)
    if isinstance(offset, BeforeStart):
        return starts_at - offset.lead
    day = starts_at.astimezone(zone).date() - timedelta(days=offset.days_before)
    return datetime.combine(day, offset.at, tzinfo=zone).astimezone(starts_at.tzinfo)


def plan_reminders(
    target_id: str,
    kind: SmsKind,
    starts_at: datetime,
    now: datetime,
    *,
    offsets: Sequence[ReminderOffset] = DEFAULT_OFFSETS,
    zone: tzinfo = VIETNAM,
) -> tuple[ReminderTimer, ...]:
    """The reminders still ahead for a session, earliest first; two at the same time become one."""
    timers: dict[datetime, ReminderTimer] = {}
    for offset in offsets:
        due = due_time(starts_at, offset, zone)
        if due <= now or due >= starts_at or due in timers:
            continue
        timers[due] = ReminderTimer(
            timer_id=derived_id(
                "reminder", target_id, kind.value, offset.name, due.astimezone(UTC).isoformat()
            ),
            target_id=target_id,
            kind=kind,
            offset=offset.name,
            starts_at=starts_at,
            due_at=due,
        )
    return tuple(sorted(timers.values(), key=lambda timer: timer.due_at))
