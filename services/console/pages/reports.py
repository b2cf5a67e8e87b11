"""Reports: a commune's report for a date range from the scheduler (residents served by topic
and by group, outcomes, no-show rate), drawn as inline SVG bar charts with the numbers also
in tables, and its CSV handed through as the scheduler writes it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, ServiceUnavailableException
from litestar.params import QueryParameter
from litestar.response import Template

from services.console.domain.charts import bar_chart
from services.console.domain.communes import commune, communes_in, covers
from services.console.i18n import N_
from services.console.i18n import gettext as _
from services.console.pages.common import caller_of, console_of, page, signed_in
from services.console.pages.schedule import TOPICS
from services.console.peers import PeerError, PeerRefusedError
from services.console.views.queries import Viewer
from shared.clock import VIETNAM
from shared.events.console import AccountRole
from shared.web.auth import ForbiddenError

OUTCOMES = (
    ("vneid_activated", N_("VNeID activated")),
    ("application_submitted", N_("Online application submitted")),
    ("payment_set_up", N_("Cashless payment set up")),
    ("app_installed", N_("App installed")),
    ("smartphone_skills", N_("Smartphone skills learnt")),
    ("other", N_("Other")),
)
GROUPS = (
    ("elderly", N_("Elderly")),
    ("disabled", N_("With a disability")),
    ("minority", N_("Ethnic minority")),
)


class _TopicCount(msgspec.Struct, frozen=True):
    topic: str
    residents: int


class _OutcomeCount(msgspec.Struct, frozen=True):
    outcome: str
    count: int


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """The scheduler's commune report, as the page reads it."""

    sessions_held: int
    sessions_cancelled: int
    residents_served: int
    attendances: int
    no_shows: int
    no_show_rate: float
    online_applications_submitted: int
    by_topic: list[_TopicCount]
    by_group: dict[str, int]
    outcomes: list[_OutcomeCount]


def _day(value: str | None) -> date | None:
    try:
        return None if value is None else date.fromisoformat(value)
    except ValueError:
        return None


def _charts(report: Report) -> list[Any]:
    topics = {t.topic: t.residents for t in report.by_topic}
    outcomes = {o.outcome: o.count for o in report.outcomes}
    return [
        bar_chart(_("Residents served by topic"), [(_(n), topics.get(k, 0)) for k, n in TOPICS]),
        bar_chart(
            _("Residents served by group"), [(_(n), report.by_group.get(k, 0)) for k, n in GROUPS]
        ),
        bar_chart(_("Outcomes"), [(_(n), outcomes.get(k, 0)) for k, n in OUTCOMES]),
    ]


def _reader(viewer: Viewer | None) -> Viewer:
    found = signed_in(viewer)
    if found.account.role is AccountRole.VOLUNTEER:
        raise ForbiddenError("volunteers do not read commune reports")
    return found


def _checked_commune(viewer: Viewer, code: str) -> None:
    account = viewer.account
    everything = account.role is AccountRole.ADMIN and not account.scope
    if commune(code) is not None and not everything and not covers(account.scope, code):
        raise ForbiddenError(f"commune {code} is outside this account's scope")


def _window(
    today: date, first: str | None, last: str | None
) -> tuple[date | None, date | None, dict[str, str]]:
    """The dates asked for (the last 30 days when none), and what is wrong with them."""
    errors: dict[str, str] = {}
    start = today - timedelta(days=30) if first is None else _day(first)
    end = today if last is None else _day(last)
    if start is None:
        errors["from"] = N_("Choose a date, e.g. 05/12/2026.")
    if end is None:
        errors["to"] = N_("Choose a date, e.g. 05/12/2026.")
    elif start is not None and end < start:
        errors["to"] = N_("The last day comes before the first.")
    return start, end, errors


@get("/reports", include_in_schema=False)
async def report_page(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    commune_code: Annotated[str | None, QueryParameter(name="commune")] = None,
    first: Annotated[str | None, QueryParameter(name="from")] = None,
    last: Annotated[str | None, QueryParameter(name="to")] = None,
) -> Template:
    found = _reader(viewer)
    own = communes_in(found.account.scope)
    chosen = (commune_code or (own[0].code if own else "")).strip()
    console = console_of(request)
    today = console.runtime.clock.now().astimezone(VIETNAM).date()
    start, end, errors = _window(today, first, last)
    place = commune(chosen) if chosen else None
    if chosen and place is None:
        errors["commune"] = N_("There is no commune or ward with this code.")
    _checked_commune(found, chosen)
    context: dict[str, Any] = {
        "viewer": found,
        "communes": own,
        "commune_code": chosen,
        "commune_name": place.name if place else None,
        "first": first if first is not None else (start.isoformat() if start else ""),
        "last": last if last is not None else (end.isoformat() if end else ""),
        "start": start,
        "end": end,
        "report": None,
        "charts": [],
    }
    if errors or place is None or start is None or end is None:
        return _report_page(context, errors, 400 if errors else 200)
    try:
        answer = await console.peers.send(
            caller_of(found),
            "GET",
            console.peers.scheduler(
                f"/communes/{chosen}/report?from={start.isoformat()}&to={end.isoformat()}"
            ),
        )
    except PeerRefusedError:
        message = N_("The report could not be made for these dates.")
        return _report_page(context, {"form": message}, 400)
    except PeerError:
        message = N_("The schedule is not answering just now. Try again in a minute.")
        return _report_page(context, {"form": message}, 503)
    report = msgspec.json.decode(answer, type=Report)
    context |= {"report": report, "charts": _charts(report)}
    return _report_page(context, {}, 200)


def _report_page(context: dict[str, Any], errors: dict[str, str], status: int) -> Template:
    shown = {name: _(message) for name, message in errors.items()}
    return page("reports.html", status=status, errors=shown, **context)


@get("/reports/csv", include_in_schema=False)
async def report_csv(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    commune_code: Annotated[str, QueryParameter(name="commune")],
    first: Annotated[date, QueryParameter(name="from")],
    last: Annotated[date, QueryParameter(name="to")],
) -> Response[bytes]:
    """The scheduler's CSV as it wrote it (byte-order mark and file name included)."""
    found = _reader(viewer)
    if commune(commune_code) is None:
        raise ForbiddenError(f"no commune {commune_code}")
    _checked_commune(found, commune_code)
    console = console_of(request)
    try:
        answer = await console.peers.send(
            caller_of(found),
            "GET",
            console.peers.scheduler(
                f"/communes/{commune_code}/report?from={first}&to={last}&format=csv"
            ),
        )
    except PeerRefusedError:
        raise ClientException("the scheduler refused these dates") from None
    except PeerError:
        raise ServiceUnavailableException("the scheduler is not answering") from None
    name = f"report-{commune_code}-{first}-{last}.csv"
    return Response(
        answer,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


routes: list[Any] = [report_page, report_csv]
