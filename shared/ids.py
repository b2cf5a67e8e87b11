"""Identifiers: UUIDv7 for events (time-ordered), UUIDv5 where a retry must get the same id,
and UUIDv8 for such an id that keeps the time of the time-ordered id it derives from."""

from __future__ import annotations

import hashlib
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


def derived_id_after(origin: uuid.UUID | None, *parts: str) -> uuid.UUID:
    """Like `derived_id`, but in the time order of `origin` when it has one (a UUIDv7, or an id
    made by this function): its 48-bit milliseconds, then 74 bits of the parts' hash
    (UUIDv8, RFC 9562). Ids derived from a flow's events then sort with those events, so an
    index of them grows at its end, where an index of random ids dirties a page for every row
    written. Only for ids never derived again to find what an older version of this code
    made: the same parts give another id than `derived_id` does."""
    if origin is None or origin.version not in (7, 8):
        return derived_id(*parts)
    name = DERIVED_NAMESPACE.bytes + "\x1f".join(parts).encode()
    digest = hashlib.sha1(name, usedforsecurity=False).digest()
    hashed = int.from_bytes(digest[:10], "big")
    value = (origin.int >> 80) << 80
    value |= 0x8 << 76
    value |= ((hashed >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= hashed & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def time_ordered(text: str | None) -> uuid.UUID | None:
    """`text` as a time-ordered id (UUIDv7 or v8), or None when it is not one."""
    if text is None or len(text) != 36:
        return None
    try:
        found = uuid.UUID(text)
    except ValueError:
        return None
    return found if found.version in (7, 8) else None
