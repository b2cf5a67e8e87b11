"""Behind a reverse proxy: the console's per-address limit and Secure cookie follow
X-Forwarded-For/-Proto only when they come from a proxy named in HANDINHAND_FORWARDED_ALLOW_IPS,
served as `handinhand serve` serves it (services.cli.proxy_trust)."""

from __future__ import annotations

import msgspec

from services.cli import proxy_trust
from shared.events.console import AccountRole
from shared.settings import Settings
from tests.api.console.world import ADMIN_PHONE, World, console_world


async def _ask(world: World, phone: str, forwarded_for: str) -> int:
    token = await world.csrf()
    answer = await world.console.post(
        "/sign-in",
        data={"phone": phone, "_csrf_token": token},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return answer.status_code


async def test_a_forged_forwarded_for_from_an_untrusted_peer_does_not_change_the_limits_key(
    settings: Settings,
) -> None:
    trusting_nobody = proxy_trust(settings)
    async with console_world(settings, per_client=1, serve_options=trusting_nobody) as world:
        first = await _ask(world, "+84912000101", "203.0.113.1")
        forged = await _ask(world, "+84912000102", "203.0.113.2")

    assert settings.forwarded_allow_ips == ()
    assert (first, forged) == (200, 429)  # both counted against the connection's own address


async def test_a_trusted_proxy_names_each_client_and_tells_https(settings: Settings) -> None:
    behind_proxy = msgspec.structs.replace(settings, forwarded_allow_ips=("127.0.0.1",))
    options = proxy_trust(behind_proxy)
    async with console_world(settings, per_client=1, serve_options=options) as world:
        one = await _ask(world, "+84912000101", "203.0.113.1")
        another = await _ask(world, "+84912000102", "203.0.113.2")
        the_first_again = await _ask(world, "+84912000103", "203.0.113.1")

        await world.add_account(ADMIN_PHONE, AccountRole.ADMIN)
        await _ask(world, ADMIN_PHONE, "203.0.113.3")
        token = await world.csrf()
        signed_in = await world.console.post(
            "/sign-in/code",
            data={
                "phone": ADMIN_PHONE,
                "code": world.codes_sent_to(ADMIN_PHONE)[-1],
                "_csrf_token": token,
            },
            headers={"X-Forwarded-For": "203.0.113.3", "X-Forwarded-Proto": "https"},
        )

    assert (one, another, the_first_again) == (200, 200, 429)
    assert signed_in.status_code == 302
    session_cookie = next(
        c for c in signed_in.headers.get_list("set-cookie") if c.startswith("hih_session=")
    )
    assert "Secure" in session_cookie
