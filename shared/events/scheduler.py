"""Events published by the scheduler service: the contract other services consume.

Ids are the stream ids themselves (`session-<uuid>`, `request-<uuid>`, `visit-<uuid>`) so a
consumer can name the stream without knowing the scheduler's conventions; booking ids
(`booking-<uuid>`) live inside their session's stream. Commune codes are the five-digit
National Statistics Office codes (`"15835"`), province codes two digits (`"38"`).
Instants are aware UTC datetimes; local dates and times are Asia/Ho_Chi_Minh. Topics,
languages, accessibility needs and outcomes are the words of `shared.events.vocabulary`.

Schema version 2 of every event that names a language holds ISO 639 codes (`hmn`, `blt`);
version 1 held the tag as typed (`hmn`, `tai-dam`), upcast on read (`shared.events.upcasts`).
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import ClassVar, NewType
from uuid import UUID

import msgspec

from shared.events.base import Event
from shared.events.catalog import Upcaster
from shared.events.consent import ConsentRecord, SmsConsentNotice
from shared.events.personal import Personal
from shared.events.upcasts import AFFECTED, RESIDENT, iso_languages
from shared.events.vocabulary import Accessibility, Language, Outcome, Skill, Topic

SessionId = NewType("SessionId", str)
BookingId = NewType("BookingId", str)
HelpRequestId = NewType("HelpRequestId", str)
VisitId = NewType("VisitId", str)
CoordinatorId = NewType("CoordinatorId", str)
CommuneCode = NewType("CommuneCode", str)
ProvinceCode = NewType("ProvinceCode", str)
PlaceCode = NewType("PlaceCode", str)


# The longest reason a coordinator may give for cancelling: residents and volunteers read it in
# their cancellation SMS, which must stay within three UCS-2 parts (docs/notifications.md).
CANCEL_REASON_MAX = 50


class Weekend(StrEnum):
    """The weekend days a resident prefers."""

    SATURDAY = "saturday"
    SUNDAY = "sunday"


class Channel(StrEnum):
    """How a help request reached us."""

    WEB = "web"
    SMS = "sms"
    VOLUNTEER = "volunteer"
    COORDINATOR = "coordinator"


class Actor(StrEnum):
    """Who made a change on a resident's booking."""

    RESIDENT = "resident"
    VOLUNTEER = "volunteer"
    COORDINATOR = "coordinator"
    SYSTEM = "system"


class AttendanceStatus(StrEnum):
    """What happened with one booking on the day."""

    CHECKED_IN = "checked_in"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


class Venue(msgspec.Struct, frozen=True, kw_only=True):
    """Where residents go: a cultural house, commune office or school."""

    name: str
    address: str
    village_code: PlaceCode | None = None


class Slot(msgspec.Struct, frozen=True, kw_only=True):
    """When something happens, both as residents read it (local) and as instants (UTC)."""

    local_date: date
    start_local: time
    end_local: time
    starts_at: datetime
    ends_at: datetime


class ResidentContact(msgspec.Struct, frozen=True, kw_only=True):
    """Enough to send a resident an SMS in their language without asking the scheduler (but
    for the resident's data key, asked of the scheduler: name and phone are sealed)."""

    person: ClassVar[str] = "request_id"
    request_id: HelpRequestId
    name: Personal
    phone: Personal  # E.164
    preferred_language: Language


class AffectedBooking(msgspec.Struct, frozen=True, kw_only=True):
    """A booking touched by a change to its whole session, with whom to tell."""

    booking_id: BookingId
    resident: ResidentContact


class OutcomeCount(msgspec.Struct, frozen=True, kw_only=True):
    outcome: Outcome
    count: int


class SessionTotals(msgspec.Struct, frozen=True, kw_only=True):
    """What a session achieved, fixed when it completes."""

    booked: int
    attended: int
    no_show: int
    unrecorded: int
    walk_ins: int = 0
    outcomes: tuple[OutcomeCount, ...] = ()


class ImportedPlace(msgspec.Struct, frozen=True, kw_only=True):
    """A village, hamlet or residential group below a commune (kind: village, hamlet,
    residential_group)."""

    code: PlaceCode
    name: str
    kind: str
    commune_code: CommuneCode


class RefusalCode(StrEnum):
    """Why a help request by SMS could not be accepted, so its answer can say what to do."""

    COMMUNE_UNKNOWN = "commune_unknown"  # no commune or ward by that code or name
    COMMUNE_AMBIGUOUS = "commune_ambiguous"  # several communes or wards share the name
    PHONE_INVALID = "phone_invalid"  # not a Vietnamese mobile number
    OTHER = "other"


class RefusalReason(msgspec.Struct, frozen=True, kw_only=True):
    """One thing wrong with a help request that could not be accepted.

    `code` was added later: events without it said only `field` (`commune_code`, `phone`).
    """

    field: str
    message: str
    code: RefusalCode | None = None


class SessionScheduled(Event, frozen=True, kw_only=True):
    """A coordinator put a support session on the calendar."""

    event_type: ClassVar[str] = "session.scheduled"
    schema_version: ClassVar[int] = 2
    session_id: SessionId
    commune_code: CommuneCode
    province_code: ProvinceCode
    venue: Venue
    when: Slot
    topics: tuple[Topic, ...]
    capacity: int
    volunteers_needed: int
    languages: tuple[Language, ...]
    accessibility: tuple[Accessibility, ...]
    coordinator_id: CoordinatorId
    public_holiday: bool = False
    makeup_day: bool = False
    scheduled_at: datetime


class SessionRescheduled(Event, frozen=True, kw_only=True):
    """A session moved in time or place; its booked residents must be told."""

    event_type: ClassVar[str] = "session.rescheduled"
    schema_version: ClassVar[int] = 2
    session_id: SessionId
    commune_code: CommuneCode
    venue: Venue
    when: Slot
    previous_when: Slot
    public_holiday: bool = False
    makeup_day: bool = False
    coordinator_id: CoordinatorId
    affected: tuple[AffectedBooking, ...] = ()
    rescheduled_at: datetime


class SessionCapacityChanged(Event, frozen=True, kw_only=True):
    """A session takes a different number of residents; bookings moved out are named."""

    event_type: ClassVar[str] = "session.capacity_changed"
    session_id: SessionId
    capacity: int
    previous_capacity: int
    moved_booking_ids: tuple[BookingId, ...] = ()
    changed_at: datetime


class SessionCancelled(Event, frozen=True, kw_only=True):
    """A session will not take place; its residents go back to waiting and must be told why."""

    event_type: ClassVar[str] = "session.cancelled"
    schema_version: ClassVar[int] = 2
    session_id: SessionId
    commune_code: CommuneCode
    venue: Venue
    when: Slot
    reason: str
    coordinator_id: CoordinatorId
    affected: tuple[AffectedBooking, ...] = ()
    cancelled_at: datetime


class SessionCompleted(Event, frozen=True, kw_only=True):
    """A session is over and its totals are final."""

    event_type: ClassVar[str] = "session.completed"
    session_id: SessionId
    commune_code: CommuneCode
    local_date: date
    totals: SessionTotals
    completed_at: datetime


class HelpRequested(Event, frozen=True, kw_only=True):
    """A resident, or someone on their behalf, asked for help."""

    event_type: ClassVar[str] = "help.requested"
    schema_version: ClassVar[int] = 2
    person: ClassVar[str] = "request_id"
    request_id: HelpRequestId
    resident_name: Personal
    phone: Personal  # E.164
    commune_code: CommuneCode
    province_code: ProvinceCode
    village_code: PlaceCode | None = None
    address: Personal = ""
    topics: tuple[Topic, ...]
    accessibility_needs: tuple[Accessibility, ...] = ()
    preferred_language: Language = Language.VI
    preferred_days: tuple[Weekend, ...] = ()
    home_visit: bool = False
    channel: Channel
    filed_by: str | None = None
    # Sensitive personal data, given with consent, used only for reporting by group.
    birth_year: int | None = None
    elderly: bool = False
    disabled: bool = False
    minority: bool = False
    consent_given: bool = True
    requested_at: datetime
    # What the resident agreed to (issue 16); None on requests filed before consent records.
    consent: ConsentRecord | None = None


class ResidentBooked(Event, frozen=True, kw_only=True):
    """A resident has a place in a session.

    `changed_from_booking_id` is set when the resident moved here from another booking; the
    matching `booking.changed` event is the one to tell the resident about.
    """

    event_type: ClassVar[str] = "resident.booked"
    schema_version: ClassVar[int] = 2
    session_id: SessionId
    booking_id: BookingId
    resident: ResidentContact
    topics: tuple[Topic, ...]
    accessibility_needs: tuple[Accessibility, ...] = ()
    commune_code: CommuneCode
    venue: Venue
    when: Slot
    from_waitlist: bool = False
    changed_from_booking_id: BookingId | None = None
    booked_at: datetime
    # The first answer to a request by SMS says what is kept and how to erase it: the version
    # of that wording (shared/events/consent.py); None on every other booking.
    consent_notice: SmsConsentNotice | None = None


class ResidentWaitlisted(Event, frozen=True, kw_only=True):
    """No fitting session had room; the resident waits, first come first served."""

    event_type: ClassVar[str] = "resident.waitlisted"
    schema_version: ClassVar[int] = 2
    request_id: HelpRequestId
    resident: ResidentContact
    commune_code: CommuneCode
    topics: tuple[Topic, ...]
    waitlisted_at: datetime
    consent_notice: SmsConsentNotice | None = None  # as on `resident.booked`


class ResidentMovedToWaitlist(Event, frozen=True, kw_only=True):
    """A booked resident lost their place (capacity cut) and waits again in their old turn."""

    event_type: ClassVar[str] = "resident.moved_to_waitlist"
    schema_version: ClassVar[int] = 2
    session_id: SessionId
    booking_id: BookingId
    resident: ResidentContact
    venue: Venue
    when: Slot
    reason: str
    moved_at: datetime


class BookingCancelled(Event, frozen=True, kw_only=True):
    """A booking was given up; its place is free for the waitlist."""

    event_type: ClassVar[str] = "booking.cancelled"
    schema_version: ClassVar[int] = 2
    person: ClassVar[str] = "resident.request_id"
    session_id: SessionId
    booking_id: BookingId
    resident: ResidentContact
    venue: Venue
    when: Slot
    reason: Personal  # the resident's own words when they cancelled
    cancelled_by: Actor
    cancelled_at: datetime


class BookingChanged(Event, frozen=True, kw_only=True):
    """A resident moved from this session's booking to another session; tell them once."""

    event_type: ClassVar[str] = "booking.changed"
    schema_version: ClassVar[int] = 2
    session_id: SessionId
    booking_id: BookingId
    resident: ResidentContact
    new_session_id: SessionId
    new_booking_id: BookingId
    new_venue: Venue
    new_when: Slot
    changed_by: Actor
    changed_at: datetime


class HomeVisitRequested(Event, frozen=True, kw_only=True):
    """A resident who cannot come needs volunteers at home."""

    event_type: ClassVar[str] = "home_visit.requested"
    schema_version: ClassVar[int] = 2
    person: ClassVar[str] = "resident.request_id"
    visit_id: VisitId
    resident: ResidentContact
    commune_code: CommuneCode
    village_code: PlaceCode | None = None
    address: Personal
    topics: tuple[Topic, ...]
    accessibility_needs: tuple[Accessibility, ...] = ()
    preferred_days: tuple[Weekend, ...] = ()
    volunteers_needed: int
    requested_at: datetime


class HomeVisitScheduled(Event, frozen=True, kw_only=True):
    """A home visit has a time; the volunteers service staffs it like a session."""

    event_type: ClassVar[str] = "home_visit.scheduled"
    schema_version: ClassVar[int] = 2
    person: ClassVar[str] = "resident.request_id"
    visit_id: VisitId
    resident: ResidentContact
    commune_code: CommuneCode
    village_code: PlaceCode | None = None
    address: Personal
    when: Slot
    topics: tuple[Topic, ...]
    accessibility_needs: tuple[Accessibility, ...] = ()
    languages: tuple[Language, ...]
    volunteers_needed: int
    coordinator_id: CoordinatorId
    scheduled_at: datetime


class HomeVisitCancelled(Event, frozen=True, kw_only=True):
    """A home visit will not happen."""

    event_type: ClassVar[str] = "home_visit.cancelled"
    schema_version: ClassVar[int] = 2
    person: ClassVar[str] = "resident.request_id"
    visit_id: VisitId
    resident: ResidentContact
    when: Slot | None = None
    reason: Personal
    cancelled_at: datetime


class HomeVisitCompleted(Event, frozen=True, kw_only=True):
    """A home visit took place, with what got done."""

    event_type: ClassVar[str] = "home_visit.completed"
    visit_id: VisitId
    request_id: HelpRequestId
    commune_code: CommuneCode
    local_date: date
    outcomes: tuple[Outcome, ...] = ()
    completed_at: datetime


class AttendanceRecorded(Event, frozen=True, kw_only=True):
    """A volunteer or coordinator noted a booked resident's check-in, attendance or absence."""

    event_type: ClassVar[str] = "attendance.recorded"
    session_id: SessionId
    booking_id: BookingId
    request_id: HelpRequestId
    commune_code: CommuneCode
    local_date: date
    status: AttendanceStatus
    outcomes: tuple[Outcome, ...] = ()
    recorded_by: str  # the token's subject: who, for the record
    recorded_at: datetime
    # The volunteer who recorded it, when one did (their hours count); added later.
    recorded_by_volunteer: str | None = None


class StaffingAlertRaised(Event, frozen=True, kw_only=True):
    """A session is still understaffed 48 hours before it starts; its coordinator must act."""

    event_type: ClassVar[str] = "staffing.alert_raised"
    session_id: SessionId
    coordinator_id: CoordinatorId
    commune_code: CommuneCode
    venue: Venue
    when: Slot
    volunteers_needed: int
    raised_at: datetime


class PlacesImported(Event, frozen=True, kw_only=True):
    """Villages and hamlets were added to the scheduler's list of places (stream `places`)."""

    event_type: ClassVar[str] = "places.imported"
    places: tuple[ImportedPlace, ...]
    imported_by: str
    imported_at: datetime


class SessionStaffingChanged(Event, frozen=True, kw_only=True):
    """The volunteers service reported a session staffed or understaffed; recorded on the session.

    `volunteer_ids` are the volunteers who accepted (known when staffed); `missing_*` say what
    is lacking when understaffed.
    """

    event_type: ClassVar[str] = "session.staffing_changed"
    schema_version: ClassVar[int] = 2
    session_id: SessionId
    staffed: bool
    volunteer_ids: tuple[str, ...] = ()
    missing_count: int = 0
    missing_skills: tuple[Skill, ...] = ()
    missing_languages: tuple[Language, ...] = ()
    reported_at: datetime
    changed_at: datetime


class HomeVisitStaffingChanged(Event, frozen=True, kw_only=True):
    """The volunteers service reported a home visit staffed or understaffed."""

    event_type: ClassVar[str] = "home_visit.staffing_changed"
    visit_id: VisitId
    staffed: bool
    volunteer_ids: tuple[str, ...] = ()
    missing_count: int = 0
    reported_at: datetime
    changed_at: datetime


class HelpRequestRefused(Event, frozen=True, kw_only=True):
    """A help request that arrived by SMS could not be accepted (e.g. unknown commune); the
    notifications service can answer the sender with what to send instead."""

    event_type: ClassVar[str] = "help_request.refused"
    person: ClassVar[str] = "request_id"
    request_id: HelpRequestId
    inbound_id: str
    resident_phone: Personal  # E.164 when it could be read, else as received
    channel: Channel = Channel.SMS
    reasons: tuple[RefusalReason, ...]
    refused_at: datetime


class ResidentErasureRequested(Event, frozen=True, kw_only=True):
    """A resident (one help request) is to be forgotten. While this is being done their key
    still opens `phone`, so the notifications service can forget the number and tell them;
    `resident.erased` follows, after which nothing about them opens any more."""

    event_type: ClassVar[str] = "resident.erasure_requested"
    person: ClassVar[str] = "request_id"
    request_id: HelpRequestId
    commune_code: CommuneCode
    phone: Personal  # E.164: the number to forget, and to tell that it is done
    preferred_language: Language
    requested_by: Actor
    requested_at: datetime
    # The resident asked by SMS: the `resident.erasure_confirmed` event's id, the same on each
    # of their requests, so the one SMS telling them is written once.
    confirmation_id: UUID | None = None


class ResidentErased(Event, frozen=True, kw_only=True):
    """A resident's data key is destroyed: every personal value about them, in every event of
    every service, no longer opens. Their request and bookings still count in reports."""

    event_type: ClassVar[str] = "resident.erased"
    request_id: HelpRequestId
    commune_code: CommuneCode
    erased_at: datetime


class RetentionRan(Event, frozen=True, kw_only=True):
    """The daily retention run asked to erase the residents last seen before `cutoff` (at most
    a batch a run: with `more_due` the next batch follows within minutes). Stream `retention`."""

    event_type: ClassVar[str] = "retention.ran"
    cutoff: datetime
    erasures_requested: int
    more_due: bool
    ran_at: datetime


class ErasureBySmsStarted(Event, frozen=True, kw_only=True):
    """The scheduler heard a number's owner confirm an erasure by SMS and asked the erasure
    of each help request it holds for the number (`request_ids`, maybe none: then the
    notifications service tells them and forgets the number). `erasure_stream` names the
    notifications' stream of that confirmation; stream `erasure-by-sms-<uuid>`."""

    event_type: ClassVar[str] = "resident.erasure_by_sms_started"
    confirmation_id: UUID
    erasure_stream: str
    request_ids: tuple[str, ...] = ()
    started_at: datetime


EVENTS: tuple[type[Event], ...] = (
    SessionScheduled,
    SessionRescheduled,
    SessionCapacityChanged,
    SessionCancelled,
    SessionCompleted,
    HelpRequested,
    ResidentBooked,
    ResidentWaitlisted,
    ResidentMovedToWaitlist,
    BookingCancelled,
    BookingChanged,
    HomeVisitRequested,
    HomeVisitScheduled,
    HomeVisitCancelled,
    HomeVisitCompleted,
    AttendanceRecorded,
    StaffingAlertRaised,
    PlacesImported,
    SessionStaffingChanged,
    HomeVisitStaffingChanged,
    HelpRequestRefused,
    ResidentErasureRequested,
    ResidentErased,
    RetentionRan,
    ErasureBySmsStarted,
)

_LANGUAGES_V1 = {
    "session.scheduled": iso_languages(many=(("languages",),)),
    "session.rescheduled": iso_languages(one=(AFFECTED,)),
    "session.cancelled": iso_languages(one=(AFFECTED,)),
    "help.requested": iso_languages(one=(("preferred_language",),)),
    "resident.booked": iso_languages(one=(RESIDENT,)),
    "resident.waitlisted": iso_languages(one=(RESIDENT,)),
    "resident.moved_to_waitlist": iso_languages(one=(RESIDENT,)),
    "booking.cancelled": iso_languages(one=(RESIDENT,)),
    "booking.changed": iso_languages(one=(RESIDENT,)),
    "home_visit.requested": iso_languages(one=(RESIDENT,)),
    "home_visit.scheduled": iso_languages(one=(RESIDENT,), many=(("languages",),)),
    "home_visit.cancelled": iso_languages(one=(RESIDENT,)),
    "session.staffing_changed": iso_languages(many=(("missing_languages",),)),
}
UPCASTERS: dict[tuple[str, int], Upcaster] = {
    (name, 1): upcast for name, upcast in _LANGUAGES_V1.items()
}
