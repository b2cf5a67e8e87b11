"""Villages and hamlets come from a CSV, all or nothing; provinces and communes from the list."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from services.scheduler.handlers.places import import_places_csv, load_sample_places
from services.scheduler.memory import VILLAGES_KEPT_FOR, Memory
from shared.clock import FixedClock
from shared.web.auth import Role
from tests.api.scheduler.helpers import (
    THIEU_TRUNG,
    Tokens,
    event_types,
    help_body,
    own_store,
    problem_fields,
    session_body,
)

Client = AsyncTestClient[Litestar]
CSV = {"Content-Type": "text/csv"}
GOOD = "code,name,kind,parent\n15835-09,Thôn 9,thôn,15835\n15772-09,Xóm 9,hamlet,15772\n"


async def test_an_admin_imports_villages_all_or_nothing(client: Client, tokens: Tokens) -> None:
    admin = tokens(Role.ADMIN, ()) | CSV
    bad = (
        "code,name,kind,parent\n15835-09,Thôn 9,thôn,15835\n"
        "x y,,castle,99999\n15835-09,Dup,village,15835\n"
    )
    once = admin | {"Idempotency-Key": "v1"}

    rejected = await client.post("/places/import", content=bad, headers=admin)
    imported = await client.post("/places/import", content=GOOD, headers=once)
    retried = await client.post("/places/import", content=GOOD, headers=once)
    again = await client.post("/places/import", content=GOOD, headers=admin)
    coordinator = await client.post("/places/import", content=GOOD, headers=tokens() | CSV)
    anonymous = await client.post("/places/import", content=GOOD, headers=CSV)

    assert rejected.status_code == 422
    assert problem_fields(rejected) == ["line 3", "line 4"]
    assert "castle" in rejected.json()["errors"][0]["message"]
    assert imported.status_code == 201
    assert imported.json() == {"imported": 2, "communes": ["15772", "15835"]}
    assert retried.json() == imported.json()
    assert again.status_code == 422  # the codes are taken now
    assert coordinator.status_code == 403
    assert anonymous.status_code == 401
    assert await event_types(client) == ["places.imported"]

    commune = (await client.get(f"/communes/{THIEU_TRUNG}")).json()
    assert commune["name"] == "Xã Thiệu Trung"
    assert commune["province_name"] == "Thanh Hóa"
    assert commune["villages"] == [{"code": "15835-09", "name": "Thôn 9", "kind": "village"}]
    communes = (await client.get("/provinces/38/communes")).json()
    assert len(communes) == 166
    assert next(c for c in communes if c["code"] == THIEU_TRUNG)["villages"] == 1
    assert (await client.get("/provinces/99/communes")).status_code == 404
    assert (await client.get("/communes/99999")).status_code == 404


async def test_the_sample_loads_once_and_villages_check_venues(
    client: Client, tokens: Tokens
) -> None:
    taken = "code,name,kind,parent\n15835-01,Again,village,15835\n"
    async with own_store(client) as store:  # as another process (the CLI) would
        memory = Memory()
        first = await load_sample_places(store, memory=memory)
        second = await load_sample_places(store, memory=memory)
        by_function = await import_places_csv(store, taken, memory=memory)

    assert first.imported == 11
    assert second.imported == 0
    assert by_function.imported == 0
    assert by_function.rejected[0].line == 2
    villages = (await client.get(f"/communes/{THIEU_TRUNG}")).json()["villages"]
    assert [v["code"] for v in villages] == ["15835-01", "15835-02", "15835-03", "15835-04"]
    venue = {"name": "Nhà văn hóa", "address": "Thôn 1", "village_code": "15772-01"}
    wrong_village = await client.post("/sessions", json=session_body(venue=venue), headers=tokens())
    assert (wrong_village.status_code, problem_fields(wrong_village)) == (
        422,
        ["venue.village_code"],
    )


async def test_every_endpoint_is_described_in_openapi(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    operations = {
        (method.upper(), path): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if path not in {"/healthz", "/readyz", "/metrics"}
    }

    assert len(operations) == 28
    assert all(op.get("summary") for op in operations.values())
    upload = operations["POST", "/places/import"]["requestBody"]["content"]
    assert list(upload) == ["text/csv"]
    help_form = operations["POST", "/help-requests"]
    assert help_form["security"] == [{}, {"bearer": []}]  # a token is optional
    assert operations["POST", "/sessions"]["security"] == [{"bearer": []}]


async def test_villages_imported_after_a_request_apply_to_the_next_one(
    client: Client, tokens: Tokens, clock: FixedClock
) -> None:
    before = await client.post(
        "/help-requests", json=help_body("0912000001", village_code="15835-77")
    )
    imported = await client.post(
        "/places/import", content=GOOD, headers=tokens(Role.ADMIN, ()) | CSV
    )
    unknown = await client.post(
        "/help-requests", json=help_body("0912000002", village_code="15835-77")
    )
    known = await client.post(
        "/help-requests", json=help_body("0912000003", village_code="15835-09")
    )
    async with own_store(client) as store:  # as another process (the CLI) would
        await import_places_csv(
            store, "code,name,kind,parent\n15835-10,Thôn 10,thôn,15835\n", memory=Memory()
        )
    clock.advance(VILLAGES_KEPT_FOR)
    from_elsewhere = await client.post(
        "/help-requests", json=help_body("0912000004", village_code="15835-10")
    )

    assert (before.status_code, imported.status_code) == (201, 201)  # none imported: any code
    assert (unknown.status_code, problem_fields(unknown)) == (422, ["village_code"])
    assert known.status_code == 201
    assert from_elsewhere.status_code == 201  # at most VILLAGES_KEPT_FOR later
