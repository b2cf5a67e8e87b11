"""Erasing a console account: the account holder themself (from "my sessions") or an admin
whose scope covers it confirms, on a page of its own, that the account's name, phone and
browsers are to be forgotten; the console does it at once (`handlers.erase_account`) and the
page says so. Without the explicit confirmation nothing changes (400, beside the box)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from services.console import handlers
from services.console.domain.accounts import EraseAccount
from services.console.domain.errors import ErasureNotConfirmedError
from services.console.i18n import N_
from services.console.i18n import gettext as _
from services.console.pages.common import console_of, page, signed_in
from services.console.pages.sessions import may_manage
from services.console.views import queries
from services.console.views.queries import AccountRow, Viewer
from shared.events.base import Cause
from shared.events.console import AccountId
from shared.phones import mask_phone
from shared.web.auth import ForbiddenError
from shared.web.problems import NotFoundError

CONFIRM = "confirm"  # the form's field: ticked ("yes"), the account is erased
_NOT_CONFIRMED = N_("Tick the box to confirm: the account's details cannot be brought back.")


async def _account_to_erase(
    request: Request[Any, Any, State], viewer: Viewer | None, account_id: str
) -> tuple[Viewer, AccountRow]:
    """The signed-in viewer and the account, if they may erase it: their own, or an admin's
    over its scope (403 otherwise, 404 when there is no such account)."""
    found = signed_in(viewer)
    async with console_of(request).runtime.store.reader.connect() as conn:
        owner = await queries.account(conn, account_id)
    if owner is None:
        raise NotFoundError(f"no account {account_id}")
    if not may_manage(found, owner):
        raise ForbiddenError("only the account holder or an admin over its scope erases it")
    return found, owner


def _erasure_page(
    viewer: Viewer, owner: AccountRow, *, status: int = 200, error: str = ""
) -> Template:
    return page(
        "account_erasure.html",
        status=status,
        viewer=viewer,
        owner=owner,
        own=owner.account_id == viewer.account.account_id,
        masked=mask_phone(owner.phone) if owner.phone else "",
        error=error,
    )


@get("/accounts/{account_id:str}/erasure", include_in_schema=False)
async def confirm_account_erasure(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    account_id: FromPath[str],
) -> Template:
    found, owner = await _account_to_erase(request, viewer, account_id)
    return _erasure_page(found, owner)


@post("/accounts/{account_id:str}/erasure", include_in_schema=False)
async def erase_account(
    request: Request[Any, Any, State],
    viewer: NamedDependency[Viewer | None],
    cause: NamedDependency[Cause],
    account_id: FromPath[str],
) -> Template:
    """Pressed twice, the second finds it erased already: the same page, nothing new."""
    found, owner = await _account_to_erase(request, viewer, account_id)
    confirmed = str((await request.form()).get(CONFIRM, "")).strip() == "yes"
    console = console_of(request)
    command = EraseAccount(
        account_id=AccountId(account_id), confirmed=confirmed, erased_by=found.account.account_id
    )
    try:
        async with console.runtime.store.transaction() as tx:
            await handlers.erase_account(tx, command, now=console.runtime.clock.now(), cause=cause)
    except ErasureNotConfirmedError:
        return _erasure_page(found, owner, status=400, error=_(_NOT_CONFIRMED))
    async with console.runtime.store.reader.connect() as conn:
        erased = await queries.account(conn, account_id)
    assert erased is not None
    return _erasure_page(found, erased)


routes: list[Any] = [confirm_account_erasure, erase_account]
