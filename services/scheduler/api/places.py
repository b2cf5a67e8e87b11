"""Routes of places: the official communes and wards, and the villages imported into them."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import FromPath

from services.scheduler.api.access import BEARER
from services.scheduler.api.answers import once, rejected
from services.scheduler.api.bodies import (
    CommuneSummary,
    CommuneView,
    PlacesImportView,
    PlaceView,
)
from services.scheduler.domain.places import RejectedRow, communes_of, find_commune, find_province
from services.scheduler.handlers import places
from services.scheduler.memory import Memory
from services.scheduler.views import queries
from shared.events.base import Cause
from shared.store.eventstore import EventStore, Transaction
from shared.web.auth import Caller
from shared.web.openapi import csv_body
from shared.web.problems import InvalidInputError, NotFoundError


def _rejected_rows(rows: tuple[RejectedRow, ...]) -> InvalidInputError:
    return rejected([(f"line {r.line}", "; ".join(r.reasons)) for r in rows])


@post(
    "/places/import",
    summary="Import villages and hamlets from CSV (admin), all or nothing",
    description="A body of `code,name,kind,parent` rows. Any bad row rejects the whole file "
    "with a 400 listing every bad line; nothing is imported then.",
    tags=["places"],
    security=BEARER,
    operation_class=csv_body(
        "A UTF-8 CSV file whose header is `code,name,kind,parent`; one row per place. `kind` "
        "is village, hamlet or residential_group; `parent` is the five-digit code of the "
        "commune or ward it belongs to."
    ),
)
async def import_places(
    request: Request[Any, Any, Any],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    memory: NamedDependency[Memory],
    cause: NamedDependency[Cause],
    idempotency_key: NamedDependency[str | None],
) -> Response[PlacesImportView]:
    caller.require()  # admins only
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationException(extra=[{"key": "body", "message": "not UTF-8 text"}]) from None

    async def work(tx: Transaction) -> PlacesImportView:
        report = await places.import_places(
            tx, text, imported_by=caller.sub, memory=memory, now=store.clock.now(), cause=cause
        )
        if report.rejected:
            raise _rejected_rows(report.rejected)
        if not report.imported:
            raise rejected([("body", "the CSV has no rows")])
        return PlacesImportView(imported=report.imported, communes=list(report.communes))

    answer = await once(store, idempotency_key, "places-import", request, PlacesImportView, work)
    memory.villages.after_commit()  # a transaction that read villages meanwhile kept them
    return answer


@get(
    "/provinces/{code:str}/communes",
    summary="A province's communes and wards (official list), with their village counts",
    tags=["places"],
)
async def province_communes(
    code: FromPath[str], store: NamedDependency[EventStore]
) -> list[CommuneSummary]:
    province = find_province(code)
    if province is None:
        raise NotFoundError(f"no province {code}")
    async with store.reader.connect() as conn:
        counts = await queries.village_counts(conn, province.code)
    return [
        CommuneSummary(
            code=c.code,
            name=c.name,
            kind=c.kind,
            province_code=c.province_code,
            villages=counts.get(c.code, 0),
        )
        for c in communes_of(province.code)
    ]


@get(
    "/communes/{code:str}",
    summary="A commune or ward with its imported villages and hamlets",
    tags=["places"],
)
async def commune(code: FromPath[str], store: NamedDependency[EventStore]) -> CommuneView:
    found = find_commune(code)
    if found is None:
        raise NotFoundError(f"no commune or ward {code}")
    province = find_province(found.province_code)
    async with store.reader.connect() as conn:
        villages = await queries.villages_of(conn, found.code)
    return CommuneView(
        code=found.code,
        name=found.name,
        kind=found.kind,
        province_code=found.province_code,
        province_name=province.name if province else "",
        villages=[
            PlaceView(code=p.code, name=p.name, kind=p.kind.value) for p in villages.values()
        ],
    )
