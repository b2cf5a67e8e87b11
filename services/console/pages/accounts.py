"""Admins: the accounts list, adding a coordinator, changing a coordinator's scope, pausing and
resuming an account."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from services.console import handlers
from services.console.domain.accounts import (
    AddAccount,
    ChangeScope,
    PauseAccount,
    ResumeAccount,
)
from services.console.domain.communes import covers, is_province, province_of
from services.console.domain.errors import (
    AlreadyPausedError,
    InvalidAccountError,
    NotPausedError,
    PhoneTakenError,
)
from services.console.i18n import gettext as _
from services.console.pages.common import console_of, page, require_admin
from services.console.pages.sign_in import FORM
from services.console.views import queries
from services.console.views.queries import Viewer
from shared.events.base import Cause
from shared.events.console import AccountId, AccountRole
from shared.phones import InvalidPhoneError, normalize_phone
from shared.web.auth import ForbiddenError
from shared.web.problems import NotFoundError


class CoordinatorForm(msgspec.Struct, frozen=True, kw_only=True):
    name: str = ""
    phone: str = ""
    scope: str = ""  # province or commune codes, separated by commas or spaces


class ScopeForm(msgspec.Struct, frozen=True, kw_only=True):
    scope: str = ""  # as in CoordinatorForm


async def _accounts_page(
    request: Request[Any, Any, State],
    viewer: Viewer,
    *,
    form: CoordinatorForm | None = None,
    errors: dict[str, str] | None = None,
    scopes: dict[str, str] | None = None,
    status: int = 200,
) -> Template:
    """`errors` by field: the add form's by name, a scope form's as `scope-<account id>`;
    `scopes`: what a refused scope form had, shown back in it."""
    async with console_of(request).runtime.store.reader.connect() as conn:
        accounts = await queries.all_accounts(conn)
    return page(
        "accounts.html",
        status=status,
        viewer=viewer,
        accounts=accounts,
        form=form or CoordinatorForm(),
        errors=errors or {},
        scopes=scopes or {},
    )


@get("/accounts", include_in_schema=False)
async def accounts_page(
    request: Request[Any, Any, State], viewer: NamedDependency[Viewer | None]
) -> Template:
    return await _accounts_page(request, require_admin(viewer))


def _scope_error(written: str, admin: Viewer) -> tuple[str | None, tuple[str, ...]]:
    """What is wrong with a written scope, in the reader's language (None: nothing); its codes."""
    codes = tuple(code for code in written.replace(",", " ").split() if code)
    if not codes:
        return _("Write at least one commune (5 digits) or province (2 digits) code."), codes
    if not all(is_province(code) or province_of(code) is not None for code in codes):
        return _("One of these codes is not an official commune or ward."), codes
    if admin.account.scope and not all(covers(admin.account.scope, c) for c in codes):
        return _("You may only give codes within your own scope."), codes
    return None, codes


def _form_errors(form: CoordinatorForm, admin: Viewer) -> tuple[dict[str, str], tuple[str, ...]]:
    """Each wrong field with its message, in the reader's language; and the scope's codes."""
    errors: dict[str, str] = {}
    if not form.name.strip():
        errors["name"] = _("Write the coordinator's name.")
    try:
        normalize_phone(form.phone)
    except InvalidPhoneError:
        errors["phone"] = _("Write a Vietnamese mobile number, e.g. 0912 345 678.")
    scope_error, codes = _scope_error(form.scope, admin)
    if scope_error is not None:
        errors["scope"] = scope_error
    return errors, codes


@post("/accounts", include_in_schema=False)
async def add_coordinator(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    cause: NamedDependency[Cause],
    data: Annotated[CoordinatorForm, FORM],
) -> Template | Redirect:
    admin = require_admin(viewer)
    errors, codes = _form_errors(data, admin)
    if not errors:
        console = console_of(request)
        command = AddAccount(
            account_id=handlers.account_id_of(data.phone, key=console.settings.code_secret),
            role=AccountRole.COORDINATOR,
            name=data.name,
            phone=data.phone,
            scope=codes,
            added_by=admin.account.account_id,
        )
        try:
            async with console.runtime.store.transaction() as tx:
                added = await handlers.add_account(
                    tx, command, now=console.runtime.clock.now(), cause=cause
                )
        except PhoneTakenError:
            added = None
        except InvalidAccountError as error:
            errors[error.field or "name"] = _("This value is not accepted.")
        else:
            if added is None:
                errors["phone"] = _("An account with this phone exists already.")
    if errors:
        return await _accounts_page(request, admin, form=data, errors=errors, status=400)
    return Redirect("/accounts")


async def _account_in_reach(
    request: Request[Any, Any, State], admin: Viewer, account_id: str
) -> queries.AccountRow:
    async with console_of(request).runtime.store.reader.connect() as conn:
        found = await queries.account(conn, account_id)
    if found is None:
        raise NotFoundError(f"no account {account_id}")
    if admin.account.scope and not all(covers(admin.account.scope, c) for c in found.scope):
        raise ForbiddenError("this account is outside your scope")
    if found.account_id == admin.account.account_id:
        raise ForbiddenError("an admin does not pause themselves")
    return found


@post("/accounts/{account_id:str}/pause", include_in_schema=False)
async def pause(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    cause: NamedDependency[Cause],
    account_id: FromPath[str],
) -> Redirect:
    admin = require_admin(viewer)
    await _account_in_reach(request, admin, account_id)
    console = console_of(request)
    command = PauseAccount(account_id=AccountId(account_id), paused_by=admin.account.account_id)
    try:
        async with console.runtime.store.transaction() as tx:
            await handlers.pause_account(tx, command, now=console.runtime.clock.now(), cause=cause)
    except AlreadyPausedError:
        pass  # pressed twice: it is paused, as asked
    return Redirect("/accounts")


@post("/accounts/{account_id:str}/resume", include_in_schema=False)
async def resume(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    cause: NamedDependency[Cause],
    account_id: FromPath[str],
) -> Redirect:
    admin = require_admin(viewer)
    await _account_in_reach(request, admin, account_id)
    console = console_of(request)
    command = ResumeAccount(account_id=AccountId(account_id), resumed_by=admin.account.account_id)
    try:
        async with console.runtime.store.transaction() as tx:
            await handlers.resume_account(tx, command, now=console.runtime.clock.now(), cause=cause)
    except NotPausedError:
        pass  # pressed twice: it is active, as asked
    return Redirect("/accounts")


@post("/accounts/{account_id:str}/scope", include_in_schema=False)
async def change_scope(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    cause: NamedDependency[Cause],
    account_id: FromPath[str],
    data: Annotated[ScopeForm, FORM],
) -> Template | Redirect:
    """The coordinator's open sessions read the account on every request: the next one sees
    the new scope, with nothing to sign in again."""
    admin = require_admin(viewer)
    found = await _account_in_reach(request, admin, account_id)
    if found.role is not AccountRole.COORDINATOR:
        raise ForbiddenError("only a coordinator's scope is changed here")
    error, codes = _scope_error(data.scope, admin)
    if error is None:
        console = console_of(request)
        command = ChangeScope(
            account_id=found.account_id, scope=codes, changed_by=admin.account.account_id
        )
        try:
            async with console.runtime.store.transaction() as tx:
                await handlers.change_scope(
                    tx, command, now=console.runtime.clock.now(), cause=cause
                )
        except InvalidAccountError:
            error = _("This value is not accepted.")
    if error is not None:
        return await _accounts_page(
            request,
            admin,
            errors={f"scope-{account_id}": error},
            scopes={account_id: data.scope},
            status=400,
        )
    return Redirect("/accounts")


routes: list[Any] = [accounts_page, add_coordinator, change_scope, pause, resume]
