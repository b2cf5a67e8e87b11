"""Load -> decide -> append, for every command of the console: accounts and web sessions.

Called by the pages and by `handinhand account add`; each works inside the transaction it is
given.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

from services.console.domain.accounts import (
    AccountState,
    AddAccount,
    ChangeScope,
    PauseAccount,
    ResumeAccount,
    account_stream,
    decide_add,
    decide_change_scope,
    decide_pause,
    decide_resume,
    evolve_account,
)
from services.console.domain.errors import PhoneTakenError
from services.console.tables import session_keys
from services.console.views import queries
from shared.events.base import Cause
from shared.events.console import (
    AccountId,
    SessionEnding,
    WebSessionEnded,
    WebSessionId,
    WebSessionStarted,
)
from shared.events.fold import fold
from shared.ids import derived_id, uuid7
from shared.phones import normalize_phone
from shared.store.eventstore import Transaction


def normalized(phone: str) -> str:
    """The phone as accounts keep it (E.164), by the one rule of shared.phones."""
    return normalize_phone(phone)


def account_id_of(phone: str) -> AccountId:
    """One account per phone: the id follows from it, so adding the same phone twice is the
    same command twice and appends nothing new."""
    return AccountId(str(derived_id("account", normalize_phone(phone))))


async def load_account(tx: Transaction, account_id: AccountId) -> tuple[AccountState | None, int]:
    stream = await tx.load(account_stream(account_id))
    return fold(evolve_account, (item.event for item in stream.events)), stream.version


async def add_account(tx: Transaction, command: AddAccount, *, now: datetime, cause: Cause) -> bool:
    """Whether the account is new; an existing one with the same phone is left as it is."""
    state, version = await load_account(tx, command.account_id)
    events = decide_add(state, command, now)
    if events:
        holder = await queries.account_with_phone(tx.conn, normalize_phone(command.phone))
        if holder is not None:
            raise PhoneTakenError("another account already signs in with this phone")
    await tx.append(account_stream(command.account_id), version, events, cause)
    return bool(events)


async def pause_account(
    tx: Transaction, command: PauseAccount, *, now: datetime, cause: Cause
) -> None:
    """A paused account's open sessions end with it: its cookies open nothing."""
    state, version = await load_account(tx, command.account_id)
    await tx.append(
        account_stream(command.account_id), version, decide_pause(state, command, now), cause
    )
    for found in await queries.open_sessions(tx.conn, command.account_id, now):
        await end_session(
            tx,
            found.session_id,
            reason=SessionEnding.ACCOUNT_PAUSED,
            by=command.paused_by,
            now=now,
            cause=cause,
        )


async def resume_account(
    tx: Transaction, command: ResumeAccount, *, now: datetime, cause: Cause
) -> None:
    state, version = await load_account(tx, command.account_id)
    await tx.append(
        account_stream(command.account_id), version, decide_resume(state, command, now), cause
    )


async def change_scope(
    tx: Transaction, command: ChangeScope, *, now: datetime, cause: Cause
) -> None:
    state, version = await load_account(tx, command.account_id)
    await tx.append(
        account_stream(command.account_id), version, decide_change_scope(state, command, now), cause
    )


def session_stream(session_id: WebSessionId) -> str:
    return f"websession-{session_id}"


def cookie_hash(cookie: str) -> str:
    """What is stored of a session cookie: its SHA-256 (the value is 256 random bits, so no
    key is needed: nobody can guess back from the hash)."""
    return hashlib.sha256(cookie.encode()).hexdigest()


class StartedSession(NamedTuple):
    session_id: WebSessionId
    cookie: str


async def start_session(
    tx: Transaction,
    account_id: AccountId,
    *,
    user_agent: str,
    length: timedelta,
    now: datetime,
    cause: Cause,
) -> StartedSession:
    """A new session id at every sign-in: the browser's old cookie, if any, opens nothing new."""
    session_id = WebSessionId(str(uuid7()))
    cookie = secrets.token_urlsafe(32)
    await tx.conn.execute(
        session_keys.insert().values(key_hash=cookie_hash(cookie), session_id=session_id)
    )
    started = WebSessionStarted(
        session_id=session_id,
        account_id=account_id,
        user_agent=user_agent[:300],
        started_at=now,
        expires_at=now + length,
    )
    await tx.append(session_stream(session_id), 0, [started], cause)
    return StartedSession(session_id, cookie)


async def end_session(
    tx: Transaction,
    session_id: WebSessionId,
    *,
    reason: SessionEnding,
    by: str,
    now: datetime,
    cause: Cause,
) -> bool:
    """Whether it was open; an ended session stays ended."""
    stream = await tx.load(session_stream(session_id))
    if not stream.events or any(isinstance(e.event, WebSessionEnded) for e in stream.events):
        return False
    started = stream.events[0].event
    assert isinstance(started, WebSessionStarted)
    ended = WebSessionEnded(
        session_id=session_id,
        account_id=started.account_id,
        reason=reason,
        ended_by=by,
        ended_at=now,
    )
    await tx.append(session_stream(session_id), stream.version, [ended], cause)
    return True
