from __future__ import annotations

import inspect
from datetime import UTC, datetime

import msgspec

from services.scheduler.domain.sessions import decide_schedule_session
from shared.events import build_catalog, scheduler
from shared.events.base import Event
from shared.events.catalog import encode
from tests.unit.scheduler.builders import NOW, SCOPE, schedule_command


def test_the_catalog_lists_every_scheduler_event_once_with_a_past_tense_wire_name() -> None:
    defined = {
        cls
        for _, cls in inspect.getmembers(scheduler, inspect.isclass)
        if issubclass(cls, Event) and cls is not Event
    }
    assert set(scheduler.EVENTS) == defined
    names = [cls.event_type for cls in scheduler.EVENTS]
    assert len(names) == len(set(names))
    assert all(name == name.lower() and "." in name for name in names)


def test_a_scheduled_session_survives_the_wire() -> None:
    catalog = build_catalog()
    [event] = decide_schedule_session(None, schedule_command(), now=NOW, scope=SCOPE)
    decoded = catalog.decode(event.event_type, event.schema_version, encode(event))
    assert decoded == event
    body = msgspec.json.decode(encode(event))
    assert body["when"]["starts_at"] == "2026-03-07T01:00:00Z"
    assert body["when"]["start_local"] == "08:00:00"
    assert body["commune_code"] == "15835"
    assert datetime.fromisoformat(body["scheduled_at"]) == NOW.astimezone(UTC)
