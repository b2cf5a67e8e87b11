"""The request bodies of the scheduler's routes, and the answers they build (the read
models' own views are in services/scheduler/views/mappers.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from litestar.params import FromPath

from services.scheduler.domain.recurring import SkippedDate
from services.scheduler.views import mappers
from shared.events.consent import HELP_WORDING
from shared.events.scheduler import (
    AttendanceStatus,
    Venue,
    Weekend,
)
from shared.events.vocabulary import Accessibility, Language, Outcome, Topic
from shared.web.times import TimeOfDay


class SessionCreate(msgspec.Struct, frozen=True, kw_only=True):
    """A session to schedule; dates and times are local (Asia/Ho_Chi_Minh)."""

    commune_code: str
    venue: Venue
    local_date: date
    start_local: TimeOfDay
    end_local: TimeOfDay
    topics: tuple[Topic, ...]
    capacity: int
    volunteers_needed: int = 1
    languages: tuple[Language, ...] = (Language.VI,)
    accessibility: tuple[Accessibility, ...] = ()
    public_holiday: bool = False
    makeup_day: bool = False


class RecurringSessionsCreate(msgspec.Struct, frozen=True, kw_only=True):
    """The same session every Saturday (or Sunday) for some weeks, public holidays skipped."""

    commune_code: str
    venue: Venue
    first_date: date
    weeks: int
    weekday: Weekend = Weekend.SATURDAY
    start_local: TimeOfDay
    end_local: TimeOfDay
    topics: tuple[Topic, ...]
    capacity: int
    volunteers_needed: int = 1
    languages: tuple[Language, ...] = (Language.VI,)
    accessibility: tuple[Accessibility, ...] = ()


class RecurringSessionsView(msgspec.Struct, frozen=True, kw_only=True):
    sessions: list[mappers.SessionView]
    skipped: list[SkippedDate]


class RecurringSessionsPreview(msgspec.Struct, frozen=True, kw_only=True):
    """The local dates a weekly series would be scheduled on, and the holidays it would skip."""

    dates: list[date]
    skipped: list[SkippedDate]


class RosterResident(msgspec.Struct, frozen=True, kw_only=True):
    booking_id: FromPath[str]
    request_id: FromPath[str]
    name: str
    phone: str
    preferred_language: Language
    topics: list[Topic]
    accessibility_needs: list[Accessibility]
    from_waitlist: bool
    attendance: AttendanceStatus | None = None
    outcomes: list[Outcome] = []


class WaitingResident(msgspec.Struct, frozen=True, kw_only=True):
    """A resident waiting for a place, as a session's page lists them (in their turn)."""

    request_id: FromPath[str]
    name: str
    phone: str
    commune_code: str
    topics: list[Topic]
    accessibility_needs: list[Accessibility]
    preferred_language: Language
    waiting_since: datetime


class RosterView(msgspec.Struct, frozen=True, kw_only=True):
    """Who will be there: volunteers (as the volunteers service reported) and residents."""

    session_id: FromPath[str]
    status: str
    staffing: str
    volunteers_needed: int
    volunteer_ids: list[str]
    residents: list[RosterResident]


class SessionReschedule(msgspec.Struct, frozen=True, kw_only=True):
    local_date: date
    start_local: TimeOfDay
    end_local: TimeOfDay
    venue: Venue | None = None
    public_holiday: bool = False
    makeup_day: bool = False


class CapacityChange(msgspec.Struct, frozen=True, kw_only=True):
    """New capacity; below the bookings, name exactly the bookings that go back to waiting."""

    capacity: int
    move_to_waitlist: tuple[str, ...] = ()


class SessionCancel(msgspec.Struct, frozen=True, kw_only=True):
    reason: str


class AttendanceRecord(msgspec.Struct, frozen=True, kw_only=True):
    booking_id: FromPath[str]
    status: AttendanceStatus
    outcomes: tuple[Outcome, ...] = ()


class SessionComplete(msgspec.Struct, frozen=True, kw_only=True):
    walk_ins: int = 0


class HelpRequestCreate(msgspec.Struct, frozen=True, kw_only=True):
    """A resident's request for help; the phone may be written the Vietnamese way."""

    resident_name: str
    phone: str
    commune_code: str
    village_code: str | None = None
    address: str = ""
    topics: tuple[Topic, ...]
    accessibility_needs: tuple[Accessibility, ...] = ()
    preferred_language: Language = Language.VI
    preferred_days: tuple[Weekend, ...] = ()
    home_visit: bool = False
    birth_year: int | None = None
    elderly: bool = False
    disabled: bool = False
    minority: bool = False
    consent_given: bool = False
    sensitive_consent_given: Annotated[
        bool,
        msgspec.Meta(
            description="The resident's explicit consent to keeping sensitive needs: required "
            "when `disabled`, `minority`, `accessibility_needs` or a `preferred_language` other "
            "than `vi` is given (422 naming this field otherwise)."
        ),
    ] = False
    consent_wording: Annotated[
        str,
        msgspec.Meta(
            description="The version of the consent wording the resident was shown "
            '(docs/scheduler.md, "Consent"); the current one when left out.',
        ),
    ] = HELP_WORDING
    consent_channel: Annotated[
        Literal["api", "console"],
        msgspec.Meta(description="Where the resident agreed: `console` from the console's form."),
    ] = "api"


class BookingCancel(msgspec.Struct, frozen=True, kw_only=True):
    """A resident proves the booking is theirs with their phone; staff need their token."""

    phone: str | None = None
    reason: str = ""


class BookingChange(msgspec.Struct, frozen=True, kw_only=True):
    new_session_id: str
    phone: str | None = None


class PlaceView(msgspec.Struct, frozen=True, kw_only=True):
    code: FromPath[str]
    name: str
    kind: str


class CommuneSummary(msgspec.Struct, frozen=True, kw_only=True):
    code: FromPath[str]
    name: str
    kind: str
    province_code: str
    villages: int


class CommuneView(msgspec.Struct, frozen=True, kw_only=True):
    code: FromPath[str]
    name: str
    kind: str
    province_code: str
    province_name: str
    villages: list[PlaceView]


class PlacesImportView(msgspec.Struct, frozen=True, kw_only=True):
    imported: int
    communes: list[str]


class HomeVisitSchedule(msgspec.Struct, frozen=True, kw_only=True):
    local_date: date
    start_local: TimeOfDay
    end_local: TimeOfDay


class HomeVisitCancel(msgspec.Struct, frozen=True, kw_only=True):
    reason: str


class HomeVisitComplete(msgspec.Struct, frozen=True, kw_only=True):
    outcomes: tuple[Outcome, ...] = ()


class CommuneQueue(msgspec.Struct, frozen=True, kw_only=True):
    """What a commune's residents are still waiting for: a session place, or a home visit."""

    waiting: list[WaitingResident]
    home_visits: list[mappers.HomeVisitView]
