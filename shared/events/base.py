"""What every event is: a frozen msgspec Struct with a stable wire name and a schema version."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

import msgspec


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """A fact that happened in one stream; subclasses name it for the wire, never by module path."""

    event_type: ClassVar[str]
    # A breaking change bumps this and registers an upcaster from the old version.
    schema_version: ClassVar[int] = 1


class RecordedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event as the store keeps it and the bus carries it: the fact plus where and why."""

    event_id: UUID
    source: str
    stream_id: str
    stream_version: int
    event: Event
    recorded_at: datetime
    correlation_id: UUID
    causation_id: UUID | None = None


class Cause(msgspec.Struct, frozen=True, kw_only=True):
    """Why events are being appended: the request or event that led to them.

    `id_seed` makes event ids deterministic (an Idempotency-Key, or the id of the event a
    consumer is handling), so that doing the same work twice appends nothing new.
    """

    correlation_id: UUID
    causation_id: UUID | None = None
    id_seed: str | None = None
