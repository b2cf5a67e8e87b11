"""An instance whose revocations have not all been replayed is not ready: /readyz says the
`nats` check is false (so no load balancer sends it a token it would wrongly take) until the
replay has caught up, with a real nats-server and the scheduler's own database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient
from nats.aio.client import Client

from migrations.run import migrate
from services.scheduler.parts import PARTS
from shared.bus.listener import Hearing
from shared.clock import SystemClock
from shared.events import build_catalog
from shared.events.base import RecordedEvent
from shared.events.console import ApiTokenRevoked, TokenId
from shared.runtime import Runtime, ServiceWork
from shared.settings import Settings
from shared.web.app import build_app
from shared.web.revocation_feed import revocations_heard
from tests.support.feed import Feed
from tests.support.waiting import eventually


async def test_an_instance_is_not_ready_until_its_replay_of_revocations_has_caught_up(
    settings: Settings, nc: Client
) -> None:
    expires = datetime.now(UTC) + timedelta(days=1)
    revoked = ApiTokenRevoked(
        jti=TokenId("t-1"), expires_at=expires, revoked_by="admin-1", revoked_at=expires
    )
    await Feed(nc).publish("console", "apitoken-t-1", revoked)
    await migrate("scheduler", settings.database("scheduler"))
    runtime = Runtime(settings, PARTS, build_catalog(), SystemClock())
    heard = revocations_heard(runtime.revocations)
    gate, reached = asyncio.Event(), asyncio.Event()

    async def held_back(recorded: RecordedEvent) -> None:
        reached.set()
        await gate.wait()  # the replay takes as long as the test says
        await heard.hear(recorded)

    slow = Hearing(heard.name, heard.source, heard.events, held_back, replay=True)
    app = build_app(
        None, runtime, ServiceWork(hearings=lambda: [slow]), [], title="t", description="t"
    )
    async with AsyncTestClient(app=app) as client:
        await asyncio.wait_for(reached.wait(), 15)  # connected, replaying
        while_replaying = await client.get("/readyz")
        gate.set()
        ready = await eventually(lambda: client.get("/readyz"), lambda r: r.status_code == 200)

    assert while_replaying.status_code == 503
    assert while_replaying.json()["checks"]["nats"] is False
    assert while_replaying.json()["checks"]["database"] is True
    assert ready.json()["checks"]["nats"] is True
    assert runtime.revocations.is_revoked("t-1")
