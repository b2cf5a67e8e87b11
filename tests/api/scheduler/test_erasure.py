"""A resident is forgotten: their upcoming booking is cancelled, their key destroyed, their
name and phone gone from every table of the scheduler; reports still count them, a rebuild
from the log gives the same read models, and a new request from the same phone starts fresh."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime, timedelta

from litestar import Litestar
from litestar.testing import AsyncTestClient

from services.scheduler.handlers.erasure import erase_by_sms
from services.scheduler.memory import Memory
from services.scheduler.tables import READ_MODELS
from shared.bus.consumer import caused_by
from shared.clock import FixedClock
from shared.events.base import Event, RecordedEvent
from shared.events.notifications import InboundSmsId, ResidentErasureConfirmed
from shared.events.scheduler import Actor, ErasureBySmsStarted, ResidentErasureRequested
from shared.ids import uuid7
from shared.store.log import START
from shared.store.rebuild import rebuild_read_models
from shared.web.auth import Role
from tests.api.scheduler.helpers import (
    HOAN_KIEM,
    SUNDAY,
    Tokens,
    help_body,
    own_store,
    session_body,
)
from tests.api.scheduler.test_reports import read_models
from tests.api.volunteers.world import fire_timers
from tests.support.search import in_database, needles

Client = AsyncTestClient[Litestar]
NAME, PHONE = "Phạm Văn Xuyến", "0912345771"


async def _key_of(client: Client, tokens: Tokens, request_id: str) -> str | None:
    given = await client.post(
        "/v1/person-keys", json={"person_ids": [request_id]}, headers=tokens(Role.SERVICE, ())
    )
    key: str | None = given.json()["keys"][request_id]
    return key


async def test_an_attended_resident_is_forgotten_and_still_counted(
    client: Client, tokens: Tokens, clock: FixedClock
) -> None:
    sid = (await client.post("/sessions", json=session_body(), headers=tokens())).json()[
        "session_id"
    ]
    xuyen = (
        await client.post(
            "/help-requests", json=help_body(PHONE, resident_name=NAME, address="Xóm Đồng Mới")
        )
    ).json()
    other = (await client.post("/help-requests", json=help_body("0912345772"))).json()
    clock.advance(timedelta(days=4, hours=23, minutes=30))  # Saturday 08:30 local
    for booking in (xuyen["booking_id"], other["booking_id"]):
        marked = await client.post(
            f"/sessions/{sid}/attendance",
            json={"booking_id": booking, "status": "attended", "outcomes": ["vneid_activated"]},
            headers=tokens(),
        )
        assert marked.status_code == 200
    await client.post(f"/sessions/{sid}/complete", json={}, headers=tokens())
    window = {"from": "2026-03-01", "to": "2026-03-31"}
    report = f"/communes/{xuyen['commune_code']}/report"
    before = (await client.get(report, params=window, headers=tokens())).json()
    stored = client.app.state.runtime.settings.database("scheduler")

    asked = await client.post(f"/help-requests/{xuyen['request_id']}/erasure", headers=tokens())
    again = await client.post(f"/help-requests/{xuyen['request_id']}/erasure", headers=tokens())
    assert (asked.status_code, asked.json()["status"]) == (202, "erasing")
    assert again.json() == asked.json()
    assert await _key_of(client, tokens, xuyen["request_id"]) is not None  # still opens

    clock.advance(timedelta(minutes=10))  # nobody said they were done: the key goes anyway
    assert await fire_timers(client) == 1

    seen = (await client.get(f"/help-requests/{xuyen['request_id']}", headers=tokens())).json()
    assert (seen["status"], seen["resident_name"], seen["phone"]) == ("erased", "", "")
    assert await _key_of(client, tokens, xuyen["request_id"]) is None
    assert await _key_of(client, tokens, other["request_id"]) is not None
    assert (await client.get(report, params=window, headers=tokens())).json() == before
    assert await in_database(stored, needles(NAME, PHONE, "Xóm Đồng Mới")) == []
    live = await read_models(client)
    async with own_store(client) as store:
        await rebuild_read_models(store, READ_MODELS)
    assert await read_models(client) == live

    # the phone is unknown now: asking again starts afresh
    later = session_body(local_date="2026-03-14")
    await client.post("/sessions", json=later, headers=tokens())
    fresh = await client.post("/help-requests", json=help_body(PHONE, resident_name=NAME))
    assert fresh.json()["status"] == "booked"
    assert fresh.json()["request_id"] != xuyen["request_id"]


async def test_an_upcoming_booking_is_cancelled_and_only_staff_in_scope_may_ask(
    client: Client, tokens: Tokens
) -> None:
    sid = (await client.post("/sessions", json=session_body(), headers=tokens())).json()[
        "session_id"
    ]
    booked = (await client.post("/help-requests", json=help_body(PHONE))).json()
    path = f"/help-requests/{booked['request_id']}/erasure"

    outsider = await client.post(path, headers=tokens(scope=(HOAN_KIEM,)))
    volunteer = await client.post(path, headers=tokens(Role.VOLUNTEER, volunteer_id="v-1"))
    unknown = await client.post("/help-requests/request-nobody/erasure", headers=tokens())
    resident = await client.post(path)
    assert (outsider.status_code, volunteer.status_code, resident.status_code) == (403, 403, 401)
    assert (unknown.status_code, unknown.json()["field"]) == (404, "request_id")

    erasing = await client.post(path, headers=tokens(Role.ADMIN, ()))
    session = (await client.get(f"/sessions/{sid}", headers=tokens())).json()
    assert erasing.json()["status"] == "erasing"
    assert session["booked"] == 0  # the place went back
    other_day = session_body(local_date=SUNDAY)
    assert (await client.post("/sessions", json=other_day, headers=tokens())).status_code == 201


def _confirmed_by_sms(phone: str, at: datetime) -> RecordedEvent:
    """`resident.erasure_confirmed` as the scheduler's consumer hands it over."""
    return RecordedEvent(
        event_id=uuid7(),
        source="notifications",
        stream_id="erasure-abc",
        stream_version=2,
        event=ResidentErasureConfirmed(
            inbound_id=InboundSmsId("inbound-1"), phone=phone, confirmed_at=at
        ),
        recorded_at=at,
        correlation_id=uuid7(),
    )


async def _hear(client: Client, confirmed: RecordedEvent) -> None:
    """What the scheduler's consumer does with it (the consumer itself: tests/e2e)."""
    async with own_store(client) as store, store.transaction() as tx:
        await erase_by_sms(
            tx, confirmed, memory=Memory(), now=store.clock.now(), cause=caused_by(confirmed)
        )


async def test_a_resident_who_confirms_by_sms_has_every_request_of_their_number_erased(
    client: Client, tokens: Tokens, clock: FixedClock
) -> None:
    await client.post("/sessions", json=session_body(), headers=tokens())
    first = (await client.post("/help-requests", json=help_body(PHONE))).json()
    second = (
        await client.post(
            "/help-requests",
            json=help_body(PHONE, home_visit=True, address="Xóm 2"),
            headers=tokens(),
        )
    ).json()
    assert "request_id" in second, second
    other = (await client.post("/help-requests", json=help_body("0912345772"))).json()
    confirmed = _confirmed_by_sms("+84912345771", clock.now())

    await _hear(client, confirmed)
    await _hear(client, confirmed)  # delivered again: nothing more

    def status(request: dict[str, str]) -> Awaitable[str]:
        async def seen() -> str:
            path = f"/help-requests/{request['request_id']}"
            return str((await client.get(path, headers=tokens())).json()["status"])

        return seen()

    assert [await status(r) for r in (first, second, other)] == ["erasing", "erasing", "booked"]
    events = await _events(client)
    asked = [e for e in events if isinstance(e, ResidentErasureRequested)]
    [started] = [e for e in events if isinstance(e, ErasureBySmsStarted)]
    assert sorted(e.request_id for e in asked) == sorted(
        [first["request_id"], second["request_id"]]
    )
    assert {(e.requested_by, e.confirmation_id) for e in asked} == {
        (Actor.RESIDENT, confirmed.event_id)
    }
    assert sorted(started.request_ids) == sorted([first["request_id"], second["request_id"]])
    assert started.erasure_stream == "erasure-abc"


async def test_a_number_the_scheduler_holds_nothing_for_is_said_to_have_no_request(
    client: Client, clock: FixedClock
) -> None:
    await _hear(client, _confirmed_by_sms("+84912345999", clock.now()))
    await _hear(client, _confirmed_by_sms("", clock.now()))  # already erased: names nobody

    started = [e for e in await _events(client) if isinstance(e, ErasureBySmsStarted)]
    assert [e.request_ids for e in started] == [(), ()]


async def _events(client: Client) -> list[Event]:
    async with own_store(client) as store, store.reader.connect() as conn:
        stored = await store.log.read(conn, START, 100_000, whole_snapshot=True)
        return [store.log.recorded(item).event for item in stored]
