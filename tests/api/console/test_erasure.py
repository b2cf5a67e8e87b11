"""Erasing a resident from the console: a confirmation page, nothing done without the box
ticked, then the scheduler erases them and the page says so; outside the account's scope, or
as a volunteer, it is refused."""

from __future__ import annotations

import httpx

from shared.events.console import AccountRole
from shared.settings import Settings
from shared.web.auth import Role
from tests.api.console.test_help_requests import coordinator, file, form
from tests.api.console.world import (
    ADMIN_PHONE,
    HOAN_KIEM,
    THIEU_TRUNG,
    VOLUNTEER_PHONE,
    World,
    console_world,
)
from tests.support.services import token

OTHER_PHONE = "+84912000005"


async def status_of(world: World, request_id: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=world.scheduler_url) as scheduler:
        answer = await scheduler.get(f"/help-requests/{request_id}", headers=token(Role.ADMIN))
    assert answer.status_code == 200, answer.text
    found: dict[str, str] = answer.json()
    return found


async def waiting_request(world: World, phone: str) -> str:
    """A request filed from the console that waits (no session yet): its id."""
    filed = await file(world, form(resident_name="Trần Văn Bình", phone=phone))
    assert filed.status_code == 200, filed.text
    async with httpx.AsyncClient(base_url=world.scheduler_url) as scheduler:
        answer = await scheduler.get(f"/communes/{THIEU_TRUNG}/waiting", headers=token(Role.ADMIN))
    [waiting] = [w for w in answer.json()["waiting"] if w["phone"].endswith(phone[-6:])]
    return str(waiting["request_id"])


async def erase(world: World, request_id: str, **fields: str) -> httpx.Response:
    path = f"/help-requests/{request_id}/erasure"
    csrf = await world.csrf(path)
    return await world.console.post(path, data={"_csrf_token": csrf, **fields})


async def test_a_coordinator_erases_a_resident_after_confirming_and_not_before(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        await coordinator(world)
        request_id = await waiting_request(world, "0912345101")
        listed = await world.console.get(f"/help-requests?commune={THIEU_TRUNG}")
        asked = await world.console.get(f"/help-requests/{request_id}/erasure")
        unconfirmed = await erase(world, request_id)
        still = await status_of(world, request_id)
        erased = await erase(world, request_id, confirm="yes")
        after = await status_of(world, request_id)
        again = await world.console.get(f"/help-requests/{request_id}/erasure?lang=en")

    assert f'href="/help-requests/{request_id}/erasure"' in listed.text
    assert asked.status_code == 200
    assert 'id="erasure-form"' in asked.text
    assert "Trần Văn Bình" in asked.text
    assert "0912345101" not in asked.text  # the phone is masked
    assert unconfirmed.status_code == 400
    assert 'id="confirm-error"' in unconfirmed.text
    assert "Hãy đánh dấu ô để xác nhận" in unconfirmed.text
    assert still["status"] == "waiting"
    assert erased.status_code == 200, erased.text
    assert 'id="erasure-result"' in erased.text
    assert "Thông tin của người dân đang được xóa." in erased.text
    assert after["status"] in ("erasing", "erased")
    assert "Trần Văn Bình" not in again.text
    assert ("being erased" in again.text) or ("have been erased" in again.text)
    assert 'id="erasure-form"' not in again.text


async def test_erasure_is_refused_outside_the_scope_and_to_a_volunteer(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN)
        await world.sign_in(ADMIN_PHONE)
        request_id = await waiting_request(world, "0912345102")
        await sign_out(world)
        await world.add_account(OTHER_PHONE, AccountRole.COORDINATOR, (HOAN_KIEM,))
        await world.sign_in(OTHER_PHONE)
        elsewhere = await world.console.get(f"/help-requests/{request_id}/erasure")
        await sign_out(world)
        await world.add_account(
            VOLUNTEER_PHONE, AccountRole.VOLUNTEER, (THIEU_TRUNG,), volunteer_id="volunteer-1"
        )
        await world.sign_in(VOLUNTEER_PHONE)
        as_volunteer = await world.console.get(f"/help-requests/{request_id}/erasure")
        not_erased = await status_of(world, request_id)

    assert elsewhere.status_code == 403
    assert as_volunteer.status_code == 403
    assert not_erased["status"] == "waiting"


async def sign_out(world: World) -> None:
    await world.console.post("/sign-out", data={"_csrf_token": await world.csrf("/weekend")})
