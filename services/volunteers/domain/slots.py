"""A slot to staff, as this service records it from the scheduler's sessions and home visits.

The staffing stream `staffing-<slot id>` holds the slot itself (opened, changed, residents'
needs noted, closed) and every assignment of it, so one fold gives everything the staffing
decisions need. Requirements are the slot's own (accessibility, languages) plus those of the
residents booked into it: a blind resident needs a screen-reader helper, a H'Mông speaker
someone who speaks H'Mông.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

import msgspec

from services.volunteers.domain import cycle
from services.volunteers.domain.assignment import Slot
from services.volunteers.domain.availability import SATURDAY, half_days_of
from services.volunteers.domain.cycle import StaffingState, Status
from shared.clock import VIETNAM
from shared.events.base import Event
from shared.events.fold import fold as fold_stream
from shared.events.scheduler import CommuneCode
from shared.events.vocabulary import (
    DEFAULT_SIGN_LANGUAGE,
    SIGN_LANGUAGES,
    Accessibility,
    Language,
    Skill,
    Topic,
    skill_for,
    topic_of,
)
from shared.events.volunteers import (
    AssignmentId,
    AssignmentMoved,
    AssignmentReleased,
    AssignmentServed,
    GroupId,
    ReleaseReason,
    ResidentNeedsNoted,
    SlotChanged,
    SlotClosed,
    SlotClosing,
    SlotId,
    SlotKind,
    SlotOpened,
    VolunteerId,
)

MINUTES = 60


def staffing_stream(slot_id: SlotId) -> str:
    """The stream of one slot: the slot and its assignments."""
    return cycle.staffing_stream(slot_id)


def weekend_of(instant: datetime) -> date:
    """The Saturday of the local weekend an instant falls in (Sunday belongs to the day before)."""
    day = instant.astimezone(VIETNAM).date()
    return day - timedelta(days=(day.weekday() - SATURDAY) % 7)


class Needs(msgspec.Struct, frozen=True, kw_only=True):
    """Skills and languages a slot, or one booked resident, needs from its volunteers."""

    skills: tuple[Skill, ...] = ()
    languages: tuple[Language, ...] = ()


def needs_of(accessibility: Iterable[Accessibility], languages: Iterable[Language]) -> Needs:
    """Accessibility and spoken languages as volunteer skills and languages.

    Vietnamese needs nobody special; any other language needs a volunteer who speaks it. A
    sign interpreter needs the sign language named, or else `DEFAULT_SIGN_LANGUAGE`; a
    minority-language interpreter is needed as a speaker of the language when one is named,
    and as someone with interpreting skill when none is.
    """
    spoken: set[Language] = {language for language in languages if language is not Language.VI}
    skills: set[Skill] = set()
    for need in accessibility:
        match need:
            case Accessibility.SCREEN_READER_HELP:
                skills.add(Skill.SCREEN_READER_HELP)
            case Accessibility.SIGN_INTERPRETER:
                if not spoken & SIGN_LANGUAGES:
                    spoken.add(DEFAULT_SIGN_LANGUAGE)
            case Accessibility.MINORITY_LANGUAGE_INTERPRETER:
                if not spoken - SIGN_LANGUAGES:
                    skills.add(Skill.INTERPRETING)
            case _:
                pass
    return Needs(skills=tuple(sorted(skills)), languages=tuple(sorted(spoken)))


def topics_of(topics: Iterable[Topic]) -> tuple[Skill, ...]:
    """Session topics are the skills of the same name, in the session's order."""
    return tuple(dict.fromkeys(skill_for(topic) for topic in topics))


class OpenSlot(msgspec.Struct, frozen=True, kw_only=True):
    """Start staffing a session or home visit the scheduler put on the calendar."""

    slot_id: SlotId
    kind: SlotKind
    commune_code: CommuneCode
    place: str
    starts_at: datetime
    ends_at: datetime
    needed: int
    topics: tuple[Skill, ...] = ()
    needs: Needs = Needs()


class MoveSlot(msgspec.Struct, frozen=True, kw_only=True):
    """The scheduler moved the slot in time or place."""

    slot_id: SlotId
    commune_code: CommuneCode
    place: str
    starts_at: datetime
    ends_at: datetime


class NoteNeeds(msgspec.Struct, frozen=True, kw_only=True):
    """A resident booked into the slot (with their needs), or their booking ended."""

    slot_id: SlotId
    booking_id: str
    needs: Needs = Needs()
    booked: bool = True


class SlotState(msgspec.Struct, frozen=True, kw_only=True):
    """The slot and its assignments, as its staffing stream tells."""

    slot_id: SlotId
    opened: bool = False
    kind: SlotKind = SlotKind.SESSION
    commune_code: CommuneCode = CommuneCode("")
    place: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    needed: int = 0
    topics: tuple[Skill, ...] = ()
    own: Needs = Needs()
    residents: tuple[tuple[str, Needs], ...] = ()
    closing: SlotClosing | None = None
    staffing: StaffingState
    served: frozenset[AssignmentId] = frozenset()
    moved_away: frozenset[VolunteerId] = frozenset()

    @property
    def open(self) -> bool:
        return self.opened and self.closing is None

    def slot_topics(self) -> tuple[Topic, ...]:
        """What the slot is about, in the scheduler's order."""
        return tuple(topic for skill in self.topics if (topic := topic_of(skill)) is not None)

    def needs(self) -> Needs:
        """The slot's own needs and those of every booked resident."""
        skills = set(self.own.skills)
        languages = set(self.own.languages)
        for _, needs in self.residents:
            skills.update(needs.skills)
            languages.update(needs.languages)
        return Needs(skills=tuple(sorted(skills)), languages=tuple(sorted(languages)))

    def as_solver_slot(self, host_group: GroupId | None = None) -> Slot:
        """The slot as the solver and the staffing rules see it."""
        if self.starts_at is None or self.ends_at is None:
            raise ValueError(f"slot {self.slot_id} was never opened")
        needs = self.needs()
        return Slot(
            slot_id=self.slot_id,
            kind=self.kind,
            commune_code=self.commune_code,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            needed=self.needed,
            topics=frozenset(self.topics),
            required_skills=frozenset(needs.skills),
            required_languages=frozenset(needs.languages),
            host_group=host_group,
            place=self.place,
        )

    def excluded(self) -> frozenset[VolunteerId]:
        """Who is not asked again for this slot: holding, declined, expired or released.

        Volunteers released because the slot moved may be asked again at its new time.
        """
        return frozenset(
            a.volunteer_id
            for a in self.staffing.assignments
            if not (a.status == Status.RELEASED and a.volunteer_id in self.moved_away)
        )

    def open_places(self) -> int:
        """Places nobody holds yet (by a pending proposal or an acceptance)."""
        if not self.open:
            return 0
        return max(self.needed - len(self.staffing.active()), 0)


def new_slot_state(slot_id: SlotId) -> SlotState:
    """The state of a slot before its first event."""
    return SlotState(slot_id=slot_id, staffing=StaffingState(slot_id=slot_id))


def decide_open(state: SlotState, command: OpenSlot, now: datetime) -> list[Event]:
    """Record the slot once; a slot that needs nobody is recorded too, and simply not staffed."""
    if state.opened:
        return []
    half_days_of(command.starts_at, command.ends_at)  # raises InvalidSlotError when malformed
    return [
        SlotOpened(
            slot_id=command.slot_id,
            slot_kind=command.kind,
            commune_code=command.commune_code,
            place=command.place,
            starts_at=command.starts_at,
            ends_at=command.ends_at,
            needed=max(command.needed, 0),
            topics=command.topics,
            required_skills=command.needs.skills,
            required_languages=command.needs.languages,
            opened_at=now,
        )
    ]


def decide_move(state: SlotState, command: MoveSlot, now: datetime) -> list[Event]:
    """Record the move; when the half days change, the volunteers' places are released,
    otherwise everyone holding one keeps it and is told (`assignment.moved`).

    A volunteer agreed to a time, not to any time: released volunteers may be asked again.
    """
    if not state.open:
        return []
    if (command.commune_code, command.place, command.starts_at, command.ends_at) == (
        state.commune_code,
        state.place,
        state.starts_at,
        state.ends_at,
    ):
        return []
    half_days_of(command.starts_at, command.ends_at)
    changed = SlotChanged(
        slot_id=state.slot_id,
        commune_code=command.commune_code,
        place=command.place,
        starts_at=command.starts_at,
        ends_at=command.ends_at,
        needed=state.needed,
        topics=state.topics,
        required_skills=state.own.skills,
        required_languages=state.own.languages,
        changed_at=now,
    )
    assert state.starts_at is not None
    assert state.ends_at is not None
    same_time = half_days_of(state.starts_at, state.ends_at) == half_days_of(
        command.starts_at, command.ends_at
    )
    if same_time and command.commune_code == state.commune_code:
        return [changed, *_kept_through_move(state, command, now)]
    releases: list[Event] = [
        AssignmentReleased(
            assignment_id=a.assignment_id,
            slot_id=state.slot_id,
            volunteer_id=a.volunteer_id,
            phone=a.phone,
            reason=ReleaseReason.SESSION_MOVED,
            released_at=now,
        )
        for a in state.staffing.active()
    ]
    events: list[Event] = [changed, *releases]
    after = fold(state, events)
    return events + cycle.report_staffing(after.staffing, after.as_solver_slot(), now)


def _kept_through_move(state: SlotState, command: MoveSlot, now: datetime) -> list[Event]:
    """Everyone holding a place keeps it through the move, and must hear of it."""
    assert state.starts_at is not None
    return [
        AssignmentMoved(
            assignment_id=a.assignment_id,
            slot_id=state.slot_id,
            slot_kind=state.kind,
            volunteer_id=a.volunteer_id,
            volunteer_name=a.volunteer_name,
            phone=a.phone,
            preferred_language=a.preferred_language,
            place=command.place,
            commune_code=command.commune_code,
            starts_at=command.starts_at,
            ends_at=command.ends_at,
            previous_starts_at=state.starts_at,
            short_code=a.short_code,
            accepted=a.status == Status.ACCEPTED,
            topics=state.slot_topics(),
            designated_topic=a.designated_topic,
            moved_at=now,
        )
        for a in state.staffing.active()
    ]


def changes_needs(known: Needs | None, command: NoteNeeds) -> bool:
    """Whether the command changes what the slot knows of the booking's needs (`known`: None
    when none are noted). Only needs are remembered: a booking without any adds nothing."""
    if command.booked and (command.needs.skills or command.needs.languages):
        return known != command.needs
    return known is not None


def decide_note_needs(state: SlotState, command: NoteNeeds, now: datetime) -> list[Event]:
    """Remember a booked resident's needs (only when they have some), or forget them.

    The staffing report follows when the slot now lacks, or no longer lacks, a skill.
    """
    if not state.open:
        return []
    if not changes_needs(dict(state.residents).get(command.booking_id), command):
        return []
    if command.booked and (command.needs.skills or command.needs.languages):
        noted = ResidentNeedsNoted(
            slot_id=state.slot_id,
            booking_id=command.booking_id,
            skills=command.needs.skills,
            languages=command.needs.languages,
            noted_at=now,
        )
    else:
        noted = ResidentNeedsNoted(
            slot_id=state.slot_id, booking_id=command.booking_id, booked=False, noted_at=now
        )
    after = evolve(state, noted)
    if after.needed < 1:
        return [noted]
    return [noted, *cycle.report_staffing(after.staffing, after.as_solver_slot(), now)]


def decide_close(
    state: SlotState, closing: SlotClosing, now: datetime, reason: str = ""
) -> list[Event]:
    """Close the slot: a cancellation releases every place (saying the coordinator's reason);
    completion credits who served."""
    if not state.opened or state.closing is not None:
        return []
    events: list[Event]
    if closing == SlotClosing.CANCELLED:
        events = cycle.decide_cancel(state.staffing, now, reason)
    else:
        events = _serve(state, None, now)
    return [*events, SlotClosed(slot_id=state.slot_id, closing=closing, closed_at=now)]


def decide_serve(state: SlotState, volunteer_id: VolunteerId, now: datetime) -> list[Event]:
    """A volunteer recorded attendance at the slot: their accepted assignment was served."""
    if not state.opened:
        return []
    return _serve(state, volunteer_id, now)


def _serve(state: SlotState, volunteer_id: VolunteerId | None, now: datetime) -> list[Event]:
    if state.starts_at is None or state.ends_at is None:
        return []
    minutes = int((state.ends_at - state.starts_at).total_seconds()) // MINUTES
    return [
        AssignmentServed(
            assignment_id=a.assignment_id,
            slot_id=state.slot_id,
            volunteer_id=a.volunteer_id,
            starts_at=state.starts_at,
            ends_at=state.ends_at,
            minutes=minutes,
            served_at=now,
        )
        for a in state.staffing.assignments
        if a.status == Status.ACCEPTED
        and a.assignment_id not in state.served
        and (volunteer_id is None or a.volunteer_id == volunteer_id)
    ]


def evolve(state: SlotState, event: Event) -> SlotState:
    """Fold one event of a staffing stream."""
    match event:
        case SlotOpened():
            state = msgspec.structs.replace(
                state,
                opened=True,
                kind=event.slot_kind,
                commune_code=event.commune_code,
                place=event.place,
                starts_at=event.starts_at,
                ends_at=event.ends_at,
                needed=event.needed,
                topics=event.topics,
                own=Needs(skills=event.required_skills, languages=event.required_languages),
            )
        case SlotChanged():
            state = msgspec.structs.replace(
                state,
                commune_code=event.commune_code,
                place=event.place,
                starts_at=event.starts_at,
                ends_at=event.ends_at,
                needed=event.needed,
                topics=event.topics,
                own=Needs(skills=event.required_skills, languages=event.required_languages),
            )
        case ResidentNeedsNoted():
            others = tuple((b, n) for b, n in state.residents if b != event.booking_id)
            if event.booked:
                needs = Needs(skills=event.skills, languages=event.languages)
                others = (*others, (event.booking_id, needs))
            state = msgspec.structs.replace(state, residents=others)
        case SlotClosed():
            staffing = msgspec.structs.replace(state.staffing, cancelled=True)
            state = msgspec.structs.replace(state, closing=event.closing, staffing=staffing)
        case AssignmentServed():
            state = msgspec.structs.replace(state, served=state.served | {event.assignment_id})
        case AssignmentReleased() if event.reason == ReleaseReason.SESSION_MOVED:
            staffing = cycle.evolve(state.staffing, event)
            state = msgspec.structs.replace(
                state, staffing=staffing, moved_away=state.moved_away | {event.volunteer_id}
            )
        case _:
            state = msgspec.structs.replace(state, staffing=cycle.evolve(state.staffing, event))
    return state


def fold(state: SlotState, events: Iterable[Event]) -> SlotState:
    """Fold several events of a staffing stream."""
    return fold_stream(evolve, events, state)
