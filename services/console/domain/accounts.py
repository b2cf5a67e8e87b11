"""Accounts: who may sign in to the console, with which role and scope; commands in, events out."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from services.console.domain.errors import (
    AccountErasedError,
    AlreadyPausedError,
    ErasureNotConfirmedError,
    InvalidAccountError,
    NotPausedError,
    UnknownAccountError,
)
from shared.events.base import Event
from shared.events.console import (
    AccountAdded,
    AccountErased,
    AccountId,
    AccountPaused,
    AccountResumed,
    AccountRole,
    AccountScopeChanged,
)
from shared.phones import normalize_phone

# A province (two digits, `38`) or a commune or ward (five digits, `15835`).
_CODE = re.compile(r"^(\d{2}|\d{5})$")
MAX_NAME = 200


def account_stream(account_id: AccountId) -> str:
    return f"account-{account_id}"


@dataclass(frozen=True)
class AccountState:
    """An account as its events leave it."""

    account_id: AccountId
    role: AccountRole
    name: str
    phone: str
    scope: tuple[str, ...]
    volunteer_id: str | None
    paused: bool = False
    erased: bool = False


@dataclass(frozen=True)
class AddAccount:
    account_id: AccountId
    role: AccountRole
    name: str
    phone: str
    scope: tuple[str, ...] = ()
    volunteer_id: str | None = None
    added_by: str = ""


@dataclass(frozen=True)
class PauseAccount:
    account_id: AccountId
    paused_by: str = ""


@dataclass(frozen=True)
class ResumeAccount:
    account_id: AccountId
    resumed_by: str = ""


@dataclass(frozen=True)
class ChangeScope:
    account_id: AccountId
    scope: tuple[str, ...]
    changed_by: str = ""


@dataclass(frozen=True)
class EraseAccount:
    """`confirmed`: the person asking ticked that the account's details cannot be brought back."""

    account_id: AccountId
    confirmed: bool
    erased_by: str = ""


def checked_scope(scope: tuple[str, ...]) -> tuple[str, ...]:
    """Province or commune codes, each once, in the order given."""
    for code in scope:
        if not _CODE.match(code):
            raise InvalidAccountError(
                f"{code!r} is not a province (2 digits) or commune (5 digits) code", field="scope"
            )
    return tuple(dict.fromkeys(scope))


def decide_add(state: AccountState | None, command: AddAccount, now: datetime) -> list[Event]:
    """A coordinator needs a scope (an admin without one covers the whole deployment); a
    volunteer account is tied to their volunteer record."""
    if state is not None:
        return []  # the same account added again: nothing new
    name = command.name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidAccountError(f"a name of 1 to {MAX_NAME} characters", field="name")
    scope = checked_scope(command.scope)
    if command.role is AccountRole.COORDINATOR and not scope:
        raise InvalidAccountError("a coordinator covers at least one code", field="scope")
    if command.role is AccountRole.VOLUNTEER and not command.volunteer_id:
        raise InvalidAccountError("a volunteer account names its volunteer", field="volunteer_id")
    return [
        AccountAdded(
            account_id=command.account_id,
            role=command.role,
            name=name,
            phone=normalize_phone(command.phone),
            scope=scope,
            volunteer_id=command.volunteer_id if command.role is AccountRole.VOLUNTEER else None,
            added_by=command.added_by,
            added_at=now,
        )
    ]


def _existing(state: AccountState | None, account_id: AccountId) -> AccountState:
    if state is None:
        raise UnknownAccountError(f"no account {account_id}", field="account_id")
    if state.erased:
        raise AccountErasedError(f"account {account_id} was erased")
    return state


def decide_pause(state: AccountState | None, command: PauseAccount, now: datetime) -> list[Event]:
    if _existing(state, command.account_id).paused:
        raise AlreadyPausedError("the account is paused already")
    return [
        AccountPaused(account_id=command.account_id, paused_by=command.paused_by, paused_at=now)
    ]


def decide_resume(state: AccountState | None, command: ResumeAccount, now: datetime) -> list[Event]:
    if not _existing(state, command.account_id).paused:
        raise NotPausedError("the account is not paused")
    return [
        AccountResumed(account_id=command.account_id, resumed_by=command.resumed_by, resumed_at=now)
    ]


def decide_change_scope(
    state: AccountState | None, command: ChangeScope, now: datetime
) -> list[Event]:
    """A coordinator keeps at least one code; the same scope again changes nothing."""
    current = _existing(state, command.account_id)
    scope = checked_scope(command.scope)
    if current.role is AccountRole.COORDINATOR and not scope:
        raise InvalidAccountError("a coordinator covers at least one code", field="scope")
    if scope == current.scope:
        return []
    return [
        AccountScopeChanged(
            account_id=command.account_id,
            scope=scope,
            previous_scope=current.scope,
            changed_by=command.changed_by,
            changed_at=now,
        )
    ]


def decide_erase(state: AccountState | None, command: EraseAccount, now: datetime) -> list[Event]:
    """Erased once: asked again, nothing new. Paused or not, the account goes for good."""
    if state is None:
        raise UnknownAccountError(f"no account {command.account_id}", field="account_id")
    if not command.confirmed:
        raise ErasureNotConfirmedError("confirm that the account's details cannot be brought back")
    if state.erased:
        return []
    return [
        AccountErased(account_id=command.account_id, erased_by=command.erased_by, erased_at=now)
    ]


def evolve_account(state: AccountState | None, event: Event) -> AccountState | None:
    match event:
        case AccountAdded():
            return AccountState(
                account_id=event.account_id,
                role=event.role,
                name=event.name,
                phone=event.phone,
                scope=event.scope,
                volunteer_id=event.volunteer_id,
            )
        case AccountPaused() if state is not None:
            return replace(state, paused=True)
        case AccountResumed() if state is not None:
            return replace(state, paused=False)
        case AccountScopeChanged() if state is not None:
            return replace(state, scope=event.scope)
        case AccountErased() if state is not None:
            return replace(state, name="", phone="", paused=True, erased=True)
    return state
