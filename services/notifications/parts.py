"""What the notifications service plugs into the shared runtime: tables, read models, consumers."""

from __future__ import annotations

from services.notifications.tables import metadata, store_tables
from shared.runtime import ServiceParts

PARTS = ServiceParts(name="notifications", metadata=metadata, tables=store_tables)
