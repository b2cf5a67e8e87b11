"""Retention across the services, each with its real producer: the scheduler's run erases a
resident unseen for a year; notifications, hearing it on real NATS, forgets their number
without texting them (the number may be someone else's by now); the scheduler then destroys
their key. Both apps over real HTTP (notifications asks the scheduler for keys), one clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import msgspec
import sqlalchemy as sa

from bench.gateway import Gateway, Response
from migrations.run import migrate
from services.notifications.app import create_app as notifications_app
from services.notifications.tables import messages
from services.scheduler.app import create_app as scheduler_app
from services.scheduler.limits import HelpRequestLimits
from shared.clock import FixedClock
from shared.settings import Retention, Settings
from shared.store.database import create_engine
from shared.web.auth import Caller, Role, mint_token
from tests.api.console.world import sms_settings
from tests.api.scheduler.helpers import help_body, session_body
from tests.support.services import KEYS, asking
from tests.support.serving import reserved, serving
from tests.support.waiting import eventually

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 09:00 in Vietnam
PHONE = "0912345881"


def staff(clock: FixedClock) -> dict[str, str]:
    caller = Caller(sub="coordinator-1", role=Role.COORDINATOR, scope=("38",))
    return {"Authorization": f"Bearer {mint_token(KEYS, caller, clock.now(), timedelta(hours=1))}"}


async def notified(settings: Settings, column: str) -> list[str]:
    """A column of the notifications' SMS log, or its event types (`events`)."""
    database = settings.database("notifications")
    engine = create_engine(database.url, database.schema, pool_size=1)
    query = (
        sa.text("SELECT event_type FROM events ORDER BY position")
        if column == "events"
        else sa.select(messages.c[column])
    )
    try:
        async with engine.connect() as conn:
            return list((await conn.scalars(query)).all())
    finally:
        await engine.dispose()


async def test_a_resident_unseen_for_a_year_is_forgotten_everywhere_without_an_sms(
    settings: Settings,
) -> None:
    retaining = msgspec.structs.replace(settings, retention=Retention())
    for service in ("scheduler", "notifications"):
        await migrate(service, settings.database(service))
    gateway = Gateway()
    gateway.default = Response(body=b'{"id": "gw-1"}')
    await gateway.start()
    clock = FixedClock(NOW)
    at_scheduler = reserved()
    notifications = notifications_app(
        asking(retaining, scheduler=at_scheduler[1]), sms=sms_settings(gateway), clock=clock
    )
    scheduler = scheduler_app(retaining, limits=HelpRequestLimits(clock, lifted=True), clock=clock)
    try:
        async with (
            serving(notifications),
            serving(scheduler, on=at_scheduler) as url,
            httpx.AsyncClient(base_url=url) as client,
        ):
            await client.post("/sessions", json=session_body(), headers=staff(clock))
            request = (await client.post("/help-requests", json=help_body(PHONE))).json()
            path = f"/help-requests/{request['request_id']}"
            await eventually(
                lambda: notified(settings, "kind"), lambda kinds: "resident_booked" in kinds
            )

            clock.advance(timedelta(days=400))  # a year and a month after the session

            async def status() -> str:
                clock.advance(timedelta(minutes=1))  # time passes while we wait
                found: str = (await client.get(path, headers=staff(clock))).json()["status"]
                return found

            await eventually(status, lambda found: found == "erased", timeout=30)
            seen = (await client.get(path, headers=staff(clock))).json()
            # notifications forgot them (not only the scheduler's ten-minute fallback)
            events = await eventually(
                lambda: notified(settings, "events"), lambda found: "resident.forgotten" in found
            )
    finally:
        await gateway.stop()

    assert (seen["resident_name"], seen["phone"]) == ("", "")
    assert "sms_retention.ran" in events
    assert "resident_erased" not in await notified(settings, "kind")
    assert "+84912345881" not in await notified(settings, "recipient_phone")
