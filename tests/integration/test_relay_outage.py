"""The relay rides out a database outage: once PostgreSQL is back, a resting relay hears the
other instances' commits again (its listening connection is opened anew) and publishes them
at once, without waiting for its idle re-check."""

from __future__ import annotations

import asyncio
import uuid

import sqlalchemy as sa
from nats.aio.client import Client
from sqlalchemy.engine import make_url

from shared.bus.cloudevents import stream_name
from shared.bus.relay import Relay
from shared.bus.streams import ensure_stream
from shared.events.base import Cause
from shared.settings import Database
from shared.store.eventstore import EventStore
from tests.conftest import postgres_only
from tests.support.probe import ThingCounted, make_store
from tests.support.proxy import Proxy
from tests.support.waiting import eventually


def cause() -> Cause:
    return Cause(correlation_id=uuid.uuid4())


@postgres_only
async def test_a_resting_relay_hears_the_other_instances_again_after_an_outage(
    database: Database, nc: Client
) -> None:
    source = f"probe{uuid.uuid4().hex[:8]}"
    url = make_url(database.url)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.start()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    store = await make_store(Database(url=through, schema=database.schema), source=source)
    other = await make_store(database, source=source)  # another instance, never cut off
    js = nc.jetstream()
    await ensure_stream(js, source)
    # It would rest for a minute: only the other instance's announcement brings events out.
    relay = Relay(store, nc, owner="a", idle_wait=60)
    stop = asyncio.Event()
    announcing = asyncio.create_task(other.doorbell.announce_commits(stop))
    versions = iter(range(1, 1000))

    async def stored() -> int:
        return int((await js.stream_info(stream_name(source))).state.messages)

    async def other_appends_and_stored() -> int:
        await other.append("other", next(versions) - 1, [ThingCounted(count=1)], cause())
        return await stored()

    try:
        async with store.doorbell.commits_from_everywhere():
            runner = asyncio.create_task(relay.run(stop))
            await other.append("other", next(versions) - 1, [ThingCounted(count=1)], cause())
            await eventually(stored, lambda n: n == 1, timeout=20)
            await eventually(lambda: saved_position(store), lambda at: at[1] > 0)  # at rest
            proxy.cut()  # its listening connection is closed under it
            proxy.restore()
            published = await eventually(
                other_appends_and_stored, lambda n: n >= 2, timeout=20, every=0.5
            )
            stop.set()
            await runner
    finally:
        stop.set()
        await announcing
        await js.delete_stream(stream_name(source))
        await other.close()
        await store.close()
        proxy.stop()

    assert published >= 2


async def saved_position(store: EventStore) -> tuple[int, int]:
    async with store.reader.connect() as conn:
        table = store.tables.relay_position
        row = (await conn.execute(sa.select(table.c.tx_id, table.c.position))).one()
        return row.tx_id, row.position
