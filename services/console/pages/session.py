"""A session: its residents with their needs, its volunteers and why each was asked, and who
waits for a freed place; all read from the scheduler's and the volunteers' public APIs."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from services.console import i18n
from services.console.domain.communes import covers
from services.console.domain.reasons import in_vietnamese
from services.console.domain.told import cancellation_told
from services.console.i18n import gettext as _
from services.console.pages.common import caller_of, console_of, page, signed_in
from services.console.pages.words import release_reason, sms_word, word
from services.console.peers import PeerError, SessionDetail, Slot
from services.console.views.queries import Viewer
from shared.events.console import AccountRole
from shared.events.vocabulary import Outcome
from shared.phones import mask_phone
from shared.web.auth import ForbiddenError
from shared.web.problems import NotFoundError


def reason(explanation: str) -> str:
    """Why a volunteer was asked, in the reader's language (the volunteers service writes
    English)."""
    return explanation if i18n.current() == "en" else in_vietnamese(explanation)


def may_see(viewer: Viewer, commune_code: str) -> bool:
    """A coordinator's or a scoped admin's commune; an admin without a scope sees every one."""
    account = viewer.account
    if account.role is AccountRole.VOLUNTEER:
        return False
    if account.role is AccountRole.ADMIN and not account.scope:
        return True
    return covers(account.scope, commune_code)


async def visible_session(
    request: Request[Any, Any, State], viewer: Viewer | None, session_id: str
) -> tuple[Viewer, SessionDetail]:
    """The session, read as the signed-in account; refused outside its scope. A scheduler that
    does not answer is a PeerError for the caller to show."""
    found = signed_in(viewer)
    if found.account.role is AccountRole.VOLUNTEER:
        raise ForbiddenError("volunteers have their own page")
    session = await console_of(request).peers.session(caller_of(found), session_id)
    # The scheduler checks the token's scope too; the console refuses before showing anything.
    if not may_see(found, session.commune_code):
        raise ForbiddenError(f"session {session_id} is outside this account's scope")
    return found, session


async def volunteers_context(
    request: Request[Any, Any, State], viewer: Viewer, session: SessionDetail
) -> dict[str, Any]:
    """What the session's Volunteers section shows (session_volunteers.html)."""
    peers = console_of(request).peers
    caller = caller_of(viewer)
    slot: Slot | None
    try:
        slot = await peers.slot(caller, session.session_id)
    except NotFoundError:
        slot = Slot()  # the volunteers service has not heard of the session yet: nobody asked
    except PeerError:
        slot = None  # the volunteers service is away: the page says so, the rest still shows
    names: dict[str, str] = {}
    phones: dict[str, str] = {}  # for the cancellation's count of who gets an SMS
    for held in [] if slot is None else slot.assignments:
        # When the name cannot be read the volunteer is shown by id: state and reason still say
        # what matters.
        with suppress(PeerError, NotFoundError, ForbiddenError):
            profile = await peers.volunteer(caller, held.volunteer_id)
            names[held.volunteer_id] = profile.name
            if profile.phone:
                phones[held.volunteer_id] = profile.phone
    return {
        "viewer": viewer,
        "volunteer_phones": phones,
        "session": session,
        "names": names,
        "assignments": None if slot is None else slot.assignments,
        "word": word,
        "reason": reason,
        "release_reason": release_reason,
    }


async def session_context(
    request: Request[Any, Any, State], viewer: Viewer | None, session_id: str
) -> dict[str, Any]:
    """Everything the session page shows, read from the peers; refused outside the scope.
    A scheduler that does not answer is a PeerError for the caller to show."""
    found, session = await visible_session(request, viewer, session_id)
    peers = console_of(request).peers
    caller = caller_of(found)
    roster = (await peers.roster(caller, session_id)).residents
    # Nobody waits for a place in a session that will not take place, or is over.
    waitlist = await peers.waitlist(caller, session_id) if session.status == "scheduled" else []
    told: dict[str, str | None] | None = {}
    if session.status == "cancelled":
        try:
            messages = await peers.session_messages(caller, session_id)
        except (PeerError, NotFoundError, ForbiddenError):
            told = None  # notifications is away: the page says so, the rest still shows
        else:
            told = cancellation_told((r.phone for r in roster), messages)
    return {
        **await volunteers_context(request, found, session),
        "roster": roster,
        "waitlist": waitlist,
        "told": told,
        "sms_word": sms_word,
        "mask_phone": mask_phone,
        "errors": {},
        "form": {},
        "outcomes": [o.value for o in Outcome],
    }


async def show_session(
    request: Request[Any, Any, State],
    viewer: Viewer | None,
    session_id: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Template:
    try:
        context = await session_context(request, viewer, session_id)
    except PeerError:
        return page("error.html", status=503, status_code=503, what_to_do=unreachable())
    context["errors"] = errors or {}
    context["form"] = form or {}
    return page("session.html", status=status, **context)


@get("/sessions/{session_id:str}", include_in_schema=False)
async def session_page(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    session_id: FromPath[str],
) -> Template:
    return await show_session(request, viewer, session_id)


def unreachable() -> str:
    return _("The schedule is not answering just now. Try again in a minute.")


routes: list[Any] = [session_page]
