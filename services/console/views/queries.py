"""What the console's pages and handlers read from its read models."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.console.tables import (
    accounts,
    api_tokens,
    copies_given,
    session_keys,
    web_sessions,
)
from shared.events.console import AccountId, AccountRole, TokenId, WebSessionId


class AccountRow(NamedTuple):
    account_id: AccountId
    role: AccountRole
    name: str
    phone: str
    scope: tuple[str, ...]
    volunteer_id: str | None
    paused: bool
    erased: bool = False


class SessionRow(NamedTuple):
    session_id: WebSessionId
    account_id: AccountId
    user_agent: str
    started_at: datetime
    expires_at: datetime
    ended_at: datetime | None


class Viewer(NamedTuple):
    """Who a request's session cookie signs in: the account and its session."""

    account: AccountRow
    session_id: WebSessionId


def _account(row: sa.Row[tuple[object, ...]]) -> AccountRow:
    return AccountRow(
        account_id=AccountId(row.account_id),
        role=AccountRole(row.role),
        name=row.name,
        phone=row.phone or "",  # NULL once erased
        scope=tuple(row.scope),
        volunteer_id=row.volunteer_id,
        paused=row.paused,
        erased=row.erased_at is not None,
    )


async def account_with_phone(conn: AsyncConnection, phone: str) -> AccountRow | None:
    row = (await conn.execute(sa.select(accounts).where(accounts.c.phone == phone))).one_or_none()
    return None if row is None else _account(row)


async def account(conn: AsyncConnection, account_id: str) -> AccountRow | None:
    row = (
        await conn.execute(sa.select(accounts).where(accounts.c.account_id == account_id))
    ).one_or_none()
    return None if row is None else _account(row)


async def all_accounts(conn: AsyncConnection) -> list[AccountRow]:
    rows = await conn.execute(sa.select(accounts).order_by(accounts.c.role, accounts.c.name))
    return [_account(row) for row in rows]


async def viewer(conn: AsyncConnection, key_hash: str, now: datetime) -> Viewer | None:
    """The signed-in account of a session cookie's hash: an open, unexpired session of an
    account that is not paused; else None."""
    row = (
        await conn.execute(
            sa.select(accounts, session_keys.c.session_id)
            .join(web_sessions, web_sessions.c.session_id == session_keys.c.session_id)
            .join(accounts, accounts.c.account_id == web_sessions.c.account_id)
            .where(
                session_keys.c.key_hash == key_hash,
                web_sessions.c.ended_at.is_(None),
                web_sessions.c.expires_at > now,
                accounts.c.paused.is_(False),
            )
        )
    ).one_or_none()
    if row is None:
        return None
    return Viewer(account=_account(row), session_id=WebSessionId(row.session_id))


async def open_sessions(conn: AsyncConnection, account_id: str, now: datetime) -> list[SessionRow]:
    rows = await conn.execute(
        sa.select(web_sessions)
        .where(
            web_sessions.c.account_id == account_id,
            web_sessions.c.ended_at.is_(None),
            web_sessions.c.expires_at > now,
        )
        .order_by(web_sessions.c.started_at.desc())
    )
    return [
        SessionRow(
            session_id=WebSessionId(row.session_id),
            account_id=AccountId(row.account_id),
            user_agent=row.user_agent,
            started_at=row.started_at,
            expires_at=row.expires_at,
            ended_at=row.ended_at,
        )
        for row in rows
    ]


async def session(conn: AsyncConnection, session_id: str) -> SessionRow | None:
    row = (
        await conn.execute(sa.select(web_sessions).where(web_sessions.c.session_id == session_id))
    ).one_or_none()
    if row is None:
        return None
    return SessionRow(
        session_id=WebSessionId(row.session_id),
        account_id=AccountId(row.account_id),
        user_agent=row.user_agent,
        started_at=row.started_at,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
    )


class ApiTokenRow(NamedTuple):
    jti: TokenId
    label: str
    role: AccountRole
    scope: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


def _api_token(row: sa.Row[tuple[object, ...]]) -> ApiTokenRow:
    return ApiTokenRow(
        jti=TokenId(row.jti),
        label=row.label,
        role=AccountRole(row.role),
        scope=tuple(row.scope),
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


async def api_tokens_issued(conn: AsyncConnection) -> list[ApiTokenRow]:
    """The tokens the console issued, newest first (a few per deployment: no paging)."""
    rows = await conn.execute(sa.select(api_tokens).order_by(api_tokens.c.issued_at.desc()))
    return [_api_token(row) for row in rows]


async def api_token(conn: AsyncConnection, jti: str) -> ApiTokenRow | None:
    row = (await conn.execute(sa.select(api_tokens).where(api_tokens.c.jti == jti))).one_or_none()
    return None if row is None else _api_token(row)


class CopyGivenRow(NamedTuple):
    """A person's own copy given, as an admin sees it: ids, who asked, what was missing."""

    copy_id: str
    person: str
    person_id: str
    asked_by_name: str
    asked_role: str
    missing: tuple[str, ...]
    given_at: datetime


async def copies_given_lately(conn: AsyncConnection, limit: int = 200) -> list[CopyGivenRow]:
    """The copies given, newest first, with the name of the account that asked."""
    asked = accounts.c.account_id == copies_given.c.asked_by
    rows = await conn.execute(
        sa.select(copies_given, accounts.c.name)
        .select_from(copies_given.outerjoin(accounts, asked))
        .order_by(copies_given.c.given_at.desc())
        .limit(limit)
    )
    return [
        CopyGivenRow(
            copy_id=row.copy_id,
            person=row.person,
            person_id=row.person_id,
            asked_by_name=row.name or row.asked_by,
            asked_role=row.asked_role,
            missing=tuple(row.missing),
            given_at=row.given_at,
        )
        for row in rows
    ]
