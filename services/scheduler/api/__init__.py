"""HTTP routes of the scheduler service, one module per section: places, sessions, help requests
(and their bookings), home visits, reports; their request bodies are in `bodies`.

Writes go through services/scheduler/handlers/ inside one transaction; reads come from the
read models (services/scheduler/views/) on the store's reader. Every error is RFC 9457
problem details naming the field (shared/web/problems.py).
"""

from __future__ import annotations

from typing import Any

from services.scheduler.api import (
    help_requests,
    home_visits,
    places,
    reports,
    sessions,
    subject_access,
)
from shared.web.person_keys import give_person_keys

__all__ = ["routes"]

routes: list[Any] = [
    places.import_places,
    places.province_communes,
    places.commune,
    sessions.create_session,
    sessions.create_recurring_sessions,
    sessions.preview_recurring_sessions,
    sessions.list_sessions,
    sessions.get_session,
    sessions.get_roster,
    sessions.get_waitlist,
    sessions.reschedule,
    sessions.change_capacity,
    sessions.cancel_session,
    sessions.record_attendance,
    sessions.complete_session,
    help_requests.create_help_request,
    help_requests.get_help_request,
    help_requests.get_commune_waiting,
    help_requests.erase_help_request,
    help_requests.cancel_booking,
    help_requests.change_booking,
    home_visits.get_home_visit,
    home_visits.schedule_home_visit,
    home_visits.cancel_home_visit,
    home_visits.complete_home_visit,
    reports.commune_report_view,
    give_person_keys,
    subject_access.give_subject_access,
]
