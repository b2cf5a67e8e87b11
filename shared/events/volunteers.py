"""Events published by the volunteers service: the contract other services consume.

Streams: `volunteer-<uuid>` (a member of a community digital technology group),
`group-<uuid>` (a commune's team), `staffing-<slot id>` (the slot as the scheduler published it
and every assignment of that session or home visit, so that the slot's staffing state is decided
in one place; the slot id is the scheduler's `session-<uuid>` or `visit-<uuid>`),
`weekend-<saturday>` (the weekend plans) and `reply-<uuid>` (SMS answers that matched nothing).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar, NewType

import msgspec

from shared.events.base import Event
from shared.events.scheduler import CommuneCode

VolunteerId = NewType("VolunteerId", str)
GroupId = NewType("GroupId", str)
AssignmentId = NewType("AssignmentId", str)
SlotId = NewType("SlotId", str)


class Skill(StrEnum):
    """What a volunteer can guide residents through: the session topics, plus two support skills."""

    VNEID_ACTIVATION = "vneid_activation"
    ONLINE_PUBLIC_SERVICES = "online_public_services"
    CASHLESS_PAYMENT = "cashless_payment"
    SMARTPHONE_BASICS = "smartphone_basics"
    SCREEN_READER = "screen_reader"
    BUSINESS_APPS = "business_apps"
    ONLINE_LEARNING = "online_learning"
    SCREEN_READER_HELP = "screen_reader_help"
    INTERPRETING = "interpreting"


class Language(StrEnum):
    """Languages residents speak: Vietnamese, the province's minority languages, sign language."""

    VI = "vi"
    THAI = "thai"
    MUONG = "muong"
    HMONG = "hmong"
    DAO = "dao"
    KHMER = "khmer"
    TAY = "tay"
    NUNG = "nung"
    KHO_MU = "kho_mu"
    SIGN = "sign"


class HalfDay(StrEnum):
    """Weekend availability is stated per half day, in Vietnam local time."""

    MORNING = "morning"
    AFTERNOON = "afternoon"


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


class WeekendAvailability(msgspec.Struct, frozen=True, kw_only=True):
    """The usual weekend: which half days of Saturday and Sunday a volunteer can give."""

    saturday: tuple[HalfDay, ...] = ()
    sunday: tuple[HalfDay, ...] = ()


class AvailabilityException(msgspec.Struct, frozen=True, kw_only=True):
    """A dated exception to the usual weekend: away this Saturday, or free on a holiday."""

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
    volunteer_id: VolunteerId
    group_id: GroupId
    name: str
    phone: str
    commune_code: CommuneCode
    village: str
    skills: tuple[Skill, ...]
    languages: tuple[Language, ...]
    preferred_language: Language = Language.VI
    availability: WeekendAvailability
    monthly_limit: int
    registered_at: datetime


class VolunteerUpdated(Event, frozen=True, kw_only=True):
    """A volunteer's details changed (the full new values, so readers need no diff)."""

    event_type: ClassVar[str] = "volunteer.updated"
    volunteer_id: VolunteerId
    name: str
    phone: str
    village: str
    skills: tuple[Skill, ...]
    languages: tuple[Language, ...]
    preferred_language: Language = Language.VI
    monthly_limit: int
    updated_at: datetime


class VolunteerPaused(Event, frozen=True, kw_only=True):
    """A volunteer stepped back for a while; their future assignments go to others."""

    event_type: ClassVar[str] = "volunteer.paused"
    volunteer_id: VolunteerId
    reason: str = ""
    paused_at: datetime


class VolunteerResumed(Event, frozen=True, kw_only=True):
    """A paused volunteer can be assigned again."""

    event_type: ClassVar[str] = "volunteer.resumed"
    volunteer_id: VolunteerId
    resumed_at: datetime


class AvailabilityChanged(Event, frozen=True, kw_only=True):
    """A volunteer restated their weekends (the full new availability)."""

    event_type: ClassVar[str] = "availability.changed"
    volunteer_id: VolunteerId
    availability: WeekendAvailability
    exceptions: tuple[AvailabilityException, ...] = ()
    changed_at: datetime


class AssignmentProposed(Event, frozen=True, kw_only=True):
    """A volunteer was asked to help at a slot; carries all an SMS needs, so no one queries back."""

    event_type: ClassVar[str] = "assignment.proposed"
    assignment_id: AssignmentId
    slot_id: SlotId
    slot_kind: SlotKind
    volunteer_id: VolunteerId
    volunteer_name: str
    phone: str
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
    skills: tuple[Skill, ...] = ()
    languages: tuple[Language, ...] = ()


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
    assignment_id: AssignmentId
    slot_id: SlotId
    volunteer_id: VolunteerId
    phone: str
    reason: ReleaseReason
    released_at: datetime


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
    phone: str
    problem: ReplyProblem
    pending_codes: tuple[str, ...] = ()
    received_at: datetime


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
)
