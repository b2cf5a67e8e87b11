"""A person's own copy (issue 16, subject access), as a JSON download: a coordinator of the
commune (on a resident's behalf, having checked who they are) or an admin from the help
request (`/help-requests/{id}/copy`), a signed-in volunteer their own (`/me/copy`: they
signed in with a code sent to their phone, their verified channel). The console asks the
three services with a service token, merges their sections (services/console/domain/copies.py)
and records `subject_access.given`; a service that does not answer is named in `incomplete`."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from services.console.domain.copies import (
    CopyOwner,
    assemble,
    copy_given,
    copy_stream,
    reminder_targets,
)
from services.console.pages.common import (
    caller_of,
    console_of,
    page,
    require_admin,
    signed_in,
)
from services.console.pages.session import unreachable
from services.console.peers import PeerError
from services.console.views import queries
from services.console.views.queries import Viewer
from shared.events.base import Cause
from shared.events.console import AccountRole, CopyPerson
from shared.ids import uuid7
from shared.web.auth import ForbiddenError


class _Resident(msgspec.Struct, frozen=True, kw_only=True):
    """What the copy needs of a help request, as the scheduler shows it to the account."""

    request_id: str
    phone: str = ""


async def _give(
    request: Request[Any, Any, State], viewer: Viewer, owner: CopyOwner, cause: Cause
) -> Response[bytes]:
    console = console_of(request)
    peers, runtime = console.peers, console.runtime
    named = "request_id" if owner.person is CopyPerson.RESIDENT else "volunteer_id"
    body: dict[str, object] = {named: owner.person_id}
    if owner.phone:
        body["phone"] = owner.phone
    scheduler, volunteers = await asyncio.gather(
        peers.subject_access("scheduler", body), peers.subject_access("volunteers", body)
    )
    sections = {"scheduler": scheduler, "volunteers": volunteers}
    asked = body | {"reminders_of": reminder_targets(sections)}
    sections["notifications"] = await peers.subject_access("notifications", asked)
    made = assemble(str(uuid7()), owner, sections, runtime.clock.now())
    given = copy_given(made, asked_by=viewer.account.account_id, asked_role=viewer.account.role)
    async with runtime.store.transaction() as tx:
        await tx.append(copy_stream(made.copy_id), 0, [given], cause)
    if owner.person is CopyPerson.RESIDENT and owner.phone:
        # the resident learns it was handed to staff (a volunteer downloads their own)
        await peers.tell_copy_given(owner.phone, made.copy_id, made.made_at)
    name = f"copy-{owner.person_id}-{made.made_at:%Y%m%d}.json"
    return Response(
        msgspec.json.encode(made),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@get("/help-requests/{request_id:str}/copy", include_in_schema=False)
async def resident_copy(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    cause: NamedDependency[Cause],
    request_id: FromPath[str],
) -> Response[Any]:
    found = signed_in(viewer)
    if found.account.role is AccountRole.VOLUNTEER:
        raise ForbiddenError("only coordinators and admins give a resident their copy")
    peers = console_of(request).peers
    try:
        # as the account: 403 outside its scope, 404 for no such request
        shown = await peers.send(
            caller_of(found), "GET", peers.scheduler(f"/help-requests/{request_id}")
        )
    except PeerError:
        return page("error.html", status=503, status_code=503, what_to_do=unreachable())
    resident = msgspec.json.decode(shown, type=_Resident)
    owner = CopyOwner(
        person=CopyPerson.RESIDENT, person_id=resident.request_id, phone=resident.phone or None
    )
    return await _give(request, found, owner, cause)


@get("/copies", include_in_schema=False)
async def copies_page(
    request: Request[Any, Any, State], viewer: NamedDependency[Viewer | None]
) -> Template:
    """The copies given lately, for an admin of the whole deployment (the events name no
    commune, so a scoped admin would see others' too)."""
    admin = require_admin(viewer)
    if admin.account.scope:
        raise ForbiddenError("only an admin of the whole deployment sees every copy given")
    runtime = console_of(request).runtime
    async with runtime.store.reader.connect() as conn:
        given = await queries.copies_given_lately(conn)
    return page("copies.html", viewer=admin, copies=given)


@get("/me/copy", include_in_schema=False)
async def own_copy(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    cause: NamedDependency[Cause],
) -> Response[bytes]:
    found = signed_in(viewer)
    volunteer_id = found.account.volunteer_id
    if found.account.role is not AccountRole.VOLUNTEER or not volunteer_id:
        raise ForbiddenError("this copy is a volunteer's own")
    owner = CopyOwner(
        person=CopyPerson.VOLUNTEER, person_id=volunteer_id, phone=found.account.phone or None
    )
    return await _give(request, found, owner, cause)


routes: list[Any] = [resident_copy, own_copy, copies_page]
