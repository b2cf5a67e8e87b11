"""Identifiers: UUIDv7 for events (time-ordered), UUIDv5 where a retry must get the same id."""

from __future__ import annotations

import os
import time
import uuid

# Namespace for ids derived from an Idempotency-Key or a cause (fixed forever: changing it
# would give a retried request new ids).
DERIVED_NAMESPACE = uuid.UUID("6f1c3f4e-2b1a-4d8e-9c55-3b0d2a7e9f10")


def uuid7() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def derived_id(*parts: str) -> uuid.UUID:
    """The same parts always give the same id, so a retried request or event appends nothing new."""
    return uuid.uuid5(DERIVED_NAMESPACE, "\x1f".join(parts))
