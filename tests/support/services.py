"""Build a service's real app (real database, real NATS) for HTTP tests."""

from __future__ import annotations

import importlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient

from migrations.run import migrate
from services.console.settings import ConsoleSettings
from services.notifications.settings import NotificationSettings
from services.scheduler.limits import HelpRequestLimits
from services.volunteers.planning import StaffingOptions
from services.volunteers.settings import FeedSettings
from shared.clock import Clock, SystemClock
from shared.personal.masterkeys import MasterKey, MasterKeys
from shared.settings import SERVICES, Database, Retention, Settings
from shared.tokenkeys import TokenKeys
from shared.web.auth import Caller, Role, mint_token

SECRET = "test-secret-" + "x" * 40
# The ring a lone HANDINHAND_TOKEN_SECRET makes, as the processes of the e2e tests read it.
KEYS = TokenKeys.of_one_secret(SECRET)
# The master key ring of the tests' in-process services (a fixed key: tests are repeatable).
DATA_KEYS = MasterKeys((MasterKey(kid="test", key=b"k" * 32),))
# The earliest fixed clock of the tests that use `token()`.
VALID_FROM = datetime(2025, 1, 1, tzinfo=UTC)


def settings_for(database: Database, nats_url: str, var_dir: Path) -> Settings:
    """Every service in the same database kind; on PostgreSQL each in its own schema."""
    databases = {}
    for service in SERVICES:
        if database.is_postgres:
            databases[service] = Database(url=database.url, schema=f"{database.schema}_{service}")
        else:
            databases[service] = Database(
                url=f"sqlite:///{var_dir / f'{service}.db'}", schema="main"
            )
    return Settings(
        var_dir=var_dir,
        databases=databases,
        token_keys=KEYS,
        data_keys=DATA_KEYS,
        nats_url=nats_url,
        # Tests move their clocks by days: a daily retention run would fire among their timers.
        # The retention tests turn it on (tests/api/scheduler/test_retention.py and others).
        retention=Retention(runs=False),
    )


def asking(settings: Settings, **urls: str) -> Settings:
    """`settings` with other services reached at `urls` (e.g. scheduler="http://...")."""
    return msgspec.structs.replace(settings, service_urls=settings.service_urls | urls)


def token(role: Role = Role.ADMIN, scope: tuple[str, ...] = (), **extra: str) -> dict[str, str]:
    caller = Caller(sub="tester", role=role, scope=scope, **extra)  # type: ignore[arg-type]
    # Valid from before any test's fixed clock (tokens check nbf) until an hour from now.
    value = mint_token(
        KEYS, caller, VALID_FROM, SystemClock().now() - VALID_FROM + timedelta(hours=1)
    )
    return {"Authorization": f"Bearer {value}"}


def service_settings(
    service: str, settings: Settings, clock: Clock | None = None
) -> dict[str, Any]:
    """The service's own settings, read once from the environment as the entrypoint does."""
    if service == "scheduler":
        return {"limits": HelpRequestLimits.from_env(clock or SystemClock(), os.environ)}
    if service == "volunteers":
        return {
            "staffing": StaffingOptions.from_env(os.environ),
            "feed": FeedSettings.from_env(os.environ, settings),
        }
    if service == "console":
        return {"console": ConsoleSettings.from_env(os.environ, settings)}
    return {"sms": NotificationSettings.from_env(os.environ, settings.var_dir)}


@asynccontextmanager
async def service_client(
    service: str, settings: Settings, clock: Clock | None = None
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    await migrate(service, settings.database(service))
    module = importlib.import_module(f"services.{service}.app")
    app = module.create_app(settings, clock=clock, **service_settings(service, settings, clock))
    async with AsyncTestClient(app=app) as client:
        yield client
