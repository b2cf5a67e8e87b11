"""The revocation feed (shared/web/revocation_feed.py) against a real nats-server: a token
revoked by the console is refused by an instance hearing it, one starting later replays it
before it is ready, and the forgetting worker drops it once the token has expired (by a clock
the test moves)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from nats.aio.client import Client

from shared.bus.listener import Listener
from shared.bus.streams import ensure_stream
from shared.clock import FixedClock
from shared.events import build_catalog
from shared.events.console import ApiTokenRevoked, TokenId
from shared.web.revocation_feed import forgetting_expired, revocations_heard
from shared.web.revocations import Revocations
from tests.support.feed import Feed
from tests.support.waiting import eventually

NOW = datetime(2026, 12, 3, 5, 0, tzinfo=UTC)


def revoked(jti: str, *, days: int = 30) -> ApiTokenRevoked:
    return ApiTokenRevoked(
        jti=TokenId(jti),
        expires_at=NOW + timedelta(days=days),
        revoked_by="admin-1",
        revoked_at=NOW,
    )


async def hearing(nc: Client, revocations: Revocations, stop: asyncio.Event) -> Listener:
    listener = Listener(build_catalog(), revocations_heard(revocations))
    asyncio.get_running_loop().create_task(listener.run(nc.jetstream(), stop))
    await asyncio.wait_for(listener.caught_up.wait(), 15)
    return listener


async def test_a_revoked_token_is_refused_by_an_instance_hearing_it(nc: Client) -> None:
    await ensure_stream(nc.jetstream(), "console")
    revocations, stop = Revocations(), asyncio.Event()
    try:
        await hearing(nc, revocations, stop)
        await Feed(nc).publish("console", "apitoken-t1", revoked("t1"))

        await eventually(lambda: asyncio.sleep(0, revocations.is_revoked("t1")), bool)
    finally:
        stop.set()


async def test_an_instance_starting_later_replays_every_revocation_before_it_is_ready(
    nc: Client,
) -> None:
    feed = Feed(nc)
    for jti in ("t1", "t2", "t3"):
        await feed.publish("console", f"apitoken-{jti}", revoked(jti))
    revocations, stop = Revocations(), asyncio.Event()
    try:
        await hearing(nc, revocations, stop)  # returns once caught up

        assert [revocations.is_revoked(jti) for jti in ("t1", "t2", "t3")] == [True] * 3
    finally:
        stop.set()


async def test_hearing_a_revocation_twice_keeps_one_entry(nc: Client) -> None:
    feed = Feed(nc)
    await feed.publish("console", "apitoken-t1", revoked("t1"))
    await feed.publish("console", "apitoken-t1", revoked("t1"), version=1)  # redelivered
    revocations, stop = Revocations(), asyncio.Event()
    try:
        listener = await hearing(nc, revocations, stop)

        assert listener.heard == 2
        assert len(revocations) == 1
    finally:
        stop.set()


async def test_the_worker_forgets_revocations_once_their_tokens_have_expired() -> None:
    clock = FixedClock(NOW)
    revocations = Revocations()
    revocations.revoke("short", until=NOW + timedelta(hours=1))
    revocations.revoke("long", until=NOW + timedelta(days=30))
    stop = asyncio.Event()
    clock.advance(timedelta(hours=2))
    every = timedelta(milliseconds=10)

    worker = asyncio.create_task(forgetting_expired(revocations, clock, every)(stop))
    try:
        await eventually(lambda: asyncio.sleep(0, len(revocations)), lambda n: n == 1)
        assert revocations.is_revoked("long")
    finally:
        stop.set()
        await worker
