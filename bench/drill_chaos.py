"""Faults made to processes while the load runs: kill -9 of a random service instance every
few seconds (each restarted at once), and notifications killed in the middle of a send."""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bench.drill_verdict import is_booking_sms
from bench.gateway import Handler, Request, Response
from shared.settings import SERVICES

if TYPE_CHECKING:
    from bench.system import System


@dataclass
class Chaos:
    """Until `stop` is set: wait `every` seconds, SIGKILL an instance chosen at random,
    restart it and wait until it is ready again. Victims are drawn in shuffled rounds of every
    instance, so a short drill still kills each service. `kills` names each victim and when
    it died, in seconds from the start of the chaos."""

    system: System
    every: float
    seed: int = 1
    kills: list[str] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        chooser = random.Random(self.seed)
        instances = [(s, n) for s in SERVICES for n in range(len(self.system.processes[s]))]
        victims: list[tuple[str, int]] = []
        loop = asyncio.get_running_loop()
        began = loop.time()
        while not await _stopped(stop, self.every):
            if not victims:
                victims = chooser.sample(instances, len(instances))
            service, instance = victims.pop()
            self.system.kill(service, instance)
            self.kills.append(f"{service}#{instance + 1} at {loop.time() - began:.0f} s")
            await self.system.restart(service, instance)


@dataclass
class KillMidSend:
    """Notifications dies while the provider holds one of its booking SMS: the provider has
    the message, the sender has not recorded it sent. Armed every `every` seconds; the next
    booking SMS to arrive then kills notifications before the provider answers it, and the
    service is restarted at once. Wraps the gateway's handler, whatever it answers."""

    system: System
    every: float
    kills: int = 0
    _armed: bool = False
    _fired: asyncio.Event = field(default_factory=asyncio.Event)
    _restart: asyncio.Task[None] | None = None
    _inner: Handler | None = None

    def install(self) -> None:
        self._inner = self.system.gateway.handler
        self.system.gateway.handler = self._answer

    async def run(self, stop: asyncio.Event) -> None:
        """`every` s from one kill to the next arming, and never before the last restart is
        ready: with a pause shorter than a restart, the restarted service is killed in the
        first batch it sends, the backlog of its downtime."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            if self._restart is not None:
                await self._restart
            if await _stopped(stop, max(0.0, last + self.every - loop.time())):
                break
            self._fired.clear()
            self._armed = True
            await _first(stop, self._fired)
            last = loop.time()
        self._armed = False
        if self._restart is not None:  # the fault ends when the last restart is ready
            await self._restart

    async def _answer(self, request: Request) -> Response:
        if self._armed and is_booking_sms(request):
            self._armed = False
            self.system.kill("notifications")
            self.kills += 1
            self._restart = asyncio.create_task(self.system.restart("notifications"))
            self._fired.set()
        assert self._inner is not None
        return await self._inner(request)


async def _first(*events: asyncio.Event) -> None:
    """Wait until any of `events` is set."""
    waits = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


async def _stopped(stop: asyncio.Event, seconds: float) -> bool:
    """Wait `seconds` (the pause between faults) unless `stop` is set first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
