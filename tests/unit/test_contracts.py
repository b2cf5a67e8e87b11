"""Every value a producer can emit is understood by the services that consume it.

For each event a service consumes (its `FROM_<SOURCE>` tuples), events are drawn over the
catalog's types (hypothesis, the vocabularies' every word, free text as people type it) and
handed to the consumer's own translation: the staffing command the volunteers service makes of
a scheduler event, the help request the scheduler makes of an SMS, the SMS the notifications
service writes. A word that comes through must arrive as itself: no unknown tag dropped, no
KeyError, no value refused.
"""

from __future__ import annotations

import enum
import functools
import importlib
import string
import types
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any, Union
from uuid import UUID

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.notifications.domain import wording
from services.notifications.domain.labels import readable_topic, refusal_code
from services.notifications.domain.templates import (
    RETIRED_KINDS,
    TEMPLATES,
    ErasedContext,
    HelpRefusedContext,
    NothingHeldContext,
    render,
)
from services.notifications.handlers import language_of
from services.scheduler.domain.errors import FieldProblem
from services.scheduler.domain.sms import refusal_reasons, request_from_sms
from services.scheduler.domain.staffing import staffing_report
from services.volunteers.domain.from_scheduler import CloseSlot, CreditService, command_for
from services.volunteers.domain.slots import MoveSlot, Needs, NoteNeeds, OpenSlot, needs_of
from shared.events.base import Event
from shared.events.notifications import (
    AssignmentAnswer,
    AssignmentReplyReceived,
    HelpRequestedBySms,
    ResidentErasureConfirmed,
    ResidentForgotten,
    SmsKind,
    SmsLanguage,
    VolunteerForgotten,
)
from shared.events.scheduler import (
    AttendanceRecorded,
    BookingCancelled,
    BookingChanged,
    Channel,
    ErasureBySmsStarted,
    HelpRequestId,
    HelpRequestRefused,
    HomeVisitCancelled,
    HomeVisitCompleted,
    HomeVisitScheduled,
    RefusalCode,
    ResidentBooked,
    ResidentErasureRequested,
    ResidentMovedToWaitlist,
    ResidentWaitlisted,
    SessionCancelled,
    SessionCompleted,
    SessionRescheduled,
    SessionScheduled,
    StaffingAlertRaised,
)
from shared.events.vocabulary import (
    DIGITAL_SKILLS,
    SIGN_LANGUAGES,
    Accessibility,
    Language,
    Skill,
    Topic,
    label,
    skill_for,
    topic_of,
)
from shared.events.volunteers import (
    AssignmentAccepted,
    AssignmentDeclined,
    AssignmentExpired,
    AssignmentMoved,
    AssignmentProposed,
    AssignmentReleased,
    AssignmentReplyUnmatched,
    SessionStaffed,
    SessionUnderstaffed,
    SlotKind,
    VolunteerErasureRequested,
)

# Free text as people type it into forms: Vietnamese letters, digits, spaces and punctuation.
_LETTERS = string.ascii_letters + string.digits + "ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệ" + " ,.'-"
TEXT = st.text(alphabet=_LETTERS, min_size=1, max_size=60).filter(str.strip)
# hypothesis takes naive bounds and makes the instants aware.
INSTANT = st.datetimes(
    datetime(2025, 1, 1),  # noqa: DTZ001
    datetime(2030, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
SHORT_CODE = st.from_regex(r"\A[1-9][0-9]{3}\Z")
# Strings the producer makes in one shape only (cycle.short_code: four digits).
SHAPED: dict[str, st.SearchStrategy[Any]] = {
    "short_code": SHORT_CODE,
    "pending_codes": st.lists(SHORT_CODE, max_size=6).map(tuple),
}


def drawn(kind: Any) -> st.SearchStrategy[Any]:  # noqa: PLR0911
    """Values of a catalog type, every word of every vocabulary among them."""
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if hasattr(kind, "__supertype__"):  # a NewType id or code
        return drawn(kind.__supertype__)
    if origin is typing.Annotated:  # a personal value: the consumer reads it opened
        return drawn(arguments[0])
    if origin is tuple:
        return st.lists(drawn(arguments[0]), max_size=4).map(tuple)
    if origin in {Union, types.UnionType}:
        return st.one_of([drawn(argument) for argument in arguments])
    if kind is type(None):
        return st.none()
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return st.sampled_from(list(kind))
    if isinstance(kind, type) and issubclass(kind, msgspec.Struct):
        fields = {
            field.name: SHAPED[field.name] if field.name in SHAPED else drawn(field.type)
            for field in msgspec.structs.fields(kind)
        }
        return st.builds(kind, **fields)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        str: TEXT,
        bool: st.booleans(),
        int: st.integers(0, 500),
        datetime: INSTANT,
        date: st.dates(date(2025, 1, 1), date(2030, 12, 31)),
        time: st.times(),
        UUID: st.uuids(),
    }
    return simple[kind]


# --- what each consumer makes of what it is given -------------------------------------------


def _needs_carry(needs: Needs, accessibility: Any, languages: Any) -> None:
    """Every language but Vietnamese, and every need, became a requirement for volunteers."""
    for language in languages:
        assert language is Language.VI or language in needs.languages
    wanted = set(accessibility)
    if Accessibility.SCREEN_READER_HELP in wanted:
        assert Skill.SCREEN_READER_HELP in needs.skills
    if Accessibility.SIGN_INTERPRETER in wanted:
        assert SIGN_LANGUAGES & set(needs.languages)
    if Accessibility.MINORITY_LANGUAGE_INTERPRETER in wanted:
        spoken = set(needs.languages) - SIGN_LANGUAGES
        assert spoken or Skill.INTERPRETING in needs.skills


def volunteers_from_scheduler(event: Event) -> None:
    command = command_for(event)
    match event:
        case SessionScheduled() | HomeVisitScheduled():
            assert isinstance(command, OpenSlot)
            assert command.topics == tuple(dict.fromkeys(map(skill_for, event.topics)))
            if isinstance(event, SessionScheduled):
                _needs_carry(command.needs, event.accessibility, event.languages)
            else:
                languages = (*event.languages, event.resident.preferred_language)
                _needs_carry(command.needs, event.accessibility_needs, languages)
        case ResidentBooked():
            assert isinstance(command, NoteNeeds)
            assert command.booked
            _needs_carry(
                command.needs, event.accessibility_needs, [event.resident.preferred_language]
            )
        case SessionRescheduled():
            assert isinstance(command, MoveSlot)
            assert (command.starts_at, command.ends_at) == (
                event.when.starts_at,
                event.when.ends_at,
            )
        case SessionCancelled() | HomeVisitCancelled() | SessionCompleted() | HomeVisitCompleted():
            assert isinstance(command, CloseSlot)
        case BookingCancelled() | BookingChanged() | ResidentMovedToWaitlist():
            assert isinstance(command, NoteNeeds)
            assert not command.booked
        case AttendanceRecorded():
            # Credited to the volunteer who recorded it; a coordinator's record credits nobody.
            if event.recorded_by_volunteer:
                assert isinstance(command, CreditService)
                assert command.volunteer_id == event.recorded_by_volunteer
            else:
                assert command is None
        case _:
            pytest.fail(f"no contract for {type(event).__name__}")


def volunteers_from_notifications(event: Event) -> None:
    if isinstance(event, VolunteerForgotten):
        assert event.volunteer_id  # the erasure it finishes
        return
    assert isinstance(event, AssignmentReplyReceived)
    assert event.answer in {AssignmentAnswer.ACCEPTED, AssignmentAnswer.DECLINED}


def scheduler_from_volunteers(event: Event) -> None:
    assert isinstance(event, SessionStaffed | SessionUnderstaffed)
    report = staffing_report(event)
    prefix = "visit-" if event.slot_kind is SlotKind.HOME_VISIT else "session-"
    assert report.slot_stream.startswith(prefix)
    assert report.home_visit == (event.slot_kind is SlotKind.HOME_VISIT)
    if isinstance(event, SessionUnderstaffed):
        assert report.missing_skills == event.missing_skills
        assert report.missing_languages == event.missing_languages


def scheduler_from_notifications(event: Event) -> None:
    if isinstance(event, ResidentForgotten):
        assert event.request_id  # the erasure it finishes
        return
    if isinstance(event, ResidentErasureConfirmed):
        # the scheduler reads only the phone: a number it holds nothing for finds nothing
        assert event.language is None or event.language in SmsLanguage
        return
    assert isinstance(event, HelpRequestedBySms)
    command = request_from_sms(event, HelpRequestId("request-1"))
    assert command.topics == (event.topic or Topic.SMARTPHONE_BASICS,)
    assert command.channel is Channel.SMS
    for field in ("commune_code", "phone", "topics"):
        (reason,) = refusal_reasons((FieldProblem(field, "wrong"),), event)
        assert reason.code is not None
        assert reason.code in RefusalCode


def _written(kind: SmsKind, context: wording.ContextFor) -> list[str]:
    """The SMS in both languages; a context that does not fit its template raises."""
    assert kind not in RETIRED_KINDS
    assert kind in TEMPLATES
    return [
        render(kind, language, context(language), strip_diacritics=False).text
        for language in SmsLanguage
    ]


def _names_the_topic(texts: list[str], topics: tuple[Topic, ...]) -> None:
    first = topics[0] if topics else None
    vi, en = texts
    if first is None:
        assert DIGITAL_SKILLS.vi in vi
    else:
        assert label(first) in vi
        assert label(first, english=True) in en


def notifications_from_scheduler(event: Event) -> None:  # noqa: C901
    match event:
        case ResidentBooked():
            booked = _written(SmsKind.RESIDENT_BOOKED, wording.resident_booked(event))
            _names_the_topic(booked, event.topics)
        case ResidentWaitlisted():
            waiting = _written(SmsKind.RESIDENT_WAITLISTED, wording.resident_waitlisted(event))
            _names_the_topic(waiting, event.topics)
        case SessionRescheduled():
            _written(SmsKind.RESIDENT_RESCHEDULED, wording.rescheduled(event))
        case SessionCancelled() | BookingCancelled():
            _written(SmsKind.RESIDENT_CANCELLED, wording.booking_cancelled(event.venue, event.when))
        case StaffingAlertRaised():
            _written(SmsKind.UNDERSTAFFING_ALERT, wording.understaffed(event))
        case HelpRequestRefused():
            refused = _written(SmsKind.HELP_REQUEST_REFUSED, wording.refused(event))
            codes = {reason.code for reason in event.reasons} - {None}
            assert not codes or refusal_code(event) in codes
            assert all(text.strip() for text in refused)
        case ResidentMovedToWaitlist():
            _written(SmsKind.RESIDENT_MOVED_TO_WAITLIST, wording.moved_to_waitlist(event))
        case BookingChanged():
            _written(SmsKind.RESIDENT_MOVED, wording.booking_changed(event))
        case ResidentErasureRequested():
            assert language_of(event.preferred_language) is not None
            _written(SmsKind.RESIDENT_ERASED, lambda _language: ErasedContext())
        case ErasureBySmsStarted():
            _written(SmsKind.RESIDENT_NOTHING_HELD, lambda _language: NothingHeldContext())
        case _:
            pytest.fail(f"no contract for {type(event).__name__}")
    for resident in _residents(event):
        assert language_of(resident.preferred_language) is not None


def _residents(event: Event) -> list[Any]:
    if isinstance(event, SessionRescheduled | SessionCancelled):
        return [affected.resident for affected in event.affected]
    resident = getattr(event, "resident", None)
    return [] if resident is None else [resident]


def notifications_from_volunteers(event: Event) -> None:
    match event:
        case AssignmentProposed() | AssignmentMoved():
            if isinstance(event, AssignmentProposed):
                texts = _written(SmsKind.ASSIGNMENT_PROPOSED, wording.proposed(event))
            else:
                texts = _written(SmsKind.ASSIGNMENT_CHANGED, wording.assignment_moved(event))
            named = (event.designated_topic,) if event.designated_topic else event.topics
            if named or not isinstance(event, AssignmentProposed):
                _names_the_topic(texts, named)
            assert language_of(event.preferred_language) is not None
        case AssignmentReplyUnmatched():
            which = wording.which_one(event)
            if which is not None:
                _written(SmsKind.REPLY_AMBIGUOUS, which)
        case AssignmentAccepted() | AssignmentDeclined() | AssignmentExpired():
            pass  # they close the awaited reply this service keeps: no word crosses
        case AssignmentReleased():
            pass  # its SMS repeats the proposal's words (checked with AssignmentProposed)
        case VolunteerErasureRequested():
            assert language_of(event.preferred_language) is not None
            _written(SmsKind.VOLUNTEER_ERASED, lambda _language: ErasedContext())
        case _:
            pytest.fail(f"no contract for {type(event).__name__}")


CONTRACTS: dict[tuple[str, str], Callable[[Event], None]] = {
    ("volunteers", "scheduler"): volunteers_from_scheduler,
    ("volunteers", "notifications"): volunteers_from_notifications,
    ("scheduler", "volunteers"): scheduler_from_volunteers,
    ("scheduler", "notifications"): scheduler_from_notifications,
    ("notifications", "scheduler"): notifications_from_scheduler,
    ("notifications", "volunteers"): notifications_from_volunteers,
}


def consumed() -> list[tuple[str, str, type[Event]]]:
    """(consumer, source, event type) for every event a service subscribes to."""
    found = []
    for service in ("scheduler", "volunteers", "notifications"):
        module = importlib.import_module(f"services.{service}.consumers")
        for name, events in vars(module).items():
            if name.startswith("FROM_"):
                found += [(service, name.removeprefix("FROM_").lower(), e) for e in events]
    return found


def test_every_consumer_has_a_contract_for_every_source() -> None:
    assert {(service, source) for service, source, _ in consumed()} == set(CONTRACTS)


@pytest.mark.parametrize(
    ("service", "source", "event_type"),
    consumed(),
    ids=lambda value: getattr(value, "event_type", value),
)
def test_a_consumer_understands_every_value_its_producer_can_emit(
    service: str, source: str, event_type: type[Event]
) -> None:
    contract = CONTRACTS[(service, source)]

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(drawn(event_type))
    def holds(event: Event) -> None:
        contract(event)

    holds()


def test_every_word_comes_through_every_translation() -> None:
    """Draws may miss a word; this walks each one through the translations that carry it."""
    for language in Language:
        needs = needs_of((), [language])
        assert needs.languages == (() if language is Language.VI else (language,))
        assert language_of(language) is not None
    for need in Accessibility:
        _needs_carry(needs_of([need], [Language.VI]), [need], [Language.VI])
    for topic in Topic:
        assert topic_of(skill_for(topic)) is topic
        for sms, english in ((SmsLanguage.VI, False), (SmsLanguage.EN, True)):
            assert readable_topic(topic.value, sms) == label(topic, english=english)
    for skill in Skill:
        assert readable_topic(skill.value, SmsLanguage.VI) == label(skill)
    for code in RefusalCode:
        context = HelpRefusedContext(reason=code)
        _written(SmsKind.HELP_REQUEST_REFUSED, functools.partial(_same, context))


def _same(context: HelpRefusedContext, _language: SmsLanguage) -> HelpRefusedContext:
    return context
