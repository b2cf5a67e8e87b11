"""Every moment is stored and read as aware UTC, whatever the database hands back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import StatementError

from shared.settings import Database
from shared.store.database import create_engine
from shared.store.utc import UtcDateTime

HANOI = timezone(timedelta(hours=7))
NOON_UTC = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
NAIVE_NOON = NOON_UTC.replace(tzinfo=None)  # as SQLite hands it back


def moments() -> tuple[sa.MetaData, sa.Table]:
    metadata = sa.MetaData()
    table = sa.Table(
        "moments",
        metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", UtcDateTime(), nullable=True),
    )
    return metadata, table


async def test_both_databases_give_back_aware_utc_for_what_was_stored(database: Database) -> None:
    metadata, table = moments()
    engine = create_engine(database.url, database.schema)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(
                table.insert(),
                [
                    {"id": 1, "at": NOON_UTC},
                    {"id": 2, "at": NOON_UTC.astimezone(HANOI)},  # 19:00 in Hà Nội
                    {"id": 3, "at": None},
                ],
            )
            rows = {row.id: row.at for row in await conn.execute(sa.select(table))}
            later = await conn.scalar(sa.select(sa.func.count()).where(table.c.at >= NOON_UTC))
    finally:
        await engine.dispose()

    assert rows == {1: NOON_UTC, 2: NOON_UTC, 3: None}
    assert rows[1] is not None
    assert rows[1].tzinfo is UTC
    assert rows[2] is not None
    assert rows[2].tzinfo is UTC
    assert later == 2


def test_a_naive_datetime_is_refused_on_the_way_in() -> None:
    with pytest.raises(ValueError, match="naive"):
        UtcDateTime().process_bind_param(NAIVE_NOON, sa.create_engine("sqlite://").dialect)


async def test_a_naive_datetime_in_a_statement_is_refused_before_it_reaches_the_database(
    database: Database,
) -> None:
    metadata, table = moments()
    engine = create_engine(database.url, database.schema)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            with pytest.raises(StatementError, match="naive"):
                await conn.execute(table.insert(), {"id": 1, "at": NAIVE_NOON})
    finally:
        await engine.dispose()


def test_a_naive_value_read_back_is_utc_and_an_aware_one_is_turned_to_utc() -> None:
    dialect = sa.create_engine("sqlite://").dialect
    column = UtcDateTime()
    assert column.process_result_value(NAIVE_NOON, dialect) == NOON_UTC
    from_hanoi = column.process_result_value(NOON_UTC.astimezone(HANOI), dialect)
    assert from_hanoi == NOON_UTC
    assert from_hanoi is not None
    assert from_hanoi.tzinfo is UTC
