"""A generic JSON-over-HTTP provider for Vietnamese SMS brandname gateways.

Gateways differ only in field names, where they put their id and how they say "ok", so all of
that is configuration: the URL, one auth header, which JSON field gets the phone (E.164 or local
0xxxxxxxxx), the text, the brandname and our message id, and dotted paths into the answer.
After an interrupted send the gateway is asked about our message id (`lookup_url`), or, if it
drops a repeated id (`deduplicates`), the SMS is simply sent again.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from urllib.parse import quote

import httpx
import msgspec

from services.notifications.domain.interrupted import (
    Finding,
    FoundAtProvider,
    NoLookup,
    NotAtProvider,
    ProviderCopy,
    ProviderUnsure,
)
from services.notifications.providers.base import (
    ProviderPermanentError,
    ProviderReceipt,
    ProviderTemporaryError,
    SentAttempt,
    classify_status,
    transport_error,
)
from shared.keepalive import get, post


class PhoneFormat(StrEnum):
    E164 = "e164"
    LOCAL = "local"


class HttpJsonConfig(msgspec.Struct, frozen=True, kw_only=True):
    """How to talk to one gateway; `success_path` is for gateways that answer 200 on errors."""

    url: str
    name: str = "http_json"
    auth_header: str | None = None
    auth_value: str | None = None
    phone_field: str = "phone"
    text_field: str = "message"
    brandname_field: str | None = None
    brandname: str | None = None
    message_id_field: str | None = None
    provider_id_path: str = "id"
    phone_format: PhoneFormat = PhoneFormat.E164
    static_fields: dict[str, Any] = {}
    success_path: str | None = None
    success_values: tuple[str, ...] = ()
    temporary_values: tuple[str, ...] = ()
    # The gateway drops a repeated message id, so an interrupted send may safely be retried.
    deduplicates: bool = False
    # Where to ask about one message by our id ("{message_id}" in the URL, GET); the answer's
    # value at `lookup_found_path` says found or missing (a 404 is missing), anything else
    # means "ask again later"; `lookup_id_path` is the gateway's id (default: ours).
    lookup_url: str | None = None
    lookup_found_path: str = "found"
    lookup_found_values: tuple[str, ...] = ("true",)
    lookup_missing_values: tuple[str, ...] = ("false",)
    lookup_id_path: str | None = None

    def __post_init__(self) -> None:
        if self.lookup_url is None:
            return
        if self.message_id_field is None:
            raise ValueError("a look-up by our message id needs message_id_field to send it")
        if "{message_id}" not in self.lookup_url:
            raise ValueError("lookup_url must contain {message_id}")


def local_phone(to_e164: str) -> str:
    """+84912345678 -> 0912345678, the form most Vietnamese gateways expect."""
    if not to_e164.startswith("+84") or not to_e164[3:].isdigit():
        raise ProviderPermanentError(f"not a Vietnamese E.164 number: {to_e164[:5]}...")
    return "0" + to_e164[3:]


def _word(value: Any) -> str:
    """A JSON value as the text configured values are compared with (true, 0, "OK")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def lookup(document: Any, path: str) -> Any:
    """The value at a dotted path ("data.id", "result.0.sid"), or None when absent."""
    current = document
    for step in path.split("."):
        if isinstance(current, dict):
            current = current.get(step)
        elif isinstance(current, list) and step.isdigit() and int(step) < len(current):
            current = current[int(step)]
        else:
            return None
    return current


class HttpJsonProvider:
    """Posts one JSON object per SMS to a brandname gateway."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        config: HttpJsonConfig,
        *,
        wire: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = client
        self._wire = wire  # the client's transport, called directly (keepalive.post)
        self._config = config
        self.name = config.name
        # Parsed and built once: at thousands of messages a second they are worth keeping.
        self._url = httpx.URL(config.url)
        self._headers = {"Content-Type": "application/json"}
        if config.auth_header is not None and config.auth_value is not None:
            self._headers[config.auth_header] = config.auth_value

    def _body(self, to_e164: str, text: str, message_id: str) -> dict[str, Any]:
        config = self._config
        phone = local_phone(to_e164) if config.phone_format is PhoneFormat.LOCAL else to_e164
        body: dict[str, Any] = dict(config.static_fields)
        body[config.phone_field] = phone
        body[config.text_field] = text
        if config.brandname_field is not None and config.brandname is not None:
            body[config.brandname_field] = config.brandname
        if config.message_id_field is not None:
            body[config.message_id_field] = message_id
        return body

    async def send(self, to_e164: str, text: str, message_id: str) -> ProviderReceipt:
        config = self._config
        try:
            response = await post(
                self._client,
                self._wire,
                self._url,
                self._headers,
                msgspec.json.encode(self._body(to_e164, text, message_id)),
            )
        except httpx.TransportError as error:
            # Without a look-up, a lost answer is retried as before (sent twice at worst).
            can_look_up = config.lookup_url is not None
            raise transport_error(
                config.name, message_id, error, can_look_up=can_look_up
            ) from error
        if response.status_code >= 400:
            classify_status(
                response.status_code, response.text[:200], response.headers.get("Retry-After")
            )
        try:
            answer = msgspec.json.decode(response.content) if response.content else {}
        except msgspec.DecodeError:
            answer = {}
        if config.success_path is not None:
            code = lookup(answer, config.success_path)
            code_text = "" if code is None else str(code)
            if code_text in config.temporary_values:
                raise ProviderTemporaryError(f"{config.name} answered code {code_text}")
            if code_text not in config.success_values:
                raise ProviderPermanentError(f"{config.name} refused with code {code_text}")
        provider_id = lookup(answer, config.provider_id_path)
        # A gateway that keeps no id of its own reports on ours.
        return ProviderReceipt(
            provider_message_id=str(provider_id) if provider_id is not None else message_id,
            status="accepted",
        )

    async def find(self, attempt: SentAttempt) -> Finding:
        config = self._config
        if config.lookup_url is None:
            if config.deduplicates:
                return NotAtProvider(reason=f"{config.name} drops a repeat of our message id")
            return NoLookup()
        url = httpx.URL(config.lookup_url.replace("{message_id}", quote(attempt.message_id)))
        answer = await self._ask(url)
        if isinstance(answer, NotAtProvider | ProviderUnsure):
            return answer
        said = _word(lookup(answer, config.lookup_found_path))
        if said in config.lookup_missing_values:
            return NotAtProvider()
        if said not in config.lookup_found_values:
            return ProviderUnsure(reason=f"{config.name} look-up said {said!r}")
        provider_id = lookup(answer, config.lookup_id_path or config.provider_id_path)
        copy = ProviderCopy(
            provider_message_id=attempt.message_id if provider_id is None else str(provider_id),
            status=said,
        )
        return FoundAtProvider(copies=(copy,))

    async def _ask(self, url: httpx.URL) -> Any:
        """The gateway's JSON answer about one message; or what its failure means."""
        name = self._config.name
        try:
            response = await get(self._client, self._wire, url, self._headers)
        except httpx.TimeoutException:
            return ProviderUnsure(reason=f"{name} look-up timed out")
        except httpx.TransportError as error:
            return ProviderUnsure(reason=f"{name} unreachable: {error!r}")
        if response.status_code == 404:
            return NotAtProvider()
        if response.status_code >= 400:
            detail = response.text[:200]
            return ProviderUnsure(reason=f"{name} answered {response.status_code}: {detail}")
        try:
            return msgspec.json.decode(response.content)
        except msgspec.DecodeError:
            return ProviderUnsure(reason=f"unreadable {name} look-up answer")
