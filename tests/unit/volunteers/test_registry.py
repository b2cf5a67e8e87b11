"""Groups, volunteers and their availability: given past events, a command, expect events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.volunteers.domain.availability import (
    ChangeAvailability,
    decide_change_availability,
    free_half_days,
    half_days_of,
)
from services.volunteers.domain.errors import (
    AlreadyPausedError,
    InvalidSlotError,
    InvalidVolunteerError,
    NotRegisteredError,
    UnknownGroupError,
)
from services.volunteers.domain.registry import (
    GroupState,
    PauseVolunteer,
    RegisterGroup,
    RegisterVolunteer,
    ResumeVolunteer,
    UpdateVolunteer,
    VolunteerState,
    decide_pause_volunteer,
    decide_register_group,
    decide_register_volunteer,
    decide_resume_volunteer,
    decide_update_volunteer,
    evolve_group,
    evolve_volunteer,
    volunteer_stream,
)
from shared.events.base import Event
from shared.events.consent import (
    VOLUNTEER_WORDING,
    ConsentActor,
    ConsentChannel,
    ConsentPurpose,
    ConsentRecord,
)
from shared.events.scheduler import CommuneCode
from shared.events.vocabulary import Language, Skill
from shared.events.volunteers import (
    AvailabilityChanged,
    AvailabilityException,
    GroupId,
    HalfDay,
    VolunteerId,
    VolunteerPaused,
    VolunteerRegistered,
    VolunteerResumed,
    WeeklyAvailability,
)
from shared.phones import InvalidPhoneError

NOW = datetime(2025, 6, 10, 3, 0, tzinfo=UTC)
GROUP = GroupId("0197a1e0-0000-7000-8000-000000000001")
VOLUNTEER = VolunteerId("0197a1e0-0000-7000-8000-000000000002")
THIEU_TRUNG = CommuneCode("15835")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A local (UTC+7) time as an aware UTC datetime."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


def group() -> GroupState:
    state = GroupState(group_id=GROUP)
    command = RegisterGroup(group_id=GROUP, name="Tổ CNS Thiệu Trung", commune_code=THIEU_TRUNG)
    for event in decide_register_group(state, command, NOW):
        state = evolve_group(state, event)
    return state


def register(**fields: object) -> RegisterVolunteer:
    values: dict[str, object] = {
        "volunteer_id": VOLUNTEER,
        "group_id": GROUP,
        "name": "Lê Thị Hoa",
        "phone": "+84912345678",
        "commune_code": THIEU_TRUNG,
        "skills": (Skill.VNEID_ACTIVATION, Skill.SCREEN_READER_HELP),
        "languages": (Language.VI, Language.MTQ),
        "availability": WeeklyAvailability(saturday=(HalfDay.MORNING,)),
    }
    values.update(fields)
    values.setdefault("consent_given", True)
    return RegisterVolunteer(**values)  # type: ignore[arg-type]


def given(*events: Event) -> VolunteerState:
    state = VolunteerState(volunteer_id=VOLUNTEER)
    for event in events:
        state = evolve_volunteer(state, event)
    return state


def registered() -> VolunteerState:
    return given(*decide_register_volunteer(given(), register(), group(), NOW))


def test_registers_a_member_of_an_existing_group_with_an_e164_phone() -> None:
    (event,) = decide_register_volunteer(given(), register(), group(), NOW)
    assert isinstance(event, VolunteerRegistered)
    assert event.phone == "+84912345678"
    assert volunteer_stream(VOLUNTEER) == f"volunteer-{VOLUNTEER}"


@pytest.mark.parametrize("phone", ["0912345678", "+84 912 345 678", "+8491234", "+84000000000"])
def test_refuses_a_phone_that_is_not_valid_normalised_e164(phone: str) -> None:
    with pytest.raises(InvalidPhoneError) as error:
        decide_register_volunteer(given(), register(phone=phone), group(), NOW)
    assert error.value.field == "phone"


def test_refuses_a_member_of_an_unknown_group() -> None:
    with pytest.raises(UnknownGroupError):
        decide_register_volunteer(given(), register(), GroupState(group_id=GROUP), NOW)


def test_refuses_an_impossible_monthly_limit() -> None:
    with pytest.raises(InvalidVolunteerError) as error:
        decide_register_volunteer(given(), register(monthly_limit=40), group(), NOW)
    assert error.value.field == "monthly_limit"


def test_an_update_that_changes_nothing_records_nothing() -> None:
    state = registered()
    same = UpdateVolunteer(
        volunteer_id=VOLUNTEER,
        name=state.name,
        phone=state.phone,
        skills=state.skills,
        languages=state.languages,
        monthly_limit=state.monthly_limit,
    )
    assert decide_update_volunteer(state, same, NOW) == []


def test_pauses_and_resumes_but_not_twice() -> None:
    state = registered()
    paused = decide_pause_volunteer(state, PauseVolunteer(volunteer_id=VOLUNTEER), NOW)
    assert isinstance(paused[0], VolunteerPaused)
    state = evolve_volunteer(state, paused[0])
    with pytest.raises(AlreadyPausedError):
        decide_pause_volunteer(state, PauseVolunteer(volunteer_id=VOLUNTEER), NOW)
    (resumed,) = decide_resume_volunteer(state, ResumeVolunteer(volunteer_id=VOLUNTEER), NOW)
    assert isinstance(resumed, VolunteerResumed)


def test_commands_on_an_unknown_volunteer_are_refused() -> None:
    with pytest.raises(NotRegisteredError):
        decide_pause_volunteer(given(), PauseVolunteer(volunteer_id=VOLUNTEER), NOW)


def test_dated_exceptions_override_the_usual_weekend() -> None:
    saturday, sunday, holiday = date(2025, 6, 14), date(2025, 6, 15), date(2025, 9, 2)
    usual = WeeklyAvailability(saturday=(HalfDay.MORNING, HalfDay.AFTERNOON))
    exceptions = [
        AvailabilityException(on=saturday, available=False, half_days=(HalfDay.AFTERNOON,)),
        AvailabilityException(on=sunday, available=True, half_days=(HalfDay.MORNING,)),
        AvailabilityException(on=holiday, available=True),
    ]
    free = free_half_days(usual, exceptions, [saturday, sunday, holiday])
    assert free == {
        (saturday, HalfDay.MORNING),
        (sunday, HalfDay.MORNING),
        (holiday, HalfDay.MORNING),
        (holiday, HalfDay.AFTERNOON),
        (holiday, HalfDay.EVENING),  # free from noon on, as "afternoon" always meant
    }


def test_weekday_evenings_count_for_slots_on_weekdays_only_from_six() -> None:
    wednesday = date(2025, 6, 18)
    usual = WeeklyAvailability(saturday=(HalfDay.MORNING,), wednesday=(HalfDay.EVENING,))

    free = free_half_days(usual, [], [wednesday, wednesday + timedelta(days=3)])

    assert free == {(wednesday, HalfDay.EVENING), (date(2025, 6, 21), HalfDay.MORNING)}
    assert half_days_of(at(wednesday, 18, 30), at(wednesday, 20)) == ((wednesday, HalfDay.EVENING),)
    assert half_days_of(at(wednesday, 16), at(wednesday, 19)) == (
        (wednesday, HalfDay.AFTERNOON),
        (wednesday, HalfDay.EVENING),
    )


def test_refuses_contradictory_exceptions_for_one_half_day() -> None:
    day = date(2025, 6, 14)
    command = ChangeAvailability(
        volunteer_id=VOLUNTEER,
        availability=WeeklyAvailability(),
        exceptions=(
            AvailabilityException(on=day, available=True),
            AvailabilityException(on=day, available=False, half_days=(HalfDay.MORNING,)),
        ),
    )
    with pytest.raises(InvalidVolunteerError) as error:
        decide_change_availability(registered(), command, NOW)
    assert error.value.field == "exceptions"


def test_availability_change_is_folded_into_the_volunteer() -> None:
    command = ChangeAvailability(
        volunteer_id=VOLUNTEER, availability=WeeklyAvailability(sunday=(HalfDay.AFTERNOON,))
    )
    (event,) = decide_change_availability(registered(), command, NOW)
    assert isinstance(event, AvailabilityChanged)
    assert evolve_volunteer(registered(), event).availability.sunday == (HalfDay.AFTERNOON,)


def test_a_slot_takes_the_local_half_days_it_touches() -> None:
    # 10:00-14:00 in Vietnam is 03:00-07:00 UTC: both halves of Saturday.
    start = datetime(2025, 6, 14, 3, 0, tzinfo=UTC)
    end = datetime(2025, 6, 14, 7, 0, tzinfo=UTC)
    assert [half for _, half in half_days_of(start, end)] == [HalfDay.MORNING, HalfDay.AFTERNOON]
    with pytest.raises(InvalidSlotError):
        half_days_of(end, start)


def test_a_volunteer_is_registered_with_the_consent_they_gave_and_who_noted_it() -> None:
    (event,) = decide_register_volunteer(
        given(), register(recorded_by_id="coordinator-3"), group(), NOW
    )
    assert event.consent == ConsentRecord(
        purpose=ConsentPurpose.VOLUNTEERING,
        channel=ConsentChannel.API,
        wording_version=VOLUNTEER_WORDING,
        recorded_by=ConsentActor.COORDINATOR,
        recorded_by_id="coordinator-3",
        given_at=NOW,
    )


def test_a_volunteer_without_consent_or_with_a_residents_wording_is_refused() -> None:
    with pytest.raises(InvalidVolunteerError) as refused:
        decide_register_volunteer(given(), register(consent_given=False), group(), NOW)
    assert refused.value.field == "consent_given"
    with pytest.raises(InvalidVolunteerError) as wrong_wording:
        decide_register_volunteer(given(), register(consent_wording="help-v1"), group(), NOW)
    assert wrong_wording.value.field == "consent_wording"
