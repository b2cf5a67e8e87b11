"""asyncpg connections of a PostgreSQL store, outside SQLAlchemy, for the hottest paths.

Checking a connection out of SQLAlchemy's async pool costs about 150 µs of Python, which is
most of a command that needs only two short statements. These connections see the same
database and search path as the store's engine and are opened on first use.
"""

from __future__ import annotations

import asyncio

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Nothing to reset on release: these connections only run the store's own statements,
    which change no session state (asyncpg still rolls back a transaction left open). The
    default reset costs a round trip per use."""


class DirectConnections:
    """A small asyncpg pool beside a store's engine (PostgreSQL only)."""

    def __init__(self, engine: AsyncEngine, size: int) -> None:
        self._engine = engine
        self._size = size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def pool(self) -> asyncpg.Pool:
        if self._pool is not None:
            return self._pool
        async with self._opening:
            if self._pool is None:
                self._pool = await self._open()
        return self._pool

    async def _open(self) -> asyncpg.Pool:
        # The engine knows the search path it was given (the service's schema); ask it once.
        async with self._engine.connect() as conn:
            search_path = await conn.scalar(sa.text("SELECT current_setting('search_path')"))
        url = self._engine.url.set(drivername="postgresql")
        return await asyncpg.create_pool(
            url.render_as_string(hide_password=False),
            min_size=1,
            max_size=self._size,
            server_settings={"search_path": str(search_path)},
            reset=_keep_session,
        )

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
