"""What the scheduler service plugs into the shared runtime: tables, read models, consumers."""

from __future__ import annotations

from services.scheduler.tables import metadata, store_tables
from shared.runtime import ServiceParts

PARTS = ServiceParts(name="scheduler", metadata=metadata, tables=store_tables)
