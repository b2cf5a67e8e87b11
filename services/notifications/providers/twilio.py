"""A Twilio-compatible REST provider: send through the Messages API, find a message we may
have sent in its Messages list, read its webhooks."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

import httpx
import msgspec

from services.notifications.domain.interrupted import (
    Finding,
    FoundAtProvider,
    NotAtProvider,
    ProviderCopy,
    ProviderUnsure,
)
from services.notifications.domain.messages import DeliveryOutcome
from services.notifications.domain.replies import InboundSms
from services.notifications.providers.base import (
    ProviderOutcomeUnknownError,
    ProviderReceipt,
    SentAttempt,
    classify_status,
    transport_error,
)
from shared.clock import Clock
from shared.keepalive import get, post

# A message found in the list counts as ours only if Twilio created it after our attempt
# began, less this much: our clock and Twilio's may differ a little.
LOOKUP_MARGIN = timedelta(minutes=2)
# How many list pages (newest first) a look-up reads before it stops and says "unsure".
LOOKUP_PAGES = 4
LOOKUP_PAGE_SIZE = 50

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


class _ListedMessage(msgspec.Struct):
    sid: str
    to: str = ""
    body: str = ""
    status: str = ""
    date_created: str | None = None
    messaging_service_sid: str | None = None


class _MessagePage(msgspec.Struct):
    messages: list[_ListedMessage] = []
    next_page_uri: str | None = None


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
        self._lookup_headers = {
            "Authorization": "Basic " + base64.b64encode(credentials).decode("ascii")
        }
        self._headers = self._lookup_headers | {"Content-Type": "application/x-www-form-urlencoded"}
        fixed: dict[str, str] = {}
        if config.messaging_service_sid is not None:
            fixed["MessagingServiceSid"] = config.messaging_service_sid
        elif config.from_number is not None:
            fixed["From"] = config.from_number
        self._fixed = fixed
        callback = config.status_callback_url
        self._callback = None if callback is None else callback + ("&" if "?" in callback else "?")
        self._origin = config.base_url.rstrip("/")
        list_filter = {"PageSize": str(LOOKUP_PAGE_SIZE)}
        if config.from_number is not None:
            list_filter["From"] = config.from_number
        self._list_filter = list_filter

    def _form(self, to_e164: str, text: str, message_id: str) -> bytes:
        form = {"To": to_e164, "Body": text} | self._fixed
        if self._callback is not None:
            # Our id on the callback URL: a receipt names the message even before its
            # `sms.sent` is stored (Twilio signs the URL with its query).
            form["StatusCallback"] = self._callback + urlencode({"message_id": message_id})
        return urlencode(form).encode()

    async def send(self, to_e164: str, text: str, message_id: str) -> ProviderReceipt:
        form = self._form(to_e164, text, message_id)
        try:
            response = await post(self._client, self._wire, self._url, self._headers, form)
        except httpx.TransportError as error:
            raise transport_error("twilio", message_id, error, can_look_up=True) from error
        if response.status_code >= 400:
            classify_status(
                response.status_code, _error_detail(response), response.headers.get("Retry-After")
            )
        try:
            resource = msgspec.json.decode(response.content, type=_MessageResource)
        except msgspec.DecodeError as error:
            # Twilio has the SMS but we cannot read its id: a retry could send it twice,
            # its Messages list will tell.
            raise ProviderOutcomeUnknownError(f"unreadable twilio answer: {error}") from error
        return ProviderReceipt(provider_message_id=resource.sid, status=resource.status)

    async def find(self, attempt: SentAttempt) -> Finding:
        """Look through the Messages list to that number (and from our number or messaging
        service), newest first, for our text created since the attempt began."""
        url = self._url.copy_merge_params({"To": attempt.to_e164} | self._list_filter)
        since = attempt.started_at - LOOKUP_MARGIN
        copies: list[ProviderCopy] = []
        for _ in range(LOOKUP_PAGES):
            page = await self._page(url)
            if isinstance(page, ProviderUnsure):
                return page
            reached_older = False
            for listed in page.messages:
                created = _created(listed.date_created)
                if created is None:
                    return ProviderUnsure(
                        reason=f"twilio listed {listed.sid} with no readable date"
                    )
                if created < since:
                    reached_older = True
                elif self._is_copy(listed, attempt):
                    outcome = _OUTCOMES.get(listed.status)
                    copies.append(
                        ProviderCopy(
                            provider_message_id=listed.sid, status=listed.status, outcome=outcome
                        )
                    )
            if reached_older or page.next_page_uri is None:
                break
            url = httpx.URL(self._origin + page.next_page_uri)
        else:
            if not copies:
                return ProviderUnsure(
                    reason="more recent messages to that number than a look-up reads"
                )
        return FoundAtProvider(copies=tuple(copies)) if copies else NotAtProvider()

    async def _page(self, url: httpx.URL) -> _MessagePage | ProviderUnsure:
        try:
            response = await get(self._client, self._wire, url, self._lookup_headers)
        except httpx.TimeoutException:
            return ProviderUnsure(reason="twilio's message list timed out")
        except httpx.TransportError as error:
            return ProviderUnsure(reason=f"twilio unreachable: {error!r}")
        if response.status_code >= 400:
            detail = _error_detail(response)
            return ProviderUnsure(reason=f"twilio answered {response.status_code}: {detail}")
        try:
            return msgspec.json.decode(response.content, type=_MessagePage)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            return ProviderUnsure(reason=f"unreadable twilio message list: {error}")

    def _is_copy(self, listed: _ListedMessage, attempt: SentAttempt) -> bool:
        service = self._config.messaging_service_sid
        return (
            listed.to == attempt.to_e164
            and listed.body == attempt.text
            and (service is None or listed.messaging_service_sid == service)
        )


def _created(value: str | None) -> datetime | None:
    """Twilio's date_created, RFC 2822 ("Thu, 04 Dec 2025 03:00:00 +0000")."""
    if not value:
        return None
    try:
        created = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    # "-0000" (no zone stated) comes back naive; Twilio's dates are UTC.
    return created if created.tzinfo is not None else created.replace(tzinfo=UTC)


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
