"""How the console's own events update its read models, inline in the transaction that
appends them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from services.console.tables import (
    accounts,
    api_tokens,
    copies_given,
    session_keys,
    web_sessions,
)
from shared.events.base import RecordedEvent
from shared.events.console import (
    AccountAdded,
    AccountErased,
    AccountPaused,
    AccountResumed,
    AccountScopeChanged,
    ApiTokenIssued,
    ApiTokenRevoked,
    SubjectAccessGiven,
    WebSessionEnded,
    WebSessionStarted,
)


async def project(conn: AsyncConnection, recorded: RecordedEvent) -> None:
    """Update the read models for one event, in the transaction that appends it."""
    event = recorded.event
    match event:
        case (
            AccountAdded()
            | AccountPaused()
            | AccountResumed()
            | AccountScopeChanged()
            | AccountErased()
        ):
            await _project_account(conn, event)
        case WebSessionStarted():
            await conn.execute(
                web_sessions.insert().values(
                    session_id=event.session_id,
                    account_id=event.account_id,
                    user_agent=event.user_agent[:300],
                    started_at=event.started_at,
                    expires_at=event.expires_at,
                )
            )
        case WebSessionEnded():
            await conn.execute(
                web_sessions.update()
                .where(web_sessions.c.session_id == event.session_id)
                .values(ended_at=event.ended_at, ended_reason=event.reason.value)
            )
            # An ended session's cookie opens nothing, even if it comes back.
            await conn.execute(
                session_keys.delete().where(session_keys.c.session_id == event.session_id)
            )
        case SubjectAccessGiven():
            await conn.execute(
                copies_given.insert().values(
                    copy_id=event.copy_id,
                    person=event.person.value,
                    person_id=event.person_id,
                    asked_by=event.asked_by,
                    asked_role=event.asked_role.value,
                    answered=list(event.answered),
                    missing=list(event.missing),
                    given_at=event.given_at,
                )
            )
        case ApiTokenIssued():
            await conn.execute(
                api_tokens.insert().values(
                    jti=event.jti,
                    label=event.label,
                    role=event.role.value,
                    scope=list(event.scope),
                    issued_by=event.issued_by,
                    issued_at=event.issued_at,
                    expires_at=event.expires_at,
                )
            )
        case ApiTokenRevoked():
            # A token minted on the command line has no row: nothing else is kept of it.
            await conn.execute(
                api_tokens.update()
                .where(api_tokens.c.jti == event.jti)
                .values(revoked_at=event.revoked_at, revoked_by=event.revoked_by)
            )


async def _account(conn: AsyncConnection, account_id: str, **values: object) -> None:
    await conn.execute(accounts.update().where(accounts.c.account_id == account_id).values(values))


async def _erased(conn: AsyncConnection, event: AccountErased) -> None:
    """An erased account keeps its row, paused for good, with no name, phone or browsers."""
    await _account(
        conn,
        event.account_id,
        name="",
        phone=None,
        paused=True,
        erased_at=event.erased_at,
        updated_at=event.erased_at,
    )
    await conn.execute(
        web_sessions.update()
        .where(web_sessions.c.account_id == event.account_id)
        .values(user_agent="")
    )


async def _project_account(
    conn: AsyncConnection,
    event: AccountAdded | AccountPaused | AccountResumed | AccountScopeChanged | AccountErased,
) -> None:
    match event:
        case AccountAdded():
            await conn.execute(
                accounts.insert().values(
                    account_id=event.account_id,
                    role=event.role.value,
                    name=event.name,
                    # "" when rebuilt after an erasure (the sealed phone opens to nothing)
                    phone=event.phone or None,
                    scope=list(event.scope),
                    volunteer_id=event.volunteer_id,
                    paused=False,
                    added_at=event.added_at,
                    updated_at=event.added_at,
                )
            )
        case AccountPaused():
            await _account(conn, event.account_id, paused=True, updated_at=event.paused_at)
        case AccountResumed():
            await _account(conn, event.account_id, paused=False, updated_at=event.resumed_at)
        case AccountScopeChanged():
            await _account(
                conn, event.account_id, scope=list(event.scope), updated_at=event.changed_at
            )
        case AccountErased():
            await _erased(conn, event)
