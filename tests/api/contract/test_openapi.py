"""Each service's OpenAPI document is what its wire does: schemathesis, with every check it
has, against the running app (real HTTP, real database and NATS) with an admin token."""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path

import pytest
from litestar import Litestar

from migrations.run import migrate
from services.notifications.settings import NotificationSettings
from shared.settings import SERVICES, Settings
from tests.support.services import service_settings, token
from tests.support.serving import serving

CONFIG = Path(__file__).with_name("schemathesis.toml")
WEBHOOK_SECRET = "contract-webhook-secret"


def _app(service: str, settings: Settings) -> Litestar:
    create_app = importlib.import_module(f"services.{service}.app").create_app
    if service == "notifications":
        app = create_app(settings, sms=NotificationSettings(webhook_token=WEBHOOK_SECRET))
    else:
        app = create_app(settings, **service_settings(service, settings))
    assert isinstance(app, Litestar)
    return app


# The console serves pages, no API of its own: its document lists no operation to check.
WITH_AN_API = [service for service in SERVICES if service != "console"]


# The document is the HTTP layer's, the same on either store: SQLite alone keeps CI short.
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
@pytest.mark.parametrize("service", WITH_AN_API)
async def test_the_service_answers_as_its_openapi_document_says(
    service: str, settings: Settings, tmp_path: Path
) -> None:
    await migrate(service, settings.database(service))
    async with serving(_app(service, settings)) as url:
        run = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(CONFIG),
            "--no-color",
            "run",
            f"{url}/schema/openapi.json",
            "--header",
            f"Authorization: {token()['Authorization']}",
            "--workers",
            "1",
            cwd=tmp_path,  # its caches and reports stay out of the repository
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await run.communicate()

    report = output.decode(errors="replace")
    assert run.returncode == 0, report
