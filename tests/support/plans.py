"""What PostgreSQL did to answer a statement: the statements an engine ran, and how many table
rows each one read (returned or filtered out, in every scan), from EXPLAIN ANALYZE."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

Ran = list[tuple[str, Any]]


@contextmanager
def statements_run(engine: AsyncEngine) -> Iterator[Ran]:
    """The SQL (and parameters, as the driver got them) of every statement run meanwhile."""
    ran: Ran = []

    def note(*args: Any) -> None:
        _conn, _cursor, statement, parameters, _context, _many = args
        ran.append((statement, parameters))

    sa.event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        yield ran
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", note)


async def rows_read(engine: AsyncEngine, statement: str, parameters: Any) -> int:
    """Run `statement` again under EXPLAIN ANALYZE: the rows its scans of tables and indexes
    went through, over all their loops."""
    async with engine.connect() as conn:
        result = await conn.exec_driver_sql(
            f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters
        )
        explained = result.scalar_one()
    plan = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
    return _rows_read(plan)


def _rows_read(node: dict[str, Any]) -> int:
    read = 0
    if "Relation Name" in node or "Index Name" in node:
        per_loop = (
            node.get("Actual Rows", 0)
            + node.get("Rows Removed by Filter", 0)
            + node.get("Rows Removed by Index Recheck", 0)
        )
        read = int(per_loop * node.get("Actual Loops", 1))
    return read + sum(_rows_read(child) for child in node.get("Plans", []))
