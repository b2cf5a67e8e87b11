"""An admin changes a coordinator's scope from the accounts page; the coordinator's open
sessions follow it on their next request."""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from services.console.tables import accounts
from shared.events.console import AccountId, AccountRole
from shared.settings import Settings
from tests.api.console.world import (
    ADMIN_PHONE,
    COORDINATOR_PHONE,
    HOAN_KIEM,
    THIEU_TRUNG,
    World,
    console_world,
)

HAC_THANH = "14797"  # Phường Hạc Thành, Thanh Hóa


async def _scope_of(world: World, account_id: AccountId) -> list[str]:
    async with world.runtime.store.reader.connect() as conn:
        query = sa.select(accounts.c.scope).where(accounts.c.account_id == account_id)
        row = (await conn.execute(query)).one()
    return list(row.scope)


async def _signed_in_as(world: World, phone: str) -> httpx.AsyncClient:
    """A second browser, signed in as `phone`, beside the world's own."""
    await world.sign_in(phone)
    browser = httpx.AsyncClient(base_url=world.console.base_url)
    browser.cookies.set("hih_session", world.console.cookies["hih_session"])
    world.console.cookies.clear()
    return browser


async def test_a_coordinators_open_session_sees_the_new_scope_on_its_next_request(
    settings: Settings,
) -> None:
    async with console_world(settings) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN, ("38",))
        coordinator = await world.add_account(
            COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,)
        )
        async with await _signed_in_as(world, COORDINATOR_PHONE) as theirs:
            before = await theirs.get(f"/volunteers?commune={HAC_THANH}")
            await world.sign_in(ADMIN_PHONE)
            listing = await world.console.get("/accounts")
            token = await world.csrf("/accounts")
            changed = await world.console.post(
                f"/accounts/{coordinator}/scope",
                data={"scope": f"{HAC_THANH}, {THIEU_TRUNG}", "_csrf_token": token},
            )
            after = await theirs.get(f"/volunteers?commune={HAC_THANH}")
            narrowed = await world.console.post(
                f"/accounts/{coordinator}/scope", data={"scope": HAC_THANH, "_csrf_token": token}
            )
            old_commune = await theirs.get(f"/volunteers?commune={THIEU_TRUNG}")
        scope = await _scope_of(world, coordinator)

    assert f'id="scope-form-{coordinator}"' in listing.text
    assert before.status_code == 403
    assert changed.status_code == 302
    assert after.status_code == 200
    assert narrowed.status_code == 302
    assert old_commune.status_code == 403
    assert scope == [HAC_THANH]


async def test_a_wrong_or_out_of_reach_scope_is_refused_beside_the_field_and_changes_nothing(
    settings: Settings,
) -> None:
    async with console_world(settings) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN, ("38",))
        coordinator = await world.add_account(
            COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,)
        )
        await world.sign_in(ADMIN_PHONE)
        token = await world.csrf("/accounts")
        answers = {
            written: await world.console.post(
                f"/accounts/{coordinator}/scope", data={"scope": written, "_csrf_token": token}
            )
            for written in ("", "99999, 99", "abc", HOAN_KIEM, "38, 01")
        }
        scope = await _scope_of(world, coordinator)

    field = f'id="scope-{coordinator}" name="scope"'
    for written, answer in answers.items():
        assert answer.status_code == 400, written
        assert f'aria-describedby="scope-{coordinator}-error"' in answer.text
        assert field in answer.text
    assert "Hãy ghi ít nhất một mã" in answers[""].text
    assert "Có mã không phải là xã, phường chính thức." in answers["99999, 99"].text
    assert "Có mã không phải là xã, phường chính thức." in answers["abc"].text
    assert "Bạn chỉ được giao các mã trong phạm vi của mình." in answers[HOAN_KIEM].text
    assert "Bạn chỉ được giao các mã trong phạm vi của mình." in answers["38, 01"].text
    assert f'value="{HOAN_KIEM}"' in answers[HOAN_KIEM].text  # what was written, shown back
    assert scope == [THIEU_TRUNG]


async def test_a_province_admin_cannot_change_a_coordinator_outside_their_province(
    settings: Settings,
) -> None:
    async with console_world(settings) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN, ("38",))
        outside = await world.add_account(
            COORDINATOR_PHONE, AccountRole.COORDINATOR, (HOAN_KIEM,), name="Hà Nội"
        )
        await world.sign_in(ADMIN_PHONE)
        token = await world.csrf("/accounts")
        forged = await world.console.post(
            f"/accounts/{outside}/scope", data={"scope": THIEU_TRUNG, "_csrf_token": token}
        )
        scope = await _scope_of(world, outside)

    assert forged.status_code == 403
    assert scope == [HOAN_KIEM]
