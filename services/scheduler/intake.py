"""The help desk: public help requests that reach this process together are placed together.

A request waits at most one turn of the event loop for others; then everything waiting is
placed in one transaction (`request_help_together`), each request getting its own
answer. The public form's limits are taken in that transaction too, for the whole batch at
once (`quota.HelpRequestQuota.take_in`); a request over its limit gets its 429 and the others
go ahead. Under load the batches grow by themselves (what arrived while one batch was written
forms the next); alone, a request is placed at once. If a batch fails as a whole (a conflict
with another instance, a bad row), each of its requests is placed again alone, so one
request's trouble never becomes another's; when the database is out of reach, every request
of the batch gets that error at once (503).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, NamedTuple

from services.scheduler.handlers.placing import (
    Filing,
    Placed,
    RequestOutcome,
    request_help,
    request_help_together,
)

if TYPE_CHECKING:
    from services.scheduler.domain.requests import RequestHelp
    from services.scheduler.memory import Memory
    from services.scheduler.quota import Asker, HelpRequestQuota
    from shared.events.base import Cause
    from shared.runtime import Runtime

log = logging.getLogger("handinhand.scheduler.intake")

# A batch holds at most this many requests (a bigger one would hold the write lock longer).
BATCH_MOST = 64


class _Waiting(NamedTuple):
    filing: Filing
    asker: Asker
    answer: asyncio.Future[RequestOutcome]


class HelpDesk:
    def __init__(
        self,
        runtime: Runtime,
        quota: HelpRequestQuota,
        memory: Memory,
        *,
        most: int = BATCH_MOST,
    ) -> None:
        self.runtime = runtime
        self.memory = memory  # the sessions and villages this process remembers
        self.quota = quota  # the public form's limits, taken with the placing
        self.most = most
        self.batches = 0
        self._waiting: list[_Waiting] = []
        self._placing: asyncio.Task[None] | None = None

    async def place(self, command: RequestHelp, cause: Cause, asker: Asker) -> RequestOutcome:
        """File and place one request (with whatever arrives meanwhile); raises what placing
        it alone would raise, e.g. HelpRequestRejectedError, or TooManyRequestsError when the
        asker is over the form's limit."""
        answer: asyncio.Future[RequestOutcome] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(Filing(command, cause), asker, answer))
        if self._placing is None or self._placing.done():
            self._placing = asyncio.create_task(self._place_waiting(), name="help-desk")
        return await answer

    async def _place_waiting(self) -> None:
        await asyncio.sleep(0)  # requests read in the same turn of the loop join this batch
        while self._waiting:
            batch, self._waiting = self._waiting[: self.most], self._waiting[self.most :]
            try:
                await self._place_batch(batch)
            except BaseException:  # cancelled (shutting down): nobody may wait for ever
                for waiting in [*batch, *self._waiting]:
                    waiting.answer.cancel()
                self._waiting = []
                raise

    async def _place_batch(self, batch: list[_Waiting]) -> None:
        store, clock = self.runtime.store, self.runtime.clock
        try:
            async with store.transaction() as tx:
                refused = await self.quota.take_in(tx.conn, [waiting.asker for waiting in batch])
                going = [waiting for waiting, no in zip(batch, refused, strict=True) if no is None]
                placed, placing = await request_help_together(
                    tx, [waiting.filing for waiting in going], memory=self.memory, now=clock.now()
                )
        except Exception as error:  # each request is placed again alone, and answered
            if store.reachability.lost(error):  # alone they would fail the same way
                for waiting in batch:
                    _answer(waiting.answer, error)
                return
            log.info("placing %d requests together failed (%s); one by one", len(batch), error)
            for waiting in batch:
                await self._place_alone(waiting)
            return
        placing.remember()
        self.batches += 1
        for waiting, outcome in zip(going, placed, strict=True):
            _answer(waiting.answer, outcome)
        for waiting, over in zip(batch, refused, strict=True):
            if over is not None:
                _answer(waiting.answer, over)

    async def _place_alone(self, waiting: _Waiting) -> None:
        store, clock = self.runtime.store, self.runtime.clock
        command, cause = waiting.filing
        try:
            async with store.transaction() as tx:
                (over,) = await self.quota.take_in(tx.conn, [waiting.asker])
                outcome = over or await request_help(
                    tx, command, memory=self.memory, now=clock.now(), cause=cause
                )
        except Exception as error:  # the HTTP handler turns it into its problem details
            _answer(waiting.answer, error)
            return
        _answer(waiting.answer, outcome)


def _answer(answer: asyncio.Future[RequestOutcome], outcome: Placed | Exception) -> None:
    if answer.done():  # the caller went away (its request was cancelled)
        return
    if isinstance(outcome, Exception):
        answer.set_exception(outcome)
    else:
        answer.set_result(outcome)
