from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.system import System
from shared.settings import SERVICES, Database
from shared.store.schema import drop_schema
from tests.support.services import SECRET


@pytest.fixture
async def system(database: Database, tmp_path: Path) -> AsyncIterator[System]:
    """The whole system, one process per service, on this run's database kind."""
    running = System(tmp_path, database, secret=SECRET)
    await running.start_all()
    yield running
    await running.stop()
    await drop_service_schemas(database)


@pytest.fixture
async def doubled(database: Database, tmp_path: Path) -> AsyncIterator[System]:
    """Two instances of every service sharing the databases and NATS."""
    running = System(tmp_path, database, instances=2, secret=SECRET)
    await running.start_all()
    yield running
    await running.stop()
    await drop_service_schemas(database)


async def drop_service_schemas(database: Database) -> None:
    if database.is_postgres:
        for service in SERVICES:
            await drop_schema(database.url, f"{database.schema}_{service}")
