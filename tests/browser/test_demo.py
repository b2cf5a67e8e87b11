"""`./dev up --demo` as a newcomer runs it (issue 15's "done when"): open the console URL that
`up` prints, sign in as the demo coordinator with the code shown in the SMS log (the console
SMS provider's), and find the demo weekend in the browser."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from services.console.pages.weekend import coming_weekend
from services.demo import DEMO_COORDINATOR, next_saturday
from shared.bus.server import free_port
from shared.clock import VIETNAM, SystemClock
from shared.settings import SERVICES
from tests.browser.accessibility import assert_accessible
from tests.browser.console import SIGN_IN_PAGE
from tests.browser.screenshots import save_screenshots
from tests.support.waiting import eventually

pytestmark = [pytest.mark.browser, pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

CONSOLE_LINE = re.compile(r"^console\s+(http://\S+)")
CODE_LINE = re.compile(r"sms to \S+ \(\S+\): Ma dang nhap HandInHand: (\d{6})")


@dataclass
class Up:
    """A running `handinhand up --demo` and what it has printed so far."""

    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)

    async def line(self, pattern: re.Pattern[str], after: int = 0) -> re.Match[str]:
        """The first printed line from index `after` on that matches `pattern`."""

        async def found() -> re.Match[str] | None:
            assert self.process.returncode is None, "".join(self.lines)[-3000:]
            return next(filter(None, map(pattern.search, self.lines[after:])), None)

        match = await eventually(found, lambda m: m is not None, timeout=90, every=0.1)
        assert match is not None
        return match


@pytest_asyncio.fixture(loop_scope="session")
async def up(tmp_path: Path) -> AsyncIterator[Up]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HANDINHAND_")},
        "HANDINHAND_VAR_DIR": str(tmp_path / "var"),
        "HANDINHAND_EMBEDDED_NATS_PORT": str(free_port()),
        **{f"HANDINHAND_{s.upper()}_PORT": str(free_port()) for s in SERVICES},
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "up",
        "--demo",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    running = Up(process)

    async def collect() -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            running.lines.append(line.decode(errors="replace"))

    reader = asyncio.create_task(collect())
    try:
        await running.line(re.compile(r"^demo loaded"))
        yield running
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)  # as Ctrl-C at a terminal: `up` stops it all
        await asyncio.wait_for(process.wait(), timeout=60)
        await reader


async def test_a_newcomer_signs_in_as_the_demo_coordinator_and_sees_the_demo_weekend(
    page: Page, up: Up
) -> None:
    console = (await up.line(CONSOLE_LINE)).group(1)
    _, phone = DEMO_COORDINATOR
    await page.goto(console)
    await expect(page).to_have_url(SIGN_IN_PAGE)
    await page.fill("#phone", phone)
    asked = len(up.lines)
    await page.click("#sign-in-form button[type=submit]")
    await expect(page.locator("#code-form")).to_be_visible()
    await page.fill("#code", (await up.line(CODE_LINE, after=asked)).group(1))
    await page.click("#code-form button[type=submit]")
    await expect(page).to_have_url(re.compile(r"/weekend$"))

    today = SystemClock().now().astimezone(VIETNAM).date()
    shown, _ = coming_weekend(today)
    for _ in range((next_saturday(today) - shown) // timedelta(weeks=1)):
        await page.click("#next-weekend")
    sessions = page.locator("#sessions li")
    await expect(sessions).to_have_count(2)
    await expect(page.locator("h2")).to_contain_text("Thiệu Trung")
    # Once the volunteers have planned (seconds after start), each card says who was asked:
    # as the page was read, or by itself as the proposals are heard (the live update).
    await expect(sessions.locator(".asked")).to_have_count(2, timeout=30_000)
    await expect(sessions.first.locator(".staffing")).to_have_text(
        "Đang chờ tình nguyện viên trả lời"
    )
    await assert_accessible(page)
    await save_screenshots(page, "weekend-demo")
