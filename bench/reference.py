"""The yardstick `bench e2e` measures itself against, in the same run and on the same database.

A bare Litestar app served by uvicorn as `handinhand serve` serves a service (same loop, HTTP
parser, keep-alive and logging settings), answering `POST /things` (the same JSON body as a
help request, decoded by msgspec) with one insert and one commit through an engine made by the
store's own `create_engine` (same pool, PostgreSQL schema or SQLite pragmas), and 201 with the
new row's id. Nothing else: no validation beyond the decode, no events, no outbox, no NATS.
The machine's speed moves by half from hour to hour; the ratio of the system to this moves
far less, so targets are set on the ratio.

`python -m bench.reference --url URL --schema S --port P` serves it (a process of its own, as
a service runs); `bench e2e` starts it, loads it with the same client, and stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from datetime import UTC, datetime

import msgspec
import sqlalchemy as sa
from litestar import Litestar, post

from shared.store.database import create_engine

THINGS = sa.Table(
    "reference_things",
    sa.MetaData(),
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)


class Thing(msgspec.Struct, frozen=True):
    """The help request's fields, as the scheduler's endpoint decodes them."""

    resident_name: str
    phone: str
    commune_code: str
    topics: list[str]
    elderly: bool = False
    consent_given: bool = False


class Made(msgspec.Struct, frozen=True):
    thing_id: uuid.UUID


def create_app(url: str, schema: str) -> Litestar:
    engine = create_engine(url, schema)

    async def make_table() -> None:
        async with engine.begin() as conn:
            await conn.run_sync(THINGS.metadata.create_all)

    async def close() -> None:
        await engine.dispose()

    @post("/things")
    async def make(data: Thing) -> Made:
        thing_id = uuid.uuid4()
        async with engine.begin() as conn:
            await conn.execute(
                THINGS.insert().values(
                    id=thing_id,
                    name=data.resident_name,
                    body=msgspec.json.encode(data),
                    at=datetime.now(UTC),
                )
            )
        return Made(thing_id=thing_id)

    return Litestar([make], on_startup=[make_table], on_shutdown=[close])


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from services.cli import KEEP_ALIVE_S

    parser = argparse.ArgumentParser(prog="python -m bench.reference", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--schema", default="main")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    uvicorn.run(
        create_app(args.url, args.schema),
        host="127.0.0.1",
        port=args.port,
        log_config=None,
        access_log=False,
        log_level="warning",  # what a service logs at the benchmark's log level
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    return 0


async def serve(url: str, schema: str, port: int) -> asyncio.subprocess.Process:
    """The reference in a process of its own, answering once this returns."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.reference", "--url", url, "--schema", schema,
        "--port", str(port),
    )  # fmt: skip
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return process
    process.kill()
    raise RuntimeError("the reference app did not start")


if __name__ == "__main__":
    raise SystemExit(main())
