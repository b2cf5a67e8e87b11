"""Load -> decide -> append, for every command of the console: accounts, web sessions and
API tokens.

Called by the pages and by `handinhand account add`; each works inside the transaction it is
given.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from services.console.domain.accounts import (
    AccountState,
    AddAccount,
    ChangeScope,
    EraseAccount,
    PauseAccount,
    ResumeAccount,
    account_stream,
    decide_add,
    decide_change_scope,
    decide_erase,
    decide_pause,
    decide_resume,
    evolve_account,
)
from services.console.domain.errors import PhoneTakenError
from services.console.domain.tokens import (
    ApiTokenState,
    IssueApiToken,
    RevokeApiToken,
    decide_issue,
    decide_revoke,
    evolve_token,
    token_stream,
)
from services.console.tables import session_keys
from services.console.views import queries
from shared.events.base import Cause
from shared.events.console import (
    AccountId,
    AccountRole,
    ApiTokenIssued,
    SessionEnding,
    TokenId,
    WebSessionEnded,
    WebSessionId,
    WebSessionStarted,
)
from shared.events.fold import fold
from shared.ids import derived_id, uuid7
from shared.phones import normalize_phone
from shared.store.eventstore import Transaction
from shared.tokenkeys import TokenKeys
from shared.web.auth import Caller, Role, mint_token, read_token
from shared.web.revocations import Revocations


def normalized(phone: str) -> str:
    """The phone as accounts keep it (E.164), by the one rule of shared.phones."""
    return normalize_phone(phone)


def account_id_of(phone: str, *, key: str) -> AccountId:
    """One account per phone: the id follows from it, so adding the same phone twice is the
    same command twice and appends nothing new. Keyed (HMAC-SHA-256 with a key derived from
    the console's code secret, `key`): the id stays in the log, the streams and other
    services' events after the account is erased, and an unkeyed hash of a phone number is
    walked back by trying every number. A UUIDv8 (RFC 9562) of the first 122 bits.
    Accounts added before it was keyed keep their ids (their phone finds them)."""
    per_purpose = hmac.new(key.encode(), b"console-account-id", hashlib.sha256).digest()
    digest = hmac.new(per_purpose, normalize_phone(phone).encode(), hashlib.sha256).digest()
    value = int.from_bytes(digest[:16], "big")
    value &= ~((0xF << 76) | (0b11 << 62))
    value |= (0x8 << 76) | (0b10 << 62)
    return AccountId(str(uuid.UUID(int=value)))


async def load_account(tx: Transaction, account_id: AccountId) -> tuple[AccountState | None, int]:
    stream = await tx.load(account_stream(account_id))
    return fold(evolve_account, (item.event for item in stream.events)), stream.version


def next_account_id(erased: AccountId) -> AccountId:
    """The id a phone's account takes after the account it had was erased: derived from the
    erased one's (never from the phone, which is forgotten), so adding it again is still the
    same command twice."""
    return AccountId(str(derived_id("account-after", erased)))


async def add_account(
    tx: Transaction, command: AddAccount, *, now: datetime, cause: Cause
) -> AccountId | None:
    """The new account's id; None when an account with the same phone exists already (it is
    left as it is). A phone whose account was erased gets a new account, under a new id."""
    state, version = await load_account(tx, command.account_id)
    while state is not None and state.erased:
        command = replace(command, account_id=next_account_id(command.account_id))
        state, version = await load_account(tx, command.account_id)
    events = decide_add(state, command, now)
    if events:
        holder = await queries.account_with_phone(tx.conn, normalize_phone(command.phone))
        if holder is not None:
            raise PhoneTakenError("another account already signs in with this phone")
    await tx.append(account_stream(command.account_id), version, events, cause)
    return command.account_id if events else None


async def pause_account(
    tx: Transaction, command: PauseAccount, *, now: datetime, cause: Cause
) -> None:
    """A paused account's open sessions end with it: its cookies open nothing."""
    state, version = await load_account(tx, command.account_id)
    await tx.append(
        account_stream(command.account_id), version, decide_pause(state, command, now), cause
    )
    await _end_sessions_of(
        tx,
        command.account_id,
        reason=SessionEnding.ACCOUNT_PAUSED,
        by=command.paused_by,
        now=now,
        cause=cause,
    )


async def _end_sessions_of(
    tx: Transaction,
    account_id: AccountId,
    *,
    reason: SessionEnding,
    by: str,
    now: datetime,
    cause: Cause,
) -> None:
    for found in await queries.open_sessions(tx.conn, account_id, now):
        await end_session(tx, found.session_id, reason=reason, by=by, now=now, cause=cause)


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


async def erase_account(
    tx: Transaction, command: EraseAccount, *, now: datetime, cause: Cause
) -> bool:
    """Whether it was erased now (False: erased already). Its sessions end, and its data key
    is destroyed in the same transaction: its name, phone and browsers, sealed with that key
    in the log and the streams, open to nothing from then on; its read model row is blanked
    by the projection. The integration tokens it issued stay: they are their integration's,
    not this person's (an admin revokes them on the tokens page)."""
    state, version = await load_account(tx, command.account_id)
    events = decide_erase(state, command, now)
    await tx.append(account_stream(command.account_id), version, events, cause)
    await _end_sessions_of(
        tx,
        command.account_id,
        reason=SessionEnding.ACCOUNT_ERASED,
        by=command.erased_by,
        now=now,
        cause=cause,
    )
    personal = tx.store.personal
    assert personal is not None  # the console owns its accounts' keys (parts.py)
    await personal.erase(tx.conn, command.account_id)
    return bool(events)


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


def new_token_id() -> TokenId:
    """A JWT's `jti`: a random UUID, as `handinhand token` mints."""
    return TokenId(str(uuid.uuid4()))


async def load_token(tx: Transaction, jti: TokenId) -> tuple[ApiTokenState | None, int]:
    stream = await tx.load(token_stream(jti))
    return fold(evolve_token, (item.event for item in stream.events)), stream.version


async def issue_api_token(
    tx: Transaction, command: IssueApiToken, *, keys: TokenKeys, now: datetime, cause: Cause
) -> str:
    """The token's text, to show once: it is minted (by the one minter, with the ring's
    signing key) only after the decision, and only its claims are recorded."""
    state, version = await load_token(tx, command.jti)
    events = decide_issue(state, command, now)
    await tx.append(token_stream(command.jti), version, events, cause)
    [issued] = events
    assert isinstance(issued, ApiTokenIssued)
    caller = Caller(sub=f"api-token:{issued.jti}", role=Role(issued.role.value), scope=issued.scope)
    return mint_token(keys, caller, now, issued.expires_at - now, jti=issued.jti)


async def revoke_api_token(
    tx: Transaction, command: RevokeApiToken, *, now: datetime, cause: Cause
) -> None:
    """Revoked twice at once, the second meets the first on the stream's version."""
    state, version = await load_token(tx, command.jti)
    await tx.append(token_stream(command.jti), version, decide_revoke(state, command, now), cause)


def pasted_token(keys: TokenKeys, text: str, now: datetime) -> Caller:
    """A token pasted to be revoked, read if this deployment's ring signed it and it has not
    expired (shared.web.auth.InvalidTokenError otherwise). Read without the revocations, so
    one revoked already is told apart by its stream, not refused as unreadable."""
    return read_token(keys, Revocations(), text.strip(), now)


def revocation_of(
    token: Caller, *, revoked_by: str, revoker_scope: tuple[str, ...], reason: str = ""
) -> RevokeApiToken:
    return RevokeApiToken(
        jti=TokenId(token.jti),
        expires_at=datetime.fromtimestamp(token.exp, UTC),
        role=AccountRole(token.role.value),
        scope=token.scope,
        revoked_by=revoked_by,
        revoker_scope=revoker_scope,
        reason=reason,
    )
