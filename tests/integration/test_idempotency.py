"""Idempotency-Key: a retried POST gets the first answer and appends nothing new."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
import pytest
import sqlalchemy as sa
from litestar import Litestar, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient

from shared.events.base import Cause
from shared.ids import uuid7
from shared.settings import Database
from shared.store.eventstore import EventStore, Transaction
from shared.web.idempotency import HEADER, StoredAnswer, answer_once, check_key, new_id
from shared.web.problems import problem_handlers
from tests.support.probe import ThingCounted, make_store


class ThingCreate(msgspec.Struct):
    count: int


@post("/things")
async def create_thing(
    request: Request[object, object, State], data: JSONBody[ThingCreate]
) -> Response[bytes]:
    store: EventStore = request.app.state.store
    key = check_key(request.headers.get(HEADER))
    thing_id = new_id("thing", key, "things")

    async def work(tx: Transaction) -> StoredAnswer:
        await tx.append(
            thing_id,
            0,
            [ThingCounted(count=data.count)],
            Cause(correlation_id=uuid7(), id_seed=key),
        )
        return StoredAnswer(201, msgspec.json.encode({"id": thing_id}))

    answer = await answer_once(store, key, "things", await request.body(), work)
    return Response(answer.body, status_code=answer.status_code, media_type="application/json")


@get("/things/count")
async def count_events(state: State) -> int:
    store: EventStore = state.store
    async with store.engine.connect() as conn:
        found = await conn.scalar(sa.select(sa.func.count()).select_from(store.tables.events))
    return int(found or 0)


@pytest.fixture
async def client(database: Database) -> AsyncIterator[AsyncTestClient[Litestar]]:
    # The test client runs the app on its own event loop: the store is opened there.
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.store = await make_store(database)
        yield
        await app.state.store.close()

    app = Litestar(
        [create_thing, count_events], lifespan=[lifespan], exception_handlers=problem_handlers()
    )
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def event_count(http: AsyncTestClient[Litestar]) -> int:
    found: int = (await http.get("/things/count")).json()
    return found


async def test_a_retry_with_the_same_key_returns_the_first_answer(
    client: AsyncTestClient[Litestar],
) -> None:
    http = client
    first = await http.post("/things", json={"count": 1}, headers={HEADER: "k-1"})
    retry = await http.post("/things", json={"count": 1}, headers={HEADER: "k-1"})

    assert first.status_code == retry.status_code == 201
    assert first.json() == retry.json()
    assert await event_count(http) == 1


async def test_concurrent_retries_create_one_thing(client: AsyncTestClient[Litestar]) -> None:
    http = client
    answers = await asyncio.gather(
        *(http.post("/things", json={"count": 2}, headers={HEADER: "k-2"}) for _ in range(5))
    )

    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert await event_count(http) == 1


async def test_reusing_a_key_for_a_different_request_is_refused(
    client: AsyncTestClient[Litestar],
) -> None:
    http = client
    await http.post("/things", json={"count": 1}, headers={HEADER: "k-3"})
    other = await http.post("/things", json={"count": 99}, headers={HEADER: "k-3"})

    assert other.status_code == 422  # a well-formed key, used for another request
    assert other.json()["field"] == HEADER
    assert await event_count(http) == 1


async def test_without_a_key_each_post_creates(client: AsyncTestClient[Litestar]) -> None:
    http = client
    a = await http.post("/things", json={"count": 1})
    b = await http.post("/things", json={"count": 1})

    assert a.json() != b.json()
    assert await event_count(http) == 2
