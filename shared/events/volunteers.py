"""Events published by the volunteers service: the contract other services consume.

Streams: `volunteer-<uuid>` (a member of a community digital technology group),
`group-<uuid>` (a commune's team), `staffing-<slot id>` (the slot as the scheduler published it
and every assignment of that session or home visit, so that the slot's staffing state is decided
in one place; the slot id is the scheduler's `session-<uuid>` or `visit-<uuid>`),
`weekend-<saturday>` (the weekend plans) and `reply-<uuid>` (SMS answers that matched nothing).
Skills, languages and topics are the words of `shared.events.vocabulary`; schema version 2 of
every event that names a language holds ISO 639 codes (`hmn`), version 1 held this service's
own names (`hmong`), upcast on read (`shared.events.upcasts`).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar, NewType

import msgspec

from shared.events.base import Event
from shared.events.catalog import Upcaster
from shared.events.consent import ConsentRecord
from shared.events.personal import Personal
from shared.events.scheduler import CommuneCode
from shared.events.upcasts import EACH, iso_languages
from shared.events.vocabulary import Language, Skill, Topic

VolunteerId = NewType("VolunteerId", str)
GroupId = NewType("GroupId", str)
AssignmentId = NewType("AssignmentId", str)
SlotId = NewType("SlotId", str)
CalendarLinkId = NewType("CalendarLinkId", str)


class HalfDay(StrEnum):
    """A part of a day, in Vietnam local time, as volunteers state when they are free.

    A slot takes the parts it touches: morning before 12:00, afternoon from 12:00, evening from
    18:00. Being free in the afternoon means from noon on, the evening included (what it
    meant before evenings could be named); being free in the evening means from 18:00 only,
    as for a volunteer who works during the day.
    """

    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"


class SlotKind(StrEnum):
    """A slot is a session at a venue or a visit to a resident's home."""

    SESSION = "session"
    HOME_VISIT = "home_visit"


class AnswerChannel(StrEnum):
    """How a volunteer answered: the web API or an SMS reply."""

    API = "api"
    SMS = "sms"


class ReleaseReason(StrEnum):
    """Why an assignment stopped holding a place."""

    SESSION_CANCELLED = "session_cancelled"
    VOLUNTEER_PAUSED = "volunteer_paused"
    COORDINATOR = "coordinator"
    SESSION_MOVED = "session_moved"


class SlotClosing(StrEnum):
    """Why a slot stopped taking volunteers."""

    CANCELLED = "cancelled"
    COMPLETED = "completed"


class ReplyProblem(StrEnum):
    """Why an SMS answer could not be applied to an assignment."""

    SEVERAL_PENDING = "several_pending"
    NO_SUCH_ASSIGNMENT = "no_such_assignment"
    ALREADY_ANSWERED = "already_answered"
    TOO_LATE = "too_late"
    UNKNOWN_PHONE = "unknown_phone"


class WeeklyAvailability(msgspec.Struct, frozen=True, kw_only=True):
    """The usual week: which parts of each day a volunteer can give.

    Weekends are the movement's sessions; weekdays (added later, so empty in older events)
    serve home visits arranged with a resident and holiday or make-up sessions.
    """

    saturday: tuple[HalfDay, ...] = ()
    sunday: tuple[HalfDay, ...] = ()
    monday: tuple[HalfDay, ...] = ()
    tuesday: tuple[HalfDay, ...] = ()
    wednesday: tuple[HalfDay, ...] = ()
    thursday: tuple[HalfDay, ...] = ()
    friday: tuple[HalfDay, ...] = ()

    def on(self, weekday: int) -> tuple[HalfDay, ...]:
        """The parts stated for a weekday (Monday is 0, as `date.weekday()` counts)."""
        return (
            self.monday,
            self.tuesday,
            self.wednesday,
            self.thursday,
            self.friday,
            self.saturday,
            self.sunday,
        )[weekday]


class AvailabilityException(msgspec.Struct, frozen=True, kw_only=True):
    """A dated exception to the usual week: away this Saturday, free on a holiday, or free for
    one home visit."""

    on: date
    available: bool
    half_days: tuple[HalfDay, ...] = (HalfDay.MORNING, HalfDay.AFTERNOON)


class GroupRegistered(Event, frozen=True, kw_only=True):
    """A commune's community digital technology team was registered."""

    event_type: ClassVar[str] = "group.registered"
    group_id: GroupId
    name: str
    commune_code: CommuneCode
    registered_at: datetime


class VolunteerRegistered(Event, frozen=True, kw_only=True):
    """A member joined a group and can now be assigned."""

    event_type: ClassVar[str] = "volunteer.registered"
    schema_version: ClassVar[int] = 2
    person: ClassVar[str] = "volunteer_id"
    volunteer_id: VolunteerId
    group_id: GroupId
    name: Personal
    phone: Personal
    commune_code: CommuneCode
    village: Personal
    skills: tuple[Skill, ...]
    languages: tuple[Language, ...]
    preferred_language: Language = Language.VI
    availability: WeeklyAvailability
    monthly_limit: int
    registered_at: datetime
    # What the volunteer agreed to (issue 16); None on volunteers registered before.
    consent: ConsentRecord | None = None


class VolunteerUpdated(Event, frozen=True, kw_only=True):
    """A volunteer's details changed (the full new values, so readers need no diff)."""

    event_type: ClassVar[str] = "volunteer.updated"
    schema_version: ClassVar[int] = 2
    person: ClassVar[str] = "volunteer_id"
    volunteer_id: VolunteerId
    name: Personal
    phone: Personal
    village: Personal
    skills: tuple[Skill, ...]
    languages: tuple[Language, ...]
    preferred_language: Language = Language.VI
    monthly_limit: int
    updated_at: datetime


class VolunteerPaused(Event, frozen=True, kw_only=True):
    """A volunteer stepped back for a while; their future assignments go to others."""

    event_type: ClassVar[str] = "volunteer.paused"
    person: ClassVar[str] = "volunteer_id"
    volunteer_id: VolunteerId
    reason: Personal = ""  # the coordinator's words: may say why (an illness, a move)
    paused_at: datetime


class VolunteerResumed(Event, frozen=True, kw_only=True):
    """A paused volunteer can be assigned again."""

    event_type: ClassVar[str] = "volunteer.resumed"
    volunteer_id: VolunteerId
    resumed_at: datetime


class AvailabilityChanged(Event, frozen=True, kw_only=True):
    """A volunteer restated their usual week and its dated exceptions (the full new values)."""

    event_type: ClassVar[str] = "availability.changed"
    volunteer_id: VolunteerId
    availability: WeeklyAvailability
    exceptions: tuple[AvailabilityException, ...] = ()
    changed_at: datetime


class AssignmentProposed(Event, frozen=True, kw_only=True):
    """A volunteer was asked to help at a slot; carries all an SMS needs, so no one queries back."""

    event_type: ClassVar[str] = "assignment.proposed"
    schema_version: ClassVar[int] = 2
    person: ClassVar[str] = "volunteer_id"
    assignment_id: AssignmentId
    slot_id: SlotId
    slot_kind: SlotKind
    volunteer_id: VolunteerId
    volunteer_name: Personal
    phone: Personal
    preferred_language: Language
    place: str
    commune_code: CommuneCode
    starts_at: datetime
    ends_at: datetime
    short_code: str
    explanation: str
    role: str = ""
    answer_by: datetime
    proposed_at: datetime
    skills: tuple[Skill, ...] = ()  # the volunteer's own, not the slot's
    languages: tuple[Language, ...] = ()
    # Added later: what the slot is about, in the scheduler's order, and the topic the
    # volunteer was chosen to guide (none when chosen for a skill, a language or a place).
    topics: tuple[Topic, ...] = ()
    designated_topic: Topic | None = None


class AssignmentAccepted(Event, frozen=True, kw_only=True):
    """The volunteer said yes."""

    event_type: ClassVar[str] = "assignment.accepted"
    assignment_id: AssignmentId
    slot_id: SlotId
    volunteer_id: VolunteerId
    channel: AnswerChannel
    accepted_at: datetime


class AssignmentDeclined(Event, frozen=True, kw_only=True):
    """The volunteer said no; the place goes to the next best volunteer."""

    event_type: ClassVar[str] = "assignment.declined"
    assignment_id: AssignmentId
    slot_id: SlotId
    volunteer_id: VolunteerId
    channel: AnswerChannel
    declined_at: datetime


class AssignmentExpired(Event, frozen=True, kw_only=True):
    """The volunteer did not answer in time; the place goes to the next best volunteer."""

    event_type: ClassVar[str] = "assignment.expired"
    assignment_id: AssignmentId
    slot_id: SlotId
    volunteer_id: VolunteerId
    expired_at: datetime


class AssignmentReleased(Event, frozen=True, kw_only=True):
    """An assignment no longer holds a place (session cancelled, volunteer paused)."""

    event_type: ClassVar[str] = "assignment.released"
    person: ClassVar[str] = "volunteer_id"
    assignment_id: AssignmentId
    slot_id: SlotId
    volunteer_id: VolunteerId
    phone: Personal
    reason: ReleaseReason
    released_at: datetime
    # The coordinator's words when the session was cancelled (SMS to the volunteer); "" else.
    cancel_reason: str = ""


class AssignmentMoved(Event, frozen=True, kw_only=True):
    """A volunteer keeps their place through a move of the slot (a new time within the same
    parts of the day, or a new venue): they must be told, and their reminders moved."""

    event_type: ClassVar[str] = "assignment.moved"
    person: ClassVar[str] = "volunteer_id"
    assignment_id: AssignmentId
    slot_id: SlotId
    slot_kind: SlotKind
    volunteer_id: VolunteerId
    volunteer_name: Personal
    phone: Personal
    preferred_language: Language
    place: str
    commune_code: CommuneCode
    starts_at: datetime
    ends_at: datetime
    previous_starts_at: datetime
    short_code: str
    accepted: bool  # False: the proposal still waits for an answer
    topics: tuple[Topic, ...] = ()
    designated_topic: Topic | None = None
    moved_at: datetime


class SessionStaffed(Event, frozen=True, kw_only=True):
    """Every place of a slot is held by a volunteer who accepted, with the skills it needs."""

    event_type: ClassVar[str] = "session.staffed"
    slot_id: SlotId
    slot_kind: SlotKind
    volunteer_ids: tuple[VolunteerId, ...]
    staffed_at: datetime


class SessionUnderstaffed(Event, frozen=True, kw_only=True):
    """A slot cannot be fully staffed now: says exactly what is missing, never hides a gap."""

    event_type: ClassVar[str] = "session.understaffed"
    schema_version: ClassVar[int] = 2
    slot_id: SlotId
    slot_kind: SlotKind
    missing_count: int
    missing_skills: tuple[Skill, ...] = ()
    missing_languages: tuple[Language, ...] = ()
    reported_at: datetime


class SlotOpened(Event, frozen=True, kw_only=True):
    """A session or home visit the scheduler published now needs volunteers (our own record).

    `slot_id` is the scheduler's id (`session-<uuid>` or `visit-<uuid>`); `required_*` are the
    slot's own requirements (its accessibility and languages); booked residents' needs are
    added by `slot.resident_needs_noted`.
    """

    event_type: ClassVar[str] = "slot.opened"
    schema_version: ClassVar[int] = 2
    slot_id: SlotId
    slot_kind: SlotKind
    commune_code: CommuneCode
    place: str
    starts_at: datetime
    ends_at: datetime
    needed: int
    topics: tuple[Skill, ...] = ()
    required_skills: tuple[Skill, ...] = ()
    required_languages: tuple[Language, ...] = ()
    opened_at: datetime


class SlotChanged(Event, frozen=True, kw_only=True):
    """A slot moved in time or place, or its own requirements changed (full new values)."""

    event_type: ClassVar[str] = "slot.changed"
    schema_version: ClassVar[int] = 2
    slot_id: SlotId
    commune_code: CommuneCode
    place: str
    starts_at: datetime
    ends_at: datetime
    needed: int
    topics: tuple[Skill, ...] = ()
    required_skills: tuple[Skill, ...] = ()
    required_languages: tuple[Language, ...] = ()
    changed_at: datetime


class ResidentNeedsNoted(Event, frozen=True, kw_only=True):
    """A booked resident's needs count for the slot's requirements (`booked=False`: no longer)."""

    event_type: ClassVar[str] = "slot.resident_needs_noted"
    schema_version: ClassVar[int] = 2
    slot_id: SlotId
    booking_id: str
    skills: tuple[Skill, ...] = ()
    languages: tuple[Language, ...] = ()
    booked: bool = True
    noted_at: datetime


class SlotClosed(Event, frozen=True, kw_only=True):
    """A slot takes no more volunteers: the session or visit was cancelled or is over."""

    event_type: ClassVar[str] = "slot.closed"
    slot_id: SlotId
    closing: SlotClosing
    closed_at: datetime


class AssignmentServed(Event, frozen=True, kw_only=True):
    """An accepted assignment was served (slot completed, or attendance recorded by them)."""

    event_type: ClassVar[str] = "assignment.served"
    assignment_id: AssignmentId
    slot_id: SlotId
    volunteer_id: VolunteerId
    starts_at: datetime
    ends_at: datetime
    minutes: int
    served_at: datetime


class PlannedGap(msgspec.Struct, frozen=True, kw_only=True):
    """What one slot still lacks after a weekend plan."""

    slot_id: SlotId
    missing_count: int
    missing_skills: tuple[Skill, ...] = ()
    missing_languages: tuple[Language, ...] = ()


class WeekendPlanned(Event, frozen=True, kw_only=True):
    """The whole weekend's open places were assigned at once; the objective and gaps are kept."""

    event_type: ClassVar[str] = "weekend.planned"
    schema_version: ClassVar[int] = 2
    saturday: date
    slots: int
    open_places: int
    proposed: int
    objective: int
    uncovered_requirements: int
    unfilled: int
    topic_roles: int
    hops: int
    load: int
    team: int
    gaps: tuple[PlannedGap, ...] = ()
    solve_ms: int = 0
    planned_at: datetime


class AssignmentReplyUnmatched(Event, frozen=True, kw_only=True):
    """An SMS answer could not be applied; notifications may ask "which one?" with the codes."""

    event_type: ClassVar[str] = "assignment.reply_unmatched"
    inbound_id: str
    volunteer_id: VolunteerId | None = None
    # Written empty since volunteers sealed their data: the number may be nobody's here, and
    # notifications reads it from its own inbound SMS (`inbound_id`). Older events hold it.
    phone: str = ""
    problem: ReplyProblem
    pending_codes: tuple[str, ...] = ()
    received_at: datetime


class CalendarLinkIssued(Event, frozen=True, kw_only=True):
    """A volunteer got a secret link to a calendar of their accepted assignments; any link
    before it stopped working (`volunteer.calendar_link_revoked` comes first)."""

    event_type: ClassVar[str] = "volunteer.calendar_link_issued"
    volunteer_id: VolunteerId
    link_id: CalendarLinkId
    # sha256 of the secret in the link, hex: the secret itself is shown once and kept nowhere
    secret_hash: str
    issued_at: datetime


class CalendarLinkRevoked(Event, frozen=True, kw_only=True):
    """A volunteer's calendar link stopped working (revoked, or replaced by a new one)."""

    event_type: ClassVar[str] = "volunteer.calendar_link_revoked"
    volunteer_id: VolunteerId
    link_id: CalendarLinkId
    revoked_at: datetime


def proposal_topic(event: AssignmentProposed | AssignmentMoved) -> str:
    """The topic an assignment is about for its volunteer (their SMS, their calendar): the one
    they were chosen to guide, else the slot's first; never a skill of their own that the slot
    is not about. "" when none is known."""
    if event.designated_topic is not None:
        return event.designated_topic.value
    if event.topics:
        return event.topics[0].value
    if isinstance(event, AssignmentProposed):
        # Proposals recorded before they carried the slot's topics named a topic role so.
        kind, _, name = event.role.partition(":")
        if kind == "topic" and name in _WORDS:
            return name
    return ""


_WORDS = frozenset({*(s.value for s in Skill), *(t.value for t in Topic)})


class ErasureAskedBy(StrEnum):
    """Who asked for a volunteer's data to be erased."""

    VOLUNTEER = "volunteer"  # themselves, through a coordinator or by SMS
    COORDINATOR = "coordinator"
    ADMIN = "admin"


class VolunteerErasureRequested(Event, frozen=True, kw_only=True):
    """A volunteer is to be forgotten: they get no more proposals, their future assignments are
    released. While this is done their key still opens `phone`, so the notifications service
    can tell them and forget the number; `volunteer.erased` follows."""

    event_type: ClassVar[str] = "volunteer.erasure_requested"
    person: ClassVar[str] = "volunteer_id"
    volunteer_id: VolunteerId
    commune_code: CommuneCode
    phone: Personal  # E.164: the number to forget, and to tell that it is done
    preferred_language: Language
    requested_by: ErasureAskedBy
    requested_at: datetime


class VolunteerErased(Event, frozen=True, kw_only=True):
    """A volunteer's data key is destroyed: their name, number and village no longer open in
    any event; their assignments and hours still count in reports."""

    event_type: ClassVar[str] = "volunteer.erased"
    volunteer_id: VolunteerId
    commune_code: CommuneCode
    erased_at: datetime


EVENTS: tuple[type[Event], ...] = (
    GroupRegistered,
    VolunteerRegistered,
    VolunteerUpdated,
    VolunteerPaused,
    VolunteerResumed,
    AvailabilityChanged,
    AssignmentProposed,
    AssignmentAccepted,
    AssignmentDeclined,
    AssignmentExpired,
    AssignmentReleased,
    SessionStaffed,
    SessionUnderstaffed,
    SlotOpened,
    SlotChanged,
    ResidentNeedsNoted,
    SlotClosed,
    AssignmentServed,
    WeekendPlanned,
    AssignmentReplyUnmatched,
    AssignmentMoved,
    CalendarLinkIssued,
    CalendarLinkRevoked,
    VolunteerErasureRequested,
    VolunteerErased,
)

_LANGUAGES_V1 = {
    "volunteer.registered": iso_languages(one=(("preferred_language",),), many=(("languages",),)),
    "volunteer.updated": iso_languages(one=(("preferred_language",),), many=(("languages",),)),
    "assignment.proposed": iso_languages(one=(("preferred_language",),), many=(("languages",),)),
    "session.understaffed": iso_languages(many=(("missing_languages",),)),
    "slot.opened": iso_languages(many=(("required_languages",),)),
    "slot.changed": iso_languages(many=(("required_languages",),)),
    "slot.resident_needs_noted": iso_languages(many=(("languages",),)),
    "weekend.planned": iso_languages(many=(("gaps", EACH, "missing_languages"),)),
}
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    (name, 1): upcast for name, upcast in _LANGUAGES_V1.items()
}
