"""The migrations build exactly what the models describe, on every database the run covers."""

from __future__ import annotations

import asyncio
import importlib
from datetime import UTC, datetime, time

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from migrations.run import alembic_config, migrate
from shared.settings import SERVICES, Database
from shared.store.database import create_engine
from shared.store.schema import create_schema, drop_schema


@pytest.mark.parametrize("service", SERVICES)
async def test_migrated_schema_matches_the_models(service: str, database: Database) -> None:
    await migrate(service, database)
    metadata = importlib.import_module(f"services.{service}.tables").metadata
    engine = create_engine(database.url, database.schema)

    def differences(connection: sa.Connection) -> list[object]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "version_table": f"alembic_version_{service}"}
        )
        return list(compare_metadata(context, metadata))

    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(differences)
    finally:
        await engine.dispose()

    assert diff == []


async def test_migrating_twice_changes_nothing(database: Database) -> None:
    await migrate("scheduler", database)
    await migrate("scheduler", database)

    engine = create_engine(database.url, database.schema)
    try:
        async with engine.connect() as conn:
            version = await conn.scalar(
                sa.text("SELECT version_num FROM alembic_version_scheduler")
            )
    finally:
        await engine.dispose()
    head = ScriptDirectory.from_config(alembic_config("scheduler", database)).get_current_head()
    assert version == head


async def test_read_models_written_before_iso_language_codes_are_rewritten(
    database: Database,
) -> None:
    from services.scheduler.tables import sessions
    from services.volunteers.tables import volunteers

    # Each service in a database of its own, as deployed.
    if database.is_postgres:
        scheduler_db = Database(url=database.url, schema=f"{database.schema}_s")
    else:
        scheduler_db = Database(url=database.url.replace(".db", "-scheduler.db"), schema="main")

    def to(service: str, where: Database, revision: str) -> None:
        command.upgrade(alembic_config(service, where), revision)

    for where in (database, scheduler_db):
        await create_schema(where.url, where.schema)
    await asyncio.to_thread(to, "volunteers", database, "volun0002")
    await asyncio.to_thread(to, "scheduler", scheduler_db, "sched0002")
    now = datetime(2025, 12, 1, tzinfo=UTC)
    engine = create_engine(database.url, database.schema)
    other = create_engine(scheduler_db.url, scheduler_db.schema)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                volunteers.insert().values(
                    volunteer_id="v1",
                    group_id="g1",
                    name="Lò Văn Minh",
                    phone="+84912000001",
                    commune_code="15835",
                    village="",
                    skills=[],
                    languages=["vi", "thai", "hmong", "sign"],
                    preferred_language="thai",
                    availability={"saturday": ["morning"], "sunday": []},
                    exceptions=[],
                    monthly_limit=4,
                    paused=False,
                    registered_at=now,
                    updated_at=now,
                )
            )
        async with other.begin() as conn:
            await conn.execute(
                sessions.insert().values(
                    session_id="session-1",
                    commune_code="15835",
                    province_code="38",
                    status="scheduled",
                    local_date=now.date(),
                    start_local=time(8),
                    end_local=time(11),
                    starts_at=now,
                    ends_at=now,
                    venue={"name": "Nhà văn hóa", "address": "Thôn 1"},
                    topics=["vneid_activation"],
                    languages=["vi", "tai-dam", "fr"],
                    accessibility=[],
                    capacity=10,
                    booked=0,
                    volunteers_needed=1,
                    coordinator_id="c1",
                    public_holiday=False,
                    makeup_day=False,
                    staffing="unknown",
                    volunteer_ids=[],
                    missing_volunteers=0,
                    staffing_alerted=False,
                )
            )
        await migrate("volunteers", database)
        await migrate("scheduler", scheduler_db)
        async with engine.connect() as conn:
            volunteer = (await conn.execute(sa.select(volunteers))).one()
        async with other.connect() as conn:
            session = (await conn.execute(sa.select(sessions))).one()
    finally:
        await engine.dispose()
        await other.dispose()
        if scheduler_db.is_postgres:
            await drop_schema(scheduler_db.url, scheduler_db.schema)

    assert (volunteer.languages, volunteer.preferred_language) == (
        ["vi", "blt", "hmn", "hab"],
        "blt",
    )
    assert session.languages == ["vi", "blt"]  # "fr" named no language the services know
