"""A volunteer's own copy, the volunteers service's part: their record opened, with consent,
availability and every assignment; nothing for an unknown number, only `erased` once they
were erased; only a service may ask."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from nats.aio.client import Client

from shared.clock import FixedClock
from shared.settings import Settings
from shared.web.auth import Role
from tests.api.volunteers.test_staffing import planned
from tests.api.volunteers.world import (
    COORDINATOR,
    T0,
    THIEU_TOAN,
    Feed,
    fire_timers,
    new_group,
    new_volunteer,
    session_scheduled,
    volunteer_token,
    volunteers_app,
)
from tests.support.services import token

SERVICE = token(Role.SERVICE)


async def copy_of(client: AsyncTestClient[Litestar], **person: str) -> dict[str, Any]:
    answer = await client.post("/v1/subject-access", json=person, headers=SERVICE)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    found: dict[str, Any] = answer.json()
    return found


async def test_a_volunteer_gets_their_record_and_assignments_opened(
    settings: Settings, nc: Client
) -> None:
    clock = FixedClock(T0)
    async with volunteers_app(settings, nc, clock) as client:
        group = await new_group(client)
        made = await new_volunteer(
            client, group, "0912345660", name="Hà Văn Sơn", village="Bản Lác"
        )
        far_group = await new_group(client, THIEU_TOAN, "Tổ Thiệu Toán")
        await new_volunteer(client, far_group, "0912345661", name="Someone Else")
        session = session_scheduled()
        await Feed(nc).scheduler(session.session_id, session)
        await planned(client, lambda p: p["plan"] is not None)
        by_phone = await copy_of(client, phone="0912 345 660")
        by_id = await copy_of(client, volunteer_id=made["volunteer_id"])
        nobody = await copy_of(client, phone="0912345669")

    assert (by_phone["service"], by_phone["status"]) == ("volunteers", "held")
    [held] = by_phone["data"]["volunteers"]
    assert (held["name"], held["phone"], held["village"]) == (
        "Hà Văn Sơn",
        "+84912345660",
        "Bản Lác",
    )
    assert held["consent"]["wording_version"] == "volunteer-v1"
    assert held["availability"]
    [assignment] = held["assignments"]
    assert (assignment["slot_id"], assignment["status"]) == (session.session_id, "proposed")
    assert by_id["data"] == by_phone["data"]
    assert nobody["status"] == "nothing_held"
    assert nobody["data"] == {"volunteers": [], "erased_volunteers": []}


async def test_an_erased_volunteer_is_only_said_erased_and_others_may_not_ask(
    settings: Settings, nc: Client
) -> None:
    clock = FixedClock(T0)
    async with volunteers_app(settings, nc, clock) as client:
        group = await new_group(client)
        vid = (await new_volunteer(client, group, "0912345662"))["volunteer_id"]
        await client.post(f"/volunteers/{vid}/erasure", headers=volunteer_token(vid))
        clock.advance(timedelta(minutes=11))
        assert await fire_timers(client) == 1
        erased = await copy_of(client, volunteer_id=vid)
        refused = [
            (await client.post("/v1/subject-access", json={"volunteer_id": vid}, headers=h))
            for h in (COORDINATOR, volunteer_token(vid), {})
        ]

    assert erased["status"] == "erased"
    assert erased["data"] == {
        "volunteers": [],
        "erased_volunteers": [{"volunteer_id": vid, "erasure": "erased"}],
    }
    assert [r.status_code for r in refused] == [403, 403, 401]
