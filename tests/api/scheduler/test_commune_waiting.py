"""GET /communes/{code}/waiting: who a commune still owes a place or a visit (with the name of
the resident to visit), scope-checked."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from shared.web.auth import Role
from tests.api.scheduler.helpers import (
    HOAN_KIEM,
    THIEU_TRUNG,
    Tokens,
    help_body,
    session_body,
)

Client = AsyncTestClient[Litestar]


async def test_a_communes_waiting_residents_and_home_visits(client: Client, tokens: Tokens) -> None:
    await client.post("/sessions", json=session_body(capacity=1), headers=tokens())
    booked = await client.post("/help-requests", json=help_body("0912345001"), headers=tokens())
    waiting = await client.post(
        "/help-requests", json=help_body("0912345002", resident_name="Trần Văn Bình")
    )
    visit = await client.post(
        "/help-requests",
        json=help_body(
            "0912345003", resident_name="Phạm Thị Cúc", home_visit=True, address="Thôn 1"
        ),
    )
    assert (booked.json()["status"], waiting.json()["status"]) == ("booked", "waiting")

    answer = await client.get(f"/communes/{THIEU_TRUNG}/waiting", headers=tokens())
    outsider = await client.get(
        f"/communes/{THIEU_TRUNG}/waiting", headers=tokens(scope=(HOAN_KIEM,))
    )
    resident = await client.get(f"/communes/{THIEU_TRUNG}/waiting")
    unknown = await client.get("/communes/99999/waiting", headers=tokens(Role.ADMIN, ()))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [w["name"] for w in body["waiting"]] == ["Trần Văn Bình"]
    assert [v["request_id"] for v in body["home_visits"]] == [visit.json()["request_id"]]
    assert body["home_visits"][0]["status"] == "requested"
    assert body["home_visits"][0]["resident_name"] == "Phạm Thị Cúc"  # whose home to visit
    assert outsider.status_code == 403
    assert resident.status_code == 401
    assert unknown.status_code == 404
