"""The volunteers service's consumers on a real nats-server: the scheduler's sessions, visits
and bookings become slots and requirements; SMS answers from the notifications service apply
to the right assignment or are recorded as unmatched; the read models rebuild from the log."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import time, timedelta
from typing import Any

import msgspec
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import AsyncTestClient
from nats.aio.client import Client

from services.volunteers.parts import PARTS
from services.volunteers.tables import READ_MODELS, store_tables
from services.volunteers.views.projection import project
from shared.clock import FixedClock
from shared.events import build_catalog
from shared.events.scheduler import (
    Actor,
    BookingCancelled,
    BookingId,
    CoordinatorId,
    HelpRequestId,
    HomeVisitScheduled,
    ResidentBooked,
    ResidentContact,
    SessionRescheduled,
    VisitId,
)
from shared.events.vocabulary import Accessibility, Language
from shared.runtime import personal_data
from shared.settings import Settings
from shared.store.database import create_engine
from shared.store.eventstore import EventStore
from shared.store.rebuild import rebuild_read_models
from tests.api.volunteers.world import (
    COORDINATOR,
    SATURDAY,
    SUNDAY,
    T0,
    Feed,
    fire_timers,
    new_group,
    new_volunteer,
    session_scheduled,
    sms_reply,
    volunteers_app,
    when,
)
from tests.support.waiting import eventually


def resident(language: Language = Language.VI) -> ResidentContact:
    return ResidentContact(
        request_id=HelpRequestId(f"request-{uuid.uuid4()}"),
        name="Cụ Lò Thị Xuân",
        phone="+84912999999",
        preferred_language=language,
    )


@asynccontextmanager
async def own_store(settings: Settings) -> AsyncIterator[EventStore]:
    """The service's log and read models, opened from the test (not through the app), with
    its volunteers' keys."""
    database = settings.database("volunteers")
    engine = create_engine(database.url, database.schema)
    try:
        store = EventStore(
            engine, store_tables, build_catalog(), "volunteers", FixedClock(T0), project
        )
        # seals and opens as the service's own store does (its volunteers' keys)
        store.personal = personal_data(settings, PARTS, store, FixedClock(T0))
        yield store
    finally:
        await engine.dispose()


async def logged(settings: Settings, event_type: str) -> list[dict[str, Any]]:
    async with own_store(settings) as store:
        events = store.tables.events
        async with store.reader.connect() as conn:
            rows = await conn.execute(
                sa.select(events.c.data)
                .where(events.c.event_type == event_type)
                .order_by(events.c.position)
            )
            return [msgspec.json.decode(bytes(row.data)) for row in rows]


async def slot_of(client: AsyncTestClient[Litestar], slot_id: str) -> dict[str, Any]:
    response = await client.get(f"/slots/{slot_id}", headers=COORDINATOR)
    body: dict[str, Any] = response.json() if response.status_code == 200 else {}
    return body


async def staffed(client: AsyncTestClient[Litestar], slot_id: str, until: Any) -> dict[str, Any]:
    async def probe() -> dict[str, Any]:
        await fire_timers(client)
        return await slot_of(client, slot_id)

    return await eventually(probe, lambda s: bool(s) and until(s))


async def test_booked_residents_needs_become_the_slots_requirements(
    settings: Settings, nc: Client
) -> None:
    async with volunteers_app(settings, nc, FixedClock(T0)) as client:
        group = await new_group(client)
        await new_volunteer(client, group, "0912345678")
        feed = Feed(nc)
        session = session_scheduled()
        booking = BookingId(f"booking-{uuid.uuid4()}")
        await feed.scheduler(session.session_id, session)
        await feed.scheduler(
            session.session_id,
            ResidentBooked(
                session_id=session.session_id,
                booking_id=booking,
                resident=resident(Language.HMN),
                topics=session.topics,
                accessibility_needs=(Accessibility.SCREEN_READER_HELP,),
                commune_code=session.commune_code,
                venue=session.venue,
                when=session.when,
                booked_at=T0,
            ),
        )
        needing = await staffed(
            client, session.session_id, lambda s: s["slot"]["required_skills"] != []
        )
        await feed.scheduler(
            session.session_id,
            BookingCancelled(
                session_id=session.session_id,
                booking_id=booking,
                resident=resident(),
                venue=session.venue,
                when=session.when,
                reason="ill",
                cancelled_by=Actor.RESIDENT,
                cancelled_at=T0,
            ),
        )
        relaxed = await staffed(
            client, session.session_id, lambda s: s["slot"]["required_skills"] == []
        )

    assert needing["slot"]["required_skills"] == ["screen_reader_help"]
    assert needing["slot"]["required_languages"] == ["hmn"]
    assert needing["slot"]["staffing"] == "understaffed"
    assert needing["slot"]["missing_skills"] == ["screen_reader_help"]
    assert needing["slot"]["missing_languages"] == ["hmn"]
    assert relaxed["slot"]["required_languages"] == []


async def test_a_home_visit_is_staffed_by_someone_who_speaks_the_residents_language(
    settings: Settings, nc: Client
) -> None:
    async with volunteers_app(settings, nc, FixedClock(T0)) as client:
        group = await new_group(client)
        await new_volunteer(client, group, "0912345678", name="Kinh")
        speaker = await new_volunteer(
            client, group, "0912345679", name="Thái", languages=["vi", "blt"]
        )
        visit = HomeVisitScheduled(
            visit_id=VisitId(f"visit-{uuid.uuid4()}"),
            resident=resident(Language.BLT),
            commune_code=session_scheduled().commune_code,
            address="Bản Sại",
            when=when(SUNDAY, 9, 10),
            topics=(),
            languages=(),
            volunteers_needed=1,
            coordinator_id=CoordinatorId("coordinator-1"),
            scheduled_at=T0,
        )
        feed = Feed(nc)
        await feed.scheduler(visit.visit_id, visit)
        slot = await staffed(client, visit.visit_id, lambda s: s["assignments"] != [])
        # Scheduled again, half an hour later: the same volunteer keeps it and is told.
        half = timedelta(minutes=30)
        first = visit.when
        later = msgspec.structs.replace(
            visit,
            when=msgspec.structs.replace(
                first,
                start_local=time(9, 30),
                end_local=time(10, 30),
                starts_at=first.starts_at + half,
                ends_at=first.ends_at + half,
            ),
        )
        await feed.scheduler(visit.visit_id, later)
        moved = await staffed(
            client, visit.visit_id, lambda s: s["slot"]["starts_at"] != slot["slot"]["starts_at"]
        )
        told = await eventually(
            lambda: logged(settings, "assignment.moved"), lambda found: len(found) == 1
        )

    assert slot["slot"]["kind"] == "home_visit"
    assert slot["slot"]["required_languages"] == ["blt"]
    [assignment] = slot["assignments"]
    assert assignment["volunteer_id"] == speaker["volunteer_id"]
    assert assignment["role"] == "language:blt"
    assert moved["slot"]["starts_at"].startswith(f"{SUNDAY}T02:30")
    assert [a["status"] for a in moved["assignments"]] == ["proposed"]
    assert told[0]["volunteer_id"] == speaker["volunteer_id"]
    assert told[0]["starts_at"].startswith(f"{SUNDAY}T02:30")


async def test_a_moved_session_releases_its_volunteers_and_asks_again(
    settings: Settings, nc: Client
) -> None:
    async with volunteers_app(settings, nc, FixedClock(T0)) as client:
        group = await new_group(client)
        helper = await new_volunteer(client, group, "0912345678")
        feed = Feed(nc)
        session = session_scheduled(start=8, end=11)
        await feed.scheduler(session.session_id, session)
        await staffed(client, session.session_id, lambda s: s["assignments"] != [])
        await feed.scheduler(
            session.session_id,
            SessionRescheduled(
                session_id=session.session_id,
                commune_code=session.commune_code,
                venue=session.venue,
                when=when(SATURDAY, 14, 16),
                previous_when=session.when,
                coordinator_id=session.coordinator_id,
                rescheduled_at=T0,
            ),
        )
        moved = await staffed(client, session.session_id, lambda s: len(s["assignments"]) == 2)

    first, second = moved["assignments"]
    assert first["status"] == "released"
    assert first["release_reason"] == "session_moved"
    assert second["status"] == "proposed"
    assert second["volunteer_id"] == helper["volunteer_id"]
    assert second["starts_at"].startswith("2026-06-06T07:00")


async def test_sms_answers_apply_by_phone_and_code_or_are_recorded_as_unmatched(
    settings: Settings, nc: Client
) -> None:
    async with volunteers_app(settings, nc, FixedClock(T0)) as client:
        group = await new_group(client)
        await new_volunteer(client, group, "0912345678")
        feed = Feed(nc)
        morning = session_scheduled(start=8, end=10)
        afternoon = session_scheduled(start=14, end=16)
        await feed.scheduler(morning.session_id, morning)
        await feed.scheduler(afternoon.session_id, afternoon)
        await staffed(client, afternoon.session_id, lambda s: s["assignments"] != [])
        await staffed(client, morning.session_id, lambda s: s["assignments"] != [])
        proposal = (await slot_of(client, afternoon.session_id))["assignments"][0]

        await feed.notifications(sms_reply("+84912345678", accept=True))
        await feed.notifications(sms_reply("+84987654321", accept=True))
        unmatched = await eventually(
            lambda: logged(settings, "assignment.reply_unmatched"), lambda found: len(found) == 2
        )
        await feed.notifications(
            sms_reply("+84912345678", accept=True, short_code=proposal["short_code"])
        )
        answered = await eventually(
            lambda: slot_of(client, afternoon.session_id),
            lambda s: s["assignments"][0]["status"] == "accepted",
        )

    several, unknown = unmatched
    assert several["problem"] == "several_pending"
    assert len(several["pending_codes"]) == 2
    assert proposal["short_code"] in several["pending_codes"]
    assert unknown["problem"] == "unknown_phone"
    assert unknown["volunteer_id"] is None
    assert answered["assignments"][0]["channel"] == "sms"
    assert answered["slot"]["staffing"] == "staffed"


async def test_read_models_rebuilt_from_the_log_equal_the_live_ones(
    settings: Settings, nc: Client
) -> None:
    clock = FixedClock(T0)
    async with volunteers_app(settings, nc, clock) as client:
        group = await new_group(client)
        first = await new_volunteer(client, group, "0912345678")
        await new_volunteer(client, group, "0912345679", name="Second", skills=[])
        await client.put(
            f"/volunteers/{first['volunteer_id']}/availability",
            json={"availability": {"saturday": ["morning"]}},
            headers=COORDINATOR,
        )
        feed = Feed(nc)
        session = session_scheduled(needed=2)
        await feed.scheduler(session.session_id, session)
        slot = await staffed(client, session.session_id, lambda s: len(s["assignments"]) == 2)
        await client.post(
            f"/assignments/{slot['assignments'][0]['assignment_id']}/decline", headers=COORDINATOR
        )
        clock.advance(timedelta(days=2))
        await fire_timers(client)
        await client.post(f"/weekends/{SATURDAY}/plan", headers=COORDINATOR)

    async with own_store(settings) as store:
        live = await snapshot(store)
        replayed = await rebuild_read_models(store, PARTS.read_models)
        rebuilt = await snapshot(store)

    assert replayed > 0
    assert live["assignments"]
    assert live["slots"]
    assert rebuilt == live


async def snapshot(store: EventStore) -> dict[str, list[tuple[Any, ...]]]:
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with store.reader.connect() as conn:
        for table in READ_MODELS:
            rows = await conn.execute(sa.select(table).order_by(*table.primary_key.columns))
            found[table.name] = [tuple(row) for row in rows]
    return found
