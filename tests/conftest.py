"""Real parts for every test: a nats-server on a free port, SQLite files and PostgreSQL schemas.

With HANDINHAND_TEST_POSTGRES_URL set, every `database` test also runs on PostgreSQL; an
unreachable server fails the run instead of skipping. The PostgreSQL fault drills run a server
of their own (bench/pgserver.py): where this machine has no server binaries they are
deselected, and the run's header says so. The browser tests (tests/browser) need Chromium:
where none is found they are deselected, and the header says so too.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import nats
import pytest
from nats.aio.client import Client

from bench.pgserver import server_binaries
from shared.bus.server import PORTS_ENV, NatsServer
from shared.settings import Database, Settings
from shared.store.schema import create_schema, drop_schema
from tests.browser.chromium import chromium_path
from tests.support.services import settings_for

POSTGRES_URL = os.environ.get("HANDINHAND_TEST_POSTGRES_URL")
DATABASE_KINDS = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]
POSTGRES_BINARIES = server_binaries()
CHROMIUM = chromium_path()

Test = TypeVar("Test", bound=Callable[..., Any])


def _own_ports() -> None:
    """Each xdist worker picks its free ports from a block of its own, so two workers never
    hand out the same port between its probe and the server's bind (shared.bus.server)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or PORTS_ENV in os.environ:
        return
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    low, high = 10000, 32000
    block = (high - low) // max(count, 1)
    start = low + int(worker[2:]) * block
    os.environ[PORTS_ENV] = f"{start}-{start + block}"


_own_ports()

# A fault drill's row (tests/drills), carried in its test's report; printed at the end.
DRILL_ROW = "drill row"
_drill_rows: list[str] = []


def postgres_only(test: Test) -> Test:
    """Run `test` with the `database` fixture on PostgreSQL alone (behaviour SQLite cannot
    show, such as two writers at once). Without HANDINHAND_TEST_POSTGRES_URL it is deselected,
    and the run's header says so; CI sets the variable, so CI runs it."""
    on_postgres = pytest.mark.parametrize("database", ["postgres"], indirect=True)
    return cast("Test", pytest.mark.postgres_only(on_postgres(test)))


def pytest_report_header(config: pytest.Config) -> list[str]:
    if POSTGRES_URL:
        databases = "databases: SQLite and PostgreSQL (HANDINHAND_TEST_POSTGRES_URL)"
    else:
        databases = (
            "databases: SQLite only; PostgreSQL-only tests are deselected "
            "(set HANDINHAND_TEST_POSTGRES_URL to run them, as CI does)"
        )
    if POSTGRES_BINARIES is not None:
        drills = f"PostgreSQL drills: a server of their own from {POSTGRES_BINARIES}"
    else:
        drills = (
            "PostgreSQL drills: deselected, no PostgreSQL server binaries here "
            "(initdb and postgres on PATH or in /usr/lib/postgresql/*/bin)"
        )
    if CHROMIUM is not None:
        browser = f"browser tests: Chromium at {CHROMIUM}"
    else:
        browser = (
            "browser tests: deselected, no Chromium here "
            "(apt-get install chromium, or set HANDINHAND_CHROMIUM to a Chromium binary)"
        )
    return [databases, drills, browser]


def _cannot_run(item: pytest.Item) -> bool:
    """Tests this machine or run lacks the PostgreSQL or the Chromium for: deselected, never
    skipped."""
    if not POSTGRES_URL and item.get_closest_marker("postgres_only"):
        return True
    if CHROMIUM is None and item.get_closest_marker("browser"):
        return True
    return POSTGRES_BINARIES is None and item.get_closest_marker("postgres_server") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        (dropped if _cannot_run(item) else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def own_nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server for this test alone (it may stop and start it): nothing leaks between tests."""
    server = NatsServer(tmp_path / "nats")
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def nc(own_nats_server: NatsServer) -> AsyncIterator[Client]:
    """A client of this test's own nats-server (the one `settings` points the services at)."""
    client = await nats.connect(own_nats_server.url)
    yield client
    await client.close()


@pytest.fixture(params=DATABASE_KINDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh, empty database: a SQLite file, or a throwaway PostgreSQL schema."""
    if request.param == "sqlite":
        yield Database(url=f"sqlite:///{tmp_path / 'test.db'}", schema="main")
        return
    assert POSTGRES_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    await create_schema(POSTGRES_URL, schema)  # fails loudly when PostgreSQL is unreachable
    yield Database(url=POSTGRES_URL, schema=schema)
    await drop_schema(POSTGRES_URL, schema)


@pytest.fixture
async def settings(
    database: Database, own_nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[Settings]:
    """Settings for running services: every service on this test's database kind, and a
    nats-server of this test's own (durable consumers and streams never leak between tests)."""
    made = settings_for(database, own_nats_server.url, tmp_path)
    yield made
    for db in made.databases.values():
        if db.is_postgres:
            await drop_schema(db.url, db.schema)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call":
        _drill_rows.extend(str(value) for key, value in report.user_properties if key == DRILL_ROW)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _drill_rows:
        from bench.drill import header

        terminalreporter.section("fault drills")
        for line in [header(), *sorted(_drill_rows)]:
            terminalreporter.write_line(line)
