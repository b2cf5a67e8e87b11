"""Admins: API tokens for integrations. Issue one (its text shown once), list them (never their
text), revoke one after a confirmation, or revoke one minted by `handinhand token` by pasting
it. A revocation is heard by every service (shared/web/revocation_feed.py)."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from services.console import handlers
from services.console.domain.errors import (
    AlreadyRevokedError,
    InvalidApiTokenError,
    TokenExpiredError,
    TokenOutOfReachError,
)
from services.console.domain.tokens import (
    MAX_DAYS,
    MAX_LABEL,
    MIN_DAYS,
    TOKEN_ROLES,
    IssueApiToken,
    RevokeApiToken,
    official_scope,
    within,
)
from services.console.i18n import N_
from services.console.i18n import gettext as _
from services.console.pages.common import console_of, require_admin
from services.console.pages.sign_in import FORM
from services.console.views import queries
from services.console.views.queries import ApiTokenRow, Viewer
from shared.events.base import Cause
from shared.events.console import AccountRole, TokenId
from shared.store.eventstore import ConcurrencyError
from shared.web.auth import ForbiddenError, InvalidTokenError
from shared.web.problems import NotFoundError

DEFAULT_DAYS = 90
# The token's text must not linger in a cache or the browser's history of pages.
NO_STORE = {"Cache-Control": "no-store"}

_ISSUE_ERRORS = {
    "label": N_("Write a label of 1 to 100 characters, e.g. the integration's name."),
    "role": N_("Choose coordinator or admin."),
    "scope": N_("Write commune (5 digits) or province (2 digits) codes, separated by commas."),
    "lifetime_days": N_("Choose a lifetime of 1 to 365 days."),
}


class IssueForm(msgspec.Struct, frozen=True, kw_only=True):
    label: str = ""
    role: str = AccountRole.COORDINATOR.value
    scope: str = ""  # province or commune codes, separated by commas or spaces
    days: str = str(DEFAULT_DAYS)


class PasteForm(msgspec.Struct, frozen=True, kw_only=True):
    token: str = ""
    reason: str = ""


class RevokeForm(msgspec.Struct, frozen=True, kw_only=True):
    reason: str = ""


def _state(token: ApiTokenRow, now: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= now else "active"


async def _tokens_page(
    request: Request[Any, Any, State],
    admin: Viewer,
    *,
    form: IssueForm | None = None,
    paste: PasteForm | None = None,
    errors: dict[str, str] | None = None,
    issued: str | None = None,
    status: int = 200,
) -> Template:
    console = console_of(request)
    async with console.runtime.store.reader.connect() as conn:
        found = await queries.api_tokens_issued(conn)
    now = console.runtime.clock.now()
    reach = admin.account.scope
    tokens = [(t, _state(t, now)) for t in found if within(reach, t.scope)]
    context = {
        "viewer": admin,
        "tokens": tokens,
        "form": form or IssueForm(),
        "paste": paste or PasteForm(),
        "errors": errors or {},
        "issued": issued,
        "revoked": request.query_params.get("revoked") == "1",
        "min_days": MIN_DAYS,
        "max_days": MAX_DAYS,
    }
    return Template(
        template_name="tokens.html", context=context, status_code=status, headers=NO_STORE
    )


@get("/tokens", include_in_schema=False)
async def tokens_page(
    request: Request[Any, Any, State], viewer: NamedDependency[Viewer | None]
) -> Template:
    return await _tokens_page(request, require_admin(viewer))


def _issue_command(form: IssueForm, admin: Viewer) -> tuple[IssueApiToken | None, dict[str, str]]:
    """The command the form asks for, or every field that cannot make one (the domain decides
    again: these checks only name all the wrong fields at once)."""
    errors: dict[str, str] = {}
    label = form.label.strip()
    if not label or len(label) > MAX_LABEL:
        errors["label"] = _(_ISSUE_ERRORS["label"])
    roles = {role.value: role for role in TOKEN_ROLES}
    if form.role not in roles:
        errors["role"] = _(_ISSUE_ERRORS["role"])
    days = int(form.days.strip()) if form.days.strip().isdigit() else 0
    if not MIN_DAYS <= days <= MAX_DAYS:
        errors["lifetime_days"] = _(_ISSUE_ERRORS["lifetime_days"])
    codes = tuple(code for code in form.scope.replace(",", " ").split() if code)
    try:
        codes = official_scope(codes)
    except InvalidApiTokenError:
        errors["scope"] = _(_ISSUE_ERRORS["scope"])
    if not codes and form.role == AccountRole.COORDINATOR.value:
        errors["scope"] = _(_ISSUE_ERRORS["scope"])
    if errors:
        return None, errors
    command = IssueApiToken(
        jti=handlers.new_token_id(),
        label=label,
        role=roles[form.role],
        scope=codes,
        lifetime_days=days,
        issued_by=admin.account.account_id,
        issuer_scope=admin.account.scope,
    )
    return command, {}


@post("/tokens", include_in_schema=False)
async def issue(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    cause: NamedDependency[Cause],
    data: Annotated[IssueForm, FORM],
) -> Template:
    admin = require_admin(viewer)
    command, errors = _issue_command(data, admin)
    if command is None:
        return await _tokens_page(request, admin, form=data, errors=errors, status=400)
    console = console_of(request)
    runtime = console.runtime
    try:
        async with runtime.store.transaction() as tx:
            token = await handlers.issue_api_token(
                tx, command, keys=runtime.settings.token_keys, now=runtime.clock.now(), cause=cause
            )
    except TokenOutOfReachError:
        if command.role is AccountRole.ADMIN and not command.scope:
            errors["scope"] = _(
                "An admin token without codes covers the whole deployment: only an admin of "
                "the whole deployment may issue one. Give the codes it covers."
            )
        else:
            errors["scope"] = _("You may only give codes within your own scope.")
    except InvalidApiTokenError as error:
        field = error.field if error.field in _ISSUE_ERRORS else "label"
        errors[field] = _(_ISSUE_ERRORS[field])
    if errors:
        return await _tokens_page(request, admin, form=data, errors=errors, status=400)
    return await _tokens_page(request, admin, issued=token)


async def _issued_in_reach(
    request: Request[Any, Any, State], admin: Viewer, jti: str
) -> ApiTokenRow:
    async with console_of(request).runtime.store.reader.connect() as conn:
        found = await queries.api_token(conn, jti)
    if found is None:
        raise NotFoundError(f"no token {jti}")
    if not within(admin.account.scope, found.scope):
        raise ForbiddenError("this token is outside your scope")
    return found


@get("/tokens/{jti:str}/revoke", include_in_schema=False)
async def confirm_revoke(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    jti: FromPath[str],
) -> Template:
    admin = require_admin(viewer)
    token = await _issued_in_reach(request, admin, jti)
    state = _state(token, console_of(request).runtime.clock.now())
    context = {"viewer": admin, "token": token, "state": state}
    return Template(template_name="token_revoke.html", context=context)


async def _revoke(request: Request[Any, Any, State], command: RevokeApiToken, cause: Cause) -> None:
    runtime = console_of(request).runtime
    async with runtime.store.transaction() as tx:
        await handlers.revoke_api_token(tx, command, now=runtime.clock.now(), cause=cause)


@post("/tokens/{jti:str}/revoke", include_in_schema=False)
async def revoke(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    cause: NamedDependency[Cause],
    jti: FromPath[str],
    data: Annotated[RevokeForm, FORM],
) -> Redirect:
    admin = require_admin(viewer)
    token = await _issued_in_reach(request, admin, jti)
    command = RevokeApiToken(
        jti=TokenId(token.jti),
        expires_at=token.expires_at,
        role=token.role,
        scope=token.scope,
        revoked_by=admin.account.account_id,
        revoker_scope=admin.account.scope,
        reason=data.reason,
    )
    # Pressed twice, or expired meanwhile: it opens nothing, as asked.
    with contextlib.suppress(AlreadyRevokedError, ConcurrencyError, TokenExpiredError):
        await _revoke(request, command, cause)
    return Redirect("/tokens?revoked=1")


@post("/tokens/revoke-pasted", include_in_schema=False)
async def revoke_pasted(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    cause: NamedDependency[Cause],
    data: Annotated[PasteForm, FORM],
) -> Template | Redirect:
    """Only the token's jti and exp are kept, in the revocation: nothing else of it."""
    admin = require_admin(viewer)
    runtime = console_of(request).runtime
    errors: dict[str, str] = {}
    try:
        token = handlers.pasted_token(runtime.settings.token_keys, data.token, runtime.clock.now())
        command = handlers.revocation_of(
            token,
            revoked_by=admin.account.account_id,
            revoker_scope=admin.account.scope,
            reason=data.reason,
        )
        await _revoke(request, command, cause)
    except InvalidTokenError:
        errors["token"] = _(
            "This is not a token of this deployment, or it has expired already "
            "(an expired token opens nothing)."
        )
    except (AlreadyRevokedError, ConcurrencyError):
        errors["token"] = _("This token is revoked already.")
    except TokenExpiredError:
        errors["token"] = _("This token has expired already: it opens nothing.")
    except TokenOutOfReachError:
        errors["token"] = _(
            "This token reaches beyond your own scope: an admin of the whole deployment "
            "may revoke it."
        )
    if errors:
        blank = PasteForm(reason=data.reason)  # the token is not echoed back into the page
        return await _tokens_page(request, admin, paste=blank, errors=errors, status=400)
    return Redirect("/tokens?revoked=1")


routes: list[Any] = [tokens_page, issue, confirm_revoke, revoke, revoke_pasted]
