"""Erasing a console account: an admin over its scope or the account holder themself, after
ticking a confirmation box; the account is paused for good, its sessions end, its key goes,
its name, phone and browsers are in no table of the console (nor in clear in its log); sign-in
by its phone finds nothing, and a new account may then be added for the number. A rebuild of
the read models gives the live ones."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from services.console.tables import store_tables
from shared.events.console import AccountId, AccountRole
from shared.settings import Settings
from shared.store.rebuild import rebuild_read_models
from tests.api.console.world import (
    ADMIN_PHONE,
    COORDINATOR_PHONE,
    THIEU_TRUNG,
    World,
    console_world,
)
from tests.integration.console.test_rebuild import snapshot
from tests.support.search import in_database, needles

NAME = "Trần Thị Bình"
BROWSER = "Nokia 8210 4G (trình duyệt của Bình)"
OTHER_PHONE = "+84912000005"


async def erase(world: World, account_id: str, **fields: str) -> httpx.Response:
    path = f"/accounts/{account_id}/erasure"
    csrf = await world.csrf(path)
    return await world.console.post(path, data={"_csrf_token": csrf, **fields})


async def browser_of(world: World, phone: str) -> httpx.AsyncClient:
    """A second browser, signed in as `phone` with its own user agent, beside the world's."""
    world.console.headers["User-Agent"] = BROWSER
    await world.sign_in(phone)
    browser = httpx.AsyncClient(base_url=world.console.base_url)
    browser.cookies.set("hih_session", world.console.cookies["hih_session"])
    world.console.cookies.clear()
    del world.console.headers["User-Agent"]
    return browser


async def erasures_logged(world: World, account_id: AccountId) -> int:
    events = store_tables.events
    async with world.runtime.store.reader.connect() as conn:
        query = sa.select(sa.func.count()).where(
            events.c.stream_id == f"account-{account_id}", events.c.event_type == "account.erased"
        )
        return int(await conn.scalar(query) or 0)


async def test_an_admin_erases_a_coordinator_once_confirmed_and_the_phone_may_come_back(
    settings: Settings,
) -> None:
    async with console_world(settings) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN)
        binh = await world.add_account(
            COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,), name=NAME
        )
        async with await browser_of(world, COORDINATOR_PHONE) as theirs:
            await world.sign_in(ADMIN_PHONE)
            listing = await world.console.get("/accounts")
            unconfirmed = await erase(world, binh)
            still_in = await theirs.get("/my-sessions")
            erased = await erase(world, binh, confirm="yes")
            again = await erase(world, binh, confirm="yes")
            signed_out = await theirs.get("/my-sessions")
        token = await world.csrf("/accounts")
        resumed = await world.console.post(f"/accounts/{binh}/resume", data={"_csrf_token": token})
        rescoped = await world.console.post(
            f"/accounts/{binh}/scope", data={"scope": "38", "_csrf_token": token}
        )
        after = await world.console.get("/accounts")
        codes_before = len(world.codes_sent_to(COORDINATOR_PHONE))
        await world.ask_code(COORDINATOR_PHONE)
        codes_after = len(world.codes_sent_to(COORDINATOR_PHONE))
        logged = await erasures_logged(world, binh)
        found = await in_database(
            settings.database("console"), needles(COORDINATOR_PHONE, NAME, BROWSER)
        )

        live = await snapshot(world.runtime.store)
        await rebuild_read_models(world.runtime.store, world.runtime.parts.read_models)
        rebuilt = await snapshot(world.runtime.store)

        again_binh = await world.add_account(
            COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,), name=NAME
        )
        await world.sign_in(COORDINATOR_PHONE)  # the new account signs in with the number
        welcomed = await world.console.get("/my-sessions")

    assert f'id="erase-account-{binh}"' in listing.text
    assert unconfirmed.status_code == 400
    assert 'aria-describedby="confirm-error"' in unconfirmed.text
    assert "Hãy đánh dấu ô để xác nhận" in unconfirmed.text
    assert still_in.status_code == 200  # nothing was done
    assert erased.status_code == 200, erased.text
    assert 'id="account-erasure-result"' in erased.text
    assert NAME not in erased.text
    assert again.status_code == 200
    assert 'id="account-erasure-result"' in again.text
    assert logged == 1
    assert signed_out.status_code == 302  # the coordinator's session ended with the account
    for refused in (resumed, rescoped):
        assert refused.status_code == 409
        assert 'data-field="account_id"' in refused.text
    assert f'id="erase-account-{binh}"' not in after.text
    assert NAME not in after.text
    assert codes_after == codes_before  # the phone signs in to nothing now
    assert found == []
    assert rebuilt == live
    assert again_binh != binh
    assert welcomed.status_code == 200


async def test_the_holder_erases_their_own_account_and_a_coordinator_nobody_elses(
    settings: Settings,
) -> None:
    async with console_world(settings) as world:
        other = await world.add_account(OTHER_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
        mine = await world.add_account(
            COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,), name=NAME
        )
        await world.sign_in(COORDINATOR_PHONE)
        own_sessions = await world.console.get("/my-sessions")
        not_theirs = await world.console.get(f"/accounts/{other}/erasure")
        not_theirs_post = await erase(world, mine)  # csrf from a page they may see
        token = await world.csrf(f"/accounts/{mine}/erasure")
        forged = await world.console.post(
            f"/accounts/{other}/erasure", data={"_csrf_token": token, "confirm": "yes"}
        )
        asked = await world.console.get(f"/accounts/{mine}/erasure")
        unconfirmed = await world.console.post(
            f"/accounts/{mine}/erasure", data={"_csrf_token": token}
        )
        erased = await world.console.post(
            f"/accounts/{mine}/erasure", data={"_csrf_token": token, "confirm": "yes"}
        )
        afterwards = await world.console.get("/my-sessions")
        await world.sign_in(OTHER_PHONE)
        other_still = await world.console.get("/my-sessions")

    assert f'href="/accounts/{mine}/erasure"' in own_sessions.text
    assert not_theirs.status_code == 403
    assert not_theirs_post.status_code == 400  # their own, not confirmed: nothing done
    assert forged.status_code == 403
    assert asked.status_code == 200
    assert 'id="account-erasure-form"' in asked.text
    assert unconfirmed.status_code == 400
    assert 'id="confirm-error"' in unconfirmed.text
    assert erased.status_code == 200, erased.text
    assert 'id="account-erasure-result"' in erased.text
    assert afterwards.status_code == 302  # signed out: their cookie opens nothing now
    assert other_still.status_code == 200
