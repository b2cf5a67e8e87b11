"""POST /v1/sign-in-codes: the console's codes go out at once, and are kept nowhere."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from bench.gateway import Gateway, Response
from services.notifications.providers.http_json import HttpJsonConfig
from shared.clock import SystemClock
from shared.events.notifications import SignInCodeSent
from shared.settings import Settings
from shared.web.auth import Caller, Role, mint_token
from tests.integration.notifications.harness import notifications, sms_settings
from tests.support.services import KEYS, token

CODE = "482193"
PHONE = "+84912000001"


def console_token() -> dict[str, str]:
    caller = Caller(sub="console", role=Role.ADMIN)
    value = mint_token(KEYS, caller, SystemClock().now(), timedelta(minutes=2))
    return {"Authorization": f"Bearer {value}"}


async def everything_stored(service: object) -> str:
    """Every row of every table of the service, as text."""
    store = service.store  # type: ignore[attr-defined]
    rows: list[str] = []
    async with store.reader.connect() as conn:
        for table in store.tables.events.metadata.sorted_tables:
            rows.extend(str(row) for row in await conn.execute(sa.select(table)))
    return "\n".join(rows)


async def test_a_code_is_handed_to_the_provider_now_and_only_the_fact_is_kept(
    settings: Settings, gateway: Gateway
) -> None:
    sms = sms_settings(provider="http_json", http_json=HttpJsonConfig(url=gateway.url + "/send"))
    gateway.default = Response(body=b'{"id": "gw-7"}')
    async with notifications(settings, sms=sms) as service:
        sent = await service.client.post(
            "/v1/sign-in-codes",
            json={"phone": "0912 000 001", "code": CODE},
            headers=console_token(),
        )
        (event,) = await service.events("sms.sign_in_code_sent")
        stored = await everything_stored(service)

    assert sent.status_code == 201, sent.text
    (request,) = gateway.requests
    assert CODE in request.body.decode()
    assert isinstance(event, SignInCodeSent)
    assert (event.phone, event.provider_message_id) == (PHONE, "gw-7")
    assert CODE not in stored


async def test_a_provider_that_refuses_the_code_is_a_503_to_try_again(
    settings: Settings, gateway: Gateway
) -> None:
    sms = sms_settings(provider="http_json", http_json=HttpJsonConfig(url=gateway.url + "/send"))
    gateway.default = Response(status=500, body=b'{"error": "down"}')
    async with notifications(settings, sms=sms) as service:
        refused = await service.client.post(
            "/v1/sign-in-codes", json={"phone": PHONE, "code": CODE}, headers=console_token()
        )
        recorded = await service.events("sms.sign_in_code_sent")

    assert refused.status_code == 503
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert recorded == []


async def test_only_the_console_may_send_codes_and_bad_input_names_its_field(
    settings: Settings,
) -> None:
    async with notifications(settings) as service:
        other_admin = await service.client.post(
            "/v1/sign-in-codes", json={"phone": PHONE, "code": CODE}, headers=token()
        )
        coordinator = await service.client.post(
            "/v1/sign-in-codes",
            json={"phone": PHONE, "code": CODE},
            headers=token(Role.COORDINATOR, ("15835",)),
        )
        bad_phone = await service.client.post(
            "/v1/sign-in-codes", json={"phone": "12345", "code": CODE}, headers=console_token()
        )
        bad_code = await service.client.post(
            "/v1/sign-in-codes", json={"phone": PHONE, "code": "12ab"}, headers=console_token()
        )
        texts = service.channel.console.messages() if service.channel.console else []

    assert (other_admin.status_code, coordinator.status_code) == (403, 403)
    assert (bad_phone.status_code, bad_phone.json()["field"]) == (422, "phone")
    assert bad_code.status_code == 400
    assert "code" in bad_code.text
    assert texts == []
