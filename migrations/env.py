"""One Alembic environment for the three services; each service is a branch with its own
version table in its own database (SQLite file or PostgreSQL schema)."""

from __future__ import annotations

import asyncio
import importlib

import sqlalchemy as sa
from alembic import context

from shared.store.database import create_engine

config = context.config
service: str = config.attributes["service"]
url: str = config.attributes["url"]
schema: str = config.attributes["schema"]
target_metadata = importlib.import_module(f"services.{service}.tables").metadata


def run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=f"alembic_version_{service}",
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async() -> None:
    engine = create_engine(url, schema, pool_size=1)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run)
            await connection.commit()
    finally:
        await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    asyncio.run(run_async())
