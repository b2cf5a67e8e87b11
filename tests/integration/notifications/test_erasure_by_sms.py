"""Erasure asked by SMS, on the notifications service (real NATS, database and a local HTTP
SMS provider): XOA gets a code at once, the code is kept nowhere, a wrong or late code changes
nothing, the right one is confirmed once; a number no request held is told and forgotten."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from nats.aio.client import Client

from bench.gateway import Gateway, Request, Response
from services.notifications.erasure_by_sms import erasure_stream
from services.notifications.providers.http_json import HttpJsonConfig
from shared.clock import FixedClock
from shared.events.notifications import (
    ErasureCodeIssued,
    ErasureCodeRejected,
    NumberForgotten,
    ResidentErasureConfirmed,
)
from shared.events.scheduler import (
    Actor,
    CommuneCode,
    ErasureBySmsStarted,
    HelpRequestId,
    ResidentErasureRequested,
)
from shared.events.vocabulary import Language
from shared.ids import uuid7
from shared.settings import Settings
from tests.integration.notifications.harness import (
    RESIDENT_PHONE,
    Publisher,
    Service,
    notifications,
    sms_settings,
)
from tests.integration.notifications.test_sign_in_codes import everything_stored
from tests.support.search import in_database, needles
from tests.support.waiting import eventually

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)  # a Saturday, 09:00 in Vietnam
CODE = re.compile(r"\b([0-9]{6})\b")


@pytest.fixture
async def scheduler(nc: Client) -> Publisher:
    return Publisher(nc, "scheduler")


def the_code(text: str) -> str:
    first, *again = CODE.findall(text)
    assert set(again) <= {first}
    return str(first)


def texts_to(gateway: Gateway, phone: str = RESIDENT_PHONE) -> list[str]:
    sent = [json.loads(request.body) for request in gateway.requests]
    return [body["text"] for body in sent if body.get("to") == phone]


def answering(gateway: Gateway) -> None:
    ids = itertools.count(1)

    async def handler(_request: Request) -> Response:
        return Response(body=json.dumps({"id": f"gw-{next(ids)}"}).encode())

    gateway.handler = handler


def provider_at(gateway: Gateway) -> HttpJsonConfig:
    return HttpJsonConfig(url=gateway.url + "/send", phone_field="to", text_field="text")


async def texted(gateway: Gateway, count: int) -> list[str]:
    return await eventually(lambda: _texts(gateway), lambda found: len(found) >= count)


async def _texts(gateway: Gateway) -> list[str]:
    return texts_to(gateway)


async def say(service: Service, sid: str, body: str) -> int:
    from tests.api.notifications.test_webhooks import sms

    answered = await service.inbound(sms(sid, body))
    return int(answered.status_code)


async def test_xoa_gets_a_code_a_wrong_one_changes_nothing_the_right_one_confirms_once(
    settings: Settings, gateway: Gateway, scheduler: Publisher
) -> None:
    answering(gateway)
    sms = sms_settings(provider="http_json", http_json=provider_at(gateway))
    async with notifications(settings, clock=FixedClock(NOW), sms=sms) as service:
        assert await say(service, "SM-xoa", "Xóa dữ liệu") == 200
        [code_sms] = await texted(gateway, 1)
        code = the_code(code_sms)
        wrong = "000000" if code != "000000" else "111111"
        assert await say(service, "SM-wrong", f"XOA {wrong}") == 200
        wrong_answer = (await texted(gateway, 2))[1]
        stored_before = await everything_stored(service)
        assert await say(service, "SM-right", f"xoa {code}") == 200
        assert await say(service, "SM-right", f"xoa {code}") == 200  # delivered twice
        confirmed = await service.events("resident.erasure_confirmed")
        issued = await service.events("resident.erasure_code_issued")
        rejected = await service.events("resident.erasure_code_rejected")
        stored_after = await everything_stored(service)

        # the scheduler holds no request of the number: it says so, and the number goes
        [confirmation] = confirmed
        assert isinstance(confirmation, ResidentErasureConfirmed)
        confirmation_id = next(
            r.event_id
            for r in (await service.store.load(erasure_stream(sms, RESIDENT_PHONE))).events
            if isinstance(r.event, ResidentErasureConfirmed)
        )
        started = ErasureBySmsStarted(
            confirmation_id=confirmation_id,
            erasure_stream=erasure_stream(sms, RESIDENT_PHONE),
            started_at=NOW,
        )
        first = await scheduler.publish(f"erasure-by-sms-{uuid7()}", started)
        await scheduler.republish(
            f"erasure-by-sms-{first}", 1, started, event_id=first, msg_id=f"{first}-again"
        )
        [forgotten] = await eventually(
            lambda: service.events("number.forgotten"), lambda found: len(found) == 1
        )
        told = (await texted(gateway, 3))[2]
        left = await in_database(settings.database("notifications"), needles(RESIDENT_PHONE))

    assert "XOA" in code_sms
    assert "không đúng" in wrong_answer
    assert "4 lần" in wrong_answer
    [issued_event] = issued
    assert isinstance(issued_event, ErasureCodeIssued)
    assert issued_event.expires_at == NOW + timedelta(minutes=30)
    assert issued_event.provider_message_id == "gw-1"
    [rejection] = rejected
    assert isinstance(rejection, ErasureCodeRejected)
    assert (rejection.tries, rejection.cancelled) == (1, False)
    # six digits standing alone (a timestamp's microseconds could match by chance: 1 in 10^5)
    assert not re.search(rf"(?<![0-9]){code}(?![0-9])", stored_before + stored_after)
    assert confirmation.phone == RESIDENT_PHONE
    assert isinstance(forgotten, NumberForgotten)
    assert "không có yêu cầu" in told
    assert len(texts_to(gateway)) == 3  # code, wrong code, nothing held: the confirmation
    assert left == []


async def test_a_late_code_and_too_many_wrong_ones_are_refused(
    settings: Settings, gateway: Gateway
) -> None:
    answering(gateway)
    clock = FixedClock(NOW)
    sms = sms_settings(provider="http_json", http_json=provider_at(gateway), erasure_code_tries=2)
    async with notifications(settings, clock=clock, sms=sms) as service:

        async def answer_to(sid: str, body: str) -> str:
            before = len(texts_to(gateway))
            await say(service, sid, body)
            return (await texted(gateway, before + 1))[before]

        code = the_code(await answer_to("SM-1", "XOA"))
        clock.advance(timedelta(minutes=31))
        late = await answer_to("SM-2", f"XOA {code}")
        code = the_code(await answer_to("SM-3", "XOA"))
        wrong = "000000" if code != "000000" else "111111"
        answers = [
            await answer_to("SM-4", wrong),  # the bare code, while one is pending
            await answer_to("SM-5", f"XOA {wrong}"),
            await answer_to("SM-6", f"XOA {code}"),  # right, but cancelled by then
        ]
        confirmed = await service.events("resident.erasure_confirmed")

    assert "hết hạn" in late
    assert "1 lần" in answers[0]
    assert "quá nhiều lần" in answers[1]
    assert "hết hạn" in answers[2]
    assert confirmed == []


async def test_a_provider_that_refuses_the_code_fails_the_webhook_and_keeps_nothing(
    settings: Settings, gateway: Gateway
) -> None:
    gateway.default = Response(status=500, body=b'{"error": "down"}')
    sms = sms_settings(provider="http_json", http_json=provider_at(gateway))
    async with notifications(settings, clock=FixedClock(NOW), sms=sms) as service:
        status = await say(service, "SM-1", "XOA")
        issued = await service.events("resident.erasure_code_issued")
        received = await service.events("sms.received")

    assert status == 503  # the provider delivers the XOA again: a new code then
    assert (issued, received) == ([], [])


async def test_a_resident_with_several_requests_erased_by_sms_gets_one_sms(
    settings: Settings, gateway: Gateway, scheduler: Publisher
) -> None:
    answering(gateway)
    sms = sms_settings(provider="http_json", http_json=provider_at(gateway))
    confirmation = uuid7()
    async with notifications(settings, clock=FixedClock(NOW), sms=sms) as service:
        for _ in range(2):
            request_id = f"request-{uuid7()}"
            asked = ResidentErasureRequested(
                request_id=HelpRequestId(request_id),
                commune_code=CommuneCode("15835"),
                phone=RESIDENT_PHONE,
                preferred_language=Language.VI,
                requested_by=Actor.RESIDENT,
                requested_at=NOW,
                confirmation_id=confirmation,
            )
            await scheduler.publish(request_id, asked)
        forgotten = await eventually(
            lambda: service.events("resident.forgotten"), lambda found: len(found) == 2
        )
        await texted(gateway, 1)
        queued = await service.events("sms.queued")

    assert len(forgotten) == 2
    assert ["đã được xóa" in text for text in texts_to(gateway)] == [True]
    assert len(queued) == 1
