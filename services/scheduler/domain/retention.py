"""Retention of residents: a resident (one help request) is erased a number of months after
they were last seen, which is the latest of every request from their phone and the end of
every session or home visit those were booked on (held, cancelled or still ahead: one still
ahead keeps them). A resident who asks again is kept from their new request on."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

import msgspec

from services.scheduler.domain.requests import RequestStatus
from shared.clock import VIETNAM
from shared.events.scheduler import CommuneCode, HelpRequestId


class ResidentActivity(msgspec.Struct, frozen=True, kw_only=True):
    """What says when a resident was last seen: their request, the latest request from the same
    phone, and the latest session and home visit those were booked on (none: never booked)."""

    request_id: HelpRequestId
    commune_code: CommuneCode
    status: RequestStatus
    requested_at: datetime
    last_request_at: datetime | None = None
    last_session_ends_at: datetime | None = None
    last_visit_on: date | None = None  # local date in Vietnam


def last_seen(activity: ResidentActivity) -> datetime:
    """The latest of the requests, their sessions' ends and the end of their home visits' days."""
    seen = [activity.requested_at]
    if activity.last_request_at is not None:
        seen.append(activity.last_request_at)
    if activity.last_session_ends_at is not None:
        seen.append(activity.last_session_ends_at)
    if activity.last_visit_on is not None:
        day_after = activity.last_visit_on + timedelta(days=1)
        seen.append(datetime.combine(day_after, time(), tzinfo=VIETNAM))
    return max(seen)


def is_due(activity: ResidentActivity, *, cutoff: datetime) -> bool:
    """Last seen before `cutoff`, and not being (or already) forgotten."""
    if activity.status in (RequestStatus.ERASING, RequestStatus.ERASED):
        return False
    return last_seen(activity) < cutoff


def residents_due(
    activities: Iterable[ResidentActivity], *, cutoff: datetime, limit: int
) -> list[ResidentActivity]:
    """The residents to erase in one run: due ones, longest unseen first, at most `limit`."""
    due = [activity for activity in activities if is_due(activity, cutoff=cutoff)]
    due.sort(key=lambda activity: (last_seen(activity), activity.request_id))
    return due[:limit]
