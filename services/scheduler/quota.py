"""The public form's limits counted in the scheduler's database, once for every instance.

Requests placed together (`intake.HelpDesk`) take their places inside the transaction that
places them, with two statements for the whole batch: one upsert that makes sure each key
(client address, phone) has its row, locks it and returns its latest hits (PostgreSQL locks in
key order, so instances asking at once queue, and two never both take the last place; SQLite
has one writer at a time anyway), then one update of the hits that changed. If the placing
fails, the hits roll back with it. Keys are keyed hashes: no address or number is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from services.scheduler.limits import HelpRequestLimits, admit
from services.scheduler.tables import help_request_hits as hits_table
from shared.runtime import Runtime
from shared.store.eventstore import EventStore
from shared.web.problems import TooManyRequestsError

log = logging.getLogger("handinhand.scheduler.quota")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Rows of keys last seen more than a window ago are deleted this often (by every instance).
FORGET_EVERY_S = 60.0


def _lock_statement(dialect: Any) -> sa.Insert:
    """Each key's row, created empty if new, locked until the transaction ends, as it stands
    (the update changes nothing: it is there to lock and return the row)."""
    insert = dialect.insert(hits_table)
    locked: sa.Insert = insert.on_conflict_do_update(
        index_elements=[hits_table.c.key],
        set_={"forget_after": hits_table.c.forget_after},
    ).returning(hits_table.c.key, hits_table.c.hits)
    return locked


_LOCK = {"postgresql": _lock_statement(postgresql), "sqlite": _lock_statement(sqlite)}
_UPDATE = (
    hits_table.update()
    .where(hits_table.c.key == sa.bindparam("h_key"))
    .values(hits=sa.bindparam("h_hits"), forget_after=sa.bindparam("h_forget_after"))
)
_FORGET = hits_table.delete().where(hits_table.c.forget_after < sa.bindparam("now"))


class Asker(NamedTuple):
    """Whom a public help request counts against: the client address (None: filed with a
    staff token, whose address is not limited) and the resident's phone in E.164 (None: not
    readable; the request is refused later, by field)."""

    client: str | None
    phone: str | None


class HelpRequestQuota:
    """What each client address and phone may still ask, for the whole deployment."""

    def __init__(self, runtime: Runtime, limits: HelpRequestLimits, secret: str) -> None:
        self.runtime = runtime
        self.limits = limits
        self._secret = secret.encode()

    async def take(self, asker: Asker) -> None:
        """Count one request in a transaction of its own, or raise TooManyRequestsError (for a
        request placed alone, e.g. with an Idempotency-Key)."""
        if self.limits.lifted:
            return
        async with self.runtime.store.begin() as conn:
            (refused,) = await self.take_in(conn, [asker])
        if refused is not None:
            raise refused

    async def take_in(
        self, conn: AsyncConnection, askers: Sequence[Asker]
    ) -> list[TooManyRequestsError | None]:
        """Count each asker's request in turn, in the caller's transaction: None where it may
        go ahead, else the error to answer with (seconds to wait included). A refused client
        counts nothing for the phone; a refused phone still counts for the client."""
        if self.limits.lifted:
            return [None] * len(askers)
        at, window = microseconds(self.limits.clock.now()), self.limits.window // _MICROSECOND
        counted = [list(self._limits_of(asker)) for asker in askers]
        keys = sorted({key for limits in counted for key, _most, _refusal in limits})
        if not keys:
            return [None] * len(askers)
        rows = [{"key": key, "hits": "", "forget_after": at + window} for key in keys]
        found = await conn.execute(_LOCK[conn.dialect.name], rows[0] if len(rows) == 1 else rows)
        hits = {key: _decoded(latest) for key, latest in found}
        changed: set[str] = set()
        outcomes: list[TooManyRequestsError | None] = []
        for limits in counted:
            refused = None
            for key, most, refusal in limits:  # the client first
                admitted = admit(hits[key], at, most, window)
                if admitted.hits is None:
                    refused = TooManyRequestsError(refusal, admitted.wait)
                    break
                hits[key] = admitted.hits
                changed.add(key)
            outcomes.append(refused)
        if changed:
            updates = [
                {
                    "h_key": key,
                    "h_hits": ",".join(map(str, hits[key])),
                    "h_forget_after": at + window,
                }
                for key in sorted(changed)
            ]
            await conn.execute(_UPDATE, updates[0] if len(updates) == 1 else updates)
        return outcomes

    def _limits_of(self, asker: Asker) -> Iterator[tuple[str, int, str]]:
        if asker.client is not None:
            yield (
                self._key("client", asker.client),
                self.limits.per_client,
                "too many help requests from this address",
            )
        if asker.phone is not None:
            yield (
                self._key("phone", asker.phone),
                self.limits.per_phone,
                "too many help requests for this phone number",
            )

    def _key(self, kind: str, value: str) -> str:
        digest = hmac.new(self._secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
        return f"{kind}:{digest[:40]}"


def microseconds(moment: datetime) -> int:
    """A time as the table keeps it."""
    return (moment - _EPOCH) // _MICROSECOND


def _decoded(hits: str) -> tuple[int, ...]:
    return tuple(map(int, hits.split(","))) if hits else ()


async def forget_hits(store: EventStore, now: datetime) -> int:
    """Delete the rows of keys not seen for a window by `now`; how many went."""
    async with store.begin() as conn:
        return (await conn.execute(_FORGET, {"now": microseconds(now)})).rowcount


async def forget_old_hits(runtime: Runtime, stop: asyncio.Event) -> None:
    """`forget_hits` every FORGET_EVERY_S, until `stop` (every instance does, harmlessly)."""
    while not stop.is_set():
        try:
            await forget_hits(runtime.store, runtime.clock.now())
        except Exception as error:
            if not runtime.database_lost(error):  # an outage is said once
                log.warning("old help-request hits not forgotten: %s", error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), FORGET_EVERY_S)
