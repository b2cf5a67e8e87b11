"""A generic JSON-over-HTTP provider for Vietnamese SMS brandname gateways.

Gateways differ only in field names, where they put their id and how they say "ok", so all of
that is configuration: the URL, one auth header, which JSON field gets the phone (E.164 or local
0xxxxxxxxx), the text, the brandname and our message id, and dotted paths into the answer.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import httpx
import msgspec

from services.notifications.providers.base import (
    ProviderPermanentError,
    ProviderReceipt,
    ProviderTemporaryError,
    classify_status,
)
from services.notifications.providers.keepalive import post


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


def local_phone(to_e164: str) -> str:
    """+84912345678 -> 0912345678, the form most Vietnamese gateways expect."""
    if not to_e164.startswith("+84") or not to_e164[3:].isdigit():
        raise ProviderPermanentError(f"not a Vietnamese E.164 number: {to_e164[:5]}...")
    return "0" + to_e164[3:]


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
        except httpx.TimeoutException as error:
            raise ProviderTemporaryError(f"{config.name} timed out for {message_id}") from error
        except httpx.TransportError as error:
            raise ProviderTemporaryError(f"{config.name} unreachable: {error!r}") from error
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
