"""Real parts for every test: a nats-server on a free port, SQLite files and PostgreSQL schemas.

With HANDINHAND_TEST_POSTGRES_URL set, every `database` test also runs on PostgreSQL; an
unreachable server fails the run instead of skipping.
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

from shared.bus.server import NatsServer
from shared.settings import Database, Settings
from shared.store.schema import create_schema, drop_schema
from tests.support.services import settings_for

POSTGRES_URL = os.environ.get("HANDINHAND_TEST_POSTGRES_URL")
DATABASE_KINDS = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]

Test = TypeVar("Test", bound=Callable[..., Any])


def postgres_only(test: Test) -> Test:
    """Run `test` with the `database` fixture on PostgreSQL alone (behaviour SQLite cannot
    show, such as two writers at once). Without HANDINHAND_TEST_POSTGRES_URL it is deselected,
    and the run's header says so; CI sets the variable, so CI runs it."""
    on_postgres = pytest.mark.parametrize("database", ["postgres"], indirect=True)
    return cast("Test", pytest.mark.postgres_only(on_postgres(test)))


def pytest_report_header(config: pytest.Config) -> str:
    if POSTGRES_URL:
        return "databases: SQLite and PostgreSQL (HANDINHAND_TEST_POSTGRES_URL)"
    return (
        "databases: SQLite only; PostgreSQL-only tests are deselected "
        "(set HANDINHAND_TEST_POSTGRES_URL to run them, as CI does)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if POSTGRES_URL:
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        (dropped if item.get_closest_marker("postgres_only") else kept).append(item)
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
