"""The default provider for `handinhand up`: writes each SMS to the log and keeps it to read.

Asked about an interrupted send, it answers from the messages it keeps: found, or not found.
It sends nothing, so "not found" after a restart (its memory is gone) only logs the SMS again.
"""

from __future__ import annotations

import logging
from collections import deque
from datetime import datetime

import msgspec

from services.notifications.domain.interrupted import (
    Finding,
    FoundAtProvider,
    NotAtProvider,
    ProviderCopy,
)
from services.notifications.providers.base import ProviderReceipt, SentAttempt
from shared.clock import Clock
from shared.phones import mask_phone

log = logging.getLogger(__name__)


class ConsoleMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One SMS as the console provider kept it, for an endpoint to show."""

    provider_message_id: str
    message_id: str
    to: str
    text: str
    sent_at: datetime


class ConsoleProvider:
    """Sends nothing: logs the SMS with the number masked and keeps the latest ones in memory."""

    name = "console"

    def __init__(self, clock: Clock, keep: int = 1000) -> None:
        self._clock = clock
        self._messages: deque[ConsoleMessage] = deque(maxlen=keep)
        self._count = 0

    async def send(self, to_e164: str, text: str, message_id: str) -> ProviderReceipt:
        self._count += 1
        provider_message_id = f"console-{self._count}"
        self._messages.append(
            ConsoleMessage(
                provider_message_id=provider_message_id,
                message_id=message_id,
                to=to_e164,
                text=text,
                sent_at=self._clock.now(),
            )
        )
        log.info("sms to %s (%s): %s", mask_phone(to_e164), message_id, text)
        return ProviderReceipt(provider_message_id=provider_message_id, status="delivered")

    async def find(self, attempt: SentAttempt) -> Finding:
        copies = tuple(
            ProviderCopy(provider_message_id=kept.provider_message_id, status="delivered")
            for kept in reversed(self._messages)
            if kept.message_id == attempt.message_id
        )
        return FoundAtProvider(copies=copies) if copies else NotAtProvider()

    def messages(self) -> list[ConsoleMessage]:
        """The kept messages, oldest first."""
        return list(self._messages)
