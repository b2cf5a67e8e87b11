from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import msgspec
import pytest

from bench.gateway import Gateway, Request, Response
from bench.messages_api import MessagesApi
from services.notifications.domain.interrupted import (
    FoundAtProvider,
    NoLookup,
    NotAtProvider,
    ProviderCopy,
    ProviderUnsure,
)
from services.notifications.domain.messages import DeliveryOutcome
from services.notifications.providers.base import (
    ProviderPermanentError,
    ProviderTemporaryError,
    RateLimitedProvider,
    SentAttempt,
    TokenBucket,
)
from services.notifications.providers.http_json import (
    HttpJsonConfig,
    HttpJsonProvider,
)
from services.notifications.providers.signatures import (
    twilio_signature,
    verify_twilio_signature,
)
from services.notifications.providers.twilio import TwilioConfig, TwilioProvider
from shared.keepalive import KeepAliveTransport

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
        # Our id on the callback: a receipt names the message even before it is stored sent.
        "StatusCallback": "https://handinhand.example/sms/status?message_id=sms-1",
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


# Looking up a message we may have sent (after an interrupted send)

STARTED = datetime(2025, 12, 4, 3, 0, tzinfo=UTC)


def attempt(started_at: datetime = STARTED, message_id: str = "sms-1") -> SentAttempt:
    return SentAttempt(message_id=message_id, to_e164=PHONE, text=TEXT, started_at=started_at)


def listed(sid: str, created: datetime, body: str = TEXT, status: str = "queued") -> dict[str, Any]:
    return {
        "sid": sid,
        "to": PHONE,
        "from": "+15005550006",
        "body": body,
        "status": status,
        "direction": "outbound-api",
        "date_created": format_datetime(created),  # RFC 2822, as Twilio writes it
    }


def page(*messages: dict[str, Any], next_page_uri: str | None = None) -> Response:
    body = {"messages": list(messages), "next_page_uri": next_page_uri, "page_size": 50}
    return Response(200, json.dumps(body).encode())


async def test_twilio_finds_what_it_took_in_its_messages_list(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    api = MessagesApi("AC123")
    gateway.handler = api.answer
    provider = twilio(client, gateway)
    before = datetime.now(UTC)
    receipt = await provider.send(PHONE, TEXT, "sms-1")
    found = await provider.find(attempt(before))
    missing = await provider.find(
        SentAttempt(message_id="sms-2", to_e164="+84911111111", text=TEXT, started_at=before)
    )

    assert found == FoundAtProvider(
        copies=(ProviderCopy(provider_message_id=receipt.provider_message_id, status="queued"),)
    )
    assert missing == NotAtProvider()
    lookup = gateway.requests[1]
    assert lookup.method == "GET"
    path, _, query = lookup.path.partition("?")
    assert path == "/2010-04-01/Accounts/AC123/Messages.json"
    assert parse_qs(query) == {"To": [PHONE], "From": ["+15005550006"], "PageSize": ["50"]}
    assert lookup.headers["authorization"] == gateway.requests[0].headers["authorization"]


async def test_twilio_counts_only_our_text_created_since_the_attempt_began(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    gateway.answer(
        page(
            listed("SMother", STARTED + timedelta(seconds=5), body="Tin nhắn khác"),
            listed("SMdone", STARTED - timedelta(seconds=30), status="delivered"),
            listed("SMold", STARTED - timedelta(hours=2)),  # the same text, long before
        ),
        page(listed("SMold", STARTED - timedelta(hours=2))),
    )
    provider = twilio(client, gateway)
    found = await provider.find(attempt())
    nothing = await provider.find(attempt())

    # Within the clock margin, and settled: the copy carries its outcome.
    assert found == FoundAtProvider(
        copies=(
            ProviderCopy(
                provider_message_id="SMdone",
                status="delivered",
                outcome=DeliveryOutcome.DELIVERED,
            ),
        )
    )
    assert nothing == NotAtProvider()


async def test_twilio_reads_on_to_the_next_page_until_it_reaches_older_messages(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    following = "/2010-04-01/Accounts/AC123/Messages.json?To=%2B84912345678&PageToken=PA50"
    gateway.answer(
        page(listed("SMnew", STARTED + timedelta(minutes=3), body="x"), next_page_uri=following),
        page(
            listed("SMours", STARTED + timedelta(seconds=1)),
            listed("SMolder", STARTED - timedelta(hours=1), body="y"),
            next_page_uri=following + "0",
        ),
    )
    found = await twilio(client, gateway).find(attempt())

    assert isinstance(found, FoundAtProvider)
    assert [copy.provider_message_id for copy in found.copies] == ["SMours"]
    assert [r.path for r in gateway.requests][1] == following
    assert len(gateway.requests) == 2  # the second page reached back before the attempt


async def test_twilio_filters_by_messaging_service_when_sending_from_one(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    ours = listed("SMours", STARTED) | {"messaging_service_sid": "MG9"}
    theirs = listed("SMtheirs", STARTED) | {"messaging_service_sid": "MG1"}
    gateway.answer(page(theirs, ours))
    config = TwilioConfig(
        account_sid="AC123", auth_token=TOKEN, base_url=gateway.url, messaging_service_sid="MG9"
    )
    found = await TwilioProvider(client, config, wire=wire_of(client)).find(attempt())

    assert isinstance(found, FoundAtProvider)
    assert [copy.provider_message_id for copy in found.copies] == ["SMours"]
    assert "From" not in parse_qs(gateway.requests[0].path.partition("?")[2])


@pytest.mark.parametrize(
    "answer",
    [
        Response(500, b'{"code": 20500, "message": "Internal Server Error"}'),
        Response(429, b"{}", headers={"Retry-After": "1"}),
        Response(401, b'{"code": 20003, "message": "Authenticate"}'),
        Response(200, b"<html>maintenance</html>"),
        Response(200, b'{"messages": [{"sid": "SM1", "to": "+84912345678"}]}'),
    ],
    ids=["5xx", "429", "401", "unreadable", "undated"],
)
async def test_a_twilio_lookup_that_cannot_tell_is_unsure(
    client: httpx.AsyncClient, gateway: Gateway, answer: Response
) -> None:
    gateway.answer(answer)
    found = await twilio(client, gateway).find(attempt())
    assert isinstance(found, ProviderUnsure)


async def test_a_twilio_lookup_too_slow_or_unreachable_is_unsure(gateway: Gateway) -> None:
    gateway.answer(Response(200, b'{"messages": []}', delay=1.0))
    async with httpx.AsyncClient(timeout=0.2) as slow:
        too_slow = await twilio(slow, gateway).find(attempt())
    await gateway.stop()
    async with httpx.AsyncClient(timeout=0.2) as anyone:
        unreachable = await twilio(anyone, gateway).find(attempt())

    assert isinstance(too_slow, ProviderUnsure)
    assert "timed out" in too_slow.reason
    assert isinstance(unreachable, ProviderUnsure)


def status_gateway(gateway: Gateway, **overrides: object) -> HttpJsonConfig:
    return brandname_gateway(
        gateway,
        lookup_url=f"{gateway.url}/api/status/{{message_id}}",
        lookup_found_path="data.state",
        lookup_found_values=["SENT", "DELIVERED"],
        lookup_missing_values=["UNKNOWN"],
        lookup_id_path="data.smsId",
        **overrides,
    )


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            Response(200, b'{"data": {"state": "DELIVERED", "smsId": 987}}'),
            FoundAtProvider(copies=(ProviderCopy(provider_message_id="987", status="DELIVERED"),)),
        ),
        (Response(200, b'{"data": {"state": "UNKNOWN"}}'), NotAtProvider()),
        (Response(404, b"{}"), NotAtProvider()),
        (Response(200, b'{"data": {"state": "QUEUED_FOR_CHECK"}}'), None),
        (Response(200, b'{"code": "99", "message": "busy"}'), None),
        (Response(503, b"{}"), None),
        (Response(200, b"not json"), None),
    ],
    ids=["found", "missing", "404", "unexpected", "absent", "503", "unreadable"],
)
async def test_http_json_asks_the_gateway_by_our_message_id(
    client: httpx.AsyncClient, gateway: Gateway, answer: Response, expected: object
) -> None:
    gateway.answer(answer)
    provider = HttpJsonProvider(client, status_gateway(gateway), wire=wire_of(client))
    found = await provider.find(attempt(message_id="sms-42"))

    (request,) = gateway.requests
    assert (request.method, request.path) == ("GET", "/api/status/sms-42")
    assert request.headers["x-api-key"] == "k-123"
    if expected is None:
        assert isinstance(found, ProviderUnsure)  # anything it did not clearly say: ask again
    else:
        assert found == expected


async def test_http_json_without_a_lookup_says_whether_resending_is_safe(
    client: httpx.AsyncClient, gateway: Gateway
) -> None:
    plain = HttpJsonProvider(client, brandname_gateway(gateway), wire=wire_of(client))
    dropping = HttpJsonProvider(
        client, brandname_gateway(gateway, deduplicates=True), wire=wire_of(client)
    )

    assert await plain.find(attempt()) == NoLookup()
    assert isinstance(await dropping.find(attempt()), NotAtProvider)
    assert gateway.requests == []


def test_a_lookup_url_needs_our_id_sent_and_named_in_it() -> None:
    with pytest.raises(ValueError, match="message_id_field"):
        HttpJsonConfig(url="http://gw/send", lookup_url="http://gw/status/{message_id}")
    with pytest.raises(ValueError, match=r"\{message_id\}"):
        HttpJsonConfig(url="http://gw/send", message_id_field="ref", lookup_url="http://gw/s")
