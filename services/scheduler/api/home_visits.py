"""Routes of home visits: the help given at a resident's home."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from services.scheduler.api.access import BEARER, coordinator_scope, read_scope, scope_of
from services.scheduler.api.bodies import (
    HomeVisitCancel,
    HomeVisitComplete,
    HomeVisitSchedule,
)
from services.scheduler.domain.places import find_commune
from services.scheduler.domain.visits import CancelHomeVisit, CompleteHomeVisit, ScheduleHomeVisit
from services.scheduler.handlers import streams, visits
from services.scheduler.views import mappers, queries
from shared.events.base import Cause
from shared.events.scheduler import (
    CoordinatorId,
    VisitId,
)
from shared.store.eventstore import EventStore, Transaction
from shared.web.auth import Caller, Role
from shared.web.problems import NotFoundError


async def _visit_change(
    store: NamedDependency[EventStore],
    visit_id: FromPath[str],
    run: Callable[[Transaction], Awaitable[streams.VisitStream]],
) -> mappers.HomeVisitView:
    async with store.transaction() as tx:
        if await queries.visit_row(tx.conn, visit_id) is None:
            raise NotFoundError(f"no home visit {visit_id}")
        await run(tx)
        row = await queries.visit_row(tx.conn, visit_id)
    assert row is not None
    return mappers.visit_view(row)


@get(
    "/home-visits/{visit_id:str}",
    summary="One home visit",
    tags=["home visits"],
    security=BEARER,
)
async def get_home_visit(
    visit_id: FromPath[str], caller: NamedDependency[Caller], store: NamedDependency[EventStore]
) -> mappers.HomeVisitView:
    async with store.reader.connect() as conn:
        row = await queries.visit_row(conn, visit_id)
    if row is None:
        raise NotFoundError(f"no home visit {visit_id}")
    found = find_commune(row.commune_code)
    read_scope(caller, row.commune_code, found.province_code if found else "")
    return mappers.visit_view(row)


@post(
    "/home-visits/{visit_id:str}/schedule",
    summary="Give a home visit a time agreed with the resident (any day); staffed like a session",
    tags=["home visits"],
    security=BEARER,
    status_code=200,
)
async def schedule_home_visit(
    visit_id: FromPath[str],
    data: JSONBody[HomeVisitSchedule],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
) -> mappers.HomeVisitView:
    scope = coordinator_scope(caller)
    command = ScheduleHomeVisit(
        visit_id=VisitId(visit_id),
        local_date=data.local_date,
        start_local=data.start_local.plain(),
        end_local=data.end_local.plain(),
        coordinator_id=CoordinatorId(caller.sub),
    )
    return await _visit_change(
        store,
        visit_id,
        lambda tx: visits.schedule_home_visit(
            tx, command, scope=scope, now=store.clock.now(), cause=cause
        ),
    )


@post(
    "/home-visits/{visit_id:str}/cancel",
    summary="Cancel a home visit with a reason",
    tags=["home visits"],
    security=BEARER,
    status_code=200,
)
async def cancel_home_visit(
    visit_id: FromPath[str],
    data: JSONBody[HomeVisitCancel],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
) -> mappers.HomeVisitView:
    scope = coordinator_scope(caller)
    command = CancelHomeVisit(visit_id=VisitId(visit_id), reason=data.reason)
    return await _visit_change(
        store,
        visit_id,
        lambda tx: visits.cancel_home_visit(
            tx, command, scope=scope, now=store.clock.now(), cause=cause
        ),
    )


@post(
    "/home-visits/{visit_id:str}/complete",
    summary="Close a home visit that took place, with what got done",
    tags=["home visits"],
    security=BEARER,
    status_code=200,
)
async def complete_home_visit(
    visit_id: FromPath[str],
    data: JSONBody[HomeVisitComplete],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    cause: NamedDependency[Cause],
) -> mappers.HomeVisitView:
    caller.require(Role.COORDINATOR, Role.VOLUNTEER)
    command = CompleteHomeVisit(visit_id=VisitId(visit_id), outcomes=data.outcomes)
    return await _visit_change(
        store,
        visit_id,
        lambda tx: visits.complete_home_visit(
            tx, command, scope=scope_of(caller), now=store.clock.now(), cause=cause
        ),
    )
