"""The PostgreSQL schema each service keeps its tables in."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from shared.store.database import create_engine


async def create_schema(url: str, schema: str) -> None:
    """Make sure the service's schema exists: a PostgreSQL schema, or the folder of the
    SQLite file (the file itself is the schema)."""
    if not url.startswith("postgresql"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        return
    engine = create_engine(url, "public", pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    finally:
        await engine.dispose()


async def drop_schema(url: str, schema: str) -> None:
    if not url.startswith("postgresql"):
        return
    engine = create_engine(url, "public", pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()
