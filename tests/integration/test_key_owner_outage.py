"""A booking SMS waits while the scheduler, the owner of the resident's data key, does not
answer: the notifications consumer offers the event again instead of parking it, and sends
the SMS once the key can be had. Both apps over real HTTP, the real producer, a TCP proxy
that a test can cut between them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa

from bench.gateway import Gateway, Request, Response
from migrations.run import migrate
from services.notifications.app import create_app as notifications_app
from services.scheduler.app import create_app as scheduler_app
from services.scheduler.limits import HelpRequestLimits
from shared.clock import FixedClock
from shared.settings import Settings
from shared.store.database import create_engine
from tests.api.console.world import sms_settings
from tests.api.scheduler.helpers import help_body, session_body
from tests.integration.test_retention_across_services import notified, staff
from tests.support.proxy import Proxy
from tests.support.services import asking
from tests.support.serving import reserved, serving
from tests.support.waiting import eventually

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 09:00 in Vietnam: no quiet hours
PHONE = "0912345882"


async def parked(settings: Settings) -> int:
    database = settings.database("notifications")
    engine = create_engine(database.url, database.schema, pool_size=1)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(sa.text("SELECT count(*) FROM dead_letters")) or 0)
    finally:
        await engine.dispose()


async def test_a_booking_sms_waits_for_the_key_owner_and_is_sent_once(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    for service in ("scheduler", "notifications"):
        await migrate(service, settings.database(service))
    gateway = Gateway()
    gateway.default = Response(body=b'{"id": "gw-1"}')
    await gateway.start()
    clock = FixedClock(NOW)
    at_scheduler = reserved()
    proxy = Proxy("127.0.0.1", int(at_scheduler[1].rsplit(":", 1)[1]))
    proxy.start()
    proxy.cut()  # notifications reaches the scheduler only through the proxy: down for now
    notifications = notifications_app(
        asking(settings, scheduler=f"http://127.0.0.1:{proxy.port}"),
        sms=sms_settings(gateway),
        clock=clock,
    )
    scheduler = scheduler_app(settings, limits=HelpRequestLimits(clock, lifted=True), clock=clock)
    try:
        async with (
            serving(notifications),
            serving(scheduler, on=at_scheduler) as url,
            httpx.AsyncClient(base_url=url) as client,
        ):
            await client.post("/sessions", json=session_body(), headers=staff(clock))
            booked = await client.post("/help-requests", json=help_body(PHONE))
            assert booked.json()["status"] == "booked", booked.text
            with caplog.at_level(logging.WARNING):
                await eventually(lambda: _waited(caplog), lambda found: found, timeout=30)
            queued_while_down = await notified(settings, "kind")
            proxy.restore()
            kinds = await eventually(
                lambda: notified(settings, "kind"), lambda found: "resident_booked" in found
            )
            to_resident = await eventually(
                lambda: _sent_to(gateway, PHONE), lambda found: len(found) >= 1
            )
            await notifications_settled(settings)
            dead = await parked(settings)
            kinds = await notified(settings, "kind")
    finally:
        proxy.stop()
        await gateway.stop()

    assert queued_while_down == []  # nothing was written without the resident's key
    assert kinds.count("resident_booked") == 1
    assert len(to_resident) == 1
    assert dead == 0  # offered again, never parked: it was nobody's fault


async def _sent_to(gateway: Gateway, phone: str) -> list[Request]:
    # the http_json provider posts {"to": "+84...", ...}
    return [r for r in gateway.requests if phone[1:].encode() in r.body]


async def notifications_settled(settings: Settings) -> None:
    """Every SMS queued is handed over (none left in the outgoing queue)."""

    async def waiting() -> int:
        database = settings.database("notifications")
        engine = create_engine(database.url, database.schema, pool_size=1)
        try:
            async with engine.connect() as conn:
                return int(await conn.scalar(sa.text("SELECT count(*) FROM outgoing")) or 0)
        finally:
            await engine.dispose()

    await eventually(waiting, lambda left: left == 0)


async def _waited(caplog: pytest.LogCaptureFixture) -> bool:
    return any("waiting for data keys" in record.getMessage() for record in caplog.records)
