"""Staffing alerts: a session still understaffed 48 hours before it starts warns its coordinator.

Whether a session is staffed comes from the volunteers service's events; the handler passes it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from services.scheduler.domain.sessions import SessionState, SessionStatus
from shared.events.base import Event
from shared.events.scheduler import StaffingAlertRaised
from shared.events.vocabulary import Language, Skill
from shared.events.volunteers import SessionStaffed, SessionUnderstaffed, SlotKind

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


class StaffingReport(msgspec.Struct, frozen=True, kw_only=True):
    """What the volunteers service said about one slot, as the scheduler records it."""

    slot_stream: str
    home_visit: bool
    staffed: bool
    volunteer_ids: tuple[str, ...] = ()
    missing_count: int = 0
    missing_skills: tuple[Skill, ...] = ()
    missing_languages: tuple[Language, ...] = ()
    reported_at: datetime


def slot_stream(slot_id: str, kind: SlotKind) -> str:
    """The scheduler stream a volunteers slot is about (its id with or without the prefix)."""
    prefix = "session-" if kind is SlotKind.SESSION else "visit-"
    return slot_id if slot_id.startswith(prefix) else f"{prefix}{slot_id}"


def staffing_report(event: SessionStaffed | SessionUnderstaffed) -> StaffingReport:
    """The volunteers service's staffing event, as the slot's stream will record it."""
    target = slot_stream(event.slot_id, event.slot_kind)
    home_visit = event.slot_kind is SlotKind.HOME_VISIT
    if isinstance(event, SessionStaffed):
        return StaffingReport(
            slot_stream=target,
            home_visit=home_visit,
            staffed=True,
            volunteer_ids=tuple(event.volunteer_ids),
            reported_at=event.staffed_at,
        )
    return StaffingReport(
        slot_stream=target,
        home_visit=home_visit,
        staffed=False,
        missing_count=event.missing_count,
        missing_skills=event.missing_skills,
        missing_languages=event.missing_languages,
        reported_at=event.reported_at,
    )
