"""The console as its people use it: in a real browser, against the whole system as
`handinhand up` runs it, with the sign-in codes read where the SMS provider received them."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from datetime import date, timedelta

from playwright.async_api import BrowserContext, Page, expect

from bench.system import System
from services.console.pages.common import SESSION_COOKIE
from services.console.pages.weekend import coming_weekend
from shared.clock import VIETNAM, SystemClock
from shared.web.auth import Role
from tests.support.waiting import eventually

THIEU_TRUNG = "15835"
# A second browser's user agent, shown in the sessions list (a header: ASCII only)
PHONE_BROWSER = "Mozilla/5.0 (Linux; Android 14) HandInHand-test-phone"
CODE = re.compile(r"\b(\d{6})\b")
# Where the console sends a browser that is not signed in
SIGN_IN_PAGE = re.compile(r"/sign-in$")


async def add_account(
    system: System,
    role: str,
    phone: str,
    name: str,
    scope: tuple[str, ...] = (),
    volunteer_id: str | None = None,
) -> None:
    """As a deployment adds its first admin: `handinhand account add` on the server (a
    volunteer's account names their volunteer record)."""
    command = [sys.executable, "-m", "services.cli", "account", "add", "--role", role]
    command += ["--phone", phone, "--name", name, "--scope", ",".join(scope)]
    if volunteer_id is not None:
        command += ["--volunteer-id", volunteer_id]
    done = await asyncio.to_thread(
        subprocess.run, command, env=system.env(), capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr.decode()


async def sign_in(
    page: Page, system: System, phone: str, typed: str | None = None, home: str = "/weekend"
) -> None:
    """Ask for a code for `phone` (typed as a person would, e.g. "0912 000 002"), read it from
    the SMS the provider was handed, enter it: the browser is signed in, on its `home` page
    (a volunteer's is /me)."""
    await page.goto(system.url("console") + "/")
    await expect(page).to_have_url(SIGN_IN_PAGE)
    earlier = len(system.sent(to=phone))
    await page.fill("#phone", typed or phone)
    await page.click("#sign-in-form button[type=submit]")
    await expect(page.locator("#code-form")).to_be_visible()
    await page.fill("#code", await code_texted_to(system, phone, earlier))
    await page.click("#code-form button[type=submit]")
    await expect(page).to_have_url(re.compile(re.escape(home) + "$"))


async def code_texted_to(system: System, phone: str, earlier: int) -> str:
    """The code in the first SMS to `phone` after the `earlier` ones."""

    async def texts() -> list[str]:
        return [sms.body for sms in system.sent(to=phone)[earlier:]]

    (body, *_) = await eventually(texts, bool)
    found = CODE.search(body)
    assert found is not None, body
    return found.group(1)


def next_weekends_saturday() -> date:
    """The Saturday the This-weekend page shows one step ahead ("Next weekend"): always days
    away, so a session there has not begun whenever the test runs (the scheduler refuses one
    in the past; a slot in the weekend shown first may already be over on its Sunday)."""
    today = SystemClock().now().astimezone(VIETNAM).date()
    saturday, _ = coming_weekend(today)
    return saturday + timedelta(weeks=1)


async def schedule_session(system: System, commune: str, venue: str) -> str:
    """A session on next weekend's Saturday, 08:00-11:00, scheduled through the scheduler's
    API."""
    created = await system.call(
        "POST",
        "scheduler",
        "/sessions",
        auth=system.token(Role.COORDINATOR, scope=(commune,)),
        json={
            "commune_code": commune,
            "venue": {"name": venue, "address": f"{venue}, xã Thiệu Trung"},
            "local_date": next_weekends_saturday().isoformat(),
            "start_local": "08:00:00",
            "end_local": "11:00:00",
            "topics": ["vneid_activation"],
            "capacity": 10,
            "volunteers_needed": 2,
        },
    )
    assert created.status_code == 201, created.text
    session_id: str = created.json()["session_id"]
    return session_id


async def session_cookie(context: BrowserContext) -> str | None:
    """The console's session cookie in this browser, if it holds one."""
    values = [c["value"] for c in await context.cookies() if c["name"] == SESSION_COOKIE]
    return values[0] if values else None
