"""The event catalog: every event the services publish, one module per publishing service."""

from __future__ import annotations

from shared.events import console, notifications, scheduler, volunteers
from shared.events.base import Cause, Event, RecordedEvent
from shared.events.catalog import Catalog, EventDecodeError, UnknownEventError, Upcaster


def build_catalog() -> Catalog:
    """The catalog of this code base; each module lists its events and upcasters."""
    upcasters: dict[tuple[str, int], Upcaster] = {}
    for module in (scheduler, volunteers, notifications, console):
        upcasters.update(getattr(module, "UPCASTERS", {}))
    return Catalog(
        {
            "scheduler": scheduler.EVENTS,
            "volunteers": volunteers.EVENTS,
            "notifications": notifications.EVENTS,
            "console": console.EVENTS,
        },
        upcasters,
    )


__all__ = [
    "Catalog",
    "Cause",
    "Event",
    "EventDecodeError",
    "RecordedEvent",
    "UnknownEventError",
    "Upcaster",
    "build_catalog",
]
