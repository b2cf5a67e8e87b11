"""Home visits (stream `visit-<uuid>`) for residents who cannot come to a session.

A visit needs two volunteers when it needs an interpreter (sign or minority language) beside
the helper, or combines two or more accessibility needs; otherwise one. The volunteers service
staffs `home_visit.scheduled` like a session.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

import msgspec

from services.scheduler.domain.errors import HelpRequestClosedError, HomeVisitError
from services.scheduler.domain.requests import HelpRequestState, RequestStatus
from services.scheduler.domain.sessions import check_languages, check_slot
from shared.events.base import Event
from shared.events.scheduler import (
    CommuneCode,
    CoordinatorId,
    HelpRequestId,
    HomeVisitCancelled,
    HomeVisitCompleted,
    HomeVisitRequested,
    HomeVisitScheduled,
    PlaceCode,
    ResidentContact,
    Slot,
    VisitId,
    Weekend,
)
from shared.events.vocabulary import Accessibility, Outcome, Topic

_INTERPRETERS = frozenset(
    {Accessibility.SIGN_INTERPRETER, Accessibility.MINORITY_LANGUAGE_INTERPRETER}
)


class VisitStatus(StrEnum):
    REQUESTED = "requested"
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class HomeVisitState(msgspec.Struct, frozen=True, kw_only=True):
    """A home visit as its events left it."""

    visit_id: VisitId
    status: VisitStatus
    resident: ResidentContact
    commune_code: CommuneCode
    village_code: PlaceCode | None
    address: str
    topics: tuple[Topic, ...]
    accessibility_needs: tuple[Accessibility, ...]
    preferred_days: tuple[Weekend, ...]
    volunteers_needed: int
    when: Slot | None = None

    @property
    def request_id(self) -> HelpRequestId:
        return self.resident.request_id


class ScheduleHomeVisit(msgspec.Struct, frozen=True, kw_only=True):
    """Agree a time with the resident; scheduling again moves the visit."""

    visit_id: VisitId
    local_date: date
    start_local: time
    end_local: time
    coordinator_id: CoordinatorId


class CancelHomeVisit(msgspec.Struct, frozen=True, kw_only=True):
    visit_id: VisitId
    reason: str


class CompleteHomeVisit(msgspec.Struct, frozen=True, kw_only=True):
    visit_id: VisitId
    outcomes: tuple[Outcome, ...] = ()


def volunteers_needed_for_visit(needs: tuple[Accessibility, ...]) -> int:
    """Two volunteers when an interpreter is needed or needs combine; one otherwise."""
    if _INTERPRETERS & set(needs) or len(set(needs)) >= 2:
        return 2
    return 1


def decide_request_home_visit(
    request: HelpRequestState, *, visit_id: VisitId, now: datetime
) -> list[Event]:
    """Turn a help request that asked for a home visit into a visit to staff."""
    if not request.home_visit:
        raise HelpRequestClosedError(
            "this request did not ask for a home visit", field="home_visit"
        )
    if request.status is not RequestStatus.OPEN:
        raise HelpRequestClosedError(f"request {request.request_id} is {request.status.value}")
    return [
        HomeVisitRequested(
            visit_id=visit_id,
            resident=request.contact,
            commune_code=request.commune_code,
            village_code=request.village_code,
            address=request.address,
            topics=request.topics,
            accessibility_needs=request.accessibility_needs,
            preferred_days=request.preferred_days,
            volunteers_needed=volunteers_needed_for_visit(request.accessibility_needs),
            requested_at=now,
        )
    ]


def decide_schedule_home_visit(
    visit: HomeVisitState, command: ScheduleHomeVisit, *, now: datetime
) -> list[Event]:
    """Give the visit a future time (any day: it is arranged with the resident)."""
    if visit.status not in {VisitStatus.REQUESTED, VisitStatus.SCHEDULED}:
        raise HomeVisitError(f"visit {visit.visit_id} is {visit.status.value}")
    when = check_slot(
        command.local_date, command.start_local, command.end_local, now=now, weekend_only=False
    )
    return [
        HomeVisitScheduled(
            visit_id=visit.visit_id,
            resident=visit.resident,
            commune_code=visit.commune_code,
            village_code=visit.village_code,
            address=visit.address,
            when=when,
            topics=visit.topics,
            accessibility_needs=visit.accessibility_needs,
            languages=check_languages([visit.resident.preferred_language]),
            volunteers_needed=visit.volunteers_needed,
            coordinator_id=command.coordinator_id,
            scheduled_at=now,
        )
    ]


def decide_cancel_home_visit(
    visit: HomeVisitState, command: CancelHomeVisit, *, now: datetime
) -> list[Event]:
    if visit.status not in {VisitStatus.REQUESTED, VisitStatus.SCHEDULED}:
        raise HomeVisitError(f"visit {visit.visit_id} is {visit.status.value}")
    reason = command.reason.strip()
    if not reason:
        raise HomeVisitError("say why the visit is cancelled", field="reason")
    return [
        HomeVisitCancelled(
            visit_id=visit.visit_id,
            resident=visit.resident,
            when=visit.when,
            reason=reason,
            cancelled_at=now,
        )
    ]


def decide_complete_home_visit(
    visit: HomeVisitState, command: CompleteHomeVisit, *, now: datetime
) -> list[Event]:
    if visit.status is not VisitStatus.SCHEDULED or visit.when is None:
        raise HomeVisitError(f"visit {visit.visit_id} is {visit.status.value}, not scheduled")
    if now < visit.when.starts_at:
        raise HomeVisitError("a visit can be completed once it has started")
    return [
        HomeVisitCompleted(
            visit_id=visit.visit_id,
            request_id=visit.request_id,
            commune_code=visit.commune_code,
            local_date=visit.when.local_date,
            outcomes=tuple(dict.fromkeys(command.outcomes)),
            completed_at=now,
        )
    ]


def evolve_visit(state: HomeVisitState | None, event: Event) -> HomeVisitState | None:
    """The visit after one more of its events."""
    match event:
        case HomeVisitRequested():
            if state is not None:
                return state
            return HomeVisitState(
                visit_id=event.visit_id,
                status=VisitStatus.REQUESTED,
                resident=event.resident,
                commune_code=event.commune_code,
                village_code=event.village_code,
                address=event.address,
                topics=event.topics,
                accessibility_needs=event.accessibility_needs,
                preferred_days=event.preferred_days,
                volunteers_needed=event.volunteers_needed,
            )
        case HomeVisitScheduled() if state is not None:
            return msgspec.structs.replace(state, status=VisitStatus.SCHEDULED, when=event.when)
        case HomeVisitCancelled() if state is not None:
            return msgspec.structs.replace(state, status=VisitStatus.CANCELLED)
        case HomeVisitCompleted() if state is not None:
            return msgspec.structs.replace(state, status=VisitStatus.COMPLETED)
        case _:
            return state
