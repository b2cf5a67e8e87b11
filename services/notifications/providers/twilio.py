"""A Twilio-compatible REST provider: send through the Messages API, read its webhooks."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from urllib.parse import urlencode

import httpx
import msgspec

from services.notifications.domain.messages import DeliveryOutcome
from services.notifications.domain.replies import InboundSms
from services.notifications.providers.base import (
    ProviderPermanentError,
    ProviderReceipt,
    ProviderTemporaryError,
    classify_status,
)
from services.notifications.providers.keepalive import post
from shared.clock import Clock

# Twilio MessageStatus values that settle an SMS; the others (queued, sending, sent,
# accepted, scheduled) only say it is on its way.
_OUTCOMES = {
    "delivered": DeliveryOutcome.DELIVERED,
    "read": DeliveryOutcome.DELIVERED,
    "undelivered": DeliveryOutcome.UNDELIVERED,
    "failed": DeliveryOutcome.UNDELIVERED,
    "canceled": DeliveryOutcome.UNDELIVERED,
}


class TwilioConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Where and as whom to send; exactly one of `from_number` and `messaging_service_sid`."""

    account_sid: str
    auth_token: str
    base_url: str = "https://api.twilio.com"
    from_number: str | None = None
    messaging_service_sid: str | None = None
    status_callback_url: str | None = None

    def __post_init__(self) -> None:
        if (self.from_number is None) == (self.messaging_service_sid is None):
            raise ValueError("set exactly one of from_number and messaging_service_sid")


class _MessageResource(msgspec.Struct):
    sid: str
    status: str = "queued"


class _ErrorBody(msgspec.Struct):
    message: str = ""
    code: int | None = None


class StatusCallback(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery receipt webhook: which SMS, its status and Twilio's error code."""

    provider_message_id: str
    status: str
    error_code: str | None = None

    @property
    def outcome(self) -> DeliveryOutcome | None:
        """Delivered or undelivered once settled; None while the SMS is still on its way."""
        return _OUTCOMES.get(self.status)


class TwilioProvider:
    """Sends with POST {base_url}/2010-04-01/Accounts/{sid}/Messages.json, basic auth."""

    name = "twilio"

    def __init__(
        self,
        client: httpx.AsyncClient,
        config: TwilioConfig,
        *,
        wire: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = client
        self._wire = wire  # the client's transport, called directly (keepalive.post)
        self._config = config
        # Parsed, encoded and built once: httpx's auth flow and form encoding per request
        # cost more than the few bytes they produce.
        self._url = httpx.URL(
            f"{config.base_url.rstrip('/')}/2010-04-01/Accounts/{config.account_sid}/Messages.json"
        )
        credentials = f"{config.account_sid}:{config.auth_token}".encode()
        self._headers = {
            "Authorization": "Basic " + base64.b64encode(credentials).decode("ascii"),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        fixed: dict[str, str] = {}
        if config.messaging_service_sid is not None:
            fixed["MessagingServiceSid"] = config.messaging_service_sid
        elif config.from_number is not None:
            fixed["From"] = config.from_number
        if config.status_callback_url is not None:
            fixed["StatusCallback"] = config.status_callback_url
        self._fixed = fixed

    async def send(self, to_e164: str, text: str, message_id: str) -> ProviderReceipt:
        form = urlencode({"To": to_e164, "Body": text} | self._fixed).encode()
        try:
            response = await post(self._client, self._wire, self._url, self._headers, form)
        except httpx.TimeoutException as error:
            raise ProviderTemporaryError(f"twilio timed out for {message_id}") from error
        except httpx.TransportError as error:
            raise ProviderTemporaryError(f"twilio unreachable: {error!r}") from error
        if response.status_code >= 400:
            classify_status(
                response.status_code, _error_detail(response), response.headers.get("Retry-After")
            )
        try:
            resource = msgspec.json.decode(response.content, type=_MessageResource)
        except msgspec.DecodeError as error:
            # Twilio has the SMS but we cannot read its id; a retry could send it twice.
            raise ProviderPermanentError(f"unreadable twilio answer: {error}") from error
        return ProviderReceipt(provider_message_id=resource.sid, status=resource.status)


def _error_detail(response: httpx.Response) -> str:
    try:
        body = msgspec.json.decode(response.content, type=_ErrorBody)
    except msgspec.DecodeError:
        return response.text[:200]
    return f"{body.code}: {body.message}" if body.code is not None else body.message


def parse_status_callback(form: Mapping[str, str]) -> StatusCallback:
    """Read a status callback's MessageSid, MessageStatus and ErrorCode."""
    sid = form.get("MessageSid") or form.get("SmsSid")
    status = form.get("MessageStatus") or form.get("SmsStatus")
    if not sid or not status:
        raise ValueError("a status callback needs MessageSid and MessageStatus")
    return StatusCallback(
        provider_message_id=sid, status=status.lower(), error_code=form.get("ErrorCode") or None
    )


def parse_inbound_sms(form: Mapping[str, str], clock: Clock) -> InboundSms:
    """Read an inbound SMS webhook (MessageSid, From, To, Body) once its signature is checked."""
    sid = form.get("MessageSid") or form.get("SmsSid")
    sender = form.get("From")
    if not sid or not sender:
        raise ValueError("an inbound SMS needs MessageSid and From")
    return InboundSms(
        provider_message_id=sid,
        from_phone=sender,
        to_phone=form.get("To", ""),
        text=form.get("Body", ""),
        received_at=clock.now(),
    )
