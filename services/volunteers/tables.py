"""The volunteers service's tables: the shared event store tables and its read models."""

from __future__ import annotations

import sqlalchemy as sa

from shared.store.tables import add_store_tables

metadata = sa.MetaData()
store_tables = add_store_tables(metadata)
