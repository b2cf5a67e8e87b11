"""The SMS sent for a session: to whom (phone masked by notifications), what it said, and where
its delivery stands, from notifications' public API."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from services.console.pages.common import caller_of, console_of, page, signed_in
from services.console.pages.session import may_see, unreachable
from services.console.pages.words import sms_word
from services.console.peers import PeerError
from services.console.views.queries import Viewer
from shared.clock import VIETNAM
from shared.events.console import AccountRole
from shared.web.auth import ForbiddenError


@get("/sessions/{session_id:str}/messages", include_in_schema=False)
async def session_messages(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    session_id: FromPath[str],
) -> Template:
    found = signed_in(viewer)
    if found.account.role is AccountRole.VOLUNTEER:
        raise ForbiddenError("volunteers have their own page")
    peers = console_of(request).peers
    caller = caller_of(found)
    try:
        session = await peers.session(caller, session_id)
        # Notifications checks the communes of the SMS it finds; with none found it would
        # answer anyone, so the session's own commune is checked first.
        if not may_see(found, session.commune_code):
            raise ForbiddenError(f"session {session_id} is outside this account's scope")
        messages = await peers.session_messages(caller, session_id)
    except PeerError:
        return page("error.html", status=503, status_code=503, what_to_do=unreachable())
    return page(
        "session_messages.html",
        viewer=found,
        session=session,
        messages=messages,
        word=sms_word,
        local=lambda moment: moment.astimezone(VIETNAM),
    )


routes: list[Any] = [session_messages]
