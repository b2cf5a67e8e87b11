from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.settings import Database
from shared.store.eventstore import EventStore
from tests.support.probe import make_store


@pytest.fixture
async def store(database: Database) -> AsyncIterator[EventStore]:
    made = await make_store(database)
    yield made
    await made.close()
