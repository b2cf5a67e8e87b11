"""Pulls in a consumer's priority group, so that one instance at a time takes its messages.

A durable consumer with the `pinned_client` priority policy (NATS 2.11+, ADR-42) delivers to
one client, the pinned one, named by the `Nats-Pin-Id` header of what it receives; the pulls
of every other instance wait, answered with nothing, until the pinned client stops pulling for
`priority_timeout` (it died, or lost NATS) or is unpinned. Per-stream order then rests on a
single puller instead of on instances that take turns and put back what came too early.

nats-py knows neither the consumer settings nor the pull request fields of priority groups, so
this speaks the JetStream API itself: `$JS.API.CONSUMER.CREATE` with the group, and
`$JS.API.CONSUMER.MSG.NEXT` requests carrying the group and, once pinned, the pin id.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections import deque
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.js.api import ConsumerConfig

log = logging.getLogger("handinhand.consumer")

GROUP = "handinhand"
PIN_HEADER = "Nats-Pin-Id"

# Status codes that end a pull request: no messages (for no_wait), expired, conflicts
# (max waiting, leadership change, consumer deleted), and "not the pinned client".
_ENDS_REQUEST = {"404", "408", "409", "423"}


class ConsumerSetupError(RuntimeError):
    """The server refused the durable consumer's settings."""


class ConsumerGoneError(RuntimeError):
    """The durable consumer was deleted under its pullers: create it again."""


async def create_pinned_consumer(
    nc: Client, stream: str, config: ConsumerConfig, *, priority_timeout: float
) -> dict[str, Any]:
    """Create the durable consumer in the priority group, or bring an existing one's settings
    (subjects, waits, the group itself when it had none) up to date."""
    body = config.as_dict() | {
        "priority_groups": [GROUP],
        "priority_policy": "pinned_client",
        "priority_timeout": int(priority_timeout * 1_000_000_000),
    }
    name = config.durable_name
    request = json.dumps({"stream_name": stream, "config": body}).encode()
    reply = await nc.request(f"$JS.API.CONSUMER.CREATE.{stream}.{name}", request, timeout=5)
    answer: dict[str, Any] = json.loads(reply.data)
    error = answer.get("error")
    if error is not None:
        raise ConsumerSetupError(
            f"consumer {name} on {stream}: {error.get('description')} "
            f"(code {error.get('err_code')}); NATS 2.11 or newer is needed for priority groups"
        )
    if answer.get("config", {}).get("priority_policy") != "pinned_client":
        raise ConsumerSetupError(
            f"consumer {name} on {stream}: the server ignored the priority group "
            "(NATS 2.11 or newer is needed)"
        )
    return answer


async def unpin(nc: Client, stream: str, consumer: str) -> None:
    """Let another instance take over now rather than after the priority timeout."""
    with contextlib.suppress(Exception):
        await nc.request(
            f"$JS.API.CONSUMER.UNPIN.{stream}.{consumer}",
            json.dumps({"group": GROUP}).encode(),
            timeout=2,
        )


class PinnedPull:
    """One instance's pulls on a pinned consumer, one request open at a time. Each request has
    a reply subject of its own (under one inbox): the server answers a request's end (expired,
    no messages, not pinned) on it, so a late status of an earlier request is told apart.
    Messages come on their own subjects, in order, so they count against the open request."""

    def __init__(self, nc: Client, stream: str, consumer: str) -> None:
        self._nc = nc
        self.consumer = consumer
        self._next = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._inbox = nc.new_inbox()
        self._numbers = itertools.count()
        self._arrived: deque[Msg] = deque()
        self._signal = asyncio.Event()
        # The open request: its reply subject, when it expires (monotonic clock, with a
        # margin for its status to arrive) and how many messages it may still bring.
        self._open: tuple[str, float, int] | None = None
        self._sub: NatsSubscription | None = None
        self._gone = False
        self.pin_id: str | None = None

    @property
    def pinned(self) -> bool:
        return self.pin_id is not None

    async def start(self) -> PinnedPull:
        self._sub = await self._nc.subscribe(f"{self._inbox}.*", cb=self._receive)
        return self

    async def unsubscribe(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None

    async def _receive(self, msg: Msg) -> None:
        self._arrived.append(msg)
        self._signal.set()

    async def fetch(self, batch: int, timeout: float) -> list[Msg]:
        """Up to `batch` messages, returned as soon as some are here (after a moment for the
        rest of a burst); none after `timeout` raises TimeoutError, as nats-py's fetch does."""
        deadline = time.monotonic() + timeout
        taken = self._take(batch)
        if taken:
            return taken
        while True:
            if self._open is not None and self._open[1] <= time.monotonic():
                self._open = None
            if self._open is None:
                await self._request(batch, deadline)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self._signal.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._signal.wait(), remaining)
            taken = self._take(batch)
            if taken:
                await asyncio.sleep(0.002)  # the rest of a burst is usually on its way
                return taken + self._take(batch - len(taken))

    async def _request(self, batch: int, deadline: float) -> None:
        # Expire a little before the caller's deadline, so no request outlives the fetch
        # by much and catches messages nobody waits for (they would still be handled next).
        expires = max(0.05, deadline - time.monotonic() - 0.01)
        request: dict[str, Any] = {
            "batch": batch,
            "expires": int(expires * 1_000_000_000),
            "group": GROUP,
        }
        if self.pin_id is not None:
            request["id"] = self.pin_id
        reply = f"{self._inbox}.{next(self._numbers)}"
        self._open = (reply, time.monotonic() + expires + 0.5, batch)
        await self._nc.publish(self._next, json.dumps(request).encode(), reply=reply)

    def _take(self, limit: int) -> list[Msg]:
        """The messages that have arrived (up to `limit`); statuses settle their requests."""
        taken: list[Msg] = []
        arrived = self._arrived
        while arrived and len(taken) < limit:
            msg = arrived.popleft()
            headers = msg.headers or {}
            status = headers.get("Status")
            if status is not None:
                self._settle(msg.subject, status, headers.get("Description", ""))
                continue
            pin = headers.get(PIN_HEADER)
            if pin is not None and pin != self.pin_id:
                log.info("consumer %s: this instance is pinned", self.consumer)
                self.pin_id = pin
            if self._open is not None:
                reply, expires, left = self._open
                self._open = None if left <= 1 else (reply, expires, left - 1)
            taken.append(msg)
        if self._gone and not taken:
            self._gone = False
            raise ConsumerGoneError(f"consumer {self.consumer} was deleted")
        return taken

    def _settle(self, subject: str, status: str, description: str) -> None:
        if status not in _ENDS_REQUEST:
            return  # 100: a heartbeat or flow control
        if self._open is not None and self._open[0] == subject:
            self._open = None
        if status == "423":
            if self.pin_id is not None:
                log.info("consumer %s: pinned to another instance now", self.consumer)
            self.pin_id = None
        elif status == "409" and "deleted" in description.lower():
            self._gone = True
