from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench.drill import header, row
from bench.drill_verdict import Verdict
from bench.pgserver import server_binaries

_ROWS = pytest.StashKey[list[str]]()


@pytest.fixture
def postgres_binaries() -> Path:
    """Where initdb and postgres are; tests marked `postgres_server` are deselected when
    this machine has none (tests/conftest.py), so here they are always found."""
    found = server_binaries()
    assert found is not None
    return found


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[Verdict], None]:
    """Note a drill's row for the table printed at the end of the run, passed or failed."""
    rows = request.config.stash.setdefault(_ROWS, [])
    return lambda verdict: rows.append(f"{row(verdict)}  {verdict.fault}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    rows = terminalreporter.config.stash.get(_ROWS, [])
    if rows:
        terminalreporter.section("fault drills")
        for line in [header(), *rows]:
            terminalreporter.write_line(line)
