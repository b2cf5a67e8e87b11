"""This weekend: the sessions of a commune in the account's scope for the coming Saturday and
Sunday, understaffed first, as the scheduler's API gives them."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Annotated, Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Template

from services.console import i18n
from services.console.domain.asked import VolunteersAsked, volunteers_asked
from services.console.domain.communes import commune, communes_in, covers
from services.console.i18n import gettext as _
from services.console.pages.common import caller_of, console_of, page, signed_in
from services.console.pages.words import word
from services.console.peers import PeerError, SessionSummary
from services.console.views.queries import AccountRow, Viewer
from shared.clock import VIETNAM
from shared.events.console import AccountRole
from shared.web.auth import ForbiddenError
from shared.web.problems import NotFoundError

SATURDAY = 5
SUNDAY = 6
WEEKS_AHEAD = 8  # how far ahead the page looks, a weekend at a time


def coming_weekend(today: date) -> tuple[date, date]:
    """The weekend a coordinator is getting ready for: this one while it lasts, else the next."""
    if today.weekday() == SUNDAY:
        return today - timedelta(days=1), today
    saturday = today + timedelta(days=(SATURDAY - today.weekday()) % 7)
    return saturday, saturday + timedelta(days=1)


def understaffed_first(sessions: list[SessionSummary]) -> list[SessionSummary]:
    order = {"understaffed": 0, "unknown": 1, "staffed": 2}
    return sorted(
        sessions,
        key=lambda s: (order.get(s.staffing, 1), s.local_date, s.start_local, s.venue.name),
    )


def weekend_dates(request: Request[Any, Any, State], weeks: int) -> tuple[date, date]:
    """The Saturday and Sunday `weeks` weekends after the coming one, in Vietnam."""
    today = console_of(request).runtime.clock.now().astimezone(VIETNAM).date()
    return coming_weekend(today + timedelta(weeks=weeks))


def weekend_heading(weeks: int, saturday: date, sunday: date) -> str:
    """Which weekend the page shows, in words: this one, the next, or by its dates."""
    if weeks == 0:
        return _("This weekend")
    if weeks == 1:
        return _("Next weekend")
    return _("The weekend of %(saturday)s – %(sunday)s") % {
        "saturday": i18n.short_day(saturday),
        "sunday": i18n.short_day(sunday),
    }


def check_scope(account: AccountRow, commune_code: str) -> None:
    """A commune the account may see: its scope's, or any for an admin without a scope."""
    scoped = not (account.role is AccountRole.ADMIN and not account.scope)
    if scoped and not covers(account.scope, commune_code):
        raise ForbiddenError(f"commune {commune_code} is outside this account's scope")


async def asked_of(
    request: Request[Any, Any, State], viewer: Viewer, session_ids: list[str]
) -> dict[str, VolunteersAsked]:
    """Each session's volunteers coming and still to answer, from the volunteers service; a
    session it does not answer for is left out (its card shows the scheduler's staffing)."""
    peers = console_of(request).peers
    caller = caller_of(viewer)

    async def one(session_id: str) -> tuple[str, VolunteersAsked | None]:
        try:
            slot = await peers.slot(caller, session_id)
        except (PeerError, NotFoundError, ForbiddenError):
            return session_id, None
        return session_id, volunteers_asked(a.status for a in slot.assignments)

    found = await asyncio.gather(*(one(session_id) for session_id in session_ids))
    return {session_id: asked for session_id, asked in found if asked is not None}


def coordinating(viewer: Viewer | None) -> Viewer:
    found = signed_in(viewer)
    if found.account.role is AccountRole.VOLUNTEER:
        raise ForbiddenError("volunteers have their own page")
    return found


@get("/weekend", include_in_schema=False)
async def weekend(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    commune_code: Annotated[str | None, QueryParameter(name="commune")] = None,
    weeks: Annotated[int, QueryParameter(ge=0, le=WEEKS_AHEAD)] = 0,
) -> Template:
    found = coordinating(viewer)
    account = found.account
    own = communes_in(account.scope)
    chosen = (commune_code or (own[0].code if own else "")).strip()
    console = console_of(request)
    saturday, sunday = weekend_dates(request, weeks)
    context: dict[str, Any] = {
        "viewer": found,
        "heading": weekend_heading(weeks, saturday, sunday),
        "saturday": saturday,
        "sunday": sunday,
        "weeks": weeks,
        "weeks_ahead": WEEKS_AHEAD,
        "communes": own,
        "commune_code": chosen,
        "commune_name": None,
        "sessions": [],
        "asked": {},
        "error": None,
        "word": word,
    }
    if not chosen:
        return page("weekend.html", **context)
    place = commune(chosen)
    if place is None:
        context["error"] = _("There is no commune or ward with this code.")
        return page("weekend.html", status=400, **context)
    check_scope(account, chosen)
    context["commune_name"] = place.name
    try:
        sessions = await console.peers.sessions(caller_of(found), chosen, saturday, sunday)
    except PeerError:
        context["error"] = _("The schedule is not answering just now. Try again in a minute.")
        return page("weekend.html", status=503, **context)
    context["sessions"] = understaffed_first(sessions)
    context["asked"] = await asked_of(request, found, [s.session_id for s in sessions])
    return page("weekend.html", **context)


routes: list[Any] = [weekend]
