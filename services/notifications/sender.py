"""The sender: takes due messages from the send queue and hands them to the provider.

Each message is claimed by one instance (a lease on its queue row; PostgreSQL skips rows
another instance has locked), marked `sms.sending_started` and committed BEFORE the provider
call, then marked sent, retried later or failed. A sender that dies mid-call leaves the
message `sending`: when its lease runs out another sender finds it and follows the domain's
rule (`decide_recover_interrupted`): resend only where the provider drops duplicates, else
record it failed and alert a coordinator, never send twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifications import handlers, views
from services.notifications.domain.errors import DomainError
from services.notifications.domain.messages import (
    Message,
    MessageEvent,
    MessageStatus,
    decide_record_failure,
    decide_record_sent,
    decide_recover_interrupted,
    decide_start_sending,
    evolve,
)
from services.notifications.providers.base import (
    ProviderError,
    ProviderReceipt,
    ProviderTemporaryError,
    SmsProvider,
    mask_phone,
)
from services.notifications.settings import NotificationSettings
from services.notifications.tables import messages, outgoing, recipients
from shared.events.base import Cause
from shared.events.notifications import SmsFailed, SmsSendingStarted
from shared.ids import uuid7
from shared.store.eventstore import ConcurrencyError, EventStore, StreamAppend, Transaction

log = logging.getLogger("handinhand.notifications.sender")


def _claim_statement(*, skip_locked: bool) -> sa.UpdateBase:
    """Lease up to a batch of due, unheld queue rows; PostgreSQL skips rows another sender
    has locked. Built once (SQLAlchemy then reuses the compiled form)."""
    now = sa.bindparam("c_now", type_=outgoing.c.due_at.type)
    due = (
        sa.select(outgoing.c.message_id)
        .where(
            outgoing.c.due_at <= now,
            sa.or_(outgoing.c.claimed_until.is_(None), outgoing.c.claimed_until < now),
        )
        .order_by(outgoing.c.due_at)
        .limit(sa.bindparam("c_limit", type_=sa.Integer()))
    )
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    return (
        outgoing.update()
        .where(outgoing.c.message_id.in_(due.scalar_subquery()))
        .values(claimed_until=sa.bindparam("c_until"), claimed_by=sa.bindparam("c_owner"))
        .returning(outgoing.c.message_id)
    )


_CLAIM = _claim_statement(skip_locked=False)
_CLAIM_SKIPPING_LOCKED = _claim_statement(skip_locked=True)


_WITH_CONSENT = messages.outerjoin(recipients, recipients.c.phone == messages.c.recipient_phone)
# The claimed messages' rows, each with its recipient's opt-out.
_CLAIMED = (
    sa.select(messages, recipients.c.opted_out)
    .select_from(_WITH_CONSENT)
    .where(messages.c.message_id.in_(sa.bindparam("c_ids", expanding=True)))
)
# PostgreSQL: the claim as a CTE, so claiming and reading is one round trip.
_claiming = _CLAIM_SKIPPING_LOCKED.cte("claiming")
_CLAIM_AND_READ = (
    sa.select(messages, recipients.c.opted_out)
    .select_from(_WITH_CONSENT)
    .where(messages.c.message_id.in_(sa.select(_claiming.c.message_id)))
)
_UNQUEUE = outgoing.delete().where(outgoing.c.message_id.in_(sa.bindparam("c_ids", expanding=True)))


@dataclasses.dataclass(frozen=True)
class Attempt:
    """A message marked as being sent, and what the provider answered."""

    state: Message
    version: int
    receipt: ProviderReceipt | None = None
    error: ProviderError | None = None


class Sender:
    """One instance's sending loop; run several instances, each message goes out once."""

    def __init__(
        self,
        store: EventStore,
        provider: SmsProvider,
        settings: NotificationSettings,
        *,
        owner: str,
        random_source: Callable[[], float] = random.random,
        on_idle: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.provider = provider
        self.settings = settings
        self.owner = owner
        self.random = random_source
        self.on_idle = on_idle
        self.sent = 0
        self.failed = 0
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was queued: look now rather than after the idle wait."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Send until stopped: the next batch is claimed and marked while the provider is
        still busy with the previous one (at most two batches in hand)."""
        delivering: asyncio.Task[None] | None = None
        try:
            while not stop.is_set():
                try:
                    claimed, attempts = await self._take()
                except Exception as error:
                    if not self.store.reachability.lost(error):  # an outage is said once
                        log.warning("sender paused: %s", error)
                    claimed, attempts = 0, []
                if delivering is not None:
                    await delivering
                    delivering = None
                if attempts:
                    delivering = asyncio.create_task(self._deliver(attempts))
                if claimed < self.settings.batch_size:
                    await self._idle(stop)
        finally:
            if delivering is not None:
                await delivering  # marked as being sent: finish them, or a restart fails them

    async def _idle(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED),
                self.settings.idle_wait,
            )
        for waiter in waiters:
            waiter.cancel()
        self._wake.clear()

    async def send_due(self) -> int:
        """Claim what is due, send it, record the outcomes; return how many were claimed."""
        claimed, attempts = await self._take()
        if attempts:
            results = await self._call_provider(attempts)
            await self._record(results)
        return claimed

    async def _take(self) -> tuple[int, list[Attempt]]:
        """Claim a batch and mark it as being sent, in one transaction: how many were claimed,
        what to send. The claim is committed with the marks, before any provider call."""
        try:
            async with self.store.transaction() as tx:
                rows = await self._claim(tx.conn)
                attempts = await self._start_in(tx, rows) if rows else []
        except ConcurrencyError:
            pass
        else:
            return len(rows), attempts
        # A message changed between the read and the append (e.g. a delivery receipt): claim
        # again on its own, then mark the messages one by one.
        async with self.store.begin() as conn:
            claimed = await self._claim_ids(conn)
        attempts = []
        for message_id in claimed:
            with contextlib.suppress(ConcurrencyError):
                async with self.store.transaction() as tx:
                    one = (await tx.conn.execute(_CLAIMED, {"c_ids": [message_id]})).all()
                    attempts.extend(await self._start_in(tx, one))
        return len(claimed), attempts

    async def _deliver(self, attempts: list[Attempt]) -> None:
        try:
            await self._record(await self._call_provider(attempts))
        except Exception as error:
            if not self.store.reachability.lost(error):  # an outage is said once
                log.warning("sender paused: %s", error)

    async def _claim(self, conn: AsyncConnection) -> list[sa.Row[Any]]:
        """Take up to a batch of due, unheld messages and read them (with the recipient's
        consent): one statement on PostgreSQL, where the claim is a CTE, two on SQLite."""
        if conn.dialect.name == "postgresql":
            return list((await conn.execute(_CLAIM_AND_READ, self._claim_parameters())).all())
        claimed = await self._claim_ids(conn)
        if not claimed:
            return []
        return list((await conn.execute(_CLAIMED, {"c_ids": claimed})).all())

    async def _claim_ids(self, conn: AsyncConnection) -> list[str]:
        claim = _CLAIM_SKIPPING_LOCKED if conn.dialect.name == "postgresql" else _CLAIM
        return list(await conn.scalars(claim, self._claim_parameters()))

    def _claim_parameters(self) -> dict[str, Any]:
        now = self.store.clock.now()
        return {
            "c_now": now,
            "c_limit": self.settings.batch_size,
            "c_until": now + self.settings.lease,
            "c_owner": self.owner,
        }

    async def _start_in(self, tx: Transaction, rows: Sequence[sa.Row[Any]]) -> list[Attempt]:
        """Mark the claimed messages (their rows) as being sent, with one append for all."""
        now = self.store.clock.now()
        attempts: list[Attempt] = []
        appends: list[StreamAppend] = []
        settled: list[str] = []
        cause = Cause(correlation_id=uuid7())
        for row in rows:
            state = views.message_state(row)
            # The row is kept in step with the stream by the appends, in this transaction.
            tx.know_version(state.message_id, row.version)
            if state.status is MessageStatus.SENDING:
                events = self._recovery(state, now)
            elif state.status is not MessageStatus.QUEUED:
                settled.append(state.message_id)
                continue
            elif now < state.next_attempt_at:
                continue
            else:
                events = decide_start_sending(
                    state, now, opted_out=bool(row.opted_out), policy=self.settings.opt_out
                )
                if isinstance(events[0], SmsSendingStarted):
                    attempts.append(
                        Attempt(state=evolve(state, events[0]), version=row.version + 1)
                    )
            appends.append(StreamAppend(state.message_id, row.version, events, cause))
        if settled:
            await tx.conn.execute(_UNQUEUE, {"c_ids": settled})
        await self._append(tx, appends, now)
        return attempts

    def _recovery(self, state: Message, now: datetime) -> list[MessageEvent]:
        events = decide_recover_interrupted(
            state,
            now,
            stale_after=self.settings.lease,
            provider_deduplicates=self.settings.provider_deduplicates,
        )
        # None: another sender's attempt is still within its lease; let it finish.
        if events:
            log.warning("message %s was interrupted mid-send: %s", state.message_id, events[0])
        return events

    async def _append(self, tx: Transaction, appends: list[StreamAppend], now: datetime) -> None:
        recorded = await tx.append_many(appends, projector=views.project_many)
        for item in recorded:
            if isinstance(item.event, SmsFailed):
                self.failed += 1
                await handlers.alert_failure(tx, self.settings, now, item)

    async def _call_provider(self, attempts: list[Attempt]) -> list[Attempt]:
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def call(attempt: Attempt) -> Attempt:
            state = attempt.state
            async with gate:
                try:
                    receipt = await self.provider.send(
                        state.recipient_phone, state.text, state.message_id
                    )
                except ProviderError as error:
                    log.info(
                        "provider refused %s to %s: %s",
                        state.message_id,
                        mask_phone(state.recipient_phone),
                        error,
                    )
                    return dataclasses.replace(attempt, error=error)
            return Attempt(state=state, version=attempt.version, receipt=receipt)

        if len(attempts) == 1:  # the usual case at a steady rate: no task needed
            return [await call(attempts[0])]
        return list(await asyncio.gather(*(call(attempt) for attempt in attempts)))

    async def _record(self, results: list[Attempt]) -> None:
        """What the provider answered, for the whole batch in one append; if a message
        changed meanwhile (a delivery receipt), one by one from its stream."""
        try:
            async with self.store.transaction() as tx:
                now = self.store.clock.now()
                cause = Cause(correlation_id=uuid7())
                appends = [self._outcome(tx, result, now, cause) for result in results]
                await self._append(tx, appends, now)
        except (ConcurrencyError, DomainError):
            for result in results:
                try:
                    async with self.store.transaction() as tx:
                        await self._record_one(tx, result)
                except (ConcurrencyError, DomainError) as error:
                    log.warning("could not record %s: %s", result.state.message_id, error)
        self.sent += sum(1 for result in results if result.receipt is not None)

    def _outcome(
        self,
        tx: Transaction,
        result: Attempt,
        now: datetime,
        cause: Cause,
        *,
        reloaded: Message | None = None,
    ) -> StreamAppend:
        state = reloaded or result.state
        if reloaded is None:
            # This sender appended that version (the unique constraint catches any other).
            tx.know_version(state.message_id, result.version)
        if result.receipt is not None:
            events = decide_record_sent(
                state, self.provider.name, result.receipt.provider_message_id, now
            )
        else:
            error = result.error
            assert error is not None
            retry_after = (
                timedelta(seconds=error.retry_after)
                if isinstance(error, ProviderTemporaryError) and error.retry_after is not None
                else None
            )
            events = decide_record_failure(
                state,
                str(error)[:500],
                permanent=not isinstance(error, ProviderTemporaryError),
                now=now,
                retry=self.settings.retry,
                random=self.random,
                quiet=self.settings.quiet,
                retry_after=retry_after,
            )
        return StreamAppend(state.message_id, result.version, events, cause)

    async def _record_one(self, tx: Transaction, result: Attempt) -> None:
        now = self.store.clock.now()
        stream = await tx.load(result.state.message_id)
        folded: Message | None = None
        for recorded in stream.events:
            folded = evolve(folded, recorded.event)  # type: ignore[arg-type]
        assert folded is not None
        append = self._outcome(tx, result, now, Cause(correlation_id=uuid7()), reloaded=folded)
        await self._append(tx, [append._replace(expected_version=stream.version)], now)
