"""Staffing alerts: a session still understaffed 48 hours before it starts warns its coordinator.

Whether a session is staffed comes from the volunteers service's events; the handler passes it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.scheduler.domain.sessions import SessionState, SessionStatus
from shared.events.base import Event
from shared.events.scheduler import StaffingAlertRaised

ALERT_BEFORE_START = timedelta(hours=48)


def staffing_alert_due(
    session_start_utc: datetime, now: datetime, staffed: bool, already_alerted: bool
) -> bool:
    """Whether to warn now: understaffed, not yet warned, within 48 hours of a future start."""
    if staffed or already_alerted:
        return False
    return session_start_utc - ALERT_BEFORE_START <= now < session_start_utc


def decide_raise_staffing_alert(
    session: SessionState, *, staffed: bool, now: datetime
) -> list[Event]:
    """Raise the alert once per schedule (a reschedule re-arms it), or nothing."""
    if session.status is not SessionStatus.SCHEDULED:
        return []
    if not staffing_alert_due(session.when.starts_at, now, staffed, session.staffing_alerted):
        return []
    return [
        StaffingAlertRaised(
            session_id=session.session_id,
            coordinator_id=session.coordinator_id,
            commune_code=session.commune_code,
            venue=session.venue,
            when=session.when,
            volunteers_needed=session.volunteers_needed,
            raised_at=now,
        )
    ]
