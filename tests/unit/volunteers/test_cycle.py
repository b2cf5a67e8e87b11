"""The assignment cycle: propose, accept, decline, expire, release, and staffing reports."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest

from services.volunteers.domain.assignment import Candidate, CommuneMap, Slot, solve
from services.volunteers.domain.cycle import (
    AnswerAssignment,
    Contact,
    StaffingState,
    decide_answer,
    decide_cancel,
    decide_expire,
    decide_propose,
    decide_release_volunteer,
    evolve,
    refill,
    short_code,
    slot_for_refill,
)
from services.volunteers.domain.errors import AnswerTooLateError, UnknownAssignmentError
from shared.events.base import Event
from shared.events.fold import fold as fold_stream
from shared.events.scheduler import CommuneCode
from shared.events.vocabulary import Language, Skill, Topic
from shared.events.volunteers import (
    AnswerChannel,
    AssignmentAccepted,
    AssignmentDeclined,
    AssignmentExpired,
    AssignmentId,
    AssignmentProposed,
    AssignmentReleased,
    GroupId,
    HalfDay,
    ReleaseReason,
    SessionStaffed,
    SessionUnderstaffed,
    SlotId,
    VolunteerId,
)

NOW = datetime(2025, 6, 12, 2, 0, tzinfo=UTC)
SATURDAY = date(2025, 6, 14)
COMMUNE = CommuneCode("15835")
COMMUNES = CommuneMap({})
SLOT = Slot(
    slot_id=SlotId("0197a1e0-0000-7000-8000-00000000aaaa"),
    commune_code=COMMUNE,
    starts_at=datetime(2025, 6, 14, 1, 0, tzinfo=UTC),
    ends_at=datetime(2025, 6, 14, 4, 0, tzinfo=UTC),
    needed=2,
    required_skills=frozenset({Skill.SCREEN_READER_HELP}),
    place="Nhà văn hóa thôn 3",
)


def candidate(number: int, **fields: object) -> Candidate:
    values: dict[str, object] = {
        "volunteer_id": VolunteerId(f"v{number}"),
        "group_id": GroupId("g1"),
        "commune_code": COMMUNE,
        "free": frozenset({(SATURDAY, HalfDay.MORNING)}),
        "recent_load": number,
    }
    values.update(fields)
    return Candidate(**values)  # type: ignore[arg-type]


CANDIDATES = [
    candidate(1, skills=frozenset({Skill.SCREEN_READER_HELP})),
    candidate(2),
    candidate(3),
    candidate(4, skills=frozenset({Skill.SCREEN_READER_HELP})),
]
CONTACTS = {
    c.volunteer_id: Contact(name=f"Người {c.volunteer_id}", phone="+84912345678")
    for c in CANDIDATES
}
IDS = [AssignmentId(f"a{n}") for n in range(20)]


def fold(state: StaffingState, events: list[Event]) -> StaffingState:
    return fold_stream(evolve, events, state)


def propose(
    state: StaffingState, now: datetime = NOW, exclude: frozenset[VolunteerId] = frozenset()
) -> list[Event]:
    slot = slot_for_refill(SLOT, state) if state.assignments else SLOT
    pool = [c for c in CANDIDATES if c.volunteer_id not in exclude]
    solution = solve([slot], pool, COMMUNES)
    used = {a.assignment_id for a in state.assignments}
    return decide_propose(
        state,
        slot if not state.assignments else SLOT,
        solution,
        contacts=CONTACTS,
        candidates={c.volunteer_id: c for c in CANDIDATES},
        new_ids=[i for i in IDS if i not in used],
        taken_codes={},
        now=now,
    )


def proposed() -> tuple[StaffingState, list[Event]]:
    events = propose(StaffingState(slot_id=SLOT.slot_id))
    return fold(StaffingState(slot_id=SLOT.slot_id), events), events


def test_proposals_carry_everything_the_sms_needs() -> None:
    _, events = proposed()
    proposals = [e for e in events if isinstance(e, AssignmentProposed)]
    assert {p.volunteer_id for p in proposals} == {"v1", "v2"}
    first = proposals[0]
    assert first.phone == "+84912345678"
    assert first.place == "Nhà văn hóa thôn 3"
    assert first.answer_by == NOW + timedelta(hours=24)
    assert len(first.short_code) == 4
    assert first.explanation
    assert not any(isinstance(e, SessionUnderstaffed) for e in events)


def test_staffed_once_everyone_accepted_by_sms_code() -> None:
    state, events = proposed()
    proposals = [e for e in events if isinstance(e, AssignmentProposed)]
    results: list[Event] = []
    for proposal in proposals:
        answer = AnswerAssignment(
            volunteer_id=proposal.volunteer_id,
            accept=True,
            channel=AnswerChannel.SMS,
            short_code=proposal.short_code,
        )
        new = decide_answer(state, answer, SLOT, NOW + timedelta(hours=1))
        state = fold(state, new)
        results += new
    assert [type(e) for e in results] == [AssignmentAccepted, AssignmentAccepted, SessionStaffed]


def test_a_decline_frees_the_place_and_the_next_best_is_proposed() -> None:
    state, _ = proposed()
    answer = AnswerAssignment(
        volunteer_id=VolunteerId("v1"), accept=False, channel=AnswerChannel.API
    )
    events = decide_answer(state, answer, SLOT, NOW)
    assert isinstance(events[0], AssignmentDeclined)
    (gap,) = [e for e in events if isinstance(e, SessionUnderstaffed)]
    assert gap.missing_count == 1
    assert gap.missing_skills == (Skill.SCREEN_READER_HELP,)
    state = fold(state, events)
    need = refill(state, SLOT)
    assert need.open_places == 1
    assert "v1" in need.excluded
    again = propose(state, NOW, exclude=need.excluded)
    (proposal,) = [e for e in again if isinstance(e, AssignmentProposed)]
    assert proposal.volunteer_id == "v4"  # the other screen-reader helper


def test_an_unanswered_proposal_expires_after_the_deadline() -> None:
    state, _ = proposed()
    assert decide_expire(state, SLOT, NOW + timedelta(hours=23)) == []
    events = decide_expire(state, SLOT, NOW + timedelta(hours=25))
    assert [type(e) for e in events][:2] == [AssignmentExpired, AssignmentExpired]
    assert isinstance(events[-1], SessionUnderstaffed)


def test_a_late_answer_is_refused() -> None:
    state, _ = proposed()
    answer = AnswerAssignment(
        volunteer_id=VolunteerId("v2"), accept=True, channel=AnswerChannel.SMS
    )
    with pytest.raises(AnswerTooLateError):
        decide_answer(state, answer, SLOT, NOW + timedelta(hours=30))


def test_a_wrong_code_is_refused() -> None:
    state, _ = proposed()
    answer = AnswerAssignment(
        volunteer_id=VolunteerId("v2"), accept=True, channel=AnswerChannel.SMS, short_code="0000"
    )
    with pytest.raises(UnknownAssignmentError) as error:
        decide_answer(state, answer, SLOT, NOW)
    assert error.value.field == "short_code"


def test_a_cancelled_session_releases_every_assignment() -> None:
    state, _ = proposed()
    events = decide_cancel(state, NOW)
    assert {type(e) for e in events} == {AssignmentReleased}
    assert len(events) == 2
    state = fold(state, events)
    assert refill(state, SLOT).open_places == 0


def test_a_paused_volunteer_gives_up_future_assignments() -> None:
    state, _ = proposed()
    events = decide_release_volunteer(state, SLOT, VolunteerId("v2"), NOW)
    released = events[0]
    assert isinstance(released, AssignmentReleased)
    assert released.reason == ReleaseReason.VOLUNTEER_PAUSED
    assert refill(fold(state, events), SLOT).open_places == 1
    assert decide_release_volunteer(state, SLOT, VolunteerId("v2"), SLOT.starts_at) == []


def test_short_codes_differ_among_a_volunteers_pending_assignments() -> None:
    first = short_code(AssignmentId("a1"), [])
    assert short_code(AssignmentId("a1"), [first]) != first
    assert 1000 <= int(first) <= 9999


def test_reports_a_gap_when_nobody_speaks_the_language() -> None:
    slot = Slot(
        slot_id=SlotId("s-hmong"),
        commune_code=COMMUNE,
        starts_at=SLOT.starts_at,
        ends_at=SLOT.ends_at,
        needed=1,
        required_languages=frozenset({Language.HMN}),
    )
    events = decide_propose(
        StaffingState(slot_id=slot.slot_id),
        slot,
        solve([slot], CANDIDATES, COMMUNES),
        contacts=CONTACTS,
        candidates={c.volunteer_id: c for c in CANDIDATES},
        new_ids=IDS,
        taken_codes={},
        now=NOW,
    )
    gap = events[-1]
    assert isinstance(gap, SessionUnderstaffed)
    assert gap.missing_languages == (Language.HMN,)
    assert gap.missing_count == 0


def test_a_proposal_names_the_slots_topics_and_the_one_the_volunteer_guides() -> None:
    slot = msgspec.structs.replace(
        SLOT,
        needed=2,
        required_skills=frozenset(),
        topics=frozenset({Skill.VNEID_ACTIVATION, Skill.SMARTPHONE_BASICS}),
    )
    pool = [
        candidate(1, skills=frozenset({Skill.CASHLESS_PAYMENT, Skill.VNEID_ACTIVATION})),
        candidate(2, skills=frozenset({Skill.ONLINE_PUBLIC_SERVICES, Skill.SMARTPHONE_BASICS})),
    ]
    events = decide_propose(
        StaffingState(slot_id=slot.slot_id),
        slot,
        solve([slot], pool, COMMUNES),
        topics=(Topic.VNEID_ACTIVATION, Topic.SMARTPHONE_BASICS),
        contacts=CONTACTS,
        candidates={c.volunteer_id: c for c in pool},
        new_ids=IDS,
        taken_codes={},
        now=NOW,
    )

    proposals = {e.volunteer_id: e for e in events if isinstance(e, AssignmentProposed)}
    assert proposals[VolunteerId("v1")].designated_topic is Topic.VNEID_ACTIVATION
    assert proposals[VolunteerId("v2")].designated_topic is Topic.SMARTPHONE_BASICS
    assert all(
        p.topics == (Topic.VNEID_ACTIVATION, Topic.SMARTPHONE_BASICS) for p in proposals.values()
    )
