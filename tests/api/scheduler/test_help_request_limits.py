"""The public form's rate limit is counted once for the whole deployment, in the scheduler's
database: instances share it, two asking at once never both take the last place, and keys
not seen for a window are forgotten."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import AsyncTestClient

from migrations.run import migrate
from services.scheduler.app import create_app
from services.scheduler.intake import HelpDesk
from services.scheduler.limits import HelpRequestLimits
from services.scheduler.quota import forget_hits
from services.scheduler.tables import help_request_hits
from shared.clock import FixedClock
from shared.settings import Settings
from tests.api.scheduler.helpers import help_body, own_store
from tests.conftest import postgres_only

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def instances(settings: Settings, clock: FixedClock) -> AsyncIterator[list[Client]]:
    """Two scheduler instances on one database, each with the same limits: 5 per client
    address and 3 per phone an hour."""
    await migrate("scheduler", settings.database("scheduler"))
    limits = HelpRequestLimits(clock, per_client=5, per_phone=3)
    first = AsyncTestClient(app=create_app(settings, clock=clock, limits=limits))
    second = AsyncTestClient(app=create_app(settings, clock=clock, limits=limits))
    async with first, second:
        yield [first, second]


async def at_once(client: Client, bodies: list[dict[str, Any]]) -> list[int]:
    """POST every body to /help-requests at the same moment, on the instance's own loop (its
    test client sends one request at a time, from another loop); the statuses."""

    async def send_all() -> list[int]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            sent = [http.post("/help-requests", json=body) for body in bodies]
            return [answer.status_code for answer in await asyncio.gather(*sent)]

    return await asyncio.to_thread(client.blocking_portal.call, send_all)


async def test_instances_share_one_count_per_phone_and_per_client(
    instances: list[Client], clock: FixedClock
) -> None:
    first, second = instances
    phone = help_body("0912000111")
    by_phone = [
        (await client.post("/help-requests", json=phone)).status_code
        for client in (first, second, first, second)
    ]
    limited = await second.post("/help-requests", json=phone)  # the client's fifth
    by_client = await first.post("/help-requests", json=help_body("0912000333"))
    clock.advance(timedelta(hours=1, seconds=1))
    after_the_window = await second.post("/help-requests", json=phone)

    assert by_phone == [201, 201, 201, 429]  # three per phone, whichever instance counts
    assert limited.headers["content-type"] == "application/problem+json"
    assert int(limited.headers["retry-after"]) == 3600
    assert "phone number" in limited.json()["detail"]
    assert by_client.status_code == 429  # a refused phone still counts for the client
    assert int(by_client.headers["retry-after"]) == 3600
    assert "address" in by_client.json()["detail"]
    assert after_the_window.status_code == 201


async def test_requests_placed_together_are_counted_in_turn(instances: list[Client]) -> None:
    first, _ = instances
    desk: HelpDesk = first.app.state.service.desk
    bodies = [help_body("0912000666") for _ in range(4)]
    bodies += [help_body("0912000777"), help_body("0912000888")]

    answers = await at_once(first, bodies)

    assert desk.batches == 1  # one transaction placed the admitted ones and counted them all
    assert answers == [201, 201, 201, 429, 201, 429]  # the phone's fourth, the client's sixth


@postgres_only
async def test_two_instances_asking_at_once_never_both_take_the_last_place(
    instances: list[Client],
) -> None:
    first, second = instances
    same_phone = [help_body("0912000444") for _ in range(8)]

    answers = await asyncio.gather(at_once(first, same_phone), at_once(second, same_phone))

    assert Counter(answers[0] + answers[1]) == {201: 3, 429: 13}


@postgres_only
async def test_two_instances_asking_at_once_share_the_client_limit(
    instances: list[Client],
) -> None:
    first, second = instances
    phones = iter(range(100))

    def bodies() -> list[dict[str, Any]]:
        return [help_body(f"09130{next(phones):05d}") for _ in range(6)]

    answers = await asyncio.gather(at_once(first, bodies()), at_once(second, bodies()))

    assert Counter(answers[0] + answers[1]) == {201: 5, 429: 7}


async def test_keys_not_seen_for_a_window_are_forgotten(
    instances: list[Client], clock: FixedClock
) -> None:
    first, _ = instances
    await first.post("/help-requests", json=help_body("0912000555"))
    async with own_store(first) as store:
        kept = await forget_hits(store, clock.now() + timedelta(minutes=59))
        gone = await forget_hits(store, clock.now() + timedelta(hours=1, seconds=1))
        async with store.engine.connect() as conn:
            left = await conn.scalar(sa.select(sa.func.count()).select_from(help_request_hits))

    assert (kept, gone, left) == (0, 2, 0)  # the client's row and the phone's
