"""Load -> decide -> append for the notifications service; called by the consumers, the
timers, the sender, the webhooks and the API, always inside a transaction they were given."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import msgspec

from services.notifications.domain.errors import DomainError
from services.notifications.domain.labels import readable_topic
from services.notifications.domain.messages import (
    DeliveryOutcome,
    QueueSms,
    decide_queue,
    decide_record_delivery,
    evolve,
    message_events,
    message_id_for,
)
from services.notifications.domain.quiet_hours import REPLY_KINDS
from services.notifications.domain.reminders import ReminderTimer, plan_reminders
from services.notifications.domain.replies import InboundSms, decide_inbound, inbound_id_for
from services.notifications.domain.templates import (
    NAME_MAX,
    VENUE_MAX,
    AssignmentReminderContext,
    DeliveryFailedAlertContext,
    RenderedSms,
    ResidentReminderContext,
    TemplateContext,
    clip,
    render,
)
from services.notifications.erasure_by_sms import erasure_asked_by_sms
from services.notifications.optouts import with_kept_opt_outs
from services.notifications.providers.base import SmsProvider
from services.notifications.settings import NotificationSettings
from services.notifications.tables import timers
from services.notifications.views import queries
from shared.events.base import Cause, Event, RecordedEvent
from shared.events.fold import fold
from shared.events.notifications import (
    AssignmentReplyAwaited,
    AssignmentReplyReceived,
    CoordinatorContactSet,
    MessageId,
    RecipientOptedIn,
    RecipientOptedOut,
    RecipientPreferencesChanged,
    RecipientRegistered,
    RemindersCancelled,
    RemindersPlanned,
    SmsFailed,
    SmsKind,
    SmsLanguage,
)
from shared.ids import derived_id, uuid7
from shared.phones import mask_phone
from shared.store.eventstore import Stream, Transaction
from shared.store.timers import Timer, cancel_timers_like, set_timers

log = logging.getLogger("handinhand.notifications")

REMINDER_TIMER = "sms.reminder"
# Alerts about alerts would never end; answers to an inbound SMS concern no session.
NO_FAILURE_ALERT = frozenset({SmsKind.DELIVERY_FAILED_ALERT, SmsKind.UNDERSTAFFING_ALERT})

ContextFor = Callable[[SmsLanguage], TemplateContext]


class About(msgspec.Struct, frozen=True, kw_only=True):
    """What an SMS concerns, kept on the message for coordinators and failure alerts."""

    commune_code: str | None = None
    reference: str | None = None
    recipient_name: str | None = None
    session_starts_at: datetime | None = None
    session_id: str | None = None


def session_of(slot_id: str) -> str | None:
    """A volunteers' slot is a session or a home visit; only a session lists its SMS."""
    return slot_id if slot_id.startswith("session-") else None


def awaiting_stream(assignment_id: str) -> str:
    """A proposal sent by SMS and whether it is still awaited (`sms.reply_awaited`)."""
    return f"awaiting-{derived_id('awaiting', assignment_id)}"


def language_of(value: str | None) -> SmsLanguage | None:
    """The SMS language for a stated preference: English if asked for, else Vietnamese."""
    if value is None:
        return None
    return SmsLanguage.EN if value.strip().lower() in {"en", "english"} else SmsLanguage.VI


# Recipients and consent


def recipient_stream() -> str:
    """A random id: a hash of a 10-digit number could be reversed by trying them all."""
    return f"recipient-{uuid7()}"


async def ensure_recipient(
    tx: Transaction, phone: str, *, now: datetime, cause: Cause
) -> queries.Recipient:
    found = await queries.recipient(tx.conn, phone)
    if found is not None:
        return found
    stream = recipient_stream()
    await tx.append(
        stream, 0, [RecipientRegistered(recipient_id=stream, phone=phone, registered_at=now)], cause
    )
    made = await queries.recipient(tx.conn, phone)
    assert made is not None
    return made


async def append_to_recipient(
    tx: Transaction, phone: str, *, events: Sequence[Event], now: datetime, cause: Cause
) -> None:
    """Consent and preferences live on the recipient's own stream."""
    if not events:
        return
    found = await ensure_recipient(tx, phone, now=now, cause=cause)
    stream = await tx.load(found.recipient_id)
    await tx.append(found.recipient_id, stream.version, events, cause)


async def change_preferences(
    tx: Transaction,
    phone: str,
    *,
    language: SmsLanguage | None,
    strip_diacritics: bool | None,
    now: datetime,
    cause: Cause,
) -> queries.Recipient:
    event = RecipientPreferencesChanged(
        phone=phone, language=language, strip_diacritics=strip_diacritics, changed_at=now
    )
    await append_to_recipient(tx, phone, events=[event], now=now, cause=cause)
    found = await queries.recipient(tx.conn, phone)
    assert found is not None
    return found


# Queueing


async def queue_sms(
    tx: Transaction,
    *,
    settings: NotificationSettings,
    now: datetime,
    cause: Cause,
    cause_id: UUID,
    phone: str,
    kind: SmsKind,
    context: ContextFor,
    language: SmsLanguage | None = None,
    about: About | None = None,
) -> MessageId | None:
    """Write one SMS down before anything is sent; the same cause, phone and kind adds nothing."""
    message_id = message_id_for(cause_id, phone, kind)
    if await tx.version_of(message_id) > 0:
        return None
    found = await queries.recipient(tx.conn, phone)
    if found is None:
        found = (await with_kept_opt_outs(tx.conn, settings, {}, [phone])).get(phone)
    request = SmsRequest(
        settings=settings,
        now=now,
        cause=cause,
        cause_id=cause_id,
        phone=phone,
        kind=kind,
        context=context,
        language=language,
        about=about or About(),
    )
    await tx.append(message_id, 0, request.events(found), cause)
    return message_id


@dataclass(frozen=True, kw_only=True)
class SmsRequest:
    """One SMS to write down: what `queue_sms` is asked."""

    settings: NotificationSettings
    now: datetime
    cause: Cause
    cause_id: UUID
    phone: str
    kind: SmsKind
    context: ContextFor
    language: SmsLanguage | None
    about: About

    @functools.cached_property
    def message_id(self) -> MessageId:
        return message_id_for(self.cause_id, self.phone, self.kind)

    def events(self, found: queries.Recipient | None) -> list[Event]:
        """`sms.queued` (or `sms.suppressed`), in the recipient's language and choice."""
        settings, about = self.settings, self.about
        chosen = (found.language if found is not None else None) or self.language or SmsLanguage.VI
        strip = settings.strip_diacritics
        if found is not None and found.strip_diacritics is not None:
            strip = found.strip_diacritics
        rendered = _render(self.kind, chosen, self.context(chosen), strip)
        events = decide_queue(
            None,
            QueueSms(
                cause_event_id=self.cause_id,
                recipient_phone=self.phone,
                kind=self.kind,
                language=chosen,
                rendered=rendered,
                session_starts_at=about.session_starts_at,
            ),
            self.now,
            opted_out=found is not None and found.opted_out,
            quiet=settings.quiet,
            policy=settings.opt_out,
        )
        return [
            msgspec.structs.replace(
                event,
                commune_code=about.commune_code,
                reference=about.reference,
                recipient_name=about.recipient_name,
                session_starts_at=about.session_starts_at,
                session_id=about.session_id,
            )
            if hasattr(event, "queued_at")
            else event
            for event in events
        ]


def _render(
    kind: SmsKind, language: SmsLanguage, context: TemplateContext, strip: bool
) -> RenderedSms:
    """A mass send (a session's residents, a reminder wave) writes the same text many times."""
    try:
        return _render_again(kind, language, context, strip)
    except TypeError:  # a context holding a list cannot be a cache key
        return render(kind, language, context, strip_diacritics=strip)


@functools.lru_cache(maxsize=512)
def _render_again(
    kind: SmsKind, language: SmsLanguage, context: TemplateContext, strip: bool
) -> RenderedSms:
    return render(kind, language, context, strip_diacritics=strip)


# Reminders


def reminders_stream(target_id: str) -> str:
    return f"reminders-{derived_id('reminders', target_id)}"


def timer_prefix(target_id: str) -> str:
    return f"reminder:{target_id}:"


async def current_reminders(tx: Transaction, target_id: str) -> tuple[int, RemindersPlanned | None]:
    """The stream version and the plan in force (None when there is none or it was cancelled)."""
    stream = await tx.load(reminders_stream(target_id))
    return stream.version, plan_in_force(stream)


def plan_in_force(stream: Stream) -> RemindersPlanned | None:
    plan: RemindersPlanned | None = None
    for recorded in stream.events:
        match recorded.event:
            case RemindersPlanned():
                plan = recorded.event
            case RemindersCancelled():
                plan = None
    return plan


def replan(
    plan: RemindersPlanned,
    current: RemindersPlanned | None,
    *,
    settings: NotificationSettings,
    now: datetime,
) -> tuple[RemindersPlanned, tuple[ReminderTimer, ...]] | None:
    """The plan to record and its timers; None when the plan in force is the same."""
    planned = plan_reminders(
        plan.target_id, plan.kind, plan.starts_at, now, offsets=settings.reminder_offsets
    )
    plan = msgspec.structs.replace(plan, due_at=tuple(t.due_at for t in planned), planned_at=now)
    if current is not None and (current.starts_at, current.venue) == (plan.starts_at, plan.venue):
        return None
    return plan, planned


def reminder_timers(plan: RemindersPlanned, planned: tuple[ReminderTimer, ...]) -> list[Timer]:
    payload = {"target_id": plan.target_id, "starts_at": plan.starts_at.isoformat()}
    return [
        Timer(
            id=f"{timer_prefix(plan.target_id)}{timer.timer_id}",
            kind=REMINDER_TIMER,
            due_at=timer.due_at,
            payload=payload,
        )
        for timer in planned
    ]


async def plan_reminders_for(
    tx: Transaction,
    plan: RemindersPlanned,
    *,
    settings: NotificationSettings,
    now: datetime,
    cause: Cause,
) -> None:
    """Set (or move) the reminder timers of a booking or assignment; same plan, no change."""
    version, current = await current_reminders(tx, plan.target_id)
    decided = replan(plan, current, settings=settings, now=now)
    if decided is None:
        return
    await tx.append(reminders_stream(plan.target_id), version, [decided[0]], cause)
    await cancel_timers_like(tx, timers, timer_prefix(plan.target_id))
    await set_timers(tx, timers, reminder_timers(*decided))


async def move_reminders(
    tx: Transaction,
    target_id: str,
    *,
    starts_at: datetime,
    venue: str,
    settings: NotificationSettings,
    now: datetime,
    cause: Cause,
) -> None:
    """A reschedule moves the reminders a booking already has; none planned, none added."""
    _, current = await current_reminders(tx, target_id)
    if current is None:
        return
    moved = msgspec.structs.replace(current, starts_at=starts_at, venue=clip(venue, VENUE_MAX))
    await plan_reminders_for(tx, moved, settings=settings, now=now, cause=cause)


async def cancel_reminders_for(
    tx: Transaction, target_id: str, *, reason: str, now: datetime, cause: Cause
) -> None:
    version, current = await current_reminders(tx, target_id)
    await cancel_timers_like(tx, timers, timer_prefix(target_id))
    if current is None:
        return
    event = RemindersCancelled(target_id=target_id, reason=reason, cancelled_at=now)
    await tx.append(reminders_stream(target_id), version, [event], cause)


async def fire_reminder(
    tx: Transaction, timer: Timer, *, settings: NotificationSettings, now: datetime
) -> None:
    """A reminder timer came due: queue its SMS, unless the plan changed since it was set."""
    target_id = str(timer.payload["target_id"])
    _, plan = await current_reminders(tx, target_id)
    if plan is None or plan.starts_at.isoformat() != timer.payload.get("starts_at"):
        return
    timer_uuid = UUID(timer.id.rsplit(":", 1)[1])
    cause = Cause(correlation_id=timer_uuid, id_seed=timer.id)

    def context(language: SmsLanguage) -> TemplateContext:
        topic = readable_topic(plan.topic, language)
        if plan.kind is SmsKind.ASSIGNMENT_REMINDER:
            return AssignmentReminderContext(
                topic=topic, venue=plan.venue, starts_at=plan.starts_at
            )
        return ResidentReminderContext(topic=topic, venue=plan.venue, starts_at=plan.starts_at)

    await queue_sms(
        tx,
        settings=settings,
        now=now,
        cause=cause,
        cause_id=timer_uuid,
        phone=plan.recipient_phone,
        kind=plan.kind,
        context=context,
        language=plan.language,
        about=About(
            commune_code=plan.commune_code,
            reference=target_id,
            recipient_name=plan.recipient_name or None,
            session_starts_at=plan.starts_at,
            session_id=plan.session_id,
        ),
    )


# Failure alerts, coordinators


async def alert_failure(
    tx: Transaction, failed: RecordedEvent, *, settings: NotificationSettings, now: datetime
) -> None:
    """A message will not arrive: tell the coordinators of its commune to reach the person."""
    event = failed.event
    assert isinstance(event, SmsFailed)
    if event.kind in NO_FAILURE_ALERT or event.kind in REPLY_KINDS:
        return
    row = await queries.message(tx.conn, event.message_id)
    if row is None or row.commune_code is None:
        return
    starts = row.session_starts_at
    if starts is None:
        return
    name = clip(row.recipient_name or "người nhận", NAME_MAX)
    contacts = await queries.coordinators_for(
        tx.conn, coordinator_id=None, commune_code=row.commune_code
    )
    cause = Cause(
        correlation_id=failed.correlation_id,
        causation_id=failed.event_id,
        id_seed=str(failed.event_id),
    )
    for contact in contacts:
        await queue_sms(
            tx,
            settings=settings,
            now=now,
            cause=cause,
            cause_id=failed.event_id,
            phone=contact.phone,
            kind=SmsKind.DELIVERY_FAILED_ALERT,
            context=lambda _language: DeliveryFailedAlertContext(
                recipient_name=name,
                masked_phone=mask_phone(event.recipient_phone),
                starts_at=starts,
            ),
            language=contact.language,
            about=About(
                commune_code=row.commune_code,
                reference=event.message_id,
                session_id=row.session_id,
            ),
        )


def coordinator_stream(coordinator_id: str) -> str:
    return f"coordinator-contact-{derived_id('coordinator-contact', coordinator_id)}"


async def set_coordinator_contact(
    tx: Transaction, event: CoordinatorContactSet, *, cause: Cause
) -> None:
    stream = coordinator_stream(event.coordinator_id)
    version = await tx.version_of(stream)
    await tx.append(stream, version, [event], cause)


# Webhooks


async def receive_sms(
    tx: Transaction,
    sms: InboundSms,
    *,
    settings: NotificationSettings,
    provider: SmsProvider,
    cause: Cause,
) -> bool:
    """Record an inbound SMS once per provider message id, pass on its request, answer it.
    `provider` takes an erasure code at once (it is never queued)."""
    inbound_id = inbound_id_for(sms.provider_message_id)
    if await tx.version_of(inbound_id) > 0:
        return False
    found = await queries.recipient(tx.conn, sms.from_phone)
    opted_out = found is not None and found.opted_out
    language = (found.language if found is not None else None) or SmsLanguage.VI
    pending = [
        msgspec.structs.replace(item, topic=readable_topic(item.topic, language))
        for item in await queries.pending_for(tx.conn, sms.from_phone)
    ]
    decision = decide_inbound(sms, pending, opted_out)
    consent = [e for e in decision.events if isinstance(e, RecipientOptedOut | RecipientOptedIn)]
    others = [e for e in decision.events if not isinstance(e, RecipientOptedOut | RecipientOptedIn)]
    recorded = await tx.append(inbound_id, 0, others, cause)
    await append_to_recipient(tx, sms.from_phone, events=consent, now=sms.received_at, cause=cause)
    answer = decision.answer
    if decision.erase is not None:
        answer = await erasure_asked_by_sms(
            tx,
            sms,
            decision.erase,
            inbound_id=inbound_id,
            language=language,
            provider=provider,
            settings=settings,
            cause=cause,
        )
    if answer is not None:
        await queue_sms(
            tx,
            settings=settings,
            now=sms.received_at,
            cause=cause,
            cause_id=recorded[0].event_id,
            phone=sms.from_phone,
            kind=answer.kind,
            context=lambda _language: answer.context,
            language=None,
            about=await _about_reply(tx, others, inbound_id=inbound_id),
        )
    return True


async def _about_reply(tx: Transaction, events: Sequence[Event], *, inbound_id: str) -> About:
    """The answer to a volunteer's reply concerns the proposal they answered, when one matched:
    its commune and session (the session's page lists it)."""
    answered = next(
        (e.assignment_id for e in events if isinstance(e, AssignmentReplyReceived)), None
    )
    awaited = None
    if answered is not None:
        for recorded in (await tx.load(awaiting_stream(answered))).events:
            if isinstance(recorded.event, AssignmentReplyAwaited):
                awaited = recorded.event
    if awaited is None:
        return About(reference=inbound_id)
    return About(
        commune_code=awaited.commune_code,
        reference=inbound_id,
        recipient_name=awaited.volunteer_name or None,
        session_id=session_of(awaited.slot_id),
    )


async def record_delivery(
    tx: Transaction,
    provider_message_id: str,
    *,
    outcome: DeliveryOutcome,
    error_code: str | None,
    settings: NotificationSettings,
    now: datetime,
    cause: Cause,
    message_id: str | None = None,
) -> bool:
    """A delivery receipt: delivered, or failed (with an alert); repeats change nothing.
    `message_id` is ours, from the status callback URL: it names a message whose `sms.sent`
    is not stored yet (an interrupted send, or one held while the database was away)."""
    known = await queries.message_by_provider_id(tx.conn, provider_message_id)
    message_id = known or (message_id if message_id and message_id.startswith("sms-") else None)
    if message_id is None:
        log.info("delivery receipt for an unknown provider message %s", provider_message_id)
        return False
    stream = await tx.load(message_id)
    state = fold(evolve, message_events(recorded.event for recorded in stream.events))
    try:
        events = decide_record_delivery(state, outcome, provider_message_id, now, error_code)
    except DomainError as error:
        log.info("delivery receipt ignored for %s: %s", message_id, error)
        return False
    appended = await tx.append(message_id, stream.version, events, cause)
    for item in appended:
        if isinstance(item.event, SmsFailed):
            await alert_failure(tx, item, settings=settings, now=now)
    return bool(appended)
