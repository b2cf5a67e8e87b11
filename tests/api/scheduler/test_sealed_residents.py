"""A resident's name, phone and address are sealed in the scheduler's log with a key of their
own, which only another HandInHand service may ask for."""

from __future__ import annotations

import base64

import msgspec
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import AsyncTestClient

from shared.personal.datakey import DataKey
from shared.personal.sealing import is_sealed, unseal
from shared.web.auth import Role
from tests.api.scheduler.helpers import Tokens, help_body, own_store, session_body

Client = AsyncTestClient[Litestar]


async def _bodies(client: Client, event_type: str) -> list[dict[str, object]]:
    async with own_store(client) as store, store.engine.connect() as conn:
        events = store.tables.events
        rows = await conn.execute(sa.select(events.c.data).where(events.c.event_type == event_type))
        return [msgspec.json.decode(bytes(row.data)) for row in rows]


async def test_the_log_holds_the_resident_sealed_and_the_api_in_clear(
    client: Client, tokens: Tokens
) -> None:
    await client.post("/sessions", json=session_body(), headers=tokens())
    filed = await client.post(
        "/help-requests", json=help_body(address="Xóm 3, thôn Đông"), headers=tokens()
    )
    request_id = filed.json()["request_id"]

    [asked] = await _bodies(client, "help.requested")
    [booked] = await _bodies(client, "resident.booked")
    resident = booked["resident"]
    assert isinstance(resident, dict)
    for value in (asked["resident_name"], asked["phone"], asked["address"], resident["phone"]):
        assert isinstance(value, str), value
        assert is_sealed(value), value
    assert asked["request_id"] == resident["request_id"] == request_id  # ids stay in clear
    seen = (await client.get(f"/help-requests/{request_id}", headers=tokens())).json()
    assert (seen["resident_name"], seen["phone"]) == ("Lê Thị Hoa", "+84912345678")

    # the key another service is given opens exactly these values
    given = await client.post(
        "/v1/person-keys",
        json={"person_ids": [request_id, "request-nobody"]},
        headers=tokens(Role.SERVICE, scope=()),
    )
    assert given.status_code == 200
    keys = given.json()["keys"]
    assert keys["request-nobody"] is None
    key = DataKey(base64.b64decode(keys[request_id]))
    assert unseal(key, request_id, "phone", str(asked["phone"])) == "+84912345678"
    assert unseal(key, request_id, "address", str(asked["address"])) == "Xóm 3, thôn Đông"


async def test_only_a_service_may_ask_for_keys(client: Client, tokens: Tokens) -> None:
    body = {"person_ids": ["request-1"]}
    admin = await client.post("/v1/person-keys", json=body, headers=tokens(Role.ADMIN, scope=()))
    nobody = await client.post("/v1/person-keys", json=body)
    empty = await client.post(
        "/v1/person-keys", json={"person_ids": []}, headers=tokens(Role.SERVICE, scope=())
    )

    assert admin.status_code == 403
    assert nobody.status_code == 401
    assert (empty.status_code, empty.json()["field"]) == (400, "person_ids")


async def test_a_service_token_can_do_nothing_else(client: Client, tokens: Tokens) -> None:
    made = await client.post(
        "/sessions", json=session_body(), headers=tokens(Role.SERVICE, scope=())
    )
    assert made.status_code == 403
