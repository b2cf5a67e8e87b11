"""Sign in with a phone and the 6-digit code texted to it; sign out."""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import Cookie, State
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from services.console import handlers
from services.console.domain.codes import Outcome
from services.console.i18n import gettext as _
from services.console.pages.common import SESSION_COOKIE, console_of, page
from services.console.signin import CodeRequest, SignIn
from services.console.views.queries import Viewer
from shared.events.base import Cause
from shared.events.console import AccountRole, SessionEnding
from shared.phones import InvalidPhoneError, normalize_phone

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)
_SIX_DIGITS = re.compile(r"^\d{6}$")


class PhoneForm(msgspec.Struct, frozen=True, kw_only=True):
    phone: str = ""


class CodeForm(msgspec.Struct, frozen=True, kw_only=True):
    phone: str = ""
    code: str = ""


def _sign_in(request: Request[Any, Any, State]) -> SignIn:
    console = console_of(request)
    return SignIn(console.runtime.store, console.settings, console.peers, console.runtime.clock)


@get("/", include_in_schema=False)
async def home(viewer: NamedDependency[Viewer | None]) -> Redirect:
    if viewer is None:
        return Redirect("/sign-in")
    volunteer = viewer.account.role is AccountRole.VOLUNTEER
    return Redirect("/me" if volunteer else "/weekend")


@get("/sign-in", include_in_schema=False)
async def sign_in_page() -> Template:
    return page("sign_in.html", phone="", error=None)


@post("/sign-in", include_in_schema=False)
async def ask_for_code(
    request: Request[Any, Any, State], data: Annotated[PhoneForm, FORM]
) -> Template:
    try:
        phone = normalize_phone(data.phone)
    except InvalidPhoneError:
        error = _("Write a Vietnamese mobile number, e.g. 0912 345 678.")
        return page("sign_in.html", status=400, phone=data.phone, error=error)
    client = request.client.host if request.client else "unknown"
    answer = await _sign_in(request).request_code(phone, client)
    match answer.outcome:
        case CodeRequest.SENT:
            return page("code.html", phone=phone, error=None)
        case CodeRequest.LIMITED:
            minutes = max(1, -(-answer.wait // 60))
            error = _("Too many requests. Try again in %(minutes)s minutes.") % {"minutes": minutes}
            return page("sign_in.html", status=429, phone=data.phone, error=error)
        case CodeRequest.LOCKED:
            error = _("Too many wrong codes for this number. Try again in 15 minutes.")
            return page("sign_in.html", status=429, phone=data.phone, error=error)
    error = _("The code could not be sent just now. Try again.")
    return page("sign_in.html", status=503, phone=data.phone, error=error)


@post("/sign-in/code", include_in_schema=False)
async def enter_code(
    request: Request[Any, Any, State],
    cause: NamedDependency[Cause],
    viewer: NamedDependency[Viewer | None],
    data: Annotated[CodeForm, FORM],
) -> Template | Redirect:
    code = data.code.strip().replace(" ", "")
    try:
        phone = normalize_phone(data.phone)
    except InvalidPhoneError:
        return Redirect("/sign-in")
    if not _SIX_DIGITS.match(code):
        error = _("The code has 6 digits.")
        return page("code.html", status=400, phone=phone, error=error)
    checked = await _sign_in(request).check_code(phone, code)
    if checked.outcome is not Outcome.ACCEPTED or checked.account is None:
        error = {
            Outcome.EXPIRED: _("This code has expired. Ask for a new one."),
            Outcome.LOCKED: _("Too many wrong codes for this number. Try again in 15 minutes."),
        }.get(checked.outcome, _("This code is not right. Check it, or ask for a new one."))
        return page("code.html", status=400, phone=phone, error=error)
    console = console_of(request)
    async with console.runtime.store.transaction() as tx:
        if viewer is not None:  # this browser's earlier session ends: one id per sign-in
            await handlers.end_session(
                tx,
                viewer.session_id,
                reason=SessionEnding.SIGNED_OUT,
                by=viewer.account.account_id,
                now=console.runtime.clock.now(),
                cause=cause,
            )
        started = await handlers.start_session(
            tx,
            checked.account.account_id,
            user_agent=request.headers.get("user-agent", ""),
            length=console.settings.session_length,
            now=console.runtime.clock.now(),
            cause=cause,
        )
    cookie = Cookie(
        key=SESSION_COOKIE,
        value=started.cookie,
        path="/",
        httponly=True,
        samesite="lax",
        # HTTPS as the public URL says, or as a trusted proxy says the browser came (its
        # X-Forwarded-Proto, read by uvicorn only from HANDINHAND_FORWARDED_ALLOW_IPS).
        secure=console.settings.secure_cookies or request.url.scheme == "https",
        max_age=int(console.settings.session_length.total_seconds()),
    )
    landing = "/me" if checked.account.role is AccountRole.VOLUNTEER else "/weekend"
    return Redirect(landing, cookies=[cookie])


@post("/sign-out", include_in_schema=False)
async def sign_out(
    request: Request[Any, Any, State],
    cause: NamedDependency[Cause],
    viewer: NamedDependency[Viewer | None],
) -> Redirect:
    if viewer is not None:
        console = console_of(request)
        async with console.runtime.store.transaction() as tx:
            await handlers.end_session(
                tx,
                viewer.session_id,
                reason=SessionEnding.SIGNED_OUT,
                by=viewer.account.account_id,
                now=console.runtime.clock.now(),
                cause=cause,
            )
    redirect = Redirect("/sign-in")
    redirect.delete_cookie(SESSION_COOKIE, path="/")
    return redirect


routes: list[Any] = [home, sign_in_page, ask_for_code, enter_code, sign_out]
