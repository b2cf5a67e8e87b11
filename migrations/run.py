"""Run or check the migrations of one service against its database."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

from shared.settings import SERVICES, Database
from shared.store.schema import create_schema

HERE = Path(__file__).parent


def alembic_config(service: str, database: Database, **attributes: Any) -> Config:
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    config = Config()
    config.set_main_option("script_location", str(HERE))
    # A service's database only ever holds its own branch, so Alembic sees only that branch.
    config.set_main_option("version_locations", str(HERE / "versions" / service))
    config.set_main_option("path_separator", "space")
    config.attributes.update(
        service=service, url=database.url, schema=database.schema, **attributes
    )
    return config


def _upgrade(service: str, database: Database) -> None:
    command.upgrade(alembic_config(service, database), f"{service}@head")


async def migrate(service: str, database: Database) -> None:
    """Bring one service's database to its newest revision (creating the schema if needed)."""
    await create_schema(database.url, database.schema)
    await asyncio.to_thread(_upgrade, service, database)
