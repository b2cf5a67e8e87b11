"""The console as it runs: its app on a real database and NATS, notifications served over real
HTTP with its SMS going to a local HTTP provider (bench.gateway), and a scheduler beside them."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import sqlalchemy as sa
from litestar import Litestar

from bench.gateway import Gateway, Response
from migrations.run import migrate
from services.console import handlers
from services.console.app import create_app
from services.console.domain.accounts import AddAccount
from services.console.settings import ConsoleSettings
from services.notifications.app import create_app as notifications_app
from services.notifications.providers.http_json import HttpJsonConfig
from services.notifications.settings import NotificationSettings
from services.scheduler.app import create_app as scheduler_app
from services.scheduler.limits import HelpRequestLimits
from services.volunteers.app import create_app as volunteers_app
from services.volunteers.planning import StaffingOptions
from services.volunteers.settings import FeedSettings
from shared.clock import FixedClock
from shared.events.base import Cause
from shared.events.console import AccountId, AccountRole
from shared.ids import uuid7
from shared.runtime import Runtime
from shared.settings import Settings
from tests.support.services import asking
from tests.support.serving import reserved, serving

# A Wednesday morning in Thanh Hóa: the coming weekend is 5-6 December 2026.
T0 = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
THIEU_TRUNG = "15835"
HOAN_KIEM = "00070"  # Hà Nội: outside Thanh Hóa
ADMIN_PHONE = "+84912000001"
COORDINATOR_PHONE = "+84912000002"
UNKNOWN_PHONE = "+84912000999"
VOLUNTEER_PHONE = "+84912000003"
FEED_URL = "https://volunteers.example.vn"
_CODE = re.compile(r"\b(\d{6})\b")
_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


@dataclass
class World:
    """A browser (`console`, with its cookies) on the console served over real HTTP."""

    console: httpx.AsyncClient
    app: Litestar
    gateway: Gateway
    clock: FixedClock
    scheduler_url: str
    notifications: Litestar
    notifications_url: str
    volunteers_url: str

    async def everything_stored(self) -> str:
        """Every row of every table of the console and of notifications, as text."""
        rows: list[str] = []
        for app in (self.app, self.notifications):
            store = app.state.runtime.store
            async with store.reader.connect() as conn:
                for table in store.tables.events.metadata.sorted_tables:
                    rows.extend(str(row) for row in await conn.execute(sa.select(table)))
        return "\n".join(rows)

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    def codes_sent_to(self, phone: str) -> list[str]:
        """The sign-in codes the SMS provider was handed for `phone`, oldest first."""
        found = []
        for request in self.gateway.requests:
            body = msgspec.json.decode(request.body)
            if body.get("phone") == phone:
                found.extend(_CODE.findall(body.get("message", "")))
        return found

    async def csrf(self, path: str = "/sign-in") -> str:
        page = await self.console.get(path)
        found = _CSRF.search(page.text)
        assert found is not None, page.text
        return found.group(1)

    async def ask_code(self, phone: str) -> str:
        """Ask for a code as a browser does; the page it answers with."""
        token = await self.csrf()
        answer = await self.console.post("/sign-in", data={"phone": phone, "_csrf_token": token})
        return answer.text

    async def enter_code(self, phone: str, code: str) -> int:
        token = await self.csrf()
        answer = await self.console.post(
            "/sign-in/code", data={"phone": phone, "code": code, "_csrf_token": token}
        )
        return answer.status_code

    async def sign_in(self, phone: str) -> None:
        await self.ask_code(phone)
        status = await self.enter_code(phone, self.codes_sent_to(phone)[-1])
        assert status == 302

    async def add_account(
        self,
        phone: str,
        role: AccountRole,
        scope: tuple[str, ...] = (),
        name: str = "Lê Văn An",
        volunteer_id: str | None = None,
    ) -> AccountId:
        command = AddAccount(
            account_id=handlers.account_id_of(
                phone, key=self.app.state.service.settings.code_secret
            ),
            role=role,
            name=name,
            phone=phone,
            scope=scope,
            volunteer_id=volunteer_id,
        )
        async with self.runtime.store.transaction() as tx:
            cause = Cause(correlation_id=uuid7())
            added = await handlers.add_account(tx, command, now=self.clock.now(), cause=cause)
        return added or command.account_id


# An override of volunteers_url: a volunteers service that does not answer.
VOLUNTEERS_AWAY = "http://127.0.0.1:9"


def console_settings(**overrides: object) -> ConsoleSettings:
    values: dict[str, object] = {
        "public_url": "http://console.test",
        "scheduler_url": "http://127.0.0.1:9",
        "volunteers_url": "http://127.0.0.1:9",
        "notifications_url": "http://127.0.0.1:9",
        "code_secret": "console-test-secret-" + "x" * 30,
        "answer_after": 0.0,
    } | overrides
    return ConsoleSettings(**values)  # type: ignore[arg-type]


def sms_settings(gateway: Gateway) -> NotificationSettings:
    return NotificationSettings(
        provider="http_json",
        http_json=HttpJsonConfig(url=gateway.url + "/send"),
        rate=0.0,
        webhook_token="webhook-test-token",
    )


@asynccontextmanager
async def console_world(
    settings: Settings,
    *,
    with_scheduler: bool = False,
    serve_options: dict[str, Any] | None = None,
    **overrides: object,
) -> AsyncIterator[World]:
    """`serve_options`: uvicorn's, for the console only (e.g. `services.cli.proxy_trust`)."""
    gateway = Gateway()
    gateway.default = Response(body=b'{"id": "gw-1"}')
    await gateway.start()
    clock = FixedClock(T0)
    for service in ("notifications", "console", "scheduler", "volunteers"):
        await migrate(service, settings.database(service))
    # One clock for all three: the console's tokens expire by the time the others read.
    at_scheduler = reserved()  # notifications asks it for residents' data keys
    notifications = notifications_app(
        asking(settings, scheduler=at_scheduler[1]), sms=sms_settings(gateway), clock=clock
    )
    scheduler = scheduler_app(settings, limits=HelpRequestLimits(clock, lifted=True), clock=clock)
    volunteers = volunteers_app(
        settings,
        staffing=StaffingOptions(plan_delay=timedelta(0)),
        feed=FeedSettings(public_url=FEED_URL),
        clock=clock,
    )
    try:
        async with (
            serving(notifications) as notifications_url,
            serving(scheduler, on=at_scheduler) as sched_url,
            serving(volunteers) as volunteers_url,
        ):
            # An override of volunteers_url stands for a volunteers service that does not answer.
            config = console_settings(
                notifications_url=notifications_url,
                scheduler_url=sched_url if with_scheduler else "http://127.0.0.1:9",
                **({"volunteers_url": volunteers_url} | overrides),
            )
            app = create_app(settings, console=config, clock=clock)
            async with (
                serving(app, **(serve_options or {})) as url,
                httpx.AsyncClient(base_url=url) as browser,
            ):
                yield World(
                    console=browser,
                    app=app,
                    gateway=gateway,
                    clock=clock,
                    scheduler_url=sched_url,
                    notifications=notifications,
                    notifications_url=notifications_url,
                    volunteers_url=volunteers_url,
                )
    finally:
        await gateway.stop()


def later(world: World, by: timedelta) -> None:
    world.clock.advance(by)
