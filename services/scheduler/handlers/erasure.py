"""Forget a resident: cancel what is still ahead of them, ask the other services to forget
them (`resident.erasure_requested`, their key still opens the phone), then destroy their key
(`resident.erased`) when the notifications service says it is done, or at the latest when the
erasure timer fires, so a service that never answers cannot keep a resident from being
forgotten. A resident who asks by SMS has every request of their number erased so."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

from services.scheduler.domain.erasure import decide_erase, decide_request_erasure
from services.scheduler.domain.errors import HelpRequestNotFoundError
from services.scheduler.domain.places import require_commune_in_scope
from services.scheduler.domain.requests import RequestStatus
from services.scheduler.handlers.bookings import cancel_booking
from services.scheduler.memory import Memory
from services.scheduler.tables import timers
from services.scheduler.views import queries
from shared.events.base import Cause, RecordedEvent
from shared.events.notifications import ResidentErasureConfirmed
from shared.events.scheduler import Actor, ErasureBySmsStarted
from shared.ids import derived_id
from shared.store.eventstore import Transaction
from shared.store.timers import cancel_timer, set_timer

ERASURE_DUE = "resident_erasure"
# How long the other services have to forget a resident before the key goes anyway.
ERASE_AT_THE_LATEST = timedelta(minutes=10)


def erasure_timer_id(request_id: str) -> str:
    return f"erasure:{request_id}"


async def request_erasure(
    tx: Transaction,
    request_id: str,
    *,
    by: Actor,
    scope: Iterable[str],
    memory: Memory,
    now: datetime,
    cause: Cause,
    confirmation_id: UUID | None = None,
) -> None:
    """Start forgetting the resident of `request_id`; asked again, nothing more happens."""
    row = await queries.request_row(tx.conn, request_id)
    if row is None:
        raise HelpRequestNotFoundError(f"no help request {request_id}")
    require_commune_in_scope(row.commune_code, scope)
    if row.status == RequestStatus.BOOKED.value and row.booking_id:
        session = await queries.session_row(tx.conn, row.session_id)
        if session is not None and session.status == "scheduled" and session.starts_at > now:
            await cancel_booking(
                tx,
                row.booking_id,
                memory=memory,
                actor=by,
                reason="",
                phone=None,
                scope=scope,
                now=now,
                cause=cause,
            )
            row = await queries.request_row(tx.conn, request_id)
            assert row is not None
    events = decide_request_erasure(
        queries.request_state(row), by=by, now=now, confirmation_id=confirmation_id
    )
    if not events:
        return
    await tx.append(request_id, await tx.version_of(request_id), events, cause)
    await set_timer(
        tx,
        timers,
        erasure_timer_id(request_id),
        ERASURE_DUE,
        now + ERASE_AT_THE_LATEST,
        {"request_id": request_id},
    )


def erasure_by_sms_stream(confirmation_id: UUID) -> str:
    return f"erasure-by-sms-{derived_id('erasure-by-sms', str(confirmation_id))}"


async def erase_by_sms(
    tx: Transaction,
    confirmed: RecordedEvent,
    *,
    memory: Memory,
    now: datetime,
    cause: Cause,
) -> None:
    """A resident confirmed by SMS (`resident.erasure_confirmed`): erase every help request of
    their number, as asked by them, and say which (maybe none); heard again, nothing more."""
    event = confirmed.event
    assert isinstance(event, ResidentErasureConfirmed)
    confirmation_id = confirmed.event_id
    stream_id = erasure_by_sms_stream(confirmation_id)
    if await tx.version_of(stream_id) > 0:
        return
    # an empty phone is a number already erased (its key is gone): it names nobody
    found = await queries.requests_of_phone(tx.conn, event.phone) if event.phone else []
    for request_id, commune_code in found:
        await request_erasure(
            tx,
            request_id,
            by=Actor.RESIDENT,
            scope=(commune_code,),
            memory=memory,
            now=now,
            cause=cause,
            confirmation_id=confirmation_id,
        )
    started = ErasureBySmsStarted(
        confirmation_id=confirmation_id,
        erasure_stream=confirmed.stream_id,
        request_ids=tuple(request_id for request_id, _ in found),
        started_at=now,
    )
    await tx.append(stream_id, 0, [started], cause)


async def finish_erasure(tx: Transaction, request_id: str, *, now: datetime, cause: Cause) -> None:
    """Destroy the resident's key and say so; done already, nothing happens."""
    row = await queries.request_row(tx.conn, request_id)
    if row is None:
        return
    events = decide_erase(queries.request_state(row), now=now)
    personal = tx.store.personal
    assert personal is not None  # the scheduler owns its residents' keys
    if events:
        await tx.append(request_id, await tx.version_of(request_id), events, cause)
    await personal.erase(tx.conn, request_id)
    await cancel_timer(tx, timers, erasure_timer_id(request_id))
