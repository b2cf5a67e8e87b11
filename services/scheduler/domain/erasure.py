"""Forgetting a resident (one help request): first asked, while their key still opens their
phone so the notifications service can forget the number and tell them; then done, when the
scheduler destroys the key. Both steps are idempotent."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from services.scheduler.domain.errors import HelpRequestClosedError
from services.scheduler.domain.requests import HelpRequestState, RequestStatus
from shared.events.base import Event
from shared.events.scheduler import Actor, ResidentErased, ResidentErasureRequested


def decide_request_erasure(
    request: HelpRequestState, *, by: Actor, now: datetime, confirmation_id: UUID | None = None
) -> list[Event]:
    """Start forgetting the resident; asked again, nothing more happens. `confirmation_id`:
    they asked by SMS, and this confirmation names every request of their number."""
    if request.status in (RequestStatus.ERASING, RequestStatus.ERASED):
        return []
    return [
        ResidentErasureRequested(
            request_id=request.request_id,
            commune_code=request.commune_code,
            phone=request.phone,
            preferred_language=request.preferred_language,
            requested_by=by,
            requested_at=now,
            confirmation_id=confirmation_id,
        )
    ]


def decide_erase(request: HelpRequestState, *, now: datetime) -> list[Event]:
    """Finish forgetting a resident whose erasure was asked; done already, nothing happens."""
    if request.status is RequestStatus.ERASED:
        return []
    if request.status is not RequestStatus.ERASING:
        raise HelpRequestClosedError(f"request {request.request_id} is not being erased")
    return [
        ResidentErased(
            request_id=request.request_id, commune_code=request.commune_code, erased_at=now
        )
    ]
