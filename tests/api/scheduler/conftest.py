"""A scheduler app on a real database and NATS, at a fixed time, with tokens minted for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from migrations.run import migrate
from services.scheduler.app import create_app
from services.scheduler.limits import HelpRequestLimits
from shared.clock import FixedClock
from shared.settings import Settings
from shared.web.auth import Caller, Role, mint_token
from tests.api.scheduler.helpers import NOW, THANH_HOA, Tokens
from tests.support.services import KEYS


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def tokens(clock: FixedClock) -> Tokens:
    def mint(
        role: Role = Role.COORDINATOR, scope: tuple[str, ...] = (THANH_HOA,), **extra: Any
    ) -> dict[str, str]:
        caller = Caller(sub=f"{role.value}-1", role=role, scope=scope, **extra)
        value = mint_token(KEYS, caller, clock.now(), timedelta(days=60))
        return {"Authorization": f"Bearer {value}"}

    return mint


@pytest.fixture
async def client(settings: Settings, clock: FixedClock) -> AsyncIterator[AsyncTestClient[Litestar]]:
    await migrate("scheduler", settings.database("scheduler"))
    limits = HelpRequestLimits(clock, per_client=8, per_phone=3)
    app = create_app(settings, clock=clock, limits=limits)
    async with AsyncTestClient(app=app) as made:
        yield made
