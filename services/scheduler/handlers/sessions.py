"""A session's life: schedule, reschedule, change capacity, cancel, complete, attendance, and
the 48-hour staffing check (its timer)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from services.scheduler.domain.attendance import RecordAttendance, decide_record_attendance
from services.scheduler.domain.sessions import (
    CancelSession,
    ChangeCapacity,
    CompleteSession,
    RescheduleSession,
    ScheduleSession,
    SessionState,
    decide_cancel_session,
    decide_change_capacity,
    decide_complete_session,
    decide_reschedule_session,
    decide_schedule_session,
)
from services.scheduler.domain.staffing import ALERT_BEFORE_START, decide_raise_staffing_alert
from services.scheduler.handlers.bookings import fill_from_waitlist, place_again
from services.scheduler.handlers.places import commune_villages
from services.scheduler.handlers.streams import SessionStream, load_session
from services.scheduler.memory import Memory
from services.scheduler.tables import timers
from shared.events.base import Cause
from shared.events.scheduler import ResidentMovedToWaitlist, SessionCancelled
from shared.ids import uuid7
from shared.store.eventstore import Transaction
from shared.store.timers import Timer, cancel_timer, set_timer

STAFFING_ALERT = "staffing_alert"
# A session planned less than 48 hours ahead is checked this long after it is scheduled, so
# the volunteers service has a chance to staff it first.
ALERT_GRACE = timedelta(minutes=30)


def alert_timer_id(session_id: str) -> str:
    return f"staffing-alert:{session_id}"


async def _arm_staffing_alert(tx: Transaction, session: SessionState, *, now: datetime) -> None:
    """Check staffing 48 hours before the start (or soon, for a session planned late)."""
    starts_at = session.when.starts_at
    due = max(starts_at - ALERT_BEFORE_START, now + ALERT_GRACE)
    if due >= starts_at:
        await cancel_timer(tx, timers, alert_timer_id(session.session_id))
        return
    await set_timer(
        tx,
        timers,
        alert_timer_id(session.session_id),
        STAFFING_ALERT,
        due,
        {"session_id": session.session_id},
    )


async def schedule_session(
    tx: Transaction,
    command: ScheduleSession,
    *,
    memory: Memory,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> SessionStream:
    """Put a session on the calendar, arm its staffing check and fill it from the waitlist."""
    stream = await load_session(tx, command.session_id, memory=memory)
    events = decide_schedule_session(
        stream.state,
        command,
        now=now,
        scope=scope,
        places=await commune_villages(tx, command.commune_code, now=now, memory=memory),
    )
    await stream.append(tx, events, cause)
    session = stream.require()
    await _arm_staffing_alert(tx, session, now=now)
    await fill_from_waitlist(tx, stream, memory=memory, now=now, cause=cause)
    return stream


async def reschedule_session(
    tx: Transaction,
    command: RescheduleSession,
    *,
    memory: Memory,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> SessionStream:
    """Move a session; its staffing check moves with it."""
    stream = await load_session(tx, command.session_id, memory=memory)
    places = (
        await commune_villages(tx, stream.state.commune_code, now=now, memory=memory)
        if stream.state
        else None
    )
    events = decide_reschedule_session(
        stream.state,
        command,
        now=now,
        scope=scope,
        places=places,
    )
    await stream.append(tx, events, cause)
    await _arm_staffing_alert(tx, stream.require(), now=now)
    return stream


async def change_capacity(
    tx: Transaction,
    command: ChangeCapacity,
    *,
    memory: Memory,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> SessionStream:
    """Change capacity: more places fill from the waitlist, named bookings move back to it (and
    are placed in another session when one fits)."""
    stream = await load_session(tx, command.session_id, memory=memory)
    events = decide_change_capacity(stream.state, command, now=now, scope=scope)
    await stream.append(tx, events, cause)
    for event in events:
        if isinstance(event, ResidentMovedToWaitlist):
            await place_again(tx, event.resident.request_id, memory=memory, now=now, cause=cause)
    await fill_from_waitlist(tx, stream, memory=memory, now=now, cause=cause)
    return stream


async def cancel_session(
    tx: Transaction,
    command: CancelSession,
    *,
    memory: Memory,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> SessionStream:
    """Cancel a session; its residents wait again and are placed elsewhere when a session fits."""
    stream = await load_session(tx, command.session_id, memory=memory)
    events = decide_cancel_session(stream.state, command, now=now, scope=scope)
    await stream.append(tx, events, cause)
    await cancel_timer(tx, timers, alert_timer_id(command.session_id))
    for event in events:
        if isinstance(event, SessionCancelled):
            for affected in event.affected:
                await place_again(
                    tx, affected.resident.request_id, memory=memory, now=now, cause=cause
                )
    return stream


async def complete_session(
    tx: Transaction,
    command: CompleteSession,
    *,
    memory: Memory,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> SessionStream:
    stream = await load_session(tx, command.session_id, memory=memory)
    events = decide_complete_session(stream.state, command, now=now, scope=scope)
    await stream.append(tx, events, cause)
    await cancel_timer(tx, timers, alert_timer_id(command.session_id))
    return stream


async def record_attendance(
    tx: Transaction,
    command: RecordAttendance,
    *,
    memory: Memory,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> SessionStream:
    stream = await load_session(tx, command.session_id, memory=memory)
    events = decide_record_attendance(stream.require(), command, now=now, scope=scope)
    await stream.append(tx, events, cause)
    return stream


async def raise_staffing_alert(
    tx: Transaction, timer: Timer, *, memory: Memory, now: datetime
) -> None:
    """The 48-hour check: alert the coordinator if the session is still not staffed."""
    stream = await load_session(tx, str(timer.payload["session_id"]), memory=memory)
    if stream.state is None:
        return
    events = decide_raise_staffing_alert(stream.state, staffed=stream.staffed, now=now)
    cause = Cause(correlation_id=uuid7(), id_seed=f"timer:{timer.id}:{timer.due_at.isoformat()}")
    await stream.append(tx, events, cause)
