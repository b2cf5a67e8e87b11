"""Bearer tokens over real HTTP: a revoked or foreign JWT is a 401 on every service, and the
OpenAPI documents say the bearer scheme is a JWT."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from migrations.run import migrate
from shared.clock import SystemClock
from shared.runtime import Runtime
from shared.settings import SERVICES, Settings
from shared.tokenkeys import TokenKey, TokenKeys
from shared.web.auth import Caller, Role, mint_token
from tests.support.services import KEYS, service_client, service_settings
from tests.support.serving import serving

THIEU_TRUNG = "15835"
# A ring no service holds: its kid is unknown to all of them.
STRANGER = TokenKeys((TokenKey(kid="elsewhere", secret="e" * 40),))
GROUP = {"name": "Tổ công nghệ số thôn 3", "commune_code": THIEU_TRUNG}


def bearer(keys: TokenKeys = KEYS) -> dict[str, str]:
    caller = Caller(sub="coordinator-1", role=Role.COORDINATOR, scope=(THIEU_TRUNG,))
    value = mint_token(keys, caller, SystemClock().now(), timedelta(hours=1))
    return {"Authorization": f"Bearer {value}"}


def jti_and_exp(headers: dict[str, str]) -> tuple[str, datetime]:
    claims = jwt.decode(headers["Authorization"].split()[1], options={"verify_signature": False})
    return claims["jti"], datetime.fromtimestamp(claims["exp"], UTC)


async def test_a_revoked_token_is_refused_over_http_and_changes_nothing(
    settings: Settings,
) -> None:
    await migrate("volunteers", settings.database("volunteers"))
    module = importlib.import_module("services.volunteers.app")
    app = module.create_app(settings, **service_settings("volunteers", settings))
    runtime: Runtime = app.state.runtime
    revoked, kept = bearer(), bearer()
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as http:
        before = await http.post("/groups", json=GROUP, headers=revoked)
        jti, exp = jti_and_exp(revoked)
        runtime.revocations.revoke(jti, until=exp)
        after = await http.post("/groups", json=GROUP | {"name": "Tổ 4"}, headers=revoked)
        read = await http.get(f"/groups/{before.json()['group_id']}", headers=revoked)
        other = await http.get(f"/groups/{before.json()['group_id']}", headers=kept)
        stranger = await http.post("/groups", json=GROUP, headers=bearer(STRANGER))

    assert before.status_code == 201
    assert after.status_code == 401
    assert after.headers["content-type"].startswith("application/problem+json")
    assert "revoked" in after.json()["detail"]
    assert read.status_code == 401
    assert other.status_code == 200
    assert other.json()["group"]["name"] == GROUP["name"]
    assert stranger.status_code == 401
    assert "unknown key" in stranger.json()["detail"]


@pytest.mark.parametrize("service", SERVICES)
async def test_every_service_documents_its_bearer_tokens_as_jwt(
    service: str, settings: Settings
) -> None:
    async with service_client(service, settings) as client:
        schema = (await client.get("/schema/openapi.json")).json()

    scheme = schema["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert "JWT" in scheme["description"]
