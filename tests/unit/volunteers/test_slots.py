"""Slots as the volunteers service records them: requirements from accessibility, languages and
booked residents; moves, cancellations and completions and what they do to assignments."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.volunteers.domain import cycle
from services.volunteers.domain.assignment import Candidate, Placement, Score, Solution, Weights
from services.volunteers.domain.cycle import AnswerAssignment, Contact, Status, decide_answer
from services.volunteers.domain.errors import InvalidSlotError
from services.volunteers.domain.slots import (
    MoveSlot,
    Needs,
    NoteNeeds,
    OpenSlot,
    SlotState,
    changes_needs,
    decide_close,
    decide_move,
    decide_note_needs,
    decide_open,
    decide_serve,
    fold,
    needs_of,
    new_slot_state,
    topics_of,
    weekend_of,
)
from shared.clock import VIETNAM
from shared.events.base import Event
from shared.events.scheduler import CommuneCode
from shared.events.vocabulary import Accessibility, Language, Skill, Topic
from shared.events.volunteers import (
    AnswerChannel,
    AssignmentId,
    AssignmentMoved,
    AssignmentReleased,
    AssignmentServed,
    GroupId,
    ReleaseReason,
    SessionUnderstaffed,
    SlotChanged,
    SlotClosed,
    SlotClosing,
    SlotId,
    SlotKind,
    VolunteerId,
)

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
SATURDAY = date(2026, 6, 6)
SLOT = SlotId("session-1")
ANNA = VolunteerId("anna")


def local(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=VIETNAM).astimezone(UTC)


NO_NEEDS = Needs()


def opened(needed: int = 1, needs: Needs = NO_NEEDS) -> SlotState:
    command = OpenSlot(
        slot_id=SLOT,
        kind=SlotKind.SESSION,
        commune_code=CommuneCode("15835"),
        place="Nhà văn hóa",
        starts_at=local(SATURDAY, 8),
        ends_at=local(SATURDAY, 11),
        needed=needed,
        topics=(Skill.VNEID_ACTIVATION,),
        needs=needs,
    )
    state = new_slot_state(SLOT)
    return fold(state, decide_open(state, command, NOW))


def with_proposal(state: SlotState, volunteer: VolunteerId = ANNA) -> SlotState:
    slot = state.as_solver_slot()
    placement = Placement(
        slot_id=SLOT, volunteer_id=volunteer, role="", hops=0, load=0, team=False, explanation="x"
    )
    solution = Solution(
        placements=(placement,),
        gaps=(),
        score=Score(uncovered_requirements=0, unfilled=0, topic_roles=0, hops=0, load=0, team=0),
        weights=Weights(requirement=1, fill=1, topic=1, distance=1, load=1, team=1),
        objective=0,
    )
    events = cycle.decide_propose(
        state.staffing,
        slot,
        solution,
        contacts={volunteer: Contact(name="Anna", phone="+84912345678")},
        candidates={
            volunteer: Candidate(
                volunteer_id=volunteer,
                group_id=GroupId("g"),
                commune_code=CommuneCode("15835"),
            )
        },
        new_ids=[AssignmentId(f"a-{volunteer}")],
        taken_codes={},
        now=NOW,
    )
    return fold(state, events)


def accepted(state: SlotState, volunteer: VolunteerId = ANNA) -> SlotState:
    command = AnswerAssignment(volunteer_id=volunteer, accept=True, channel=AnswerChannel.API)
    return fold(state, decide_answer(state.staffing, command, state.as_solver_slot(), NOW))


def test_accessibility_and_languages_become_skills_and_languages() -> None:
    needs = needs_of(
        [Accessibility.SCREEN_READER_HELP, Accessibility.SIGN_INTERPRETER, Accessibility.STEP_FREE],
        [Language.VI, Language.HMN],
    )

    assert needs == Needs(
        skills=(Skill.SCREEN_READER_HELP,), languages=(Language.HAB, Language.HMN)
    )


def test_a_sign_interpreter_needs_the_sign_language_named() -> None:
    needs = needs_of([Accessibility.SIGN_INTERPRETER], [Language.VI, Language.HOS])

    assert needs == Needs(languages=(Language.HOS,))


def test_an_unnamed_minority_language_needs_an_interpreter() -> None:
    assert needs_of([Accessibility.MINORITY_LANGUAGE_INTERPRETER], [Language.VI]).skills == (
        Skill.INTERPRETING,
    )
    assert needs_of([Accessibility.MINORITY_LANGUAGE_INTERPRETER], [Language.BLT]) == Needs(
        languages=(Language.BLT,)
    )


def test_session_topics_are_the_skills_of_the_same_name() -> None:
    assert topics_of([Topic.CASHLESS_PAYMENT, Topic.VNEID_ACTIVATION]) == (
        Skill.CASHLESS_PAYMENT,
        Skill.VNEID_ACTIVATION,
    )


@given(
    st.datetimes(
        min_value=datetime(2025, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
        max_value=datetime(2030, 1, 1),  # noqa: DTZ001
    )
)
def test_every_instant_belongs_to_the_weekend_of_the_saturday_on_or_before_it(
    naive: datetime,
) -> None:
    instant = naive.replace(tzinfo=UTC)
    saturday = weekend_of(instant)

    assert saturday.weekday() == 5
    assert 0 <= (instant.astimezone(VIETNAM).date() - saturday).days < 7


def test_a_slot_is_opened_once_and_must_end_after_it_starts() -> None:
    state = opened()
    again = OpenSlot(
        slot_id=SLOT,
        kind=SlotKind.SESSION,
        commune_code=CommuneCode("15835"),
        place="x",
        starts_at=local(SATURDAY, 8),
        ends_at=local(SATURDAY, 9),
        needed=1,
    )
    backwards = msgspec.structs.replace(again, ends_at=local(SATURDAY, 7))

    assert decide_open(state, again, NOW) == []
    with pytest.raises(InvalidSlotError):
        decide_open(new_slot_state(SLOT), backwards, NOW)


def test_a_blind_residents_booking_adds_a_requirement_and_reports_the_gap() -> None:
    state = with_proposal(opened())
    command = NoteNeeds(
        slot_id=SLOT, booking_id="b1", needs=Needs(skills=(Skill.SCREEN_READER_HELP,))
    )

    events = decide_note_needs(state, command, NOW)
    after = fold(state, events)

    assert after.needs().skills == (Skill.SCREEN_READER_HELP,)
    assert isinstance(events[-1], SessionUnderstaffed)
    assert events[-1].missing_skills == (Skill.SCREEN_READER_HELP,)
    assert decide_note_needs(after, command, NOW) == []
    gone = fold(
        after, decide_note_needs(after, NoteNeeds(slot_id=SLOT, booking_id="b1", booked=False), NOW)
    )
    assert gone.needs() == Needs()


def test_a_booking_without_needs_records_nothing() -> None:
    assert decide_note_needs(opened(), NoteNeeds(slot_id=SLOT, booking_id="b1"), NOW) == []


_NEEDS = st.builds(
    Needs,
    skills=st.lists(st.sampled_from(Skill), max_size=2, unique=True).map(
        lambda x: tuple(sorted(x))
    ),
    languages=st.lists(st.sampled_from(Language), max_size=2, unique=True).map(
        lambda x: tuple(sorted(x))
    ),
)


@given(known=st.none() | _NEEDS, needs=_NEEDS, booked=st.booleans())
def test_the_read_model_check_agrees_with_the_decision(
    known: Needs | None, needs: Needs, booked: bool
) -> None:
    """The handler skips loading the stream when `changes_needs` says no: the decision must
    then record nothing, and record something whenever it says yes."""
    state = opened()
    if known is not None and (known.skills or known.languages):
        noted = NoteNeeds(slot_id=SLOT, booking_id="b1", needs=known)
        state = fold(state, decide_note_needs(state, noted, NOW))
    else:
        known = None
    command = NoteNeeds(slot_id=SLOT, booking_id="b1", needs=needs, booked=booked)

    assert bool(decide_note_needs(state, command, NOW)) == changes_needs(known, command)


def test_moving_to_other_half_days_releases_the_places_and_allows_asking_again() -> None:
    state = accepted(with_proposal(opened()))
    move = MoveSlot(
        slot_id=SLOT,
        commune_code=CommuneCode("15835"),
        place="Nhà văn hóa",
        starts_at=local(SATURDAY, 14),
        ends_at=local(SATURDAY, 16),
    )

    events = decide_move(state, move, NOW)
    after = fold(state, events)

    assert isinstance(events[0], SlotChanged)
    released = [e for e in events if isinstance(e, AssignmentReleased)]
    assert [e.reason for e in released] == [ReleaseReason.SESSION_MOVED]
    assert after.open_places() == 1
    assert ANNA not in after.excluded()


def test_moving_within_the_same_half_day_keeps_the_volunteers() -> None:
    state = accepted(with_proposal(opened()))
    move = MoveSlot(
        slot_id=SLOT,
        commune_code=CommuneCode("15835"),
        place="Trường tiểu học",
        starts_at=local(SATURDAY, 8) + timedelta(minutes=30),
        ends_at=local(SATURDAY, 11),
    )

    events = decide_move(state, move, NOW)

    assert [type(e) for e in events] == [SlotChanged, AssignmentMoved]
    (moved,) = events[1:]
    assert isinstance(moved, AssignmentMoved)
    assert (moved.place, moved.starts_at, moved.accepted) == (
        "Trường tiểu học",
        local(SATURDAY, 8) + timedelta(minutes=30),
        True,
    )
    assert moved.previous_starts_at == state.starts_at
    assert fold(state, events).staffing.active() == state.staffing.active()


def test_a_cancelled_slot_releases_every_place_and_takes_no_more() -> None:
    state = with_proposal(opened())

    events: list[Event] = decide_close(state, SlotClosing.CANCELLED, NOW)
    after = fold(state, events)

    assert [type(e) for e in events] == [AssignmentReleased, SlotClosed]
    assert after.open_places() == 0
    assert not after.open
    assert decide_close(after, SlotClosing.CANCELLED, NOW) == []


def test_a_cancellation_tells_the_released_volunteers_the_coordinators_reason() -> None:
    events = decide_close(with_proposal(opened()), SlotClosing.CANCELLED, NOW, "Mất điện cả xã")

    released = [e for e in events if isinstance(e, AssignmentReleased)]
    assert [e.cancel_reason for e in released] == ["Mất điện cả xã"]


def test_completion_credits_only_accepted_assignments_once() -> None:
    state = with_proposal(accepted(with_proposal(opened(needed=2))), VolunteerId("binh"))

    events = decide_close(state, SlotClosing.COMPLETED, NOW)
    after = fold(state, events)

    served = [e for e in events if isinstance(e, AssignmentServed)]
    assert [(e.volunteer_id, e.minutes) for e in served] == [(ANNA, 180)]
    assert decide_serve(after, ANNA, NOW) == []


def test_attendance_recorded_by_a_volunteer_credits_their_assignment() -> None:
    state = accepted(with_proposal(opened()))

    events = decide_serve(state, ANNA, NOW)

    assert [e.volunteer_id for e in events if isinstance(e, AssignmentServed)] == [ANNA]
    assert decide_serve(state, VolunteerId("stranger"), NOW) == []
    assert state.staffing.assignments[0].status == Status.ACCEPTED
