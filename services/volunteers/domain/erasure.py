"""Forgetting a volunteer: first asked, while their key still opens their number so the
notifications service can tell them and forget it; then done, when this service destroys the
key. Both steps are idempotent; an erased volunteer's assignments and hours still count."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from services.volunteers.domain.errors import VolunteerErasedError
from services.volunteers.domain.registry import VolunteerState, require_registered
from shared.events.base import Event
from shared.events.volunteers import ErasureAskedBy, VolunteerErased, VolunteerErasureRequested


class Erasure(StrEnum):
    """Where a volunteer is in being forgotten ("" for not at all)."""

    NONE = ""
    ERASING = "erasing"
    ERASED = "erased"


def decide_request_erasure(
    state: VolunteerState, *, by: ErasureAskedBy, now: datetime
) -> list[Event]:
    """Start forgetting the volunteer; asked again, nothing more happens."""
    require_registered(state)
    if state.erasure != Erasure.NONE:
        return []
    return [
        VolunteerErasureRequested(
            volunteer_id=state.volunteer_id,
            commune_code=state.commune_code,
            phone=state.phone,
            preferred_language=state.preferred_language,
            requested_by=by,
            requested_at=now,
        )
    ]


def decide_erase(state: VolunteerState, *, now: datetime) -> list[Event]:
    """Finish forgetting a volunteer whose erasure was asked; done already, nothing happens."""
    if state.erasure == Erasure.ERASED:
        return []
    if state.erasure != Erasure.ERASING:
        raise VolunteerErasedError(f"volunteer {state.volunteer_id} is not being erased")
    return [
        VolunteerErased(
            volunteer_id=state.volunteer_id, commune_code=state.commune_code, erased_at=now
        )
    ]
