"""`handinhand sms from` plays a resident: a signed inbound SMS the running service accepts."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx

from migrations.run import migrate
from services.notifications.app import create_app
from services.notifications.settings import NotificationSettings
from shared.settings import Settings
from tests.support.services import token
from tests.support.serving import serving
from tests.support.waiting import eventually


async def handinhand(*args: str, var_dir: Path) -> tuple[int, str]:
    """The command as a newcomer runs it, in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANDINHAND_")}
    env["HANDINHAND_VAR_DIR"] = str(var_dir)
    run = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await run.communicate()
    assert run.returncode is not None
    return run.returncode, output.decode()


async def test_the_sms_command_is_signed_with_the_secret_made_on_first_start(
    settings: Settings,
) -> None:
    await migrate("notifications", settings.database("notifications"))
    # As `up` starts it: no secret configured, so one is made in the var dir.
    sms = NotificationSettings.from_env({}, settings.var_dir)
    app = create_app(settings, sms=sms)
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        code, output = await handinhand(
            "sms",
            "from",
            "+84912345678",
            "HUY",  # answered by this service alone (a GIUP is answered by the scheduler)
            "--url",
            url,
            var_dir=settings.var_dir,
        )
        answered = await eventually(
            lambda: client.get("/console/messages", headers=token()),
            lambda response: len(response.json()) == 1,
        )

    assert (code, "received" in output) == (0, True), output
    (answer,) = answered.json()
    assert answer["to"] == "+84912345678"


async def test_a_wrong_secret_is_refused_and_the_command_says_so(settings: Settings) -> None:
    await migrate("notifications", settings.database("notifications"))
    app = create_app(settings, sms=NotificationSettings(webhook_token="another-secret"))
    async with serving(app) as url:
        code, output = await handinhand(
            "sms", "from", "+84912345678", "HUY", "--url", url, var_dir=settings.var_dir
        )

    assert code == 1
    assert "403" in output
