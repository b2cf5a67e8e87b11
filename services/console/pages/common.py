"""What every page shares: who is signed in (the session cookie), the templates, and error
pages that say what to do (never a stack trace)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template import TemplateConfig

from services.console import i18n
from services.console.domain.errors import AccountErasedError
from services.console.handlers import cookie_hash
from services.console.i18n import N_
from services.console.peers import PeerError, PeerRefusedError
from services.console.service import Console
from services.console.views import queries
from services.console.views.queries import Viewer
from shared.events.console import AccountRole
from shared.runtime import Runtime
from shared.web.auth import Caller, ForbiddenError, Role
from shared.web.problems import RETRY_AFTER_OUTAGE_S, NotFoundError

log = logging.getLogger("handinhand.console.pages")

SESSION_COOKIE = "hih_session"
TEMPLATES = Path(__file__).parent.parent / "templates"


class NotSignedInError(NotAuthorizedException):
    """No session cookie, or one that opens nothing: go to the sign-in page."""


def console_of(request: Request[Any, Any, State]) -> Console:
    console = request.app.state.service
    assert isinstance(console, Console)
    return console


async def provide_viewer(request: Request[Any, Any, State]) -> Viewer | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    console = console_of(request)
    async with console.runtime.store.reader.connect() as conn:
        return await queries.viewer(conn, cookie_hash(cookie), console.runtime.clock.now())


def signed_in(viewer: Viewer | None) -> Viewer:
    if viewer is None:
        raise NotSignedInError
    return viewer


def require_admin(viewer: Viewer | None) -> Viewer:
    found = signed_in(viewer)
    if found.account.role is not AccountRole.ADMIN:
        raise ForbiddenError("admins only")
    return found


def caller_of(viewer: Viewer) -> Caller:
    """Who the console calls the other services as: the signed-in account, its role and
    scope, in a token minted for the one call."""
    account = viewer.account
    return Caller(
        sub=account.account_id,
        role=Role(account.role.value),
        scope=account.scope,
        volunteer_id=account.volunteer_id,
    )


def page(name: str, status: int = 200, **context: object) -> Template:
    return Template(template_name=name, context=context, status_code=status)


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
    )
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
    )
    environment.filters["day"] = i18n.day
    environment.filters["moment"] = i18n.moment
    environment.filters["number"] = i18n.number
    environment.globals["language"] = i18n.current
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


_WHAT_TO_DO = {
    400: N_("The form was not filled in as expected. Go back and try again."),
    403: N_("You may not do this, or the form had expired. Reload the page and try again."),
    404: N_("There is no such page. Check the address, or start from the home page."),
    405: N_("This page cannot be used that way. Start from the home page."),
    409: N_("This account was erased: it cannot be resumed or changed."),
    429: N_("Too many tries. Wait a little, then try again."),
    500: N_(
        "Something went wrong on our side. Try again in a minute; if it keeps happening, "
        "tell your administrator."
    ),
    503: N_("A part of the system is not answering. Try again in a minute."),
}


def error_page(
    request: Request[Any, Any, Any],
    status: int,
    headers: dict[str, str] | None = None,
    *,
    field: str | None = None,
) -> Response[Any]:
    """`field`: the input at fault, named on the page (`data-field`) when one is."""
    del request
    context = {"status_code": status, "what_to_do": _WHAT_TO_DO.get(status, ""), "field": field}
    return Template(
        template_name="error.html", context=context, status_code=status, headers=headers
    )


def _http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, NotSignedInError):
        return Redirect("/sign-in")
    return error_page(request, exc.status_code)


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    runtime: Runtime = request.app.state.runtime
    if runtime.database_lost(exc):  # said once per outage (shared/store/reachability.py)
        return error_page(request, 503, {"Retry-After": str(RETRY_AFTER_OUTAGE_S)})
    log.error("page %s failed", request.url.path, exc_info=exc)
    return error_page(request, 500)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    HTTPException: _http,
    ForbiddenError: lambda r, _e: error_page(r, 403),
    NotFoundError: lambda r, _e: error_page(r, 404),
    AccountErasedError: lambda r, e: error_page(r, 409, field=e.field),
    # Another service refused or did not answer: a clear page, never its stack trace.
    PeerRefusedError: lambda r, _e: error_page(r, 400),
    PeerError: lambda r, _e: error_page(r, 503),
    Exception: _internal,
}
