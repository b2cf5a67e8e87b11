"""Routes of reports: a commune's sessions, residents served and outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromPath, QueryParameter

from services.scheduler.api.access import BEARER, read_scope
from services.scheduler.api.answers import rejected
from services.scheduler.domain.places import find_commune
from services.scheduler.domain.reports import CommuneReport, commune_report, report_csv
from services.scheduler.views import queries
from shared.events.scheduler import (
    CommuneCode,
)
from shared.store.eventstore import EventStore
from shared.web.auth import Caller
from shared.web.problems import NotFoundError

# Excel opens a CSV as the machine's code page unless the file starts with a UTF-8 byte-order
# mark: without it "Thiệu Trung" and the topics' Vietnamese come out garbled.
UTF8_BOM = "\ufeff"


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


@dataclass
class ReportOperation(Operation):
    """OpenAPI: the report answers JSON, or CSV when asked for."""

    def __post_init__(self) -> None:
        answer = (self.responses or {}).get("200")
        if isinstance(answer, OpenAPIResponse) and answer.content is not None:
            answer.content["text/csv"] = OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.STRING,
                    description="UTF-8 with a byte-order mark; a metric,value header row, then "
                    "one figure a row",
                )
            )


@get(
    "/communes/{code:str}/report",
    summary="A commune's report for a date range, as JSON or CSV",
    description="Sessions held, residents served by topic and by group (elderly, disabled, "
    "minority), no-show rate, online applications submitted. CSV with `Accept: text/csv` or "
    "`?format=csv`.",
    tags=["reports"],
    security=BEARER,
    responses={
        200: ResponseSpec(
            data_container=CommuneReport,
            description="The report (JSON), or metric,value CSV",
        )
    },
    operation_class=ReportOperation,
)
async def commune_report_view(
    code: FromPath[str],
    request: Request[Any, Any, Any],
    caller: NamedDependency[Caller],
    store: NamedDependency[EventStore],
    from_date: Annotated[date, QueryParameter(name="from")],
    to_date: Annotated[date, QueryParameter(name="to")],
    report_format: Annotated[ReportFormat | None, QueryParameter(name="format")] = None,
) -> Response[Any]:
    found = find_commune(code)
    if found is None:
        raise NotFoundError(f"no commune or ward {code}")
    read_scope(caller, found.code, found.province_code)
    if to_date < from_date:
        raise rejected([("to", "the end date is before the start date")])
    async with store.reader.connect() as conn:
        sessions, attendances = await queries.report_rows(conn, found.code, from_date, to_date)
    report = commune_report(CommuneCode(found.code), from_date, to_date, sessions, attendances)
    wants_csv = report_format is ReportFormat.CSV or "text/csv" in request.headers.get("accept", "")
    if wants_csv:
        return Response(
            (UTF8_BOM + report_csv(report)).encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="report-{found.code}-'
                f'{from_date}-{to_date}.csv"'
            },
        )
    return Response(report)
