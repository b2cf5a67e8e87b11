"""The drills' load: public help requests at a fixed rate, each from a new phone number, sent to
whichever scheduler instance runs (as a load balancer that knows which are up would).

A share of them carry an `Idempotency-Key`: that client retries with the same key until it
gets a 201, as the API invites. The others are sent once, and their answer is final: during a
fault a client may be told 503 (try later) but nothing else is an acceptable answer.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
import msgspec

from bench.e2e import help_request

if TYPE_CHECKING:
    from bench.system import System

NO_ANSWER = 0  # the status of a request whose connection failed before any answer
# Answers a keyed client stops at: the request itself is wrong, retrying cannot help.
_FINAL = frozenset({400, 401, 403, 404, 422})
_PHONE_PREFIX = "+8491"  # set-up's volunteers text from +8498...


class _Placed(msgspec.Struct):
    request_id: str
    status: str


@dataclass
class Outcome:
    """One help request as its client saw it."""

    phone: str
    keyed: bool
    status: int = NO_ANSWER  # the last answer
    tries: int = 0
    request_id: str | None = None
    placed: str | None = None  # what the 201 said: booked, waiting, home_visit
    seen: Counter[int] = field(default_factory=Counter)  # every answer, retries included
    failure: str = ""  # why the last try got no answer: ReadTimeout, RemoteProtocolError ...

    @property
    def accepted(self) -> bool:
        return self.status == 201


@dataclass
class HelpLoad:
    """`keyed_share`: the part of requests sent with an Idempotency-Key; `retry_for`: how long
    a keyed client keeps trying before it gives up with its last answer."""

    system: System
    keyed_share: float = 0.5
    retry_for: float = 120.0
    seed: int = 1
    outcomes: list[Outcome] = field(default_factory=list)
    _next: int = 0
    _turn: int = 0  # round robin over the running scheduler instances

    async def run(self, count: int, rate: float) -> list[Outcome]:
        """Open loop: request i leaves at start + i/rate whatever the answers do."""
        chooser = random.Random(self.seed)
        tasks: list[asyncio.Task[None]] = []
        # No cap on connections: a client waiting for a free one would count as the
        # system's failure. A client waits up to 30 s for an answer, as a phone's browser might.
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
        async with httpx.AsyncClient(timeout=30, limits=limits) as client:
            started = time.monotonic()
            for i in range(count):
                if (wait := started + i / rate - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                self._next += 1
                outcome = Outcome(
                    phone=f"{_PHONE_PREFIX}{self._next:07d}",
                    keyed=chooser.random() < self.keyed_share,
                )
                self.outcomes.append(outcome)
                tasks.append(asyncio.create_task(self._send(client, outcome)))
            await asyncio.gather(*tasks)
        return self.outcomes

    async def _send(self, client: httpx.AsyncClient, outcome: Outcome) -> None:
        body = help_request(outcome.phone)
        headers = {"Content-Type": "application/json"}
        if outcome.keyed:
            headers["Idempotency-Key"] = f"drill-{uuid.uuid4()}"
        deadline = time.monotonic() + self.retry_for
        pause = 0.2
        while True:
            await self._try(client, outcome, body, headers)
            done = outcome.accepted or outcome.status in _FINAL
            if not outcome.keyed or done or time.monotonic() > deadline:
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)

    async def _try(
        self, client: httpx.AsyncClient, outcome: Outcome, body: bytes, headers: dict[str, str]
    ) -> None:
        """One try, on the next running instance; a refused connection never reached the
        service, so the next instance is tried, as a load balancer does."""
        outcome.tries += 1
        running = self.system.alive("scheduler")
        outcome.status = NO_ANSWER
        self._turn += 1
        first = self._turn % len(running) if running else 0
        for instance in running[first:] + running[:first]:  # each running instance once
            url = self.system.url("scheduler", instance)
            try:
                answer = await client.post(f"{url}/help-requests", content=body, headers=headers)
            except httpx.ConnectError as error:
                outcome.failure = f"{type(error).__name__} on every instance"
                continue
            except httpx.HTTPError as error:
                outcome.failure = type(error).__name__
                break
            outcome.status, outcome.failure = answer.status_code, ""
            if answer.status_code == 201:
                placed = msgspec.json.decode(answer.content, type=_Placed)
                outcome.request_id, outcome.placed = placed.request_id, placed.status
            break
        outcome.seen[outcome.status] += 1
