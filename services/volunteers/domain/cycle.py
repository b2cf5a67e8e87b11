"""The life of an assignment: proposed, then accepted, declined, expired or released.

All assignments of one slot live in that slot's staffing stream, `staffing-<slot uuid>`, so the
slot's staffing state (staffed / understaffed, and what is missing) is decided in one place.
A decline, an expiry or a pause frees a place; the handler then asks `refill` who must not be
asked again, re-runs the solver for the open places, and proposes the next best volunteers.
Each pending assignment has a 4-digit SMS code, unique among the volunteer's pending ones, so a
volunteer with several can answer "C 4821".
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

import msgspec

from services.volunteers.domain.assignment import TOPIC, Candidate, Gap, Slot, Solution, gap_for
from services.volunteers.domain.errors import (
    AnswerTooLateError,
    AssignmentClosedError,
    SlotCancelledError,
    UnknownAssignmentError,
)
from shared.events.base import Event
from shared.events.fold import fold
from shared.events.vocabulary import Language, Skill, Topic, topic_of
from shared.events.volunteers import (
    AnswerChannel,
    AssignmentAccepted,
    AssignmentDeclined,
    AssignmentExpired,
    AssignmentId,
    AssignmentProposed,
    AssignmentReleased,
    ReleaseReason,
    SessionStaffed,
    SessionUnderstaffed,
    SlotId,
    VolunteerId,
)

DEFAULT_ANSWER_WITHIN = timedelta(hours=24)
CODE_SPACE = 9000  # codes 1000..9999


def staffing_stream(slot_id: SlotId) -> str:
    """The stream holding every assignment of one slot."""
    return f"staffing-{slot_id}"


class Status(StrEnum):
    """Where an assignment stands."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    RELEASED = "released"


ACTIVE = (Status.PROPOSED, Status.ACCEPTED)


class Assignment(msgspec.Struct, frozen=True, kw_only=True):
    """One volunteer's place at the slot, as the stream tells."""

    assignment_id: AssignmentId
    volunteer_id: VolunteerId
    phone: str
    short_code: str
    answer_by: datetime
    skills: tuple[Skill, ...]
    languages: tuple[Language, ...]
    status: Status = Status.PROPOSED
    # What a later SMS about it (a move) repeats from the proposal.
    volunteer_name: str = ""
    preferred_language: Language = Language.VI
    designated_topic: Topic | None = None


class StaffingState(msgspec.Struct, frozen=True, kw_only=True):
    """Every assignment of one slot, and the last staffing fact reported."""

    slot_id: SlotId
    assignments: tuple[Assignment, ...] = ()
    cancelled: bool = False
    reported: str = ""  # "staffed", or the understaffed gap last reported

    def active(self) -> list[Assignment]:
        return [a for a in self.assignments if a.status in ACTIVE]

    def find(self, assignment_id: AssignmentId) -> Assignment | None:
        return next((a for a in self.assignments if a.assignment_id == assignment_id), None)


class Contact(msgspec.Struct, frozen=True, kw_only=True):
    """What a proposal tells the notifications service about the volunteer."""

    name: str
    phone: str
    preferred_language: Language = Language.VI


class AnswerAssignment(msgspec.Struct, frozen=True, kw_only=True):
    """A volunteer's yes or no, by API (assignment id) or SMS (short code, or the only one)."""

    volunteer_id: VolunteerId
    accept: bool
    channel: AnswerChannel
    assignment_id: AssignmentId | None = None
    short_code: str | None = None


class Refill(msgspec.Struct, frozen=True, kw_only=True):
    """What the solver needs to fill the freed places of a slot."""

    open_places: int
    excluded: frozenset[VolunteerId]


def short_code(assignment_id: AssignmentId, taken: Iterable[str]) -> str:
    """A 4-digit code derived from the assignment id, moved on if the volunteer already has it."""
    used = set(taken)
    digest = hashlib.sha256(assignment_id.encode()).digest()
    start = int.from_bytes(digest[:4], "big") % CODE_SPACE
    for step in range(CODE_SPACE):
        code = str(1000 + (start + step) % CODE_SPACE)
        if code not in used:
            return code
    raise AssignmentClosedError("the volunteer has no free answer code left", "short_code")


def designated_topic(role: str) -> Topic | None:
    """The topic a placement's role names (`topic:<skill>`), if it is a topic role."""
    level, _, name = role.partition(":")
    return topic_of(Skill(name)) if level == TOPIC and name in _SKILLS else None


_SKILLS = frozenset(skill.value for skill in Skill)


def decide_propose(
    state: StaffingState,
    slot: Slot,
    solution: Solution,
    *,
    topics: Sequence[Topic] = (),
    contacts: Mapping[VolunteerId, Contact],
    candidates: Mapping[VolunteerId, Candidate],
    new_ids: Sequence[AssignmentId],
    taken_codes: Mapping[VolunteerId, Iterable[str]],
    now: datetime,
    answer_within: timedelta = DEFAULT_ANSWER_WITHIN,
) -> list[Event]:
    """Propose the solver's placements for this slot, then report its staffing state.

    `topics` are the slot's, in the scheduler's order: the SMS names the topic a volunteer is
    chosen for, else the first of these.
    """
    if state.cancelled:
        raise SlotCancelledError(f"slot {slot.slot_id} was cancelled", "slot_id")
    placements = [p for p in solution.placements if p.slot_id == slot.slot_id]
    already = {a.volunteer_id for a in state.active()}
    events: list[Event] = []
    ids = iter(new_ids)
    for placement in placements:
        if placement.volunteer_id in already:
            continue
        assignment_id = next(ids)
        contact = contacts[placement.volunteer_id]
        candidate = candidates[placement.volunteer_id]
        events.append(
            AssignmentProposed(
                assignment_id=assignment_id,
                slot_id=slot.slot_id,
                slot_kind=slot.kind,
                volunteer_id=placement.volunteer_id,
                volunteer_name=contact.name,
                phone=contact.phone,
                preferred_language=contact.preferred_language,
                place=slot.place,
                commune_code=slot.commune_code,
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                short_code=short_code(assignment_id, taken_codes.get(placement.volunteer_id, ())),
                explanation=placement.explanation,
                role=placement.role,
                answer_by=min(now + answer_within, slot.starts_at),
                proposed_at=now,
                skills=tuple(sorted(candidate.skills)),
                languages=tuple(sorted(candidate.languages)),
                topics=tuple(topics),
                designated_topic=designated_topic(placement.role),
            )
        )
    return events + _report(fold(evolve, events, state), slot, now)


def decide_answer(
    state: StaffingState, command: AnswerAssignment, slot: Slot, now: datetime
) -> list[Event]:
    """Record a yes or a no; a no frees the place (the handler then refills it)."""
    assignment = _pending_of(state, command)
    if now > assignment.answer_by:
        raise AnswerTooLateError("the time to answer this assignment has passed", "assignment_id")
    event: Event
    if command.accept:
        event = AssignmentAccepted(
            assignment_id=assignment.assignment_id,
            slot_id=state.slot_id,
            volunteer_id=assignment.volunteer_id,
            channel=command.channel,
            accepted_at=now,
        )
    else:
        event = AssignmentDeclined(
            assignment_id=assignment.assignment_id,
            slot_id=state.slot_id,
            volunteer_id=assignment.volunteer_id,
            channel=command.channel,
            declined_at=now,
        )
    return [event, *_report(fold(evolve, [event], state), slot, now)]


def decide_expire(state: StaffingState, slot: Slot, now: datetime) -> list[Event]:
    """Expire every proposal whose deadline passed without an answer."""
    events: list[Event] = [
        AssignmentExpired(
            assignment_id=a.assignment_id,
            slot_id=state.slot_id,
            volunteer_id=a.volunteer_id,
            expired_at=now,
        )
        for a in state.assignments
        if a.status == Status.PROPOSED and now > a.answer_by
    ]
    if not events:
        return []
    return events + _report(fold(evolve, events, state), slot, now)


def decide_cancel(state: StaffingState, now: datetime, reason: str = "") -> list[Event]:
    """A cancelled session or visit releases every place it held, saying why."""
    return [
        AssignmentReleased(
            assignment_id=a.assignment_id,
            slot_id=state.slot_id,
            volunteer_id=a.volunteer_id,
            phone=a.phone,
            reason=ReleaseReason.SESSION_CANCELLED,
            released_at=now,
            cancel_reason=reason,
        )
        for a in state.active()
    ]


def decide_release_volunteer(
    state: StaffingState, slot: Slot, volunteer_id: VolunteerId, now: datetime
) -> list[Event]:
    """A paused volunteer gives up this slot if it is still to come; the place is refilled."""
    if slot.starts_at <= now:
        return []
    events: list[Event] = [
        AssignmentReleased(
            assignment_id=a.assignment_id,
            slot_id=state.slot_id,
            volunteer_id=a.volunteer_id,
            phone=a.phone,
            reason=ReleaseReason.VOLUNTEER_PAUSED,
            released_at=now,
        )
        for a in state.active()
        if a.volunteer_id == volunteer_id
    ]
    if not events:
        return []
    return events + _report(fold(evolve, events, state), slot, now)


def refill(state: StaffingState, slot: Slot) -> Refill:
    """Open places, and who must not be asked again (declined, expired, released, or holding)."""
    return Refill(
        open_places=0 if state.cancelled else max(slot.needed - len(state.active()), 0),
        excluded=frozenset(a.volunteer_id for a in state.assignments),
    )


_STATUS_AFTER: dict[type[Event], Status] = {
    AssignmentAccepted: Status.ACCEPTED,
    AssignmentDeclined: Status.DECLINED,
    AssignmentExpired: Status.EXPIRED,
    AssignmentReleased: Status.RELEASED,
}


def evolve(state: StaffingState, event: Event) -> StaffingState:
    """Fold one event of a staffing stream."""
    match event:
        case AssignmentProposed():
            assignment = Assignment(
                assignment_id=event.assignment_id,
                volunteer_id=event.volunteer_id,
                phone=event.phone,
                short_code=event.short_code,
                answer_by=event.answer_by,
                skills=event.skills,
                languages=event.languages,
                volunteer_name=event.volunteer_name,
                preferred_language=event.preferred_language,
                designated_topic=event.designated_topic,
            )
            # New proposals change the picture: a gap seen before may be reported again.
            return msgspec.structs.replace(
                state, assignments=(*state.assignments, assignment), reported=""
            )
        case AssignmentAccepted() | AssignmentDeclined() | AssignmentExpired():
            return _set_status(state, event.assignment_id, _STATUS_AFTER[type(event)])
        case AssignmentReleased():
            released = _set_status(state, event.assignment_id, Status.RELEASED)
            cancelled = state.cancelled or event.reason == ReleaseReason.SESSION_CANCELLED
            return msgspec.structs.replace(released, cancelled=cancelled)
        case SessionStaffed():
            return msgspec.structs.replace(state, reported="staffed")
        case SessionUnderstaffed():
            return msgspec.structs.replace(state, reported=_gap_key(event))
    return state


def _set_status(state: StaffingState, assignment_id: AssignmentId, status: Status) -> StaffingState:
    return msgspec.structs.replace(
        state,
        assignments=tuple(
            msgspec.structs.replace(a, status=status) if a.assignment_id == assignment_id else a
            for a in state.assignments
        ),
    )


def _pending_of(state: StaffingState, command: AnswerAssignment) -> Assignment:
    mine = [a for a in state.assignments if a.volunteer_id == command.volunteer_id]
    if command.assignment_id is not None:
        found = [a for a in mine if a.assignment_id == command.assignment_id]
        field = "assignment_id"
    elif command.short_code is not None:
        found = [a for a in mine if a.short_code == command.short_code.strip()]
        field = "short_code"
    else:
        found = [a for a in mine if a.status == Status.PROPOSED]
        field = "short_code"
        if len(found) > 1:
            raise UnknownAssignmentError("several assignments wait; answer with the code", field)
    if not found:
        raise UnknownAssignmentError("no such assignment for this volunteer", field)
    assignment = found[-1]
    if assignment.status != Status.PROPOSED:
        raise AssignmentClosedError(f"the assignment is already {assignment.status}", field)
    return assignment


def _gap(slot: Slot, staff: Sequence[Assignment]) -> Gap | None:
    return gap_for(
        slot,
        len(staff),
        {skill for a in staff for skill in a.skills},
        {language for a in staff for language in a.languages},
    )


def _gap_key(event: SessionUnderstaffed) -> str:
    return (
        f"understaffed:{event.missing_count}:{','.join(event.missing_skills)}:"
        f"{','.join(event.missing_languages)}"
    )


def _report(state: StaffingState, slot: Slot, now: datetime) -> list[Event]:
    """Say when the slot becomes staffed, or what it lacks, once per change."""
    if state.cancelled:
        return []

    active = state.active()
    gap = _gap(slot, active)
    event: Event
    if gap is not None:
        event = SessionUnderstaffed(
            slot_id=slot.slot_id,
            slot_kind=slot.kind,
            missing_count=gap.missing_count,
            missing_skills=gap.missing_skills,
            missing_languages=gap.missing_languages,
            reported_at=now,
        )
        return [] if _gap_key(event) == state.reported else [event]
    accepted = [a for a in active if a.status == Status.ACCEPTED]
    if _gap(slot, accepted) is None and state.reported != "staffed":
        return [
            SessionStaffed(
                slot_id=slot.slot_id,
                slot_kind=slot.kind,
                volunteer_ids=tuple(a.volunteer_id for a in accepted),
                staffed_at=now,
            )
        ]
    return []


def report_staffing(state: StaffingState, slot: Slot, now: datetime) -> list[Event]:
    """Staffed or understaffed, when the slot's requirements changed under its assignments."""
    return _report(state, slot, now)
