"""A resident's booking: cancel it or change it, and the free places given to the waitlist
(through `placing.Placing`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from services.scheduler.domain.booking import (
    CancelBooking,
    ChangeBooking,
    decide_cancel_booking,
    decide_change_booking,
)
from services.scheduler.domain.errors import BookingNotFoundError
from services.scheduler.domain.places import require_commune_in_scope
from services.scheduler.domain.requests import RequestStatus
from services.scheduler.domain.sessions import SessionStatus
from services.scheduler.handlers.placing import Placing, undoable_placing
from services.scheduler.handlers.streams import SessionStream, load_session, new_booking_id
from services.scheduler.memory import Memory
from services.scheduler.views import queries
from shared.events.base import Cause
from shared.events.scheduler import (
    Actor,
    BookingId,
    HelpRequestId,
    ResidentBooked,
    SessionId,
)
from shared.phones import normalize_phone
from shared.store.eventstore import Transaction


async def fill_from_waitlist(
    tx: Transaction, stream: SessionStream, *, memory: Memory, now: datetime, cause: Cause
) -> None:
    """Give every free place of the session to the waitlist, first come first served."""
    session = stream.state
    if (
        session is None
        or session.status is not SessionStatus.SCHEDULED
        or session.free_places <= 0
        or session.when.starts_at <= now
    ):
        return
    waiting = await queries.waitlist(tx.conn, session.province_code, session.commune_code)
    if not waiting:
        return
    booked = await queries.booked_slots(
        tx.conn, [r.phone for r in waiting], except_session=session.session_id
    )
    await stream.lock(tx)
    version = stream.version
    events = Placing(tx, now, memory).fill(stream, waiting, booked)
    if events:
        await tx.append(stream.session_id, version, events, cause)


async def place_again(
    tx: Transaction, request_id: HelpRequestId, *, memory: Memory, now: datetime, cause: Cause
) -> None:
    """Place a waiting request in the best session that fits now, if one does (a batch of
    one); else it keeps waiting."""
    row = await queries.request_row(tx.conn, request_id)
    if row is None or row.status != RequestStatus.WAITING.value:
        return
    request = queries.request_state(row)

    async def place() -> None:
        placing = Placing(tx, now, memory)
        booked = (await queries.booked_slots(tx.conn, [request.phone])).get(request.phone, [])
        stream = await placing.best_for(request, booked)
        if stream is not None:
            version = stream.version
            events = placing.book(stream, request, booked)
            await tx.append(stream.session_id, version, events, cause)

    await undoable_placing(tx, place, filed=None)


async def _booking_stream(
    tx: Transaction,
    booking_id: str,
    *,
    phone: str | None,
    scope: Iterable[str] | None,
    memory: Memory,
) -> SessionStream:
    """The session holding a booking, if the caller may touch it: the resident proves it with
    their phone number, staff with their commune scope."""
    row = await queries.booking_row(tx.conn, booking_id)
    if row is None:
        raise BookingNotFoundError(f"no booking {booking_id}")
    stream = await load_session(tx, row.session_id, memory=memory)
    session = stream.require()
    if scope is not None:
        require_commune_in_scope(session.commune_code, scope)
    else:
        booking = session.booking(BookingId(booking_id))
        if phone is None or booking is None or booking.resident.phone != normalize_phone(phone):
            raise BookingNotFoundError(f"no booking {booking_id} for this phone number")
    return stream


async def cancel_booking(
    tx: Transaction,
    booking_id: str,
    *,
    memory: Memory,
    actor: Actor,
    reason: str,
    phone: str | None,
    scope: Iterable[str] | None,
    now: datetime,
    cause: Cause,
) -> SessionStream:
    """Give up a booking; the freed place goes to the waitlist in the same transaction."""
    stream = await _booking_stream(tx, booking_id, phone=phone, scope=scope, memory=memory)
    command = CancelBooking(
        session_id=stream.session_id,
        booking_id=BookingId(booking_id),
        cancelled_by=actor,
        reason=reason,
    )
    events = decide_cancel_booking(stream.require(), command, now=now)
    await stream.append(tx, events, cause)
    await fill_from_waitlist(tx, stream, memory=memory, now=now, cause=cause)
    return stream


async def change_booking(
    tx: Transaction,
    booking_id: str,
    *,
    new_session_id: str,
    memory: Memory,
    actor: Actor,
    phone: str | None,
    scope: Iterable[str] | None,
    now: datetime,
    cause: Cause,
) -> ResidentBooked:
    """Move a booking to another session; the old place goes to the waitlist."""
    old = await _booking_stream(tx, booking_id, phone=phone, scope=scope, memory=memory)
    new = await load_session(tx, new_session_id, memory=memory)
    old_session = old.require()
    booking = old_session.booking(BookingId(booking_id))
    assert booking is not None
    booked = await queries.booked_slots(
        tx.conn, [booking.resident.phone], except_session=old_session.session_id
    )
    change = decide_change_booking(
        old_session,
        new.require(),
        ChangeBooking(
            session_id=old.session_id,
            booking_id=BookingId(booking_id),
            new_session_id=SessionId(new_session_id),
            changed_by=actor,
        ),
        new_booking_id=new_booking_id(),
        now=now,
        booked=booked.get(booking.resident.phone, []),
    )
    await new.append(tx, change.new_session, cause)
    await old.append(tx, change.old_session, cause)
    await fill_from_waitlist(tx, old, memory=memory, now=now, cause=cause)
    return next(e for e in change.new_session if isinstance(e, ResidentBooked))
