"""`handinhand bench province` at a tiny scale: the weekend planned through the running
service texts every proposal exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.province import run
from shared.settings import Database
from tests.e2e.conftest import drop_service_schemas

pytestmark = pytest.mark.e2e


async def test_every_proposal_of_a_planned_weekend_is_texted_exactly_once(
    database: Database, tmp_path: Path
) -> None:
    try:
        result = await run(tmp_path, database, volunteers=30, sessions=10, plan_delay=1.0)
    finally:
        await drop_service_schemas(database)
    assert result["slots"] == 10
    assert result["proposals"] > 0
    assert result["sms"] == result["proposals"]
    assert result["missing_sms"] == 0
    assert result["unexpected_sms"] == 0
