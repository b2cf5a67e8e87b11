from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench.drill import row
from bench.drill_verdict import Verdict
from bench.pgserver import server_binaries
from tests.conftest import DRILL_ROW


@pytest.fixture
def postgres_binaries() -> Path:
    """Where initdb and postgres are; tests marked `postgres_server` are deselected when
    this machine has none (tests/conftest.py), so here they are always found."""
    found = server_binaries()
    assert found is not None
    return found


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[Verdict], None]:
    """Note a drill's row for the table printed at the end of the run, passed or failed. It
    travels with the test's report (from an xdist worker too); tests/conftest.py prints it."""
    return lambda verdict: request.node.user_properties.append(
        (DRILL_ROW, f"{row(verdict)}  {verdict.fault}")
    )
