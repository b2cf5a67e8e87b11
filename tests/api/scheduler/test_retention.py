"""The daily retention run erases the residents last seen more than a year ago (the later of
their request and the sessions they were booked on), a batch a run, through the erasure path,
and says what it did in `retention.ran`; run again it erases nobody twice, and a rebuild gives
the same read models."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import AsyncTestClient

from migrations.run import migrate
from services.scheduler.app import create_app
from services.scheduler.handlers.retention import RETENTION_STREAM
from services.scheduler.limits import HelpRequestLimits
from services.scheduler.tables import READ_MODELS, timers
from shared.clock import FixedClock
from shared.events.scheduler import ResidentErasureRequested, RetentionRan
from shared.settings import Retention, Settings
from shared.store.rebuild import rebuild_read_models
from tests.api.scheduler.helpers import Tokens, help_body, own_store, session_body
from tests.api.scheduler.test_reports import read_models
from tests.api.volunteers.world import fire_timers
from tests.support.waiting import eventually

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def client(settings: Settings, clock: FixedClock) -> AsyncIterator[Client]:
    """The scheduler with its retention run on: 12 months, at most one resident a run."""
    await migrate("scheduler", settings.database("scheduler"))
    retaining = msgspec.structs.replace(settings, retention=Retention(batch=1))
    limits = HelpRequestLimits(clock, lifted=True)
    async with AsyncTestClient(app=create_app(retaining, clock=clock, limits=limits)) as made:
        yield made


async def runs(client: Client, count: int) -> list[RetentionRan]:
    """The retention runs so far, once there are `count` (fired now rather than at the loop's
    next turn)."""

    async def found() -> list[RetentionRan]:
        await fire_timers(client)
        async with own_store(client) as store, store.transaction() as tx:
            stream = await tx.load(RETENTION_STREAM)
        return [e.event for e in stream.events if isinstance(e.event, RetentionRan)]

    return await eventually(found, lambda ran: len(ran) >= count)


async def next_run(client: Client) -> datetime:
    async with own_store(client) as store, store.engine.connect() as conn:
        due = await conn.scalar(sa.select(timers.c.due_at).where(timers.c.kind == "retention"))
    assert isinstance(due, datetime)
    return due


async def status(client: Client, tokens: Tokens, request: dict[str, Any]) -> str:
    seen = await client.get(f"/help-requests/{request['request_id']}", headers=tokens())
    found: str = seen.json()["status"]
    return found


async def erasures(client: Client) -> list[ResidentErasureRequested]:
    async with own_store(client) as store, store.transaction() as tx:
        events = store.tables.events
        streams = await tx.conn.scalars(
            sa.select(events.c.stream_id).where(
                events.c.event_type == ResidentErasureRequested.event_type
            )
        )
        loaded = await tx.load_many(list(streams))
    return [
        e.event
        for stream in loaded.values()
        for e in stream.events
        if isinstance(e.event, ResidentErasureRequested)
    ]


async def test_residents_unseen_for_a_year_are_erased_a_batch_a_run_and_only_once(
    client: Client, tokens: Tokens, clock: FixedClock
) -> None:
    first = (await client.post("/sessions", json=session_body(), headers=tokens())).json()
    later = session_body(local_date="2026-03-14")
    second = (await client.post("/sessions", json=later, headers=tokens())).json()
    booked_first = (await client.post("/help-requests", json=help_body("0912345001"))).json()
    booked_later = (await client.post("/help-requests", json=help_body("0912345002"))).json()
    assert booked_first["session_id"] == first["session_id"]
    moved = await client.post(  # booked on the first session, then on the second
        f"/bookings/{booked_later['booking_id']}/change",
        json={"new_session_id": second["session_id"]},
        headers=tokens(),
    )
    assert moved.status_code == 200, moved.text
    never_booked = (  # no session offers the topic: waiting
        await client.post(
            "/help-requests", json=help_body("0912345003", topics=["cashless_payment"])
        )
    ).json()
    asked_again = (await client.post("/help-requests", json=help_body("0912345005"))).json()
    clock.advance(timedelta(days=30))
    asked_later = (await client.post("/help-requests", json=help_body("0912345004"))).json()
    await client.post("/help-requests", json=help_body("0912345005"))  # the same resident

    # 2027-03-10 09:00 in Vietnam: a year and three days after the first session, not the second
    clock.advance(datetime(2027, 3, 10, 2, 0, tzinfo=UTC) - clock.now())
    [ran] = await runs(client, 1)

    assert (ran.cutoff, ran.erasures_requested, ran.more_due) == (
        datetime(2026, 3, 10, 2, 0, tzinfo=UTC),
        1,
        True,  # two were due, the batch is one
    )
    assert await next_run(client) == clock.now() + timedelta(minutes=1)
    clock.advance(timedelta(minutes=1))
    ran_again = (await runs(client, 2))[1]
    assert (ran_again.erasures_requested, ran_again.more_due) == (1, False)
    assert await next_run(client) == datetime(2027, 3, 10, 20, 0, tzinfo=UTC)  # 03:00 local

    assert [await status(client, tokens, r) for r in (booked_first, never_booked)] == [
        "erasing",
        "erasing",
    ]
    assert await status(client, tokens, booked_later) == "booked"
    assert await status(client, tokens, asked_later) == "waiting"
    assert await status(client, tokens, asked_again) == "booked"  # seen again on 2026-04-01
    asked = await erasures(client)
    assert sorted(e.request_id for e in asked) == sorted(
        [booked_first["request_id"], never_booked["request_id"]]
    )
    assert {e.requested_by.value for e in asked} == {"system"}

    # the next night: the erased are not asked again, the others not due yet
    clock.advance(datetime(2027, 3, 10, 20, 0, tzinfo=UTC) - clock.now())
    third = (await runs(client, 3))[2]
    assert (third.erasures_requested, third.more_due) == (0, False)
    assert len(await erasures(client)) == 2
    assert await status(client, tokens, booked_first) == "erased"  # its erasure timer ran too
    live = await read_models(client)
    async with own_store(client) as store:
        await rebuild_read_models(store, READ_MODELS)
    assert await read_models(client) == live
