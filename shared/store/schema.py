"""Database objects outside the models: the service's schema and the commit doorbell trigger."""

from __future__ import annotations

import sqlalchemy as sa

from shared.store.database import create_engine
from shared.store.eventstore import COMMIT_CHANNEL

_NOTIFY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION notify_events_committed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{COMMIT_CHANNEL}', TG_TABLE_SCHEMA);
    RETURN NULL;
END $$
"""
_NOTIFY_TRIGGER = """
CREATE TRIGGER events_committed AFTER INSERT ON events
FOR EACH STATEMENT EXECUTE FUNCTION notify_events_committed()
"""


def install_commit_trigger(conn: sa.Connection) -> None:
    """PostgreSQL: NOTIFY the relay when events commit (delivered at commit, once per tx)."""
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql(_NOTIFY_FUNCTION)
    conn.exec_driver_sql("DROP TRIGGER IF EXISTS events_committed ON events")
    conn.exec_driver_sql(_NOTIFY_TRIGGER)


def drop_commit_trigger(conn: sa.Connection) -> None:
    if conn.dialect.name != "postgresql":
        return
    conn.exec_driver_sql("DROP TRIGGER IF EXISTS events_committed ON events")
    conn.exec_driver_sql("DROP FUNCTION IF EXISTS notify_events_committed()")


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
