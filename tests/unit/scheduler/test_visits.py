from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time, timedelta

import pytest

from services.scheduler.domain.errors import HelpRequestClosedError, HomeVisitError
from services.scheduler.domain.requests import RequestStatus, evolve_request
from services.scheduler.domain.visits import (
    CancelHomeVisit,
    CompleteHomeVisit,
    HomeVisitState,
    ScheduleHomeVisit,
    decide_cancel_home_visit,
    decide_complete_home_visit,
    decide_request_home_visit,
    decide_schedule_home_visit,
    evolve_visit,
    volunteers_needed_for_visit,
)
from shared.events.base import Event
from shared.events.scheduler import (
    HomeVisitCompleted,
    HomeVisitRequested,
    HomeVisitScheduled,
    VisitId,
)
from shared.events.vocabulary import Accessibility, Outcome
from tests.unit.scheduler.builders import COORDINATOR, NOW, requested

VISIT = VisitId("visit-1")


def fold_visit(state: HomeVisitState | None, events: Iterable[Event]) -> HomeVisitState:
    for event in events:
        state = evolve_visit(state, event)
    assert state is not None
    return state


def test_one_volunteer_visits_unless_an_interpreter_is_needed_or_needs_combine() -> None:
    assert volunteers_needed_for_visit(()) == 1
    assert volunteers_needed_for_visit((Accessibility.SCREEN_READER_HELP,)) == 1
    assert volunteers_needed_for_visit((Accessibility.SIGN_INTERPRETER,)) == 2
    assert volunteers_needed_for_visit((Accessibility.MINORITY_LANGUAGE_INTERPRETER,)) == 2
    assert (
        volunteers_needed_for_visit((Accessibility.STEP_FREE, Accessibility.SCREEN_READER_HELP))
        == 2
    )


def test_a_home_visit_request_becomes_a_visit_to_staff() -> None:
    request = requested(
        home_visit=True,
        address="Thôn 3, xã Thiệu Trung",
        accessibility_needs=(Accessibility.SIGN_INTERPRETER,),
    )
    [event] = decide_request_home_visit(request, visit_id=VISIT, now=NOW)
    assert isinstance(event, HomeVisitRequested)
    assert event.volunteers_needed == 2
    assert event.address == "Thôn 3, xã Thiệu Trung"
    after = evolve_request(request, event)
    assert after is not None
    assert after.status is RequestStatus.HOME_VISIT
    with pytest.raises(HelpRequestClosedError):
        decide_request_home_visit(after, visit_id=VisitId("visit-2"), now=NOW)


def test_refuses_a_visit_for_a_request_that_did_not_ask_for_one() -> None:
    with pytest.raises(HelpRequestClosedError) as error:
        decide_request_home_visit(requested(), visit_id=VISIT, now=NOW)
    assert error.value.field == "home_visit"


def test_a_visit_is_scheduled_any_day_then_completed_with_outcomes() -> None:
    request = requested(home_visit=True, address="Thôn 3")
    visit = fold_visit(None, decide_request_home_visit(request, visit_id=VISIT, now=NOW))
    wednesday = date(2026, 3, 4)
    command = ScheduleHomeVisit(
        visit_id=VISIT,
        local_date=wednesday,
        start_local=time(15, 0),
        end_local=time(16, 0),
        coordinator_id=COORDINATOR,
    )
    [scheduled] = decide_schedule_home_visit(visit, command, now=NOW)
    assert isinstance(scheduled, HomeVisitScheduled)
    assert scheduled.languages == ("vi",)
    assert scheduled.volunteers_needed == 1
    visit = fold_visit(visit, [scheduled])
    with pytest.raises(HomeVisitError):
        decide_complete_home_visit(visit, CompleteHomeVisit(visit_id=VISIT), now=NOW)
    after = scheduled.when.starts_at + timedelta(minutes=40)
    [done] = decide_complete_home_visit(
        visit, CompleteHomeVisit(visit_id=VISIT, outcomes=(Outcome.APP_INSTALLED,)), now=after
    )
    assert isinstance(done, HomeVisitCompleted)
    assert done.request_id == "request-1"
    visit = fold_visit(visit, [done])
    with pytest.raises(HomeVisitError):
        decide_cancel_home_visit(visit, CancelHomeVisit(visit_id=VISIT, reason="x"), now=after)


def test_cancelling_a_visit_needs_a_reason() -> None:
    request = requested(home_visit=True, address="Thôn 3")
    visit = fold_visit(None, decide_request_home_visit(request, visit_id=VISIT, now=NOW))
    with pytest.raises(HomeVisitError) as error:
        decide_cancel_home_visit(visit, CancelHomeVisit(visit_id=VISIT, reason=""), now=NOW)
    assert error.value.field == "reason"
    assert decide_cancel_home_visit(
        visit, CancelHomeVisit(visit_id=VISIT, reason="resident in hospital"), now=NOW
    )
