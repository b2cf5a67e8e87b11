"""Signed-in browsers: "my sessions" with revoke; admins see and revoke anyone's."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from services.console import handlers
from services.console.domain.communes import covers
from services.console.pages.common import console_of, page, require_admin, signed_in
from services.console.views import queries
from services.console.views.queries import Viewer
from shared.events.base import Cause
from shared.events.console import AccountRole, SessionEnding, WebSessionId
from shared.web.auth import ForbiddenError
from shared.web.problems import NotFoundError


def may_manage(viewer: Viewer, owner: queries.AccountRow) -> bool:
    """Its owner, or an admin whose scope covers the whole of the owner's (an admin without a
    scope covers everything)."""
    if owner.account_id == viewer.account.account_id:
        return True
    if viewer.account.role is not AccountRole.ADMIN:
        return False
    scope = viewer.account.scope
    return not scope or (bool(owner.scope) and all(covers(scope, code) for code in owner.scope))


async def _sessions_page(
    request: Request[Any, Any, State], viewer: Viewer, account_id: str
) -> Template:
    console = console_of(request)
    async with console.runtime.store.reader.connect() as conn:
        owner = await queries.account(conn, account_id)
        if owner is None:
            raise NotFoundError(f"no account {account_id}")
        if not may_manage(viewer, owner):
            raise ForbiddenError("this account is outside your scope")
        sessions = await queries.open_sessions(conn, account_id, console.runtime.clock.now())
    return page("sessions.html", viewer=viewer, owner=owner, sessions=sessions)


@get("/my-sessions", include_in_schema=False)
async def my_sessions(
    request: Request[Any, Any, State], viewer: NamedDependency[Viewer | None]
) -> Template:
    found = signed_in(viewer)
    return await _sessions_page(request, found, found.account.account_id)


@get("/accounts/{account_id:str}/sessions", include_in_schema=False)
async def account_sessions(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    account_id: FromPath[str],
) -> Template:
    return await _sessions_page(request, require_admin(viewer), account_id)


@post("/web-sessions/{session_id:str}/revoke", include_in_schema=False)
async def revoke(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    cause: NamedDependency[Cause],
    session_id: FromPath[str],
) -> Redirect:
    found = signed_in(viewer)
    console = console_of(request)
    async with console.runtime.store.reader.connect() as conn:
        target = await queries.session(conn, session_id)
        owner = None if target is None else await queries.account(conn, target.account_id)
    if target is None or owner is None:
        raise NotFoundError(f"no session {session_id}")
    own = target.account_id == found.account.account_id
    if not may_manage(found, owner):
        raise ForbiddenError("only its owner or an admin over its scope revokes a session")
    async with console.runtime.store.transaction() as tx:
        await handlers.end_session(
            tx,
            WebSessionId(session_id),
            reason=SessionEnding.REVOKED,
            by=found.account.account_id,
            now=console.runtime.clock.now(),
            cause=cause,
        )
    if own and target.session_id == found.session_id:
        return Redirect("/sign-in")
    return Redirect("/my-sessions" if own else f"/accounts/{target.account_id}/sessions")


routes: list[Any] = [my_sessions, account_sessions, revoke]
