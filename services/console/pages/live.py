"""Pages that update by themselves: each open page listens to an event stream (server-sent
events) of the sessions it shows, and on a notice re-reads the part that changed, rendered by
the same partial as the page's first render (static/live.js).

A stream is opened with the same checks as its page (signed in, a coordinator or an admin, the
commune or session in the account's scope) and carries only `changed` notices naming a session
id, or `refresh` when the page fell too far behind; comments keep idle connections open
through proxies. What it missed while it was closed the browser re-reads when it reconnects.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Annotated, Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage, Template

from services.console.domain.communes import commune
from services.console.live import LISTED, REFRESH, CommuneDay, LivePages
from services.console.pages.common import caller_of, console_of, page
from services.console.pages.session import visible_session, volunteers_context
from services.console.pages.weekend import (
    WEEKS_AHEAD,
    asked_of,
    check_scope,
    coordinating,
    understaffed_first,
    weekend_dates,
)
from services.console.pages.words import word
from services.console.peers import SessionSummary
from services.console.views.queries import Viewer
from shared.web.problems import NotFoundError

RETRY_MS = 3000  # how soon a browser reconnects after losing the stream


async def notices(
    live: LivePages, session_ids: list[str], days: list[CommuneDay], keep_alive_s: float
) -> AsyncIterator[ServerSentEventMessage]:
    """The page's notices until the browser goes away (the stream is then closed, and the
    watch ends with it)."""
    # Watched from the stream's first step, so a stream never sent watches nothing; the
    # browser re-reads once the stream is open, so a change between the page's render and
    # now is not lost.
    watch = live.watch(session_ids, days)
    try:
        # Comments carry no data line: an empty one would still be an event to the browser.
        yield ServerSentEventMessage(data=None, comment="listening", retry=RETRY_MS)
        while True:
            try:
                notice = await asyncio.wait_for(watch.next_notice(), keep_alive_s)
            except TimeoutError:
                yield ServerSentEventMessage(data=None, comment="keep-alive")
                continue
            if notice == REFRESH:
                yield ServerSentEventMessage(event="refresh", data="all")
            elif notice == LISTED:
                yield ServerSentEventMessage(event="listed", data="sessions")
            else:
                yield ServerSentEventMessage(event="changed", data=notice)
    finally:
        live.unwatch(watch)


def stream(
    request: Request[Any, Any, State], session_ids: list[str], days: Sequence[CommuneDay] = ()
) -> ServerSentEvent:
    console = console_of(request)
    keep_alive = console.settings.live_keep_alive
    return ServerSentEvent(notices(console.live, session_ids, list(days), keep_alive))


async def weekend_of(
    request: Request[Any, Any, State], viewer: Viewer | None, commune_code: str, weeks: int
) -> tuple[Viewer, date, date, list[SessionSummary]]:
    """Who is asking, the weekend's days and its sessions in the commune, with the page's
    checks: signed in, a coordinator or an admin, a known commune in the account's scope."""
    found = coordinating(viewer)
    if commune(commune_code) is None:
        raise NotFoundError(f"no commune {commune_code}")
    check_scope(found.account, commune_code)
    saturday, sunday = weekend_dates(request, weeks)
    peers = console_of(request).peers
    sessions = await peers.sessions(caller_of(found), commune_code, saturday, sunday)
    return found, saturday, sunday, sessions


@get("/weekend/events", include_in_schema=False)
async def weekend_events(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    commune_code: Annotated[str, QueryParameter(name="commune")],
    weeks: Annotated[int, QueryParameter(ge=0, le=WEEKS_AHEAD)] = 0,
) -> ServerSentEvent:
    _, saturday, sunday, sessions = await weekend_of(request, viewer, commune_code, weeks)
    days = [CommuneDay(commune_code, saturday), CommuneDay(commune_code, sunday)]
    return stream(request, [s.session_id for s in sessions], days)


@get("/weekend/sessions", include_in_schema=False)
async def weekend_sessions(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    commune_code: Annotated[str, QueryParameter(name="commune")],
    weeks: Annotated[int, QueryParameter(ge=0, le=WEEKS_AHEAD)] = 0,
) -> Template:
    """This weekend's list alone, re-read when a session appears in it or leaves it."""
    found, _, _, sessions = await weekend_of(request, viewer, commune_code, weeks)
    asked = await asked_of(request, found, [s.session_id for s in sessions])
    return page(
        "weekend_sessions.html", sessions=understaffed_first(sessions), asked=asked, word=word
    )


@get("/sessions/{session_id:str}/events", include_in_schema=False)
async def session_events(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    session_id: FromPath[str],
) -> ServerSentEvent:
    await visible_session(request, viewer, session_id)
    return stream(request, [session_id])


@get("/sessions/{session_id:str}/card", include_in_schema=False)
async def session_card(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    session_id: FromPath[str],
) -> Template:
    """The session's card on This weekend, alone."""
    found, session = await visible_session(request, viewer, session_id)
    asked = await asked_of(request, found, [session_id])
    return page("weekend_card.html", s=session, asked=asked, word=word)


@get("/sessions/{session_id:str}/facts", include_in_schema=False)
async def session_facts(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    session_id: FromPath[str],
) -> Template:
    """The session page's facts (status, bookings against places), alone."""
    _found, session = await visible_session(request, viewer, session_id)
    return page("session_facts.html", session=session, word=word)


@get("/sessions/{session_id:str}/volunteers", include_in_schema=False)
async def session_volunteers(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    session_id: FromPath[str],
) -> Template:
    """The session page's Volunteers section, alone."""
    found, session = await visible_session(request, viewer, session_id)
    context = await volunteers_context(request, found, session)
    return page("session_volunteers.html", **context)


routes: list[Any] = [
    weekend_events,
    weekend_sessions,
    session_events,
    session_card,
    session_facts,
    session_volunteers,
]
