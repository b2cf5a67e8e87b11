"""Whether each resident of a cancelled session was told, read from the SMS notifications
keeps for the session: its cancellation SMS to that resident, matched by the masked number
(notifications never gives the console the full one)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Protocol

from shared.phones import mask_phone

CANCELLATION = "resident_cancelled"


class Sent(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def recipient_phone(self) -> str: ...
    @property
    def status(self) -> str: ...


def cancellation_told(phones: Iterable[str], messages: Iterable[Sent]) -> dict[str, str | None]:
    """Each booked resident's phone and where their cancellation SMS stands (queued, sent,
    delivered, failed, suppressed), or None when it is not known: not queued yet, or two of
    the residents share the masked number, so that the SMS page must say which is whose."""
    phones = list(phones)
    masks = {phone: mask_phone(phone) for phone in phones}
    shared = {mask for mask, count in Counter(masks.values()).items() if count > 1}
    latest: dict[str, str] = {}
    for message in messages:  # in the order they were queued: a later one says more
        if message.kind == CANCELLATION:
            latest[message.recipient_phone] = message.status
    return {phone: None if masks[phone] in shared else latest.get(masks[phone]) for phone in phones}
