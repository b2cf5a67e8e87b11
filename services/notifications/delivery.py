"""The SMS channel of one app: the provider chosen by the settings, behind its rate limit, and
the sender that uses it."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from services.notifications.providers.base import RateLimitedProvider, SmsProvider, TokenBucket
from services.notifications.providers.console import ConsoleProvider
from services.notifications.providers.http_json import HttpJsonProvider
from services.notifications.providers.twilio import TwilioProvider
from services.notifications.settings import NotificationSettings
from shared.clock import Clock
from shared.keepalive import KeepAliveTransport

if TYPE_CHECKING:
    from services.notifications.sender import Sender


@dataclass
class SmsChannel:
    settings: NotificationSettings
    provider: SmsProvider
    console: ConsoleProvider | None = None
    client: httpx.AsyncClient | None = None
    senders: list[Sender] = field(default_factory=list)

    async def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.aclose()

    def wake(self) -> None:
        for sender in self.senders:
            sender.wake()


def build_channel(
    settings: NotificationSettings, clock: Clock, provider: SmsProvider | None = None
) -> SmsChannel:
    """The provider named by the settings (or one given by a test or benchmark)."""
    console: ConsoleProvider | None = None
    client: httpx.AsyncClient | None = None
    if provider is None:
        if settings.provider == "twilio" and settings.twilio is not None:
            client, wire = _client(settings)
            provider = TwilioProvider(client, settings.twilio, wire=wire)
        elif settings.provider == "http_json" and settings.http_json is not None:
            client, wire = _client(settings)
            provider = HttpJsonProvider(client, settings.http_json, wire=wire)
        else:
            console = ConsoleProvider(clock)
            provider = console
    if settings.rate > 0:
        provider = RateLimitedProvider(
            provider, TokenBucket(settings.rate, max(1.0, settings.rate))
        )
    return SmsChannel(settings=settings, provider=provider, console=console, client=client)


def _client(settings: NotificationSettings) -> tuple[httpx.AsyncClient, KeepAliveTransport]:
    """One client for the app's life: keep-alive connections, as many as calls run at once;
    and its transport, which the providers call directly."""
    wire = KeepAliveTransport(settings.concurrency)
    return httpx.AsyncClient(timeout=settings.provider_timeout, transport=wire), wire
