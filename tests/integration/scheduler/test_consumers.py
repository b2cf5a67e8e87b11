"""The scheduler hears other services on real NATS: staffing from volunteers, help by SMS."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import AsyncTestClient
from nats.aio.client import Client as Nats

from migrations.run import migrate
from services.scheduler.app import create_app
from services.scheduler.limits import HelpRequestLimits
from shared.clock import FixedClock
from shared.events.notifications import HelpRequestedBySms, InboundSmsId
from shared.events.vocabulary import Skill, Topic
from shared.events.volunteers import (
    SessionStaffed,
    SessionUnderstaffed,
    SlotId,
    SlotKind,
    VolunteerId,
)
from shared.settings import Settings
from shared.store.database import create_engine
from shared.web.auth import Caller, Role, mint_token
from tests.support.feed import Feed
from tests.support.services import KEYS
from tests.support.waiting import eventually

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 09:00 in Vietnam
SESSION = {
    "commune_code": "15835",
    "venue": {"name": "Nhà văn hóa thôn 2", "address": "Thôn 2, xã Thiệu Trung"},
    "local_date": "2026-03-07",
    "start_local": "08:00:00",
    "end_local": "11:00:00",
    "topics": ["vneid_activation"],
    "capacity": 5,
    "volunteers_needed": 2,
}


async def scheduler_log(settings: Settings) -> list[tuple[str, str]]:
    database = settings.database("scheduler")
    engine = create_engine(database.url, database.schema, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.text("SELECT stream_id, event_type FROM events ORDER BY position")
            )
            return [(row.stream_id, row.event_type) for row in rows]
    finally:
        await engine.dispose()


async def test_records_staffing_and_books_help_asked_by_sms(settings: Settings, nc: Nats) -> None:
    clock = FixedClock(NOW)
    caller = Caller(sub="coordinator-1", role=Role.COORDINATOR, scope=("38",))
    auth = {"Authorization": f"Bearer {mint_token(KEYS, caller, NOW, timedelta(days=9))}"}
    await migrate("scheduler", settings.database("scheduler"))
    client: AsyncTestClient[Litestar]
    # One feed for the test, as one relay per service: later events carry ce-priorversions.
    feed = Feed(nc, recorded_at=NOW)
    async with AsyncTestClient(
        app=create_app(settings, clock=clock, limits=HelpRequestLimits.from_env(clock, os.environ))
    ) as client:
        await eventually(lambda: client.get("/readyz"), lambda r: r.status_code == 200)
        session = (await client.post("/sessions", json=SESSION, headers=auth)).json()
        sid = session["session_id"]
        slot = SlotId(sid.removeprefix("session-"))

        async def seen() -> dict[str, Any]:
            answer: dict[str, Any] = (await client.get(f"/sessions/{sid}", headers=auth)).json()
            return answer

        await feed.publish(
            "volunteers",
            f"staffing-{slot}",
            SessionUnderstaffed(
                slot_id=slot,
                slot_kind=SlotKind.SESSION,
                missing_count=1,
                missing_skills=(Skill.VNEID_ACTIVATION,),
                reported_at=NOW,
            ),
        )
        understaffed = await eventually(seen, lambda s: s["staffing"] == "understaffed")
        assert understaffed["missing_volunteers"] == 1
        assert not understaffed["staffing_alerted"]  # more than 48 hours ahead
        await feed.publish(
            "volunteers",
            f"staffing-{slot}",
            SessionStaffed(
                slot_id=slot,
                slot_kind=SlotKind.SESSION,
                volunteer_ids=(VolunteerId("volunteer-1"), VolunteerId("volunteer-2")),
                staffed_at=NOW,
            ),
        )
        staffed = await eventually(seen, lambda s: s["staffing"] == "staffed")
        assert staffed["volunteer_ids"] == ["volunteer-1", "volunteer-2"]

        sms = HelpRequestedBySms(
            inbound_id=InboundSmsId("inbound-1"),
            resident_phone="+84912345678",
            topic=Topic.VNEID_ACTIVATION,
            commune_text="Thieu Trung",
            text="VNEID THIEU TRUNG",
            received_at=NOW,
        )
        await feed.publish("notifications", "inbound-1", sms)
        booked = await eventually(seen, lambda s: s["booked"] == 1)
        roster = (await client.get(f"/sessions/{sid}/roster", headers=auth)).json()
        assert roster["residents"][0]["phone"] == "+84912345678"
        request_id = roster["residents"][0]["request_id"]
        asked = (await client.get(f"/help-requests/{request_id}", headers=auth)).json()
        consent = asked["consent"]  # the resident's own SMS, answered with the SMS wording
        assert (consent["channel"], consent["recorded_by"], consent["wording_version"]) == (
            "sms",
            "resident",
            "help-sms-v1",
        )
        assert roster["volunteer_ids"] == ["volunteer-1", "volunteer-2"]

        nowhere = HelpRequestedBySms(
            inbound_id=InboundSmsId("inbound-2"),
            resident_phone="+84912345679",
            commune_text="Atlantis",
            text="GIUP ATLANTIS",
            received_at=NOW,
        )
        await feed.publish("notifications", "inbound-2", nowhere)
        log = await eventually(
            lambda: scheduler_log(settings),
            lambda entries: any(t == "help_request.refused" for _, t in entries),
        )
        assert booked["booked"] == 1
        types = [t for _, t in log]
        assert types.count("session.staffing_changed") == 2
        assert types.count("help.requested") == 1
        assert types.count("resident.booked") == 1
        # no phones in ids (a random uuid may well hold "912": look for the numbers themselves)
        assert all(not s.startswith("+") and "91234567" not in s for s, _ in log)
