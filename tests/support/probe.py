"""A probe catalog and event store for testing the shared machinery without a service."""

from __future__ import annotations

from typing import Any, ClassVar

import sqlalchemy as sa

from shared.clock import Clock, SystemClock
from shared.events.base import Event
from shared.events.catalog import Catalog
from shared.settings import Database
from shared.store.database import create_engine
from shared.store.eventstore import EventStore
from shared.store.tables import add_store_tables
from shared.store.timers import add_timer_table


class ThingCounted(Event, frozen=True, kw_only=True):
    event_type: ClassVar[str] = "probe.thing_counted"
    schema_version: ClassVar[int] = 2
    count: int
    unit: str = "item"


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    # v1 called the field "n" and had no unit
    return {"count": data["n"], "unit": "item"}


class NoteWritten(Event, frozen=True, kw_only=True):
    event_type: ClassVar[str] = "probe.note_written"
    text: str


PROBE_CATALOG = Catalog(
    {"probe": (ThingCounted, NoteWritten)},
    {("probe.thing_counted", 1): _v1_to_v2},
)


# The probe's tables (definitions only; each test creates them in its own database).
PROBE_METADATA = sa.MetaData()
PROBE_TABLES = add_store_tables(PROBE_METADATA)
PROBE_TIMERS = add_timer_table(PROBE_METADATA)


async def make_store(
    database: Database, *, source: str = "probe", clock: Clock | None = None
) -> EventStore:
    engine = create_engine(database.url, database.schema)
    async with engine.begin() as conn:
        await conn.run_sync(PROBE_METADATA.create_all)
    return EventStore(engine, PROBE_TABLES, PROBE_CATALOG, source, clock or SystemClock())
