"""Forgetting a resident the scheduler is erasing (`resident.erasure_requested`, whose phone
still opens): text them that it is done, and once none of their messages waits to be sent,
blank the texts and numbers of their SMS log, drop their recipient row (an opted-out number
is kept only as a keyed hash, so their STOP is still honoured) and say so
(`resident.forgotten`), upon which the scheduler destroys their key.

A resident who asked by SMS is told once for all their requests (the SMS's cause is their
confirmation); a number that no request held is told so and forgotten alike
(`number.forgotten`, on the number's erasure stream). A volunteer the volunteers service is
erasing (`volunteer.erasure_requested`) is forgotten the same way (`volunteer.forgotten`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from services.notifications import handlers
from services.notifications.domain.templates import ErasedContext, NothingHeldContext
from services.notifications.optouts import opted_out_hash
from services.notifications.settings import NotificationSettings
from services.notifications.tables import messages, outgoing, recipients, timers
from shared.events.base import Cause, Event
from shared.events.notifications import (
    NumberForgotten,
    ResidentErasureConfirmed,
    ResidentForgotten,
    SmsKind,
    VolunteerForgotten,
)
from shared.events.scheduler import Actor, ErasureBySmsStarted, ResidentErasureRequested
from shared.events.volunteers import VolunteerErasureRequested
from shared.ids import uuid7
from shared.store.eventstore import Transaction
from shared.store.timers import Timer, set_timer

FORGET_TIMER = "forget_resident"
FORGET_NUMBER_TIMER = "forget_number"
FORGET_VOLUNTEER_TIMER = "forget_volunteer"
# A message still waiting to be sent (the "erased" SMS itself, quiet hours, a provider outage)
# is looked at again after half the time waited so far, between these bounds: soon for the
# SMS just queued, every minute for an outage; after a day the person is forgotten anyway.
LOOK_AGAIN_FIRST = timedelta(seconds=2)
LOOK_AGAIN = timedelta(minutes=1)
WAIT_AT_MOST = timedelta(days=1)


async def erasure_asked(
    tx: Transaction,
    event: ResidentErasureRequested | VolunteerErasureRequested,
    *,
    settings: NotificationSettings,
    cause: Cause,
    cause_id: UUID,
    now: datetime,
) -> None:
    """Tell the resident or volunteer (unless the retention run asked), then forget them once
    that message (and any other) is settled."""
    told = True
    if isinstance(event, ResidentErasureRequested):
        # Erased by the retention run (the system): a number unused for a year may be someone
        # else's by now, so nobody is told. Asked by SMS: one message for every request.
        told = event.requested_by is not Actor.SYSTEM
        kind, timer_kind, key = SmsKind.RESIDENT_ERASED, FORGET_TIMER, "request_id"
        who: str = event.request_id
        cause_id = event.confirmation_id or cause_id
    else:
        kind, timer_kind, key = SmsKind.VOLUNTEER_ERASED, FORGET_VOLUNTEER_TIMER, "volunteer_id"
        who = event.volunteer_id
    if event.phone and told:
        await handlers.queue_sms(
            tx,
            settings=settings,
            now=now,
            cause=cause,
            cause_id=cause_id,
            phone=event.phone,
            kind=kind,
            context=lambda _language: ErasedContext(),
            language=handlers.language_of(event.preferred_language),
        )
    await set_timer(
        tx,
        timers,
        f"forget:{who}",
        timer_kind,
        now,
        {key: who, "phone": event.phone, "since": now.isoformat()},
    )


async def forget_resident(
    tx: Transaction, timer: Timer, *, settings: NotificationSettings, now: datetime
) -> None:
    """Forget the resident of `timer`, or look again shortly while a message still waits."""
    request_id = timer.payload["request_id"]
    await _forget_person(
        tx,
        timer,
        FORGET_TIMER,
        f"forgotten-{request_id}",
        lambda kept: ResidentForgotten(request_id=request_id, **kept.facts(now)),
        settings=settings,
        now=now,
    )


async def forget_volunteer(
    tx: Transaction, timer: Timer, *, settings: NotificationSettings, now: datetime
) -> None:
    """Forget the volunteer of `timer`, as a resident is forgotten."""
    volunteer_id = timer.payload["volunteer_id"]
    await _forget_person(
        tx,
        timer,
        FORGET_VOLUNTEER_TIMER,
        f"forgotten-{volunteer_id}",
        lambda kept: VolunteerForgotten(volunteer_id=volunteer_id, **kept.facts(now)),
        settings=settings,
        now=now,
    )


async def _forget_person(
    tx: Transaction,
    timer: Timer,
    timer_kind: str,
    stream_id: str,
    forgotten: Callable[[_Kept], Event],
    *,
    settings: NotificationSettings,
    now: datetime,
) -> None:
    phone = timer.payload["phone"]
    since = datetime.fromisoformat(timer.payload["since"])
    if await tx.version_of(stream_id) > 0:
        return
    if phone and await _waiting(tx, phone) and now - since < WAIT_AT_MOST:
        await set_timer(tx, timers, timer.id, timer_kind, _look_again(now, since), timer.payload)
        return
    kept = await _kept_of(tx, settings, phone)
    cause = Cause(correlation_id=uuid7(), id_seed=f"timer:{timer.id}")
    await tx.append(stream_id, 0, [forgotten(kept)], cause)
    await _erase_number(tx, phone)


def _look_again(now: datetime, since: datetime) -> datetime:
    return now + min(LOOK_AGAIN, max(LOOK_AGAIN_FIRST, (now - since) / 2))


async def nothing_held(
    tx: Transaction,
    event: ErasureBySmsStarted,
    *,
    settings: NotificationSettings,
    cause: Cause,
    now: datetime,
) -> None:
    """The scheduler holds no request of a number whose owner confirmed its erasure by SMS:
    tell them, and forget the number as a resident's would be. With requests, each request's
    `resident.erasure_requested` does it all."""
    if event.request_ids:
        return
    confirmed = await _confirmation(tx, event.erasure_stream, event.confirmation_id)
    if confirmed is None or not confirmed.phone:
        return  # the number is forgotten already (its key is gone)
    await handlers.queue_sms(
        tx,
        settings=settings,
        now=now,
        cause=cause,
        cause_id=event.confirmation_id,
        phone=confirmed.phone,
        kind=SmsKind.RESIDENT_NOTHING_HELD,
        context=lambda _language: NothingHeldContext(),
        language=confirmed.language,
    )
    await set_timer(
        tx,
        timers,
        f"forget-number:{event.confirmation_id}",
        FORGET_NUMBER_TIMER,
        now,
        {
            "erasure_stream": event.erasure_stream,
            "confirmation_id": str(event.confirmation_id),
            "since": now.isoformat(),
        },
    )


async def forget_number(
    tx: Transaction, timer: Timer, *, settings: NotificationSettings, now: datetime
) -> None:
    """Forget a number no request held, or look again shortly while a message still waits."""
    stream_id = timer.payload["erasure_stream"]
    confirmation_id = UUID(timer.payload["confirmation_id"])
    since = datetime.fromisoformat(timer.payload["since"])
    stream = await tx.load(stream_id)
    if any(
        isinstance(r.event, NumberForgotten) and r.event.confirmation_id == confirmation_id
        for r in stream.events
    ):
        return
    confirmed = await _confirmation(tx, stream_id, confirmation_id)
    phone = "" if confirmed is None else confirmed.phone
    if phone and await _waiting(tx, phone) and now - since < WAIT_AT_MOST:
        await set_timer(
            tx, timers, timer.id, FORGET_NUMBER_TIMER, _look_again(now, since), timer.payload
        )
        return
    kept = await _kept_of(tx, settings, phone) if phone else _Kept()
    forgotten = NumberForgotten(
        confirmation_id=confirmation_id,
        **kept.facts(now),
    )
    cause = Cause(correlation_id=uuid7(), id_seed=f"timer:{timer.id}")
    await tx.append(stream_id, stream.version, [forgotten], cause)
    await _erase_number(tx, phone)


async def _confirmation(
    tx: Transaction, stream_id: str, confirmation_id: UUID
) -> ResidentErasureConfirmed | None:
    for recorded in (await tx.load(stream_id)).events:
        if recorded.event_id == confirmation_id and isinstance(
            recorded.event, ResidentErasureConfirmed
        ):
            return recorded.event
    return None


@dataclass(frozen=True)
class _Kept:
    """What forgetting a number touches: its recipient row, its SMS, and the hash kept of an
    opted-out number."""

    recipient_id: str | None = None
    message_ids: tuple[str, ...] = ()
    opted_out_hash: str | None = None

    def facts(self, now: datetime) -> dict[str, Any]:
        """The fields every `*.forgotten` event has."""
        return {
            "recipient_id": self.recipient_id,
            "message_ids": self.message_ids,
            "opted_out_hash": self.opted_out_hash,
            "forgotten_at": now,
        }


async def _kept_of(tx: Transaction, settings: NotificationSettings, phone: str) -> _Kept:
    ids = (
        await tx.conn.scalars(
            sa.select(messages.c.message_id).where(messages.c.recipient_phone == phone)
        )
    ).all()
    found = (
        await tx.conn.execute(sa.select(recipients).where(recipients.c.phone == phone))
    ).first()
    return _Kept(
        recipient_id=None if found is None else found.recipient_id,
        message_ids=tuple(sorted(ids)),
        opted_out_hash=opted_out_hash(settings, phone) if found and found.opted_out else None,
    )


async def _erase_number(tx: Transaction, phone: str) -> None:
    personal = tx.store.personal
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
