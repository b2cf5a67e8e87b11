"""Help requests that arrive together are placed together, and fare exactly as if they had
been placed one after another in arrival order."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import AsyncTestClient

from migrations.run import migrate
from services.scheduler.app import create_app
from services.scheduler.domain.requests import RequestHelp
from services.scheduler.handlers.placing import RequestOutcome
from services.scheduler.intake import HelpDesk
from services.scheduler.limits import HelpRequestLimits
from services.scheduler.quota import Asker
from services.scheduler.tables import bookings, sessions
from shared.clock import FixedClock
from shared.events.base import Cause
from shared.events.scheduler import Channel, HelpRequestId
from shared.events.vocabulary import Topic
from shared.ids import uuid7
from shared.phones import normalize_phone
from shared.settings import Settings
from shared.store.eventstore import ConcurrencyError
from tests.api.scheduler.helpers import (
    SATURDAY,
    SUNDAY,
    THIEU_TRUNG,
    Tokens,
    help_body,
    own_store,
    problem_fields,
    session_body,
)
from tests.api.scheduler.test_concurrent_help_requests import on_app_loop, post_at_once

Client = AsyncTestClient[Litestar]
UNCOUNTED = Asker(client=None, phone=None)  # the form's limits are not what these test


@pytest.fixture
async def open_client(settings: Settings, clock: FixedClock) -> AsyncIterator[Client]:
    """The scheduler with its public form's rate limits lifted (one client sends them all)."""
    await migrate("scheduler", settings.database("scheduler"))
    app = create_app(settings, clock=clock, limits=HelpRequestLimits(clock, lifted=True))
    async with AsyncTestClient(app=app) as made:
        yield made


def asking(phone: str, **changes: object) -> RequestHelp:
    fields: dict[str, object] = {
        "request_id": HelpRequestId(f"request-{uuid7()}"),
        "resident_name": "Lê Thị Hoa",
        "phone": phone,
        "commune_code": THIEU_TRUNG,
        "topics": (Topic.VNEID_ACTIVATION,),
        "channel": Channel.WEB,
        "consent_given": True,
    }
    return RequestHelp(**(fields | changes))  # type: ignore[arg-type]


async def placed_at_once(
    client: Client, commands: list[RequestHelp]
) -> list[RequestOutcome | BaseException]:
    """Every command handed to the desk in the same turn of the app's loop."""
    desk: HelpDesk = client.app.state.service.desk

    async def place_all() -> list[RequestOutcome | BaseException]:
        return await asyncio.gather(
            *(desk.place(c, Cause(correlation_id=uuid7()), UNCOUNTED) for c in commands),
            return_exceptions=True,
        )

    return await on_app_loop(client, place_all)


async def schedule(client: Client, tokens: Tokens, **body: object) -> str:
    made = await client.post("/sessions", json=session_body(**body), headers=tokens())
    assert made.status_code == 201, made.text
    return str(made.json()["session_id"])


def batches(client: Client) -> int:
    return int(client.app.state.service.desk.batches)


async def test_requests_placed_together_fare_as_one_after_another_in_arrival_order(
    open_client: Client, tokens: Tokens
) -> None:
    best = await schedule(open_client, tokens, local_date=SATURDAY, capacity=2)
    next_best = await schedule(open_client, tokens, local_date=SUNDAY, capacity=1)
    commands = [asking(f"09120000{n:02d}") for n in range(5)]

    outcomes = await placed_at_once(open_client, commands)

    assert batches(open_client) == 1
    assert [o.request.status.value for o in outcomes if isinstance(o, RequestOutcome)] == [
        "booked",
        "booked",
        "booked",
        "waiting",
        "waiting",
    ]
    assert [o.request.session_id for o in outcomes if isinstance(o, RequestOutcome)] == [
        best,
        best,
        next_best,
        None,
        None,
    ]
    async with own_store(open_client) as store, store.engine.connect() as conn:
        counted = dict(
            (await conn.execute(sa.select(sessions.c.session_id, sessions.c.booked))).all()
        )
        live = (await conn.execute(sa.select(sa.func.count()).select_from(bookings))).scalar()
    assert counted == {best: 2, next_best: 1}
    assert live == 3
    waiting = await open_client.get(f"/help-requests/{commands[3].request_id}", headers=tokens())
    assert waiting.json()["status"] == "waiting"


async def test_a_refused_request_gets_its_problem_and_the_others_their_places(
    open_client: Client, tokens: Tokens
) -> None:
    await schedule(open_client, tokens, capacity=5)
    bodies = [help_body("0912000001"), help_body("12345"), help_body("0912000003")]

    answers = await post_at_once(open_client, bodies)

    assert [a.status_code for a in answers] == [201, 422, 201]
    assert [a.json()["status"] for a in (answers[0], answers[2])] == ["booked", "booked"]
    assert problem_fields(answers[1]) == ["phone"]


async def test_the_same_resident_twice_in_one_batch_is_never_booked_twice_at_one_time(
    open_client: Client, tokens: Tokens
) -> None:
    first = await schedule(open_client, tokens, local_date=SATURDAY, capacity=5)
    same_time = await schedule(
        open_client,
        tokens,
        local_date=SATURDAY,
        capacity=5,
        venue={"name": "Nhà văn hóa thôn 5", "address": "Thôn 5"},
    )
    later = await schedule(open_client, tokens, local_date=SUNDAY, capacity=5)

    outcomes = await placed_at_once(open_client, [asking("0912000009"), asking("0912000009")])

    placed = [o.request.session_id for o in outcomes if isinstance(o, RequestOutcome)]
    assert len(placed) == 2
    assert placed[0] in {first, same_time}
    assert placed[1] == later  # not the other Saturday session at the same hour


async def test_a_home_visit_asked_in_a_batch_becomes_a_visit(
    open_client: Client, tokens: Tokens
) -> None:
    await schedule(open_client, tokens, capacity=5)
    visit = asking(
        "0912000011",
        home_visit=True,
        address="Thôn 3, xã Thiệu Trung",
        disabled=True,
        sensitive_consent_given=True,
    )

    outcomes = await placed_at_once(open_client, [asking("0912000010"), visit])

    assert [o.request.status.value for o in outcomes if isinstance(o, RequestOutcome)] == [
        "booked",
        "home_visit",
    ]
    seen = await open_client.get(f"/help-requests/{visit.request_id}", headers=tokens())
    assert seen.json()["visit_id"] == f"visit-{visit.request_id.removeprefix('request-')}"


async def test_when_a_batch_fails_as_a_whole_each_request_is_placed_alone(
    open_client: Client, tokens: Tokens
) -> None:
    session_id = await schedule(open_client, tokens, capacity=5)
    [earlier] = await placed_at_once(open_client, [asking("0912000020")])
    assert isinstance(earlier, RequestOutcome)
    # A request whose id is taken cannot be filed: its stream exists. The batch's one INSERT
    # fails, and the two others must still be placed.
    taken = asking("0912000021", request_id=earlier.request.request_id)
    others = [asking("0912000022"), asking("0912000023")]

    outcomes = await placed_at_once(open_client, [others[0], taken, others[1]])

    assert isinstance(outcomes[1], ConcurrencyError)
    assert [o.request.session_id for o in (outcomes[0], outcomes[2])] == [session_id] * 2  # type: ignore[union-attr]
    assert batches(open_client) == 1  # only the first, lone request's
    async with own_store(open_client) as store, store.engine.connect() as conn:
        phones = Counter(phone for (phone,) in await conn.execute(sa.select(bookings.c.phone)))
    assert phones == {normalize_phone(p): 1 for p in ("0912000020", "0912000022", "0912000023")}


# SQLite: the test holds the process's write turn, so the batch is certain to be waiting.
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_requests_waiting_when_the_desk_is_cancelled_are_not_left_waiting(
    open_client: Client, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    await schedule(open_client, tokens, capacity=5)
    desk: HelpDesk = open_client.app.state.service.desk
    store = open_client.app.state.runtime.store
    opening = store.transaction
    batch_opened = asyncio.Event()  # the desk took its batch and asks for the write turn

    def transaction() -> Any:
        batch_opened.set()
        return opening()

    monkeypatch.setattr(store, "transaction", transaction)

    async def cancel_while_waiting() -> list[bool]:
        async with store.begin():  # the desk's transaction must wait for this one
            asking_now = [
                asyncio.ensure_future(
                    desk.place(asking(f"091200003{n}"), Cause(correlation_id=uuid7()), UNCOUNTED)
                )
                for n in range(3)
            ]
            await asyncio.wait_for(batch_opened.wait(), 5)
            assert desk._placing is not None
            desk._placing.cancel()
            done = await asyncio.wait_for(asyncio.gather(*asking_now, return_exceptions=True), 5)
        return [isinstance(outcome, asyncio.CancelledError) for outcome in done]

    assert await on_app_loop(open_client, cancel_while_waiting) == [True, True, True]
