"""Erasing a resident from the console: a coordinator of the commune (on the resident's
behalf) or an admin confirms, on a page of its own, that the resident's name, phone and
address are to be erased everywhere; the scheduler does it (`POST /help-requests/{id}/erasure`)
and the page says where it stands. Without the explicit confirmation nothing is asked."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from services.console.i18n import N_
from services.console.i18n import gettext as _
from services.console.pages.common import caller_of, console_of, page, signed_in
from services.console.pages.session import unreachable
from services.console.peers import PeerError
from services.console.views.queries import Viewer
from shared.events.console import AccountRole
from shared.phones import mask_phone
from shared.web.auth import ForbiddenError

CONFIRM = "confirm"  # the form's field: ticked, the resident is erased
_NOT_CONFIRMED = N_("Tick the box to confirm: the resident's details cannot be brought back.")


class HelpRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What the page shows of the request (the scheduler's view of it)."""

    request_id: str
    status: str
    resident_name: str
    phone: str
    commune_code: str
    channel: str = ""


def _staff(viewer: Viewer | None) -> Viewer:
    found = signed_in(viewer)
    if found.account.role is AccountRole.VOLUNTEER:
        raise ForbiddenError("only coordinators and admins erase residents")
    return found


async def _request(request: Request[Any, Any, State], viewer: Viewer, request_id: str) -> bytes:
    """The request as the scheduler shows it to this account (403 outside its scope, 404)."""
    peers = console_of(request).peers
    return await peers.send(
        caller_of(viewer), "GET", peers.scheduler(f"/help-requests/{request_id}")
    )


def _erasure_page(
    viewer: Viewer, found: HelpRequest, *, status: int = 200, error: str = "", done: bool = False
) -> Template:
    return page(
        "erasure.html",
        status=status,
        viewer=viewer,
        help_request=found,
        masked=mask_phone(found.phone) if found.phone else "",
        error=error,
        done=done,
    )


@get("/help-requests/{request_id:str}/erasure", include_in_schema=False)
async def confirm_erasure(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    request_id: FromPath[str],
) -> Template:
    found = _staff(viewer)
    try:
        shown = msgspec.json.decode(await _request(request, found, request_id), type=HelpRequest)
    except PeerError:
        return page("error.html", status=503, status_code=503, what_to_do=unreachable())
    return _erasure_page(found, shown)


@post("/help-requests/{request_id:str}/erasure", include_in_schema=False)
async def erase_resident(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    request_id: FromPath[str],
) -> Template:
    found = _staff(viewer)
    confirmed = str((await request.form()).get(CONFIRM, "")).strip() == "yes"
    peers = console_of(request).peers
    try:
        shown = msgspec.json.decode(await _request(request, found, request_id), type=HelpRequest)
        if not confirmed:
            return _erasure_page(found, shown, status=400, error=_(_NOT_CONFIRMED))
        answer = await peers.send(
            caller_of(found), "POST", peers.scheduler(f"/help-requests/{request_id}/erasure")
        )
    except PeerError:
        return page("error.html", status=503, status_code=503, what_to_do=unreachable())
    return _erasure_page(found, msgspec.json.decode(answer, type=HelpRequest), done=True)


routes: list[Any] = [confirm_erasure, erase_resident]
