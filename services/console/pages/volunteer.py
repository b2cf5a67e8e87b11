"""A volunteer's own home: their coming assignments to accept or decline, their usual week and
the dates that differ from it, their hours and their calendar link. Every call names the
signed-in volunteer only (never an id from the form), and the volunteers service checks the
token again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from services.console.domain.availability import (
    DAYS,
    PARTS,
    DatedExceptionError,
    UnknownBoxError,
    dated_day,
    ticked,
    week_of,
)
from services.console.i18n import N_
from services.console.pages.common import caller_of, console_of, page, signed_in
from services.console.pages.session import reason
from services.console.peers import DatedException, PeerError, PeerRefusedError
from services.console.views.queries import Viewer
from shared.clock import VIETNAM
from shared.events.console import AccountRole
from shared.web.auth import ForbiddenError
from shared.web.problems import NotFoundError

_UPCOMING = ("proposed", "accepted")
DAY_NAMES = {
    "saturday": N_("Saturday"),
    "sunday": N_("Sunday"),
    "monday": N_("Monday"),
    "tuesday": N_("Tuesday"),
    "wednesday": N_("Wednesday"),
    "thursday": N_("Thursday"),
    "friday": N_("Friday"),
}
PART_NAMES = {"morning": N_("Morning"), "afternoon": N_("Afternoon"), "evening": N_("Evening")}
STATUS_NAMES = {"proposed": N_("Waiting for your answer"), "accepted": N_("Accepted")}
# The dated-exception form as it first shows: away, for the morning and afternoon.
_NEW_EXCEPTION: dict[str, object] = {
    "on": "",
    "kind": "away",
    "half_days": ["morning", "afternoon"],
}
# What is wrong with a dated exception, by (field, reason) as the domain names it.
EXCEPTION_ERRORS = {
    ("on", "not_a_date"): N_("Choose a date."),
    ("on", "past"): N_("Choose today or a later date."),
    ("kind", "unknown"): N_("Choose whether you are away or available on that date."),
    ("half_days", "none"): N_("Tick at least one part of the day."),
    ("half_days", "unknown"): N_("Tick only the parts of day the form shows."),
}


def _volunteer(viewer: Viewer | None) -> tuple[Viewer, str]:
    found = signed_in(viewer)
    volunteer_id = found.account.volunteer_id
    if found.account.role is not AccountRole.VOLUNTEER or not volunteer_id:
        raise ForbiddenError("this page is a volunteer's own")
    return found, volunteer_id


async def _home(
    request: Request[Any, Any, State],
    viewer: Viewer,
    volunteer_id: str,
    *,
    status: int = 200,
    **context: object,
) -> Template:
    console = console_of(request)
    caller = caller_of(viewer)
    now = console.runtime.clock.now()
    try:
        profile = await console.peers.volunteer(caller, volunteer_id)
        assignments = await console.peers.assignments(caller, volunteer_id)
        hours = await console.peers.hours(caller, volunteer_id)
    except PeerError:
        return page("volunteer.html", status=503, viewer=viewer, unavailable=True)
    upcoming = sorted(
        (a for a in assignments if a.status in _UPCOMING and a.ends_at > now),
        key=lambda a: a.starts_at,
    )
    values: dict[str, object] = {
        "viewer": viewer,
        "profile": profile,
        "upcoming": upcoming,
        "hours": hours,
        "ticked": ticked(profile.availability),
        "exceptions": sorted(profile.exceptions, key=lambda e: (e.on, e.available)),
        "exception_errors": {},
        "exception_form": _NEW_EXCEPTION,
        "days": DAYS,
        "parts": PARTS,
        "day_names": DAY_NAMES,
        "part_names": PART_NAMES,
        "status_names": STATUS_NAMES,
        "reason": reason,
    }
    return page("volunteer.html", status=status, **(values | context))


@get("/me", include_in_schema=False)
async def home(
    request: Request[Any, Any, State], viewer: NamedDependency[Viewer | None]
) -> Template:
    found, volunteer_id = _volunteer(viewer)
    return await _home(request, found, volunteer_id)


async def _answer(
    request: Request[Any, Any, State], viewer: Viewer | None, assignment_id: str, *, accept: bool
) -> Template | Redirect:
    found, volunteer_id = _volunteer(viewer)
    console = console_of(request)
    try:
        await console.peers.answer_assignment(caller_of(found), assignment_id, accept=accept)
    except PeerRefusedError as problem:
        message = N_("This assignment can no longer be answered: %(detail)s")
        return await _home(
            request,
            found,
            volunteer_id,
            status=409,
            answer_error=message,
            detail=problem.detail,
        )
    except PeerError:
        return page("volunteer.html", status=503, viewer=found, unavailable=True)
    return Redirect("/me")


@post("/me/assignments/{assignment_id:str}/accept", include_in_schema=False)
async def accept(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    assignment_id: FromPath[str],
) -> Template | Redirect:
    return await _answer(request, viewer, assignment_id, accept=True)


@post("/me/assignments/{assignment_id:str}/decline", include_in_schema=False)
async def decline(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    assignment_id: FromPath[str],
) -> Template | Redirect:
    return await _answer(request, viewer, assignment_id, accept=False)


@post("/me/availability", include_in_schema=False)
async def change_availability(
    request: Request[Any, Any, State], viewer: NamedDependency[Viewer | None]
) -> Template | Redirect:
    found, volunteer_id = _volunteer(viewer)
    form = await request.form()
    try:
        week = week_of(str(box) for box in form.getall("availability", []))
    except UnknownBoxError:
        error = N_("Tick only the days and parts of day the form shows.")
        return await _home(request, found, volunteer_id, status=400, availability_error=error)
    console = console_of(request)
    try:
        # The dated exceptions are not sent: the service keeps them as they are.
        await console.peers.change_availability(caller_of(found), volunteer_id, week)
    except PeerRefusedError as problem:
        error = N_("The week was not saved: %(detail)s")
        return await _home(
            request,
            found,
            volunteer_id,
            status=400,
            availability_error=error,
            detail=problem.detail,
        )
    except PeerError:
        return page("volunteer.html", status=503, viewer=found, unavailable=True)
    return Redirect("/me")


async def _restate_exceptions(
    request: Request[Any, Any, State],
    viewer: Viewer,
    volunteer_id: str,
    change: Callable[[list[DatedException]], list[DatedException]],
) -> Template | Redirect:
    """Read the stated exceptions, change them, and send the whole list with the usual week
    as it stands (the service takes both together)."""
    console = console_of(request)
    caller = caller_of(viewer)
    try:
        profile = await console.peers.volunteer(caller, volunteer_id)
        wanted = change(list(profile.exceptions))
        if wanted != profile.exceptions:
            await console.peers.change_availability(
                caller, volunteer_id, profile.availability, wanted
            )
    except PeerRefusedError as problem:
        if problem.field != "exceptions":
            raise
        errors = {
            "on": N_(
                "That date already says the opposite for one of these parts of the day: "
                "remove it first."
            )
        }
        return await _home(request, viewer, volunteer_id, status=400, exception_errors=errors)
    except PeerError:
        return page("volunteer.html", status=503, viewer=viewer, unavailable=True)
    return Redirect("/me")


@post("/me/exceptions", include_in_schema=False)
async def add_exception(
    request: Request[Any, Any, State], viewer: NamedDependency[Viewer | None]
) -> Template | Redirect:
    """Away on a date, or available on it: added to the ones stated (the same one again
    changes nothing)."""
    found, volunteer_id = _volunteer(viewer)
    form = await request.form()
    today = console_of(request).runtime.clock.now().astimezone(VIETNAM).date()
    on, kind = str(form.get("on", "")), str(form.get("kind", ""))
    parts = [str(part) for part in form.getall("half_days", [])]
    written = {"on": on, "kind": kind, "half_days": parts}
    try:
        stated = dated_day(on, kind, parts, today)
    except DatedExceptionError as wrong:
        errors = {wrong.field: EXCEPTION_ERRORS[wrong.field, wrong.reason]}
        return await _home(
            request,
            found,
            volunteer_id,
            status=400,
            exception_errors=errors,
            exception_form=written,  # shown back as written, for the fix
        )
    new = DatedException(on=stated.on, available=stated.available, half_days=list(stated.half_days))
    return await _restate_exceptions(
        request, found, volunteer_id, lambda had: had if new in had else [*had, new]
    )


@post("/me/exceptions/remove", include_in_schema=False)
async def remove_exception(
    request: Request[Any, Any, State], viewer: NamedDependency[Viewer | None]
) -> Template | Redirect:
    """The form names the exception by what it says (date, away or free, parts of the day),
    so a list changed meanwhile loses only that one; one already gone changes nothing."""
    found, volunteer_id = _volunteer(viewer)
    form = await request.form()
    on = str(form.get("on", ""))
    available = str(form.get("kind", "")) == "free"
    parts = [str(part) for part in form.getall("half_days", [])]
    return await _restate_exceptions(
        request,
        found,
        volunteer_id,
        lambda had: [
            e for e in had if (e.on.isoformat(), e.available, e.half_days) != (on, available, parts)
        ],
    )


@post("/me/calendar-link", include_in_schema=False)
async def issue_calendar_link(
    request: Request[Any, Any, State], viewer: NamedDependency[Viewer | None]
) -> Template:
    found, volunteer_id = _volunteer(viewer)
    console = console_of(request)
    try:
        url = await console.peers.issue_calendar_link(caller_of(found), volunteer_id)
    except PeerError:
        return page("volunteer.html", status=503, viewer=found, unavailable=True)
    answer = await _home(request, found, volunteer_id, calendar_url=url)
    # The URL is a secret shown this once: no cache may keep the page.
    answer.headers["Cache-Control"] = "no-store"
    return answer


@post("/me/calendar-link/revoke", include_in_schema=False)
async def revoke_calendar_link(
    request: Request[Any, Any, State], viewer: NamedDependency[Viewer | None]
) -> Template:
    found, volunteer_id = _volunteer(viewer)
    console = console_of(request)
    try:
        await console.peers.revoke_calendar_link(caller_of(found), volunteer_id)
    except NotFoundError:
        return await _home(request, found, volunteer_id, calendar_note=N_("You had no link."))
    except PeerError:
        return page("volunteer.html", status=503, viewer=found, unavailable=True)
    note = N_("The link is revoked: calendars using it no longer update.")
    return await _home(request, found, volunteer_id, calendar_note=note)


routes: list[Any] = [
    home,
    accept,
    decline,
    change_availability,
    add_exception,
    remove_exception,
    issue_calendar_link,
    revoke_calendar_link,
]
