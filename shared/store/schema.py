"""The PostgreSQL schema each service keeps its tables in."""

from __future__ import annotations

import sqlalchemy as sa

from shared.store.database import create_engine


async def create_schema(url: str, schema: str) -> None:
    """PostgreSQL: make sure the service's schema exists (SQLite: the file is the schema)."""
    if not url.startswith("postgresql"):
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
