"""Forget a volunteer: release what is still ahead of them, ask the notifications service to
forget their number (`volunteer.erasure_requested`, their key still opens it), then destroy
their key (`volunteer.erased`) when notifications says it is done (`volunteer.forgotten`), or
at the latest when the erasure timer fires, so a service that never answers cannot keep a
volunteer from being forgotten."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.volunteers.domain.erasure import decide_erase, decide_request_erasure
from services.volunteers.domain.registry import volunteer_stream
from services.volunteers.handlers import load_volunteer, release_future_assignments
from services.volunteers.planning import StaffingOptions
from services.volunteers.tables import timers
from shared.events.base import Cause
from shared.events.volunteers import ErasureAskedBy, VolunteerId
from shared.store.eventstore import Transaction
from shared.store.timers import cancel_timer, set_timer

VOLUNTEER_ERASURE_DUE = "volunteer_erasure"
# How long the notifications service has to forget a volunteer before the key goes anyway.
ERASE_AT_THE_LATEST = timedelta(minutes=10)


def erasure_timer_id(volunteer_id: str) -> str:
    return f"erasure:{volunteer_id}"


async def request_erasure(
    tx: Transaction,
    volunteer_id: VolunteerId,
    *,
    by: ErasureAskedBy,
    options: StaffingOptions,
    now: datetime,
    cause: Cause,
) -> None:
    """Start forgetting the volunteer; asked again, nothing more happens."""
    state, version = await load_volunteer(tx, volunteer_id)
    events = decide_request_erasure(state, by=by, now=now)
    if not events:
        return
    await tx.append(volunteer_stream(volunteer_id), version, events, cause)
    await release_future_assignments(tx, volunteer_id, options=options, now=now, cause=cause)
    await set_timer(
        tx,
        timers,
        erasure_timer_id(volunteer_id),
        VOLUNTEER_ERASURE_DUE,
        now + ERASE_AT_THE_LATEST,
        {"volunteer_id": volunteer_id},
    )


async def finish_erasure(
    tx: Transaction, volunteer_id: VolunteerId, *, now: datetime, cause: Cause
) -> None:
    """Destroy the volunteer's key and say so; done already, or never asked, nothing happens."""
    state, version = await load_volunteer(tx, volunteer_id)
    if not state.registered or not state.erasure:
        return
    events = decide_erase(state, now=now)
    if events:
        await tx.append(volunteer_stream(volunteer_id), version, events, cause)
    personal = tx.store.personal
    assert personal is not None  # the volunteers service owns its volunteers' keys
    await personal.erase(tx.conn, volunteer_id)
    await cancel_timer(tx, timers, erasure_timer_id(volunteer_id))
