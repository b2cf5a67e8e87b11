"""The sender against a real local HTTP provider: retries, permanent failure with an alert,
a crash between storing and sending, several instances, delivery receipts."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.gateway import Gateway, Response
from services.notifications import consumers
from services.notifications.domain.interrupted import Finding
from services.notifications.domain.messages import MessageStatus
from services.notifications.providers.base import ProviderReceipt, SentAttempt
from services.notifications.providers.http_json import HttpJsonConfig
from services.notifications.providers.twilio import TwilioConfig
from services.notifications.sender import Sender
from services.notifications.settings import NotificationSettings
from services.notifications.views.projection import project
from shared.clock import FixedClock
from shared.events.base import Cause, RecordedEvent
from shared.events.notifications import SmsAttemptFailed, SmsDelivered, SmsFailed, SmsSent
from shared.ids import uuid7
from shared.settings import Settings
from shared.store.database import create_engine
from shared.store.eventstore import EventStore
from shared.web.auth import Role
from tests.integration.notifications.harness import (
    COMMUNE,
    RESIDENT_PHONE,
    Service,
    booked,
    notifications,
    sms_settings,
)
from tests.support.services import token

SATURDAY_8AM = datetime(2025, 12, 6, 1, 0, tzinfo=UTC)
NOW = datetime(2025, 12, 3, 3, 0, tzinfo=UTC)
COORDINATOR_PHONE = "+84977777777"


def twilio_settings(gateway: Gateway, **overrides: Any) -> NotificationSettings:
    return sms_settings(
        provider="twilio",
        twilio=TwilioConfig(
            account_sid="AC1",
            auth_token="token",
            base_url=gateway.url,
            from_number="+15005550006",
        ),
        **overrides,
    )


def created(sid: str) -> Response:
    return Response(201, json.dumps({"sid": sid, "status": "queued"}).encode())


def sender_of(service: Service, owner: str = "a", store: EventStore | None = None) -> Sender:
    return Sender(
        store or service.store,
        service.channel.provider,
        service.channel.settings,
        owner=owner,
        random_source=lambda: 0.0,
    )


async def book(service: Service, phone: str = RESIDENT_PHONE) -> None:
    """A resident.booked as the consumer would handle it."""
    event = booked(SATURDAY_8AM, phone=phone)
    recorded = RecordedEvent(
        event_id=uuid7(),
        source="scheduler",
        stream_id=event.session_id,
        stream_version=1,
        event=event,
        recorded_at=NOW,
        correlation_id=uuid7(),
    )
    async with service.store.transaction() as tx:
        (from_scheduler, _) = consumers.subscriptions_for(service.channel.settings)
        await from_scheduler.handler_in(tx)(recorded)


def to(gateway: Gateway, phone: str) -> list[dict[str, str]]:
    return [form for r in gateway.requests if (form := r.form()).get("To") == phone]


async def test_a_passing_provider_error_is_retried_with_backoff(
    settings: Settings, gateway: Gateway
) -> None:
    clock = FixedClock(NOW)
    gateway.answer(Response(500), Response(503, headers={"Retry-After": "2"}), created("SM1"))
    async with notifications(
        settings, clock=clock, sms=twilio_settings(gateway), workers=False
    ) as service:
        await book(service)
        sender = sender_of(service)
        await sender.send_due()
        await sender.send_due()  # not due yet: the backoff holds it
        clock.advance(timedelta(seconds=1))
        await sender.send_due()
        early = len(gateway.requests)
        clock.advance(timedelta(seconds=2))
        await sender.send_due()
        failures = await service.events("sms.attempt_failed")
        (message,) = await service.messages()

    assert early == 2  # Retry-After: 2 was respected
    assert len(gateway.requests) == 3
    assert [f.attempt for f in failures if isinstance(f, SmsAttemptFailed)] == [1, 2]
    assert message.status == MessageStatus.SENT
    assert message.attempts == 3
    assert message.provider_message_id == "SM1"


async def test_a_refused_message_fails_for_good_and_the_coordinator_is_alerted(
    settings: Settings, gateway: Gateway
) -> None:
    gateway.answer(Response(400, b'{"code": 21211, "message": "invalid To"}'))
    gateway.default = created("SM-alert")
    async with notifications(
        settings, clock=FixedClock(NOW), sms=twilio_settings(gateway), workers=False
    ) as service:
        await service.client.put(
            "/coordinators/coordinator-1/contact",
            json={"phone": COORDINATOR_PHONE, "commune_codes": [COMMUNE]},
            headers=token(Role.ADMIN),
        )
        await book(service)
        sender = sender_of(service)
        await sender.send_due()
        await sender.send_due()
        (failed,) = await service.events("sms.failed")
        listed = await service.client.get(
            "/messages", params={"status": "failed"}, headers=token(Role.ADMIN)
        )

    assert isinstance(failed, SmsFailed)
    assert "21211" in failed.reason
    assert len(to(gateway, RESIDENT_PHONE)) == 1
    (alert,) = to(gateway, COORDINATOR_PHONE)
    assert "Không gửi được tin nhắn cho Lê Thị Hoa (+84*****5678)" in alert["Body"]
    assert listed.json()[0]["kind"] == "resident_booked"


async def test_retries_stop_after_the_last_attempt(settings: Settings, gateway: Gateway) -> None:
    clock = FixedClock(NOW)
    gateway.default = Response(500)
    async with notifications(
        settings, clock=clock, sms=twilio_settings(gateway, max_attempts=3), workers=False
    ) as service:
        await book(service)
        sender = sender_of(service)
        for _ in range(4):
            await sender.send_due()
            clock.advance(timedelta(seconds=5))
        (failed,) = await service.events("sms.failed")

    assert isinstance(failed, SmsFailed)
    assert failed.attempts == 3
    assert len(gateway.requests) == 3


class Hanging:
    """A provider call that never returns: the sender dies while waiting for it."""

    name = "twilio"

    def __init__(self) -> None:
        self.called = asyncio.Event()

    async def send(self, to_e164: str, text: str, message_id: str) -> ProviderReceipt:
        self.called.set()
        await asyncio.Event().wait()
        raise AssertionError

    async def find(self, attempt: SentAttempt) -> Finding:
        raise AssertionError


@pytest.mark.parametrize("deduplicates", [False, True], ids=["plain", "deduplicating"])
async def test_a_crash_between_storing_and_sending_never_sends_twice(
    settings: Settings, gateway: Gateway, deduplicates: bool
) -> None:
    clock = FixedClock(NOW)
    gateway.default = Response(200, b'{"id": "gw-1"}')
    sms = sms_settings(
        provider="http_json",
        http_json=HttpJsonConfig(url=gateway.url + "/send", deduplicates=deduplicates),
    )
    async with notifications(settings, clock=clock, sms=sms, workers=False) as service:
        await book(service)
        hanging = Hanging()
        dying = Sender(service.store, hanging, sms, owner="dying")
        task = asyncio.create_task(dying.send_due())
        await asyncio.wait_for(hanging.called.wait(), 10)
        task.cancel()  # the process dies mid-call
        with pytest.raises(asyncio.CancelledError):
            await task
        survivor = sender_of(service, "survivor")
        await survivor.send_due()  # the dead sender's lease still holds
        before_lease = len(gateway.requests)
        clock.advance(sms.lease + timedelta(seconds=1))
        await survivor.send_due()
        await survivor.send_due()
        (message,) = await service.messages()
        started = await service.events("sms.sending_started")

    assert before_lease == 0
    if deduplicates:
        # The gateway drops a repeated message id, so resending is safe.
        assert message.status == MessageStatus.SENT
        assert len(gateway.requests) == 1
        assert len(started) == 2
    else:
        assert message.status == MessageStatus.FAILED
        assert message.failure_reason == "interrupted: outcome unknown, not resent"
        assert gateway.requests == []


async def test_several_senders_send_each_message_once(settings: Settings, gateway: Gateway) -> None:
    count = 60
    gateway.handler = None
    gateway.default = created("SM-many")
    sms = twilio_settings(gateway, batch_size=7)
    async with notifications(settings, clock=FixedClock(NOW), sms=sms, workers=False) as service:
        for i in range(count):
            await book(service, phone=f"+8491{i:07d}")
        database = settings.database("notifications")
        other = EventStore(
            create_engine(database.url, database.schema),
            service.store.tables,
            service.store.catalog,
            "notifications",
            service.store.clock,
            project,
        )
        senders = [sender_of(service, "a"), sender_of(service, "b", other), sender_of(service, "c")]

        async def drain(sender: Sender) -> None:
            while await sender.send_due():
                pass

        await asyncio.gather(*(drain(sender) for sender in senders))
        await other.close()
        sent = await service.events("sms.sent")

    phones = [r.form()["To"] for r in gateway.requests]
    assert len(phones) == count
    assert len(set(phones)) == count
    assert len(sent) == count
    assert all(isinstance(e, SmsSent) for e in sent)


async def test_a_message_changed_under_the_batch_leaves_the_others_to_be_sent(
    settings: Settings, gateway: Gateway
) -> None:
    gateway.default = created("SM-x")
    async with notifications(
        settings, clock=FixedClock(NOW), sms=twilio_settings(gateway), workers=False
    ) as service:
        await book(service)
        await book(service, "+84911111111")
        changed = next(
            row for row in await service.messages() if row.recipient_phone == RESIDENT_PHONE
        )
        # Another writer appends to one message's stream behind the read model's back: the
        # batch's append fails, and the sender marks the messages one by one.
        behind = EventStore(
            service.store.engine,
            service.store.tables,
            service.store.catalog,
            "notifications",
            service.store.clock,
        )
        receipt = SmsDelivered(
            message_id=changed.message_id, provider_message_id="SM-early", delivered_at=NOW
        )
        await behind.append(
            changed.message_id, changed.version, [receipt], Cause(correlation_id=uuid7())
        )
        claimed = await sender_of(service).send_due()
        statuses = {row.recipient_phone: row.status for row in await service.messages()}

    assert claimed == 2
    assert [r.form()["To"] for r in gateway.requests] == ["+84911111111"]
    assert statuses == {RESIDENT_PHONE: MessageStatus.QUEUED, "+84911111111": MessageStatus.SENT}


async def test_delivery_receipts_are_recorded_once(settings: Settings, gateway: Gateway) -> None:
    gateway.answer(created("SM-a"), created("SM-b"))
    async with notifications(
        settings, clock=FixedClock(NOW), sms=twilio_settings(gateway), workers=False
    ) as service:
        await book(service)
        await book(service, "+84911111111")
        await sender_of(service).send_due()
        delivered = {"MessageSid": "SM-a", "MessageStatus": "delivered"}
        first = await service.status(delivered)
        again = await service.status(delivered)
        on_its_way = await service.status({"MessageSid": "SM-b", "MessageStatus": "sent"})
        lost = await service.status(
            {"MessageSid": "SM-b", "MessageStatus": "undelivered", "ErrorCode": "30003"}
        )
        unknown = await service.status({"MessageSid": "SM-zzz", "MessageStatus": "delivered"})
        statuses = {row.provider_message_id: row.status for row in await service.messages()}
        failed = await service.events("sms.failed")
        receipts = await service.events("sms.delivered")

    assert {r.status_code for r in (first, again, on_its_way, lost, unknown)} == {200}
    assert statuses == {"SM-a": "delivered", "SM-b": "failed"}
    assert len(receipts) == 1
    assert "30003" in failed[0].reason  # type: ignore[attr-defined]
