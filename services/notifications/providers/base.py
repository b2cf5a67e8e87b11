"""The port every SMS provider implements, its errors, and a per-provider rate limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

import httpx
import msgspec

from services.notifications.domain.interrupted import Finding


class ProviderReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """The provider took the SMS: its own id (for delivery receipts) and first status."""

    provider_message_id: str
    status: str


class ProviderError(Exception):
    """A provider did not take the SMS."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class ProviderTemporaryError(ProviderError):
    """Worth retrying later: timeouts, 5xx, 429 (with the provider's wait, if it gave one)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class ProviderPermanentError(ProviderError):
    """Retrying cannot help: an invalid number, a refused text, a rejected request."""


class ProviderOutcomeUnknownError(ProviderTemporaryError):
    """The request may have reached the provider but no readable answer came back (read
    timeout, connection lost mid-answer): only asking the provider later can tell."""


def transport_error(
    provider: str, message_id: str, error: httpx.TransportError, *, can_look_up: bool
) -> ProviderTemporaryError:
    """What a failed HTTP exchange means: not sent (the request never left: retry), or not
    known (it left, no answer came: ask the provider, when it can be asked, else retry)."""
    if can_look_up and isinstance(error, httpx.ReadTimeout):
        return ProviderOutcomeUnknownError(f"{provider} timed out answering for {message_id}")
    if can_look_up and isinstance(error, httpx.ReadError | httpx.RemoteProtocolError):
        return ProviderOutcomeUnknownError(
            f"{provider} lost its answer for {message_id}: {error!r}"
        )
    if isinstance(error, httpx.TimeoutException):
        return ProviderTemporaryError(f"{provider} timed out for {message_id}")
    return ProviderTemporaryError(f"{provider} unreachable: {error!r}")


class SentAttempt(msgspec.Struct, frozen=True, kw_only=True):
    """An SMS we may have handed to the provider, and when that attempt began."""

    message_id: str
    to_e164: str
    text: str
    started_at: datetime


class SmsProvider(Protocol):
    """Hands one SMS to a network, and says afterwards whether it has one we may have sent;
    `message_id` is ours (a gateway may deduplicate on it or be asked by it)."""

    name: str

    async def send(self, to_e164: str, text: str, message_id: str) -> ProviderReceipt: ...

    async def find(self, attempt: SentAttempt) -> Finding:
        """Found (its id, status), not found (resending is safe), or unsure (ask later);
        never raises for the provider's own failures."""
        ...


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header given in seconds (the HTTP-date form is ignored)."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def classify_status(status_code: int, detail: str, retry_after: str | None = None) -> None:
    """Raise the right provider error for an HTTP status that is not a success."""
    if status_code in (408, 429) or status_code >= 500:
        raise ProviderTemporaryError(
            f"provider answered {status_code}: {detail}",
            status_code=status_code,
            retry_after=retry_after_seconds(retry_after),
        )
    if status_code >= 400:
        raise ProviderPermanentError(
            f"provider refused with {status_code}: {detail}", status_code=status_code
        )


class TokenBucket:
    """At most `rate` messages per second on average, with bursts up to `burst`."""

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def try_acquire(self) -> bool:
        """Take a token if one is there, without waiting."""
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    async def acquire(self) -> None:
        """Wait until a token is there and take it; waiters are served in turn."""
        async with self._lock:
            while not self.try_acquire():
                await self._sleep((1 - self._tokens) / self.rate)


class RateLimitedProvider:
    """A provider behind a token bucket, so its messages-per-second limit is respected."""

    def __init__(self, provider: SmsProvider, bucket: TokenBucket) -> None:
        self._provider = provider
        self._bucket = bucket
        self.name = provider.name

    async def send(self, to_e164: str, text: str, message_id: str) -> ProviderReceipt:
        await self._bucket.acquire()
        return await self._provider.send(to_e164, text, message_id)

    async def find(self, attempt: SentAttempt) -> Finding:
        # A look-up is no SMS: it does not spend the messages-per-second budget.
        return await self._provider.find(attempt)
