"""Many residents ask for help at the same moment: each is booked once, no session overfills;
and what the process remembers between requests never outlives a rolled-back transaction."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import AsyncTestClient

from migrations.run import migrate
from services.scheduler.app import create_app
from services.scheduler.domain.requests import RequestHelp
from services.scheduler.handlers import placing, streams
from services.scheduler.limits import HelpRequestLimits
from services.scheduler.memory import Memory
from services.scheduler.tables import bookings, sessions
from shared.clock import FixedClock
from shared.events.base import Cause
from shared.events.scheduler import Channel, HelpRequestId, StaffingAlertRaised
from shared.events.vocabulary import Topic
from shared.ids import uuid7
from shared.settings import Settings
from shared.store.eventstore import EventStore
from tests.api.scheduler.helpers import (
    SUNDAY,
    THIEU_TRUNG,
    Tokens,
    help_body,
    own_store,
    session_body,
)
from tests.conftest import postgres_only
from tests.support.waiting import eventually

Client = AsyncTestClient[Litestar]
T = TypeVar("T")
RESIDENTS = 20


class RolledBackError(Exception):
    """Raised to end a transaction without committing it."""


@pytest.fixture
async def open_client(
    settings: Settings, clock: FixedClock
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The scheduler with its public form's rate limits lifted (one client sends them all)."""
    await migrate("scheduler", settings.database("scheduler"))
    app = create_app(settings, clock=clock, limits=HelpRequestLimits(clock, lifted=True))
    async with AsyncTestClient(app=app) as made:
        yield made


async def on_app_loop(client: Client, work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` on the app's own event loop, beside its store (the test client sends one
    request at a time, from another loop)."""
    return await asyncio.to_thread(client.blocking_portal.call, work)


async def post_at_once(
    client: Client, bodies: list[dict[str, Any]], headers: list[dict[str, str]] | None = None
) -> list[httpx.Response]:
    """POST every body to /help-requests at the same moment."""
    sent_with = headers or [{} for _ in bodies]

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return list(
                await asyncio.gather(
                    *(
                        http.post("/help-requests", json=body, headers=extra)
                        for body, extra in zip(bodies, sent_with, strict=True)
                    )
                )
            )

    return await on_app_loop(client, send_all)


async def live_bookings(client: Client) -> list[tuple[str, str]]:
    """(phone, session) of every live booking."""
    async with own_store(client) as store, store.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(bookings.c.phone, bookings.c.session_id).where(bookings.c.status == "booked")
        )
        return [(phone, session) for phone, session in rows]


async def logged(client: Client, event_type: str) -> list[tuple[str, int]]:
    """(stream, version) of every event of a type."""
    async with own_store(client) as store, store.engine.connect() as conn:
        events = store.tables.events
        rows = await conn.execute(
            sa.select(events.c.stream_id, events.c.stream_version).where(
                events.c.event_type == event_type
            )
        )
        return [(stream, version) for stream, version in rows]


async def test_residents_asking_at_once_are_each_booked_once_and_no_session_overfills(
    open_client: Client, tokens: Tokens
) -> None:
    capacities = {"2026-03-07": 7, SUNDAY: 7, "2026-03-14": 6}  # 20 places, best first
    made = [
        await open_client.post(
            "/sessions", json=session_body(local_date=day, capacity=places), headers=tokens()
        )
        for day, places in capacities.items()
    ]
    assert [m.status_code for m in made] == [201, 201, 201]
    phones = [f"0912{n:06d}" for n in range(RESIDENTS)]

    answers = await post_at_once(open_client, [help_body(phone) for phone in phones])

    assert [a.status_code for a in answers] == [201] * RESIDENTS, [a.text for a in answers]
    assert {a.json()["status"] for a in answers} == {"booked"}
    by_session = Counter(a.json()["session_id"] for a in answers)
    assert by_session == {m.json()["session_id"]: m.json()["capacity"] for m in made}
    live = await live_bookings(open_client)
    assert sorted(phone for phone, _ in live) == sorted(f"+84{p[1:]}" for p in phones)
    assert Counter(session for _, session in live) == by_session
    async with own_store(open_client) as store, store.engine.connect() as conn:
        counted = dict(
            (await conn.execute(sa.select(sessions.c.session_id, sessions.c.booked))).all()
        )
    assert counted == dict(by_session)
    assert len(await logged(open_client, "resident.booked")) == RESIDENTS
    for answer in answers:  # what each resident was told is what the coordinators see
        seen = await open_client.get(
            f"/help-requests/{answer.json()['request_id']}", headers=tokens()
        )
        assert seen.json() == answer.json()


async def test_a_request_sent_again_at_once_with_its_key_is_filed_and_booked_once(
    open_client: Client, tokens: Tokens
) -> None:
    await open_client.post("/sessions", json=session_body(capacity=10), headers=tokens())
    keyed = help_body("0912000001")
    bodies = [keyed] * 5 + [help_body(f"091200010{n}") for n in range(5)]
    headers = [{"Idempotency-Key": "form-7"}] * 5 + [{}] * 5

    answers = await post_at_once(open_client, bodies, headers)

    assert [a.status_code for a in answers] == [201] * 10, [a.text for a in answers]
    assert len({a.content for a in answers[:5]}) == 1  # the same answer, byte for byte
    request_id = answers[0].json()["request_id"]
    assert [s for s, _ in await logged(open_client, "help.requested")].count(request_id) == 1
    phones = Counter(phone for phone, _ in await live_bookings(open_client))
    assert phones == {f"+8491200{n:04d}": 1 for n in (1, 100, 101, 102, 103, 104)}


async def test_a_session_read_by_a_transaction_that_rolls_back_is_remembered_as_committed(
    open_client: Client, tokens: Tokens, clock: FixedClock
) -> None:
    made = await open_client.post("/sessions", json=session_body(capacity=2), headers=tokens())
    session_id = made.json()["session_id"]
    store: EventStore = open_client.app.state.runtime.store
    memory: Memory = open_client.app.state.service.memory

    async def book_then_roll_back() -> None:
        with contextlib.suppress(RolledBackError):
            async with store.transaction() as tx:
                command = RequestHelp(
                    request_id=HelpRequestId(f"request-{uuid7()}"),
                    resident_name="Lê Văn Tám",
                    phone="0912999888",
                    commune_code=THIEU_TRUNG,
                    topics=(Topic.VNEID_ACTIVATION,),
                    channel=Channel.WEB,
                    consent_given=True,
                )
                placed = await placing.request_help(
                    tx, command, memory=memory, now=clock.now(), cause=Cause(correlation_id=uuid7())
                )
                assert placed.booked is not None
                # Read again after its own booking: this must never be remembered.
                seen = await streams.load_session(tx, session_id, memory=memory)
                assert seen.require().free_places == 1
                raise RolledBackError

    await on_app_loop(open_client, book_then_roll_back)
    first = await open_client.post("/help-requests", json=help_body("0912000201"))
    second = await open_client.post("/help-requests", json=help_body("0912000202"))
    third = await open_client.post("/help-requests", json=help_body("0912000203"))

    assert [a.json()["status"] for a in (first, second, third)] == ["booked", "booked", "waiting"]
    assert {first.json()["session_id"], second.json()["session_id"]} == {session_id}
    booked = sorted(v for s, v in await logged(open_client, "resident.booked") if s == session_id)
    assert booked == [2, 3]  # no gap where the rolled-back booking was
    assert sorted(p for p, _ in await live_bookings(open_client)) == [
        "+84912000201",
        "+84912000202",
    ]


# PostgreSQL only: SQLite writers take turns, so no append can come between a read and a write.
@postgres_only
async def test_a_booking_that_meets_a_concurrent_append_chooses_again(
    open_client: Client, tokens: Tokens, settings: Settings, clock: FixedClock
) -> None:
    assert settings.database("scheduler").is_postgres
    made = await open_client.post("/sessions", json=session_body(capacity=3), headers=tokens())
    session_id = made.json()["session_id"]
    await open_client.post("/help-requests", json=help_body("0912000301"))  # now remembered

    async with own_store(open_client) as store:
        outsider = EventStore(
            store.engine, store.tables, store.catalog, "scheduler", clock
        )  # appends without taking the session's turn, and without read models
        outsider.personal = store.personal
        async with outsider.transaction() as tx:
            outsider_memory = Memory()  # another process's
            read = streams.remembered_session(outsider_memory, session_id)
            # read without taking the session's turn
            await read.catch_up(tx, memory=outsider_memory)
            session = read.require()
            alert = StaffingAlertRaised(
                session_id=session.session_id,
                coordinator_id=session.coordinator_id,
                commune_code=session.commune_code,
                venue=session.venue,
                when=session.when,
                volunteers_needed=session.volunteers_needed,
                raised_at=clock.now(),
            )
            await tx.append(session_id, read.version, [alert], Cause(correlation_id=uuid7()))
            xid = await tx.conn.scalar(sa.text("SELECT pg_current_xact_id()::text"))
            sending = asyncio.create_task(post_at_once(open_client, [help_body("0912000302")]))

            async def waiting_for_us() -> int:
                async with store.engine.connect() as conn:
                    found = await conn.scalar(
                        sa.text(
                            "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' "
                            "AND transactionid::text = :xid AND NOT granted"
                        ),
                        {"xid": xid},
                    )
                    return int(found or 0)

            await eventually(waiting_for_us, lambda waiting: waiting > 0)
        [answer] = await sending

    assert answer.status_code == 201, answer.text
    assert answer.json()["session_id"] == session_id
    versions = sorted(v for s, v in await logged(open_client, "resident.booked") if s == session_id)
    assert versions == [2, 4]  # the second booking went after the alert that came in between
