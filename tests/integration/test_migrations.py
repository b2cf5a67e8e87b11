"""The migrations build exactly what the models describe, on every database the run covers."""

from __future__ import annotations

import importlib

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from migrations.run import alembic_config, migrate
from shared.settings import SERVICES, Database
from shared.store.database import create_engine


@pytest.mark.parametrize("service", SERVICES)
async def test_migrated_schema_matches_the_models(service: str, database: Database) -> None:
    await migrate(service, database)
    metadata = importlib.import_module(f"services.{service}.tables").metadata
    engine = create_engine(database.url, database.schema)

    def differences(connection: sa.Connection) -> list[object]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "version_table": f"alembic_version_{service}"}
        )
        return list(compare_metadata(context, metadata))

    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(differences)
    finally:
        await engine.dispose()

    assert diff == []


async def test_migrating_twice_changes_nothing(database: Database) -> None:
    await migrate("scheduler", database)
    await migrate("scheduler", database)

    engine = create_engine(database.url, database.schema)
    try:
        async with engine.connect() as conn:
            version = await conn.scalar(
                sa.text("SELECT version_num FROM alembic_version_scheduler")
            )
    finally:
        await engine.dispose()
    head = ScriptDirectory.from_config(alembic_config("scheduler", database)).get_current_head()
    assert version == head
