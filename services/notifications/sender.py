"""The sender: takes due messages from the send queue and hands them to the provider.

Each message is claimed by one instance (a lease on its queue row; PostgreSQL skips rows
another instance has locked), marked `sms.sending_started` and committed BEFORE the provider
call, then marked sent, retried later or failed. What the provider answered is kept until it
is stored: while the database is away the sender holds those outcomes, stores them again with
backoff, and claims nothing more. A sender that dies mid-call (or while holding) leaves the
message `sending`: when its lease runs out another sender asks the provider about it
(`lookups.py`) and follows the domain's rule (`domain/interrupted.py`): recorded sent when
the provider has it, sent again when it has no record, asked again later when it cannot say.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.notifications import handlers, lookups
from services.notifications.domain.errors import DomainError
from services.notifications.domain.interrupted import is_interrupted
from services.notifications.domain.messages import (
    Message,
    MessageStatus,
    decide_record_failure,
    decide_record_sent,
    decide_start_sending,
    evolve,
)
from services.notifications.lookups import Interrupted
from services.notifications.providers.base import (
    ProviderError,
    ProviderOutcomeUnknownError,
    ProviderReceipt,
    ProviderTemporaryError,
    SmsProvider,
)
from services.notifications.settings import NotificationSettings
from services.notifications.tables import messages, outgoing, recipients
from services.notifications.views import projection, queries
from shared.events.base import Cause
from shared.events.notifications import SmsFailed, SmsSendingStarted, SmsSent
from shared.ids import uuid7
from shared.phones import mask_phone
from shared.store.eventstore import ConcurrencyError, EventStore, StreamAppend, Transaction

log = logging.getLogger("handinhand.notifications.sender")

# What a database that is away (stopped, unreachable, locked past the wait) raises.
STORE_ERRORS = (sa.exc.SQLAlchemyError, OSError)
# Storing again after the database went away: the first wait, and the longest.
FIRST_STORE_WAIT = 0.05
LONGEST_STORE_WAIT = 2.0
# A stopping sender keeps storing what it holds this long; after that it leaves the messages
# `sending`, and the next sender finds them at the provider.
STOP_GRACE = 5.0


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


@dataclasses.dataclass
class Work:
    """What one claim gave this sender: messages to send, interrupted ones to ask about."""

    claimed: int = 0
    attempts: list[Attempt] = dataclasses.field(default_factory=list)
    interrupted: list[Interrupted] = dataclasses.field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.attempts or self.interrupted)


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
        self.recovered = 0
        # Answered outcomes not stored yet (the database is away).
        self.holding = 0
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
                    work = await self._take()
                except Exception as error:
                    if not self.store.reachability.lost(error):  # an outage is said once
                        log.warning("sender paused: %s", error)
                    work = Work()
                if delivering is not None:
                    # Holds while the previous batch's outcomes wait for the database: no
                    # more is claimed than the batch in hand.
                    await delivering
                    delivering = None
                if work:
                    delivering = asyncio.create_task(self._deliver(work, stop))
                if work.claimed < self.settings.batch_size:
                    await self._idle(stop)
        finally:
            if delivering is not None:
                await delivering  # marked as being sent: finish them, or a restart asks again

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
        """Claim what is due, send it (and ask about interrupted sends), store the outcomes,
        holding them until the database takes them; return how many were claimed."""
        work = await self._take()
        if work:
            await self._deliver(work, None)
        return work.claimed

    async def _take(self) -> Work:
        """Claim a batch and mark it as being sent, in one transaction. The claim is
        committed with the marks, before any provider call."""
        try:
            async with self.store.transaction() as tx:
                rows = await self._claim(tx.conn)
                work = await self._start_in(tx, rows) if rows else Work()
        except ConcurrencyError:
            pass
        else:
            work.claimed = len(rows)
            return work
        # A message changed between the read and the append (e.g. a delivery receipt): claim
        # again on its own, then mark the messages one by one.
        async with self.store.begin() as conn:
            claimed = await self._claim_ids(conn)
        work = Work(claimed=len(claimed))
        for message_id in claimed:
            with contextlib.suppress(ConcurrencyError):
                async with self.store.transaction() as tx:
                    one = (await tx.conn.execute(_CLAIMED, {"c_ids": [message_id]})).all()
                    found = await self._start_in(tx, one)
                    work.attempts.extend(found.attempts)
                    work.interrupted.extend(found.interrupted)
        return work

    async def _deliver(self, work: Work, stop: asyncio.Event | None) -> None:
        try:
            results = await self._call_provider(work.attempts) if work.attempts else []
            answers = (
                await lookups.ask(
                    self.provider,
                    work.interrupted,
                    concurrency=self.settings.concurrency,
                    now=self.store.clock.now(),
                )
                if work.interrupted
                else []
            )
            await self._keep_until_stored(self._known(results), answers, stop)
        except Exception as error:
            if not self.store.reachability.lost(error):  # an outage is said once
                log.warning("sender paused: %s", error)

    @staticmethod
    def _known(results: list[Attempt]) -> list[Attempt]:
        """The outcomes to store; a call whose answer was lost (the request left, nothing
        readable came back) stays `sending`, and the provider is asked after the lease."""
        known = [r for r in results if not isinstance(r.error, ProviderOutcomeUnknownError)]
        if len(known) < len(results):
            log.warning(
                "%d messages left sending: the provider's answer was lost; it is asked "
                "about them once their lease runs out",
                len(results) - len(known),
            )
        return known

    async def _keep_until_stored(
        self, results: list[Attempt], answers: list[Interrupted], stop: asyncio.Event | None
    ) -> None:
        """The provider has answered, so the outcome is known: store it, and while the
        database is away keep it and store it again (with backoff) until it is stored."""
        wait = FIRST_STORE_WAIT
        give_up_at: float | None = None
        while True:
            results = await self._record(results)
            answers = await self._settle(answers)
            self.holding = len(results) + len(answers)
            if not self.holding:
                return
            if stop is not None and stop.is_set():
                give_up_at = give_up_at or time.monotonic() + STOP_GRACE
                if time.monotonic() > give_up_at:
                    log.error(
                        "stopping with %d outcomes not stored; the next sender finds them at "
                        "the provider",
                        self.holding,
                    )
                    return
            log.warning(
                "database away: holding %d answered outcomes, storing again in %.2f s",
                self.holding,
                wait,
            )
            await asyncio.sleep(wait)
            wait = min(wait * 2, LONGEST_STORE_WAIT)

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

    async def _start_in(self, tx: Transaction, rows: Sequence[sa.Row[Any]]) -> Work:
        """Mark the claimed messages (their rows) as being sent, with one append for all;
        interrupted ones stay `sending`, leased to this sender while it asks the provider."""
        now = self.store.clock.now()
        work = Work()
        appends: list[StreamAppend] = []
        settled: list[str] = []
        cause = Cause(correlation_id=uuid7())
        for row in rows:
            state = queries.message_state(row)
            # The row is kept in step with the stream by the appends, in this transaction.
            tx.know_version(state.message_id, row.version)
            if state.status is MessageStatus.SENDING:
                # Within its lease it is another sender's (a claim that outran it).
                if is_interrupted(state, now, stale_after=self.settings.lease):
                    work.interrupted.append(Interrupted(state=state))
                continue
            if state.status is not MessageStatus.QUEUED:
                settled.append(state.message_id)
                continue
            if now < state.next_attempt_at:
                continue
            events = decide_start_sending(
                state, now, opted_out=bool(row.opted_out), policy=self.settings.opt_out
            )
            if isinstance(events[0], SmsSendingStarted):
                work.attempts.append(
                    Attempt(state=evolve(state, events[0]), version=row.version + 1)
                )
            appends.append(StreamAppend(state.message_id, row.version, events, cause))
        if settled:
            await tx.conn.execute(_UNQUEUE, {"c_ids": settled})
        await self._append(tx, appends, now)
        return work

    async def _append(self, tx: Transaction, appends: list[StreamAppend], now: datetime) -> None:
        recorded = await tx.append_many(appends, projector=projection.project_many)
        for item in recorded:
            if isinstance(item.event, SmsFailed):
                self.failed += 1
                await handlers.alert_failure(tx, item, settings=self.settings, now=now)

    async def _call_provider(self, attempts: list[Attempt]) -> list[Attempt]:
        gate = asyncio.Semaphore(self.settings.concurrency)
        lease, margin = self.settings.lease, self.settings.call_margin

        async def call(attempt: Attempt) -> Attempt:
            state = attempt.state
            async with gate:
                began = state.sending_since or self.store.clock.now()
                if self.store.clock.now() > began + lease - margin:
                    # Held too long (the database was away): another sender may take it as
                    # interrupted while this call is still under way. Not sent; retried.
                    late = ProviderTemporaryError("not sent: its lease ran short before the call")
                    return dataclasses.replace(attempt, error=late)
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

    async def _record(self, results: list[Attempt]) -> list[Attempt]:
        """What the provider answered, for the whole batch in one append; if a message
        changed meanwhile (a delivery receipt), one by one from its stream. Returns what
        could not be stored because the database is away (empty once all is stored)."""
        if not results:
            return []
        try:
            async with self.store.transaction() as tx:
                now = self.store.clock.now()
                cause = Cause(correlation_id=uuid7())
                appends = [self._outcome(tx, result, now, cause) for result in results]
                await self._append(tx, appends, now)
        except (ConcurrencyError, DomainError):
            pass
        except STORE_ERRORS as error:
            log.warning("could not store %d outcomes: %r", len(results), error)
            return results
        else:
            self.sent += sum(1 for result in results if result.receipt is not None)
            return []
        for index, result in enumerate(results):
            try:
                async with self.store.transaction() as tx:
                    await self._record_one(tx, result)
            except (ConcurrencyError, DomainError) as error:
                log.warning("could not record %s: %s", result.state.message_id, error)
            except STORE_ERRORS as error:
                log.warning("could not store %d outcomes: %r", len(results) - index, error)
                return results[index:]
            else:
                self.sent += result.receipt is not None
        return []

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
        folded = lookups.message_from(stream)
        if folded.status is MessageStatus.SENDING and folded.attempts != result.state.attempts:
            # A later attempt (after this one was taken as interrupted) owns the message now.
            log.warning("outcome of an earlier attempt of %s dropped", folded.message_id)
            return
        if folded.status is not MessageStatus.SENDING and result.receipt is None:
            return  # settled meanwhile (stored on an earlier try, or found by a look-up)
        append = self._outcome(tx, result, now, Cause(correlation_id=uuid7()), reloaded=folded)
        await self._append(tx, [append._replace(expected_version=stream.version)], now)

    async def _settle(self, answers: list[Interrupted]) -> list[Interrupted]:
        """Store what the provider said about interrupted sends, each from its stream;
        returns what could not be stored because the database is away."""
        for index, answer in enumerate(answers):
            try:
                async with self.store.transaction() as tx:
                    await self._settle_one(tx, answer)
            except (ConcurrencyError, DomainError) as error:
                log.warning("could not settle %s: %s", answer.state.message_id, error)
            except STORE_ERRORS as error:
                log.warning("could not store %d look-ups: %r", len(answers) - index, error)
                return answers[index:]
        return []

    async def _settle_one(self, tx: Transaction, answer: Interrupted) -> None:
        now = self.store.clock.now()
        append = await lookups.decide_in(
            tx,
            answer,
            provider=self.provider.name,
            settings=self.settings,
            random=self.random,
            now=now,
        )
        if append is not None:
            await self._append(tx, [append], now)
            self.recovered += isinstance(append.events[0], SmsSent)
