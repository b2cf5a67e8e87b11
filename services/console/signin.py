"""Sign-in by SMS code, at the edge: the code is drawn (secrets), hashed with a key (HMAC) and
compared here; what a try means is the domain's (`domain/codes.py`).

A phone with no account takes the same path as a known one: its request is counted, a code is
drawn and its hash kept, the answer waits the same minimum time; only no SMS leaves. The code
itself is held in memory just long enough to hand it to notifications: never stored, never
logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from services.console.domain.codes import CODE_DIGITS, CodeRecord, Outcome, issue, try_code
from services.console.domain.limits import Window, admit
from services.console.peers import PeerError, Peers
from services.console.settings import ConsoleSettings
from services.console.tables import sign_in_codes, sign_in_hits
from services.console.views.queries import AccountRow, account_with_phone
from shared.clock import Clock
from shared.phones import mask_phone
from shared.store.eventstore import EventStore

log = logging.getLogger("handinhand.console.signin")


class CodeRequest(StrEnum):
    """What the person asking for a code is told: the same for a known and an unknown phone."""

    SENT = "sent"
    LIMITED = "limited"
    LOCKED = "locked"
    TRY_AGAIN = "try_again"


@dataclass(frozen=True)
class CodeAnswer:
    outcome: CodeRequest
    wait: int = 0


@dataclass(frozen=True)
class CodeCheck:
    outcome: Outcome
    account: AccountRow | None = None


class SignIn:
    """Codes and their limits, kept in the console's database so every instance shares them."""

    def __init__(
        self, store: EventStore, settings: ConsoleSettings, peers: Peers, clock: Clock
    ) -> None:
        self._store = store
        self._settings = settings
        self._peers = peers
        self._clock = clock
        self._key = settings.code_secret.encode()

    def _hash(self, *parts: str) -> str:
        return hmac.new(self._key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()

    async def request_code(self, phone: str, client: str) -> CodeAnswer:
        """Count the request, draw a code, keep its hash; text it when the phone has an
        active account. Answered no sooner than `answer_after` seconds, whichever path."""
        deadline = time.monotonic() + self._settings.answer_after
        answer = await self._request_code(phone, client)
        await asyncio.sleep(max(0.0, deadline - time.monotonic()))
        return answer

    async def _request_code(self, phone: str, client: str) -> CodeAnswer:
        now = self._clock.now()
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        phone_key = self._hash("phone", phone)
        async with self._store.begin() as conn:
            for key, limit in (
                (self._hash("client", client), self._settings.per_client),
                (self._hash("asks", phone), self._settings.per_phone),
            ):
                wait = await _count(conn, key, now, limit, self._settings)
                if wait:
                    return CodeAnswer(CodeRequest.LIMITED, wait)
            record = await _record(conn, phone_key)
            issued = issue(record, self._hash("code", phone, code), now)
            if issued is None:
                return CodeAnswer(CodeRequest.LOCKED)
            await _keep(conn, phone_key, issued)
            account = await account_with_phone(conn, phone)
        if account is None or account.paused:
            return CodeAnswer(CodeRequest.SENT)  # the same answer; nothing is sent
        try:
            await self._peers.send_sign_in_code(phone, code)
        except PeerError:
            return CodeAnswer(CodeRequest.TRY_AGAIN)
        log.info("sign-in code sent to %s", mask_phone(phone))
        return CodeAnswer(CodeRequest.SENT)

    async def check_code(self, phone: str, code: str) -> CodeCheck:
        """One try at the phone's code; the account when it is right and may sign in."""
        now = self._clock.now()
        phone_key = self._hash("phone", phone)
        async with self._store.begin() as conn:
            record = await _record(conn, phone_key)
            given = self._hash("code", phone, code)
            matches = (
                record is not None
                and record.code_hash is not None
                and hmac.compare_digest(record.code_hash, given)
            )
            tried = try_code(record, matches, now)
            if tried.record is None:
                await conn.execute(
                    sign_in_codes.delete().where(sign_in_codes.c.phone_key == phone_key)
                )
            else:
                await _keep(conn, phone_key, tried.record)
            if tried.outcome is not Outcome.ACCEPTED:
                return CodeCheck(tried.outcome)
            account = await account_with_phone(conn, phone)
        if account is None or account.paused:
            # A code is only ever sent to an active account: someone paused since.
            return CodeCheck(Outcome.NO_CODE)
        return CodeCheck(Outcome.ACCEPTED, account)


async def _count(
    conn: AsyncConnection, key: str, now: datetime, limit: int, settings: ConsoleSettings
) -> int:
    """Count one request for `key`; 0 when admitted, else seconds to wait."""
    await _ensure_row(conn, sign_in_hits, sign_in_hits.c.key, key, started_at=now, count=0)
    row = (
        await conn.execute(
            sa.select(sign_in_hits.c.started_at, sign_in_hits.c.count)
            .where(sign_in_hits.c.key == key)
            .with_for_update()
        )
    ).one()
    started_at, count = row
    current = Window(started_at=started_at, count=count) if count else None
    admitted = admit(current, now, limit, settings.limit_window)
    if admitted.window is None:
        return admitted.wait
    await conn.execute(
        sign_in_hits.update()
        .where(sign_in_hits.c.key == key)
        .values(started_at=admitted.window.started_at, count=admitted.window.count)
    )
    return 0


async def _ensure_row(
    conn: AsyncConnection, table: sa.Table, column: sa.Column[str], key: str, **values: object
) -> None:
    """The key's row exists (created with `values` if new), so it can be locked and updated;
    two instances creating it at once both go on."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    await conn.execute(
        dialect.insert(table).values({column.name: key, **values}).on_conflict_do_nothing()
    )


async def _record(conn: AsyncConnection, phone_key: str) -> CodeRecord | None:
    row = (
        await conn.execute(
            sa.select(sign_in_codes).where(sign_in_codes.c.phone_key == phone_key).with_for_update()
        )
    ).one_or_none()
    if row is None:
        return None
    return CodeRecord(
        code_hash=row.code_hash,
        expires_at=row.expires_at,
        wrong_tries=row.wrong_tries,
        locked_until=row.locked_until,
    )


async def _keep(conn: AsyncConnection, phone_key: str, record: CodeRecord) -> None:
    values = {
        "code_hash": record.code_hash,
        "expires_at": record.expires_at,
        "wrong_tries": record.wrong_tries,
        "locked_until": record.locked_until,
    }
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    await conn.execute(
        dialect.insert(sign_in_codes)
        .values(phone_key=phone_key, **values)
        .on_conflict_do_update(index_elements=[sign_in_codes.c.phone_key], set_=values)
    )
