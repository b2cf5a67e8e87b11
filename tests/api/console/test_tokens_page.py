"""The API tokens page over real HTTP, with all four services on one NATS: an admin issues a
token (shown once, stored nowhere), the services take it, the admin revokes it and every
service refuses it; a token minted on the command line is revoked by pasting it."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import httpx
import jwt
import pytest
import sqlalchemy as sa

from services.console.tables import store_tables
from shared.events.console import AccountRole
from shared.settings import Settings
from shared.web.auth import Caller, Role, mint_token
from tests.api.console.world import (
    ADMIN_PHONE,
    COORDINATOR_PHONE,
    THIEU_TRUNG,
    World,
    console_world,
)
from tests.support.waiting import eventually

THANH_HOA, HA_NOI = "38", "01"
_ISSUED = re.compile(r'<textarea id="issued-token"[^>]*>([^<]+)</textarea>')


def probes(world: World) -> dict[str, tuple[str, str]]:
    """A read each service guards with a bearer token: (base URL, path)."""
    return {
        "scheduler": (world.scheduler_url, f"/sessions?commune={THIEU_TRUNG}"),
        "volunteers": (world.volunteers_url, f"/communes/{THIEU_TRUNG}/groups"),
        "notifications": (world.notifications_url, "/messages"),
    }


async def answers(world: World, token: str) -> dict[str, httpx.Response]:
    found = {}
    for service, (base, path) in probes(world).items():
        async with httpx.AsyncClient(base_url=base) as client:
            found[service] = await client.get(path, headers={"Authorization": f"Bearer {token}"})
    return found


async def issue(world: World, **fields: str) -> httpx.Response:
    form = {"label": "Cổng SMS xã", "role": "coordinator", "scope": THIEU_TRUNG, "days": "30"}
    csrf = await world.csrf("/tokens")
    return await world.console.post("/tokens", data=form | fields | {"_csrf_token": csrf})


def issued_token(page: httpx.Response) -> str:
    found = _ISSUED.search(page.text)
    assert found is not None, page.text
    return html.unescape(found.group(1)).strip()


async def revoke(world: World, jti: str) -> httpx.Response:
    csrf = await world.csrf(f"/tokens/{jti}/revoke")
    return await world.console.post(
        f"/tokens/{jti}/revoke", data={"reason": "rotated", "_csrf_token": csrf}
    )


async def revocations_in_console(world: World, jti: str) -> int:
    events = store_tables.events
    async with world.runtime.store.reader.connect() as conn:
        found = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(events)
            .where(events.c.stream_id == f"apitoken-{jti}")
            .where(events.c.event_type == "api_token.revoked")
        )
    return int(found or 0)


async def admin_world_signed_in(world: World, scope: tuple[str, ...] = ()) -> None:
    await world.add_account(ADMIN_PHONE, AccountRole.ADMIN, scope)
    await world.sign_in(ADMIN_PHONE)


async def test_an_issued_token_works_until_revoked_then_every_service_refuses_it(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        await admin_world_signed_in(world)
        page = await issue(world)
        token = issued_token(page)
        jti = jwt.decode(token, options={"verify_signature": False})["jti"]
        before = await answers(world, token)
        listed = (await world.console.get("/tokens")).text
        stored = await world.everything_stored()

        revoked = await revoke(world, jti)
        again = await revoke(world, jti)  # pressed twice: harmless

        async def refusals() -> dict[str, httpx.Response]:
            return await answers(world, token)

        after = await eventually(
            refusals, lambda found: all(r.status_code == 401 for r in found.values())
        )
        console_refuses = world.runtime.revocations.is_revoked(jti)
        listed_after = (await world.console.get("/tokens")).text
        revocations = await revocations_in_console(world, jti)

    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert {service: r.status_code for service, r in before.items()} == {
        "scheduler": 200,
        "volunteers": 200,
        "notifications": 200,
    }
    assert "Cổng SMS xã" in listed
    assert token not in listed  # shown once, never again
    assert token not in stored  # nor kept in any table of the console
    assert jti in stored  # only its id
    assert (revoked.status_code, again.status_code) == (302, 302)
    for response in after.values():
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "revoked" in response.json()["detail"]
    assert console_refuses
    assert f'id="token-{jti}"' in listed_after
    assert "Đã thu hồi" in listed_after
    assert revocations == 1


async def test_a_token_minted_on_the_command_line_is_revoked_by_pasting_it(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        await admin_world_signed_in(world)
        caller = Caller(sub="cli", role=Role.COORDINATOR, scope=(THIEU_TRUNG,))
        token = mint_token(settings.token_keys, caller, world.clock.now(), timedelta(hours=12))
        before = await answers(world, token)

        csrf = await world.csrf("/tokens")
        pasted = await world.console.post(
            "/tokens/revoke-pasted", data={"token": f"  {token}\n", "_csrf_token": csrf}
        )
        after = await eventually(
            lambda: answers(world, token),
            lambda found: all(r.status_code == 401 for r in found.values()),
        )
        csrf = await world.csrf("/tokens")
        twice = await world.console.post(
            "/tokens/revoke-pasted", data={"token": token, "_csrf_token": csrf}
        )
        stored = await world.everything_stored()

    assert all(r.status_code == 200 for r in before.values())
    assert pasted.status_code == 302
    assert pasted.headers["location"] == "/tokens?revoked=1"
    assert len(after) == 3
    assert twice.status_code == 400
    assert "Mã này đã bị thu hồi rồi." in twice.text
    assert token not in stored
    assert token not in twice.text


async def test_pasting_what_this_deployment_did_not_sign_is_refused_on_the_field(
    settings: Settings,
) -> None:
    async with console_world(settings) as world:
        await admin_world_signed_in(world)
        csrf = await world.csrf("/tokens")
        answer = await world.console.post(
            "/tokens/revoke-pasted", data={"token": "not-a-token", "_csrf_token": csrf}
        )

    assert answer.status_code == 400
    assert 'id="token-error"' in answer.text
    assert 'aria-describedby="token-error"' in answer.text


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"label": "  "}, "label"),
        ({"days": "0"}, "lifetime_days"),
        ({"days": "366"}, "lifetime_days"),
        ({"days": "a year"}, "lifetime_days"),
        ({"role": "volunteer"}, "role"),
        ({"scope": HA_NOI}, "scope"),
        ({"scope": ""}, "scope"),
        ({"role": "admin", "scope": ""}, "scope"),  # a province admin: not one for everything
    ],
)
async def test_a_token_the_admin_may_not_issue_is_refused_on_its_field(
    settings: Settings, fields: dict[str, str], field: str
) -> None:
    async with console_world(settings) as world:
        await admin_world_signed_in(world, scope=(THANH_HOA,))
        answer = await issue(world, **fields)
        stored = await world.everything_stored()

    assert answer.status_code == 400
    assert f'id="{field}-error"' in answer.text
    assert "issued-token" not in answer.text
    assert "api_token.issued" not in stored


async def test_a_province_admins_admin_token_is_held_to_the_province_by_every_service(
    settings: Settings,
) -> None:
    async with console_world(settings, with_scheduler=True) as world:
        await admin_world_signed_in(world, scope=(THANH_HOA,))
        page = await issue(world, role="admin", scope=THANH_HOA)
        token = {"Authorization": f"Bearer {issued_token(page)}"}
        hoan_kiem = "00070"  # Hà Nội
        found = {}
        for name, base, path in (
            ("scheduler", world.scheduler_url, "/sessions?commune={}"),
            ("volunteers", world.volunteers_url, "/communes/{}/groups"),
        ):
            async with httpx.AsyncClient(base_url=base, headers=token) as client:
                inside = await client.get(path.format(THIEU_TRUNG))
                outside = await client.get(path.format(hoan_kiem))
            found[name] = (inside.status_code, outside.status_code)

    assert page.status_code == 200
    assert found == {"scheduler": (200, 403), "volunteers": (200, 403)}


async def test_a_province_admin_sees_and_revokes_only_tokens_within_their_province(
    settings: Settings,
) -> None:
    async with console_world(settings) as world:
        await admin_world_signed_in(world)
        jti = jwt.decode(
            issued_token(await issue(world, scope=HA_NOI)), options={"verify_signature": False}
        )["jti"]
        await world.console.post("/sign-out", data={"_csrf_token": await world.csrf("/tokens")})
        world.console.cookies.clear()
        await world.add_account(COORDINATOR_PHONE, AccountRole.ADMIN, (THANH_HOA,), name="Tỉnh")
        await world.sign_in(COORDINATOR_PHONE)
        listed = (await world.console.get("/tokens")).text
        confirm = await world.console.get(f"/tokens/{jti}/revoke")

    assert jti not in listed
    assert confirm.status_code == 403


async def test_only_admins_reach_the_tokens_page_and_every_form_needs_its_csrf_token(
    settings: Settings,
) -> None:
    async with console_world(settings) as world:
        await world.add_account(COORDINATOR_PHONE, AccountRole.COORDINATOR, (THIEU_TRUNG,))
        await world.sign_in(COORDINATOR_PHONE)
        coordinator = await world.console.get("/tokens")
        menu = (await world.console.get("/weekend")).text
        world.console.cookies.clear()
        await admin_world_signed_in(world)
        admin_menu = (await world.console.get("/tokens")).text
        forged = await world.console.post("/tokens", data={"label": "x", "days": "1"})
        pasted = await world.console.post("/tokens/revoke-pasted", data={"token": "x"})

    assert coordinator.status_code == 403
    assert 'href="/tokens"' not in menu
    assert 'href="/tokens"' in admin_menu
    assert (forged.status_code, pasted.status_code) == (403, 403)
