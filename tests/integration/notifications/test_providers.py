from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import httpx
import msgspec
import pytest

from bench.gateway import Gateway, Request, Response
from services.notifications.providers.base import (
    ProviderPermanentError,
    ProviderTemporaryError,
    RateLimitedProvider,
    TokenBucket,
)
from services.notifications.providers.http_json import (
    HttpJsonConfig,
    HttpJsonProvider,
)
from services.notifications.providers.keepalive import KeepAliveTransport
from services.notifications.providers.signatures import (
    twilio_signature,
    verify_twilio_signature,
)
from services.notifications.providers.twilio import TwilioConfig, TwilioProvider

PHONE = "+84912345678"
TEXT = "Nhắc lịch: hỗ trợ VNeID tại Nhà văn hóa thôn 3, Thứ Bảy 06/12, 08:00."
TOKEN = "secret-token"


# The transports that providers call directly (as the app does), by client.
WIRES: dict[int, KeepAliveTransport] = {}


@pytest.fixture(params=["httpx", "keepalive", "keepalive-direct"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    """httpx's own transport; the one the app uses (`KeepAliveTransport`) under the client;
    and that one called directly by the providers, as the app does."""
    transport = KeepAliveTransport(4) if request.param != "httpx" else None
    async with httpx.AsyncClient(timeout=2.0, transport=transport) as http:
        if request.param == "keepalive-direct" and transport is not None:
            WIRES[id(http)] = transport
        yield http
        WIRES.pop(id(http), None)


def wire_of(client: httpx.AsyncClient) -> KeepAliveTransport | None:
    return WIRES.get(id(client))


def twilio(client: httpx.AsyncClient, gateway: Gateway, **overrides: str) -> TwilioProvider:
    config = {
        "account_sid": "AC123",
        "auth_token": TOKEN,
        "base_url": gateway.url,
        "from_number": "+15005550006",
        "status_callback_url": "https://handinhand.example/sms/status",
    } | overrides
    return TwilioProvider(client, TwilioConfig(**config), wire=wire_of(client))


def created(sid: str = "SM0001") -> Response:
    return Response(201, json.dumps({"sid": sid, "status": "queued"}).encode())


async def test_twilio_sends_through_the_messages_api(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    gateway.answer(created("SMabc"))
    receipt = await twilio(client, gateway).send(PHONE, TEXT, "sms-1")
    assert receipt.provider_message_id == "SMabc"
    assert receipt.status == "queued"
    (request,) = gateway.requests
    assert request.method == "POST"
    assert request.path == "/2010-04-01/Accounts/AC123/Messages.json"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(
        f"AC123:{TOKEN}".encode()
    ).decode("ascii")
    assert request.form() == {
        "To": PHONE,
        "From": "+15005550006",
        "Body": TEXT,
        "StatusCallback": "https://handinhand.example/sms/status",
    }


async def test_twilio_can_send_from_a_messaging_service(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    gateway.answer(created())
    config = TwilioConfig(
        account_sid="AC123", auth_token=TOKEN, base_url=gateway.url, messaging_service_sid="MG9"
    )
    await TwilioProvider(client, config, wire=wire_of(client)).send(PHONE, TEXT, "sms-1")
    form = gateway.requests[0].form()
    assert form["MessagingServiceSid"] == "MG9"
    assert "From" not in form


async def test_twilio_5xx_is_a_temporary_error(client: httpx.AsyncClient, gateway: Gateway) -> None:
    gateway.answer(Response(503, b'{"message": "busy"}'))
    with pytest.raises(ProviderTemporaryError) as caught:
        await twilio(client, gateway).send(PHONE, TEXT, "sms-1")
    assert caught.value.status_code == 503


async def test_twilio_429_is_temporary_and_carries_the_wait(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    gateway.answer(Response(429, b"{}", headers={"Retry-After": "7"}))
    with pytest.raises(ProviderTemporaryError) as caught:
        await twilio(client, gateway).send(PHONE, TEXT, "sms-1")
    assert caught.value.retry_after == 7.0


async def test_twilio_400_invalid_number_is_a_permanent_error(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    body = {"code": 21211, "message": "The 'To' number +8400 is not a valid phone number."}
    gateway.answer(Response(400, json.dumps(body).encode()))
    with pytest.raises(ProviderPermanentError) as caught:
        await twilio(client, gateway).send("+8400", TEXT, "sms-1")
    assert caught.value.status_code == 400
    assert "21211" in str(caught.value)


async def test_a_provider_too_slow_to_answer_is_a_temporary_error(gateway: Gateway) -> None:
    gateway.answer(*(Response(201, b"{}", delay=1.0) for _ in range(3)))
    async with httpx.AsyncClient(timeout=0.2) as slow_client:
        with pytest.raises(ProviderTemporaryError):
            await twilio(slow_client, gateway).send(PHONE, TEXT, "sms-1")
    transport = KeepAliveTransport(1)
    async with httpx.AsyncClient(timeout=0.2, transport=transport) as slow_client:
        with pytest.raises(ProviderTemporaryError):
            await twilio(slow_client, gateway).send(PHONE, TEXT, "sms-2")
        # Called directly, the transport still gets the client's timeouts.
        WIRES[id(slow_client)] = transport
        try:
            with pytest.raises(ProviderTemporaryError, match="timed out"):
                await twilio(slow_client, gateway).send(PHONE, TEXT, "sms-3")
        finally:
            WIRES.pop(id(slow_client))


async def test_an_unreachable_provider_is_a_temporary_error(client: httpx.AsyncClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    config = TwilioConfig(
        account_sid="AC1",
        auth_token=TOKEN,
        base_url=f"http://127.0.0.1:{closed_port}",
        from_number="+15005550006",
    )
    with pytest.raises(ProviderTemporaryError):
        await TwilioProvider(client, config, wire=wire_of(client)).send(PHONE, TEXT, "sms-1")


def brandname_gateway(gateway: Gateway, **overrides: object) -> HttpJsonConfig:
    config: dict[str, object] = {
        "url": f"{gateway.url}/api/send",
        "name": "vn-brandname",
        "auth_header": "X-Api-Key",
        "auth_value": "k-123",
        "phone_field": "Phone",
        "text_field": "Content",
        "brandname_field": "Brandname",
        "brandname": "HANDINHAND",
        "message_id_field": "RequestId",
        "provider_id_path": "data.smsId",
        "phone_format": "local",
        "static_fields": {"SmsType": 2, "IsUnicode": 1},
        "success_path": "code",
        "success_values": ["100"],
        "temporary_values": ["99"],
    } | overrides
    return msgspec.convert(config, HttpJsonConfig)


async def test_http_json_maps_fields_and_reads_the_provider_id(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    gateway.answer(Response(200, b'{"code": "100", "data": {"smsId": 987654}}'))
    provider = HttpJsonProvider(client, brandname_gateway(gateway), wire=wire_of(client))
    receipt = await provider.send(PHONE, TEXT, "sms-42")
    assert receipt.provider_message_id == "987654"
    assert provider.name == "vn-brandname"
    (request,) = gateway.requests
    assert request.path == "/api/send"
    assert request.headers["x-api-key"] == "k-123"
    assert json.loads(request.body) == {
        "Phone": "0912345678",
        "Content": TEXT,
        "Brandname": "HANDINHAND",
        "RequestId": "sms-42",
        "SmsType": 2,
        "IsUnicode": 1,
    }


async def test_http_json_sends_e164_when_configured(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    gateway.answer(Response(200, b'{"code": "100"}'))
    config = brandname_gateway(gateway, phone_format="e164", provider_id_path="id")
    receipt = await HttpJsonProvider(client, config, wire=wire_of(client)).send(
        PHONE, TEXT, "sms-42"
    )
    assert json.loads(gateway.requests[0].body)["Phone"] == PHONE
    # No id of its own in the answer: the gateway reports on ours.
    assert receipt.provider_message_id == "sms-42"


async def test_http_json_error_code_in_a_200_answer_is_permanent(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    gateway.answer(Response(200, b'{"code": "104", "message": "brandname not registered"}'))
    with pytest.raises(ProviderPermanentError):
        await HttpJsonProvider(client, brandname_gateway(gateway), wire=wire_of(client)).send(
            PHONE, TEXT, "sms-1"
        )


async def test_http_json_temporary_code_is_temporary(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    gateway.answer(Response(200, b'{"code": "99"}'))
    with pytest.raises(ProviderTemporaryError):
        await HttpJsonProvider(client, brandname_gateway(gateway), wire=wire_of(client)).send(
            PHONE, TEXT, "sms-1"
        )


@pytest.mark.parametrize(
    ("status", "error"), [(500, ProviderTemporaryError), (400, ProviderPermanentError)]
)
async def test_http_json_status_codes(
    client: httpx.AsyncClient, gateway: Gateway, status: int, error: type[Exception]
) -> None:
    gateway.answer(Response(status, b"{}"))
    with pytest.raises(error):
        await HttpJsonProvider(client, brandname_gateway(gateway), wire=wire_of(client)).send(
            PHONE, TEXT, "sms-1"
        )


async def test_a_signed_webhook_is_accepted_and_a_forged_one_refused(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    async def webhook(request: Request) -> Response:
        url = f"{gateway.url}{request.path}"
        signature = request.headers.get("x-twilio-signature")
        if verify_twilio_signature(url, request.form(), TOKEN, signature):
            return Response(204, b"")
        return Response(403, b"")

    gateway.handler = webhook
    url = f"{gateway.url}/sms/inbound?tenant=thanh-hoa"
    form = {"MessageSid": "SM77", "From": PHONE, "To": "+15005550006", "Body": "Có 4821"}
    body = urlencode(form)
    content_type = {"Content-Type": "application/x-www-form-urlencoded"}

    signed = {"X-Twilio-Signature": twilio_signature(url, form, TOKEN)} | content_type
    assert (await client.post(url, content=body, headers=signed)).status_code == 204

    wrong = {"X-Twilio-Signature": twilio_signature(url, form, "other")} | content_type
    assert (await client.post(url, content=body, headers=wrong)).status_code == 403

    assert (await client.post(url, content=body, headers=content_type)).status_code == 403

    tampered = urlencode(form | {"Body": "K 4821"})
    assert (await client.post(url, content=tampered, headers=signed)).status_code == 403


async def test_the_rate_limit_spaces_messages_to_the_provider(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    gateway.default = created()
    limited = RateLimitedProvider(twilio(client, gateway), TokenBucket(rate=20, burst=1))
    await asyncio.gather(*(limited.send(PHONE, TEXT, f"sms-{i}") for i in range(6)))
    arrivals = sorted(request.arrived_at for request in gateway.requests)
    assert len(arrivals) == 6
    # Six messages at 20 per second with no burst need at least five intervals of 50 ms.
    assert arrivals[-1] - arrivals[0] >= 0.2
    assert limited.name == "twilio"
