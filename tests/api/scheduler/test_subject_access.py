"""A resident's own copy, the scheduler's part: every request of their number, opened, with
its consent, booking, session and attendance; an unknown number gets nothing, an erased
resident only that they were; only a service may ask."""

from __future__ import annotations

from datetime import timedelta

from litestar import Litestar
from litestar.testing import AsyncTestClient

from shared.clock import FixedClock
from shared.web.auth import Role
from tests.api.scheduler.helpers import Tokens, help_body, session_body
from tests.api.volunteers.world import fire_timers

Client = AsyncTestClient[Litestar]
NAME, PHONE = "Nguyễn Thị Lựu", "0912345881"


async def _copy(client: Client, tokens: Tokens, **person: str) -> dict[str, object]:
    answer = await client.post(
        "/v1/subject-access", json=person, headers=tokens(Role.SERVICE, scope=())
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    found: dict[str, object] = answer.json()
    return found


async def test_a_resident_gets_every_request_opened_with_booking_and_attendance(
    client: Client, tokens: Tokens, clock: FixedClock
) -> None:
    sid = (await client.post("/sessions", json=session_body(), headers=tokens())).json()[
        "session_id"
    ]
    filed = await client.post(
        "/help-requests", json=help_body(PHONE, resident_name=NAME, address="Xóm Chùa")
    )
    booked = filed.json()
    await client.post("/help-requests", json=help_body("0912345882"))  # someone else
    clock.advance(timedelta(days=4, hours=23, minutes=30))  # Saturday 08:30 local
    marked = await client.post(
        f"/sessions/{sid}/attendance",
        json={"booking_id": booked["booking_id"], "status": "attended", "outcomes": []},
        headers=tokens(),
    )
    assert marked.status_code == 200

    copy = await _copy(client, tokens, phone="+84912345881")

    assert (copy["service"], copy["status"]) == ("scheduler", "held")
    assert copy["made_at"] == clock.now().isoformat().replace("+00:00", "Z")
    data = copy["data"]
    assert isinstance(data, dict)
    [request] = data["help_requests"]
    assert (request["resident_name"], request["phone"], request["address"]) == (
        NAME,
        "+84912345881",
        "Xóm Chùa",
    )
    assert request["consent"]["wording_version"] == "help-v1"
    [booking] = request["bookings"]
    assert (booking["booking_id"], booking["attendance"]) == (booked["booking_id"], "attended")
    assert booking["session"]["session_id"] == sid
    assert booking["session"]["venue"]["name"] == "Nhà văn hóa thôn 2"
    by_id = await _copy(client, tokens, request_id=booked["request_id"])
    assert by_id["data"] == data


async def test_an_unknown_number_gets_nothing_and_an_erased_resident_only_that(
    client: Client, tokens: Tokens, clock: FixedClock
) -> None:
    filed = (await client.post("/help-requests", json=help_body(PHONE, resident_name=NAME))).json()
    nobody = await _copy(client, tokens, phone="0912345999")
    await client.post(f"/help-requests/{filed['request_id']}/erasure", headers=tokens())
    clock.advance(timedelta(minutes=10))
    assert await fire_timers(client) == 1

    erased = await _copy(client, tokens, request_id=filed["request_id"], phone=PHONE)

    assert (nobody["status"], nobody["data"]) == (
        "nothing_held",
        {"help_requests": [], "erased_requests": []},
    )
    assert erased["status"] == "erased"
    assert erased["data"] == {
        "help_requests": [],
        "erased_requests": [{"request_id": filed["request_id"], "status": "erased"}],
    }


async def test_only_a_service_may_ask_and_must_name_someone(client: Client, tokens: Tokens) -> None:
    body = {"phone": PHONE}
    nobody = await client.post("/v1/subject-access", json=body)
    admin = await client.post("/v1/subject-access", json=body, headers=tokens(Role.ADMIN, ()))
    coordinator = await client.post("/v1/subject-access", json=body, headers=tokens())
    unnamed = await client.post("/v1/subject-access", json={}, headers=tokens(Role.SERVICE, ()))
    wrong = await client.post(
        "/v1/subject-access", json={"phone": "12"}, headers=tokens(Role.SERVICE, ())
    )

    assert nobody.status_code == 401
    assert (admin.status_code, coordinator.status_code) == (403, 403)
    assert (unnamed.status_code, unnamed.json()["field"]) == (422, "phone")
    assert (wrong.status_code, wrong.json()["field"]) == (422, "phone")
