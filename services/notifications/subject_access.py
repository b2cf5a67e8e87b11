"""`POST /v1/subject-access` on notifications: what it holds about a number, opened: the
recipient record (language, opted out or not), every SMS to it (kind, times, status, text),
every SMS from it, the proposals awaiting its reply, and the reminders planned for the
bookings and assignments named. A person it has forgotten (`forgotten-<request or volunteer
id>`) is said to be erased, nothing more."""

from __future__ import annotations

from datetime import datetime

import msgspec
import sqlalchemy as sa
from litestar import Response
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifications.domain.replies import PendingAssignment
from services.notifications.handlers import plan_in_force, reminders_stream
from services.notifications.tables import messages
from services.notifications.views import queries
from shared.events.notifications import SmsReceived
from shared.store.eventstore import EventStore
from shared.web.auth import Caller
from shared.web.subject_access import (
    NO_STORE,
    SubjectAccessAsked,
    SubjectAccessSection,
    asked_phone,
    require_service,
    section,
    subject_access_route,
)

_RECEIVED = SmsReceived.event_type


class RecipientHeld(msgspec.Struct, frozen=True, kw_only=True):
    opted_out: bool
    language: str | None
    strip_diacritics: bool | None
    changed_at: datetime


class SmsSent(msgspec.Struct, frozen=True, kw_only=True):
    message_id: str
    kind: str
    status: str
    language: str
    text: str
    queued_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    session_id: str | None


class SmsReceivedHeld(msgspec.Struct, frozen=True, kw_only=True):
    inbound_id: str
    text: str
    intent: str
    received_at: datetime


class ReminderHeld(msgspec.Struct, frozen=True, kw_only=True):
    target_id: str
    kind: str
    topic: str
    venue: str
    starts_at: datetime
    due_at: list[datetime]


class NotificationsHeld(msgspec.Struct, frozen=True, kw_only=True):
    recipient: RecipientHeld | None
    sms_sent: list[SmsSent]
    sms_received: list[SmsReceivedHeld]
    reminders: list[ReminderHeld]
    # proposals texted to the number and not answered yet: what a "C 4821" would answer
    replies_awaited: list[PendingAssignment] = []


_NOBODY = NotificationsHeld(recipient=None, sms_sent=[], sms_received=[], reminders=[])


async def _sent(conn: AsyncConnection, phone: str) -> list[SmsSent]:
    rows = await conn.execute(
        sa.select(messages)
        .where(messages.c.recipient_phone == phone)
        .order_by(messages.c.queued_at)
    )
    return [
        SmsSent(
            message_id=r.message_id,
            kind=r.kind,
            status=r.status,
            language=r.language,
            text=r.text,
            queued_at=r.queued_at,
            sent_at=r.sent_at,
            delivered_at=r.delivered_at,
            failed_at=r.failed_at,
            session_id=r.session_id,
        )
        for r in rows
    ]


async def _received(store: EventStore, phone: str) -> list[SmsReceivedHeld]:
    """The SMS from the number: each names the number's person in clear in its sealed values
    (`hih-sealed:v2:<person>:`), so one scan of the inbound events finds them; a rare request,
    so no index is kept for it. Each is opened and checked against the number."""
    personal = store.personal
    if personal is None:
        return []
    events = store.tables.events
    async with store.reader.connect() as conn:
        person = await personal.person_of_number(conn, phone)
        if person is None:
            return []
        marked = f"hih-sealed:v2:{person}:".encode()
        # a byte search: PostgreSQL's bytea LIKE, SQLite's instr (its LIKE reads text only)
        found_in = (
            events.c.data.op("LIKE")(sa.literal(b"%" + marked + b"%", sa.LargeBinary))
            if store.is_postgres
            else sa.func.instr(events.c.data, sa.literal(marked, sa.LargeBinary)) > 0
        )
        rows = await conn.execute(
            sa.select(events.c.stream_id)
            .where(events.c.event_type == _RECEIVED, found_in)
            .order_by(events.c.position)
        )
        stream_ids = list(dict.fromkeys(row.stream_id for row in rows))
    found: list[SmsReceivedHeld] = []
    for stream_id in stream_ids:
        for recorded in (await store.load(stream_id)).events:
            sms = recorded.event
            if isinstance(sms, SmsReceived) and sms.from_phone == phone:
                found.append(
                    SmsReceivedHeld(
                        inbound_id=sms.inbound_id,
                        text=sms.text,
                        intent=sms.intent.value,
                        received_at=sms.received_at,
                    )
                )
    return found


async def _reminders(store: EventStore, phone: str, targets: list[str]) -> list[ReminderHeld]:
    found = []
    for target_id in dict.fromkeys(targets):
        plan = plan_in_force(await store.load(reminders_stream(target_id)))
        if plan is not None and plan.recipient_phone == phone:
            found.append(
                ReminderHeld(
                    target_id=plan.target_id,
                    kind=plan.kind.value,
                    topic=plan.topic,
                    venue=plan.venue,
                    starts_at=plan.starts_at,
                    due_at=list(plan.due_at),
                )
            )
    return found


async def _forgotten(store: EventStore, asked: SubjectAccessAsked) -> bool:
    for person_id in (asked.request_id, asked.volunteer_id):
        if person_id is not None and (await store.load(f"forgotten-{person_id}")).events:
            return True
    return False


async def held_about(store: EventStore, asked: SubjectAccessAsked) -> SubjectAccessSection:
    """The notifications' section of a person's copy."""
    phone = asked_phone(asked)
    now = store.clock.now()
    forgotten = await _forgotten(store, asked)
    if forgotten or phone is None:
        return section("notifications", now, _NOBODY, held=False, erased=forgotten)
    async with store.reader.connect() as conn:
        found = await queries.recipient(conn, phone)
        sent = await _sent(conn, phone)
        awaited = await queries.pending_for(conn, phone)
    held = NotificationsHeld(
        recipient=None
        if found is None
        else RecipientHeld(
            opted_out=found.opted_out,
            language=None if found.language is None else found.language.value,
            strip_diacritics=found.strip_diacritics,
            changed_at=found.changed_at,
        ),
        sms_sent=sent,
        sms_received=await _received(store, phone),
        reminders=await _reminders(store, phone, asked.reminders_of),
        replies_awaited=awaited,
    )
    some = bool(held.recipient or held.sms_sent or held.sms_received or held.reminders or awaited)
    return section("notifications", now, held, held=some, erased=False)


@subject_access_route(
    summary="Everything notifications holds about one number, for its person's own copy",
    description="Only a token with the role `service` may ask (the console, assembling a "
    "person's copy). The recipient record (language, opted out), every SMS to and from the "
    "number (kind, times, status, text), and the reminders planned for the bookings and "
    "assignments named in `reminders_of`. A resident or volunteer forgotten here (by "
    "`request_id` / `volunteer_id`) gets `erased` and no personal value. Never cached.",
)
async def give_subject_access(
    data: JSONBody[SubjectAccessAsked],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
) -> Response[SubjectAccessSection]:
    require_service(caller)
    return Response(await held_about(store, data), headers=NO_STORE)
