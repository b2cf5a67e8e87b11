"""What every service answers: health, readiness, metrics, OpenAPI and problem details."""

from __future__ import annotations

import pytest

from shared.settings import SERVICES, Settings
from tests.support.services import service_client
from tests.support.waiting import eventually


@pytest.mark.parametrize("service", SERVICES)
async def test_is_alive_ready_and_describes_itself(service: str, settings: Settings) -> None:
    async with service_client(service, settings) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await eventually(lambda: client.get("/readyz"), lambda r: r.status_code == 200)
        assert ready.json()["checks"] == {"database": True, "nats": True}
        schema = (await client.get("/schema/openapi.json")).json()
        assert schema["info"]["title"] == f"HandInHand {service}"


@pytest.mark.parametrize("service", SERVICES)
async def test_exposes_prometheus_metrics(service: str, settings: Settings) -> None:
    async with service_client(service, settings) as client:
        await client.get("/healthz")
        text = (await client.get("/metrics")).text

    labels = f'service="{service}",method="GET",route="/healthz",status="200"'
    assert f"handinhand_http_requests_total{{{labels}}} 1" in text
    assert f'handinhand_parked_messages{{service="{service}"}} 0' in text
    assert f'handinhand_outbox_lag_events{{service="{service}"}}' in text


async def test_unknown_paths_get_problem_details(settings: Settings) -> None:
    async with service_client("scheduler", settings) as client:
        response = await client.get("/no/such/thing")
        echoed = await client.get("/healthz", headers={"X-Correlation-Id": "abc-123"})

    assert echoed.headers["x-correlation-id"] == "abc-123"
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404
    assert body["title"] == "Not found"
    assert body["instance"] == "/no/such/thing"
