"""A small Thanh Hóa for the volunteers service's tests: communes, people, sessions, a clock,
and a feed that publishes the scheduler's and notifications' events on the real NATS."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import anyio.to_thread
from litestar import Litestar
from litestar.testing import AsyncTestClient
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from migrations.run import migrate
from services.volunteers.app import create_app
from services.volunteers.planning import StaffingOptions
from services.volunteers.settings import FeedSettings
from shared.bus.cloudevents import stream_name
from shared.bus.streams import ensure_stream
from shared.clock import VIETNAM, FixedClock
from shared.events.base import Event
from shared.events.notifications import AssignmentAnswer, AssignmentReplyReceived, InboundSmsId
from shared.events.scheduler import (
    CommuneCode,
    CoordinatorId,
    ProvinceCode,
    SessionId,
    SessionScheduled,
    Venue,
)
from shared.events.scheduler import Slot as When
from shared.events.vocabulary import Accessibility, Language, Topic
from shared.runtime import Runtime
from shared.settings import Settings
from shared.web.auth import Role
from tests.support.feed import Feed as RelayedFeed
from tests.support.services import token

THIEU_TRUNG = "15835"
THIEU_TOAN = "15820"
HOAN_KIEM = "00070"  # Hà Nội: outside a Thanh Hóa coordinator's scope
# Monday 1 June 2026, 09:00 in Vietnam; the weekend to staff is 6-7 June.
T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
SATURDAY = date(2026, 6, 6)
SUNDAY = date(2026, 6, 7)
COORDINATOR = token(Role.COORDINATOR, (THIEU_TRUNG, THIEU_TOAN))
PROVINCE_COORDINATOR = token(Role.COORDINATOR, ("38",))
# where calendar links point: a name only, the tests reach the app through its test client
FEED = FeedSettings(public_url="https://volunteers.example.vn")
FAST = StaffingOptions(
    plan_delay=timedelta(0),
    neighbours={THIEU_TRUNG: [THIEU_TOAN]},
)


def volunteer_token(volunteer_id: str) -> dict[str, str]:
    return token(Role.VOLUNTEER, (), volunteer_id=volunteer_id)


def local(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=VIETNAM).astimezone(UTC)


def when(day: date, start: int, end: int) -> When:
    return When(
        local_date=day,
        start_local=time(start),
        end_local=time(end),
        starts_at=local(day, start),
        ends_at=local(day, end),
    )


def session_scheduled(
    *,
    commune: str = THIEU_TRUNG,
    day: date = SATURDAY,
    start: int = 8,
    end: int = 11,
    needed: int = 1,
    topics: tuple[Topic, ...] = (Topic.VNEID_ACTIVATION,),
    accessibility: tuple[Accessibility, ...] = (),
    languages: tuple[Language, ...] = (Language.VI,),
) -> SessionScheduled:
    return SessionScheduled(
        session_id=SessionId(f"session-{uuid.uuid4()}"),
        commune_code=CommuneCode(commune),
        province_code=ProvinceCode("38"),
        venue=Venue(name="Nhà văn hóa thôn 3", address="Thiệu Trung"),
        when=when(day, start, end),
        topics=topics,
        capacity=20,
        volunteers_needed=needed,
        languages=languages,
        accessibility=accessibility,
        coordinator_id=CoordinatorId("coordinator-1"),
        scheduled_at=T0,
    )


def sms_reply(
    phone: str, *, accept: bool, short_code: str | None = None
) -> AssignmentReplyReceived:
    return AssignmentReplyReceived(
        inbound_id=InboundSmsId(f"inbound-{uuid.uuid4()}"),
        volunteer_phone=phone,
        answer=AssignmentAnswer.ACCEPTED if accept else AssignmentAnswer.DECLINED,
        short_code=short_code,
        received_at=T0,
    )


class Feed:
    """Publishes another service's events on NATS as its relay would (CloudEvents, in order)."""

    def __init__(self, nc: Client) -> None:
        self.relayed = RelayedFeed(nc, recorded_at=T0)

    async def publish(self, source: str, stream_id: str, event: Event) -> None:
        await self.relayed.publish(source, stream_id, event)

    async def scheduler(self, stream_id: str, event: Event) -> None:
        await self.publish("scheduler", stream_id, event)

    async def notifications(self, event: Event) -> None:
        await self.publish("notifications", f"inbound-{uuid.uuid4()}", event)


async def fresh_streams(nc: Client) -> None:
    """Each test starts with empty streams and no durable consumers left from another test."""
    js = nc.jetstream()
    for source in ("scheduler", "notifications", "volunteers"):
        with suppress(NotFoundError):
            await js.delete_stream(stream_name(source))
        # ready before the app starts, so events can be published at once
        await ensure_stream(js, source)


@asynccontextmanager
async def volunteers_app(
    settings: Settings, nc: Client, clock: FixedClock, staffing: StaffingOptions = FAST
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    await fresh_streams(nc)
    await migrate("volunteers", settings.database("volunteers"))
    app = create_app(settings, clock=clock, staffing=staffing, feed=FEED)
    async with AsyncTestClient(app=app) as client:
        yield client


def runtime_of(client: AsyncTestClient[Litestar]) -> Runtime:
    runtime: Runtime = client.app.state.runtime
    return runtime


async def fire_timers(client: AsyncTestClient[Litestar]) -> int:
    """Fire what is due now instead of waiting for the timer loop's next turn."""
    runner = runtime_of(client).timer_runner
    assert runner is not None
    # The app runs in the test client's own event loop (its portal); so must its database work.
    fired: int = await anyio.to_thread.run_sync(client.blocking_portal.call, runner.fire_due)
    return fired


async def new_group(
    client: AsyncTestClient[Litestar], commune: str = THIEU_TRUNG, name: str = "Tổ CNS thôn 3"
) -> str:
    response = await client.post(
        "/groups", json={"name": name, "commune_code": commune}, headers=COORDINATOR
    )
    assert response.status_code == 201, response.text
    group_id: str = response.json()["group_id"]
    return group_id


async def new_volunteer(
    client: AsyncTestClient[Litestar], group_id: str, phone: str, **fields: Any
) -> dict[str, Any]:
    body = {
        "group_id": group_id,
        "consent_given": True,
        "name": fields.pop("name", "Lê Thị Hoa"),
        "phone": phone,
        "skills": ["vneid_activation"],
        "availability": {"saturday": ["morning", "afternoon"], "sunday": ["morning"]},
        **fields,
    }
    response = await client.post("/volunteers", json=body, headers=COORDINATOR)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created
