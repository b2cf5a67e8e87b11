from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.bus.server import NatsServer
from shared.settings import Database, Settings
from shared.store.schema import drop_schema
from tests.support.services import settings_for


@pytest.fixture
async def settings(
    database: Database, nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[Settings]:
    made = settings_for(database, nats_server.url, tmp_path)
    yield made
    for db in made.databases.values():
        if db.is_postgres:
            await drop_schema(db.url, db.schema)
