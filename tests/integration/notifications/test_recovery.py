"""Nothing lost, nothing twice: a sender that dies mid-send, or loses its database after the
provider answered, against a real Twilio-compatible Messages API over HTTP (and a generic
JSON gateway), on SQLite and PostgreSQL. The survivor asks the provider what it has."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
import pytest

from bench.gateway import Gateway, Request, Response
from bench.messages_api import MessagesApi
from services.notifications.domain.messages import MessageStatus
from services.notifications.providers.http_json import HttpJsonConfig
from services.notifications.sender import Sender
from shared.clock import FixedClock
from shared.events.notifications import SmsAttemptFailed, SmsLookupFailed, SmsSent
from shared.settings import Settings
from tests.integration.notifications.harness import (
    PUBLIC_URL,
    RESIDENT_PHONE,
    Service,
    notifications,
    sms_settings,
)
from tests.integration.notifications.test_sender import (
    NOW,
    Hanging,
    book,
    sender_of,
    twilio_settings,
)
from tests.support.outage import Outage
from tests.support.waiting import eventually

ACCOUNT = "AC1"  # as in `twilio_settings`


@pytest.fixture
def messages_api(gateway: Gateway) -> MessagesApi:
    api = MessagesApi(ACCOUNT)
    gateway.handler = api.answer
    return api


def posts(gateway: Gateway) -> list[Request]:
    return [r for r in gateway.requests if r.method == "POST"]


def lookups(gateway: Gateway) -> list[Request]:
    return [r for r in gateway.requests if r.method == "GET"]


async def dies_after_the_provider_took_it(service: Service, api: MessagesApi) -> None:
    """A sender hands the SMS to the provider, which takes it but has not answered when
    the sender dies (its task is cancelled: nothing after the call runs)."""
    api.hold()
    dying = asyncio.create_task(sender_of(service, "dying").send_due())
    await eventually(lambda: _count(api.created), lambda n: n == 1)
    dying.cancel()
    with pytest.raises(asyncio.CancelledError):
        await dying
    api.release()


async def dies_before_its_request_left(service: Service) -> None:
    """A sender marks the message `sending` (committed), then dies before any HTTP request."""
    hanging = Hanging()
    dying = asyncio.create_task(
        Sender(service.store, hanging, service.channel.settings, owner="dying").send_due()
    )
    await asyncio.wait_for(hanging.called.wait(), 10)
    dying.cancel()
    with pytest.raises(asyncio.CancelledError):
        await dying


async def _count(items: list[Any]) -> int:
    return len(items)


async def test_a_message_the_provider_took_before_its_sender_died_is_found_and_recorded_sent(
    settings: Settings, gateway: Gateway, messages_api: MessagesApi
) -> None:
    clock = FixedClock(NOW)
    sms = twilio_settings(gateway)
    async with notifications(settings, clock=clock, sms=sms, workers=False) as service:
        await book(service)
        await dies_after_the_provider_took_it(service, messages_api)
        survivor = sender_of(service, "survivor")
        await survivor.send_due()  # the dead sender's lease still holds: nothing is asked
        asked_within_the_lease = len(lookups(gateway))
        clock.advance(sms.lease + timedelta(seconds=1))
        await survivor.send_due()
        (message,) = await service.messages()
        (sent,) = await service.events("sms.sent")
        failed = await service.events("sms.failed")

    (taken,) = messages_api.created
    assert asked_within_the_lease == 0
    assert len(posts(gateway)) == 1
    (lookup,) = lookups(gateway)
    assert parse_qs(urlsplit(lookup.path).query)["To"] == [RESIDENT_PHONE]
    assert message.status == MessageStatus.SENT
    assert message.provider_message_id == taken.sid
    assert isinstance(sent, SmsSent)
    assert sent.found_by_lookup
    assert failed == []


async def test_a_message_whose_sender_died_before_the_request_left_is_sent_exactly_once(
    settings: Settings, gateway: Gateway, messages_api: MessagesApi
) -> None:
    clock = FixedClock(NOW)
    sms = twilio_settings(gateway)
    async with notifications(settings, clock=clock, sms=sms, workers=False) as service:
        await book(service)
        await dies_before_its_request_left(service)
        clock.advance(sms.lease + timedelta(seconds=1))
        survivor = sender_of(service, "survivor")
        await survivor.send_due()  # asks: not there, so it goes back in the queue
        await survivor.send_due()  # and is sent
        await survivor.send_due()  # nothing more
        (message,) = await service.messages()
        (again,) = await service.events("sms.attempt_failed")

    assert len(lookups(gateway)) == 1
    assert len(posts(gateway)) == 1
    assert message.status == MessageStatus.SENT
    assert message.provider_message_id == messages_api.created[0].sid
    assert message.attempts == 2
    assert isinstance(again, SmsAttemptFailed)
    assert "no record" in again.reason


@pytest.mark.parametrize("trouble", ["answers 500", "unreachable"])
async def test_a_lookup_that_fails_is_asked_again_later_never_resent_never_failed_at_once(
    settings: Settings, gateway: Gateway, messages_api: MessagesApi, trouble: str
) -> None:
    clock = FixedClock(NOW)
    sms = twilio_settings(gateway)
    failing = 2

    async def troubled(request: Request) -> Response:
        nonlocal failing
        if request.method == "GET" and failing > 0:
            failing -= 1
            return Response(500, b'{"code": 20500, "message": "Internal Server Error"}')
        return await messages_api.answer(request)

    async with notifications(settings, clock=clock, sms=sms, workers=False) as service:
        await book(service)
        await dies_after_the_provider_took_it(service, messages_api)
        survivor = sender_of(service, "survivor")
        clock.advance(sms.lease + timedelta(seconds=1))
        if trouble == "unreachable":
            await gateway.stop()
        else:
            gateway.handler = troubled
        unsure: list[Any] = []
        for _ in range(2):
            await survivor.send_due()
            await survivor.send_due()  # not due yet: it waits for its next look-up
            (row,) = await service.messages()
            unsure = await service.events("sms.lookup_failed")
            assert row.status == MessageStatus.SENDING
            clock.advance(unsure[-1].retry_at - clock.now())  # type: ignore[attr-defined]
        if trouble == "unreachable":
            await gateway.start(gateway.port)
        await survivor.send_due()
        (message,) = await service.messages()
        failed = await service.events("sms.failed")

    assert [e.lookup for e in unsure if isinstance(e, SmsLookupFailed)] == [1, 2]
    first, second = (e for e in unsure if isinstance(e, SmsLookupFailed))
    assert first.retry_at - first.failed_at < second.retry_at - second.failed_at
    assert len(posts(gateway)) == 1  # never resent while the provider could not say
    assert failed == []
    assert message.status == MessageStatus.SENT
    assert message.provider_message_id == messages_api.created[0].sid


async def test_a_send_whose_answer_never_came_is_looked_up_not_resent(
    settings: Settings, gateway: Gateway, messages_api: MessagesApi
) -> None:
    clock = FixedClock(NOW)
    sms = twilio_settings(gateway, provider_timeout=0.3)
    async with notifications(settings, clock=clock, sms=sms, workers=False) as service:
        await book(service)
        messages_api.hold()  # Twilio takes it, and its answer is slower than our timeout
        sender = sender_of(service)
        await sender.send_due()
        messages_api.release()
        (unanswered,) = await service.messages()
        retried = await service.events("sms.attempt_failed")
        await sender.send_due()  # within the lease: neither resent nor asked
        clock.advance(sms.lease + timedelta(seconds=1))
        await sender.send_due()
        (message,) = await service.messages()

    assert unanswered.status == MessageStatus.SENDING
    assert retried == []
    assert len(posts(gateway)) == 1
    assert len(lookups(gateway)) == 1
    assert message.status == MessageStatus.SENT
    assert message.provider_message_id == messages_api.created[0].sid


async def test_a_receipt_names_our_message_before_its_sent_is_stored(
    settings: Settings, gateway: Gateway, messages_api: MessagesApi
) -> None:
    clock = FixedClock(NOW)
    sms = twilio_settings(gateway)
    assert sms.twilio is not None
    twilio = msgspec.structs.replace(sms.twilio, status_callback_url=PUBLIC_URL + "/sms/status")
    sms = msgspec.structs.replace(sms, twilio=twilio)
    async with notifications(settings, clock=clock, sms=sms, workers=False) as service:
        await book(service)
        await dies_after_the_provider_took_it(service, messages_api)
        (taken,) = messages_api.created
        assert taken.status_callback is not None
        callback = urlsplit(taken.status_callback)
        receipt = {"MessageSid": taken.sid, "MessageStatus": "delivered"}
        answered = await service.status(receipt, query=callback.query)
        clock.advance(sms.lease + timedelta(seconds=1))
        await sender_of(service, "survivor").send_due()
        (message,) = await service.messages()

    assert callback.path == "/sms/status"
    assert parse_qs(callback.query) == {"message_id": [message.message_id]}
    assert answered.status_code == 200
    assert message.status == MessageStatus.DELIVERED
    assert message.provider_message_id == taken.sid
    assert len(posts(gateway)) == 1
    assert lookups(gateway) == []  # settled by the receipt: nothing left to ask


class JsonGateway:
    """A brandname gateway that drops nothing and answers `GET /status?ref=`: what it took
    under our reference (our message id), in its own words."""

    def __init__(self) -> None:
        self.taken: dict[str, int] = {}
        self.answering = asyncio.Event()
        self.answering.set()

    async def answer(self, request: Request) -> Response:
        if request.method == "POST":
            ref = json.loads(request.body)["ref"]
            self.taken[ref] = 9000 + len(self.taken)
            await self.answering.wait()
            return Response(200, json.dumps({"code": "00", "smsId": self.taken[ref]}).encode())
        ref = parse_qs(urlsplit(request.path).query)["ref"][0]
        if ref not in self.taken:
            return Response(200, b'{"code": "00", "status": "NOT_FOUND"}')
        body = {"code": "00", "status": "SENT", "data": {"smsId": self.taken[ref]}}
        return Response(200, json.dumps(body).encode())


@pytest.fixture
async def json_gateway(gateway: Gateway) -> AsyncIterator[JsonGateway]:
    found = JsonGateway()
    gateway.handler = found.answer
    yield found
    found.answering.set()


def json_settings(gateway: Gateway, **lookup: Any) -> Any:
    config: dict[str, Any] = {
        "url": gateway.url + "/send",
        "message_id_field": "ref",
        "provider_id_path": "smsId",
        "success_path": "code",
        "success_values": ("00",),
    } | lookup
    return sms_settings(provider="http_json", http_json=HttpJsonConfig(**config))


@pytest.mark.parametrize("died", ["after the gateway took it", "before the request left"])
async def test_the_json_gateway_is_asked_by_our_message_id(
    settings: Settings, gateway: Gateway, json_gateway: JsonGateway, died: str
) -> None:
    clock = FixedClock(NOW)
    sms = json_settings(
        gateway,
        lookup_url=gateway.url + "/status?ref={message_id}",
        lookup_found_path="status",
        lookup_found_values=("SENT", "DELIVERED"),
        lookup_missing_values=("NOT_FOUND",),
        lookup_id_path="data.smsId",
    )
    async with notifications(settings, clock=clock, sms=sms, workers=False) as service:
        await book(service)
        if died == "before the request left":
            await dies_before_its_request_left(service)
        else:
            json_gateway.answering.clear()
            dying = asyncio.create_task(sender_of(service, "dying").send_due())
            await eventually(lambda: _count(list(json_gateway.taken)), lambda n: n == 1)
            dying.cancel()
            with pytest.raises(asyncio.CancelledError):
                await dying
            json_gateway.answering.set()
        clock.advance(sms.lease + timedelta(seconds=1))
        survivor = sender_of(service, "survivor")
        for _ in range(3):
            await survivor.send_due()
        (message,) = await service.messages()

    (ref,) = json_gateway.taken
    assert ref == message.message_id
    assert message.status == MessageStatus.SENT
    assert message.provider_message_id == str(json_gateway.taken[ref])
    assert len(posts(gateway)) == 1
    (asked,) = lookups(gateway)
    assert asked.path == f"/status?ref={message.message_id}"


async def test_a_deduplicating_json_gateway_is_sent_the_message_again_without_asking(
    settings: Settings, gateway: Gateway, json_gateway: JsonGateway
) -> None:
    clock = FixedClock(NOW)
    sms = json_settings(gateway, deduplicates=True)
    async with notifications(settings, clock=clock, sms=sms, workers=False) as service:
        await book(service)
        json_gateway.answering.clear()
        dying = asyncio.create_task(sender_of(service, "dying").send_due())
        await eventually(lambda: _count(list(json_gateway.taken)), lambda n: n == 1)
        dying.cancel()
        with pytest.raises(asyncio.CancelledError):
            await dying
        json_gateway.answering.set()
        clock.advance(sms.lease + timedelta(seconds=1))
        survivor = sender_of(service, "survivor")
        for _ in range(3):
            await survivor.send_due()
        (message,) = await service.messages()

    refs = [json.loads(r.body)["ref"] for r in posts(gateway)]
    assert refs == [message.message_id, message.message_id]  # the gateway drops the repeat
    assert lookups(gateway) == []
    assert message.status == MessageStatus.SENT


@pytest.fixture
async def outage(settings: Settings) -> AsyncIterator[Outage]:
    """The notifications database, going away when the test says so."""
    made = Outage(settings.database("notifications"))
    await made.open()
    yield made
    await made.close()


async def test_outcomes_answered_while_the_database_is_away_are_stored_when_it_is_back(
    settings: Settings, gateway: Gateway, messages_api: MessagesApi, outage: Outage
) -> None:
    sms = twilio_settings(gateway)
    async with notifications(settings, sms=sms, workers=False) as service:
        await book(service)
        await book(service, "+84911111111")
        sender = sender_of(service, "held", store=outage.store_like(service.store))
        stop = asyncio.Event()
        messages_api.hold()
        running = asyncio.create_task(sender.run(stop))
        try:
            await eventually(lambda: _count(messages_api.created), lambda n: n == 2)
            await outage.begin()
            messages_api.release()  # the provider answers; the database is away
            await eventually(lambda: _holding(sender), lambda n: n == 2)
            during = [row.status for row in await service.messages()]
            await outage.end()
            settled = await eventually(
                service.messages, lambda rows: all(r.status == MessageStatus.SENT for r in rows)
            )
        finally:
            stop.set()
            await running
            await sender.store.close()
        failed = await service.events("sms.failed")

    assert during == [MessageStatus.SENDING, MessageStatus.SENDING]
    assert sender.holding == 0
    assert {row.provider_message_id for row in settled} == {m.sid for m in messages_api.created}
    assert len(posts(gateway)) == 2
    assert lookups(gateway) == []  # stored from what the provider answered, not looked up
    assert failed == []


async def _holding(sender: Sender) -> int:
    return sender.holding


async def test_a_sender_that_dies_holding_answered_outcomes_leaves_them_to_be_found(
    settings: Settings, gateway: Gateway, messages_api: MessagesApi, outage: Outage
) -> None:
    clock = FixedClock(NOW)
    sms = twilio_settings(gateway)
    async with notifications(settings, clock=clock, sms=sms, workers=False) as service:
        await book(service)
        holder = sender_of(service, "holder", store=outage.store_like(service.store))
        messages_api.hold()
        holding = asyncio.create_task(holder.send_due())
        try:
            await eventually(lambda: _count(messages_api.created), lambda n: n == 1)
            await outage.begin()
            messages_api.release()
            await eventually(lambda: _holding(holder), lambda n: n == 1)
            holding.cancel()  # the process dies with the outcome in memory
            with pytest.raises(asyncio.CancelledError):
                await holding
        finally:
            await outage.end()
            await holder.store.close()
        clock.advance(sms.lease + timedelta(seconds=1))
        await sender_of(service, "survivor").send_due()
        (message,) = await service.messages()

    assert len(posts(gateway)) == 1
    assert len(lookups(gateway)) == 1
    assert message.status == MessageStatus.SENT
    assert message.provider_message_id == messages_api.created[0].sid
