from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
import pytest

from services.notifications.domain.interrupted import (
    FoundAtProvider,
    NotAtProvider,
    ProviderCopy,
)
from services.notifications.domain.messages import DeliveryOutcome
from services.notifications.providers.base import (
    ProviderPermanentError,
    RateLimitedProvider,
    SentAttempt,
    SmsProvider,
    TokenBucket,
)
from services.notifications.providers.console import ConsoleProvider
from services.notifications.providers.http_json import (
    HttpJsonConfig,
    HttpJsonProvider,
    local_phone,
    lookup,
)
from services.notifications.providers.signatures import (
    twilio_signature,
    verify_twilio_signature,
)
from services.notifications.providers.twilio import (
    TwilioConfig,
    TwilioProvider,
    parse_inbound_sms,
    parse_status_callback,
)
from shared.clock import FixedClock
from shared.phones import mask_phone

# The worked example in Twilio's webhook security documentation.
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
DOC_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
NOW = datetime(2025, 12, 6, 1, 0, tzinfo=UTC)


def test_signature_matches_twilios_documented_example() -> None:
    assert twilio_signature(DOC_URL, DOC_PARAMS, "12345") == DOC_SIGNATURE
    assert verify_twilio_signature(DOC_URL, DOC_PARAMS, "12345", DOC_SIGNATURE)


def test_a_changed_parameter_url_or_token_breaks_the_signature() -> None:
    assert not verify_twilio_signature(
        DOC_URL, DOC_PARAMS | {"Digits": "9"}, "12345", DOC_SIGNATURE
    )
    assert not verify_twilio_signature(DOC_URL + "&x=1", DOC_PARAMS, "12345", DOC_SIGNATURE)
    assert not verify_twilio_signature(DOC_URL, DOC_PARAMS, "54321", DOC_SIGNATURE)
    assert not verify_twilio_signature(DOC_URL, DOC_PARAMS, "12345", None)
    assert not verify_twilio_signature(DOC_URL, DOC_PARAMS, "12345", "")


def test_a_signature_over_the_url_with_its_default_port_also_verifies() -> None:
    with_port = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    assert verify_twilio_signature(with_port, DOC_PARAMS, "12345", DOC_SIGNATURE)
    signed_with_port = twilio_signature(with_port, DOC_PARAMS, "12345")
    assert verify_twilio_signature(DOC_URL, DOC_PARAMS, "12345", signed_with_port)


def test_repeated_form_fields_are_signed_in_sorted_order() -> None:
    params = {"MediaUrl": ["b", "a"]}
    assert twilio_signature("https://x.example/h", params, "t") == twilio_signature(
        "https://x.example/h", [("MediaUrl", "a"), ("MediaUrl", "b")], "t"
    )


def test_status_callbacks_are_read_into_outcomes() -> None:
    delivered = parse_status_callback({"MessageSid": "SM1", "MessageStatus": "delivered"})
    assert delivered.outcome is DeliveryOutcome.DELIVERED
    failed = parse_status_callback(
        {"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": "30003"}
    )
    assert failed.outcome is DeliveryOutcome.UNDELIVERED
    assert failed.error_code == "30003"
    assert parse_status_callback({"MessageSid": "SM1", "MessageStatus": "failed"}).outcome is (
        DeliveryOutcome.UNDELIVERED
    )
    assert parse_status_callback({"MessageSid": "SM1", "MessageStatus": "sent"}).outcome is None
    with pytest.raises(ValueError):
        parse_status_callback({"MessageStatus": "sent"})


def test_inbound_sms_webhook_is_read() -> None:
    sms = parse_inbound_sms(
        {"MessageSid": "SM9", "From": "+84912345678", "To": "+84900000000", "Body": "Có 4821"},
        FixedClock(NOW),
    )
    assert sms.text == "Có 4821"
    assert sms.from_phone == "+84912345678"
    assert sms.received_at == NOW


def test_twilio_config_needs_exactly_one_sender() -> None:
    with pytest.raises(ValueError):
        TwilioConfig(account_sid="AC1", auth_token="t")
    with pytest.raises(ValueError):
        TwilioConfig(
            account_sid="AC1", auth_token="t", from_number="+1", messaging_service_sid="MG"
        )


def test_phone_numbers_are_masked_in_logs() -> None:
    assert mask_phone("+84912345678") == "+84*****5678"
    assert mask_phone("12345") == "*****"


def test_local_phone_format_for_vietnamese_gateways() -> None:
    assert local_phone("+84912345678") == "0912345678"
    with pytest.raises(ProviderPermanentError):
        local_phone("+14155550100")


def test_lookup_follows_dotted_paths() -> None:
    document = {"data": {"items": [{"id": "x1"}]}, "code": 100}
    assert lookup(document, "data.items.0.id") == "x1"
    assert lookup(document, "code") == 100
    assert lookup(document, "data.missing.id") is None
    assert lookup(document, "data.items.5.id") is None


async def test_console_provider_keeps_messages_and_logs_a_masked_number(
    caplog: pytest.LogCaptureFixture,
) -> None:
    console = ConsoleProvider(FixedClock(NOW), keep=2)
    with caplog.at_level(logging.INFO):
        receipt = await console.send("+84912345678", "Xin chào", "sms-1")
        await console.send("+84912345678", "Lần hai", "sms-2")
        await console.send("+84912345678", "Lần ba", "sms-3")
    assert receipt.provider_message_id == "console-1"
    assert [m.text for m in console.messages()] == ["Lần hai", "Lần ba"]
    assert "+84912345678" not in caplog.text
    assert "+84*****5678" in caplog.text


async def test_every_provider_fits_the_port() -> None:
    twilio_config = TwilioConfig(account_sid="AC1", auth_token="t", from_number="+1")
    async with httpx.AsyncClient() as client:
        providers: list[SmsProvider] = [
            ConsoleProvider(FixedClock(NOW)),
            TwilioProvider(client, twilio_config),
            HttpJsonProvider(client, HttpJsonConfig(url="http://gateway.invalid/send")),
        ]
        limited: SmsProvider = RateLimitedProvider(providers[0], TokenBucket(rate=1))
    names = [provider.name for provider in [*providers, limited]]
    assert names == ["console", "twilio", "http_json", "console"]


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    time = FakeTime()
    bucket = TokenBucket(rate=10, burst=3, clock=time.clock, sleep=time.sleep)
    for _ in range(3):
        await bucket.acquire()
    assert time.now == 0.0
    for _ in range(5):
        await bucket.acquire()
    assert time.now == pytest.approx(0.5)


async def test_token_bucket_refills_while_idle_but_not_beyond_the_burst() -> None:
    time = FakeTime()
    bucket = TokenBucket(rate=2, burst=2, clock=time.clock, sleep=time.sleep)
    assert bucket.try_acquire()
    assert bucket.try_acquire()
    assert not bucket.try_acquire()
    time.now += 60
    assert bucket.try_acquire()
    assert bucket.try_acquire()
    assert not bucket.try_acquire()


def test_token_bucket_refuses_an_impossible_rate() -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=0)


async def test_the_console_answers_a_lookup_from_what_it_kept() -> None:
    console = ConsoleProvider(FixedClock(NOW))
    await console.send("+84912345678", "Xin chào", "sms-1")
    kept = SentAttempt(message_id="sms-1", to_e164="+84912345678", text="Xin chào", started_at=NOW)
    forgotten = SentAttempt(message_id="sms-2", to_e164="+84912345678", text="", started_at=NOW)

    assert await console.find(kept) == FoundAtProvider(
        copies=(ProviderCopy(provider_message_id="console-1", status="delivered"),)
    )
    # After a restart it has forgotten: "sent again" only logs the SMS again.
    assert await console.find(forgotten) == NotAtProvider()
