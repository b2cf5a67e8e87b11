"""Who can help: community digital technology groups and their members.

Streams: `group-<uuid>` for a commune's team, `volunteer-<uuid>` for each member. State is a
pure fold over the stream (`evolve_*`); commands become events in `decide_*` or raise a
`DomainError` naming the wrong field.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TypeVar

import msgspec

from services.volunteers.domain.errors import (
    AlreadyPausedError,
    AlreadyRegisteredError,
    InvalidVolunteerError,
    NotPausedError,
    NotRegisteredError,
    UnknownGroupError,
    VolunteerErasedError,
)
from shared.events.base import Event
from shared.events.consent import (
    CONSENT_WORDINGS,
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
    GroupRegistered,
    VolunteerErased,
    VolunteerErasureRequested,
    VolunteerId,
    VolunteerPaused,
    VolunteerRegistered,
    VolunteerResumed,
    VolunteerUpdated,
    WeeklyAvailability,
)
from shared.phones import require_e164

_COMMUNE_CODE = re.compile(r"^\d{5}$")
MAX_MONTHLY_LIMIT = 31
MAX_NAME_LENGTH = 120
_T = TypeVar("_T")


def volunteer_stream(volunteer_id: VolunteerId) -> str:
    """The stream of one volunteer; the id is a UUID, never a name or phone."""
    return f"volunteer-{volunteer_id}"


def group_stream(group_id: GroupId) -> str:
    """The stream of one community digital technology group."""
    return f"group-{group_id}"


class GroupState(msgspec.Struct, frozen=True, kw_only=True):
    """A commune's team as far as its stream tells."""

    group_id: GroupId
    registered: bool = False
    name: str = ""
    commune_code: CommuneCode = CommuneCode("")


class VolunteerState(msgspec.Struct, frozen=True, kw_only=True):
    """A group member as far as their stream tells."""

    volunteer_id: VolunteerId
    registered: bool = False
    group_id: GroupId = GroupId("")
    name: str = ""
    phone: str = ""
    commune_code: CommuneCode = CommuneCode("")
    village: str = ""
    skills: tuple[Skill, ...] = ()
    languages: tuple[Language, ...] = ()
    preferred_language: Language = Language.VI
    availability: WeeklyAvailability = WeeklyAvailability()
    exceptions: tuple[AvailabilityException, ...] = ()
    monthly_limit: int = 0
    paused: bool = False
    erasure: str = ""  # `erasure.Erasure`: "", "erasing" or "erased"


class RegisterGroup(msgspec.Struct, frozen=True, kw_only=True):
    """Register a commune's community digital technology team."""

    group_id: GroupId
    name: str
    commune_code: CommuneCode


class RegisterVolunteer(msgspec.Struct, frozen=True, kw_only=True):
    """Add a member to a group, with what they can do and when."""

    volunteer_id: VolunteerId
    group_id: GroupId
    name: str
    phone: str
    commune_code: CommuneCode
    village: str = ""
    skills: tuple[Skill, ...] = ()
    languages: tuple[Language, ...] = (Language.VI,)
    preferred_language: Language = Language.VI
    availability: WeeklyAvailability = WeeklyAvailability()
    monthly_limit: int = 4
    # The volunteer's consent to keeping their details, the wording shown, where it was given
    # and the coordinator who noted it (their account id).
    consent_given: bool = False
    consent_wording: str = VOLUNTEER_WORDING
    consent_channel: ConsentChannel = ConsentChannel.API
    recorded_by_id: str | None = None


class UpdateVolunteer(msgspec.Struct, frozen=True, kw_only=True):
    """Change a volunteer's details (full new values)."""

    volunteer_id: VolunteerId
    name: str
    phone: str
    village: str = ""
    skills: tuple[Skill, ...] = ()
    languages: tuple[Language, ...] = (Language.VI,)
    preferred_language: Language = Language.VI
    monthly_limit: int = 4


class PauseVolunteer(msgspec.Struct, frozen=True, kw_only=True):
    """Take a volunteer out of assignment for a while."""

    volunteer_id: VolunteerId
    reason: str = ""


class ResumeVolunteer(msgspec.Struct, frozen=True, kw_only=True):
    """Make a paused volunteer assignable again."""

    volunteer_id: VolunteerId


def _validate_details(name: str, monthly_limit: int, languages: tuple[Language, ...]) -> None:
    if not name.strip():
        raise InvalidVolunteerError("a volunteer needs a name", "name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidVolunteerError("the name is too long", "name")
    if not 0 <= monthly_limit <= MAX_MONTHLY_LIMIT:
        raise InvalidVolunteerError(
            f"the monthly limit must be between 0 and {MAX_MONTHLY_LIMIT}", "monthly_limit"
        )
    if not languages:
        raise InvalidVolunteerError("a volunteer speaks at least one language", "languages")


def _unique(values: tuple[_T, ...]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(values))


def require_registered(state: VolunteerState) -> None:
    """Commands on a volunteer need the volunteer to exist."""
    if not state.registered:
        raise NotRegisteredError(
            f"volunteer {state.volunteer_id} is not registered", "volunteer_id"
        )


def require_kept(state: VolunteerState) -> None:
    """Commands on a volunteer need the volunteer to exist and not be (being) forgotten."""
    require_registered(state)
    if state.erasure:
        raise VolunteerErasedError(f"volunteer {state.volunteer_id} was erased", "volunteer_id")


def decide_register_group(
    state: GroupState, command: RegisterGroup, now: datetime
) -> list[GroupRegistered]:
    """A group is registered once, in a commune with an official five-digit code."""
    if state.registered:
        raise AlreadyRegisteredError(f"group {command.group_id} already exists", "group_id")
    if not command.name.strip():
        raise InvalidVolunteerError("a group needs a name", "name")
    if not _COMMUNE_CODE.match(command.commune_code):
        raise InvalidVolunteerError("a commune code has five digits", "commune_code")
    return [
        GroupRegistered(
            group_id=command.group_id,
            name=command.name.strip(),
            commune_code=command.commune_code,
            registered_at=now,
        )
    ]


def decide_register_volunteer(
    state: VolunteerState, command: RegisterVolunteer, group: GroupState, now: datetime
) -> list[VolunteerRegistered]:
    """A member joins an existing group, with a valid phone and sensible limits."""
    if state.registered:
        raise AlreadyRegisteredError(
            f"volunteer {command.volunteer_id} already exists", "volunteer_id"
        )
    if not group.registered or group.group_id != command.group_id:
        raise UnknownGroupError(f"group {command.group_id} does not exist", "group_id")
    if not _COMMUNE_CODE.match(command.commune_code):
        raise InvalidVolunteerError("a commune code has five digits", "commune_code")
    _validate_details(command.name, command.monthly_limit, command.languages)
    consent = _consent(command, now)
    return [
        VolunteerRegistered(
            volunteer_id=command.volunteer_id,
            group_id=command.group_id,
            name=command.name.strip(),
            phone=require_e164(command.phone),
            commune_code=command.commune_code,
            village=command.village.strip(),
            skills=_unique(command.skills),
            languages=_unique(command.languages),
            preferred_language=command.preferred_language,
            availability=command.availability,
            monthly_limit=command.monthly_limit,
            registered_at=now,
            consent=consent,
        )
    ]


def _consent(command: RegisterVolunteer, now: datetime) -> ConsentRecord:
    """A volunteer is kept only with their consent, to a wording for volunteers."""
    if not command.consent_given:
        raise InvalidVolunteerError(
            "the volunteer must agree to us keeping their details", "consent_given"
        )
    wording = CONSENT_WORDINGS.get(command.consent_wording)
    if wording is None or wording.purpose is not ConsentPurpose.VOLUNTEERING:
        raise InvalidVolunteerError("not a wording of volunteers' consent", "consent_wording")
    return ConsentRecord(
        purpose=ConsentPurpose.VOLUNTEERING,
        channel=command.consent_channel,
        wording_version=command.consent_wording,
        recorded_by=ConsentActor.COORDINATOR,
        recorded_by_id=command.recorded_by_id,
        given_at=now,
    )


def decide_update_volunteer(
    state: VolunteerState, command: UpdateVolunteer, now: datetime
) -> list[VolunteerUpdated]:
    """Record new details; nothing is recorded when nothing changed."""
    require_kept(state)
    _validate_details(command.name, command.monthly_limit, command.languages)
    event = VolunteerUpdated(
        volunteer_id=command.volunteer_id,
        name=command.name.strip(),
        phone=require_e164(command.phone),
        village=command.village.strip(),
        skills=_unique(command.skills),
        languages=_unique(command.languages),
        preferred_language=command.preferred_language,
        monthly_limit=command.monthly_limit,
        updated_at=now,
    )
    unchanged = (
        event.name == state.name
        and event.phone == state.phone
        and event.village == state.village
        and event.skills == state.skills
        and event.languages == state.languages
        and event.preferred_language == state.preferred_language
        and event.monthly_limit == state.monthly_limit
    )
    return [] if unchanged else [event]


def decide_pause_volunteer(
    state: VolunteerState, command: PauseVolunteer, now: datetime
) -> list[VolunteerPaused]:
    """Pause an active volunteer; the handler then releases their future assignments."""
    require_kept(state)
    if state.paused:
        raise AlreadyPausedError(f"volunteer {command.volunteer_id} is already paused", None)
    return [
        VolunteerPaused(volunteer_id=command.volunteer_id, reason=command.reason, paused_at=now)
    ]


def decide_resume_volunteer(
    state: VolunteerState, command: ResumeVolunteer, now: datetime
) -> list[VolunteerResumed]:
    """Resume a paused volunteer."""
    require_kept(state)
    if not state.paused:
        raise NotPausedError(f"volunteer {command.volunteer_id} is not paused", None)
    return [VolunteerResumed(volunteer_id=command.volunteer_id, resumed_at=now)]


def evolve_group(state: GroupState, event: Event) -> GroupState:
    """Fold one event of a group stream."""
    match event:
        case GroupRegistered():
            return msgspec.structs.replace(
                state, registered=True, name=event.name, commune_code=event.commune_code
            )
        case _:
            return state


def evolve_volunteer(state: VolunteerState, event: Event) -> VolunteerState:
    """Fold one event of a volunteer stream."""
    match event:
        case VolunteerRegistered():
            return msgspec.structs.replace(
                state,
                registered=True,
                group_id=event.group_id,
                name=event.name,
                phone=event.phone,
                commune_code=event.commune_code,
                village=event.village,
                skills=event.skills,
                languages=event.languages,
                preferred_language=event.preferred_language,
                availability=event.availability,
                monthly_limit=event.monthly_limit,
            )
        case VolunteerUpdated():
            return msgspec.structs.replace(
                state,
                name=event.name,
                phone=event.phone,
                village=event.village,
                skills=event.skills,
                languages=event.languages,
                preferred_language=event.preferred_language,
                monthly_limit=event.monthly_limit,
            )
        case VolunteerPaused() | VolunteerResumed():
            return msgspec.structs.replace(state, paused=isinstance(event, VolunteerPaused))
        case AvailabilityChanged():
            return msgspec.structs.replace(
                state, availability=event.availability, exceptions=event.exceptions
            )
        case VolunteerErasureRequested() | VolunteerErased():
            return _forgetting(state, event)
        case _:
            return state


def _forgetting(
    state: VolunteerState, event: VolunteerErasureRequested | VolunteerErased
) -> VolunteerState:
    if isinstance(event, VolunteerErasureRequested):
        return msgspec.structs.replace(state, erasure="erasing")
    return msgspec.structs.replace(state, erasure="erased", name="", phone="", village="")
