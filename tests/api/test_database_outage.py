"""PostgreSQL away for a while, through a proxy the test cuts: every service answers 503 with
Retry-After (not 500), is not ready while it lasts, says so once when the database goes and
once when it is back, and carries on by itself afterwards."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url

from shared.bus.server import NatsServer
from shared.runtime import READY_WITHIN, Runtime
from shared.settings import SERVICES, Database, Settings
from shared.store.schema import drop_schema
from shared.web.auth import Role
from shared.web.problems import RETRY_AFTER_OUTAGE_S
from tests.conftest import postgres_only
from tests.support.proxy import Proxy
from tests.support.services import service_client, settings_for, token
from tests.support.waiting import eventually

Client = AsyncTestClient[Litestar]


class Call(NamedTuple):
    """A request that needs the service's database, and the status it gets when all is well."""

    method: str
    path: str
    ok: int
    headers: dict[str, str] | None = None
    body: Callable[[], dict[str, Any]] | None = None

    async def on(self, client: Client) -> Any:
        body = None if self.body is None else self.body()
        return await client.request(self.method, self.path, headers=self.headers, json=body)


def help_request() -> dict[str, Any]:
    """A resident's request, each from another phone (the form's rate limit is not tested here)."""
    return {
        "resident_name": "Lê Thị Hoa",
        "phone": f"0912{next(_PHONES):06d}",
        "commune_code": "15835",
        "topics": ["vneid_activation"],
        "consent_given": True,
    }


_PHONES = itertools.count(100000)
CALLS = {
    "scheduler": [
        Call("GET", "/communes/15835", 200),
        Call("POST", "/help-requests", 201, token(Role.COORDINATOR, ("15835",)), help_request),
    ],
    "volunteers": [Call("GET", "/communes/15835/volunteers", 200, token(Role.ADMIN))],
    "notifications": [Call("GET", "/messages", 200, token(Role.ADMIN))],
    # A page with a session cookie looks the session up; an unknown one is sent (the test
    # client follows) to the sign-in page.
    "console": [Call("GET", "/weekend", 200, {"Cookie": "hih_session=not-a-session"})],
}
# The console answers people with pages, the services answer programs with problem details.
PAGES = {"console"}


@pytest.fixture
def proxy(database: Database) -> Iterator[Proxy]:
    url = make_url(database.url)
    made = Proxy(url.host or "127.0.0.1", url.port or 5432)
    made.start()
    yield made
    made.stop()


@pytest.fixture
async def proxied(
    database: Database, proxy: Proxy, own_nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[Settings]:
    """Every service's schema reached through the proxy."""
    url = make_url(database.url).set(host="127.0.0.1", port=proxy.port)
    through = Database(url=url.render_as_string(hide_password=False), schema=database.schema)
    made = settings_for(through, own_nats_server.url, tmp_path)
    yield made
    proxy.restore()
    for db in made.databases.values():
        await drop_schema(database.url, db.schema)


def runtime_of(client: Client) -> Runtime:
    runtime: Runtime = client.app.state.runtime
    return runtime


def serious(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.WARNING
    ]


@postgres_only
@pytest.mark.parametrize("service", SERVICES)
async def test_an_outage_answers_503_is_said_once_and_passes_by_itself(
    service: str, proxied: Settings, proxy: Proxy, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    calls = CALLS[service]
    async with service_client(service, proxied) as client:
        await eventually(lambda: client.get("/readyz"), lambda r: r.status_code == 200)
        assert [(await call.on(client)).status_code for call in calls] == [c.ok for c in calls]
        reachability = runtime_of(client).store.reachability
        caplog.clear()

        proxy.cut()
        during = [await call.on(client) for _ in range(10) for call in calls]
        started = time.monotonic()
        not_ready = await client.get("/readyz")
        readiness_took = time.monotonic() - started
        scraped = await client.get("/metrics")
        # The relay, consumers, timers (and the SMS sender) meet the outage too.
        await eventually(
            lambda: _async(reachability.failures), lambda n: n >= len(during) + 3, timeout=10
        )
        lines_during = serious(caplog)
        proxy.restore()
        ready = await eventually(lambda: client.get("/readyz"), lambda r: r.status_code == 200)
        after = [await call.on(client) for call in calls]

    assert {r.status_code for r in during} == {503}
    for answer in during:
        assert answer.headers["retry-after"] == str(RETRY_AFTER_OUTAGE_S)
        if service in PAGES:
            assert answer.headers["content-type"].startswith("text/html")
            assert "Hãy thử lại sau một phút" in answer.text  # what to do, in Vietnamese
        else:
            assert answer.headers["content-type"] == "application/problem+json"
            assert "database is briefly unavailable" in answer.json()["detail"]
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["database"] is False
    assert readiness_took < READY_WITHIN
    assert scraped.status_code == 200  # alerts still see the service, and that it is not ready
    assert f'handinhand_ready{{service="{service}"}} 0' in scraped.text
    assert ready.json()["checks"] == {"database": True, "nats": True}
    assert [answer.status_code for answer in after] == [call.ok for call in calls]
    assert len(lines_during) == 1
    assert lines_during[0].startswith("WARNING handinhand.database: database of")
    assert "went away" in lines_during[0]
    back = [r for r in caplog.records if "is back" in r.getMessage()]
    assert [(r.levelname, r.name) for r in back] == [("INFO", "handinhand.database")]
    assert serious(caplog) == lines_during  # nothing worse, and nothing more, afterwards
    assert reachability.outages == 1


@postgres_only
async def test_readiness_answers_within_its_bound_when_the_database_stops_answering(
    proxied: Settings, proxy: Proxy
) -> None:
    async with service_client("volunteers", proxied) as client:
        await eventually(lambda: client.get("/readyz"), lambda r: r.status_code == 200)
        proxy.stall()
        started = time.monotonic()
        stalled = await client.get("/readyz")
        took = time.monotonic() - started
        proxy.restore()
        ready = await eventually(lambda: client.get("/readyz"), lambda r: r.status_code == 200)

    assert stalled.status_code == 503
    assert stalled.json()["checks"]["database"] is False
    assert READY_WITHIN <= took < READY_WITHIN + 0.5  # not asyncpg's 60 s connect timeout
    assert ready.json()["checks"]["database"] is True


async def _async(value: int) -> int:
    return value
