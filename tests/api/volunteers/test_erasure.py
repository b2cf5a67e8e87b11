"""Erasing a volunteer over HTTP: who may ask, what it stops, and the key destroyed at the
latest when the erasure timer fires (the notifications side is tested across processes in
tests/e2e/test_flows.py)."""

from __future__ import annotations

import functools
from datetime import timedelta

import anyio
import sqlalchemy as sa
from nats.aio.client import Client

from services.volunteers.tables import person_keys
from shared.clock import FixedClock
from shared.settings import Settings
from shared.store.eventstore import EventStore, Stream
from shared.web.auth import Role
from tests.api.volunteers.world import (
    COORDINATOR,
    HOAN_KIEM,
    T0,
    fire_timers,
    new_group,
    new_volunteer,
    runtime_of,
    volunteer_token,
    volunteers_app,
)
from tests.support.services import token

OUTSIDER = token(Role.COORDINATOR, (HOAN_KIEM,))
ADMIN = token(Role.ADMIN)


async def test_a_volunteer_asks_to_be_erased_and_is_forgotten_when_the_timer_fires(
    settings: Settings, nc: Client
) -> None:
    clock = FixedClock(T0)
    async with volunteers_app(settings, nc, clock) as client:
        group = await new_group(client)
        created = await new_volunteer(client, group, "0912345670", village="Bản Sại")
        vid = created["volunteer_id"]
        outsider = await client.post(f"/volunteers/{vid}/erasure", headers=OUTSIDER)
        other = await new_volunteer(client, group, "0912345671")
        by_another = await client.post(
            f"/volunteers/{vid}/erasure", headers=volunteer_token(other["volunteer_id"])
        )
        unknown = await client.post("/volunteers/nobody/erasure", headers=ADMIN)
        asked = await client.post(f"/volunteers/{vid}/erasure", headers=volunteer_token(vid))
        again = await client.post(f"/volunteers/{vid}/erasure", headers=COORDINATOR)
        changed = await client.patch(
            f"/volunteers/{vid}", json={"monthly_limit": 2}, headers=COORDINATOR
        )
        resumed = await client.post(f"/volunteers/{vid}/resume", headers=COORDINATOR)
        clock.advance(timedelta(minutes=11))  # notifications never answered: the timer decides
        fired = await fire_timers(client)
        erased = await client.get(f"/volunteers/{vid}", headers=COORDINATOR)
        after = await client.post(f"/volunteers/{vid}/erasure", headers=ADMIN)
        kept = await client.get(f"/volunteers/{other['volunteer_id']}", headers=COORDINATOR)
        stream, key = await anyio.to_thread.run_sync(
            client.blocking_portal.call, functools.partial(_kept_of, runtime_of(client).store, vid)
        )

    assert (outsider.status_code, by_another.status_code, unknown.status_code) == (403, 403, 404)
    assert asked.status_code == 202, asked.text
    assert (asked.json()["erasure"], asked.json()["paused"]) == ("erasing", True)
    assert (again.status_code, again.json()["erasure"]) == (202, "erasing")
    assert changed.status_code == 409
    assert changed.json()["field"] == "volunteer_id"
    assert resumed.status_code == 409
    assert fired == 1
    view = erased.json()
    assert (view["erasure"], view["name"], view["phone"], view["village"]) == ("erased", "", "", "")
    assert (after.status_code, after.json()["erasure"]) == (202, "erased")
    assert (kept.json()["name"], kept.json()["erasure"]) == ("Lê Thị Hoa", "")
    types = [item.event.event_type for item in stream.events]
    assert types.count("volunteer.erasure_requested") == 1
    assert types.count("volunteer.erased") == 1
    registered = stream.events[0].event
    # the log keeps the registration; its personal values no longer open
    assert (registered.name, registered.phone, registered.village) == ("", "", "")  # type: ignore[attr-defined]
    assert key is None


async def _kept_of(store: EventStore, volunteer_id: str) -> tuple[Stream, bytes | None]:
    """The volunteer's stream as the service reads it, and their wrapped key (in the app's
    own loop, where its database connections live)."""
    stream = await store.load(f"volunteer-{volunteer_id}")
    async with store.reader.connect() as conn:
        key = await conn.scalar(
            sa.select(person_keys.c.wrapped_key).where(person_keys.c.person_id == volunteer_id)
        )
    return stream, key
