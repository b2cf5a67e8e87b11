"""What the notifications service does when the scheduler or the volunteers service speaks:
write the SMS each recipient must get, and plan, move or drop their reminders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from services.notifications import forgetting, handlers
from services.notifications.batch import PlanRequest, SmsBatch
from services.notifications.domain import wording
from services.notifications.domain.labels import readable_topic
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
from shared.bus.consumer import EventHandler, Subscription, caused_by
from shared.events.base import Cause, Event, RecordedEvent
from shared.events.notifications import (
    AssignmentReplyAwaited,
    AssignmentReplyClosed,
    RemindersPlanned,
    SmsKind,
    SmsLanguage,
    SmsReceived,
)
from shared.events.scheduler import (
    AffectedBooking,
    BookingCancelled,
    BookingChanged,
    ErasureBySmsStarted,
    HelpRequestRefused,
    ResidentBooked,
    ResidentContact,
    ResidentErasureRequested,
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
    VolunteerErasureRequested,
    proposal_topic,
)
from shared.store.eventstore import Transaction

if TYPE_CHECKING:
    from services.notifications.service import Notifications

ME = "notifications"


@dataclass(frozen=True, kw_only=True)
class Handling:
    """One event being handled: the transaction and the batch its SMS and reminders are
    written in, and what each of their appends carries (every one is caused by the event)."""

    tx: Transaction
    batch: SmsBatch
    settings: NotificationSettings
    recorded: RecordedEvent
    cause: Cause
    now: datetime


def handling(
    tx: Transaction, batch: SmsBatch, settings: NotificationSettings, recorded: RecordedEvent
) -> Handling:
    return Handling(
        tx=tx,
        batch=batch,
        settings=settings,
        recorded=recorded,
        cause=caused_by(recorded),
        now=tx.store.clock.now(),
    )


async def send(
    handling: Handling,
    phone: str,
    kind: SmsKind,
    context: Callable[[SmsLanguage], TemplateContext],
    language: SmsLanguage | None,
    about: About,
    *,
    soon: bool = False,
) -> None:
    """Queue an SMS now, or `soon`: with the rest of the batch, just before the commit."""
    if not phone:
        return  # an erased resident (their key is gone): there is nobody to tell
    if soon:
        await handling.batch.queue_sms(
            handlers.SmsRequest(
                settings=handling.settings,
                now=handling.now,
                cause=handling.cause,
                cause_id=handling.recorded.event_id,
                phone=phone,
                kind=kind,
                context=context,
                language=language,
                about=about,
            )
        )
        return
    await handlers.queue_sms(
        handling.tx,
        settings=handling.settings,
        now=handling.now,
        cause=handling.cause,
        cause_id=handling.recorded.event_id,
        phone=phone,
        kind=kind,
        context=context,
        language=language,
        about=about,
    )


async def tell_resident(
    handling: Handling,
    resident: ResidentContact,
    kind: SmsKind,
    context: Callable[[SmsLanguage], TemplateContext],
    *,
    reference: str,
    starts_at: datetime | None,
    commune_code: str | None,
    session_id: str | None = None,
    soon: bool = False,
) -> None:
    await send(
        handling,
        resident.phone,
        kind,
        context,
        language_of(resident.preferred_language),
        About(
            commune_code=commune_code,
            reference=reference,
            recipient_name=resident.name,
            session_starts_at=starts_at,
            session_id=session_id,
        ),
        soon=soon,
    )


async def commune_of(handling: Handling, booking_id: str) -> str | None:
    _, plan = await handlers.current_reminders(handling.tx, booking_id)
    return None if plan is None else plan.commune_code


# From the scheduler


async def from_scheduler(handling: Handling) -> None:
    """Residents hear of their bookings and changes; coordinators of understaffing.

    Bookings and waitlistings, the bulk of the traffic, are written with the rest of the
    fetched batch just before it commits; any other event first writes what was gathered."""
    if await _gathered(handling):
        return
    await handling.batch.write()
    match handling.recorded.event:
        case SessionRescheduled() as event:
            for affected in event.affected:
                await _rescheduled(handling, event, affected)
        case SessionCancelled() as event:
            for affected in event.affected:
                await _cancelled(
                    handling, affected.resident, affected.booking_id, event.venue, event, event
                )
        case StaffingAlertRaised() as event:
            await _understaffed(handling, event)
        case ResidentErasureRequested() as event:
            await _erasure_asked(handling, event)
        case ErasureBySmsStarted() as event:
            await forgetting.nothing_held(
                handling.tx,
                event,
                settings=handling.settings,
                cause=handling.cause,
                now=handling.now,
            )
        case HelpRequestRefused() as event:
            await send(
                handling,
                event.resident_phone,
                SmsKind.HELP_REQUEST_REFUSED,
                wording.refused(event),
                None,
                About(reference=event.inbound_id),
            )
        case _:
            await _about_bookings(handling)


async def _gathered(handling: Handling) -> bool:
    """Bookings and waitlistings: gathered into the batch; False for any other event."""
    match handling.recorded.event:
        case ResidentBooked() as booked:
            await _resident_booked(handling, booked)
        case ResidentWaitlisted() as waitlisted:
            await tell_resident(
                handling,
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


async def _about_bookings(handling: Handling) -> None:
    tx = handling.tx
    match handling.recorded.event:
        case ResidentMovedToWaitlist() as event:
            commune = await commune_of(handling, event.booking_id)
            await tell_resident(
                handling,
                event.resident,
                SmsKind.RESIDENT_MOVED_TO_WAITLIST,
                wording.moved_to_waitlist(event),
                reference=event.booking_id,
                starts_at=event.when.starts_at,
                commune_code=commune,
                session_id=event.session_id,
            )
            await handlers.cancel_reminders_for(
                tx,
                event.booking_id,
                reason="moved_to_waitlist",
                now=handling.now,
                cause=handling.cause,
            )
        case BookingCancelled() as event:
            await _cancelled(handling, event.resident, event.booking_id, event.venue, event, None)
        case BookingChanged() as event:
            commune = await commune_of(handling, event.booking_id)
            await tell_resident(
                handling,
                event.resident,
                SmsKind.RESIDENT_MOVED,
                wording.booking_changed(event),
                reference=event.new_booking_id,
                starts_at=event.new_when.starts_at,
                commune_code=commune,
                session_id=event.new_session_id,
            )
            await handlers.cancel_reminders_for(
                tx, event.booking_id, reason="changed", now=handling.now, cause=handling.cause
            )
        case _:
            return


async def _resident_booked(handling: Handling, event: ResidentBooked) -> None:
    if not event.resident.phone:
        return  # an erased resident: no SMS, no reminders
    starts_at = event.when.starts_at
    # A move between sessions is told once, by booking.changed.
    if event.changed_from_booking_id is None:
        await tell_resident(
            handling,
            event.resident,
            SmsKind.RESIDENT_BOOKED,
            wording.resident_booked(event),
            reference=event.booking_id,
            starts_at=starts_at,
            commune_code=event.commune_code,
            session_id=event.session_id,
            soon=True,
        )
    await handling.batch.plan_reminders(
        PlanRequest(
            settings=handling.settings,
            now=handling.now,
            cause=handling.cause,
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
                planned_at=handling.now,
                session_id=event.session_id,
            ),
        ),
    )


async def _cancelled(
    handling: Handling,
    resident: ResidentContact,
    booking_id: str,
    venue: Venue,
    event: BookingCancelled | SessionCancelled,
    session: SessionCancelled | None,
) -> None:
    commune = (
        session.commune_code if session is not None else await commune_of(handling, booking_id)
    )
    starts_at = event.when.starts_at
    await tell_resident(
        handling,
        resident,
        SmsKind.RESIDENT_CANCELLED,
        # A session called off says why; one booking cancelled on its own has no such reason.
        wording.booking_cancelled(venue, event.when, "" if session is None else session.reason),
        reference=booking_id,
        starts_at=starts_at,
        commune_code=commune,
        session_id=event.session_id,
    )
    await handlers.cancel_reminders_for(
        handling.tx, booking_id, reason="cancelled", now=handling.now, cause=handling.cause
    )


async def _rescheduled(
    handling: Handling, event: SessionRescheduled, affected: AffectedBooking
) -> None:
    await tell_resident(
        handling,
        affected.resident,
        SmsKind.RESIDENT_RESCHEDULED,
        wording.rescheduled(event),
        reference=affected.booking_id,
        starts_at=event.when.starts_at,
        commune_code=event.commune_code,
        session_id=event.session_id,
    )
    await handlers.move_reminders(
        handling.tx,
        affected.booking_id,
        starts_at=event.when.starts_at,
        venue=event.venue.name,
        settings=handling.settings,
        now=handling.now,
        cause=handling.cause,
    )


async def _understaffed(handling: Handling, event: StaffingAlertRaised) -> None:
    contacts = await queries.coordinators_for(
        handling.tx.conn, coordinator_id=event.coordinator_id, commune_code=event.commune_code
    )
    for contact in contacts:
        await send(
            handling,
            contact.phone,
            SmsKind.UNDERSTAFFING_ALERT,
            wording.understaffed(event),
            contact.language,
            About(
                commune_code=event.commune_code,
                reference=event.session_id,
                session_id=event.session_id,
            ),
        )


# From the volunteers service


async def _awaited(
    tx: Transaction, assignment_id: str
) -> tuple[int, AssignmentReplyAwaited | None, bool]:
    stream = await tx.load(handlers.awaiting_stream(assignment_id))
    awaited: AssignmentReplyAwaited | None = None
    closed = False
    for recorded in stream.events:
        match recorded.event:
            case AssignmentReplyAwaited():
                awaited = recorded.event
            case AssignmentReplyClosed():
                closed = True
    return stream.version, awaited, closed


async def _close(
    handling: Handling, assignment_id: str, reason: str
) -> AssignmentReplyAwaited | None:
    version, awaited, closed = await _awaited(handling.tx, assignment_id)
    if awaited is not None and not closed:
        await handling.tx.append(
            handlers.awaiting_stream(assignment_id),
            version,
            [
                AssignmentReplyClosed(
                    assignment_id=assignment_id, reason=reason, closed_at=handling.now
                )
            ],
            handling.cause,
        )
    return awaited


async def from_volunteers(handling: Handling) -> None:
    """Volunteers hear of proposals (and answer by SMS), confirmations and releases."""
    await handling.batch.write()
    match handling.recorded.event:
        case AssignmentProposed() as event:
            await _proposed(handling, event)
        case AssignmentAccepted() as event:
            awaited = await _close(handling, event.assignment_id, "accepted")
            if awaited is not None:
                await _accepted(handling, event, awaited)
        case AssignmentDeclined() as event:
            await _close(handling, event.assignment_id, "declined")
        case AssignmentExpired() as event:
            await _close(handling, event.assignment_id, "expired")
        case AssignmentReleased() as event:
            await _released(handling, event)
        case AssignmentMoved() as event:
            await _moved(handling, event)
        case AssignmentReplyUnmatched() as event:
            await _unmatched(handling, event)
        case VolunteerErasureRequested() as event:
            await _erasure_asked(handling, event)
        case _:
            return


async def _erasure_asked(
    handling: Handling, event: ResidentErasureRequested | VolunteerErasureRequested
) -> None:
    await forgetting.erasure_asked(
        handling.tx,
        event,
        settings=handling.settings,
        cause=handling.cause,
        cause_id=handling.recorded.event_id,
        now=handling.now,
    )


async def _released(handling: Handling, event: AssignmentReleased) -> None:
    tx = handling.tx
    awaited = await _close(handling, event.assignment_id, "released")
    # An accepted assignment's reminders follow its moves: they know its latest time.
    _, plan = await handlers.current_reminders(tx, event.assignment_id)
    await handlers.cancel_reminders_for(
        tx, event.assignment_id, reason="released", now=handling.now, cause=handling.cause
    )
    if awaited is not None:
        starts_at = awaited.starts_at if plan is None else plan.starts_at
        said = wording.cancel_reason_of(event.cancel_reason)
        await send(
            handling,
            event.phone,
            SmsKind.ASSIGNMENT_RELEASED,
            lambda language: AssignmentReleasedContext(
                topic=readable_topic(awaited.topic, language),
                starts_at=starts_at,
                cancel_reason=said,
            ),
            None,
            About(
                commune_code=awaited.commune_code,
                reference=event.assignment_id,
                recipient_name=awaited.volunteer_name or None,
                session_starts_at=starts_at,
                session_id=handlers.session_of(event.slot_id),
            ),
        )


async def _unmatched(handling: Handling, event: AssignmentReplyUnmatched) -> None:
    """The volunteers service could not apply an SMS answer: ask which one, with the codes."""
    which = wording.which_one(event)
    if which is None:
        return
    phone = event.phone or await _sender_of(handling.tx, event.inbound_id)
    if not phone:
        return  # the inbound SMS is gone (its sender was erased): nobody to ask
    await send(
        handling,
        phone,
        SmsKind.REPLY_AMBIGUOUS,
        which,
        None,
        About(reference=event.inbound_id),
    )


async def _sender_of(tx: Transaction, inbound_id: str) -> str:
    """Who sent an inbound SMS, from its own stream here ("" when not found or erased)."""
    for recorded in (await tx.load(inbound_id)).events:
        if isinstance(recorded.event, SmsReceived):
            return recorded.event.from_phone
    return ""


async def _proposed(handling: Handling, event: AssignmentProposed) -> None:
    topic = proposal_topic(event)
    venue = clip(event.place, VENUE_MAX)
    version, _, _ = await _awaited(handling.tx, event.assignment_id)
    if version == 0:
        await handling.tx.append(
            handlers.awaiting_stream(event.assignment_id),
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
                    awaited_at=handling.now,
                )
            ],
            handling.cause,
        )
    await send(
        handling,
        event.phone,
        SmsKind.ASSIGNMENT_PROPOSED,
        wording.proposed(event),
        language_of(event.preferred_language),
        About(
            commune_code=event.commune_code,
            reference=event.assignment_id,
            recipient_name=event.volunteer_name,
            session_starts_at=event.starts_at,
            session_id=handlers.session_of(event.slot_id),
        ),
    )


async def _moved(handling: Handling, event: AssignmentMoved) -> None:
    """A volunteer kept through a move hears the new time and place; the proposal they may
    still answer, or the reminders of the one they accepted, follow it."""
    venue = clip(event.place, VENUE_MAX)
    version, awaited, closed = await _awaited(handling.tx, event.assignment_id)
    if awaited is not None and not closed:
        moved = msgspec.structs.replace(
            awaited, venue=venue, starts_at=event.starts_at, awaited_at=handling.now
        )
        await handling.tx.append(
            handlers.awaiting_stream(event.assignment_id), version, [moved], handling.cause
        )
    if event.accepted:
        await handlers.move_reminders(
            handling.tx,
            event.assignment_id,
            starts_at=event.starts_at,
            venue=venue,
            settings=handling.settings,
            now=handling.now,
            cause=handling.cause,
        )
    await send(
        handling,
        event.phone,
        SmsKind.ASSIGNMENT_CHANGED,
        wording.assignment_moved(event),
        language_of(event.preferred_language),
        About(
            commune_code=event.commune_code,
            reference=event.assignment_id,
            recipient_name=event.volunteer_name,
            session_starts_at=event.starts_at,
            session_id=handlers.session_of(event.slot_id),
        ),
    )


async def _accepted(
    handling: Handling, event: AssignmentAccepted, awaited: AssignmentReplyAwaited
) -> None:
    about = About(
        commune_code=awaited.commune_code,
        reference=event.assignment_id,
        recipient_name=awaited.volunteer_name or None,
        session_starts_at=awaited.starts_at,
        session_id=handlers.session_of(awaited.slot_id),
    )
    # An answer by SMS was already answered by SMS; a web answer gets its confirmation here.
    if event.channel is not AnswerChannel.SMS:
        await send(
            handling,
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
        handling.tx,
        RemindersPlanned(
            target_id=event.assignment_id,
            kind=SmsKind.ASSIGNMENT_REMINDER,
            recipient_phone=awaited.volunteer_phone,
            recipient_name=awaited.volunteer_name,
            topic=awaited.topic,
            venue=awaited.venue,
            commune_code=awaited.commune_code,
            starts_at=awaited.starts_at,
            planned_at=handling.now,
            session_id=handlers.session_of(awaited.slot_id),
        ),
        settings=handling.settings,
        now=handling.now,
        cause=handling.cause,
    )


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
    ResidentErasureRequested,
    ErasureBySmsStarted,
)
FROM_VOLUNTEERS: tuple[type[Event], ...] = (
    AssignmentProposed,
    AssignmentAccepted,
    AssignmentDeclined,
    AssignmentExpired,
    AssignmentReleased,
    AssignmentReplyUnmatched,
    AssignmentMoved,
    VolunteerErasureRequested,
)


def subscriptions_for(settings: NotificationSettings) -> list[Subscription]:
    """Each fetched batch gets its own SmsBatch, written just before the batch commits."""

    def scheduler_in(tx: Transaction) -> EventHandler:
        batch = SmsBatch(tx)

        async def handle(recorded: RecordedEvent) -> None:
            await from_scheduler(handling(tx, batch, settings, recorded))

        return handle

    def volunteers_in(tx: Transaction) -> EventHandler:
        batch = SmsBatch(tx)

        async def handle(recorded: RecordedEvent) -> None:
            await from_volunteers(handling(tx, batch, settings, recorded))

        return handle

    return [
        Subscription(
            name=f"{ME}-from-scheduler",
            source="scheduler",
            handle_in=scheduler_in,
            events=FROM_SCHEDULER,
        ),
        Subscription(
            name=f"{ME}-from-volunteers",
            source="volunteers",
            handle_in=volunteers_in,
            events=FROM_VOLUNTEERS,
        ),
    ]


def subscriptions(notifications: Notifications) -> list[Subscription]:
    return subscriptions_for(notifications.sms)
