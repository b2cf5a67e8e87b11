"""What the volunteers service plugs into the shared runtime: tables, read models, consumers."""

from __future__ import annotations

from services.volunteers.tables import metadata, store_tables
from shared.runtime import ServiceParts

PARTS = ServiceParts(name="volunteers", metadata=metadata, tables=store_tables)
