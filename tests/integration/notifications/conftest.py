from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bench.gateway import Gateway


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    server = Gateway()
    await server.start()
    yield server
    await server.stop()
