"""The one column type for a moment in time: aware UTC datetimes in and out, on both databases.

PostgreSQL keeps `timestamp with time zone` and asyncpg hands back aware UTC; SQLite keeps
text without a zone and hands back naive datetimes. Every moment we store is UTC, so a naive
value read back is UTC, and an aware one is turned to UTC. A naive value on the way in is a
bug (whose time zone?) and is refused rather than guessed at. The DDL is that of
`DateTime(timezone=True)`: migrations/env.py compares the two as the same type.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import Dialect


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """`DateTime(timezone=True)` that reads and writes only aware UTC datetimes."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"a naive datetime cannot be stored (its time zone is unknown): {value}"
            )
        return value if value.tzinfo is UTC else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:
            return value
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
