"""How every instance learns which bearer tokens are revoked: it hears the console's
`api_token.revoked` (replayed from the stream's start, so an instance is whole before it is
ready), and forgets a revocation once the token would have expired anyway."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from shared.bus.listener import Hearing
from shared.clock import Clock
from shared.events.base import RecordedEvent
from shared.events.console import ApiTokenRevoked
from shared.runtime import Worker
from shared.web.revocations import Revocations

log = logging.getLogger("handinhand.revocations")

# Forgetting is only housekeeping (an expired token fails on its exp alone): rarely is enough.
FORGET_EVERY = timedelta(minutes=10)


def revocations_heard(revocations: Revocations) -> Hearing:
    """The hearing every service lists (with its runtime's set): each revoked jti into it."""

    async def hear(recorded: RecordedEvent) -> None:
        event = recorded.event
        if isinstance(event, ApiTokenRevoked):  # hearing it twice sets the same entry
            revocations.revoke(event.jti, until=event.expires_at)

    return Hearing("revocations", "console", (ApiTokenRevoked,), hear, replay=True)


def forgetting_expired(
    revocations: Revocations, clock: Clock, every: timedelta = FORGET_EVERY
) -> Worker:
    """A worker: every `every`, drop the revocations whose tokens have expired by `clock`
    (the runtime's), so the set stays as small as the tokens still alive."""

    async def forget(stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every.total_seconds())
            before = len(revocations)
            revocations.forget_expired(clock.now())
            if forgotten := before - len(revocations):
                log.info("forgot %d revocations of expired tokens", forgotten)

    return forget
