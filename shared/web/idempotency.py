"""Idempotency-Key for POSTs that create: a retried request gets the first answer and appends
nothing new (the key also seeds the ids of the events and of what is created)."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated, NamedTuple

import sqlalchemy as sa
from litestar.params import HeaderParameter
from sqlalchemy.exc import IntegrityError

from shared.ids import derived_id, uuid7
from shared.store.eventstore import ConcurrencyError, EventStore, Transaction
from shared.web.problems import InvalidInputError

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
# The header as routes that accept it document it (a dependency's parameter, shared/web/app.py).
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name=HEADER,
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        pattern=r"\S",
        description="A retry with the same key gets the first answer and changes nothing more.",
        required=False,
    ),
]


class StoredAnswer(NamedTuple):
    status_code: int
    body: bytes


def new_id(prefix: str, key: str | None, scope: str) -> str:
    """An id for a created thing: fixed by the Idempotency-Key when there is one."""
    value = derived_id("created", scope, key) if key else uuid7()
    return f"{prefix}-{value}"


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInputError(
            HEADER, f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters"
        )
    return key


async def answer_once(
    store: EventStore,
    key: str | None,
    scope: str,
    request_body: bytes,
    work: Callable[[Transaction], Awaitable[StoredAnswer]],
) -> StoredAnswer:
    """Run `work` in one transaction, or return what the first request with this key got."""
    if key is None:
        async with store.transaction() as tx:
            return await work(tx)
    table = store.tables.idempotency
    stored_key = f"{scope}:{key}"
    fingerprint = hashlib.sha256(request_body).hexdigest()
    for _ in range(2):
        async with store.reader.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(table.c.request_hash, table.c.status_code, table.c.body).where(
                        table.c.key == stored_key
                    )
                )
            ).first()
        if row is not None:
            if row.request_hash != fingerprint:
                raise InvalidInputError(
                    HEADER, f"this {HEADER} was already used for a different request"
                )
            return StoredAnswer(row.status_code, bytes(row.body))
        try:
            async with store.transaction() as tx:
                answer = await work(tx)
                await tx.conn.execute(
                    table.insert().values(
                        key=stored_key,
                        request_hash=fingerprint,
                        status_code=answer.status_code,
                        body=answer.body,
                        created_at=store.clock.now(),
                    )
                )
                return answer
        except (IntegrityError, ConcurrencyError):
            continue  # a concurrent retry with the same key won: read its answer
    raise ConcurrencyError(stored_key, 0, None)
