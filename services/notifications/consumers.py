"""What the notifications service does when the scheduler or the volunteers service speaks:
write the SMS each recipient must get, and plan, move or drop their reminders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from services.notifications import handlers
from services.notifications.domain import wording
from services.notifications.domain.labels import proposal_topic, readable_topic
from services.notifications.domain.templates import (
    VENUE_MAX,
    AssignmentAcceptedContext,
    AssignmentReleasedContext,
    TemplateContext,
    clip,
)
from services.notifications.handlers import About, language_of
from services.notifications.settings import NotificationSettings
from services.notifications.views import queries
from shared.bus.consumer import Subscription, caused_by
from shared.events.base import Cause, Event, RecordedEvent
from shared.events.notifications import (
    AssignmentReplyAwaited,
    AssignmentReplyClosed,
    RemindersPlanned,
    SmsKind,
    SmsLanguage,
)
from shared.events.scheduler import (
    AffectedBooking,
    BookingCancelled,
    BookingChanged,
    HelpRequestRefused,
    ResidentBooked,
    ResidentContact,
    ResidentMovedToWaitlist,
    ResidentWaitlisted,
    SessionCancelled,
    SessionRescheduled,
    StaffingAlertRaised,
    Venue,
)
from shared.events.volunteers import (
    AnswerChannel,
    AssignmentAccepted,
    AssignmentDeclined,
    AssignmentExpired,
    AssignmentMoved,
    AssignmentProposed,
    AssignmentReleased,
    AssignmentReplyUnmatched,
)
from shared.ids import derived_id
from shared.store.eventstore import Transaction

if TYPE_CHECKING:
    from services.notifications.service import Notifications

ME = "notifications"


class Reaction:
    """The SMS and reminders one handled event leads to; every append is caused by it."""

    def __init__(
        self, tx: Transaction, settings: NotificationSettings, recorded: RecordedEvent
    ) -> None:
        self.tx = tx
        self.settings = settings
        self.recorded = recorded
        self.cause: Cause = caused_by(recorded)
        self.now: datetime = tx.store.clock.now()

    async def send(
        self,
        phone: str,
        kind: SmsKind,
        context: Callable[[SmsLanguage], TemplateContext],
        language: SmsLanguage | None,
        about: About,
        *,
        soon: bool = False,
    ) -> None:
        """Queue an SMS now, or `soon`: with the rest of the batch, just before the commit."""
        request = handlers.SmsRequest(
            settings=self.settings,
            now=self.now,
            cause=self.cause,
            cause_id=self.recorded.event_id,
            phone=phone,
            kind=kind,
            context=context,
            language=language,
            about=about,
        )
        if soon:
            await handlers.queue_sms_soon(self.tx, request)
            return
        await handlers.queue_sms(
            self.tx,
            self.settings,
            self.now,
            self.cause,
            cause_id=request.cause_id,
            phone=phone,
            kind=kind,
            context=context,
            language=language,
            about=about,
        )

    async def tell_resident(
        self,
        resident: ResidentContact,
        kind: SmsKind,
        context: Callable[[SmsLanguage], TemplateContext],
        *,
        reference: str,
        starts_at: datetime | None,
        commune_code: str | None,
        soon: bool = False,
    ) -> None:
        await self.send(
            resident.phone,
            kind,
            context,
            language_of(resident.preferred_language),
            About(
                commune_code=commune_code,
                reference=reference,
                recipient_name=resident.name,
                session_starts_at=starts_at,
            ),
            soon=soon,
        )

    async def commune_of(self, booking_id: str) -> str | None:
        _, plan = await handlers.current_reminders(self.tx, booking_id)
        return None if plan is None else plan.commune_code


# From the scheduler


async def from_scheduler(
    settings: NotificationSettings, tx: Transaction, recorded: RecordedEvent
) -> None:
    """Residents hear of their bookings and changes; coordinators of understaffing.

    Bookings and waitlistings, the bulk of the traffic, are written with the rest of the
    fetched batch just before it commits; any other event first writes what was gathered."""
    react = Reaction(tx, settings, recorded)
    if await _gathered(react):
        return
    await handlers.flush_pending(tx)
    match recorded.event:
        case SessionRescheduled() as event:
            for affected in event.affected:
                await _rescheduled(react, event, affected)
        case SessionCancelled() as event:
            for affected in event.affected:
                await _cancelled(
                    react, affected.resident, affected.booking_id, event.venue, event, event
                )
        case StaffingAlertRaised() as event:
            await _understaffed(react, event)
        case HelpRequestRefused() as event:
            await react.send(
                event.resident_phone,
                SmsKind.HELP_REQUEST_REFUSED,
                wording.refused(event),
                None,
                About(reference=event.inbound_id),
            )
        case _:
            await _about_bookings(react)


async def _gathered(react: Reaction) -> bool:
    """Bookings and waitlistings: gathered into the batch; False for any other event."""
    match react.recorded.event:
        case ResidentBooked() as booked:
            await _resident_booked(react, booked)
        case ResidentWaitlisted() as waitlisted:
            await react.tell_resident(
                waitlisted.resident,
                SmsKind.RESIDENT_WAITLISTED,
                wording.resident_waitlisted(waitlisted),
                reference=waitlisted.request_id,
                starts_at=None,
                commune_code=waitlisted.commune_code,
                soon=True,
            )
        case _:
            return False
    return True


async def _about_bookings(react: Reaction) -> None:
    tx = react.tx
    match react.recorded.event:
        case ResidentMovedToWaitlist() as event:
            commune = await react.commune_of(event.booking_id)
            await react.tell_resident(
                event.resident,
                SmsKind.RESIDENT_MOVED_TO_WAITLIST,
                wording.moved_to_waitlist(event),
                reference=event.booking_id,
                starts_at=event.when.starts_at,
                commune_code=commune,
            )
            await handlers.cancel_reminders_for(
                tx, react.now, react.cause, event.booking_id, "moved_to_waitlist"
            )
        case BookingCancelled() as event:
            await _cancelled(react, event.resident, event.booking_id, event.venue, event, None)
        case BookingChanged() as event:
            commune = await react.commune_of(event.booking_id)
            await react.tell_resident(
                event.resident,
                SmsKind.RESIDENT_MOVED,
                wording.booking_changed(event),
                reference=event.new_booking_id,
                starts_at=event.new_when.starts_at,
                commune_code=commune,
            )
            await handlers.cancel_reminders_for(
                tx, react.now, react.cause, event.booking_id, "changed"
            )
        case _:
            return


async def _resident_booked(react: Reaction, event: ResidentBooked) -> None:
    starts_at = event.when.starts_at
    # A move between sessions is told once, by booking.changed.
    if event.changed_from_booking_id is None:
        await react.tell_resident(
            event.resident,
            SmsKind.RESIDENT_BOOKED,
            wording.resident_booked(event),
            reference=event.booking_id,
            starts_at=starts_at,
            commune_code=event.commune_code,
            soon=True,
        )
    await handlers.plan_reminders_soon(
        react.tx,
        handlers.PlanRequest(
            settings=react.settings,
            now=react.now,
            cause=react.cause,
            plan=RemindersPlanned(
                target_id=event.booking_id,
                kind=SmsKind.RESIDENT_REMINDER,
                recipient_phone=event.resident.phone,
                recipient_name=event.resident.name,
                language=language_of(event.resident.preferred_language),
                topic=wording.topic_codes(event.topics),
                venue=wording.venue_of(event.venue),
                commune_code=event.commune_code,
                starts_at=starts_at,
                planned_at=react.now,
            ),
        ),
    )


async def _cancelled(
    react: Reaction,
    resident: ResidentContact,
    booking_id: str,
    venue: Venue,
    event: BookingCancelled | SessionCancelled,
    session: SessionCancelled | None,
) -> None:
    commune = session.commune_code if session is not None else await react.commune_of(booking_id)
    starts_at = event.when.starts_at
    await react.tell_resident(
        resident,
        SmsKind.RESIDENT_CANCELLED,
        wording.booking_cancelled(venue, event.when),
        reference=booking_id,
        starts_at=starts_at,
        commune_code=commune,
    )
    await handlers.cancel_reminders_for(react.tx, react.now, react.cause, booking_id, "cancelled")


async def _rescheduled(
    react: Reaction, event: SessionRescheduled, affected: AffectedBooking
) -> None:
    await react.tell_resident(
        affected.resident,
        SmsKind.RESIDENT_RESCHEDULED,
        wording.rescheduled(event),
        reference=affected.booking_id,
        starts_at=event.when.starts_at,
        commune_code=event.commune_code,
    )
    await handlers.move_reminders(
        react.tx,
        react.settings,
        react.now,
        react.cause,
        affected.booking_id,
        event.when.starts_at,
        event.venue.name,
    )


async def _understaffed(react: Reaction, event: StaffingAlertRaised) -> None:
    contacts = await queries.coordinators_for(
        react.tx.conn, coordinator_id=event.coordinator_id, commune_code=event.commune_code
    )
    for contact in contacts:
        await react.send(
            contact.phone,
            SmsKind.UNDERSTAFFING_ALERT,
            wording.understaffed(event),
            contact.language,
            About(commune_code=event.commune_code, reference=event.session_id),
        )


# From the volunteers service


def awaiting_stream(assignment_id: str) -> str:
    return f"awaiting-{derived_id('awaiting', assignment_id)}"


async def _awaited(
    tx: Transaction, assignment_id: str
) -> tuple[int, AssignmentReplyAwaited | None, bool]:
    stream = await tx.load(awaiting_stream(assignment_id))
    awaited: AssignmentReplyAwaited | None = None
    closed = False
    for recorded in stream.events:
        match recorded.event:
            case AssignmentReplyAwaited():
                awaited = recorded.event
            case AssignmentReplyClosed():
                closed = True
    return stream.version, awaited, closed


async def _close(react: Reaction, assignment_id: str, reason: str) -> AssignmentReplyAwaited | None:
    version, awaited, closed = await _awaited(react.tx, assignment_id)
    if awaited is not None and not closed:
        await react.tx.append(
            awaiting_stream(assignment_id),
            version,
            [
                AssignmentReplyClosed(
                    assignment_id=assignment_id, reason=reason, closed_at=react.now
                )
            ],
            react.cause,
        )
    return awaited


async def from_volunteers(
    settings: NotificationSettings, tx: Transaction, recorded: RecordedEvent
) -> None:
    """Volunteers hear of proposals (and answer by SMS), confirmations and releases."""
    await handlers.flush_pending(tx)
    react = Reaction(tx, settings, recorded)
    match recorded.event:
        case AssignmentProposed() as event:
            await _proposed(react, event)
        case AssignmentAccepted() as event:
            awaited = await _close(react, event.assignment_id, "accepted")
            if awaited is not None:
                await _accepted(react, event, awaited)
        case AssignmentDeclined() as event:
            await _close(react, event.assignment_id, "declined")
        case AssignmentExpired() as event:
            await _close(react, event.assignment_id, "expired")
        case AssignmentReleased() as event:
            awaited = await _close(react, event.assignment_id, "released")
            # An accepted assignment's reminders follow its moves: they know its latest time.
            _, plan = await handlers.current_reminders(tx, event.assignment_id)
            await handlers.cancel_reminders_for(
                tx, react.now, react.cause, event.assignment_id, "released"
            )
            if awaited is not None:
                starts_at = awaited.starts_at if plan is None else plan.starts_at
                await react.send(
                    event.phone,
                    SmsKind.ASSIGNMENT_RELEASED,
                    lambda language: AssignmentReleasedContext(
                        topic=readable_topic(awaited.topic, language), starts_at=starts_at
                    ),
                    None,
                    About(
                        commune_code=awaited.commune_code,
                        reference=event.assignment_id,
                        recipient_name=awaited.volunteer_name or None,
                        session_starts_at=starts_at,
                    ),
                )
        case AssignmentMoved() as event:
            await _moved(react, event)
        case AssignmentReplyUnmatched() as event:
            await _unmatched(react, event)
        case _:
            return


async def _unmatched(react: Reaction, event: AssignmentReplyUnmatched) -> None:
    """The volunteers service could not apply an SMS answer: ask which one, with the codes."""
    which = wording.which_one(event)
    if which is None:
        return
    await react.send(
        event.phone,
        SmsKind.REPLY_AMBIGUOUS,
        which,
        None,
        About(reference=event.inbound_id),
    )


async def _proposed(react: Reaction, event: AssignmentProposed) -> None:
    topic = proposal_topic(event)
    venue = clip(event.place, VENUE_MAX)
    version, _, _ = await _awaited(react.tx, event.assignment_id)
    if version == 0:
        await react.tx.append(
            awaiting_stream(event.assignment_id),
            0,
            [
                AssignmentReplyAwaited(
                    assignment_id=event.assignment_id,
                    slot_id=event.slot_id,
                    volunteer_phone=event.phone,
                    volunteer_name=event.volunteer_name,
                    short_code=event.short_code,
                    topic=topic,
                    venue=venue,
                    starts_at=event.starts_at,
                    commune_code=event.commune_code,
                    awaited_at=react.now,
                )
            ],
            react.cause,
        )
    await react.send(
        event.phone,
        SmsKind.ASSIGNMENT_PROPOSED,
        wording.proposed(event),
        language_of(event.preferred_language),
        About(
            commune_code=event.commune_code,
            reference=event.assignment_id,
            recipient_name=event.volunteer_name,
            session_starts_at=event.starts_at,
        ),
    )


async def _moved(react: Reaction, event: AssignmentMoved) -> None:
    """A volunteer kept through a move hears the new time and place; the proposal they may
    still answer, or the reminders of the one they accepted, follow it."""
    venue = clip(event.place, VENUE_MAX)
    version, awaited, closed = await _awaited(react.tx, event.assignment_id)
    if awaited is not None and not closed:
        moved = msgspec.structs.replace(
            awaited, venue=venue, starts_at=event.starts_at, awaited_at=react.now
        )
        await react.tx.append(awaiting_stream(event.assignment_id), version, [moved], react.cause)
    if event.accepted:
        await handlers.move_reminders(
            react.tx,
            react.settings,
            react.now,
            react.cause,
            event.assignment_id,
            event.starts_at,
            venue,
        )
    await react.send(
        event.phone,
        SmsKind.ASSIGNMENT_CHANGED,
        wording.assignment_moved(event),
        language_of(event.preferred_language),
        About(
            commune_code=event.commune_code,
            reference=event.assignment_id,
            recipient_name=event.volunteer_name,
            session_starts_at=event.starts_at,
        ),
    )


async def _accepted(
    react: Reaction, event: AssignmentAccepted, awaited: AssignmentReplyAwaited
) -> None:
    about = About(
        commune_code=awaited.commune_code,
        reference=event.assignment_id,
        recipient_name=awaited.volunteer_name or None,
        session_starts_at=awaited.starts_at,
    )
    # An answer by SMS was already answered by SMS; a web answer gets its confirmation here.
    if event.channel is not AnswerChannel.SMS:
        await react.send(
            awaited.volunteer_phone,
            SmsKind.ASSIGNMENT_ACCEPTED,
            lambda language: AssignmentAcceptedContext(
                topic=readable_topic(awaited.topic, language),
                venue=awaited.venue,
                starts_at=awaited.starts_at,
            ),
            None,
            about,
        )
    await handlers.plan_reminders_for(
        react.tx,
        react.settings,
        react.now,
        react.cause,
        RemindersPlanned(
            target_id=event.assignment_id,
            kind=SmsKind.ASSIGNMENT_REMINDER,
            recipient_phone=awaited.volunteer_phone,
            recipient_name=awaited.volunteer_name,
            topic=awaited.topic,
            venue=awaited.venue,
            commune_code=awaited.commune_code,
            starts_at=awaited.starts_at,
            planned_at=react.now,
        ),
    )


Handle = Callable[[Transaction, RecordedEvent], Awaitable[None]]


# The events each subscription acts on: only these are delivered (shared.bus.consumer).
FROM_SCHEDULER: tuple[type[Event], ...] = (
    ResidentBooked,
    ResidentWaitlisted,
    SessionRescheduled,
    SessionCancelled,
    StaffingAlertRaised,
    HelpRequestRefused,
    ResidentMovedToWaitlist,
    BookingCancelled,
    BookingChanged,
)
FROM_VOLUNTEERS: tuple[type[Event], ...] = (
    AssignmentProposed,
    AssignmentAccepted,
    AssignmentDeclined,
    AssignmentExpired,
    AssignmentReleased,
    AssignmentReplyUnmatched,
    AssignmentMoved,
)


def subscriptions_for(settings: NotificationSettings) -> list[Subscription]:
    async def scheduler(tx: Transaction, recorded: RecordedEvent) -> None:
        await from_scheduler(settings, tx, recorded)

    async def volunteers(tx: Transaction, recorded: RecordedEvent) -> None:
        await from_volunteers(settings, tx, recorded)

    return [
        Subscription(
            name=f"{ME}-from-scheduler", source="scheduler", handle=scheduler, events=FROM_SCHEDULER
        ),
        Subscription(
            name=f"{ME}-from-volunteers",
            source="volunteers",
            handle=volunteers,
            events=FROM_VOLUNTEERS,
        ),
    ]


def subscriptions(notifications: Notifications) -> list[Subscription]:
    return subscriptions_for(notifications.sms)
