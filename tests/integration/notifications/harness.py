"""The notifications app on a real database and NATS, with settings fit for tests, and ways
to speak as the scheduler or the volunteers service (real CloudEvents into their streams)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import httpx
import msgspec
import sqlalchemy as sa
from nats.aio.client import Client as Nats

from migrations.run import migrate
from services.notifications.app import create_app
from services.notifications.delivery import SmsChannel
from services.notifications.providers.base import SmsProvider
from services.notifications.providers.signatures import twilio_signature
from services.notifications.service import Notifications
from services.notifications.settings import NotificationSettings
from services.notifications.tables import messages
from shared.clock import Clock
from shared.events.base import Event
from shared.events.scheduler import (
    BookingId,
    CommuneCode,
    HelpRequestId,
    ResidentBooked,
    ResidentContact,
    SessionId,
    Slot,
    Venue,
)
from shared.events.vocabulary import Language, Topic
from shared.ids import uuid7
from shared.runtime import Runtime
from shared.settings import Settings
from shared.store.eventstore import EventStore
from shared.store.log import START
from tests.support.feed import Feed

PUBLIC_URL = "https://sms.handinhand.test"
WEBHOOK_TOKEN = "webhook-secret-token"
RESIDENT_PHONE = "+84912345678"
VOLUNTEER_PHONE = "+84987654321"
COMMUNE = CommuneCode("15835")


def sms_settings(**overrides: Any) -> NotificationSettings:
    values: dict[str, Any] = {
        "rate": 0.0,
        "idle_wait": 0.05,
        "public_url": PUBLIC_URL,
        "webhook_token": WEBHOOK_TOKEN,
        "first_retry": timedelta(milliseconds=50),
        "max_retry": timedelta(milliseconds=200),
        "quiet_start": datetime.min.time(),
        "quiet_end": datetime.min.time(),
    } | overrides
    return NotificationSettings(**values)


@dataclass
class Service:
    client: httpx.AsyncClient
    runtime: Runtime
    service: Notifications

    @property
    def store(self) -> EventStore:
        return self.runtime.store

    @property
    def channel(self) -> SmsChannel:
        return self.service.channel

    async def events(self, event_type: str | None = None) -> list[Event]:
        async with self.store.reader.connect() as conn:
            stored = await self.store.log.read(conn, START, 100_000, whole_snapshot=True)
        wanted = [item for item in stored if event_type in (None, item.event_type)]
        recorded = [self.store.log.recorded(item) for item in wanted]
        personal = self.store.personal
        if personal is not None:  # as the service reads them: personal values opened
            recorded = await personal.opened(recorded)
        return [item.event for item in recorded]

    async def messages(self) -> list[Any]:
        async with self.store.reader.connect() as conn:
            return list(
                (await conn.execute(sa.select(messages).order_by(messages.c.queued_at))).all()
            )

    async def inbound(self, form: dict[str, str], *, signature: str | None = "good") -> Any:
        return await self._webhook("/sms/inbound", form, signature)

    async def status(
        self, form: dict[str, str], *, signature: str | None = "good", query: str = ""
    ) -> Any:
        """A delivery receipt; `query` is what the status callback URL carried."""
        return await self._webhook("/sms/status" + (f"?{query}" if query else ""), form, signature)

    async def _webhook(self, path: str, form: dict[str, str], signature: str | None) -> Any:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature == "good":
            headers["X-Twilio-Signature"] = twilio_signature(PUBLIC_URL + path, form, WEBHOOK_TOKEN)
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        return await self.client.post(path, content=urlencode(form), headers=headers)


@asynccontextmanager
async def notifications(
    settings: Settings,
    *,
    clock: Clock | None = None,
    sms: NotificationSettings | None = None,
    provider: SmsProvider | None = None,
    workers: bool = True,
) -> AsyncIterator[Service]:
    """The app with its runtime in the test's own event loop, so tests can reach its store."""
    await migrate("notifications", settings.database("notifications"))
    app = create_app(settings, clock=clock, sms=sms or sms_settings(), provider=provider)
    runtime: Runtime = app.state.runtime
    runtime.run_workers = workers
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with (
        runtime.lifespan(app.state.work),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield Service(client, runtime, app.state.service)
    await app.state.service.channel.close()


class Publisher:
    """Speaks as another service: real CloudEvents on its JetStream stream."""

    def __init__(self, nc: Nats, source: str) -> None:
        self.feed = Feed(nc)
        self.source = source

    async def publish(
        self,
        stream_id: str,
        event: Event,
        *,
        event_id: UUID | None = None,
        msg_id: str | None = None,
    ) -> UUID:
        return await self.feed.publish(
            self.source, stream_id, event, event_id=event_id, msg_id=msg_id
        )

    async def republish(
        self,
        stream_id: str,
        version: int,
        event: Event,
        *,
        event_id: UUID | None = None,
        msg_id: str | None = None,
    ) -> UUID:
        return await self.feed.publish(
            self.source, stream_id, event, version=version, event_id=event_id, msg_id=msg_id
        )


def slot(starts_at: datetime, hours: int = 3) -> Slot:
    local = starts_at + timedelta(hours=7)
    return Slot(
        local_date=local.date(),
        start_local=local.time(),
        end_local=(local + timedelta(hours=hours)).time(),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
    )


def resident(phone: str = RESIDENT_PHONE, language: Language = Language.VI) -> ResidentContact:
    return ResidentContact(
        request_id=HelpRequestId(f"request-{uuid7()}"),
        name="Lê Thị Hoa",
        phone=phone,
        preferred_language=language,
    )


def booked(
    starts_at: datetime,
    *,
    phone: str = RESIDENT_PHONE,
    language: Language = Language.VI,
    session_id: str | None = None,
    booking_id: str | None = None,
    **extra: Any,
) -> ResidentBooked:
    return ResidentBooked(
        session_id=SessionId(session_id or f"session-{uuid7()}"),
        booking_id=BookingId(booking_id or f"booking-{uuid7()}"),
        resident=resident(phone, language),
        topics=(Topic.VNEID_ACTIVATION,),
        commune_code=COMMUNE,
        venue=Venue(name="Nhà văn hóa thôn 3", address="Thiệu Trung"),
        when=slot(starts_at),
        booked_at=starts_at - timedelta(days=3),
        **extra,
    )


def replace(event: Event, **changes: Any) -> Any:
    return msgspec.structs.replace(event, **changes)
