"""Nothing lost, nothing twice, across real processes: the notifications service is killed
(SIGKILL) while the SMS provider holds its answers to booking SMS it has already taken, and
started again; each booking SMS reaches the provider once and ends `sent`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bench.system import System
from shared.settings import Database
from tests.e2e.conftest import drop_service_schemas
from tests.e2e.test_flows import COMMUNE, next_saturday, schedule_session
from tests.support.services import SECRET
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

RESIDENTS = [f"+8498765{i:04d}" for i in range(10)]  # the session takes 10
BOOKED = "Bạn đã được hẹn"
# A lease short enough for the test to see it run out; a call must begin within 4 s of its
# mark (the lease less the 2 s timeout, a second, and 32 calls' wait at 30 a second).
TUNING = {
    "HANDINHAND_SMS_LEASE_SECONDS": "8",
    "HANDINHAND_SMS_PROVIDER_TIMEOUT_SECONDS": "2",
    "HANDINHAND_HELP_RATE_LIMIT": "none",
}


@pytest.fixture
async def system(database: Database, tmp_path: Path) -> AsyncIterator[System]:
    running = System(tmp_path, database, secret=SECRET, tuning=TUNING)
    await running.start_all()
    try:
        yield running
    finally:
        running.messages_api.release()  # no answer left hanging in the gateway
        await running.stop()
        await drop_service_schemas(database)


async def ask_for_help(system: System, phone: str) -> None:
    answered = await system.call(
        "POST",
        "scheduler",
        "/help-requests",
        auth={},
        json={
            "resident_name": "Lê Thị Hoa",
            "phone": phone,
            "commune_code": COMMUNE,
            "topics": ["vneid_activation"],
            "birth_year": 1950,
            "consent_given": True,
        },
    )
    assert answered.status_code == 201, answered.text
    assert answered.json()["status"] == "booked", answered.text


async def booking_messages(system: System) -> list[dict[str, Any]]:
    listed = await system.call(
        "GET", "notifications", "/messages", params={"kind": "resident_booked", "limit": 100}
    )
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()
    return found


async def test_notifications_killed_while_the_provider_holds_its_answers_sends_each_once(
    system: System,
) -> None:
    await schedule_session(system, next_saturday())
    system.messages_api.hold()  # the provider takes each SMS and does not answer yet
    for phone in RESIDENTS:
        await ask_for_help(system, phone)

    async def taken() -> int:
        return sum(BOOKED in message.body for message in system.messages_api.created)

    await eventually(taken, lambda count: count == len(RESIDENTS), timeout=60)
    system.kill("notifications")  # SIGKILL with every answer still held
    system.messages_api.release()
    await system.restart("notifications")
    settled = await eventually(
        lambda: booking_messages(system),
        lambda rows: len(rows) == len(RESIDENTS) and all(r["status"] == "sent" for r in rows),
        timeout=90,
    )
    await system.settled()

    booked = [sms for sms in system.sent() if BOOKED in sms.body]
    assert sorted(sms.to for sms in booked) == sorted(RESIDENTS)  # each exactly once
    by_phone = {m.to: m.sid for m in system.messages_api.created if BOOKED in m.body}
    assert {row["recipient_phone"]: row["provider_message_id"] for row in settled} == by_phone
    asked = [r for r in system.gateway.requests if r.method == "GET"]
    assert asked  # settled by asking the provider, not by resending
