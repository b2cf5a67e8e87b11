"""Help requests (stream `request-<uuid>`): what a resident needs, and where the request stands.

The request stream holds `help.requested` and `resident.waitlisted`. Its status also follows
the session and visit events that name the request (booked, moved, cancelled), so a read model
can fold every event carrying the request id with `evolve_request`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

import msgspec

from services.scheduler.domain.errors import (
    FieldProblem,
    HelpRequestClosedError,
    HelpRequestRejectedError,
)
from services.scheduler.domain.places import Commune, Place, find_commune
from shared.events.base import Event
from shared.events.consent import (
    CONSENT_WORDINGS,
    HELP_WORDING,
    ConsentActor,
    ConsentChannel,
    ConsentPurpose,
    ConsentRecord,
    SmsConsentNotice,
)
from shared.events.scheduler import (
    BookingCancelled,
    BookingChanged,
    BookingId,
    Channel,
    CommuneCode,
    HelpRequested,
    HelpRequestId,
    HomeVisitRequested,
    PlaceCode,
    ProvinceCode,
    ResidentBooked,
    ResidentContact,
    ResidentErased,
    ResidentErasureRequested,
    ResidentMovedToWaitlist,
    ResidentWaitlisted,
    SessionCancelled,
    SessionId,
    VisitId,
    Weekend,
)
from shared.events.vocabulary import Accessibility, Language, Topic
from shared.phones import InvalidPhoneError, normalize_phone

MAX_NAME_LENGTH = 100
MAX_ADDRESS_LENGTH = 200
OLDEST_BIRTH_YEAR = 1900


class RequestStatus(StrEnum):
    """Where a help request stands."""

    OPEN = "open"  # filed, not yet placed
    WAITING = "waiting"  # on the waitlist, first come first served
    BOOKED = "booked"
    HOME_VISIT = "home_visit"
    CANCELLED = "cancelled"  # the resident gave up their booking
    ERASING = "erasing"  # to be forgotten: the other services are forgetting them
    ERASED = "erased"  # forgotten: their key is gone, their counts stay


class RequestHelp(msgspec.Struct, frozen=True, kw_only=True):
    """File a help request, for oneself or on a resident's behalf; input as typed."""

    request_id: HelpRequestId
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
    channel: Channel
    filed_by: str | None = None
    birth_year: int | None = None
    elderly: bool = False
    disabled: bool = False
    minority: bool = False
    consent_given: bool = False
    # The explicit consent a sensitive need asks for (`sensitive_needs`), the wording shown,
    # where it was given and who noted it (`filed_by` is their account).
    sensitive_consent_given: bool = False
    consent_wording: str = HELP_WORDING
    consent_channel: ConsentChannel = ConsentChannel.API
    consent_by: ConsentActor = ConsentActor.RESIDENT


class HelpRequestState(msgspec.Struct, frozen=True, kw_only=True):
    """A help request as its events left it; what booking decisions look at."""

    request_id: HelpRequestId
    resident_name: str
    phone: str
    commune_code: CommuneCode
    province_code: ProvinceCode
    village_code: PlaceCode | None
    address: str
    topics: tuple[Topic, ...]
    accessibility_needs: tuple[Accessibility, ...]
    preferred_language: Language
    preferred_days: tuple[Weekend, ...]
    home_visit: bool
    requested_at: datetime
    status: RequestStatus = RequestStatus.OPEN
    session_id: SessionId | None = None
    booking_id: BookingId | None = None
    visit_id: VisitId | None = None
    consent: ConsentRecord | None = None

    @property
    def first_answer_notice(self) -> SmsConsentNotice | None:
        """The consent wording the first answer to a request by SMS says: what is kept, why,
        and how to erase it (the resident saw no form)."""
        consent = self.consent
        if self.status is not RequestStatus.OPEN or consent is None:
            return None
        if consent.channel is not ConsentChannel.SMS:
            return None
        return SmsConsentNotice(consent.wording_version)

    @property
    def contact(self) -> ResidentContact:
        return ResidentContact(
            request_id=self.request_id,
            name=self.resident_name,
            phone=self.phone,
            preferred_language=self.preferred_language,
        )

    @property
    def waiting_since(self) -> datetime:
        """A resident's turn on the waitlist: when they first asked, kept when moved back."""
        return self.requested_at


def decide_request_help(
    command: RequestHelp,
    *,
    now: datetime,
    places: Mapping[str, Place] | None = None,
) -> list[Event]:
    """Accept a help request, or refuse it listing every wrong field at once."""
    problems: list[FieldProblem] = []
    name = _checked_name(command.resident_name, problems)
    phone = _checked_phone(command.phone, problems)
    commune, village = _checked_place(command, places, problems)
    language, address = _checked_details(command, now, problems)
    consent = _checked_consent(command, now, problems)
    if problems or commune is None:
        raise HelpRequestRejectedError(tuple(problems))
    return [
        HelpRequested(
            request_id=command.request_id,
            resident_name=name,
            phone=phone,
            commune_code=commune.code,
            province_code=commune.province_code,
            village_code=PlaceCode(village) if village else None,
            address=address,
            topics=tuple(dict.fromkeys(command.topics)),
            accessibility_needs=tuple(dict.fromkeys(command.accessibility_needs)),
            preferred_language=language,
            preferred_days=tuple(dict.fromkeys(command.preferred_days)),
            home_visit=command.home_visit,
            channel=command.channel,
            filed_by=command.filed_by,
            birth_year=command.birth_year,
            elderly=command.elderly,
            disabled=command.disabled,
            minority=command.minority,
            consent_given=command.consent_given,
            requested_at=now,
            consent=consent,
        )
    ]


def sensitive_needs(command: RequestHelp) -> tuple[str, ...]:
    """The fields that reveal disability, ethnicity or language: kept only with explicit
    consent (Decree 13/2023 counts them as sensitive personal data)."""
    given = {
        "disabled": command.disabled,
        "minority": command.minority,
        "accessibility_needs": bool(command.accessibility_needs),
        "preferred_language": command.preferred_language is not Language.VI,
    }
    return tuple(name for name, present in given.items() if present)


def decide_waitlist_request(request: HelpRequestState, *, now: datetime) -> list[Event]:
    """Put a request nobody could place on the waitlist; doing it twice changes nothing."""
    if request.status is RequestStatus.WAITING:
        return []
    if request.status is not RequestStatus.OPEN or request.home_visit:
        raise HelpRequestClosedError(
            f"request {request.request_id} is {request.status.value}, it cannot wait for a place"
        )
    return [
        ResidentWaitlisted(
            request_id=request.request_id,
            resident=request.contact,
            commune_code=request.commune_code,
            topics=request.topics,
            waitlisted_at=now,
            consent_notice=request.first_answer_notice,
        )
    ]


def evolve_request(state: HelpRequestState | None, event: Event) -> HelpRequestState | None:  # noqa: C901, PLR0911
    """The request after one more event that names it; events about others leave it as is."""
    if state is None:
        return _requested(event) if isinstance(event, HelpRequested) else None
    replace = msgspec.structs.replace
    rid = state.request_id
    if state.status in _FORGETTING:
        if isinstance(event, ResidentErased) and event.request_id == rid:
            return replace(
                state, status=RequestStatus.ERASED, resident_name="", phone="", address=""
            )
        return state  # nothing else happens to a resident being forgotten
    match event:
        case ResidentErasureRequested() if event.request_id == rid:
            return replace(state, status=RequestStatus.ERASING)
        case ResidentWaitlisted() if event.request_id == rid:
            return replace(state, status=RequestStatus.WAITING)
        case ResidentBooked() if event.resident.request_id == rid:
            return replace(
                state,
                status=RequestStatus.BOOKED,
                session_id=event.session_id,
                booking_id=event.booking_id,
            )
        case BookingChanged() if event.resident.request_id == rid:
            return replace(
                state,
                status=RequestStatus.BOOKED,
                session_id=event.new_session_id,
                booking_id=event.new_booking_id,
            )
        case ResidentMovedToWaitlist() if event.booking_id == state.booking_id:
            return replace(state, status=RequestStatus.WAITING, session_id=None, booking_id=None)
        case BookingCancelled() if event.booking_id == state.booking_id:
            return replace(state, status=RequestStatus.CANCELLED, session_id=None, booking_id=None)
        case SessionCancelled() if any(a.booking_id == state.booking_id for a in event.affected):
            return replace(state, status=RequestStatus.WAITING, session_id=None, booking_id=None)
        case HomeVisitRequested() if event.resident.request_id == rid:
            return replace(state, status=RequestStatus.HOME_VISIT, visit_id=event.visit_id)
        case _:
            return state


_FORGETTING = (RequestStatus.ERASING, RequestStatus.ERASED)


def _forgetting(state: HelpRequestState, event: Event) -> HelpRequestState:
    """Nothing happens to a resident being forgotten but the end of it."""
    if isinstance(event, ResidentErased) and event.request_id == state.request_id:
        return msgspec.structs.replace(
            state, status=RequestStatus.ERASED, resident_name="", phone="", address=""
        )
    return state


def _checked_name(raw: str, problems: list[FieldProblem]) -> str:
    name = " ".join(raw.split())
    if not name:
        problems.append(FieldProblem("resident_name", "give the resident's name"))
    elif len(name) > MAX_NAME_LENGTH:
        problems.append(FieldProblem("resident_name", f"at most {MAX_NAME_LENGTH} characters"))
    return name


def _checked_phone(raw: str, problems: list[FieldProblem]) -> str:
    try:
        return normalize_phone(raw)
    except InvalidPhoneError as error:
        problems.append(FieldProblem("phone", error.message))
        return ""


def _checked_place(
    command: RequestHelp, places: Mapping[str, Place] | None, problems: list[FieldProblem]
) -> tuple[Commune | None, str | None]:
    commune = find_commune(command.commune_code)
    if commune is None:
        problems.append(FieldProblem("commune_code", "not a known commune or ward code"))
    village = (command.village_code or "").strip() or None
    if village is not None and places is not None and commune is not None:
        place = places.get(village)
        if place is None or place.commune_code != commune.code:
            problems.append(FieldProblem("village_code", f"not a village of {commune.name}"))
    return commune, village


def _checked_details(
    command: RequestHelp, now: datetime, problems: list[FieldProblem]
) -> tuple[Language, str]:
    if not command.topics:
        problems.append(FieldProblem("topics", "choose at least one thing to get help with"))
    language = command.preferred_language
    address = " ".join(command.address.split())
    if command.home_visit and not address:
        problems.append(FieldProblem("address", "a home visit needs the resident's address"))
    elif len(address) > MAX_ADDRESS_LENGTH:
        problems.append(FieldProblem("address", f"at most {MAX_ADDRESS_LENGTH} characters"))
    if command.birth_year is not None and not OLDEST_BIRTH_YEAR <= command.birth_year <= now.year:
        problems.append(FieldProblem("birth_year", "not a plausible year of birth"))
    return language, address


def _checked_consent(
    command: RequestHelp, now: datetime, problems: list[FieldProblem]
) -> ConsentRecord:
    if not command.consent_given:
        problems.append(
            FieldProblem("consent_given", "the resident must agree to us keeping these details")
        )
    wording = CONSENT_WORDINGS.get(command.consent_wording)
    by_sms = command.consent_channel is ConsentChannel.SMS
    if wording is None or wording.purpose is not ConsentPurpose.HELP_SESSIONS:
        problems.append(FieldProblem("consent_wording", "not a wording of help requests"))
    elif by_sms and command.consent_wording not in SmsConsentNotice._value2member_map_:
        problems.append(FieldProblem("consent_wording", "not a wording an SMS answer says"))
    sensitive = sensitive_needs(command)
    if sensitive and not command.sensitive_consent_given:
        problems.append(
            FieldProblem(
                "sensitive_consent_given",
                "the resident must agree explicitly to us keeping " + ", ".join(sensitive),
            )
        )
    return ConsentRecord(
        purpose=ConsentPurpose.HELP_SESSIONS,
        channel=command.consent_channel,
        wording_version=command.consent_wording,
        recorded_by=command.consent_by,
        recorded_by_id=command.filed_by,
        sensitive=command.sensitive_consent_given,
        given_at=now,
    )


def _requested(event: HelpRequested) -> HelpRequestState:
    return HelpRequestState(
        request_id=event.request_id,
        resident_name=event.resident_name,
        phone=event.phone,
        commune_code=event.commune_code,
        province_code=event.province_code,
        village_code=event.village_code,
        address=event.address,
        topics=event.topics,
        accessibility_needs=event.accessibility_needs,
        preferred_language=event.preferred_language,
        preferred_days=event.preferred_days,
        home_visit=event.home_visit,
        requested_at=event.requested_at,
        consent=event.consent,
    )
