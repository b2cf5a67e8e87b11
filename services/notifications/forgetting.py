"""Forgetting a resident the scheduler is erasing (`resident.erasure_requested`, whose phone
still opens): text them that it is done, and once none of their messages waits to be sent,
blank the texts and numbers of their SMS log, drop their recipient row (an opted-out number
is kept only as a keyed hash, so their STOP is still honoured) and say so
(`resident.forgotten`), upon which the scheduler destroys their key. A volunteer the volunteers
service is erasing (`volunteer.erasure_requested`) is forgotten the same way
(`volunteer.forgotten`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from services.notifications import handlers
from services.notifications.domain.templates import ErasedContext
from services.notifications.optouts import opted_out_hash
from services.notifications.settings import NotificationSettings
from services.notifications.tables import messages, outgoing, recipients, timers
from shared.events.base import Cause
from shared.events.notifications import ResidentForgotten, SmsKind, VolunteerForgotten
from shared.events.scheduler import Actor, ResidentErasureRequested
from shared.events.volunteers import VolunteerErasureRequested
from shared.ids import uuid7
from shared.store.eventstore import Transaction
from shared.store.timers import Timer, set_timer

FORGET_TIMER = "forget_resident"
FORGET_VOLUNTEER_TIMER = "forget_volunteer"
# A message still waiting to be sent (the "erased" SMS itself, quiet hours, a provider outage)
# is looked at again after half the time waited so far, between these bounds: soon for the
# SMS just queued, every minute for an outage; after a day the person is forgotten anyway.
LOOK_AGAIN_FIRST = timedelta(seconds=2)
LOOK_AGAIN = timedelta(minutes=1)
WAIT_AT_MOST = timedelta(days=1)


async def erasure_asked(
    tx: Transaction,
    event: ResidentErasureRequested,
    *,
    settings: NotificationSettings,
    cause: Cause,
    cause_id: UUID,
    now: datetime,
) -> None:
    """Tell the resident (unless the retention run asked), then forget them once that message
    (and any other) is settled."""
    # Erased by the retention run (the system): a number unused for a year may be someone
    # else's by now, so nobody is told.
    if event.phone and event.requested_by is not Actor.SYSTEM:
        await handlers.queue_sms(
            tx,
            settings=settings,
            now=now,
            cause=cause,
            cause_id=cause_id,
            phone=event.phone,
            kind=SmsKind.RESIDENT_ERASED,
            context=lambda _language: ErasedContext(),
            language=handlers.language_of(event.preferred_language),
        )
    await set_timer(
        tx,
        timers,
        f"forget:{event.request_id}",
        FORGET_TIMER,
        now,
        {"request_id": event.request_id, "phone": event.phone, "since": now.isoformat()},
    )


async def volunteer_erasure_asked(
    tx: Transaction,
    event: VolunteerErasureRequested,
    *,
    settings: NotificationSettings,
    cause: Cause,
    cause_id: UUID,
    now: datetime,
) -> None:
    """Tell the volunteer, then forget them once that message (and any other) is settled."""
    if event.phone:
        await handlers.queue_sms(
            tx,
            settings=settings,
            now=now,
            cause=cause,
            cause_id=cause_id,
            phone=event.phone,
            kind=SmsKind.VOLUNTEER_ERASED,
            context=lambda _language: ErasedContext(),
            language=handlers.language_of(event.preferred_language),
        )
    await set_timer(
        tx,
        timers,
        f"forget:{event.volunteer_id}",
        FORGET_VOLUNTEER_TIMER,
        now,
        {"volunteer_id": event.volunteer_id, "phone": event.phone, "since": now.isoformat()},
    )


async def forget_resident(
    tx: Transaction, timer: Timer, *, settings: NotificationSettings, now: datetime
) -> None:
    """Forget the resident of `timer`, or look again shortly while a message still waits."""
    request_id = timer.payload["request_id"]
    forgotten = await _forgotten(tx, timer, FORGET_TIMER, settings=settings, now=now)
    if forgotten is not None:
        await _say_forgotten(
            tx,
            timer,
            f"forgotten-{request_id}",
            ResidentForgotten(request_id=request_id, **forgotten),
        )


async def forget_volunteer(
    tx: Transaction, timer: Timer, *, settings: NotificationSettings, now: datetime
) -> None:
    """Forget the volunteer of `timer`, as a resident is forgotten."""
    volunteer_id = timer.payload["volunteer_id"]
    forgotten = await _forgotten(tx, timer, FORGET_VOLUNTEER_TIMER, settings=settings, now=now)
    if forgotten is not None:
        await _say_forgotten(
            tx,
            timer,
            f"forgotten-{volunteer_id}",
            VolunteerForgotten(volunteer_id=volunteer_id, **forgotten),
        )


async def _forgotten(
    tx: Transaction, timer: Timer, kind: str, *, settings: NotificationSettings, now: datetime
) -> dict[str, Any] | None:
    """What is forgotten of the number of `timer` (None: done already, or not yet)."""
    who = timer.payload.get("request_id") or timer.payload["volunteer_id"]
    phone = timer.payload["phone"]
    since = datetime.fromisoformat(timer.payload["since"])
    if await tx.version_of(f"forgotten-{who}") > 0:
        return None
    if phone and await _waiting(tx, phone) and now - since < WAIT_AT_MOST:
        again = min(LOOK_AGAIN, max(LOOK_AGAIN_FIRST, (now - since) / 2))
        await set_timer(tx, timers, timer.id, kind, now + again, timer.payload)
        return None
    ids = (
        await tx.conn.scalars(
            sa.select(messages.c.message_id).where(messages.c.recipient_phone == phone)
        )
    ).all()
    found = (
        await tx.conn.execute(sa.select(recipients).where(recipients.c.phone == phone))
    ).first()
    return {
        "recipient_id": None if found is None else found.recipient_id,
        "message_ids": tuple(sorted(ids)),
        "opted_out_hash": opted_out_hash(settings, phone) if found and found.opted_out else None,
        "forgotten_at": now,
    }


async def _say_forgotten(
    tx: Transaction, timer: Timer, stream_id: str, forgotten: ResidentForgotten | VolunteerForgotten
) -> None:
    cause = Cause(correlation_id=uuid7(), id_seed=f"timer:{timer.id}")
    await tx.append(stream_id, 0, [forgotten], cause)
    personal = tx.store.personal
    phone = timer.payload["phone"]
    if phone and personal is not None:
        # every event of this service about the number no longer opens
        await personal.erase_number(tx.conn, phone)


async def _waiting(tx: Transaction, phone: str) -> bool:
    waiting = await tx.conn.scalar(
        sa.select(sa.func.count())
        .select_from(outgoing.join(messages, messages.c.message_id == outgoing.c.message_id))
        .where(messages.c.recipient_phone == phone)
    )
    return bool(waiting)
