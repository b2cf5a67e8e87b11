from __future__ import annotations

import pytest

from services.scheduler.domain.errors import HelpRequestClosedError, HelpRequestRejectedError
from services.scheduler.domain.places import Place, PlaceKind
from services.scheduler.domain.requests import (
    RequestStatus,
    decide_request_help,
    decide_waitlist_request,
    evolve_request,
)
from shared.events.fold import fold
from shared.events.scheduler import (
    CommuneCode,
    HelpRequested,
    PlaceCode,
    ResidentWaitlisted,
    Weekend,
)
from shared.events.vocabulary import Accessibility, Language, Topic
from tests.unit.scheduler.builders import NOW, request_command, requested


def test_files_a_request_with_the_phone_in_e164_and_the_commune_checked() -> None:
    command = request_command(
        resident_name="  Lò   Văn   Pâng ",
        phone="+84 912 345 678",
        accessibility_needs=(Accessibility.MINORITY_LANGUAGE_INTERPRETER,),
        preferred_language=Language.BLT,
        preferred_days=(Weekend.SUNDAY, Weekend.SUNDAY),
        minority=True,
        sensitive_consent_given=True,
    )
    [event] = decide_request_help(command, now=NOW)
    assert isinstance(event, HelpRequested)
    assert event.resident_name == "Lò Văn Pâng"
    assert event.phone == "+84912345678"
    assert (event.commune_code, event.province_code) == ("15835", "38")
    assert event.preferred_language is Language.BLT
    assert event.preferred_days == (Weekend.SUNDAY,)
    assert event.requested_at == NOW


def test_rejects_bad_input_field_by_field_all_at_once() -> None:
    command = request_command(
        resident_name=" ",
        phone="024 3765 4321",
        commune_code="99999",
        topics=(),
        home_visit=True,
        birth_year=1850,
        consent_given=False,
    )
    with pytest.raises(HelpRequestRejectedError) as error:
        decide_request_help(command, now=NOW)
    fields = [p.field for p in error.value.problems]
    assert fields == [
        "resident_name",
        "phone",
        "commune_code",
        "topics",
        "address",
        "birth_year",
        "consent_given",
    ]
    assert error.value.field == "resident_name"


def test_rejects_a_village_of_another_commune_when_places_are_known() -> None:
    places = {
        "T1": Place(
            code=PlaceCode("T1"),
            name="Thôn 1",
            kind=PlaceKind.VILLAGE,
            commune_code=CommuneCode("15772"),
        )
    }
    with pytest.raises(HelpRequestRejectedError) as error:
        decide_request_help(request_command(village_code="T1"), now=NOW, places=places)
    assert error.value.field == "village_code"


def test_a_request_nobody_could_place_waits_once() -> None:
    request = requested()
    [event] = decide_waitlist_request(request, now=NOW)
    assert isinstance(event, ResidentWaitlisted)
    assert event.resident.phone == "+84912345678"
    waiting = fold(evolve_request, [*decide_request_help(request_command(), now=NOW), event])
    assert waiting is not None
    assert waiting.status is RequestStatus.WAITING
    assert decide_waitlist_request(waiting, now=NOW) == []


def test_a_home_visit_request_does_not_wait_for_a_session() -> None:
    request = requested(home_visit=True, address="Thôn 3, xã Thiệu Trung")
    with pytest.raises(HelpRequestClosedError):
        decide_waitlist_request(request, now=NOW)


def test_events_about_other_requests_leave_a_request_alone() -> None:
    mine = requested()
    other = requested(request_id="request-2", topics=(Topic.CASHLESS_PAYMENT,))
    [waitlisted] = decide_waitlist_request(other, now=NOW)
    assert (
        fold(evolve_request, [*decide_request_help(request_command(), now=NOW), waitlisted]) == mine
    )
