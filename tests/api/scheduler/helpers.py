"""Bodies for the scheduler's HTTP tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from services.scheduler.tables import store_tables
from services.scheduler.views.projection import project
from shared.store.database import create_engine
from shared.store.eventstore import EventStore

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 09:00 in Vietnam
THANH_HOA = "38"
THIEU_TRUNG = "15835"
THIEU_HOA = "15772"
HOAN_KIEM = "00070"  # Hà Nội

Tokens = Callable[..., dict[str, str]]

SATURDAY = "2026-03-07"
SUNDAY = "2026-03-08"


def session_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "commune_code": THIEU_TRUNG,
        "venue": {"name": "Nhà văn hóa thôn 2", "address": "Thôn 2, xã Thiệu Trung"},
        "local_date": SATURDAY,
        "start_local": "08:00:00",
        "end_local": "11:00:00",
        "topics": ["vneid_activation", "online_public_services"],
        "capacity": 2,
        "volunteers_needed": 2,
    }
    return body | changes


def help_body(phone: str = "0912 345 678", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resident_name": "Lê Thị Hoa",
        "phone": phone,
        "commune_code": THIEU_TRUNG,
        "topics": ["vneid_activation"],
        "birth_year": 1950,
        "consent_given": True,
        "sensitive_consent_given": True,
    }
    return body | changes


@asynccontextmanager
async def own_store(client: Any) -> AsyncIterator[EventStore]:
    """The scheduler's store opened on the test's own event loop (the app runs on another)."""
    runtime = client.app.state.runtime
    database = runtime.settings.database("scheduler")
    engine = create_engine(database.url, database.schema, pool_size=2)
    try:
        store = EventStore(
            engine, store_tables, runtime.catalog, "scheduler", runtime.clock, project
        )
        store.personal = runtime.store.personal  # opens and seals as the app's store does
        yield store
    finally:
        await engine.dispose()


async def event_types(client: Any) -> list[str]:
    """Every event type in the scheduler's log, in order."""
    async with own_store(client) as store, store.engine.connect() as conn:
        events = store.tables.events
        rows = await conn.execute(sa.select(events.c.event_type).order_by(events.c.position))
        return [row.event_type for row in rows]


def problem_fields(response: Any) -> list[str]:
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json"), body
    return [error["field"] for error in body.get("errors", [])] or [body.get("field")]
