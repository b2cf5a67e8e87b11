"""What the scheduler does when another service speaks: staffing reported by the volunteers
service, a help request sent by SMS."""

from __future__ import annotations

import logging
from datetime import datetime

from services.scheduler.domain.errors import HelpRequestRejectedError
from services.scheduler.domain.sms import refusal_reasons, request_from_sms
from services.scheduler.domain.staffing import decide_raise_staffing_alert, staffing_report
from services.scheduler.handlers.placing import RequestOutcome, request_help
from services.scheduler.handlers.streams import load_session, load_visit
from services.scheduler.memory import Memory
from shared.events.base import Cause
from shared.events.notifications import HelpRequestedBySms
from shared.events.scheduler import (
    HelpRequestId,
    HelpRequestRefused,
    HomeVisitStaffingChanged,
    SessionStaffingChanged,
)
from shared.events.volunteers import SessionStaffed, SessionUnderstaffed
from shared.ids import derived_id
from shared.store.eventstore import Transaction

log = logging.getLogger("handinhand.scheduler")


async def record_staffing(
    tx: Transaction,
    event: SessionStaffed | SessionUnderstaffed,
    *,
    memory: Memory,
    now: datetime,
    cause: Cause,
) -> None:
    """Note on the session (or visit) what the volunteers service said about its staffing.

    A session that becomes understaffed inside the last 48 hours alerts its coordinator at once.
    """
    report = staffing_report(event)
    staffed = report.staffed
    if report.home_visit:
        visit = await load_visit(tx, report.slot_stream)
        if visit.state is None:
            log.info("staffing of unknown home visit %s ignored", report.slot_stream)
            return
        await visit.append(
            tx,
            [
                HomeVisitStaffingChanged(
                    visit_id=visit.visit_id,
                    staffed=staffed,
                    volunteer_ids=report.volunteer_ids,
                    missing_count=report.missing_count,
                    reported_at=report.reported_at,
                    changed_at=now,
                )
            ],
            cause,
        )
        return
    stream = await load_session(tx, report.slot_stream, memory=memory)
    if stream.state is None:
        log.info("staffing of unknown session %s ignored", report.slot_stream)
        return
    changed = SessionStaffingChanged(
        session_id=stream.session_id,
        staffed=staffed,
        volunteer_ids=report.volunteer_ids,
        missing_count=report.missing_count,
        missing_skills=report.missing_skills,
        missing_languages=report.missing_languages,
        reported_at=report.reported_at,
        changed_at=now,
    )
    await stream.append(tx, [changed], cause)
    if not staffed:
        alert = decide_raise_staffing_alert(stream.require(), staffed=False, now=now)
        await stream.append(tx, alert, cause)


async def request_help_by_sms(
    tx: Transaction, event: HelpRequestedBySms, *, memory: Memory, now: datetime, cause: Cause
) -> RequestOutcome | None:
    """Turn an SMS into a help request and place it; refuse it (an event the notifications
    service can answer) when the commune cannot be told or the number is wrong."""
    request_id = HelpRequestId(f"request-{derived_id('sms', event.inbound_id)}")
    if await tx.version_of(request_id) > 0:
        return None
    try:
        return await request_help(
            tx, request_from_sms(event, request_id), memory=memory, now=now, cause=cause
        )
    except HelpRequestRejectedError as error:
        reasons = refusal_reasons(error.problems, event)
        log.info("help by SMS %s refused: %s", event.inbound_id, [r.code for r in reasons])
        refused = HelpRequestRefused(
            request_id=request_id,
            inbound_id=event.inbound_id,
            resident_phone=event.resident_phone,
            reasons=reasons,
            refused_at=now,
        )
        await tx.append(request_id, 0, [refused], cause)
        return None
