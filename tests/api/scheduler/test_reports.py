"""After the day: the commune report (JSON and CSV), the 48-hour staffing alert, and read
models rebuilt from the log equal to the live ones."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import AsyncTestClient

from services.scheduler.handlers import reactions
from services.scheduler.memory import Memory
from services.scheduler.tables import READ_MODELS, timers
from shared.clock import FixedClock
from shared.events.base import Cause
from shared.events.volunteers import SessionStaffed, SlotId, SlotKind, VolunteerId
from shared.store.rebuild import rebuild_read_models
from shared.web.auth import Role
from tests.api.scheduler.helpers import (
    HOAN_KIEM,
    SUNDAY,
    THIEU_TRUNG,
    Tokens,
    event_types,
    help_body,
    own_store,
    session_body,
)
from tests.support.waiting import eventually

Client = AsyncTestClient[Litestar]


async def read_models(client: Client) -> dict[str, list[dict[str, Any]]]:
    async with own_store(client) as store, store.engine.connect() as conn:
        return {
            table.name: [
                dict(row._mapping)
                for row in await conn.execute(sa.select(table).order_by(*table.primary_key))
            ]
            for table in READ_MODELS
        }


async def test_reports_a_commune_and_rebuilds_the_same_read_models(
    client: Client, tokens: Tokens, clock: FixedClock
) -> None:
    admin = tokens(Role.ADMIN, ()) | {"Content-Type": "text/csv"}
    places = "code,name,kind,parent\n15835-01,Thôn 1,village,15835\n"
    await client.post("/places/import", content=places, headers=admin)
    session = session_body(capacity=3, accessibility=["screen_reader_help"])
    sid = (await client.post("/sessions", json=session, headers=tokens())).json()["session_id"]
    elderly = (await client.post("/help-requests", json=help_body("0912345001"))).json()
    blind = help_body(
        "0912345002",
        birth_year=1990,
        accessibility_needs=["screen_reader_help"],
        topics=["online_public_services"],
    )
    disabled = (await client.post("/help-requests", json=blind)).json()
    absent = (await client.post("/help-requests", json=help_body("0912345003"))).json()
    gone = (await client.post("/help-requests", json=help_body("0912345004"))).json()
    await client.post(f"/bookings/{gone['booking_id']}/cancel", json={"phone": "0912345004"})
    await client.post(
        "/help-requests", json=help_body("0912345005", home_visit=True, address="Thôn 1")
    )
    spare = {"local_date": SUNDAY, "commune_code": THIEU_TRUNG}
    spare_id = (
        await client.post("/sessions", json=session_body(**spare), headers=tokens())
    ).json()["session_id"]
    await client.post(
        f"/sessions/{spare_id}/cancel", json={"reason": "trùng lịch"}, headers=tokens()
    )

    clock.advance(timedelta(days=4, hours=23, minutes=30))  # Saturday 08:30 local
    for booking, status, outcomes in [
        (elderly["booking_id"], "attended", ["vneid_activated"]),
        (disabled["booking_id"], "attended", ["application_submitted"]),
        (absent["booking_id"], "no_show", []),
    ]:
        marked = await client.post(
            f"/sessions/{sid}/attendance",
            json={"booking_id": booking, "status": status, "outcomes": outcomes},
            headers=tokens(),
        )
        assert marked.status_code == 200, marked.json()
    await client.post(f"/sessions/{sid}/complete", json={}, headers=tokens())

    window = {"from": "2026-03-01", "to": "2026-03-31"}
    report = await client.get(f"/communes/{THIEU_TRUNG}/report", params=window, headers=tokens())
    as_csv = await client.get(
        f"/communes/{THIEU_TRUNG}/report", params=window | {"format": "csv"}, headers=tokens()
    )
    by_accept = await client.get(
        f"/communes/{THIEU_TRUNG}/report",
        params=window,
        headers=tokens() | {"Accept": "text/csv"},
    )
    outsider = await client.get(
        f"/communes/{THIEU_TRUNG}/report", params=window, headers=tokens(scope=(HOAN_KIEM,))
    )
    backwards = await client.get(
        f"/communes/{THIEU_TRUNG}/report",
        params={"from": "2026-03-31", "to": "2026-03-01"},
        headers=tokens(),
    )

    body = report.json()
    assert (body["sessions_held"], body["sessions_cancelled"]) == (1, 1)
    assert (body["residents_served"], body["no_shows"], body["no_show_rate"]) == (2, 1, 0.3333)
    assert body["online_applications_submitted"] == 1
    assert body["by_group"] == {"elderly": 1, "disabled": 1, "minority": 0}
    assert {t["topic"]: t["residents"] for t in body["by_topic"]} == {
        "vneid_activation": 1,
        "online_public_services": 1,
    }
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.content.startswith(b"\xef\xbb\xbfmetric,value\n")  # Excel reads UTF-8
    assert "no_show_rate,0.3333" in as_csv.text
    assert by_accept.text == as_csv.text
    assert outsider.status_code == 403
    assert backwards.status_code == 422
    assert backwards.json()["field"] == "to"

    live = await read_models(client)
    async with own_store(client) as store:
        replayed = await rebuild_read_models(store, READ_MODELS)
    assert replayed == len(await event_types(client))
    assert await read_models(client) == live
    assert live["home_visits"]
    assert live["places"]


async def test_alerts_the_coordinator_when_still_understaffed_48_hours_before(
    client: Client, tokens: Tokens, clock: FixedClock
) -> None:
    lonely = (await client.post("/sessions", json=session_body(), headers=tokens())).json()
    staffed = (await client.post("/sessions", json=session_body(), headers=tokens())).json()
    called_off = (await client.post("/sessions", json=session_body(), headers=tokens())).json()
    await client.post(
        f"/sessions/{called_off['session_id']}/cancel", json={"reason": "bão"}, headers=tokens()
    )
    slot = SlotId(staffed["session_id"].removeprefix("session-"))
    async with own_store(client) as store, store.transaction() as tx:
        await reactions.record_staffing(
            tx,
            SessionStaffed(
                slot_id=slot,
                slot_kind=SlotKind.SESSION,
                volunteer_ids=(VolunteerId("volunteer-a"), VolunteerId("volunteer-b")),
                staffed_at=clock.now(),
            ),
            memory=Memory(),  # as another process would
            now=clock.now(),
            cause=Cause(correlation_id=uuid.uuid4()),
        )
        due = await tx.conn.scalars(sa.select(timers.c.id).order_by(timers.c.id))
        assert sorted(due) == sorted(f"staffing-alert:{s['session_id']}" for s in (lonely, staffed))

    clock.advance(timedelta(days=2, hours=23))  # Thursday 08:00 local: 49 hours before
    await client.get("/healthz")
    assert "staffing.alert_raised" not in await event_types(client)
    clock.advance(timedelta(hours=1))  # 48 hours before the start

    async def alerted() -> list[bool]:
        found = []
        for s in (lonely, staffed, called_off):
            answer = await client.get(f"/sessions/{s['session_id']}", headers=tokens())
            found.append(answer.json()["staffing_alerted"])
        return found

    await eventually(alerted, lambda flags: flags[0])
    assert await alerted() == [True, False, False]
    assert (await event_types(client)).count("staffing.alert_raised") == 1
    roster = (
        await client.get(f"/sessions/{staffed['session_id']}/roster", headers=tokens())
    ).json()
    assert (roster["staffing"], roster["volunteer_ids"]) == (
        "staffed",
        ["volunteer-a", "volunteer-b"],
    )
    mine = tokens(Role.VOLUNTEER, (), volunteer_id="volunteer-a")
    assert (
        await client.get(f"/sessions/{staffed['session_id']}/roster", headers=mine)
    ).status_code == 200
    assert (
        await client.get(f"/sessions/{lonely['session_id']}/roster", headers=mine)
    ).status_code == 403
