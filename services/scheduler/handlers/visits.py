"""Home visits: schedule, cancel, complete."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from services.scheduler.domain.places import require_commune_in_scope
from services.scheduler.domain.visits import (
    CancelHomeVisit,
    CompleteHomeVisit,
    ScheduleHomeVisit,
    decide_cancel_home_visit,
    decide_complete_home_visit,
    decide_schedule_home_visit,
)
from services.scheduler.handlers.streams import VisitStream, load_visit
from shared.events.base import Cause
from shared.store.eventstore import Transaction


async def schedule_home_visit(
    tx: Transaction,
    command: ScheduleHomeVisit,
    *,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> VisitStream:
    stream = await load_visit(tx, command.visit_id)
    require_commune_in_scope(stream.require().commune_code, scope)
    await stream.append(tx, decide_schedule_home_visit(stream.require(), command, now=now), cause)
    return stream


async def cancel_home_visit(
    tx: Transaction,
    command: CancelHomeVisit,
    *,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> VisitStream:
    stream = await load_visit(tx, command.visit_id)
    require_commune_in_scope(stream.require().commune_code, scope)
    await stream.append(tx, decide_cancel_home_visit(stream.require(), command, now=now), cause)
    return stream


async def complete_home_visit(
    tx: Transaction,
    command: CompleteHomeVisit,
    *,
    scope: Iterable[str],
    now: datetime,
    cause: Cause,
) -> VisitStream:
    stream = await load_visit(tx, command.visit_id)
    require_commune_in_scope(stream.require().commune_code, scope)
    await stream.append(tx, decide_complete_home_visit(stream.require(), command, now=now), cause)
    return stream
