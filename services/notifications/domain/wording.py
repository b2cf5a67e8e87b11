"""What an event another service sent says in its SMS: the template's values, per language.

Pure: the consumers (`consumers.py`) queue what these give, and tests/unit/test_contracts.py
renders them for every value the producer can emit. The texts are in `templates.py`, the
topic labels in the shared vocabulary (`labels.py` reads them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from services.notifications.domain.labels import readable_topic, refusal_code
from services.notifications.domain.templates import (
    VENUE_MAX,
    AmbiguousReplyContext,
    AssignmentChangedContext,
    AssignmentProposedContext,
    HelpRefusedContext,
    ResidentBookedContext,
    ResidentCancelledContext,
    ResidentMovedContext,
    ResidentMovedToWaitlistContext,
    ResidentRescheduledContext,
    ResidentWaitlistedContext,
    TemplateContext,
    UnderstaffingAlertContext,
    clip,
)
from shared.events.notifications import SmsLanguage
from shared.events.scheduler import (
    CANCEL_REASON_MAX,
    BookingChanged,
    HelpRequestRefused,
    ResidentBooked,
    ResidentMovedToWaitlist,
    ResidentWaitlisted,
    SessionRescheduled,
    Slot,
    StaffingAlertRaised,
    Venue,
)
from shared.events.vocabulary import Topic
from shared.events.volunteers import (
    AssignmentMoved,
    AssignmentProposed,
    AssignmentReplyUnmatched,
    ReplyProblem,
    proposal_topic,
)

ContextFor = Callable[[SmsLanguage], TemplateContext]
COUNT_MAX = 999
MAX_CODES = 5
# The answers notifications can ask "which one?" about; others are not the sender's doing.
_ASK_WHICH = frozenset({ReplyProblem.SEVERAL_PENDING, ReplyProblem.NO_SUCH_ASSIGNMENT})


def venue_of(venue: Venue) -> str:
    """A venue as an SMS names it: its name, openly shortened."""
    return clip(venue.name, VENUE_MAX)


def topic_codes(topics: Iterable[Topic]) -> str:
    """Topics as a stored reminder or awaited reply keeps them: their codes, comma-joined."""
    return ",".join(topic.value for topic in topics)


def resident_booked(event: ResidentBooked) -> ContextFor:
    topics, venue, starts_at = (
        topic_codes(event.topics),
        venue_of(event.venue),
        event.when.starts_at,
    )
    notice = event.consent_notice
    return lambda language: ResidentBookedContext(
        topic=readable_topic(topics, language),
        venue=venue,
        starts_at=starts_at,
        consent_notice=notice,
    )


def resident_waitlisted(event: ResidentWaitlisted) -> ContextFor:
    topics, notice = topic_codes(event.topics), event.consent_notice
    return lambda language: ResidentWaitlistedContext(
        topic=readable_topic(topics, language), consent_notice=notice
    )


def moved_to_waitlist(event: ResidentMovedToWaitlist) -> ContextFor:
    context = ResidentMovedToWaitlistContext(
        venue=venue_of(event.venue), starts_at=event.when.starts_at
    )
    return lambda _language: context


def booking_changed(event: BookingChanged) -> ContextFor:
    context = ResidentMovedContext(
        venue=venue_of(event.new_venue), starts_at=event.new_when.starts_at
    )
    return lambda _language: context


def cancel_reason_of(reason: str) -> str:
    """A coordinator's reason as an SMS says it: an older event's longer one clipped openly."""
    return clip(reason, CANCEL_REASON_MAX)


def booking_cancelled(venue: Venue, when: Slot, cancel_reason: str = "") -> ContextFor:
    """The cancellation SMS, with the coordinator's reason when the session was called off."""
    context = ResidentCancelledContext(
        venue=venue_of(venue),
        starts_at=when.starts_at,
        cancel_reason=cancel_reason_of(cancel_reason),
    )
    return lambda _language: context


def rescheduled(event: SessionRescheduled) -> ContextFor:
    context = ResidentRescheduledContext(
        venue=venue_of(event.venue),
        previous_starts_at=event.previous_when.starts_at,
        starts_at=event.when.starts_at,
    )
    return lambda _language: context


def understaffed(event: StaffingAlertRaised) -> ContextFor:
    context = UnderstaffingAlertContext(
        venue=venue_of(event.venue),
        starts_at=event.when.starts_at,
        needed=min(max(event.volunteers_needed, 0), COUNT_MAX),
    )
    return lambda _language: context


def refused(event: HelpRequestRefused) -> ContextFor:
    context = HelpRefusedContext(reason=refusal_code(event))
    return lambda _language: context


def proposed(event: AssignmentProposed) -> ContextFor:
    topic, venue = proposal_topic(event), clip(event.place, VENUE_MAX)
    return lambda language: AssignmentProposedContext(
        topic=readable_topic(topic, language),
        venue=venue,
        starts_at=event.starts_at,
        short_code=event.short_code,
    )


def assignment_moved(event: AssignmentMoved) -> ContextFor:
    topic, venue = proposal_topic(event), clip(event.place, VENUE_MAX)
    return lambda language: AssignmentChangedContext(
        topic=readable_topic(topic, language),
        venue=venue,
        starts_at=event.starts_at,
        short_code=event.short_code,
    )


def which_one(event: AssignmentReplyUnmatched) -> ContextFor | None:
    """ "Which one?" with the waiting codes, when the sender can answer it; else no SMS."""
    codes = tuple(code for code in event.pending_codes if code.isdigit() and len(code) == 4)
    if event.problem not in _ASK_WHICH or not codes:
        return None
    context = AmbiguousReplyContext(codes=codes[:MAX_CODES])
    return lambda _language: context
