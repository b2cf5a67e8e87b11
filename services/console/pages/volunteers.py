"""Volunteers, for coordinators: a commune's groups and members, a roster imported from CSV
with its row-by-row report, pause and resume, and hours by volunteer, group and commune; all
from the volunteers service's public API, for communes in the account's scope only."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from services.console.domain.communes import commune, communes_in, covers
from services.console.i18n import N_
from services.console.pages.common import caller_of, console_of, page, signed_in
from services.console.pages.roster_reasons import roster_line_reasons
from services.console.peers import PeerError, PeerRefusedError
from services.console.views.queries import Viewer
from shared.events.console import AccountRole
from shared.web.auth import ForbiddenError

MAX_ROSTER_BYTES = 2 * 1024 * 1024  # the volunteers service's own limit


def _coordinator(viewer: Viewer | None) -> Viewer:
    found = signed_in(viewer)
    if found.account.role is AccountRole.VOLUNTEER:
        raise ForbiddenError("volunteers have their own page")
    return found


def _check_scope(viewer: Viewer, commune_code: str) -> None:
    """Refused here already, before the volunteers service checks the token's scope too."""
    account = viewer.account
    scoped = not (account.role is AccountRole.ADMIN and not account.scope)
    if scoped and not covers(account.scope, commune_code):
        raise ForbiddenError(f"commune {commune_code} is outside this account's scope")


def hours_of(minutes: int) -> float:
    return round(minutes / 60, 1)


async def _page(
    request: Request[Any, Any, State],
    viewer: Viewer,
    commune_code: str | None,
    *,
    status: int = 200,
    **extra: object,
) -> Template:
    own = communes_in(viewer.account.scope)
    chosen = (commune_code or (own[0].code if own else "")).strip()
    context: dict[str, Any] = {
        "viewer": viewer,
        "communes": own,
        "commune_code": chosen,
        "commune_name": None,
        "groups": [],
        "error": None,
    } | extra
    if not chosen:
        return page("volunteers.html", status=status, **context)
    place = commune(chosen)
    if place is None:
        context["error"] = N_("There is no commune or ward with this code.")
        return page("volunteers.html", status=400, **context)
    _check_scope(viewer, chosen)
    context["commune_name"] = place.name
    console = console_of(request)
    caller = caller_of(viewer)
    try:
        groups = await console.peers.groups(caller, chosen)
        members = await console.peers.members(caller, chosen)
        hours = await console.peers.commune_hours(caller, chosen)
    except PeerError:
        context["error"] = N_("The volunteers service is not answering. Try again in a minute.")
        return page("volunteers.html", status=503, **context)
    context["groups"] = [
        {
            "group": group,
            "hours": hours_of(hours.by_group.get(group.group_id, 0)),
            "members": [
                {"volunteer": v, "hours": hours_of(hours.by_volunteer.get(v.volunteer_id, 0))}
                for v in sorted(members, key=lambda v: v.name)
                if v.group_id == group.group_id
            ],
        }
        for group in groups
    ]
    context["commune_hours"] = hours_of(hours.total_minutes)
    return page("volunteers.html", status=status, **context)


@get("/volunteers", include_in_schema=False)
async def volunteers(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    commune_code: Annotated[str | None, QueryParameter(name="commune")] = None,
) -> Template:
    return await _page(request, _coordinator(viewer), commune_code)


async def _pause(
    request: Request[Any, Any, State], viewer: Viewer | None, volunteer_id: str, *, paused: bool
) -> Redirect:
    found = _coordinator(viewer)
    console = console_of(request)
    caller = caller_of(found)
    volunteer = await console.peers.volunteer(caller, volunteer_id)
    _check_scope(found, volunteer.commune_code)
    await console.peers.pause(caller, volunteer_id, paused=paused)
    return Redirect(f"/volunteers?commune={volunteer.commune_code}")


@post("/volunteers/{volunteer_id:str}/pause", include_in_schema=False)
async def pause(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    volunteer_id: FromPath[str],
) -> Redirect:
    return await _pause(request, viewer, volunteer_id, paused=True)


@post("/volunteers/{volunteer_id:str}/resume", include_in_schema=False)
async def resume(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    volunteer_id: FromPath[str],
) -> Redirect:
    return await _pause(request, viewer, volunteer_id, paused=False)


@post("/groups/{group_id:str}/roster", include_in_schema=False)
async def import_roster(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    group_id: FromPath[str],
) -> Template:
    found = _coordinator(viewer)
    console = console_of(request)
    caller = caller_of(found)
    group = await console.peers.group(caller, group_id)
    _check_scope(found, group.commune_code)
    form = await request.form()
    upload = form.get("roster")
    roster = await upload.read(MAX_ROSTER_BYTES + 1) if isinstance(upload, UploadFile) else b""
    if not roster.strip():
        error = N_("Choose a CSV file with one volunteer per line.")
        return await _page(
            request,
            found,
            group.commune_code,
            status=400,
            roster_error=error,
            roster_group=group_id,
        )
    if len(roster) > MAX_ROSTER_BYTES:
        error = N_("The file is larger than 2 MB.")
        return await _page(
            request,
            found,
            group.commune_code,
            status=400,
            roster_error=error,
            roster_group=group_id,
        )
    try:
        imported = await console.peers.import_roster(caller, group_id, roster)
    except PeerRefusedError as problem:
        return await _page(
            request,
            found,
            group.commune_code,
            status=400,
            roster_error=N_("Nothing was imported: correct these lines and import the file again."),
            roster_group=group_id,
            roster_rows=tuple((line, roster_line_reasons(why)) for line, why in problem.errors)
            or (("", problem.detail),),
        )
    return await _page(
        request, found, group.commune_code, roster_group=group_id, roster_imported=imported
    )


routes: list[Any] = [volunteers, pause, resume, import_roster]
